//! Scanning with a real ClamAV clamd (Debian's `clamav-daemon`, installed by `scripts/test.sh`).
//! Each test starts its own clamd on a signature database it writes: the EICAR test signature
//! and, for a random file the test generates, a signature of its own, so a verdict on that file
//! can only have come from clamd (the built-in scanner has never seen it).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use rand::RngCore;
use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;

use coffer::server::scanner::EICAR;

use crate::helpers::{audit_count, error_code, spawn_app_with, TestApp, TestUser};

/// A clamd of this test's own, on a unix socket (and on TCP when asked).
struct Clamd {
    dir: TempDir,
    child: Option<Child>,
    tcp_port: Option<u16>,
}

struct ClamdOptions {
    /// clamd's `StreamMaxLength`.
    stream_max: &'static str,
    /// Body signatures (`name`, bytes the file contains) besides EICAR's.
    signatures: Vec<(&'static str, Vec<u8>)>,
    tcp: bool,
}

impl Default for ClamdOptions {
    fn default() -> Self {
        Self {
            stream_max: "100M",
            signatures: Vec::new(),
            tcp: false,
        }
    }
}

fn clamd_binary() -> PathBuf {
    ["/usr/sbin/clamd", "/usr/bin/clamd"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("clamd is not installed: scripts/test.sh installs Debian's clamav-daemon")
}

impl Clamd {
    async fn start(options: ClamdOptions) -> Clamd {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        std::fs::create_dir(&db).unwrap();
        let mut ndb = format!("Test.EICAR.NDB:0:*:{}\n", hex::encode(EICAR));
        for (name, bytes) in &options.signatures {
            ndb.push_str(&format!("{name}:0:*:{}\n", hex::encode(bytes)));
        }
        std::fs::write(db.join("coffer-test.ndb"), ndb).unwrap();
        let tcp_port = options.tcp.then(|| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        });
        let mut conf = format!(
            "DatabaseDirectory {}\nLocalSocket {}\nForeground true\nStreamMaxLength {}\n\
             TemporaryDirectory {}\nLogFile {}\n",
            db.display(),
            dir.path().join("clamd.sock").display(),
            options.stream_max,
            dir.path().display(),
            dir.path().join("clamd.log").display(),
        );
        if let Some(port) = tcp_port {
            conf.push_str(&format!("TCPSocket {port}\nTCPAddr 127.0.0.1\n"));
        }
        std::fs::write(dir.path().join("clamd.conf"), conf).unwrap();
        let mut clamd = Clamd {
            dir,
            child: None,
            tcp_port,
        };
        clamd.run().await;
        clamd
    }

    /// Starts clamd on this database and waits until it answers.
    async fn run(&mut self) {
        let child = Command::new(clamd_binary())
            .arg("-c")
            .arg(self.dir.path().join("clamd.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("clamd starts");
        self.child = Some(child);
        for _ in 0..300 {
            if ping(&self.socket()).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(self.dir.path().join("clamd.log")).unwrap_or_default();
        panic!("clamd did not answer PING within 15 s; its log:\n{log}");
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("clamd.sock")
    }

    fn addr(&self) -> String {
        match self.tcp_port {
            Some(port) => format!("127.0.0.1:{port}"),
            None => self.socket().display().to_string(),
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("clamd runs").id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.socket());
    }
}

impl Drop for Clamd {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn ping(socket: &Path) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut conn) = tokio::net::UnixStream::connect(socket).await else {
        return false;
    };
    let mut answer = [0u8; 5];
    conn.write_all(b"zPING\0").await.is_ok()
        && conn.read_exact(&mut answer).await.is_ok()
        && &answer == b"PONG\0"
}

/// Random text (the upload rules want a `.txt` to look like text): hex digits.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len.div_ceil(2)];
    rand::thread_rng().fill_bytes(&mut bytes);
    let mut text = hex::encode(bytes).into_bytes();
    text.truncate(len);
    text
}

/// An app scanning with `clamd`, patient enough that a loaded machine (a cold CI run compiles
/// beside the tests) never turns a slow clean scan into an error.
async fn app_with_clamd(clamd: &Clamd, worker: bool) -> (TestApp, TestUser) {
    app_with_clamd_within(clamd, worker, Duration::from_secs(30)).await
}

/// An app that gives clamd only `timeout` for each step: for the tests of that timeout.
async fn app_with_clamd_within(
    clamd: &Clamd,
    worker: bool,
    timeout: Duration,
) -> (TestApp, TestUser) {
    let addr = clamd.addr();
    let app = spawn_app_with(|s| {
        s.scanning.clamd_addr = Some(addr);
        s.scanning.clamd_timeout = timeout;
        s.scanning.worker = worker;
    })
    .await;
    let admin = app.user("admin").await;
    (app, admin)
}

async fn scan_detail(app: &TestApp, id: &str) -> (String, Option<String>) {
    sqlx::query_as("SELECT scan_status, scan_detail FROM files WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap()
}

async fn job_count(app: &TestApp, id: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM scan_jobs WHERE file_id = $1")
        .bind(id)
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap()
}

/// Makes a file's retry due now instead of after its backoff.
async fn retry_now(app: &TestApp, id: &str) {
    sqlx::query("UPDATE scan_jobs SET run_after = 0 WHERE file_id = $1")
        .bind(id)
        .execute(&app.state.db().pool)
        .await
        .unwrap();
}

fn id(file: &Value) -> String {
    file["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn clamd_finds_eicar_and_its_own_signature_and_passes_clean_files() {
    // A random file only this clamd knows, by 64 bytes from its middle.
    let secret = random_bytes(300_000);
    let clamd = Clamd::start(ClamdOptions {
        signatures: vec![("Coffer.Test.Random", secret[150_000..150_064].to_vec())],
        tcp: true,
        ..Default::default()
    })
    .await;
    let (app, user) = app_with_clamd(&clamd, true).await;

    // Larger than any socket buffer: it goes to clamd in many chunks.
    let clean = random_bytes(5 * 1024 * 1024);
    let clean_file = app
        .upload_ok(&user.access, "clean.txt", clean.clone())
        .await;
    let eicar = app
        .upload_ok(&user.access, "eicar.txt", EICAR.to_vec())
        .await;
    let marked = app
        .upload_ok(&user.access, "random.txt", secret.clone())
        .await;

    assert_eq!(
        app.scanned_status(&user.access, &id(&clean_file)).await,
        "clean"
    );
    let res = app.download(&user.access, &id(&clean_file)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().as_ref(), clean.as_slice());

    assert_eq!(
        app.scanned_status(&user.access, &id(&eicar)).await,
        "infected"
    );
    let (_, detail) = scan_detail(&app, &id(&eicar)).await;
    assert_eq!(detail.as_deref(), Some("Test.EICAR.NDB.UNOFFICIAL"));

    assert_eq!(
        app.scanned_status(&user.access, &id(&marked)).await,
        "infected"
    );
    let (_, detail) = scan_detail(&app, &id(&marked)).await;
    assert_eq!(detail.as_deref(), Some("Coffer.Test.Random.UNOFFICIAL"));
    let res = app.download(&user.access, &id(&marked)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("Coffer.Test.Random"),
        "{body}"
    );

    // The audit names clamd as the scanner of every verdict.
    let details: Vec<String> = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action IN ('file.scan_clean', 'file.infected')",
    )
    .fetch_all(&app.state.db().pool)
    .await
    .unwrap();
    assert_eq!(details.len(), 3);
    assert!(
        details.iter().all(|d| d.contains("scanner=clamd")),
        "{details:?}"
    );

    // Readiness names clamd and its version.
    let ready: Value = app.get("/ready").await.json().await.unwrap();
    assert_eq!(ready["status"], "ok");
    assert_eq!(ready["checks"]["scanner"], "ok");
    assert_eq!(ready["scanner"]["name"], "clamd");
    assert!(
        ready["scanner"]["version"]
            .as_str()
            .unwrap()
            .starts_with("ClamAV "),
        "{ready}"
    );
}

#[tokio::test]
async fn a_file_over_clamds_stream_limit_is_an_error_with_that_reason_never_clean() {
    let clamd = Clamd::start(ClamdOptions {
        stream_max: "1M",
        ..Default::default()
    })
    .await;
    let (app, user) = app_with_clamd(&clamd, false).await;
    let small = app
        .upload_ok(&user.access, "small.txt", random_bytes(512 * 1024))
        .await;
    let large = app
        .upload_ok(&user.access, "large.txt", random_bytes(3 * 1024 * 1024))
        .await;
    app.run_scans().await;

    assert_eq!(scan_detail(&app, &id(&small)).await.0, "clean");
    let (status, detail) = scan_detail(&app, &id(&large)).await;
    assert_eq!(status, "error");
    let detail = detail.unwrap();
    assert!(detail.contains("StreamMaxLength"), "{detail}");
    // Retrying cannot help: no job waits, until an admin rescans.
    assert_eq!(job_count(&app, &id(&large)).await, 0);
    let res = app.download(&user.access, &id(&large)).await;
    assert_eq!(error_code(res, StatusCode::CONFLICT).await, "scan_error");
    assert_eq!(audit_count(&app, "file.scan_error").await, 1);
}

#[tokio::test]
async fn clamd_not_listening_gives_error_and_a_retry_never_clean() {
    let mut clamd = Clamd::start(ClamdOptions::default()).await;
    clamd.stop();
    let (app, user) = app_with_clamd(&clamd, false).await;
    let file = app
        .upload_ok(&user.access, "notes.txt", b"plain notes".to_vec())
        .await;
    app.run_scans().await;

    let (status, detail) = scan_detail(&app, &id(&file)).await;
    assert_eq!(status, "error");
    assert!(detail.unwrap().contains("unreachable"));
    let run_after: i64 = sqlx::query_scalar("SELECT run_after FROM scan_jobs WHERE file_id = $1")
        .bind(id(&file))
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap();
    assert!(run_after > crate::helpers::now(), "a retry is scheduled");

    // Ready, but degraded: clean files still download, uploads still queue.
    let res = app.get("/ready").await;
    assert_eq!(res.status(), StatusCode::OK);
    let ready: Value = res.json().await.unwrap();
    assert_eq!(ready["status"], "degraded");
    assert_eq!(ready["checks"]["scanner"], "unavailable");
    assert!(ready["scanner"]["error"]
        .as_str()
        .unwrap()
        .contains("unreachable"));

    // clamd comes back: the retry finds the file clean.
    clamd.run().await;
    retry_now(&app, &id(&file)).await;
    app.run_scans().await;
    assert_eq!(scan_detail(&app, &id(&file)).await.0, "clean");
}

#[tokio::test]
async fn clamd_stopped_mid_scan_gives_error_not_clean() {
    let mut clamd = Clamd::start(ClamdOptions::default()).await;
    let (app, user) = app_with_clamd(&clamd, false).await;
    let file = app
        .upload_ok(&user.access, "big.txt", random_bytes(8 * 1024 * 1024))
        .await;
    // clamd stops reading, the scan blocks mid-stream, then clamd dies under it.
    clamd.signal("-STOP");
    let scans = {
        let state = app.state.clone();
        tokio::spawn(async move { coffer::server::service::scanning::run_next(&state).await })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    clamd.stop();
    assert!(scans.await.unwrap().unwrap(), "a job ran");
    let (status, detail) = scan_detail(&app, &id(&file)).await;
    assert_eq!(status, "error", "{detail:?}");
    assert_eq!(
        job_count(&app, &id(&file)).await,
        1,
        "the job waits for its retry"
    );
}

#[tokio::test]
async fn clamd_answering_slowly_times_out_as_an_error_then_a_retry_passes() {
    let clamd = Clamd::start(ClamdOptions::default()).await;
    let (app, user) = app_with_clamd_within(&clamd, false, Duration::from_secs(2)).await;
    let file = app
        .upload_ok(&user.access, "report.txt", random_bytes(64 * 1024))
        .await;
    clamd.signal("-STOP");
    app.run_scans().await;
    let (status, detail) = scan_detail(&app, &id(&file)).await;
    assert_eq!(status, "error");
    assert!(detail.unwrap().contains("did not respond within 2 s"));
    let res = app.download(&user.access, &id(&file)).await;
    assert_eq!(error_code(res, StatusCode::CONFLICT).await, "scan_error");

    clamd.signal("-CONT");
    retry_now(&app, &id(&file)).await;
    app.run_scans().await;
    assert_eq!(scan_detail(&app, &id(&file)).await.0, "clean");
    assert_eq!(
        app.download(&user.access, &id(&file)).await.status(),
        StatusCode::OK
    );
}
