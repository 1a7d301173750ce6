//! Every rule of Coffer lives here: validation, authorisation, limits, audit. The page server
//! functions and the REST handlers only parse input, call these functions and map the result.

pub mod accounts;
pub mod admin;
pub mod api_tokens;
pub mod audit;
pub mod file_types;
pub mod files;
pub mod key_rotation;
pub mod limits;
pub mod metrics;
pub mod passwords;
pub mod requests;
pub mod scanning;
pub mod secret_tokens;
pub mod shares;
pub mod signed_urls;
pub mod two_factor;
pub mod unlock;
pub mod web_sessions;
pub mod webhooks;

/// Who is asking and from where; recorded in the audit log.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The request's id (`X-Request-Id`), which its log lines carry too; `None` for the
    /// system's own work.
    pub request_id: Option<String>,
}

impl RequestMeta {
    /// The client's address as a rate-limit key; requests whose address is not known share one.
    pub fn client(&self) -> &str {
        self.ip.as_deref().unwrap_or("unknown")
    }
}
