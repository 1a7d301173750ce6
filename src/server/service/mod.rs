//! Every rule of Coffer lives here: validation, authorisation, limits, audit. The page server
//! functions and the REST handlers only parse input, call these functions and map the result.

pub mod accounts;
pub mod api_tokens;
pub mod audit;
pub mod file_types;
pub mod files;
pub mod keys;
pub mod passwords;
pub mod rate_limit;
pub mod scanning;
pub mod secret_tokens;
pub mod shares;
pub mod two_factor;
pub mod web_sessions;

/// Who is asking and from where; recorded in the audit log.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}
