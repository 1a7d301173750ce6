//! Coffer: self-hosted secure file transfer and sharing.
//!
//! `app` is what the browser sees (server-rendered, then hydrated in the browser by
//! `coffer-front`, the wasm entry point); `model` the types both sides share; `server` is
//! everything that runs only on the server.

#![recursion_limit = "256"]

pub mod app;
pub mod model;
#[cfg(feature = "ssr")]
pub mod server;
