//! ClamAV's clamd over its INSTREAM protocol (`CLAMD_ADDR`: `host:port` or a unix socket path).
//!
//! A scan sends `zINSTREAM\0`, then the plaintext as chunks (a 4-byte big-endian length, then
//! the bytes), then a zero length, and reads one NUL-terminated answer: `stream: OK`,
//! `stream: <signature> FOUND` or `<message> ERROR`. Only `stream: OK` after the whole file
//! makes it clean: a refused connection, a timeout, a closed socket or an answer we do not
//! understand is a [`ScanError`]. clamd may answer before the end — past its `StreamMaxLength`
//! it says `INSTREAM size limit exceeded. ERROR` and hangs up — so the answer is awaited while
//! the file is being sent.

use std::{fmt, future::Future, io, path::PathBuf, time::Duration};

use futures::StreamExt;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpStream, UnixStream},
    time::timeout,
};

use super::{Content, ScanError, Scanner, Verdict};

/// The largest chunk sent at once (clamd takes any size up to its `StreamMaxLength`).
const CHUNK: usize = 64 * 1024;
/// An answer longer than this is not clamd's.
const MAX_ANSWER: usize = 4096;
/// Connection attempts per scan, 0.5 s then 1 s apart; after them the job waits for its retry.
const CONNECT_ATTEMPTS: u32 = 3;

/// Where clamd listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClamdAddr {
    Tcp(String),
    Unix(PathBuf),
}

impl ClamdAddr {
    /// A path (`/run/clamav/clamd.ctl`, or `unix:`-prefixed) is a unix socket; anything else is
    /// `host:port`.
    pub fn parse(raw: &str) -> Self {
        let raw = raw.trim();
        if let Some(path) = raw.strip_prefix("unix:") {
            ClamdAddr::Unix(PathBuf::from(path))
        } else if raw.starts_with('/') || raw.starts_with('.') {
            ClamdAddr::Unix(PathBuf::from(raw))
        } else {
            ClamdAddr::Tcp(raw.to_owned())
        }
    }
}

impl fmt::Display for ClamdAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClamdAddr::Tcp(addr) => write!(f, "{addr}"),
            ClamdAddr::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

/// Scans by streaming each file to clamd.
pub struct ClamdScanner {
    addr: ClamdAddr,
    /// How long one step may take: connecting, clamd accepting a chunk, its verdict after the
    /// last byte (`COFFER_CLAMD_TIMEOUT_SECS`).
    timeout: Duration,
}

/// Why sending the file stopped.
enum SendError {
    /// Reading the file failed (its own error, e.g. a damaged blob).
    Content(ScanError),
    /// clamd stopped taking it.
    Clamd(ScanError),
}

impl ClamdScanner {
    pub fn new(addr: ClamdAddr, timeout: Duration) -> Self {
        Self { addr, timeout }
    }

    async fn connect_once(&self) -> io::Result<Box<dyn Connection>> {
        let connecting = async {
            Ok::<Box<dyn Connection>, io::Error>(match &self.addr {
                ClamdAddr::Tcp(addr) => {
                    let stream = TcpStream::connect(addr).await?;
                    stream.set_nodelay(true)?;
                    Box::new(stream)
                }
                ClamdAddr::Unix(path) => Box::new(UnixStream::connect(path).await?),
            })
        };
        timeout(self.timeout, connecting)
            .await
            .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "timed out")))
    }

    /// Connects, trying again shortly when clamd is not there (restarting, reloading).
    async fn connect(&self) -> Result<Box<dyn Connection>, ScanError> {
        let mut delay = Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            match self.connect_once().await {
                Ok(conn) => return Ok(conn),
                Err(e) if attempt < CONNECT_ATTEMPTS => {
                    tracing::debug!(addr = %self.addr, attempt, error = %e, "clamd: connection failed, trying again");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                Err(e) => {
                    return Err(ScanError::retry(format!(
                        "clamd at {} is unreachable: {e}",
                        self.addr
                    )))
                }
            }
        }
    }

    /// One step of a conversation with clamd, within the timeout.
    async fn step<T>(
        &self,
        doing: &str,
        work: impl Future<Output = io::Result<T>>,
    ) -> Result<T, ScanError> {
        match timeout(self.timeout, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(ScanError::retry(format!(
                "clamd at {} failed while {doing}: {e}",
                self.addr
            ))),
            Err(_) => Err(ScanError::retry(format!(
                "clamd at {} did not respond within {} s while {doing}",
                self.addr,
                self.timeout.as_secs_f32()
            ))),
        }
    }

    /// Sends a one-word command (`PING`, `VERSION`) and returns the answer. One attempt: a
    /// readiness probe wants to know now.
    async fn command(&self, command: &str) -> Result<String, ScanError> {
        let mut conn = self
            .connect_once()
            .await
            .map_err(|e| ScanError::retry(format!("clamd at {} is unreachable: {e}", self.addr)))?;
        self.step(
            "sending a command",
            conn.write_all(format!("z{command}\0").as_bytes()),
        )
        .await?;
        self.step("answering a command", read_answer(&mut conn))
            .await
    }

    async fn send(
        &self,
        writer: &mut (impl AsyncWrite + Unpin),
        mut content: Content,
    ) -> Result<(), SendError> {
        let clamd = SendError::Clamd;
        self.step("starting a stream", writer.write_all(b"zINSTREAM\0"))
            .await
            .map_err(clamd)?;
        while let Some(chunk) = content.next().await {
            let chunk = chunk.map_err(SendError::Content)?;
            for piece in chunk.chunks(CHUNK) {
                let len = u32::try_from(piece.len())
                    .expect("a chunk is at most 64 KiB")
                    .to_be_bytes();
                self.step("taking the file", async {
                    writer.write_all(&len).await?;
                    writer.write_all(piece).await
                })
                .await
                .map_err(clamd)?;
            }
        }
        self.step("ending the stream", async {
            writer.write_all(&[0; 4]).await?;
            writer.flush().await
        })
        .await
        .map_err(clamd)
    }
}

