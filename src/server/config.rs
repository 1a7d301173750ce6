//! Every setting, read once at start: built-in defaults, then `Leptos.toml`, then the
//! environment (which wins). The environment names are fixed by the spec; operators rely on them.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use serde::Deserialize;

/// Coffer's configuration, resolved.
#[derive(Clone, Debug)]
pub struct Settings {
    pub site_addr: SocketAddr,
    pub site_root: String,
    pub output_name: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub redis_url: Option<String>,
    /// Prefix of every Redis key Coffer writes, so several installations can share one Redis.
    pub redis_prefix: String,
    /// Base of links handed out (share links later); `https` turns on Secure cookies and HSTS.
    pub public_url: String,
    pub rate_login_per_min: u32,
    pub rate_upload_per_min: u32,
    pub rate_download_per_min: u32,
    /// Accounts one client address may create per hour (`COFFER_RATE_REGISTER_PER_HOUR`).
    pub rate_register_per_hour: u32,
    /// Requests one client address may make per second, sustained (`COFFER_RATE_REQUESTS_PER_SEC`,
    /// 100; 0 switches the limit off), and at once (`COFFER_RATE_REQUESTS_BURST`, 400).
    pub rate_requests_per_sec: u32,
    pub rate_requests_burst: u32,
    /// Connections served at once (`COFFER_MAX_CONNECTIONS`, 1024); more wait to be accepted.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, and the longest an idle keep-alive
    /// connection stays open (`COFFER_HEADER_TIMEOUT_SECS`, 15).
    pub header_timeout: Duration,
    /// The longest a request body may go without a byte before the request fails
    /// (`COFFER_BODY_TIMEOUT_SECS`, 60).
    pub body_idle_timeout: Duration,
    /// The slowest an upload's body may arrive, in bytes a second over each
    /// [`upload_min_rate_window`](Self::upload_min_rate_window) (`COFFER_UPLOAD_MIN_BYTES_PER_SEC`,
    /// 2048; 0: no minimum): a body that trickles in slower holds an upload slot for hours.
    pub upload_min_rate: u64,
    /// The stretch over which an upload's rate is measured (60 s; settable in tests only).
    pub upload_min_rate_window: Duration,
    /// Uploads running at once on this instance (`COFFER_MAX_CONCURRENT_UPLOADS`, 64) and per
    /// user (`COFFER_MAX_UPLOADS_PER_USER`, 4); 0: no cap.
    pub max_concurrent_uploads: usize,
    pub max_uploads_per_user: usize,
    /// Peers whose `X-Forwarded-For` / `Forwarded` headers are believed
    /// (`COFFER_TRUSTED_PROXIES`); empty: those headers are ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub storage: StorageSettings,
    /// `COFFER_MASTER_KEY`: base64 of 32 bytes; further comma-separated keys are previous ones,
    /// still read during a rotation. Unset: a key generated into the data dir.
    pub master_key: Option<String>,
    pub max_upload_bytes: u64,
    /// The storage quota of users an admin gave none of their own (`COFFER_USER_QUOTA_BYTES`);
    /// `None`: no quota.
    pub user_quota_bytes: Option<u64>,
    /// Audit rows older than this many days are pruned (`COFFER_AUDIT_RETENTION_DAYS`, default
    /// 365; 0 keeps them forever).
    pub audit_retention_days: u64,
    /// Lower-case, each with its leading dot.
    pub allowed_extensions: Vec<String>,
    /// SHA-256 digests the built-in scanner reports as infected.
    pub scan_blocklist: Vec<[u8; 32]>,
    /// Whether this instance runs scan jobs (`COFFER_SCAN_WORKER`, default true). Instances that
    /// do not still queue them for those that do.
    pub scan_worker: bool,
    /// clamd's address (`CLAMD_ADDR`: `host:port` or a unix socket path); `None`: the built-in
    /// scanner.
    pub clamd_addr: Option<String>,
    /// How long one step of a clamd conversation may take (`COFFER_CLAMD_TIMEOUT_SECS`, 120).
    pub clamd_timeout: Duration,
    /// Whether webhooks may post to loopback, private and link-local addresses
    /// (`COFFER_WEBHOOK_ALLOW_PRIVATE`, default false), that is, into the server's own network.
    pub webhook_allow_private: bool,
    /// The pause before a failed webhook delivery is tried again (`COFFER_WEBHOOK_RETRY_SECS`,
    /// 30); it doubles with each attempt, up to an hour.
    pub webhook_retry: Duration,
    /// Failed attempts in a row after which a webhook is suspended until its owner resumes it
    /// (`COFFER_WEBHOOK_SUSPEND_AFTER`, 15; 0: never).
    pub webhook_suspend_after: u32,
    /// The bearer token `/metrics` asks for (`COFFER_METRICS_TOKEN`); `None`: open to anyone
    /// who can reach it.
    pub metrics_token: Option<String>,
    /// How often the sweeper runs (`COFFER_SWEEP_INTERVAL_SECS`, 300): expired sessions and
    /// tokens, blobs of abandoned uploads, audit entries past their retention.
    pub sweep_interval: Duration,
    /// How long an unfinished resumable upload is kept after its last bytes
    /// (`COFFER_UPLOAD_EXPIRE_HOURS`, 24); then the sweeper removes it.
    pub upload_expire: Duration,
    pub session_idle: Duration,
    pub session_lifetime: Duration,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
}

