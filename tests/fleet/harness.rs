//! A fleet of real `coffer` processes, started the way `compose.yaml` starts them: its
//! `command` and `environment` for the `coffer-1` and `coffer-2` services, with only where the
//! other services live (PostgreSQL, Redis, S3, clamd, the listening port) and the secrets
//! replaced by the test's own. Optionally nginx in front, on `deploy/nginx.conf`.
//!
//! Each fleet has its own PostgreSQL database, Redis key prefix and folder in the bucket, so
//! fleets of different tests never see each other's data.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use base64::Engine as _;
use serde_json::Value;
use sqlx::{Connection, Executor, PgPool};
use std::process::{Child, Command};
use tempfile::TempDir;

use coffer::server::{config::StorageSettings, storage::BlobStore};

use crate::client::{checkout_file, Api};

const BIN: &str = env!("CARGO_BIN_EXE_coffer");
pub const METRICS_TOKEN: &str = "fleet-metrics-token";

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: the fleet tests run from `scripts/test.sh --only fleet`, which starts PostgreSQL, Redis, SeaweedFS, clamd and nginx for them")
    })
}

/// `compose.yaml` as JSON (PyYAML reads it: YAML anchors and merge keys included).
fn compose() -> Value {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
        ])
        .arg(checkout_file("compose.yaml"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "compose.yaml: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("compose.yaml as JSON")
}

/// The command and environment compose gives `service`.
fn compose_service(service: &str) -> (Vec<String>, BTreeMap<String, String>) {
    let compose = compose();
    let svc = &compose["services"][service];
    assert!(svc.is_object(), "compose.yaml has no service {service}");
    let command = svc["command"]
        .as_array()
        .expect("the service's command is a list")
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    let env = svc["environment"]
        .as_object()
        .expect("the service's environment is a map")
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().expect("values are strings").to_owned(),
            )
        })
        .collect();
    (command, env)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A new folder in the test bucket.
pub fn new_s3_root() -> String {
    format!("/fleet-{}/", uuid::Uuid::new_v4().simple())
}

