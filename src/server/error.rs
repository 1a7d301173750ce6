//! The one error type of the service layer, and its two mappings: to an HTTP response with a
//! `{"detail","code"}` body (REST, middleware) and to the [`PageError`] a page shows.
//!
//! Variants carry what a client may know. Internal failures keep their cause (`source()`), are
//! logged once with the whole chain, inside the request's span (request id, user id), and reach
//! the client only as "internal_error", never with SQL, paths or key material.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

use crate::model::PageError;
use crate::model::{count, human_bytes};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Validation(String),
    #[error("this email address is already registered")]
    EmailTaken,
    #[error("this username is already taken")]
    UsernameTaken,
    #[error("this is the last active admin: make another account admin first")]
    LastActiveAdmin,
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("this account has been disabled")]
    AccountDisabled,
    #[error("you need to sign in")]
    Unauthenticated,
    #[error("the token is invalid or has expired")]
    InvalidToken,
    #[error("you are not allowed to do this")]
    Forbidden,
    #[error("cross-site request refused")]
    CrossSiteRequest,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the upload could not be read: {0}")]
    BadUpload(String),
    #[error("{0}")]
    FileTooLarge(String),
    #[error("this upload would pass your storage quota of {} ({} already in use); delete files or ask an admin for more room", human_bytes(*quota), human_bytes(*used))]
    QuotaExceeded { quota: u64, used: u64 },
    #[error("{0}")]
    UnsupportedType(String),
    #[error("the file is still being scanned for viruses; try again in a moment")]
    ScanPending,
    #[error("the virus scan of this file could not be completed, so it cannot be downloaded until a scan passes; failed scans are retried automatically, and an admin can rescan it")]
    ScanFailed,
    #[error("the file was found to contain malware ({0}) and cannot be downloaded")]
    Infected(String),
    #[error("the requested range is not within the file")]
    RangeNotSatisfiable { size: u64 },
    #[error("enter the code from your authenticator app, or a recovery code")]
    TotpRequired,
    #[error("that code is not right, or it was already used")]
    InvalidTotp,
    #[error("that code is not right, or it was already used")]
    BadCode,
    #[error("the sign-in took too long; enter your email and password again")]
    LoginStepExpired,
    #[error("two-factor authentication is already on")]
    TwoFactorAlreadyOn,
    #[error("start the two-factor setup first")]
    TwoFactorNotStarted,
    #[error("two-factor authentication is not on")]
    TwoFactorOff,
    #[error("this link has been revoked by its owner")]
    LinkRevoked,
    #[error("this link has expired")]
    LinkExpired,
    #[error("this link has reached its download limit")]
    DownloadLimitReached,
    #[error("this link is protected by a password; enter it to download")]
    PasswordRequired,
    #[error("that password is not right")]
    WrongPassword,
    #[error("this upload link is protected by a password; enter it to send files")]
    RequestPasswordRequired,
    #[error("this upload link has been closed by the person who made it")]
    RequestClosed,
    #[error("this upload link has expired")]
    RequestExpired,
    #[error("this upload link has received all the files it asked for")]
    RequestFull,
    /// A sender's file would pass the request owner's quota (told without the owner's figures).
    #[error("the person who asked for these files has no room left for this one; let them know")]
    OwnerQuotaExceeded,
    #[error("this file would pass the {} this upload link takes in all ({} already received or arriving)", human_bytes(*max), human_bytes(*used))]
    RequestNoRoom { max: u64, used: u64 },
    #[error("too many attempts; try again in {}", count(*retry_after_secs, "second", "seconds"))]
    RateLimited { retry_after_secs: u64 },
    /// The per-client request rate (`COFFER_RATE_REQUESTS_PER_SEC`) was passed.
    #[error("too many requests from your address; wait {} and try again", count(*retry_after_secs, "second", "seconds"))]
    TooManyRequests { retry_after_secs: u64 },
    #[error(
        "you already have {limit} uploads in progress; wait for one to finish, then try again"
    )]
    TooManyUploads { limit: usize },
    /// A sender's upload into a request found the request, or everything its owner receives,
    /// at its cap of uploads at once.
    #[error("whoever asked for these files is receiving {limit} uploads at once already; wait for one to finish, then try again")]
    RecipientBusy { limit: usize },
    #[error("the server is busy with other uploads; try again in a few seconds")]
    ServerBusy,
    #[error("the request body is larger than {} (files go through an upload)", human_bytes(*limit))]
    BodyTooLarge { limit: u64 },
    /// A resumable upload's request sent bytes from another offset than the upload is at.
    #[error("the upload has {received} bytes; send the bytes from there on (HEAD tells where an upload is)")]
    UploadOffsetMismatch { received: u64 },
    #[error("another request is writing to this upload; try again once it has finished")]
    UploadBusy,
    #[error("this upload has expired: unfinished uploads are kept for {hours} hours after their last bytes; start it again")]
    UploadExpired { hours: u64 },
    #[error("this upload is complete: the file is in your files, delete it there")]
    UploadComplete,
    /// The `Upload-Checksum` of a resumable upload's request did not match its body.
    #[error("the request's bytes do not match its Upload-Checksum; they were discarded, send them again")]
    ChecksumMismatch,
    /// A tus request of another protocol version than 1.0.0.
    #[error("this server speaks tus 1.0.0: send Tus-Resumable: 1.0.0")]
    TusVersion,
    #[error("too many wrong codes: the code step of sign-in is locked for {} more minutes", retry_after_secs.div_ceil(60))]
    TwoFactorLocked { retry_after_secs: u64 },
    /// A dependency (Redis, the database) did not answer; `context` says which use of it.
    #[error("{context} unavailable")]
    Unavailable {
        context: &'static str,
        #[source]
        source: BoxError,
    },
    /// Anything else that went wrong on the server; `context` says what was being done.
    #[error("{context} failed")]
    Internal {
        context: &'static str,
        #[source]
        source: BoxError,
    },
}

