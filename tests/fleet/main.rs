//! Fleet tests: two real `coffer` processes, started with `compose.yaml`'s command and
//! environment, on one PostgreSQL, one Redis, one S3 server (SeaweedFS) and one clamd, behave as
//! one service. Run by `scripts/test.sh --only fleet`, which starts those services (and nginx)
//! and passes where they are; `cargo test` alone does not build this target (`test = false`).

#[path = "../api/client.rs"]
mod client;
mod harness;

mod backup;
mod crash;
mod deployment;
mod sharing;
mod signing_in;
mod uploads;
