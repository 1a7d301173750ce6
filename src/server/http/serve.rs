//! The server loop: `axum::serve` with the limits it does not have. At most
//! `COFFER_MAX_CONNECTIONS` connections at once (the next waits in the kernel's backlog), and a
//! client must send a request's headers within `COFFER_HEADER_TIMEOUT_SECS` — also the longest
//! an idle keep-alive connection is kept — so a slow-loris client cannot hold connections open.
//! Request bodies have their own idle timeout (`http::limits`).
//!
//! It speaks HTTP/1.1 only: TLS and HTTP/2 end at the reverse proxy in front of Coffer, and
//! HTTP/1.1 lets the header timeout cover a connection from its first byte (detecting a
//! cleartext HTTP/2 preface would wait for bytes with no timeout at all).

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::{extract::ConnectInfo, Router};
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt;

/// How connections are bounded.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
}

/// The largest request head accepted (request line and headers); a larger one is answered 431.
/// hyper's own bound is its connection buffer ([`CONNECTION_BUFFER`]), and a loose one: a head
/// that arrives in one read can overrun it. 32 KiB is what nginx' default (four 8 KiB header
/// buffers) lets through in front of Coffer.
const MAX_REQUEST_HEAD: usize = 32 * 1024;

/// hyper's buffer per connection: the most a read takes from the socket, and the most it gathers
/// before writing (a larger body frame goes out in one write of its own). hyper's default,
/// ~400 KiB, let every upload hold several buffers of that size: the body chunks cut from one
/// keep it alive while they wait to be hashed and sealed. Downloads send 128 KiB frames, so they
/// do not need the buffer to gather writes (`service::files::download`).
const CONNECTION_BUFFER: usize = 64 * 1024;

/// How long requests in flight may take to finish once shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting and waits for
/// the requests in flight (up to 30 s).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .max_header_size(MAX_REQUEST_HEAD)
        .max_buf_size(CONNECTION_BUFFER);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or the client left before we took it: a short
                    // pause instead of a hot loop.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = router.clone().map_request(
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                req
            },
        );
        let connection = graceful
            .watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("requests still running {} s after shutdown began; stopping anyway", DRAIN_TIMEOUT.as_secs());
        }
    }
}
