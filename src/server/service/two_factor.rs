//! Two-factor authentication: TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of
//! clock skew either way) and one-time recovery codes.
//!
//! - Enrolment makes a secret, sealed by the master key; only a valid first code switches it on,
//!   and that also makes ten recovery codes, shown once and stored as SHA-256.
//! - A code is accepted at most once: the highest accepted time step is stored, and a code of
//!   that step or an earlier one is refused, by one conditional UPDATE.
//! - Codes tried are limited per account and failures are audited; switching 2FA on or off ends
//!   the user's other sessions.

use rand::seq::SliceRandom;
use totp_rs::{Algorithm, Secret, Totp};

use crate::{
    model::TotpSetup,
    server::{
        db::{self, two_factor::TotpRow, users::UserRow},
        error::{Error, Result},
        qr,
        service::{
            accounts::{self, CurrentSession, SignedIn},
            audit::{action, Action, Event},
            key_rotation,
            rate_limits::{self, Bucket, Counted},
            secret_tokens, RequestMeta,
        },
        state::AppState,
    },
};
use coffer_crypto::{keyring::TOTP_PURPOSE, Binding, WrappedKey};

const ISSUER: &str = "Coffer";
const STEP_SECS: u64 = 30;
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Unambiguous lower-case letters and digits (no 0/o, 1/l/i): 31 symbols, 16 of them ≈ 79 bits.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
const RECOVERY_CODE_LEN: usize = 16;

/// Which second factor a login used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Factor {
    Totp,
    RecoveryCode,
}

fn totp(secret: &[u8], account: &str) -> Result<Totp> {
    // A ':' would break the otpauth label; the email is only shown in the app.
    let account: String = account.chars().filter(|c| *c != ':').collect();
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECS)
        .with_secret(secret.to_vec())
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()
        .map_err(|e| Error::internal("totp", e))
}

fn unix_now(state: &AppState) -> u64 {
    state.now().max(0) as u64
}

fn setup_for(totp: &Totp) -> Result<TotpSetup> {
    let otpauth_url = totp.to_url().map_err(|e| Error::internal("totp url", e))?;
    Ok(TotpSetup {
        secret: totp.secret().to_base32(),
        qr_code: qr::data_url(&otpauth_url, 220)?,
        otpauth_url,
    })
}

/// The user's TOTP secret, opened.
fn open_secret(state: &AppState, row: &TotpRow) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let wrapped = WrappedKey {
        master_key_id: row.master_key_id.clone(),
        sealed: row.secret.clone(),
    };
    state
        .keys()
        .open(Binding::row(TOTP_PURPOSE, &row.user_id), &wrapped)
        .map_err(|e| Error::internal("opening a TOTP secret", e))
}

/// Where a user's enrolment stands, for the settings page: on or off, an enrolment waiting for
/// its first code (shown again until it gets one), and how many recovery codes are left.
pub struct Status {
    pub enabled: bool,
    pub pending: Option<TotpSetup>,
    pub recovery_codes_left: u64,
}

pub async fn status(state: &AppState, user: &UserRow) -> Result<Status> {
    let pool = &state.db().pool;
    let row = db::two_factor::find(pool, &user.id).await?;
    let pending = match &row {
        Some(row) if !row.is_enabled() => {
            Some(setup_for(&totp(&open_secret(state, row)?, &user.email)?)?)
        }
        _ => None,
    };
    Ok(Status {
        enabled: row.as_ref().is_some_and(TotpRow::is_enabled),
        pending,
        recovery_codes_left: db::two_factor::unused_recovery_codes(pool, &user.id).await? as u64,
    })
}