#[async_trait::async_trait]
impl Scanner for ClamdScanner {
    fn name(&self) -> &'static str {
        "clamd"
    }

    /// `PING` must answer `PONG`; then `VERSION` names the engine and the signatures
    /// (`ClamAV 1.4.3/27000/…`).
    async fn check(&self) -> Result<String, ScanError> {
        let pong = self.command("PING").await?;
        if pong != "PONG" {
            return Err(ScanError::retry(format!(
                "clamd at {} answered PING with {:?}",
                self.addr,
                shorten(&pong)
            )));
        }
        self.command("VERSION").await
    }

    async fn scan(&self, content: Content) -> Result<Verdict, ScanError> {
        let conn = self.connect().await?;
        let (mut reader, mut writer) = tokio::io::split(conn);
        let answer = read_answer(&mut reader);
        tokio::pin!(answer);
        let sent = tokio::select! {
            sent = self.send(&mut writer, content) => sent,
            early = &mut answer => {
                // An answer before the whole file was sent is a refusal, never a verdict.
                return match early.map(|a| verdict(&a)) {
                    Ok(Ok(Verdict::Clean)) => Err(ScanError::retry("clamd answered OK before it had the whole file")),
                    Ok(other) => other,
                    Err(e) => Err(ScanError::retry(format!("clamd at {} hung up during the stream: {e}", self.addr))),
                };
            }
        };
        match sent {
            Ok(()) => verdict(&self.step("scanning", answer).await?),
            Err(SendError::Content(e)) => Err(e),
            Err(SendError::Clamd(e)) => {
                // clamd stopped reading: it may have said why before hanging up.
                match timeout(Duration::from_secs(1), answer).await {
                    Ok(Ok(said)) => match verdict(&said) {
                        Ok(Verdict::Clean) => Err(e),
                        other => other,
                    },
                    _ => Err(e),
                }
            }
        }
    }
}

/// Reads one NUL-terminated answer (or one ended by the connection closing).
async fn read_answer(reader: &mut (impl AsyncRead + Unpin)) -> io::Result<String> {
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            if answer.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the connection closed without an answer",
                ));
            }
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if let Some(end) = answer.iter().position(|&b| b == 0) {
            answer.truncate(end);
            break;
        }
        if answer.len() > MAX_ANSWER {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "an answer longer than clamd ever gives",
            ));
        }
    }
    Ok(String::from_utf8_lossy(&answer).trim().to_owned())
}

/// What an INSTREAM answer means. Only `stream: OK` is clean.
fn verdict(answer: &str) -> Result<Verdict, ScanError> {
    if answer == "stream: OK" {
        return Ok(Verdict::Clean);
    }
    if let Some(name) = answer
        .strip_prefix("stream: ")
        .and_then(|rest| rest.strip_suffix(" FOUND"))
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        return Ok(Verdict::Infected(name.to_owned()));
    }
    if let Some(message) = answer.strip_suffix(" ERROR") {
        let message = message.strip_prefix("stream: ").unwrap_or(message);
        if message.contains("size limit exceeded") {
            return Err(ScanError::permanent(format!(
                "the file is larger than clamd's StreamMaxLength ({message}); raise it, then rescan"
            )));
        }
        return Err(ScanError::retry(format!(
            "clamd could not scan the file: {message}"
        )));
    }
    Err(ScanError::retry(format!(
        "clamd gave an answer Coffer does not understand: {:?}",
        shorten(answer)
    )))
}

