//! Password hashing with argon2id (the crate's defaults: m=19 MiB, t=2, p=1), always on a
//! blocking thread so that a burst of logins never stalls other requests.

use std::sync::LazyLock;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

use crate::server::error::{Error, Result};

/// Compared against when the account does not exist, so that "no such user" and "wrong
/// password" take the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_blocking("coffer-timing-equaliser").expect("hashing a constant cannot fail")
});

fn hash_blocking(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal("argon2 hash", e))
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

pub async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| Error::internal("argon2 task", e))?
}

/// Verifies against `hash`, or against a dummy hash when there is none (unknown account).
pub async fn verify(password: String, hash: Option<String>) -> Result<bool> {
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => verify_blocking(&password, &hash),
        None => {
            verify_blocking(&password, &DUMMY_HASH);
            false
        }
    })
    .await
    .map_err(|e| Error::internal("argon2 task", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse".into(), Some(h.clone()))
            .await
            .unwrap());
        assert!(!verify("wrong horse".into(), Some(h)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn same_password_gets_different_salts() {
        let a = hash("pw-12345678".into()).await.unwrap();
        let b = hash("pw-12345678".into()).await.unwrap();
        assert_ne!(a, b);
    }
}
