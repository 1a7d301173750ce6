//! Accounts as the API and the pages show them: users, roles, browser sessions, two-factor
//! enrolment.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::UnknownWord;

/// A user as the API and the pages show it (never the password hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserInfo {
    /// Opaque id (a UUID).
    pub id: String,
    pub email: String,
    pub username: String,
    pub role: Role,
    pub is_active: bool,
    pub two_factor_enabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login: Option<OffsetDateTime>,
}

impl UserInfo {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// What an account may do: an admin manages users and sees every file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

impl Role {
    /// The stored and serialised word.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    /// The role this word names, else why not, in words.
    pub fn parse(word: &str) -> Result<Self, String> {
        match word {
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            other => Err(format!("role must be \"admin\" or \"user\", not {other:?}")),
        }
    }
}

impl TryFrom<String> for Role {
    type Error = UnknownWord;

    fn try_from(word: String) -> Result<Self, UnknownWord> {
        Role::parse(&word).map_err(|_| UnknownWord(word))
    }
}

/// A two-factor enrolment waiting for its first code: the secret to scan or type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TotpSetup {
    /// The secret, base32 (what authenticator apps take when typed in).
    pub secret: String,
    /// `otpauth://totp/…`, what the QR code holds.
    pub otpauth_url: String,
    /// The QR code: a `data:image/svg+xml;base64,…` URL, drawn by the server.
    pub qr_code: String,
}

impl TotpSetup {
    /// The secret in groups of four, for typing it in by hand.
    pub fn grouped_secret(&self) -> String {
        self.secret
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A signed-in browser of the user, as the security settings list them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The user agent in words: "Chrome 156 on Linux".
    pub device: String,
    /// The browser looking at the list.
    pub current: bool,
}
