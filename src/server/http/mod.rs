//! The HTTP front doors: the Leptos pages and their server functions, the REST API, the docs,
//! the probes; and the middleware stack they all sit behind.

pub mod api;
pub mod audit_csv;
pub mod client_addr;
pub mod extract;
pub mod flash;
pub mod metrics_scrape;
pub mod middleware;
pub mod probes;
pub mod request_limits;
pub mod routes;
pub mod serve;
pub mod server_fns;
pub mod session_store;
pub mod site;
pub mod transfer;
pub mod web_admin;
pub mod web_files;
pub mod web_requests;
pub mod web_shares;

use std::sync::LazyLock;

use axum::{
    body::Body,
    extract::{DefaultBodyLimit, Request, State},
    http::request::Parts,
    middleware::{from_fn, from_fn_with_state},
    response::IntoResponse,
    routing::{get, post, MethodRouter},
    Router,
};
use leptos::{nonce::Nonce, prelude::*};
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::RequestBodyTimeoutLayer,
    trace::TraceLayer,
};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::{
    app::{shell, App},
    server::{http::session_store::SessionBackend, state::AppState},
};

/// What every page render and server function finds in its Leptos context: the app state and
/// the CSP nonce chosen by `middleware::security_headers` for this request.
fn leptos_context(state: &AppState) {
    provide_context(state.clone());
    if let Some(nonce) =
        use_context::<Parts>().and_then(|parts| parts.extensions.get::<Nonce>().cloned())
    {
        provide_context(nonce);
    }
}

async fn server_fn_handler(State(state): State<AppState>, req: Request<Body>) -> impl IntoResponse {
    leptos_axum::handle_server_fns_with_context(move || leptos_context(&state), req).await
}

/// The session cookie: `__Host-` prefixed and `Secure` behind https, HttpOnly, SameSite=Lax,
/// expiring after the idle timeout.
fn session_layer(state: &AppState, store: SessionBackend) -> SessionManagerLayer<SessionBackend> {
    let settings = state.settings();
    let https = settings.site.is_https();
    let idle =
        time::Duration::try_from(settings.sessions.idle).unwrap_or(time::Duration::hours(12));
    SessionManagerLayer::new(store)
        .with_name(if https {
            "__Host-coffer_session"
        } else {
            "coffer_session"
        })
        .with_secure(https)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
}

/// The pages' routes, walked from [`App`] once per process. Leptos suppresses every resource
/// load while it walks the app, through a flag global to the process, and a page render whose
/// resource first polls while the flag is up waits forever (leptos-rs/leptos#4773). Walking once,
/// before any router exists, keeps that window away from requests even where one process runs
/// several servers (the test suites do).
static PAGE_ROUTES: LazyLock<Vec<AxumRouteListing>> = LazyLock::new(|| generate_route_list(App));

/// The routes that are neither the REST API's (`api::router`, documented in its OpenAPI
/// document) nor the pages' ([`PAGE_ROUTES`]): the probes, the pages' server functions and
/// their streaming routes. One list, so that [`route_templates`] names them too.
fn plain_routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/health", get(probes::health)),
        ("/ready", get(probes::ready)),
        ("/metrics", get(metrics_scrape::metrics)),
        ("/app/{*fn_name}", post(server_fn_handler)),
        (
            "/files/upload",
            post(web_files::upload).layer(DefaultBodyLimit::disable()),
        ),
        ("/files/{id}/download", get(web_files::download)),
        (
            "/s/{token}/download",
            get(web_shares::fetch).post(web_shares::start),
        ),
        (
            "/r/{token}/upload",
            post(web_requests::upload).layer(DefaultBodyLimit::disable()),
        ),
        ("/admin/audit.csv", get(web_admin::audit_csv)),
    ]
}

/// The template of every route the router has: the plain ones, the REST API's (its OpenAPI
/// document's paths, its document and its JSON 404) and the pages'. For tests that must cover
/// every route, such as the one that keeps tokens out of the logs.
pub fn route_templates() -> Vec<String> {
    let mut templates: Vec<String> = plain_routes()
        .into_iter()
        .map(|(path, _)| path.to_owned())
        .collect();
    templates.extend(api::route_templates());
    templates.extend(PAGE_ROUTES.iter().map(|route| route.path().to_owned()));
    templates.extend(["/docs".to_owned(), "/docs/{*rest}".to_owned()]);
    templates
}

