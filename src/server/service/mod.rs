//! Every rule of Coffer lives here: validation, authorisation, limits, audit. The page server
//! functions and the REST handlers only parse input, call these functions and map the result.

pub mod accounts;
pub mod admin;
pub mod api_tokens;
pub mod audit;
pub mod file_types;
pub mod files;
pub mod key_rotation;
pub mod metrics;
pub mod passwords;
pub mod rate_limits;
pub mod readiness;
pub mod requests;
pub mod scanning;
pub mod secret_tokens;
pub mod shares;
pub mod signed_urls;
pub mod two_factor;
pub mod unlock;
pub mod upkeep;
pub mod web_sessions;
pub mod webhooks;

use std::net::{IpAddr, Ipv6Addr};

/// Who is asking and from where; recorded in the audit log.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The request's id (`X-Request-Id`), which its log lines carry too; `None` for the
    /// system's own work.
    pub request_id: Option<String>,
}

impl RequestMeta {
    /// The client as a rate-limit key: its IPv4 address, or the /64 its IPv6 address is in (a
    /// single host is usually given a whole /64, so keying by the full address would give it
    /// endless fresh buckets). Requests whose address is not known share one key.
    pub fn client(&self) -> String {
        match self.ip.as_deref().map(str::parse::<IpAddr>) {
            Some(Ok(ip)) => client_key(ip),
            Some(Err(_)) => self.ip.clone().unwrap_or_default(),
            None => "unknown".to_owned(),
        }
    }
}

/// The network a client address is counted by: an IPv4 address itself (an IPv4-mapped IPv6
/// address as its IPv4), an IPv6 address's /64. The request rate and every per-client limit
/// key by it.
pub fn client_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

/// [`client_network`] as a rate-limit key: `203.0.113.7`, `2001:db8:1:2::/64`.
pub fn client_key(ip: IpAddr) -> String {
    match client_network(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("{v6}/64"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_ipv4_by_address() {
        let key = |ip: &str| client_key(ip.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_ne!(key("203.0.113.7"), key("203.0.113.8"));
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        let unknown = RequestMeta::default();
        assert_eq!(unknown.client(), "unknown");
    }
}
