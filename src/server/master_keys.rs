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

use crate::server::config::Settings;
use coffer_crypto::{Binding, CryptoError, DataKey, Keyring, MasterKey, WrappedKey};

pub const KEY_FILE: &str = "master.key";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("COFFER_MASTER_KEY: {0}")]
    Env(CryptoError),
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error(
        "the master key was rotated to {rotated_to}, which this server does not hold (its current \
         key is {current}): restart it with the new key first in COFFER_MASTER_KEY"
    )]
    Stale { current: String, rotated_to: String },
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
        let (source, ring) = match &settings.data.master_key {
            Some(list) => (
                Source::Env,
                parse_list(list.split(',')).map_err(KeyError::Env)?,
            ),
            None => {
                let path = settings.data.dir.join(KEY_FILE);
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

    pub fn unwrap_data_key(
        &self,
        wrapped: &WrappedKey,
        file_id: &str,
    ) -> Result<DataKey, CryptoError> {
        self.with_reload(|ring| ring.unwrap_data_key(wrapped, file_id))
    }

    pub fn open(
        &self,
        binding: Binding<'_>,
        wrapped: &WrappedKey,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.with_reload(|ring| ring.open(binding, wrapped))
    }

    /// The keyring to seal new values with, given the key a rotation last made current
    /// (recorded in the database by whichever process ran it). A server started before that
    /// rotation re-reads the key file to learn the new key; one that cannot (its
    /// `COFFER_MASTER_KEY` lacks it) refuses to seal rather than seal with a key being retired.
    pub fn sealing_ring(&self, rotated_to: Option<&str>) -> Result<Arc<Keyring>, KeyError> {
        let ring = self.ring();
        let Some(target) = rotated_to else {
            return Ok(ring);
        };
        if ring.holds(target) {
            return Ok(ring);
        }
        self.reload();
        let ring = self.ring();
        if ring.holds(target) {
            return Ok(ring);
        }
        Err(KeyError::Stale {
            current: ring.current().id().to_owned(),
            rotated_to: target.to_owned(),
        })
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

    /// The last step of a rotation: with the key file, the previous keys `still_needed` (some
    /// row is sealed by them) are kept behind the current one and the others dropped.
    /// (`COFFER_MASTER_KEY` is the operator's to shorten.)
    pub fn retire_previous(&self, still_needed: &[String]) -> Result<(), KeyError> {
        if let Source::File(path) = &self.source {
            let ring = self.ring();
            let kept = ring
                .previous()
                .iter()
                .filter(|k| still_needed.iter().any(|id| id == k.id()))
                .cloned()
                .collect();
            let next = Keyring::new(ring.current().clone(), kept);
            write_file(path, &next)?;
            self.replace(next);
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
        settings.data.master_key = Some(format!(
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
        settings.data.master_key = Some("too-short".into());
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
        let wrapped = ring.wrap_data_key(&DataKey::from_bytes([3; 32]), "f");
        assert!(server.unwrap_data_key(&wrapped, "f").is_ok());
        assert_eq!(server.ring().current().id(), new.id());
    }

    #[test]
    fn sealing_after_a_rotation_uses_the_new_key_or_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::defaults_for(dir.path().to_path_buf(), None);
        let server = MasterKeys::load(&settings).unwrap();
        let old = server.ring().current().clone();
        assert_eq!(server.sealing_ring(None).unwrap().current().id(), old.id());
        assert_eq!(
            server.sealing_ring(Some(old.id())).unwrap().current().id(),
            old.id()
        );
        // The rotate command wrote a new key to the file and recorded it as current.
        let new = MasterKey::generate();
        write_file(
            &dir.path().join(KEY_FILE),
            &Keyring::new(new.clone(), vec![old.clone()]),
        )
        .unwrap();
        let ring = server.sealing_ring(Some(new.id())).unwrap();
        assert_eq!(ring.current().id(), new.id(), "re-read before sealing");

        // A server on COFFER_MASTER_KEY cannot learn the new key: it refuses to seal.
        let mut env_settings = settings.clone();
        env_settings.data.master_key = Some(old.to_base64().to_string());
        let env_server = MasterKeys::load(&env_settings).unwrap();
        let err = env_server.sealing_ring(Some(new.id())).err().unwrap();
        assert!(err.to_string().contains(new.id()), "{err}");
    }
}