/// Starts enrolment with a new secret (replacing one still waiting for its first code). 2FA
/// stays off until [`enable`] gets a valid code. Needs the current password.
pub async fn begin_enrolment(
    state: &AppState,
    user: &UserRow,
    current_password: String,
    meta: &RequestMeta,
) -> Result<TotpSetup> {
    if user.has_two_factor() {
        return Err(Error::TwoFactorAlreadyOn);
    }
    accounts::confirm_password(state, user, current_password, meta).await?;
    let secret = Secret::generate();
    let sealed = key_rotation::sealing_ring(state)
        .await?
        .seal(Binding::row(TOTP_PURPOSE, &user.id), secret.as_ref());
    let row = TotpRow {
        user_id: user.id.clone(),
        master_key_id: sealed.master_key_id,
        secret: sealed.sealed,
        enabled_at: None,
        last_step: None,
        created_at: state.now(),
        failed_codes: 0,
        locked_until: None,
    };
    if !db::two_factor::start_enrolment(&state.db().pool, &row).await? {
        return Err(Error::TwoFactorAlreadyOn);
    }
    record(state, meta, user, action::TWO_FACTOR_SETUP, None).await;
    setup_for(&totp(secret.as_ref(), &user.email)?)
}

/// Switches 2FA on with the current password and the first code from the user's app; returns
/// the recovery codes, which exist in plain text only in this answer. Ends the user's other
/// sessions.
pub async fn enable(
    state: &AppState,
    user: &UserRow,
    current_password: String,
    code: &str,
    current: CurrentSession<'_>,
    meta: &RequestMeta,
) -> Result<Vec<String>> {
    let pool = &state.db().pool;
    let row = match db::two_factor::find(pool, &user.id).await? {
        None => return Err(Error::TwoFactorNotStarted),
        Some(row) if row.is_enabled() => return Err(Error::TwoFactorAlreadyOn),
        Some(row) => row,
    };
    accounts::confirm_password(state, user, current_password, meta).await?;
    let counted = before_code(state, user, &row).await?;
    let Some(step) =
        totp(&open_secret(state, &row)?, &user.email)?.check(code.trim(), unix_now(state))
    else {
        code_failed(state, meta, user, "enrolment").await?;
        return Err(Error::BadCode);
    };
    let (codes, hashes) = new_recovery_codes(&user.id);
    if !db::two_factor::enable(pool, &user.id, step as i64, state.now(), &hashes).await? {
        return Err(Error::TwoFactorNotStarted);
    }
    code_accepted(state, user, counted).await?;
    accounts::end_other_sessions(state, &user.id, current).await?;
    record(state, meta, user, action::TWO_FACTOR_ENABLED, None).await;
    Ok(codes)
}

/// Switches 2FA off; needs the current password and a current code (or a recovery code, for
/// someone who lost the app). Ends the user's other sessions.
pub async fn disable(
    state: &AppState,
    user: &UserRow,
    current_password: String,
    code: &str,
    current: CurrentSession<'_>,
    meta: &RequestMeta,
) -> Result<()> {
    if !user.has_two_factor() {
        return Err(Error::TwoFactorOff);
    }
    accounts::confirm_password(state, user, current_password, meta).await?;
    if check_code(state, user, code, meta).await?.is_none() {
        return Err(Error::BadCode);
    }
    if !db::two_factor::disable(&state.db().pool, &user.id).await? {
        return Err(Error::TwoFactorOff);
    }
    accounts::end_other_sessions(state, &user.id, current).await?;
    record(state, meta, user, action::TWO_FACTOR_DISABLED, None).await;
    Ok(())
}

/// A fresh set of recovery codes in place of the old ones (used or not); needs the current
/// password and a current code. The codes exist in plain text only in this answer.
pub async fn renew_recovery_codes(
    state: &AppState,
    user: &UserRow,
    current_password: String,
    code: &str,
    meta: &RequestMeta,
) -> Result<Vec<String>> {
    if !user.has_two_factor() {
        return Err(Error::TwoFactorOff);
    }
    accounts::confirm_password(state, user, current_password, meta).await?;
    if check_code(state, user, code, meta).await?.is_none() {
        return Err(Error::BadCode);
    }
    let (codes, hashes) = new_recovery_codes(&user.id);
    if !db::two_factor::replace_recovery_codes(&state.db().pool, &user.id, &hashes).await? {
        return Err(Error::TwoFactorOff);
    }
    record(state, meta, user, action::RECOVERY_CODES_RENEWED, None).await;
    Ok(codes)
}

