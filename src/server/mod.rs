//! Server-only code: configuration, state, the one error type, the HTTP front doors, the
//! service layer (every rule) and what it stands on: the repositories, encryption, the master
//! keys, blob storage, the rate limiter, the virus scanners and the metrics.

pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod http;
pub mod master_keys;
pub mod metrics;
pub mod pace;
pub mod probe;
pub mod rate_limit;
pub mod scanner;
pub mod service;
pub mod startup;
pub mod state;
pub mod storage;
pub mod upload_slots;
