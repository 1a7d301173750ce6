//! What only admins do: manage accounts ([`users`]), every user's files ([`files`]), read the
//! audit log ([`audit_log`]) and the installation's numbers ([`stats`]). Every function checks
//! that the actor is an admin first, and every change is audited with the admin as its actor.

mod audit_log;
mod files;
mod stats;
mod users;

pub use audit_log::{audit_export, audit_page, AUDIT_EXPORT_BATCH};
pub use files::{delete_file, list_files, rescan_file};
pub use stats::{stats, CHART_DAYS};
pub use users::{
    delete_user, list_users, reset_two_factor, update_user, user_with_belongings, UserChanges,
    MAX_QUOTA_BYTES,
};

use crate::{
    model::Role,
    server::{
        db::users::UserRow,
        error::{Error, Result},
    },
};

pub fn is_admin(user: &UserRow) -> bool {
    user.role == Role::Admin
}

pub fn require_admin(user: &UserRow) -> Result<()> {
    if is_admin(user) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// The longest search text or filter value admins may give: an email is at most 254.
pub const MAX_FILTER_CHARS: usize = 256;

/// A filter value as given: blank means no filter; an over-long one is refused, counted as
/// given (the API's schema says so), before surrounding space is trimmed. NUL characters are
/// dropped: no stored name, email or id holds one, and PostgreSQL text cannot.
fn filter_value(name: &str, value: Option<&str>) -> Result<Option<String>> {
    if value.is_some_and(|v| v.chars().count() > MAX_FILTER_CHARS) {
        return Err(Error::Validation(format!(
            "{name} can have at most {MAX_FILTER_CHARS} characters"
        )));
    }
    let value = value.map(|v| v.replace('\0', ""));
    Ok(value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned))
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    #[test]
    fn a_filter_is_trimmed_but_its_length_is_counted_as_given() {
        assert_eq!(
            filter_value("x", Some("  bob ")).unwrap().as_deref(),
            Some("bob")
        );
        assert_eq!(filter_value("x", Some(" \r\n ")).unwrap(), None);
        assert_eq!(
            filter_value("x", Some("a\0b")).unwrap().as_deref(),
            Some("ab")
        );
        let padded = format!("bob{}", "\r".repeat(MAX_FILTER_CHARS));
        assert_eq!(
            filter_value("x", Some(&padded)).unwrap_err().code(),
            "validation_error"
        );
        let longest = "é".repeat(MAX_FILTER_CHARS);
        assert!(filter_value("x", Some(&longest)).unwrap().is_some());
    }
}
