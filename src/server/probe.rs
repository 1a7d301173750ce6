//! `coffer healthcheck`: asks this instance's own `/ready` over loopback, for container
//! health checks (the runtime image has no curl). Exit status 0 when it answers 200.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use http_body_util::{BodyExt, Empty};
use hyper::{body::Bytes, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The address to reach a server listening on `listen`: loopback when it listens everywhere.
fn reachable(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// `GET /ready` on the server listening on `listen`; what it said, or why it did not answer.
pub async fn ready(listen: SocketAddr, timeout: Duration) -> Result<String, String> {
    let addr = reachable(listen);
    tokio::time::timeout(timeout, ask(addr))
        .await
        .map_err(|_| format!("{addr} did not answer /ready within {timeout:?}"))?
}

async fn ask(addr: SocketAddr) -> Result<String, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("{addr}: {e}"))?;
    tokio::spawn(connection);
    let request = Request::get("/ready")
        .header(hyper::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{addr}: {e}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{addr}: {e}"))?
        .to_bytes();
    let text = String::from_utf8_lossy(&body).into_owned();
    if status.is_success() {
        Ok(text)
    } else {
        Err(format!("{addr} is not ready ({status}): {text}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_listener_is_reached_on_loopback() {
        let all: SocketAddr = "0.0.0.0:3000".parse().unwrap();
        assert_eq!(reachable(all), "127.0.0.1:3000".parse().unwrap());
        let all6: SocketAddr = "[::]:3000".parse().unwrap();
        assert_eq!(reachable(all6), "[::1]:3000".parse().unwrap());
        let one: SocketAddr = "10.0.0.5:80".parse().unwrap();
        assert_eq!(reachable(one), one);
    }

    #[tokio::test]
    async fn nobody_listening_is_not_ready() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = ready(addr, Duration::from_secs(2)).await.unwrap_err();
        assert!(err.contains("cannot connect"), "{err}");
    }
}
