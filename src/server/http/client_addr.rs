//! Who is asking: the client's address, decided once per request for rate limits, audit rows,
//! the sessions page and log lines.
//!
//! Behind a reverse proxy every TCP peer is the proxy. Only when the peer is one of
//! `COFFER_TRUSTED_PROXIES` are the forwarding headers believed: the client is the right-most
//! address of `X-Forwarded-For` (or, without it, of RFC 7239 `Forwarded`) that is not itself a
//! trusted proxy. Everything left of it was written by the client and could say anything.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::HeaderMap,
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;

use crate::server::state::AppState;

/// The client address chosen for this request (absent when the server was not given peer
/// addresses, as in some in-process tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Middleware: puts the [`ClientAddr`] into the request and names it in the request's span.
pub async fn client_address(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let ip = client_ip(
            peer.ip(),
            req.headers(),
            &state.settings().connections.trusted_proxies,
        );
        tracing::Span::current().record("client", tracing::field::display(ip));
        req.extensions_mut().insert(ClientAddr(ip));
    }
    next.run(req).await
}

/// Middleware, outside the one that gives each request an id: an `X-Request-Id` is kept only
/// from a trusted proxy (which made it, so that its log and Coffer's name the request alike)
/// and only if it is a plain token of at most 128 characters. Any other is dropped and Coffer
/// makes its own, so a client cannot write what it likes into audit rows and log lines.
pub async fn proxy_request_id(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let trusted = &state.settings().connections.trusted_proxies;
    let from_proxy = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| is_trusted(peer.ip(), trusted));
    let keep = from_proxy
        && req
            .headers()
            .get(super::middleware::REQUEST_ID)
            .is_some_and(|id| plain_request_id(id.as_bytes()));
    if !keep {
        req.headers_mut().remove(super::middleware::REQUEST_ID);
    }
    next.run(req).await
}

fn plain_request_id(id: &[u8]) -> bool {
    (1..=128).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Whether `ip` is one of the trusted proxies (an IPv4 peer seen on a dual-stack socket as
/// `::ffff:a.b.c.d` is that IPv4 address).
fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    let ip = ip.to_canonical();
    trusted.iter().any(|net| net.contains(&ip))
}

/// The client behind `peer`, reading forwarded headers only from trusted peers.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let hops = forwarded_for(headers);
    let mut nearest = peer;
    for hop in hops.iter().rev() {
        match parse_node(hop) {
            Some(ip) if is_trusted(ip, trusted) => nearest = ip,
            Some(ip) => return ip,
            // `unknown`, an obfuscated name or garbage: nothing further left can be believed.
            None => return nearest,
        }
    }
    nearest
}

/// The hops the proxies recorded, oldest first: `X-Forwarded-For` when present, else the
/// `for=` parameters of `Forwarded`. Several header lines count as one list, in order.
fn forwarded_for(headers: &HeaderMap) -> Vec<String> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|hop| hop.trim().to_owned())
            .collect()
    };
    let xff = values("x-forwarded-for");
    if !xff.is_empty() {
        return xff;
    }
    values("forwarded")
        .iter()
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
                .map(|(_, value)| value.trim().trim_matches('"').to_owned())
                // An element without `for=` hides its client: treated like `unknown`.
                .unwrap_or_default()
        })
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let ip = node
        .parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            node.strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse().ok())
        })?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn an_ipv4_proxy_on_a_dual_stack_socket_is_trusted() {
        let trusted = nets(&["127.0.0.1/32"]);
        assert!(is_trusted(ip("::ffff:127.0.0.1"), &trusted));
        assert!(!is_trusted(ip("::ffff:127.0.0.2"), &trusted));
    }

    #[test]
    fn only_plain_request_ids_are_kept() {
        assert!(plain_request_id(b"0b5e6c1a-7f0e-4c1d-9a55-3e1f2b0c9d8e"));
        assert!(plain_request_id(b"nginx:4f1c.2_a"));
        for bad in [&b""[..], b"a b", b"a\"b", b"<script>", &[b'a'; 129]] {
            assert!(!plain_request_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn forwarded_headers_are_ignored_unless_the_peer_is_trusted() {
        let h = headers(&[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(client_ip(ip("203.0.113.9"), &h, &[]), ip("203.0.113.9"));
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("203.0.113.9"), &h, &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(client_ip(ip("10.1.2.3"), &h, &trusted), ip("198.51.100.7"));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "127.0.0.1/32"]);
        // The client wrote the first entry itself; the proxies appended the rest.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 198.51.100.7, 10.0.0.5")]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted), ip("198.51.100.7"));
        // Only trusted hops: the left-most of them.
        let h = headers(&[("x-forwarded-for", "10.0.0.9, 10.0.0.5")]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted), ip("10.0.0.9"));
        // No header: the proxy itself.
        assert_eq!(
            client_ip(ip("127.0.0.1"), &HeaderMap::new(), &trusted),
            ip("127.0.0.1")
        );
        // Several header lines are one list.
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "198.51.100.8"),
        ]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted), ip("198.51.100.8"));
    }

    #[test]
    fn rfc7239_forwarded_is_read_without_x_forwarded_for() {
        let trusted = nets(&["127.0.0.1/32"]);
        let h = headers(&[(
            "forwarded",
            r#"for=192.0.2.60;proto=http, For="[2001:db8:cafe::17]:4711";by=127.0.0.1"#,
        )]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &h, &trusted),
            ip("2001:db8:cafe::17")
        );
        let h = headers(&[("forwarded", r#"for="192.0.2.43:47011""#)]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted), ip("192.0.2.43"));
        // An obfuscated or unknown hop stops the walk at the nearest proxy.
        let h = headers(&[("forwarded", "for=192.0.2.1, for=_hidden")]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted), ip("127.0.0.1"));
        // X-Forwarded-For wins when both are present.
        let h = headers(&[
            ("forwarded", "for=192.0.2.1"),
            ("x-forwarded-for", "198.51.100.7"),
        ]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted), ip("198.51.100.7"));
    }

    #[test]
    fn mapped_ipv6_addresses_are_their_ipv4_selves() {
        let trusted = nets(&["127.0.0.1/32"]);
        let h = headers(&[("x-forwarded-for", "::ffff:198.51.100.7")]);
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &h, &trusted),
            ip("198.51.100.7")
        );
    }
}