/// Where blobs are kept.
#[derive(Clone, Debug)]
pub enum StorageSettings {
    Fs {
        root: PathBuf,
    },
    Memory,
    S3 {
        endpoint: Option<String>,
        bucket: String,
        region: String,
        access_key_id: Option<String>,
        secret_access_key: Option<String>,
        /// Folder inside the bucket (`COFFER_S3_ROOT`, default the bucket's top).
        root: String,
    },
}

pub const DEFAULT_ALLOWED_EXTENSIONS: &str =
    ".pdf,.doc,.docx,.xls,.xlsx,.txt,.csv,.jpg,.jpeg,.png,.gif,.zip";

/// The file layer: every key optional, names in kebab-case.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileSettings {
    site_addr: Option<String>,
    site_root: Option<String>,
    output_name: Option<String>,
    data_dir: Option<String>,
    database_url: Option<String>,
    redis_url: Option<String>,
    redis_prefix: Option<String>,
    public_url: Option<String>,
    rate_login_per_min: Option<u32>,
    rate_upload_per_min: Option<u32>,
    rate_download_per_min: Option<u32>,
    rate_register_per_hour: Option<u32>,
    rate_requests_per_sec: Option<u32>,
    rate_requests_burst: Option<u32>,
    max_connections: Option<u64>,
    header_timeout_secs: Option<u64>,
    body_timeout_secs: Option<u64>,
    upload_min_bytes_per_sec: Option<u64>,
    max_concurrent_uploads: Option<u64>,
    max_uploads_per_user: Option<u64>,
    trusted_proxies: Option<String>,
    storage: Option<String>,
    s3_endpoint: Option<String>,
    s3_bucket: Option<String>,
    s3_region: Option<String>,
    s3_access_key_id: Option<String>,
    s3_secret_access_key: Option<String>,
    s3_root: Option<String>,
    master_key: Option<String>,
    max_upload_bytes: Option<u64>,
    user_quota_bytes: Option<u64>,
    audit_retention_days: Option<u64>,
    allowed_extensions: Option<String>,
    scan_blocklist: Option<String>,
    scan_worker: Option<bool>,
    clamd_addr: Option<String>,
    clamd_timeout_secs: Option<u64>,
    webhook_allow_private: Option<bool>,
    webhook_retry_secs: Option<u64>,
    webhook_suspend_after: Option<u64>,
    metrics_token: Option<String>,
    sweep_interval_secs: Option<u64>,
    upload_expire_hours: Option<u64>,
    session_idle_hours: Option<u64>,
    session_lifetime_days: Option<u64>,
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
            Ok(text) => toml::from_str::<FileSettings>(&text).map_err(|e| ConfigError::File {
                path: path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileSettings::default(),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        Self::resolve(file, |name| {
            std::env::var(name).ok().filter(|v| !v.is_empty())
        })
    }

    fn resolve(
        file: FileSettings,
        env: impl Fn(&'static str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let pick = |name: &'static str, from_file: Option<String>, default: &str| {
            env(name)
                .or(from_file)
                .unwrap_or_else(|| default.to_owned())
        };
        let site_addr_raw = pick("LEPTOS_SITE_ADDR", file.site_addr, "127.0.0.1:3000");
        let site_addr = site_addr_raw
            .parse()
            .map_err(|e: std::net::AddrParseError| ConfigError::Value {
                name: "LEPTOS_SITE_ADDR",
                value: site_addr_raw.clone(),
                message: e.to_string(),
            })?;
        let data_dir = PathBuf::from(pick("COFFER_DATA_DIR", file.data_dir, "./data"));
        let default_db = format!("sqlite://{}?mode=rwc", data_dir.join("coffer.db").display());
        let database_url = pick("DATABASE_URL", file.database_url, &default_db);
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Value {
                name: "DATABASE_URL",
                value: redact_url(&database_url),
                message: "expected sqlite://… or postgres://…".into(),
            });
        }
        let public_url = pick(
            "COFFER_PUBLIC_URL",
            file.public_url,
            "http://127.0.0.1:3000",
        )
        .trim_end_matches('/')
        .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::Value {
                name: "COFFER_PUBLIC_URL",
                value: public_url,
                message: "expected an http:// or https:// URL".into(),
            });
        }
        let number = |name: &'static str, from_file: Option<u64>, default: u64| match env(name) {
            Some(raw) => raw.trim().parse::<u64>().map_err(|e| ConfigError::Value {
                name,
                value: raw,
                message: e.to_string(),
            }),
            None => Ok(from_file.unwrap_or(default)),
        };
        let rate_login = number(
            "COFFER_RATE_LOGIN_PER_MIN",
            file.rate_login_per_min.map(u64::from),
            10,
        )?;
        let rate_upload = number(
            "COFFER_RATE_UPLOAD_PER_MIN",
            file.rate_upload_per_min.map(u64::from),
            5,
        )?;
        let rate_download = number(
            "COFFER_RATE_DOWNLOAD_PER_MIN",
            file.rate_download_per_min.map(u64::from),
            30,
        )?;
        let rate_register = number(
            "COFFER_RATE_REGISTER_PER_HOUR",
            file.rate_register_per_hour.map(u64::from),
            20,
        )?;
        let rate_requests = number(
            "COFFER_RATE_REQUESTS_PER_SEC",
            file.rate_requests_per_sec.map(u64::from),
            100,
        )?;
        let rate_burst = number(
            "COFFER_RATE_REQUESTS_BURST",
            file.rate_requests_burst.map(u64::from),
            400,
        )?;
        let max_connections = number("COFFER_MAX_CONNECTIONS", file.max_connections, 1024)?;
        let header_timeout = number("COFFER_HEADER_TIMEOUT_SECS", file.header_timeout_secs, 15)?;
        let body_timeout = number("COFFER_BODY_TIMEOUT_SECS", file.body_timeout_secs, 60)?;
        let upload_min_rate = number(
            "COFFER_UPLOAD_MIN_BYTES_PER_SEC",
            file.upload_min_bytes_per_sec,
            2048,
        )?;
        let max_uploads = number(
            "COFFER_MAX_CONCURRENT_UPLOADS",
            file.max_concurrent_uploads,
            64,
        )?;
        let max_user_uploads = number("COFFER_MAX_UPLOADS_PER_USER", file.max_uploads_per_user, 4)?;
        let trusted_proxies = parse_proxies(
            &env("COFFER_TRUSTED_PROXIES")
                .or(file.trusted_proxies)
                .unwrap_or_default(),
        )?;
        let max_upload_bytes = number(
            "COFFER_MAX_UPLOAD_BYTES",
            file.max_upload_bytes,
            100 * 1024 * 1024,
        )?;
        let user_quota_bytes = match env("COFFER_USER_QUOTA_BYTES") {
            Some(_) => Some(number("COFFER_USER_QUOTA_BYTES", None, 0)?),
            None => file.user_quota_bytes,
        };
        let audit_retention_days = number(
            "COFFER_AUDIT_RETENTION_DAYS",
            file.audit_retention_days,
            365,
        )?;
        let storage = match pick("COFFER_STORAGE", file.storage, "fs").as_str() {
            "fs" => StorageSettings::Fs {
                root: data_dir.clone(),
            },
            "memory" => StorageSettings::Memory,
            "s3" => StorageSettings::S3 {
                endpoint: env("COFFER_S3_ENDPOINT").or(file.s3_endpoint),
                bucket: env("COFFER_S3_BUCKET")
                    .or(file.s3_bucket)
                    .ok_or(ConfigError::Value {
                        name: "COFFER_S3_BUCKET",
                        value: String::new(),
                        message: "required when COFFER_STORAGE=s3".into(),
                    })?,
                region: pick("COFFER_S3_REGION", file.s3_region, "us-east-1"),
                access_key_id: env("COFFER_S3_ACCESS_KEY_ID").or(file.s3_access_key_id),
                secret_access_key: env("COFFER_S3_SECRET_ACCESS_KEY").or(file.s3_secret_access_key),
                root: pick("COFFER_S3_ROOT", file.s3_root, "/"),
            },
            other => {
                return Err(ConfigError::Value {
                    name: "COFFER_STORAGE",
                    value: other.to_owned(),
                    message: "expected fs, s3 or memory".into(),
                })
            }
        };
        let allowed_extensions = parse_extensions(&pick(
            "COFFER_ALLOWED_EXTENSIONS",
            file.allowed_extensions,
            DEFAULT_ALLOWED_EXTENSIONS,
        ));
        let scan_blocklist = parse_blocklist(
            &env("COFFER_SCAN_BLOCKLIST")
                .or(file.scan_blocklist)
                .unwrap_or_default(),
        )?;
        let flag = |name: &'static str, from_file: Option<bool>, default: bool| match env(name) {
            Some(raw) => match raw.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(ConfigError::Value {
                    name,
                    value: raw,
                    message: "expected true or false".into(),
                }),
            },
            None => Ok(from_file.unwrap_or(default)),
        };
        let scan_worker = flag("COFFER_SCAN_WORKER", file.scan_worker, true)?;
        let webhook_allow_private = flag(
            "COFFER_WEBHOOK_ALLOW_PRIVATE",
            file.webhook_allow_private,
            false,
        )?;
        let webhook_retry_secs =
            number("COFFER_WEBHOOK_RETRY_SECS", file.webhook_retry_secs, 30)?.max(1);
        let webhook_suspend_after = number(
            "COFFER_WEBHOOK_SUSPEND_AFTER",
            file.webhook_suspend_after,
            15,
        )?;
        let clamd_timeout_secs =
            number("COFFER_CLAMD_TIMEOUT_SECS", file.clamd_timeout_secs, 120)?.max(1);
        let sweep_interval_secs =
            number("COFFER_SWEEP_INTERVAL_SECS", file.sweep_interval_secs, 300)?.max(1);
        let upload_expire_hours =
            number("COFFER_UPLOAD_EXPIRE_HOURS", file.upload_expire_hours, 24)?.max(1);
        let idle_hours = number("COFFER_SESSION_IDLE_HOURS", file.session_idle_hours, 12)?;
        let lifetime_days = number(
            "COFFER_SESSION_LIFETIME_DAYS",
            file.session_lifetime_days,
            7,
        )?;
        Ok(Settings {
            site_addr,
            site_root: pick("LEPTOS_SITE_ROOT", file.site_root, "target/site"),
            output_name: pick("LEPTOS_OUTPUT_NAME", file.output_name, "coffer"),
            data_dir,
            database_url,
            redis_url: env("REDIS_URL").or(file.redis_url),
            redis_prefix: pick("COFFER_REDIS_PREFIX", file.redis_prefix, "coffer"),
            public_url,
            rate_login_per_min: u32::try_from(rate_login).unwrap_or(u32::MAX),
            rate_upload_per_min: u32::try_from(rate_upload).unwrap_or(u32::MAX),
            rate_download_per_min: u32::try_from(rate_download).unwrap_or(u32::MAX),
            rate_register_per_hour: u32::try_from(rate_register).unwrap_or(u32::MAX),
            rate_requests_per_sec: u32::try_from(rate_requests).unwrap_or(u32::MAX),
            rate_requests_burst: u32::try_from(rate_burst).unwrap_or(u32::MAX),
            max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
            header_timeout: Duration::from_secs(header_timeout.max(1)),
            body_idle_timeout: Duration::from_secs(body_timeout.max(1)),
            upload_min_rate,
            upload_min_rate_window: Duration::from_secs(60),
            max_concurrent_uploads: usize::try_from(max_uploads).unwrap_or(usize::MAX),
            max_uploads_per_user: usize::try_from(max_user_uploads).unwrap_or(usize::MAX),
            trusted_proxies,
            storage,
            master_key: env("COFFER_MASTER_KEY").or(file.master_key),
            max_upload_bytes,
            user_quota_bytes,
            audit_retention_days,
            allowed_extensions,
            scan_blocklist,
            scan_worker,
            clamd_addr: env("CLAMD_ADDR").or(file.clamd_addr),
            clamd_timeout: Duration::from_secs(clamd_timeout_secs),
            webhook_allow_private,
            webhook_retry: Duration::from_secs(webhook_retry_secs),
            webhook_suspend_after: u32::try_from(webhook_suspend_after).unwrap_or(u32::MAX),
            metrics_token: env("COFFER_METRICS_TOKEN").or(file.metrics_token),
            sweep_interval: Duration::from_secs(sweep_interval_secs),
            upload_expire: Duration::from_secs(upload_expire_hours * 3600),
            session_idle: Duration::from_secs(idle_hours * 3600),
            session_lifetime: Duration::from_secs(lifetime_days * 86_400),
            access_token_ttl: Duration::from_secs(30 * 60),
            refresh_token_ttl: Duration::from_secs(7 * 86_400),
        })
    }

    /// Settings for tests and tools: defaults only, nothing read from the file or environment.
    pub fn defaults_for(data_dir: PathBuf, database_url: Option<String>) -> Self {
        let mut settings =
            Self::resolve(FileSettings::default(), |_| None).expect("defaults are valid");
        settings.database_url = database_url.unwrap_or_else(|| {
            format!("sqlite://{}?mode=rwc", data_dir.join("coffer.db").display())
        });
        settings.storage = StorageSettings::Fs {
            root: data_dir.clone(),
        };
        settings.data_dir = data_dir;
        settings
    }

    pub fn upload_policy(&self) -> crate::model::UploadPolicy {
        crate::model::UploadPolicy {
            max_upload_bytes: self.max_upload_bytes,
            allowed_extensions: self.allowed_extensions.clone(),
        }
    }

    /// An absolute link to `path` (which starts with `/`) on this site, for links handed out.
    pub fn public_link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.trim_end_matches('/'))
    }

    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The origin (scheme://host[:port]) browsers send for pages of this site.
    pub fn public_origin(&self) -> &str {
        let after_scheme = self.public_url.find("://").map_or(0, |i| i + 3);
        match self.public_url[after_scheme..].find('/') {
            Some(i) => &self.public_url[..after_scheme + i],
            None => &self.public_url,
        }
    }

    /// Leptos' options; `hash_file` is the build's hash file when its files carry hashes
    /// (`site_files::SiteFiles`).
    pub fn leptos_options(
        &self,
        hash_file: Option<&std::path::Path>,
    ) -> leptos::config::LeptosOptions {
        let options = leptos::config::LeptosOptions::builder()
            .output_name(self.output_name.as_str())
            .site_root(self.site_root.as_str())
            .site_addr(self.site_addr);
        match hash_file {
            Some(path) => options
                .hash_files(true)
                .hash_file(std::sync::Arc::from(path.to_string_lossy()))
                .build(),
            None => options.build(),
        }
    }
}

