//! The error a page sees from a server function: a machine code and a sentence for people.
//! The server maps its one service error type into this (see `server::error`); both sides see
//! it, the page in the wasm and the server function that sends it.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{detail}")]
pub struct PageError {
    pub code: String,
    pub detail: String,
}

impl PageError {
    pub fn new(code: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            detail: detail.into(),
        }
    }
}

impl FromServerFnError for PageError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        // Transport failures (network down, server restarting) reach the page in words too.
        let detail = match value {
            ServerFnErrorErr::Request(_) => {
                "Could not reach the server. Check your connection and try again.".to_owned()
            }
            ServerFnErrorErr::Args(msg) => format!("The form was not filled in correctly: {msg}"),
            ServerFnErrorErr::MissingArg(msg) => format!("A field is missing: {msg}"),
            other => format!("Something went wrong: {other}"),
        };
        Self::new("request_failed", detail)
    }
}
