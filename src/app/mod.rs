//! Everything the browser sees. Compiles for the server (rendering) and for wasm (hydration).

pub mod api;
pub mod components;
pub mod context;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    lazy_route,
    location::RequestUrl,
    path, Lazy, LazyRoute, SsrMode,
};

use crate::app::{
    api::auth::{Login, LoginCode, Logout, Register},
    components::header::Header,
    context::{served_without_wasm, AuthActions, WithoutWasm},
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

/// The HTML document around the app (server side only). A page [`served_without_wasm`] gets
/// no hydration scripts, and [`rendered_without_wasm`] is true for its components.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let without_wasm = use_context::<RequestUrl>()
        .and_then(|url| url.parse().ok())
        .is_some_and(|url| served_without_wasm(url.path()));
    if without_wasm {
        provide_context(WithoutWasm);
    }
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
                {(!without_wasm).then(|| view! { <HydrationScripts options/> })}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// How every page is rendered: the whole page is ready before the response starts. Out-of-order
/// streaming (Leptos' default) moves resolved content into place with a script, so without
/// JavaScript a form's error or the signed-in header would never appear; and session changes
/// made while rendering (a form error read once) are saved by the session layer only if the
/// response has not started yet.
const PAGE_RENDERING: SsrMode = SsrMode::Async;

/// Declares routes whose pages are split off the main wasm (`cargo leptos build --split`): the
/// browser fetches a page's code when it first shows that page, so the pages most first visits
/// land on (sign-in, a share link's), which stay in the main wasm, load only what they use. The
/// server renders a lazy page as any other and names the pieces it needs in
/// `<link rel="preload">`, so the browser fetches them alongside the main wasm on a first load;
/// hydration waits for them (`hydrate_from_async` in `lib.rs`).
macro_rules! lazy_pages {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        #[doc = concat!("The lazily loaded route of [`", stringify!($page), "`].")]
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    )*};
}

lazy_pages! {
    HomeRoute => HomePage,
    SecurityRoute => SecurityPage,
    WebhooksRoute => WebhooksPage,
    RegisterRoute => RegisterPage,
    FilesRoute => FilesPage,
    ShareManageRoute => ShareManagePage,
    ShareSelectedRoute => ShareSelectedPage,
    RequestsRoute => RequestsPage,
    RequestSenderRoute => RequestSenderPage,
    AdminOverviewRoute => AdminOverviewPage,
    AdminUsersRoute => AdminUsersPage,
    AdminDeleteUserRoute => AdminDeleteUserPage,
    AdminFilesRoute => AdminFilesPage,
    AdminAuditRoute => AdminAuditPage,
}

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
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Header/>
            <main class="page" id="main" tabindex="-1">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view={Lazy::<HomeRoute>::new()} ssr=PAGE_RENDERING/>
                    <Route path=path!("/login") view=LoginPage ssr=PAGE_RENDERING/>
                    <Route path=path!("/login/code") view=LoginCodePage ssr=PAGE_RENDERING/>
                    <Route
                        path=path!("/settings/security")
                        view={Lazy::<SecurityRoute>::new()}
                        ssr=PAGE_RENDERING
                    />
                    <Route
                        path=path!("/settings/webhooks")
                        view={Lazy::<WebhooksRoute>::new()}
                        ssr=PAGE_RENDERING
                    />
                    <Route
                        path=path!("/register")
                        view={Lazy::<RegisterRoute>::new()}
                        ssr=PAGE_RENDERING
                    />
                    <Route
                        path=path!("/files")
                        view={Lazy::<FilesRoute>::new()}
                        ssr=PAGE_RENDERING
                    />
                    <Route
                        path=path!("/files/:id/share")
                        view={Lazy::<ShareManageRoute>::new()}
                        ssr=PAGE_RENDERING
                    />
                    <Route
                        path=path!("/shares/new")
                        view={Lazy::<ShareSelectedRoute>::new()}
                        ssr=PAGE_RENDERING
                    />
                    <Route path=path!("/s/:token") view=RecipientPage ssr=PAGE_RENDERING/>
                    <Route
                        path=path!("/requests")
                        view={Lazy::<RequestsRoute>::new()}
                        ssr=PAGE_RENDERING
                    />
                    <Route
                        path=path!("/r/:token")
                        view={Lazy::<RequestSenderRoute>::new()}
                        ssr=PAGE_RENDERING
                    />
                    <Route
                        path=path!("/admin")
                        view={Lazy::<AdminOverviewRoute>::new()}
                        ssr=PAGE_RENDERING
                    />
                    <Route
                        path=path!("/admin/users")
                        view={Lazy::<AdminUsersRoute>::new()}
                        ssr=PAGE_RENDERING
                    />
                    <Route
                        path=path!("/admin/users/:id/delete")
                        view={Lazy::<AdminDeleteUserRoute>::new()}
                        ssr=PAGE_RENDERING
                    />
                    <Route
                        path=path!("/admin/files")
                        view={Lazy::<AdminFilesRoute>::new()}
                        ssr=PAGE_RENDERING
                    />
                    <Route
                        path=path!("/admin/audit")
                        view={Lazy::<AdminAuditRoute>::new()}
                        ssr=PAGE_RENDERING
                    />
                </Routes>
            </main>
        </Router>
    }
}

#[cfg(test)]
mod tests {
    use super::context::served_without_wasm;

    #[test]
    fn sign_in_and_share_link_pages_are_sent_without_the_wasm() {
        for path in ["/login", "/login/code", "/s/Abc123-_x"] {
            assert!(served_without_wasm(path), "{path}");
        }
        for path in [
            "/",
            "/files",
            "/register",
            "/login/other",
            "/s/",
            "/s/abc/download",
            "/settings/security",
            "/r/abc",
        ] {
            assert!(!served_without_wasm(path), "{path}");
        }
    }
}
