//! Flash values: what a plain form post (JavaScript off) hands the page it redirects to, read
//! there once (an error to show, a secret made once). A visitor with a session keeps them in it.
//! A visitor without one gets them in a short-lived cookie instead, so that a failed form from a
//! client that keeps no cookies (a script trying logins) leaves no session row behind, in the
//! database or in Redis. The cookie is signed under the master keyring
//! (`service::web_sessions::seal_flash`): nobody else can put words on our pages through it.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use axum::{
    extract::{FromRequestParts, Request, State},
    http::{header, request::Parts, HeaderValue},
    middleware::Next,
    response::Response,
};
use serde_json::Value;
use tower_sessions::Session;

use crate::server::{error::Error, service::web_sessions, state::AppState};

/// How long a flash cookie lives: long enough for the redirect that follows the form.
const MAX_AGE_SECS: u32 = 120;
/// A flash that would make the cookie longer than this stays out of it (browsers keep 4 KiB).
const MAX_COOKIE_BYTES: usize = 3072;

/// The flash values of this request's cookie, and what to send back in its place.
#[derive(Clone, Default)]
struct FlashCookie(Arc<Mutex<CookieValues>>);

#[derive(Default)]
struct CookieValues {
    values: BTreeMap<String, Value>,
    /// Taken or added to: the response sends the cookie anew (or its removal).
    changed: bool,
    /// The request came with a flash cookie.
    arrived: bool,
}

/// Where a request's flash values are kept and read: its session, when it has one, else the
/// signed cookie.
pub struct Flash {
    session: Session,
    cookie: FlashCookie,
}

impl Flash {
    /// From a request's parts (the session and the cookie middleware's values).
    pub fn of(parts: &Parts) -> Result<Self, Error> {
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| Error::internal("flash", "no session layer"))?;
        let cookie = parts
            .extensions
            .get::<FlashCookie>()
            .cloned()
            .ok_or_else(|| Error::internal("flash", "no flash cookie layer"))?;
        Ok(Self { session, cookie })
    }

    /// Keeps `value` under `key` for the next page to read once. Best effort: a value that
    /// cannot be kept is only not shown.
    pub async fn keep<T: serde::Serialize>(&self, key: &str, value: &T) {
        if self.session.is_empty().await {
            match serde_json::to_value(value) {
                Ok(value) => {
                    let mut cookie = self.cookie.0.lock().expect("flash lock");
                    cookie.values.insert(key.to_owned(), value);
                    cookie.changed = true;
                }
                Err(e) => tracing::warn!(error = %e, key, "a form's outcome is not serialisable"),
            }
            return;
        }
        if let Err(e) = self.session.insert(key, value).await {
            tracing::warn!(error = %e, key, "could not keep a form's outcome for the next page");
        }
    }

    /// Reads, and forgets, what [`keep`](Self::keep) kept under `key`.
    pub async fn take<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        let from_cookie = {
            let mut cookie = self.cookie.0.lock().expect("flash lock");
            let taken = cookie.values.remove(key);
            if taken.is_some() {
                cookie.changed = true;
            }
            taken
        };
        if let Some(value) = from_cookie {
            return serde_json::from_value(value).ok();
        }
        if self.session.id().is_none() && self.session.is_empty().await {
            return None;
        }
        self.session.remove::<T>(key).await.ok().flatten()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Flash {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Flash::of(parts)
    }
}

/// The cookie's name: `__Host-` prefixed behind https, like the session's.
fn cookie_name(state: &AppState) -> &'static str {
    if state.settings().site.is_https() {
        "__Host-coffer_flash"
    } else {
        "coffer_flash"
    }
}

/// Middleware inside the session layer: reads the flash cookie (if its signature holds) into the
/// request, and after the handler sends it anew, or its removal, when its values changed.
pub async fn carry(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let name = cookie_name(&state);
    let arrived = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned());
    let values = arrived
        .as_deref()
        .and_then(|value| open(&state, value))
        .unwrap_or_default();
    let cookie = FlashCookie(Arc::new(Mutex::new(CookieValues {
        values,
        changed: false,
        arrived: arrived.is_some(),
    })));
    req.extensions_mut().insert(cookie.clone());
    let mut res = next.run(req).await;
    let set = {
        let cookie = cookie.0.lock().expect("flash lock");
        if cookie.values.is_empty() {
            // Read to the end, or a cookie that did not hold (a forged one): gone.
            (cookie.changed || cookie.arrived).then(|| format!("{name}=; Max-Age=0"))
        } else if cookie.changed {
            sealed(&state, &cookie.values)
                .map(|value| format!("{name}={value}; Max-Age={MAX_AGE_SECS}"))
        } else {
            None
        }
    };
    if let Some(set) = set {
        let secure = if state.settings().site.is_https() {
            "; Secure"
        } else {
            ""
        };
        let line = format!("{set}; Path=/; HttpOnly; SameSite=Lax{secure}");
        if let Ok(value) = HeaderValue::from_str(&line) {
            res.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    res
}

/// The values as the cookie carries them (signed: `web_sessions::seal_flash`); `None` when too
/// long for a cookie.
fn sealed(state: &AppState, values: &BTreeMap<String, Value>) -> Option<String> {
    let json = serde_json::to_vec(values).ok()?;
    let value = web_sessions::seal_flash(state, &json);
    if value.len() > MAX_COOKIE_BYTES {
        tracing::warn!(
            bytes = value.len(),
            "a form's outcome is too long for the flash cookie"
        );
        return None;
    }
    Some(value)
}

/// The values of a cookie [`sealed`] made; `None` for anything else.
fn open(state: &AppState, value: &str) -> Option<BTreeMap<String, Value>> {
    serde_json::from_slice(&web_sessions::open_flash(state, value)?).ok()
}