/// A new, empty database on the test PostgreSQL server.
pub async fn fresh_database() -> String {
    let base_url = var("COFFER_TEST_POSTGRES_URL");
    let name = format!("coffer_fleet_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&base_url).await.unwrap();
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let (prefix, _) = base_url.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

pub struct Node {
    pub api: Api,
    pub port: u16,
    child: Option<Child>,
    log: PathBuf,
    data_dir: PathBuf,
}

pub struct Fleet {
    pub nodes: Vec<Node>,
    /// nginx on `deploy/nginx.conf` in front of the nodes, when asked for.
    pub proxy: Option<Api>,
    nginx: Option<Child>,
    pub database_url: String,
    pub s3_root: String,
    pub master_key: String,
    command: Vec<String>,
    env: BTreeMap<String, String>,
    dir: TempDir,
}

/// How a fleet starts.
pub struct Options {
    pub instances: usize,
    pub nginx: bool,
    /// Settings beyond compose's, for a test's purpose (a lower limit, a faster sweep).
    pub extra: Vec<(&'static str, String)>,
    /// Data to start on (a restored backup) instead of a new database, folder and key.
    pub restored: Option<Restored>,
    /// nginx's `client_max_body_size` instead of `deploy/nginx.conf`'s (a CDN's limit).
    pub proxy_body_limit: Option<&'static str>,
}

/// Where a restored backup is: its database, its folder in the bucket, its master key.
pub struct Restored {
    pub database_url: String,
    pub s3_root: String,
    pub master_key: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            instances: 2,
            nginx: false,
            extra: Vec::new(),
            restored: None,
            proxy_body_limit: None,
        }
    }
}

impl Fleet {
    pub async fn start() -> Fleet {
        Self::start_with(Options::default()).await
    }

    /// Two instances with one setting beyond compose's.
    pub async fn start_setting(name: &'static str, value: &str) -> Fleet {
        Self::start_with(Options {
            extra: vec![(name, value.to_owned())],
            ..Options::default()
        })
        .await
    }

    pub async fn start_with(options: Options) -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let (command, mut env) = compose_service("coffer-1");
        assert_eq!(
            compose_service("coffer-2"),
            (command.clone(), env.clone()),
            "the instances of compose.yaml differ"
        );
        let (database_url, s3_root, master_key) = match options.restored {
            Some(r) => (r.database_url, r.s3_root, r.master_key),
            None => {
                let mut key = [0u8; 32];
                rand::Rng::fill(&mut rand::thread_rng(), &mut key);
                (
                    fresh_database().await,
                    new_s3_root(),
                    base64::engine::general_purpose::STANDARD.encode(key),
                )
            }
        };
        let proxy_port = free_port();
        // Where the other services are, and the secrets: the test's. The rest is compose's.
        for (name, value) in [
            ("DATABASE_URL", database_url.clone()),
            ("REDIS_URL", var("COFFER_TEST_REDIS_URL")),
            ("COFFER_S3_ENDPOINT", var("COFFER_TEST_S3_ENDPOINT")),
            ("COFFER_S3_BUCKET", var("COFFER_TEST_S3_BUCKET")),
            (
                "COFFER_S3_ACCESS_KEY_ID",
                var("COFFER_TEST_S3_ACCESS_KEY_ID"),
            ),
            (
                "COFFER_S3_SECRET_ACCESS_KEY",
                var("COFFER_TEST_S3_SECRET_ACCESS_KEY"),
            ),
            ("COFFER_MASTER_KEY", master_key.clone()),
            ("CLAMD_ADDR", var("COFFER_TEST_CLAMD_ADDR")),
            ("COFFER_TRUSTED_PROXIES", "127.0.0.1".into()),
            ("COFFER_METRICS_TOKEN", METRICS_TOKEN.into()),
            (
                "COFFER_PUBLIC_URL",
                format!("http://127.0.0.1:{proxy_port}"),
            ),
        ] {
            assert!(
                env.contains_key(name),
                "compose.yaml no longer sets {name}: update the fleet harness"
            );
            env.insert(name.into(), value);
        }
        env.insert(
            "COFFER_REDIS_PREFIX".into(),
            format!("fleet-{}", uuid::Uuid::new_v4().simple()),
        );
        env.insert("COFFER_S3_ROOT".into(), s3_root.clone());
        env.insert(
            "LEPTOS_SITE_ROOT".into(),
            checkout_file("target/site").display().to_string(),
        );
        for (name, value) in options.extra {
            env.insert(name.into(), value);
        }
        for (name, value) in &env {
            assert!(
                !value.contains("${"),
                "compose.yaml's {name}={value} needs a value the fleet harness does not give"
            );
        }
        let mut fleet = Fleet {
            nodes: Vec::new(),
            proxy: None,
            nginx: None,
            database_url,
            s3_root,
            master_key,
            command,
            env,
            dir,
        };
        for i in 0..options.instances {
            let port = free_port();
            let data_dir = fleet.dir.path().join(format!("data-{i}"));
            let log = fleet.dir.path().join(format!("coffer-{i}.log"));
            fleet.nodes.push(Node {
                api: Api::new(format!("http://127.0.0.1:{port}")),
                port,
                child: None,
                log,
                data_dir,
            });
        }
        for i in 0..options.instances {
            fleet.launch(i).await;
        }
        if options.nginx {
            fleet
                .start_nginx(proxy_port, options.proxy_body_limit)
                .await;
        }
        fleet
    }

    pub fn node(&self, i: usize) -> &Api {
        &self.nodes[i].api
    }

    /// Starts instance `i` (again), and waits until it is ready.
    pub async fn launch(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .unwrap();
        let child = Command::new(BIN)
            .args(&self.command)
            .envs(&self.env)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{}", node.port))
            .env("COFFER_DATA_DIR", &node.data_dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("coffer starts");
        node.child = Some(child);
        self.wait_ready(i).await;
    }

    async fn wait_ready(&mut self, i: usize) {
        for _ in 0..300 {
            if let Some(status) = self.nodes[i].child.as_mut().unwrap().try_wait().unwrap() {
                panic!("instance {i} exited ({status}):\n{}", self.log(i));
            }
            if self.healthcheck(i).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("instance {i} not ready after 30 s:\n{}", self.log(i));
    }

    /// `coffer healthcheck` with instance `i`'s settings: what the image's HEALTHCHECK runs.
    pub async fn healthcheck(&self, i: usize) -> bool {
        let mut command = Command::new(BIN);
        command
            .arg("healthcheck")
            .envs(&self.env)
            .env(
                "LEPTOS_SITE_ADDR",
                format!("0.0.0.0:{}", self.nodes[i].port),
            )
            .env("COFFER_DATA_DIR", &self.nodes[i].data_dir)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        tokio::task::spawn_blocking(move || command.status().unwrap().success())
            .await
            .unwrap()
    }

    /// `kill -9` instance `i`.
    pub async fn kill(&mut self, i: usize) {
        let mut child = self.nodes[i].child.take().expect("running");
        child.kill().unwrap();
        let _ = exited(&mut child, Duration::from_secs(5)).await;
    }

    /// Stops instance `i` as an operator does (SIGTERM), and waits for it to exit.
    pub async fn stop(&mut self, i: usize) {
        let mut child = self.nodes[i].child.take().expect("running");
        terminate(&mut child).await;
    }

    /// Instance `i`'s log so far.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default()
    }

    /// The fleet's database, as the test reads it.
    pub async fn db(&self) -> PgPool {
        PgPool::connect(&self.database_url).await.unwrap()
    }

    /// Every object under the fleet's folder in the bucket, as Coffer's own store lists them.
    pub async fn bucket_objects(&self) -> Vec<String> {
        let store = BlobStore::connect(&StorageSettings::S3 {
            endpoint: Some(var("COFFER_TEST_S3_ENDPOINT")),
            bucket: var("COFFER_TEST_S3_BUCKET"),
            region: "us-east-1".into(),
            access_key_id: Some(var("COFFER_TEST_S3_ACCESS_KEY_ID")),
            secret_access_key: Some(var("COFFER_TEST_S3_SECRET_ACCESS_KEY")),
            root: self.s3_root.clone(),
        })
        .await
        .unwrap();
        store
            .list_keys()
            .await
            .unwrap()
            .into_iter()
            .map(|key| key.as_str().to_owned())
            .collect()
    }

    async fn start_nginx(&mut self, port: u16, body_limit: Option<&str>) {
        let nginx = var("COFFER_TEST_NGINX");
        let dir = self.dir.path().join("nginx");
        std::fs::create_dir_all(&dir).unwrap();
        let conf = std::fs::read_to_string(checkout_file("deploy/nginx.conf")).unwrap();
        let mut conf = conf.replace("listen 80;", &format!("listen 127.0.0.1:{port};"));
        for (i, node) in self.nodes.iter().enumerate() {
            let host = format!("coffer-{}:3000", i + 1);
            assert!(conf.contains(&host), "deploy/nginx.conf has no {host}");
            conf = conf.replace(&host, &format!("127.0.0.1:{}", node.port));
        }
        // A throwaway nginx keeps its files in its own directory.
        let d = dir.display();
        conf = conf.replace(
            "http {",
            &format!(
                "http {{\n    client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n    \
                 fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;"
            ),
        );
        conf = conf.replace("worker_processes auto;", "worker_processes 2;\nuser root;");
        if let Some(limit) = body_limit {
            let ours = "client_max_body_size 1g;";
            assert!(conf.contains(ours), "deploy/nginx.conf has no {ours}");
            conf = conf.replace(ours, &format!("client_max_body_size {limit};"));
        }
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        let log = std::fs::File::create(dir.join("nginx.log")).unwrap();
        let child = Command::new(nginx)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&path)
            .arg("-g")
            .arg(format!("daemon off; pid {d}/nginx.pid;"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("nginx starts");
        self.nginx = Some(child);
        let proxy = Api::new(format!("http://127.0.0.1:{port}"));
        for _ in 0..100 {
            if let Ok(res) = proxy.client.get(proxy.url("/ready")).send().await {
                if res.status().is_success() {
                    self.proxy = Some(proxy);
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "nginx not answering: {}",
            std::fs::read_to_string(dir.join("nginx.log")).unwrap_or_default()
        );
    }

    /// nginx's access log so far.
    pub fn proxy_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nginx/nginx.log")).unwrap_or_default()
    }
}

/// Stops `child` with SIGTERM, as an operator does, and asserts that it finished its requests
/// and exited cleanly within 40 s.
async fn terminate(child: &mut Child) {
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(sent.unwrap().success(), "kill -TERM {pid}");
    let status = exited(child, Duration::from_secs(40))
        .await
        .expect("stops within 40 s");
    assert!(status.success(), "coffer {pid} exited with {status}");
}

/// Waits up to `limit` for `child` to exit.
async fn exited(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    for _ in 0..limit.as_millis() / 50 {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // nginx's master stops its workers on SIGTERM; killed outright, it would leave them.
        if let Some(nginx) = &mut self.nginx {
            let pid = nginx.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let _ = nginx.wait();
        }
        for child in self.nodes.iter_mut().filter_map(|n| n.child.as_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
        // A failed test's instances' logs are in a folder about to be removed: the end of each
        // goes with the failure.
        if std::thread::panicking() {
            for i in 0..self.nodes.len() {
                let log = self.log(i);
                let lines: Vec<&str> = log.lines().collect();
                let tail = lines[lines.len().saturating_sub(40)..].join("\n");
                eprintln!("---- instance {i}: the end of its log ----\n{tail}");
            }
        }
    }
}

/// One `coffer serve` on the embedded default, as `scripts/serve.sh` runs it: SQLite, blobs
/// and the generated master key in `data_dir`, nothing else configured.
pub struct Solo {
    pub api: Api,
    child: Child,
}

impl Solo {
    pub async fn start(data_dir: &Path) -> Solo {
        let port = free_port();
        let log = data_dir.with_extension("log");
        let file = std::fs::File::create(&log).unwrap();
        let mut child = Command::new(BIN)
            .arg("serve")
            .env("COFFER_DATA_DIR", data_dir)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_SITE_ROOT", checkout_file("target/site"))
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("coffer starts");
        let api = Api::new(format!("http://127.0.0.1:{port}"));
        for _ in 0..300 {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "coffer exited ({status}): {}",
                    std::fs::read_to_string(&log).unwrap()
                );
            }
            if let Ok(res) = api.client.get(api.url("/ready")).send().await {
                if res.status().is_success() {
                    return Solo { api, child };
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "coffer not ready: {}",
            std::fs::read_to_string(&log).unwrap()
        );
    }

    /// SIGTERM, as an operator stops it.
    pub async fn stop(mut self) {
        terminate(&mut self.child).await;
    }
}