/// Completes a login whose password was right: a user without 2FA needs no code; one with it
/// needs a valid one (401 `totp_required` without, `invalid_totp` when wrong or spent).
pub async fn complete_login(
    state: &AppState,
    user: UserRow,
    code: Option<&str>,
    meta: &RequestMeta,
) -> Result<SignedIn> {
    if !user.has_two_factor() {
        return Ok(SignedIn::new(user, "password"));
    }
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    let Some(code) = code else {
        return Err(Error::TotpRequired);
    };
    match check_code(state, &user, code, meta).await? {
        Some(Factor::Totp) => Ok(SignedIn::new(user, "password+totp")),
        Some(Factor::RecoveryCode) => Ok(SignedIn::new(user, "password+recovery_code")),
        None => Err(Error::InvalidTotp),
    }
}

/// Checks a TOTP code (six digits) or a recovery code for a user with 2FA on, spending it if
/// valid. `None`: wrong, replayed or spent (audited, and counted towards the lock).
async fn check_code(
    state: &AppState,
    user: &UserRow,
    code: &str,
    meta: &RequestMeta,
) -> Result<Option<Factor>> {
    let pool = &state.db().pool;
    let row = db::two_factor::find(pool, &user.id)
        .await?
        .filter(TotpRow::is_enabled)
        .ok_or(Error::TwoFactorOff)?;
    let counted = before_code(state, user, &row).await?;
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let factor = if digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()) {
        let step = totp(&open_secret(state, &row)?, &user.email)?.check(&digits, unix_now(state));
        match step {
            Some(step) if db::two_factor::accept_step(pool, &user.id, step as i64).await? => {
                Some(Factor::Totp)
            }
            _ => None,
        }
    } else {
        let hash = recovery_code_hash(&user.id, code);
        db::two_factor::use_recovery_code(pool, &user.id, &hash, state.now())
            .await?
            .then_some(Factor::RecoveryCode)
    };
    match factor {
        Some(factor) => {
            code_accepted(state, user, counted).await?;
            if factor == Factor::RecoveryCode {
                record(state, meta, user, action::RECOVERY_CODE_USED, None).await;
            }
        }
        None => code_failed(state, meta, user, "code").await?,
    }
    Ok(factor)
}

/// Wrong codes in a row that lock the code step, and for how long.
const LOCK_AFTER_FAILURES: i64 = 10;
const LOCK_SECS: i64 = 15 * 60;

/// Before a code is checked: refused while the code step is locked, and wrong codes limited
/// per minute (whatever the login limit says; counted now, forgiven if the code was right).
async fn before_code(state: &AppState, user: &UserRow, row: &TotpRow) -> Result<Counted> {
    let now = state.now();
    if let Some(until) = row.locked_until.filter(|until| *until > now) {
        return Err(Error::TwoFactorLocked {
            retry_after_secs: (until - now) as u64,
        });
    }
    rate_limits::hit(state, Bucket::TwoFactorPerAccount, &user.id).await
}

/// A right code: it was no failure, and it ends a run of wrong ones.
async fn code_accepted(state: &AppState, user: &UserRow, counted: Counted) -> Result<()> {
    rate_limits::forgive(state, Bucket::TwoFactorPerAccount, &user.id, counted).await;
    Ok(db::two_factor::code_accepted(&state.db().pool, &user.id).await?)
}

/// Records a wrong code (audited); the tenth in a row locks the code step (audited too).
async fn code_failed(
    state: &AppState,
    meta: &RequestMeta,
    user: &UserRow,
    during: &str,
) -> Result<()> {
    record(state, meta, user, action::TWO_FACTOR_FAILED, Some(during)).await;
    let until = state.now() + LOCK_SECS;
    let locked =
        db::two_factor::code_failed(&state.db().pool, &user.id, LOCK_AFTER_FAILURES, until).await?;
    if locked {
        let detail = format!("{LOCK_AFTER_FAILURES} wrong codes in a row; locked until {until}");
        record(state, meta, user, action::TWO_FACTOR_LOCKED, Some(&detail)).await;
    }
    Ok(())
}

