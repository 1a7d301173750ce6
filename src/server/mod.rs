//! Server-only code: configuration, state, the one error type, the HTTP front doors, the
//! service layer (every rule) and what it stands on: the repositories, encryption, the master
//! keys, blob storage, the rate limiter, the virus scanners and the metrics.

pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod master_keys;
pub mod metrics;
pub mod pace;
pub mod probe;
pub mod qr;
pub mod rate_limiter;
pub mod scanner;
pub mod service;
pub mod site_files;
pub mod startup;
pub mod state;
pub mod storage;
pub mod upload_slots;
pub mod user_agent;