/// The cause of an internal failure: any error, or a sentence where there is no error value.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl Error {
    /// An internal failure while doing `context`, caused by `source` (an error, or a message).
    pub fn internal(context: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Internal {
            context,
            source: source.into(),
        }
    }

    /// A dependency that did not answer while doing `context`.
    pub fn unavailable(context: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Unavailable {
            context,
            source: source.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::EmailTaken | Error::UsernameTaken | Error::LastActiveAdmin => {
                StatusCode::CONFLICT
            }
            Error::InvalidCredentials
            | Error::Unauthenticated
            | Error::InvalidToken
            | Error::PasswordRequired
            | Error::RequestPasswordRequired
            | Error::WrongPassword
            | Error::TotpRequired
            | Error::InvalidTotp
            | Error::LoginStepExpired => StatusCode::UNAUTHORIZED,
            Error::AccountDisabled | Error::Forbidden | Error::CrossSiteRequest => {
                StatusCode::FORBIDDEN
            }
            Error::NotFound(_) | Error::LinkRevoked => StatusCode::NOT_FOUND,
            Error::BadUpload(_)
            | Error::BadCode
            | Error::TwoFactorNotStarted
            | Error::TwoFactorOff => StatusCode::BAD_REQUEST,
            Error::TwoFactorAlreadyOn
            | Error::UploadOffsetMismatch { .. }
            | Error::UploadComplete => StatusCode::CONFLICT,
            Error::UploadBusy => StatusCode::LOCKED,
            Error::UploadExpired { .. } => StatusCode::GONE,
            Error::ChecksumMismatch => {
                // tus' checksum extension: "460 Checksum Mismatch".
                StatusCode::from_u16(460).expect("460 is a valid status code")
            }
            Error::TusVersion => StatusCode::PRECONDITION_FAILED,
            Error::FileTooLarge(_)
            | Error::QuotaExceeded { .. }
            | Error::BodyTooLarge { .. }
            | Error::RequestNoRoom { .. }
            | Error::OwnerQuotaExceeded => StatusCode::PAYLOAD_TOO_LARGE,
            Error::RequestClosed | Error::RequestExpired | Error::RequestFull => StatusCode::GONE,
            Error::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::ScanPending | Error::ScanFailed => StatusCode::CONFLICT,
            Error::Infected(_) | Error::DownloadLimitReached => StatusCode::FORBIDDEN,
            Error::LinkExpired => StatusCode::GONE,
            Error::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Error::RateLimited { .. }
            | Error::TwoFactorLocked { .. }
            | Error::TooManyRequests { .. }
            | Error::TooManyUploads { .. }
            | Error::RecipientBusy { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable { .. } | Error::ServerBusy => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code; scripts match on it.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Validation(_) => "validation_error",
            Error::EmailTaken => "email_taken",
            Error::UsernameTaken => "username_taken",
            Error::LastActiveAdmin => "last_active_admin",
            Error::InvalidCredentials => "invalid_credentials",
            Error::AccountDisabled => "account_disabled",
            Error::Unauthenticated => "not_authenticated",
            Error::InvalidToken => "invalid_token",
            Error::Forbidden => "forbidden",
            Error::CrossSiteRequest => "cross_site_request",
            Error::NotFound(_) => "not_found",
            Error::BadUpload(_) => "bad_upload",
            Error::FileTooLarge(_) => "file_too_large",
            Error::QuotaExceeded { .. } | Error::OwnerQuotaExceeded => "quota_exceeded",
            Error::UnsupportedType(_) => "unsupported_type",
            Error::ScanPending => "scan_pending",
            Error::ScanFailed => "scan_error",
            Error::Infected(_) => "file_infected",
            Error::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            Error::TotpRequired => "totp_required",
            Error::LoginStepExpired => "login_expired",
            Error::InvalidTotp => "invalid_totp",
            Error::BadCode => "invalid_code",
            Error::TwoFactorAlreadyOn => "two_factor_enabled",
            Error::TwoFactorNotStarted => "two_factor_not_started",
            Error::TwoFactorOff => "two_factor_disabled",
            Error::LinkRevoked => "link_revoked",
            Error::LinkExpired => "link_expired",
            Error::DownloadLimitReached => "download_limit_reached",
            Error::PasswordRequired => "password_required",
            Error::WrongPassword => "wrong_password",
            Error::RequestPasswordRequired => "password_required",
            Error::RequestClosed => "request_closed",
            Error::RequestExpired => "request_expired",
            Error::RequestFull => "request_full",
            Error::RequestNoRoom { .. } => "request_limit_exceeded",
            Error::RateLimited { .. } => "rate_limited",
            Error::TooManyRequests { .. } => "too_many_requests",
            Error::TooManyUploads { .. } => "too_many_uploads",
            Error::RecipientBusy { .. } => "recipient_busy",
            Error::ServerBusy => "server_busy",
            Error::BodyTooLarge { .. } => "body_too_large",
            Error::TwoFactorLocked { .. } => "two_factor_locked",
            Error::UploadOffsetMismatch { .. } => "upload_offset_mismatch",
            Error::UploadBusy => "upload_locked",
            Error::UploadExpired { .. } => "upload_expired",
            Error::UploadComplete => "upload_complete",
            Error::ChecksumMismatch => "checksum_mismatch",
            Error::TusVersion => "unsupported_tus_version",
            Error::Unavailable { .. } => "unavailable",
            Error::Internal { .. } => "internal_error",
        }
    }

    /// The sentence shown to people; internal causes stay in the log.
    pub fn detail(&self) -> String {
        match self {
            Error::Internal { .. } => {
                "Something went wrong on the server. Please try again.".into()
            }
            Error::Unavailable { .. } => "A service Coffer depends on is unavailable.".into(),
            other => {
                let text = other.to_string();
                let mut chars = text.chars();
                match chars.next() {
                    Some(first) => first.to_uppercase().chain(chars).collect(),
                    None => text,
                }
            }
        }
    }

    /// Seconds a client should wait before trying again (`Retry-After`), for refusals that pass.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after_secs }
            | Error::TwoFactorLocked { retry_after_secs }
            | Error::TooManyRequests { retry_after_secs } => Some((*retry_after_secs).max(1)),
            Error::TooManyUploads { .. } | Error::RecipientBusy { .. } | Error::ServerBusy => {
                Some(5)
            }
            _ => None,
        }
    }

    /// The error and every cause under it, outermost first: `a: b: c`.
    pub fn chain(&self) -> String {
        self.to_string() + &causes(self)
    }

    /// Logs a server-side failure, once, where it is turned into a response (the request's span
    /// adds its request id and user id). What the client caused is not logged.
    fn log(&self) {
        match self {
            Error::Internal { .. } => tracing::error!(error = %self.chain(), "internal error"),
            Error::Unavailable { .. } => {
                tracing::warn!(error = %self.chain(), "dependency unavailable")
            }
            _ => {}
        }
    }
}

