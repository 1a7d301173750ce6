//! The account rules: what the server checks and what the forms tell people before they send.

use std::ops::RangeInclusive;

pub const USERNAME_CHARS: RangeInclusive<usize> = 3..=32;
/// The characters a username may have, as an HTML `pattern`.
pub const USERNAME_PATTERN: &str = "[A-Za-z0-9_.\\-]+";
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Bounds the work argon2 does on attacker-chosen input.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// What a username may be, in words.
pub fn username_hint() -> String {
    format!(
        "{} to {} characters: letters, digits, '_', '-' or '.'",
        USERNAME_CHARS.start(),
        USERNAME_CHARS.end()
    )
}

/// What a password must be, in words.
pub fn password_hint() -> String {
    format!("At least {MIN_PASSWORD_CHARS} characters.")
}

/// The trimmed username if it follows the rules, else why not.
pub fn check_username(raw: &str) -> Result<String, String> {
    let username = raw.trim();
    let plain = username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if USERNAME_CHARS.contains(&username.chars().count()) && plain {
        Ok(username.to_owned())
    } else {
        Err(format!("Username must be {}", username_hint()))
    }
}

/// Whether a new password follows the rules, else why not.
pub fn check_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "Password must be at least {MIN_PASSWORD_CHARS} characters long"
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "Password must be at most {MAX_PASSWORD_BYTES} bytes long"
        ));
    }
    Ok(())
}
