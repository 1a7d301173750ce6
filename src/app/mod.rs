//! Everything the browser sees. Compiles for the server (rendering) and for wasm (hydration).

pub mod api;
pub mod components;
pub mod error;
pub mod model;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use crate::app::{
    api::auth::{Login, LoginCode, Logout, Register},
    components::header::Header,
    pages::{
        admin::{
            audit::AdminAuditPage,
            files::AdminFilesPage,
            overview::AdminOverviewPage,
            users::{AdminDeleteUserPage, AdminUsersPage},
        },
        files::FilesPage,
        home::HomePage,
        login::{LoginCodePage, LoginPage},
        not_found::NotFound,
        register::RegisterPage,
        requests::{RequestSenderPage, RequestsPage},
        security::SecurityPage,
        share::{RecipientPage, ShareManagePage, ShareSelectedPage},
        webhooks::WebhooksPage,
    },
};

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                // The build's content-hashed names when it made them (`server::http::site`).
                <HashedStylesheet options=options.clone() id="coffer"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
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

/// How every page is rendered: the whole page is ready before the response starts. Out-of-order
/// streaming (Leptos' default) moves resolved content into place with a script, so without
/// JavaScript a form's error or the signed-in header would never appear; and session changes
/// made while rendering (a form error read once) are saved by the session layer only if the
/// response has not started yet.
const PAGE_RENDERING: SsrMode = SsrMode::Async;

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(AuthActions {
        login: ServerAction::<Login>::new(),
        login_code: ServerAction::<LoginCode>::new(),
        register: ServerAction::<Register>::new(),
        logout: ServerAction::<Logout>::new(),
    });

    view! {
        <Title text="Coffer"/>
        <Router>
            <Header/>
            <main class="page">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=PAGE_RENDERING/>
                    <Route path=path!("/login") view=LoginPage ssr=PAGE_RENDERING/>
                    <Route path=path!("/login/code") view=LoginCodePage ssr=PAGE_RENDERING/>
                    <Route path=path!("/settings/security") view=SecurityPage ssr=PAGE_RENDERING/>
                    <Route path=path!("/settings/webhooks") view=WebhooksPage ssr=PAGE_RENDERING/>
                    <Route path=path!("/register") view=RegisterPage ssr=PAGE_RENDERING/>
                    <Route path=path!("/files") view=FilesPage ssr=PAGE_RENDERING/>
                    <Route path=path!("/files/:id/share") view=ShareManagePage ssr=PAGE_RENDERING/>
                    <Route path=path!("/shares/new") view=ShareSelectedPage ssr=PAGE_RENDERING/>
                    <Route path=path!("/s/:token") view=RecipientPage ssr=PAGE_RENDERING/>
                    <Route path=path!("/requests") view=RequestsPage ssr=PAGE_RENDERING/>
                    <Route path=path!("/r/:token") view=RequestSenderPage ssr=PAGE_RENDERING/>
                    <Route path=path!("/admin") view=AdminOverviewPage ssr=PAGE_RENDERING/>
                    <Route path=path!("/admin/users") view=AdminUsersPage ssr=PAGE_RENDERING/>
                    <Route path=path!("/admin/users/:id/delete") view=AdminDeleteUserPage ssr=PAGE_RENDERING/>
                    <Route path=path!("/admin/files") view=AdminFilesPage ssr=PAGE_RENDERING/>
                    <Route path=path!("/admin/audit") view=AdminAuditPage ssr=PAGE_RENDERING/>
                </Routes>
            </main>
        </Router>
    }
}
