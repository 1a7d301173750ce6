//! The site itself: where it listens, what it serves, the address people reach it at.

use std::net::SocketAddr;

use super::{source::Source, ConfigError};

#[derive(Clone, Debug)]
pub struct SiteSettings {
    /// The address the server listens on (`LEPTOS_SITE_ADDR`, 127.0.0.1:3000).
    pub addr: SocketAddr,
    /// The built site's folder (`LEPTOS_SITE_ROOT`, target/site) and its files' base name
    /// (`LEPTOS_OUTPUT_NAME`, coffer).
    pub root: String,
    pub output_name: String,
    /// Base of links handed out (`COFFER_PUBLIC_URL`, no trailing slash); `https` turns on
    /// Secure cookies and HSTS.
    pub public_url: String,
    /// The bearer token `/metrics` asks for (`COFFER_METRICS_TOKEN`); `None`: open to anyone
    /// who can reach it.
    pub metrics_token: Option<String>,
}

impl SiteSettings {
    pub(super) fn read(src: &mut Source) -> Result<Self, ConfigError> {
        let raw_addr = src.text("LEPTOS_SITE_ADDR", "127.0.0.1:3000")?;
        let addr = raw_addr
            .parse()
            .map_err(|e: std::net::AddrParseError| ConfigError::Value {
                name: "LEPTOS_SITE_ADDR",
                value: raw_addr.clone(),
                message: e.to_string(),
            })?;
        let public_url = src
            .text("COFFER_PUBLIC_URL", "http://127.0.0.1:3000")?
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::Value {
                name: "COFFER_PUBLIC_URL",
                value: public_url,
                message: "expected an http:// or https:// URL".into(),
            });
        }
        Ok(Self {
            addr,
            root: src.text("LEPTOS_SITE_ROOT", "target/site")?,
            output_name: src.text("LEPTOS_OUTPUT_NAME", "coffer")?,
            public_url,
            metrics_token: src.optional_text("COFFER_METRICS_TOKEN")?,
        })
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
            .site_root(self.root.as_str())
            .site_addr(self.addr);
        match hash_file {
            Some(path) => options
                .hash_files(true)
                .hash_file(std::sync::Arc::from(path.to_string_lossy()))
                .build(),
            None => options.build(),
        }
    }
}