/// Ten new recovery codes, and their hashes as stored.
fn new_recovery_codes(user_id: &str) -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..RECOVERY_CODE_COUNT)
        .map(|_| new_recovery_code())
        .collect();
    let hashes = codes
        .iter()
        .map(|c| recovery_code_hash(user_id, c))
        .collect();
    (codes, hashes)
}

async fn record(
    state: &AppState,
    meta: &RequestMeta,
    user: &UserRow,
    what: Action,
    detail: Option<&str>,
) {
    Event::by(&user.id, what)
        .on(&user.id)
        .detail_opt(detail.map(str::to_owned))
        .record(state, meta)
        .await;
}

/// `abcd-efgh-jkmn-pqrs`: 16 symbols of an unambiguous alphabet, in groups of four.
fn new_recovery_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let symbols: Vec<u8> = (0..RECOVERY_CODE_LEN)
        .map(|_| {
            *RECOVERY_ALPHABET
                .choose(&mut rng)
                .expect("alphabet is not empty")
        })
        .collect();
    symbols
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// What is stored of a recovery code: SHA-256 of the user's id and the code as typed, minus
/// case, spaces and dashes.
fn recovery_code_hash(user_id: &str, code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    secret_tokens::digest(&format!("{user_id}:{normal}"))
}

/// The code an authenticator app shows at `unix` for this secret (tests and tools).
pub fn code_at(secret_base32: &str, unix: u64) -> Result<String> {
    let secret = Secret::try_from_base32(secret_base32)
        .map_err(|_| Error::Validation("not a base32 secret".into()))?;
    Ok(totp(secret.as_ref(), "x")?.generate(unix).to_string())
}

#[cfg(test)]
mod tests {
    use base64::{engine::general_purpose::STANDARD, Engine as _};

    use super::*;

    #[test]
    fn codes_follow_rfc_6238() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", truncated to 6 digits.
        let secret = Secret::from(b"12345678901234567890".to_vec()).to_base32();
        assert_eq!(code_at(&secret, 59).unwrap(), "287082");
        assert_eq!(code_at(&secret, 1_111_111_109).unwrap(), "081804");
        assert_eq!(code_at(&secret, 2_000_000_000).unwrap(), "279037");
    }

    #[test]
    fn a_code_is_good_for_one_step_either_side_only() {
        let secret = [7u8; 20];
        let t = totp(&secret, "a@example.org").unwrap();
        let now = 1_800_000_000 - 1_800_000_000 % STEP_SECS + 10;
        let step = now / STEP_SECS;
        for (offset, accepted) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let at = (now as i64 + offset * STEP_SECS as i64) as u64;
            let code = t.generate(at).to_string();
            let expected = accepted.then_some((step as i64 + offset) as u64);
            assert_eq!(t.check(&code, now), expected, "offset {offset}");
        }
    }

    #[test]
    fn recovery_codes_are_random_and_forgive_case_and_dashes() {
        let a = new_recovery_code();
        assert_ne!(a, new_recovery_code());
        assert_eq!(a.len(), 19);
        assert_eq!(a.matches('-').count(), 3);
        let typed = a.replace('-', " ").to_uppercase();
        assert_eq!(recovery_code_hash("u", &a), recovery_code_hash("u", &typed));
        assert_ne!(recovery_code_hash("u", &a), recovery_code_hash("v", &a));
    }

    #[test]
    fn the_qr_code_is_an_svg_of_the_otpauth_url() {
        let setup = setup_for(&totp(&[1u8; 20], "a:b@example.org").unwrap()).unwrap();
        assert!(setup
            .otpauth_url
            .starts_with("otpauth://totp/Coffer:ab%40example.org?"));
        assert!(setup
            .otpauth_url
            .contains(&format!("secret={}", setup.secret)));
        let svg = STANDARD
            .decode(
                setup
                    .qr_code
                    .strip_prefix("data:image/svg+xml;base64,")
                    .unwrap(),
            )
            .unwrap();
        assert!(String::from_utf8(svg).unwrap().contains("<svg"));
    }
}