pub fn router(state: AppState, sessions: SessionBackend) -> Router {
    let routes = PAGE_ROUTES.clone();
    let context = {
        let state = state.clone();
        move || leptos_context(&state)
    };
    let options = state.leptos_options().clone();
    let docs = SwaggerUi::new("/docs").config(Config::new(["/api/v1/openapi.json"]));

    let routes = plain_routes()
        .into_iter()
        .fold(Router::new(), |router, (path, route)| {
            router.route(path, route)
        })
        .merge(api::router())
        .merge(docs)
        .nest_service("/pkg", site::pkg_service(state.site()))
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        // Inside the session layer: a flash kept in the cookie only when there is no session.
        .layer(from_fn_with_state(state.clone(), flash::carry))
        .layer(session_layer(&state, sessions))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::reject_cross_site,
        ));
    // Around the routes, inside the client address: the per-client request rate first (a
    // refused request costs no session lookup), then the body limits.
    let routes = routes
        .layer(from_fn_with_state(state.clone(), request_limits::cap_body))
        .layer(RequestBodyTimeoutLayer::new(
            state.settings().connections.body_idle_timeout,
        ));
    let routes = match request_limits::request_rate(state.settings()) {
        Some(rate) => {
            request_limits::forget_idle_clients(&rate);
            routes.layer(request_limits::request_rate_layer(rate))
        }
        None => routes,
    };
    routes
        .layer(from_fn_with_state(state.clone(), request_limits::throttled_pages))
        .layer(from_fn_with_state(state.clone(), middleware::security_headers))
        .layer(from_fn_with_state(state.clone(), client_addr::client_address))
        // Outside everything but the request id, so refusals (429, 413) are counted too.
        .layer(from_fn(crate::server::metrics::track_requests))
        .layer(
            ServiceBuilder::new()
                .layer(from_fn_with_state(state.clone(), client_addr::proxy_request_id))
                .layer(SetRequestIdLayer::new(middleware::REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                    let request_id = req.headers().get(middleware::REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // `user_id` is filled in once the request's user is known (`accounts::find_active`).
                    // Tokens (share links, upload requests, pre-signed URLs) never reach a log line.
                    let path = routes::path_for_logs(req);
                    tracing::info_span!("request", method = %req.method(), path, request_id, client = tracing::field::Empty, user_id = tracing::field::Empty)
                }))
                .layer(PropagateRequestIdLayer::new(middleware::REQUEST_ID)),
        )
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::{route_templates, routes};

    /// The parameters of a template, by name (without a wildcard's `*`).
    fn params(template: &str) -> Vec<&str> {
        template
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|p| p.trim_start_matches('*'))
            .collect()
    }

    /// Every route of the router, each parameter filled with a value of its own: no token, nor
    /// what a catch-all caught, reaches the log line; only the parameters named as shown do.
    // The pages' routes are walked by Leptos, which wants a runtime.
    #[tokio::test]
    async fn no_route_of_the_router_logs_a_token() {
        let templates = route_templates();
        let mut with_token = Vec::new();
        for template in &templates {
            let path: Vec<String> = template
                .split('/')
                .map(
                    |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(p) => format!("VALUE-OF-{}", p.trim_start_matches('*')),
                        None => s.to_owned(),
                    },
                )
                .collect();
            let logged = routes::redact_path(template, &path.join("/"));
            for param in params(template) {
                let value = format!("VALUE-OF-{param}");
                let shown = routes::SHOWN_PARAMS.contains(&param);
                assert!(
                    !param.contains("token") || !shown,
                    "{template}: a token is never shown"
                );
                assert_eq!(
                    logged.contains(&value),
                    shown,
                    "{template} logs as {logged}"
                );
                if param.contains("token") {
                    with_token.push(template.as_str());
                }
            }
        }
        // The walk reached the routes that take a token through each of the router's parts:
        // pages, their plain routes, and the REST API.
        for expected in [
            "/s/{token}",
            "/r/{token}",
            "/s/{token}/download",
            "/r/{token}/upload",
            "/api/v1/files/shared/{token}",
            "/api/v1/r/{token}",
            "/api/v1/r/{token}/files",
            "/api/v1/files/{id}/share/{share_token}",
        ] {
            assert!(with_token.contains(&expected), "{expected} not walked");
        }
    }

    /// Each upload template is a route the router has (a typo would leave the real route
    /// under the 1 MiB cap).
    #[tokio::test]
    async fn every_upload_template_is_a_route() {
        let templates = route_templates();
        for upload in routes::UPLOADS {
            assert!(
                templates.iter().any(|t| t == upload),
                "{upload} is no route"
            );
        }
    }
}