fn shorten(text: &str) -> &str {
    match text.char_indices().nth(120) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use tokio::net::TcpListener;

    fn content(bytes: &'static [u8]) -> Content {
        futures::stream::iter([Ok(Bytes::from_static(bytes))]).boxed()
    }

    #[test]
    fn only_stream_ok_is_clean() {
        assert_eq!(verdict("stream: OK"), Ok(Verdict::Clean));
        assert_eq!(
            verdict("stream: Eicar-Test-Signature FOUND"),
            Ok(Verdict::Infected("Eicar-Test-Signature".into()))
        );
        let size = verdict("INSTREAM size limit exceeded. ERROR").unwrap_err();
        assert!(
            !size.retry && size.reason.contains("StreamMaxLength"),
            "{size:?}"
        );
        for garbage in [
            "",
            "OK",
            "stream: ok",
            "stream:  FOUND",
            "stream: OK trailing",
            "PONG",
            "HTTP/1.1 400 Bad Request",
        ] {
            let e = verdict(garbage).expect_err(garbage);
            assert!(e.retry, "{garbage}: {e:?}");
        }
        assert!(
            verdict("stream: Can't allocate memory ERROR")
                .unwrap_err()
                .retry
        );
    }

    #[test]
    fn addresses_are_sockets_or_host_port() {
        assert_eq!(
            ClamdAddr::parse("/run/clamav/clamd.ctl"),
            ClamdAddr::Unix("/run/clamav/clamd.ctl".into())
        );
        assert_eq!(
            ClamdAddr::parse("unix:/tmp/c.sock"),
            ClamdAddr::Unix("/tmp/c.sock".into())
        );
        assert_eq!(
            ClamdAddr::parse(" clamav:3310 "),
            ClamdAddr::Tcp("clamav:3310".into())
        );
    }

    /// A peer on loopback that reads what it is sent and answers `reply` (or nothing) after
    /// `delay`.
    async fn peer(reply: Option<&'static [u8]>, delay: Duration) -> ClamdAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    // Read until the end-of-stream marker (or give up quietly).
                    let mut seen = Vec::new();
                    while !seen.ends_with(&[0, 0, 0, 0]) {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    tokio::time::sleep(delay).await;
                    if let Some(reply) = reply {
                        let _ = conn.write_all(reply).await;
                    }
                    tokio::time::sleep(Duration::from_secs(30)).await;
                });
            }
        });
        ClamdAddr::Tcp(addr.to_string())
    }

    fn scanner(addr: ClamdAddr) -> ClamdScanner {
        ClamdScanner::new(addr, Duration::from_millis(500))
    }

    #[tokio::test]
    async fn garbage_from_the_peer_is_an_error() {
        let addr = peer(Some(b"220 smtp.example.org ESMTP\r\n\0"), Duration::ZERO).await;
        let e = scanner(addr).scan(content(b"data")).await.unwrap_err();
        assert!(e.retry && e.reason.contains("does not understand"), "{e:?}");
    }

    #[tokio::test]
    async fn a_peer_that_never_answers_times_out_as_an_error() {
        let addr = peer(None, Duration::ZERO).await;
        let e = scanner(addr).scan(content(b"data")).await.unwrap_err();
        assert!(e.retry && e.reason.contains("did not respond"), "{e:?}");
    }

    #[tokio::test]
    async fn a_slow_ok_past_the_timeout_is_not_clean() {
        let addr = peer(Some(b"stream: OK\0"), Duration::from_secs(2)).await;
        let e = scanner(addr).scan(content(b"data")).await.unwrap_err();
        assert!(e.retry && e.reason.contains("did not respond"), "{e:?}");
    }

    #[tokio::test]
    async fn nobody_listening_is_an_error_after_retries() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        let started = std::time::Instant::now();
        let e = scanner(ClamdAddr::Tcp(addr))
            .scan(content(b"data"))
            .await
            .unwrap_err();
        assert!(e.retry && e.reason.contains("unreachable"), "{e:?}");
        // Three attempts, 0.5 s and 1 s apart.
        assert!(started.elapsed() >= Duration::from_millis(1500));
    }
}
