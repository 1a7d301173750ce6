//! Every setting, read once at start: built-in defaults, then `Leptos.toml`, then the
//! environment (which wins). The environment names are fixed by the spec; operators rely on them.
//!
//! Each concern has its own section (`site`, `data`, `rates`…), which reads its settings from a
//! [`Source`](source::Source) by their environment names, each name and default written once.

mod data;
mod scanning;
mod sessions;
mod site;
mod source;
mod traffic;
mod upkeep;
mod uploads;
mod webhooks;

use std::path::PathBuf;

pub use data::{DataSettings, StorageSettings};
pub use scanning::ScanSettings;
pub use sessions::SessionSettings;
pub use site::SiteSettings;
pub use traffic::{ConnectionSettings, RateSettings};
pub use upkeep::UpkeepSettings;
pub use uploads::{UploadSettings, DEFAULT_ALLOWED_EXTENSIONS};
pub use webhooks::WebhookSettings;

/// Coffer's configuration, resolved.
#[derive(Clone, Debug)]
pub struct Settings {
    pub site: SiteSettings,
    pub data: DataSettings,
    pub rates: RateSettings,
    pub connections: ConnectionSettings,
    pub uploads: UploadSettings,
    pub scanning: ScanSettings,
    pub webhooks: WebhookSettings,
    pub sessions: SessionSettings,
    pub upkeep: UpkeepSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {message}")]
    File { path: String, message: String },
    #[error("{name}={value:?} is not valid: {message}")]
    Value {
        name: &'static str,
        value: String,
        message: String,
    },
}