/// `".PDF, txt,.csv"` → `[".pdf", ".txt", ".csv"]`.
fn parse_extensions(list: &str) -> Vec<String> {
    list.split(',')
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty() && e != ".")
        .map(|e| {
            if e.starts_with('.') {
                e
            } else {
                format!(".{e}")
            }
        })
        .collect()
}

/// Comma-separated addresses (`10.0.0.7`, `::1`) and networks (`10.0.0.0/8`, `fd00::/8`).
fn parse_proxies(list: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|proxy| {
            proxy
                .parse::<ipnet::IpNet>()
                .or_else(|_| proxy.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError::Value {
                    name: "COFFER_TRUSTED_PROXIES",
                    value: proxy.to_owned(),
                    message: "expected IP addresses or CIDR networks, comma-separated".into(),
                })
        })
        .collect()
}

/// Comma- or whitespace-separated SHA-256 digests in hex.
fn parse_blocklist(list: &str) -> Result<Vec<[u8; 32]>, ConfigError> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|d| !d.is_empty())
        .map(|digest| {
            let mut out = [0u8; 32];
            hex::decode_to_slice(digest, &mut out).map_err(|_| ConfigError::Value {
                name: "COFFER_SCAN_BLOCKLIST",
                value: digest.to_owned(),
                message: "expected SHA-256 digests as 64 hex digits".into(),
            })?;
            Ok(out)
        })
        .collect()
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
    use std::collections::HashMap;

    fn resolve(file: &str, env: &[(&'static str, &str)]) -> Result<Settings, ConfigError> {
        let env: HashMap<_, _> = env.iter().map(|(k, v)| (*k, v.to_string())).collect();
        Settings::resolve(toml::from_str(file).unwrap(), |name| env.get(name).cloned())
    }

    #[test]
    fn defaults_match_the_spec() {
        let s = resolve("", &[]).unwrap();
        assert_eq!(s.site_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(s.site_root, "target/site");
        assert_eq!(s.data_dir, PathBuf::from("./data"));
        assert_eq!(s.database_url, "sqlite://./data/coffer.db?mode=rwc");
        assert_eq!(s.public_url, "http://127.0.0.1:3000");
        assert_eq!(s.rate_login_per_min, 10);
        assert_eq!(s.session_idle, Duration::from_secs(12 * 3600));
        assert_eq!(s.session_lifetime, Duration::from_secs(7 * 86400));
        assert!(s.redis_url.is_none());
        assert!(!s.is_https());
    }

    #[test]
    fn environment_wins_over_file() {
        let s = resolve(
            "site-addr = \"0.0.0.0:8080\"\ndata-dir = \"/srv/coffer\"",
            &[("LEPTOS_SITE_ADDR", "127.0.0.1:9999")],
        )
        .unwrap();
        assert_eq!(s.site_addr.to_string(), "127.0.0.1:9999");
        assert_eq!(s.data_dir, PathBuf::from("/srv/coffer"));
        assert_eq!(s.database_url, "sqlite:///srv/coffer/coffer.db?mode=rwc");
    }

    #[test]
    fn quotas_and_audit_retention_have_the_spec_defaults() {
        let s = resolve("", &[]).unwrap();
        assert_eq!((s.user_quota_bytes, s.audit_retention_days), (None, 365));
        let s = resolve(
            "user-quota-bytes = 5\naudit-retention-days = 30",
            &[("COFFER_USER_QUOTA_BYTES", "1073741824")],
        )
        .unwrap();
        assert_eq!(
            (s.user_quota_bytes, s.audit_retention_days),
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
        assert_eq!(s.max_upload_bytes, 104_857_600);
        assert_eq!((s.rate_upload_per_min, s.rate_download_per_min), (5, 30));
        assert_eq!(s.allowed_extensions.len(), 12);
        assert!(s.allowed_extensions.contains(&".docx".to_string()));
        assert!(
            matches!(s.storage, StorageSettings::Fs { ref root } if root == &PathBuf::from("./data"))
        );
        assert!(s.master_key.is_none());
        assert!(s.scan_blocklist.is_empty());
    }

    #[test]
    fn extensions_are_normalised_and_storage_is_checked() {
        let s = resolve("", &[("COFFER_ALLOWED_EXTENSIONS", " PDF, .Txt ,,")]).unwrap();
        assert_eq!(s.allowed_extensions, vec![".pdf", ".txt"]);
        let err = resolve("", &[("COFFER_STORAGE", "ftp")]).unwrap_err();
        assert!(err.to_string().contains("COFFER_STORAGE"), "{err}");
        let err = resolve("", &[("COFFER_STORAGE", "s3")]).unwrap_err();
        assert!(err.to_string().contains("COFFER_S3_BUCKET"), "{err}");
        let s = resolve(
            "",
            &[("COFFER_STORAGE", "s3"), ("COFFER_S3_BUCKET", "coffer")],
        )
        .unwrap();
        assert!(matches!(s.storage, StorageSettings::S3 { ref bucket, .. } if bucket == "coffer"));
    }

    #[test]
    fn blocklist_takes_hex_digests_only() {
        let digest = "ab".repeat(32);
        let s = resolve(
            "",
            &[("COFFER_SCAN_BLOCKLIST", &format!("{digest}, {digest}"))],
        )
        .unwrap();
        assert_eq!(s.scan_blocklist, vec![[0xab; 32]; 2]);
        let err = resolve("", &[("COFFER_SCAN_BLOCKLIST", "nothex")]).unwrap_err();
        assert!(err.to_string().contains("COFFER_SCAN_BLOCKLIST"), "{err}");
    }

    #[test]
    fn trusted_proxies_take_addresses_and_networks() {
        assert!(resolve("", &[]).unwrap().trusted_proxies.is_empty());
        let s = resolve(
            "",
            &[("COFFER_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,fd00::/8")],
        )
        .unwrap();
        let shown: Vec<String> = s.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(shown, ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"]);
        let err = resolve("", &[("COFFER_TRUSTED_PROXIES", "10.0.0.0/33")]).unwrap_err();
        assert!(err.to_string().contains("COFFER_TRUSTED_PROXIES"), "{err}");
        assert_eq!(resolve("", &[]).unwrap().rate_register_per_hour, 20);
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        assert!(toml::from_str::<FileSettings>("site-adr = \"x\"").is_err());
    }

    #[test]
    fn https_public_url_and_origin() {
        let s = resolve(
            "",
            &[("COFFER_PUBLIC_URL", "https://files.example.org/coffer/")],
        )
        .unwrap();
        assert!(s.is_https());
        assert_eq!(s.public_origin(), "https://files.example.org");
    }
}