/// The session store (SQL or Redis) failing: 503, like any dependency that is down.
impl From<tower_sessions::session::Error> for Error {
    fn from(e: tower_sessions::session::Error) -> Self {
        Error::unavailable("session store", e)
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::internal("database query", e)
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A sentence for people.
    pub detail: String,
    /// A stable code for programs, e.g. `invalid_credentials`.
    pub code: String,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.log();
        let body = ErrorBody {
            detail: self.detail(),
            code: self.code().to_owned(),
        };
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Error::RangeNotSatisfiable { size } = self {
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
        }
        if response.status() == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        e.log();
        PageError::new(e.code(), e.detail())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The causes under an error, each after `: `, outermost first (empty when it has none).
pub fn causes(e: &dyn std::error::Error) -> String {
    let mut text = String::new();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let e = Error::internal("database", "no such table: users at /srv/data/coffer.db");
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.detail().contains("users"));
        let page: PageError = e.into();
        assert_eq!(page.code, "internal_error");
        assert!(!page.detail.contains("/srv"));
    }

    #[test]
    fn internal_errors_keep_their_cause_chain_for_the_log() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "blobs/ab: denied");
        let e = Error::internal("storage write", io);
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(e.chain(), "storage write failed: blobs/ab: denied");
        let from_db: Error = sqlx::Error::RowNotFound.into();
        assert!(from_db.chain().starts_with("database query failed: "));
        assert_eq!(from_db.code(), "internal_error");
    }

    #[test]
    fn a_quota_refusal_names_the_quota() {
        let e = Error::QuotaExceeded {
            quota: 10 * 1024 * 1024,
            used: 9 * 1024 * 1024,
        };
        assert_eq!(e.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(e.code(), "quota_exceeded");
        assert!(
            e.detail().starts_with(
                "This upload would pass your storage quota of 10 MiB (9 MiB already in use)"
            ),
            "{}",
            e.detail()
        );
    }

    #[test]
    fn details_read_as_sentences() {
        assert_eq!(
            Error::InvalidCredentials.detail(),
            "Wrong email or password"
        );
        assert_eq!(
            Error::RateLimited {
                retry_after_secs: 7
            }
            .status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
}
