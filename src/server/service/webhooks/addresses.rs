//! Which addresses a webhook may post to: an allow-list, not a deny-list. An address is public
//! only if it is global unicast (IPv4 outside the reserved and multicast space, IPv6 inside
//! 2000::/3) and in none of the blocks of IANA's special-purpose address registries. Forms
//! that embed an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64's well-known prefix, 6to4)
//! are judged as the IPv4 address they lead to, so `[64:ff9b::7f00:1]` is 127.0.0.1.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    sync::LazyLock,
};

use ipnet::{Ipv4Net, Ipv6Net};

/// IANA IPv4 Special-Purpose Address Registry, every block, whether or not the registry calls
/// it globally reachable (none of them is a webhook receiver), and the multicast space.
const IPV4_SPECIAL: &[&str] = &[
    "0.0.0.0/8",       // "this network"
    "10.0.0.0/8",      // private use
    "100.64.0.0/10",   // shared address space (carrier-grade NAT)
    "127.0.0.0/8",     // loopback
    "169.254.0.0/16",  // link local (cloud metadata services live here)
    "172.16.0.0/12",   // private use
    "192.0.0.0/24",    // IETF protocol assignments
    "192.0.2.0/24",    // documentation (TEST-NET-1)
    "192.31.196.0/24", // AS112-v4
    "192.52.193.0/24", // AMT
    "192.88.99.0/24",  // deprecated 6to4 relay anycast
    "192.168.0.0/16",  // private use
    "192.175.48.0/24", // direct delegation AS112 service
    "198.18.0.0/15",   // benchmarking
    "198.51.100.0/24", // documentation (TEST-NET-2)
    "203.0.113.0/24",  // documentation (TEST-NET-3)
    "224.0.0.0/4",     // multicast
    "240.0.0.0/4",     // reserved, and the limited broadcast address
];

/// IANA IPv6 Special-Purpose Address Registry, the blocks inside 2000::/3 (everything outside
/// it is refused anyway). 2002::/16 (6to4) is not here: it is judged by its IPv4 address.
const IPV6_SPECIAL: &[&str] = &[
    "2001::/23",         // IETF protocol assignments (Teredo, ORCHID, benchmarking, …)
    "2001:db8::/32",     // documentation
    "2620:4f:8000::/48", // direct delegation AS112 service
    "3fff::/20",         // documentation
];

static IPV4_BLOCKS: LazyLock<Vec<Ipv4Net>> = LazyLock::new(|| parse(IPV4_SPECIAL));
static IPV6_BLOCKS: LazyLock<Vec<Ipv6Net>> = LazyLock::new(|| parse(IPV6_SPECIAL));

fn parse<T: std::str::FromStr>(blocks: &[&str]) -> Vec<T> {
    blocks
        .iter()
        .map(|b| {
            b.parse()
                .ok()
                .expect("the registry blocks are CIDR literals")
        })
        .collect()
}

/// Whether a webhook may post to `ip`.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    !IPV4_BLOCKS.iter().any(|block| block.contains(&ip))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let global_unicast = (ip.segments()[0] & 0xe000) == 0x2000;
    global_unicast && !IPV6_BLOCKS.iter().any(|block| block.contains(&ip))
}

/// The IPv4 address an IPv6 address leads to, for the forms that embed one: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, deprecated), NAT64's well-known prefix
/// (`64:ff9b::a.b.c.d`, RFC 6052) and 6to4 (`2002:aabb:ccdd::/48`, RFC 3056).
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => Some(low(hi, lo)),
        // `::` and `::1` are the unspecified and loopback addresses, not IPv4-compatible ones;
        // both are refused as they are.
        [0, 0, 0, 0, 0, 0, hi, lo] if (hi, lo) != (0, 0) && (hi, lo) != (0, 1) => Some(low(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(ip: &str) -> bool {
        is_public(ip.parse().unwrap())
    }

    /// Every block of both IANA special-purpose registries, by its first address, its last and
    /// one inside, is refused; so are the ones outside global unicast.
    #[test]
    fn every_special_purpose_block_is_refused() {
        for block in IPV4_SPECIAL {
            let net: Ipv4Net = block.parse().unwrap();
            for ip in [net.network(), net.broadcast(), net.hosts().nth(1).unwrap()] {
                assert!(!is_public(IpAddr::V4(ip)), "{ip} in {block}");
            }
        }
        // The IPv6 registry, all of it (those outside 2000::/3 are refused as such).
        for block in [
            "::1/128",
            "::/128",
            "::ffff:0:0/96",
            "64:ff9b:1::/48",
            "100::/64",
            "100:0:0:1::/64",
            "2001::/23",
            "2001::/32",
            "2001:1::1/128",
            "2001:2::/48",
            "2001:3::/32",
            "2001:4:112::/48",
            "2001:10::/28",
            "2001:20::/28",
            "2001:30::/28",
            "2001:db8::/32",
            "2620:4f:8000::/48",
            "3fff::/20",
            "5f00::/16",
            "fc00::/7",
            "fe80::/10",
            "ff00::/8",
        ] {
            let net: Ipv6Net = block.parse().unwrap();
            for ip in [net.network(), net.broadcast()] {
                assert!(!is_public(IpAddr::V6(ip)), "{ip} in {block}");
            }
        }
    }

    /// The forms a review got past the old deny-list.
    #[test]
    fn addresses_embedding_a_private_ipv4_are_refused() {
        for ip in [
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "198.18.0.1",
            "240.0.0.1",
            "192.0.0.1",
            "fec0::1",
            "255.255.255.255",
            "100.64.0.1",
            "169.254.169.254",
        ] {
            assert!(!public(ip), "{ip}");
        }
    }

    #[test]
    fn global_unicast_addresses_are_public() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.215.14",
            "223.255.255.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:1.1.1.1",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(public(ip), "{ip}");
        }
    }
}
