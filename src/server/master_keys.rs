//! Where the master keys come from: the environment or the key file, loaded once and re-read
//! when a rotation by another process adds a key. The rotation's rules (what is re-sealed, when
//! an old key may go) live in `service::key_rotation`.
//!
//! `COFFER_MASTER_KEY` holds the current key (base64 of 32 bytes), optionally followed by
//! comma-separated previous keys that must still unwrap. Without it, the keys live in
//! `<data dir>/master.key` (mode 0600), one per line, current first; the file is generated with
//! one fresh key on first start.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
};

use zeroize::Zeroizing;

use crate::server::{
    config::Settings,
    crypto::{CryptoError, DataKey, Keyring, MasterKey, WrappedKey},
};

pub const KEY_FILE: &str = "master.key";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("COFFER_MASTER_KEY: {0}")]
    Env(CryptoError),
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

#[derive(Clone, Debug)]
enum Source {
    Env,
    File(PathBuf),
}

/// The loaded keyring. With the key file, a key id it does not know makes it read the file again
/// once, so a rotation run by the CLI while the server is up does not break reads.
#[derive(Clone)]
pub struct MasterKeys {
    source: Source,
    ring: Arc<RwLock<Arc<Keyring>>>,
}

impl MasterKeys {
    pub fn load(settings: &Settings) -> Result<Self, KeyError> {
        let (source, ring) = match &settings.master_key {
            Some(list) => (
                Source::Env,
                parse_list(list.split(',')).map_err(KeyError::Env)?,
            ),
            None => {
                let path = settings.data_dir.join(KEY_FILE);
                let ring = read_or_create(&path)?;
                (Source::File(path), ring)
            }
        };
        tracing::info!(
            current = ring.current().id(),
            previous = ring.previous().len(),
            "master keys loaded"
        );
        Ok(Self {
            source,
            ring: Arc::new(RwLock::new(Arc::new(ring))),
        })
    }

    pub fn ring(&self) -> Arc<Keyring> {
        self.ring.read().expect("keyring lock").clone()
    }

    pub fn wrap_data_key(&self, key: &DataKey) -> WrappedKey {
        self.ring().wrap_data_key(key)
    }

    pub fn unwrap_data_key(&self, wrapped: &WrappedKey) -> Result<DataKey, CryptoError> {
        self.with_reload(|ring| ring.unwrap_data_key(wrapped))
    }

    /// Seals a small secret (`purpose` names what it is) under the current master key.
    pub fn seal(&self, purpose: &[u8], secret: &[u8]) -> WrappedKey {
        self.ring().seal(purpose, secret)
    }

    pub fn open(
        &self,
        purpose: &[u8],
        wrapped: &WrappedKey,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.with_reload(|ring| ring.open(purpose, wrapped))
    }

    /// Runs `f` on the keyring; if it meets a key id the ring does not hold, reads the key file
    /// again (a rotation by the CLI) and tries once more.
    fn with_reload<T>(
        &self,
        f: impl Fn(&Keyring) -> Result<T, CryptoError>,
    ) -> Result<T, CryptoError> {
        match f(&self.ring()) {
            Err(CryptoError::UnknownMasterKey(id)) => {
                self.reload();
                f(&self.ring()).map_err(|_| CryptoError::UnknownMasterKey(id))
            }
            other => other,
        }
    }

    fn reload(&self) {
        if let Source::File(path) = &self.source {
            match read_file(path) {
                Ok(Some(ring)) => *self.ring.write().expect("keyring lock") = Arc::new(ring),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not re-read the master key file"),
            }
        }
    }

    fn replace(&self, ring: Keyring) {
        *self.ring.write().expect("keyring lock") = Arc::new(ring);
    }

    /// The first step of a rotation. With the key file, a fresh key becomes current and the
    /// loaded ones stay behind it (written to the file before anything is sealed with it, so
    /// every process can open what it seals). With `COFFER_MASTER_KEY` the operator has already
    /// put the new key first, and nothing changes here.
    pub fn add_new_current(&self) -> Result<(), KeyError> {
        if let Source::File(path) = &self.source {
            let old = self.ring();
            let next = Keyring::new(
                MasterKey::generate(),
                std::iter::once(old.current().clone())
                    .chain(old.previous().iter().cloned())
                    .collect(),
            );
            write_file(path, &next)?;
            self.replace(next);
        }
        Ok(())
    }

