//! How much traffic one client may bring, and how connections are held: rate limits, timeouts,
//! the connection cap, and which proxies are believed about a client's address.

use std::time::Duration;

use super::{source::Source, ConfigError};

/// Per-client rate limits; 0 switches one off.
#[derive(Clone, Debug)]
pub struct RateSettings {
    /// Sign-in attempts a minute per address (`COFFER_RATE_LOGIN_PER_MIN`, 10).
    pub login_per_min: u32,
    /// Uploads a minute per user (`COFFER_RATE_UPLOAD_PER_MIN`, 5).
    pub upload_per_min: u32,
    /// Downloads a minute per address (`COFFER_RATE_DOWNLOAD_PER_MIN`, 30).
    pub download_per_min: u32,
    /// Accounts one client address may create per hour (`COFFER_RATE_REGISTER_PER_HOUR`, 20).
    pub register_per_hour: u32,
    /// Requests one client address may make per second, sustained (`COFFER_RATE_REQUESTS_PER_SEC`,
    /// 100), and at once (`COFFER_RATE_REQUESTS_BURST`, 400).
    pub requests_per_sec: u32,
    pub requests_burst: u32,
}

impl RateSettings {
    pub(super) fn read(src: &mut Source) -> Result<Self, ConfigError> {
        Ok(Self {
            login_per_min: src.count("COFFER_RATE_LOGIN_PER_MIN", 10)?,
            upload_per_min: src.count("COFFER_RATE_UPLOAD_PER_MIN", 5)?,
            download_per_min: src.count("COFFER_RATE_DOWNLOAD_PER_MIN", 30)?,
            register_per_hour: src.count("COFFER_RATE_REGISTER_PER_HOUR", 20)?,
            requests_per_sec: src.count("COFFER_RATE_REQUESTS_PER_SEC", 100)?,
            requests_burst: src.count("COFFER_RATE_REQUESTS_BURST", 400)?,
        })
    }
}

#[derive(Clone, Debug)]
pub struct ConnectionSettings {
    /// Connections served at once (`COFFER_MAX_CONNECTIONS`, 1024); more wait to be accepted.
    pub max: usize,
    /// Time a client has to send a request's headers, and the longest an idle keep-alive
    /// connection stays open (`COFFER_HEADER_TIMEOUT_SECS`, 15).
    pub header_timeout: Duration,
    /// The longest a request body may go without a byte before the request fails
    /// (`COFFER_BODY_TIMEOUT_SECS`, 60).
    pub body_idle_timeout: Duration,
    /// Peers whose `X-Forwarded-For` / `Forwarded` headers are believed
    /// (`COFFER_TRUSTED_PROXIES`); empty: those headers are ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl ConnectionSettings {
    pub(super) fn read(src: &mut Source) -> Result<Self, ConfigError> {
        let second = Duration::from_secs(1);
        Ok(Self {
            max: src.count("COFFER_MAX_CONNECTIONS", 1024)?,
            header_timeout: src.period("COFFER_HEADER_TIMEOUT_SECS", 15, second)?,
            body_idle_timeout: src.period("COFFER_BODY_TIMEOUT_SECS", 60, second)?,
            trusted_proxies: parse_proxies(
                &src.optional_text("COFFER_TRUSTED_PROXIES")?
                    .unwrap_or_default(),
            )?,
        })
    }
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
