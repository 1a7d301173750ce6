//! What [`App`](super::App) gives every page and component through Leptos' context, and the
//! questions they ask of it: the actions that change who is signed in, and whether the page is
//! rendered for a browser that will not load the wasm.

use leptos::prelude::*;

use crate::app::api::auth::{Login, LoginCode, Logout, Register};

/// Whether the page at `path` (a request's path, without its query) is sent without the
/// wasm: sign-in, its two-factor step and a share link's page. Most first visits land on these,
/// a share link's often on a phone, and each is plain HTML forms that work without JavaScript
/// (the `@nojs` browser tests), so a visitor there downloads and compiles no wasm at all. Reached
/// from another page by the router of a page that did load it, they are rendered by that wasm
/// like any other page.
pub fn served_without_wasm(path: &str) -> bool {
    match path.strip_prefix("/s/") {
        Some(token) => !token.is_empty() && !token.contains('/'),
        None => matches!(path, "/login" | "/login/code"),
    }
}

/// In the context of a page [`served_without_wasm`] as the server renders it.
#[derive(Clone, Copy, Debug)]
pub(super) struct WithoutWasm;

/// Whether the page being rendered is one [`served_without_wasm`]: such a page does in HTML what
/// the wasm would otherwise do for it (a share link's page reloads itself while a scan runs).
/// Only ever true on the server, so the wasm build leaves out what depends on it.
pub fn rendered_without_wasm() -> bool {
    cfg!(feature = "ssr") && use_context::<WithoutWasm>().is_some()
}

/// The actions that change who is signed in. Anything showing the current user re-reads it
/// when one of them completes.
#[derive(Clone, Copy)]
pub struct AuthActions {
    pub login: ServerAction<Login>,
    /// The second step of a login with two-factor authentication.
    pub login_code: ServerAction<LoginCode>,
    pub register: ServerAction<Register>,
    pub logout: ServerAction<Logout>,
}

impl AuthActions {
    /// Changes whenever any of the actions completes.
    pub fn version(&self) -> (usize, usize, usize, usize) {
        (
            self.login.version().get(),
            self.login_code.version().get(),
            self.register.version().get(),
            self.logout.version().get(),
        )
    }
}
