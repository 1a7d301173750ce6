//! Server functions: the pages' front door to the service layer. Each is thin: gather the
//! request (`server::http::server_fns`), call one service function, map the outcome. Every
//! endpoint is fixed (`/app/<name>`) so tests and scripts can call it.

pub mod admin;
pub mod auth;
pub mod files;
pub mod requests;
pub mod security;
pub mod shares;
pub mod webhooks;