    /// The last step of a rotation, once nothing is sealed by a previous key: with the key file,
    /// only the current key is kept. (`COFFER_MASTER_KEY` is the operator's to shorten.)
    pub fn retire_previous(&self) -> Result<(), KeyError> {
        if let Source::File(path) = &self.source {
            let only_current = Keyring::new(self.ring().current().clone(), vec![]);
            write_file(path, &only_current)?;
            self.replace(only_current);
        }
        Ok(())
    }
}

fn parse_list<'a>(keys: impl Iterator<Item = &'a str>) -> Result<Keyring, CryptoError> {
    let mut keys = keys
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(MasterKey::from_base64);
    let current = keys.next().ok_or(CryptoError::BadMasterKey)??;
    Ok(Keyring::new(current, keys.collect::<Result<_, _>>()?))
}

fn read_file(path: &Path) -> Result<Option<Keyring>, KeyError> {
    let err = |message: String| KeyError::File {
        path: path.display().to_string(),
        message,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => parse_list(text.lines())
            .map(Some)
            .map_err(|e| err(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err(e.to_string())),
    }
}

fn read_or_create(path: &Path) -> Result<Keyring, KeyError> {
    if let Some(ring) = read_file(path)? {
        return Ok(ring);
    }
    let ring = Keyring::new(MasterKey::generate(), vec![]);
    write_file(path, &ring)?;
    tracing::warn!(path = %path.display(), "generated a new master key; back it up: without it no file can be read");
    Ok(ring)
}

/// Writes the key file atomically (temporary file with mode 0600, then rename).
fn write_file(path: &Path, ring: &Keyring) -> Result<(), KeyError> {
    let err = |message: String| KeyError::File {
        path: path.display().to_string(),
        message,
    };
    let tmp = path.with_extension("key.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(|e| err(e.to_string()))?;
    for key in std::iter::once(ring.current()).chain(ring.previous()) {
        writeln!(file, "{}", key.to_base64().as_str()).map_err(|e| err(e.to_string()))?;
    }
    file.sync_all().map_err(|e| err(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::defaults_for(dir.path().to_path_buf(), None);
        let first = MasterKeys::load(&settings).unwrap();
        let path = dir.path().join(KEY_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = MasterKeys::load(&settings).unwrap();
        assert_eq!(first.ring().current().id(), again.ring().current().id());
    }

    #[test]
    fn the_environment_key_wins_and_lists_previous_keys() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::defaults_for(dir.path().to_path_buf(), None);
        let (a, b) = (MasterKey::generate(), MasterKey::generate());
        settings.master_key = Some(format!(
            "{}, {}",
            a.to_base64().as_str(),
            b.to_base64().as_str()
        ));
        let keys = MasterKeys::load(&settings).unwrap();
        assert_eq!(keys.ring().current().id(), a.id());
        assert_eq!(keys.ring().previous()[0].id(), b.id());
        assert!(
            !dir.path().join(KEY_FILE).exists(),
            "no file when the env has the key"
        );
        settings.master_key = Some("too-short".into());
        let err = MasterKeys::load(&settings).err().unwrap();
        assert!(err.to_string().contains("COFFER_MASTER_KEY"), "{err}");
    }

    #[test]
    fn a_key_added_to_the_file_is_picked_up_on_an_unknown_id() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::defaults_for(dir.path().to_path_buf(), None);
        let server = MasterKeys::load(&settings).unwrap();
        // Another process (the rotate command) puts a new key first in the file.
        let new = MasterKey::generate();
        let ring = Keyring::new(new.clone(), vec![server.ring().current().clone()]);
        write_file(&dir.path().join(KEY_FILE), &ring).unwrap();
        let wrapped = ring.wrap_data_key(&DataKey::from_bytes([3; 32]));
        assert!(server.unwrap_data_key(&wrapped).is_ok());
        assert_eq!(server.ring().current().id(), new.id());
    }
}
