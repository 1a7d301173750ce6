//! The account rules: what the server checks and what the forms tell people before they send.

use std::ops::RangeInclusive;

pub const USERNAME_CHARS: RangeInclusive<usize> = 3..=32;
/// The characters a username may have, as an HTML `pattern`.
pub const USERNAME_PATTERN: &str = "[A-Za-z0-9_.\\-]+";
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest new password (at most 1 KiB of UTF-8).
pub const MAX_PASSWORD_CHARS: usize = 256;
/// The longest password a sign-in checks: bounds the work argon2 does on attacker-chosen input,
/// and admits every password the earlier rule (1024 bytes) let people choose.
pub const MAX_CHECKED_PASSWORD_BYTES: usize = 1024;

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
    format!("{MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters.")
}

/// The username if it follows the rules (spaces around it are refused like any other
/// character outside them), else why not.
pub fn check_username(username: &str) -> Result<String, String> {
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
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!(
            "Password must be at least {MIN_PASSWORD_CHARS} characters long"
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!(
            "Password must be at most {MAX_PASSWORD_CHARS} characters long"
        ));
    }
    Ok(())
}
