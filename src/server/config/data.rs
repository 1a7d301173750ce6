//! Where Coffer keeps things: its data folder, the database, Redis, the blob store, the key.

use std::path::{Path, PathBuf};

use super::{source::Source, ConfigError};

#[derive(Clone, Debug)]
pub struct DataSettings {
    /// The data folder (`COFFER_DATA_DIR`, ./data): the SQLite database, blobs and the generated
    /// master key live here unless told otherwise.
    pub dir: PathBuf,
    /// `DATABASE_URL`: `sqlite://…` (default, in the data folder) or `postgres://…`.
    pub database_url: String,
    /// `REDIS_URL`; when set, sessions, rate limits and upload slots are shared through it.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key Coffer writes, so several installations can share one Redis
    /// (`COFFER_REDIS_PREFIX`, coffer).
    pub redis_prefix: String,
    pub storage: StorageSettings,
    /// `COFFER_MASTER_KEY`: base64 of 32 bytes; further comma-separated keys are previous ones,
    /// still read during a rotation. Unset: a key generated into the data dir.
    pub master_key: Option<String>,
}

/// Where blobs are kept (`COFFER_STORAGE`: fs, s3 or memory).
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

/// The SQLite database in the data folder.
pub(super) fn sqlite_in(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("coffer.db").display())
}

impl DataSettings {
    pub(super) fn read(src: &mut Source) -> Result<Self, ConfigError> {
        let dir = PathBuf::from(src.text("COFFER_DATA_DIR", "./data")?);
        let database_url = src.text("DATABASE_URL", &sqlite_in(&dir))?;
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Value {
                name: "DATABASE_URL",
                value: super::redact_url(&database_url),
                message: "expected sqlite://… or postgres://…".into(),
            });
        }
        // The S3 settings are read whichever store is chosen: a file may keep them for later.
        let kind = src.text("COFFER_STORAGE", "fs")?;
        let endpoint = src.optional_text("COFFER_S3_ENDPOINT")?;
        let bucket = src.optional_text("COFFER_S3_BUCKET")?;
        let region = src.text("COFFER_S3_REGION", "us-east-1")?;
        let access_key_id = src.optional_text("COFFER_S3_ACCESS_KEY_ID")?;
        let secret_access_key = src.optional_text("COFFER_S3_SECRET_ACCESS_KEY")?;
        let root = src.text("COFFER_S3_ROOT", "/")?;
        let storage = match kind.as_str() {
            "fs" => StorageSettings::Fs { root: dir.clone() },
            "memory" => StorageSettings::Memory,
            "s3" => StorageSettings::S3 {
                endpoint,
                bucket: bucket.ok_or(ConfigError::Value {
                    name: "COFFER_S3_BUCKET",
                    value: String::new(),
                    message: "required when COFFER_STORAGE=s3".into(),
                })?,
                region,
                access_key_id,
                secret_access_key,
                root,
            },
            _ => {
                return Err(ConfigError::Value {
                    name: "COFFER_STORAGE",
                    value: kind,
                    message: "expected fs, s3 or memory".into(),
                })
            }
        };
        Ok(Self {
            dir,
            database_url,
            redis_url: src.optional_text("REDIS_URL")?,
            redis_prefix: src.text("COFFER_REDIS_PREFIX", "coffer")?,
            storage,
            master_key: src.optional_text("COFFER_MASTER_KEY")?,
        })
    }
}