impl Settings {
    /// Reads `Leptos.toml` (or the file named by `COFFER_CONFIG`) if present, then the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let path = std::env::var("COFFER_CONFIG").unwrap_or_else(|_| "Leptos.toml".into());
        let file = match std::fs::read_to_string(&path) {
            Ok(text) => text.parse::<toml::Table>().map_err(|e| ConfigError::File {
                path: path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        Self::resolve(path, file, &|name| {
            std::env::var(name).ok().filter(|v| !v.is_empty())
        })
    }

    /// The settings from the file's table (read from `path`) and the environment `env`.
    fn resolve(
        path: String,
        file: toml::Table,
        env: &dyn Fn(&'static str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut src = source::Source::new(path, file, env);
        let settings = Settings {
            site: SiteSettings::read(&mut src)?,
            data: DataSettings::read(&mut src)?,
            rates: RateSettings::read(&mut src)?,
            connections: ConnectionSettings::read(&mut src)?,
            uploads: UploadSettings::read(&mut src)?,
            scanning: ScanSettings::read(&mut src)?,
            webhooks: WebhookSettings::read(&mut src)?,
            sessions: SessionSettings::read(&mut src)?,
            upkeep: UpkeepSettings::read(&mut src)?,
        };
        src.finish()?;
        Ok(settings)
    }

    /// Settings for tests and tools: defaults only, nothing read from the file or environment.
    pub fn defaults_for(data_dir: PathBuf, database_url: Option<String>) -> Self {
        let mut settings = Self::resolve(String::new(), toml::Table::new(), &|_| None)
            .expect("defaults are valid");
        settings.data.database_url = database_url.unwrap_or_else(|| data::sqlite_in(&data_dir));
        settings.data.storage = StorageSettings::Fs {
            root: data_dir.clone(),
        };
        settings.data.dir = data_dir;
        settings
    }
}

/// Hides the password of a database URL before it is shown anywhere.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &userinfo[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{collections::HashMap, time::Duration};

    fn resolve(file: &str, env: &[(&'static str, &str)]) -> Result<Settings, ConfigError> {
        let env: HashMap<_, _> = env.iter().map(|(k, v)| (*k, v.to_string())).collect();
        Settings::resolve(
            "Leptos.toml".into(),
            toml::from_str(file).unwrap(),
            &|name| env.get(name).cloned(),
        )
    }

    #[test]
    fn defaults_match_the_spec() {
        let s = resolve("", &[]).unwrap();
        assert_eq!(s.site.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(s.site.root, "target/site");
        assert_eq!(s.data.dir, PathBuf::from("./data"));
        assert_eq!(s.data.database_url, "sqlite://./data/coffer.db?mode=rwc");
        assert_eq!(s.site.public_url, "http://127.0.0.1:3000");
        assert_eq!(s.rates.login_per_min, 10);
        assert_eq!(s.sessions.idle, Duration::from_secs(12 * 3600));
        assert_eq!(s.sessions.lifetime, Duration::from_secs(7 * 86400));
        assert!(s.data.redis_url.is_none());
        assert!(!s.site.is_https());
    }

    #[test]
    fn environment_wins_over_file() {
        let s = resolve(
            "site-addr = \"0.0.0.0:8080\"\ndata-dir = \"/srv/coffer\"",
            &[("LEPTOS_SITE_ADDR", "127.0.0.1:9999")],
        )
        .unwrap();
        assert_eq!(s.site.addr.to_string(), "127.0.0.1:9999");
        assert_eq!(s.data.dir, PathBuf::from("/srv/coffer"));
        assert_eq!(
            s.data.database_url,
            "sqlite:///srv/coffer/coffer.db?mode=rwc"
        );
    }

    #[test]
    fn quotas_and_audit_retention_have_the_spec_defaults() {
        let s = resolve("", &[]).unwrap();
        assert_eq!(
            (s.uploads.user_quota_bytes, s.upkeep.audit_retention_days),
            (None, 365)
        );
        let s = resolve(
            "user-quota-bytes = 5\naudit-retention-days = 30",
            &[("COFFER_USER_QUOTA_BYTES", "1073741824")],
        )
        .unwrap();
        assert_eq!(
            (s.uploads.user_quota_bytes, s.upkeep.audit_retention_days),
            (Some(1 << 30), 30)
        );
        let err = resolve("", &[("COFFER_USER_QUOTA_BYTES", "1 GB")]).unwrap_err();
        assert!(err.to_string().contains("COFFER_USER_QUOTA_BYTES"), "{err}");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = resolve("", &[("COFFER_RATE_LOGIN_PER_MIN", "ten")]).unwrap_err();
        assert!(
            err.to_string().contains("COFFER_RATE_LOGIN_PER_MIN"),
            "{err}"
        );
        let err = resolve("", &[("DATABASE_URL", "mysql://u:secret@h/db")]).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn file_settings_defaults_match_the_spec() {
        let s = resolve("", &[]).unwrap();
        assert_eq!(s.uploads.max_bytes, 104_857_600);
        assert_eq!((s.rates.upload_per_min, s.rates.download_per_min), (5, 30));
        assert_eq!(s.uploads.allowed_extensions.len(), 12);
        assert!(s.uploads.allowed_extensions.contains(&".docx".to_string()));
        assert!(
            matches!(s.data.storage, StorageSettings::Fs { ref root } if root == &PathBuf::from("./data"))
        );
        assert!(s.data.master_key.is_none());
        assert!(s.scanning.blocklist.is_empty());
    }

    #[test]
    fn extensions_are_normalised_and_storage_is_checked() {
        let s = resolve("", &[("COFFER_ALLOWED_EXTENSIONS", " PDF, .Txt ,,")]).unwrap();
        assert_eq!(s.uploads.allowed_extensions, vec![".pdf", ".txt"]);
        let err = resolve("", &[("COFFER_STORAGE", "ftp")]).unwrap_err();
        assert!(err.to_string().contains("COFFER_STORAGE"), "{err}");
        let err = resolve("", &[("COFFER_STORAGE", "s3")]).unwrap_err();
        assert!(err.to_string().contains("COFFER_S3_BUCKET"), "{err}");
        let s = resolve(
            "",
            &[("COFFER_STORAGE", "s3"), ("COFFER_S3_BUCKET", "coffer")],
        )
        .unwrap();
        assert!(
            matches!(s.data.storage, StorageSettings::S3 { ref bucket, .. } if bucket == "coffer")
        );
    }

    #[test]
    fn blocklist_takes_hex_digests_only() {
        let digest = "ab".repeat(32);
        let s = resolve(
            "",
            &[("COFFER_SCAN_BLOCKLIST", &format!("{digest}, {digest}"))],
        )
        .unwrap();
        assert_eq!(s.scanning.blocklist, vec![[0xab; 32]; 2]);
        let err = resolve("", &[("COFFER_SCAN_BLOCKLIST", "nothex")]).unwrap_err();
        assert!(err.to_string().contains("COFFER_SCAN_BLOCKLIST"), "{err}");
    }

    #[test]
    fn trusted_proxies_take_addresses_and_networks() {
        assert!(resolve("", &[])
            .unwrap()
            .connections
            .trusted_proxies
            .is_empty());
        let s = resolve(
            "",
            &[("COFFER_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,fd00::/8")],
        )
        .unwrap();
        let shown: Vec<String> = s
            .connections
            .trusted_proxies
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(shown, ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"]);
        let err = resolve("", &[("COFFER_TRUSTED_PROXIES", "10.0.0.0/33")]).unwrap_err();
        assert!(err.to_string().contains("COFFER_TRUSTED_PROXIES"), "{err}");
        assert_eq!(resolve("", &[]).unwrap().rates.register_per_hour, 20);
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        assert!(resolve("site-adr = \"x\"", &[]).is_err());
        // The S3 keys are settings even while the files stay on disk.
        assert!(resolve("s3-bucket = \"later\"", &[]).is_ok());
    }

    #[test]
    fn every_key_the_shipped_file_shows_is_a_setting_under_its_variable() {
        // `# rate-login-per-min = 10   # COFFER_RATE_LOGIN_PER_MIN`, uncommented.
        let shown: Vec<(&str, &str, &str)> = include_str!("../../../Leptos.toml")
            .lines()
            .filter_map(|line| {
                let (setting, note) = line.strip_prefix("# ")?.split_once("  #")?;
                let (key, value) = setting.split_once(" = ")?;
                let variable = note.split_whitespace().next()?.trim_end_matches(':');
                Some((key, value.trim(), variable))
            })
            .collect();
        // Every setting is shown, and nothing else: the variables the sections ask for.
        let asked = std::cell::RefCell::new(std::collections::BTreeSet::new());
        Settings::resolve("Leptos.toml".into(), toml::Table::new(), &|name| {
            asked.borrow_mut().insert(name);
            None
        })
        .unwrap();
        let shown_variables: std::collections::BTreeSet<&str> =
            shown.iter().map(|(_, _, variable)| *variable).collect();
        assert_eq!(shown_variables, asked.into_inner());
        assert_eq!(shown.len(), shown_variables.len(), "a setting shown twice");
        for (key, _, variable) in &shown {
            assert_eq!(source::file_key(variable), *key, "{variable}");
        }
        let file: String = shown
            .iter()
            .map(|(key, value, _)| format!("{key} = {value}\n"))
            .collect();
        let s = resolve(&file, &[]).unwrap();
        assert_eq!(s.scanning.clamd_addr.as_deref(), Some("127.0.0.1:3310"));
    }

    #[test]
    fn https_public_url_and_origin() {
        let s = resolve(
            "",
            &[("COFFER_PUBLIC_URL", "https://files.example.org/coffer/")],
        )
        .unwrap();
        assert!(s.site.is_https());
        assert_eq!(s.site.public_origin(), "https://files.example.org");
    }
}
