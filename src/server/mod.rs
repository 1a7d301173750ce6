//! Server-only code: configuration, state, the one error type, the HTTP front doors, the
//! service layer (every rule) and the repositories beneath it.

pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod http;
pub mod service;
pub mod startup;
pub mod state;
pub mod storage;
