//! Two-factor sign-in (TOTP, RFC 6238) with single-use recovery codes; the challenge that makes a
//! login two steps; recent authentication for what matters; and the notices that tell a member by
//! mail about a sign-in from somewhere new and about their second factor.

use chrono::Utc;
use diesel_async::AsyncConnection;
use filmlog_domain::{Member, MemberId, SessionId};
use filmlog_persistence::sessions::{self, SessionClient};
use filmlog_persistence::{AsyncPgConnection, members, two_factor};
use secrecy::ExposeSecret;

use super::{Denied, FieldIssue, OpError, OpResult};
use crate::credentials::{
    Sealer, TokenPair, TokenService, hmac_sha256, new_refresh_token, refresh_token_hash,
};
use crate::mail as templates;
use crate::totp;

/// How long a sign-in counts as recent for what needs one.
pub const RECENT: std::time::Duration = std::time::Duration::from_secs(10 * 60);
/// How long a login challenge waits for its code.
pub const CHALLENGE_FOR: std::time::Duration = std::time::Duration::from_secs(5 * 60);
/// Wrong codes a challenge takes before it ends.
pub const CHALLENGE_ATTEMPTS: i32 = 5;

/// Seals members' TOTP keys at rest.
fn sealer(tokens: &TokenService) -> Sealer {
    Sealer::new(
        tokens.settings().jwt_secret.expose_secret().as_bytes(),
        b"filmlog two-factor keys",
        b"totp key",
    )
}

/// The stored form of a recovery code: HMAC-SHA256 under a key derived from the server's secret, so
/// a database dump alone cannot test guesses.
fn recovery_hash(tokens: &TokenService, normalised: &str) -> [u8; 32] {
    let key = hmac_sha256(
        tokens.settings().jwt_secret.expose_secret().as_bytes(),
        b"filmlog recovery codes",
    );
    hmac_sha256(&key, normalised.as_bytes())
}

fn wrong_code() -> OpError {
    OpError::Invalid(vec![FieldIssue::new(
        "/code",
        "wrong_code",
        "that code is not right: use the current code of your authenticator app, or a recovery code",
    )])
}

/// `reauthentication_required` unless `session` proved its member within [`RECENT`].
pub async fn require_recent(conn: &mut AsyncPgConnection, session: SessionId) -> OpResult<()> {
    let at = sessions::authenticated_at(conn, session)
        .await?
        .ok_or(Denied::AccountGone)?;
    let recent = chrono::Duration::from_std(RECENT).map_err(OpError::internal)?;
    if Utc::now() - at > recent {
        return Err(Denied::ReauthenticationRequired.into());
    }
    Ok(())
}

/// Whether `code` is the member's: a current TOTP code not used before (`pending`: also for a key
/// waiting for its first code), or, once the factor is on, an unspent recovery code (spent now).
/// Inside the caller's transaction, with the key locked.
async fn code_is_right(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    member: MemberId,
    code: &str,
    pending: bool,
) -> OpResult<bool> {
    if code.len() > 64 {
        return Ok(false);
    }
    let Some(row) = two_factor::lock(conn, member).await? else {
        return Ok(false);
    };
    if row.enabled_at.is_none() && !pending {
        return Ok(false);
    }
    let key = sealer(tokens)
        .open(&row.secret)
        .and_then(|k| totp::from_base32(&k))
        .ok_or_else(|| OpError::internal("a two-factor key does not open"))?;
    let now = totp::step_at(u64::try_from(Utc::now().timestamp()).unwrap_or_default());
    let after = u64::try_from(row.last_step).unwrap_or_default();
    if let Some(step) = totp::matching_step(&key, code, now, after) {
        let step = i64::try_from(step).map_err(OpError::internal)?;
        two_factor::accept_step(conn, member, step).await?;
        return Ok(true);
    }
    if row.enabled_at.is_some()
        && let Some(normalised) = totp::normalise_recovery_code(code)
    {
        let hash = recovery_hash(tokens, &normalised);
        return Ok(two_factor::spend_recovery_code(conn, member, &hash).await?);
    }
    Ok(false)
}

/// Whether the member has two-factor sign-in on, and how many recovery codes they have left.
pub async fn status(conn: &mut AsyncPgConnection, member: MemberId) -> OpResult<(bool, i64)> {
    let on = two_factor::enabled(conn, member).await?;
    let left = if on {
        two_factor::recovery_codes_left(conn, member).await?
    } else {
        0
    };
    Ok((on, left))
}

/// A key waiting for its first code, as an authenticator app takes it.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// Base32, for typing in by hand.
    pub key: String,
    /// `otpauth://totp/Filmlog:<username>?secret=…`
    pub uri: String,
}

/// Starts an enrolment (replacing one that waited): a new key, off until [`confirm`] gets a code
/// from it. `two_factor_enabled` when it is on already.
pub async fn begin(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    member: &Member,
) -> OpResult<Enrolment> {
    let key = totp::new_key();
    let sealed = sealer(tokens)
        .seal(&totp::base32(&key))
        .ok_or_else(|| OpError::internal("a two-factor key could not be sealed"))?;
    if !two_factor::begin(conn, member.id, &sealed).await? {
        return Err(Denied::TwoFactorOn.into());
    }
    Ok(Enrolment {
        key: totp::base32(&key),
        uri: totp::otpauth_uri("Filmlog", &member.username, &key),
    })
}

/// Turns two-factor sign-in on with a first code from the new key; the recovery codes, shown once.
pub async fn confirm(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    member: MemberId,
    code: &str,
) -> OpResult<Vec<String>> {
    conn.transaction(async |conn| {
        if two_factor::enabled(conn, member).await? {
            return Err(Denied::TwoFactorOn.into());
        }
        if !code_is_right(conn, tokens, member, code, true).await? {
            // No key waiting is the same answer as a wrong code for it.
            return Err(wrong_code());
        }
        let codes = new_codes(conn, tokens, member).await?;
        tell(conn, member, |name| {
            templates::two_factor_changed(name, true)
        })
        .await?;
        Ok(codes)
    })
    .await
}

async fn new_codes(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    member: MemberId,
) -> OpResult<Vec<String>> {
    let codes = totp::new_recovery_codes();
    let hashes: Vec<[u8; 32]> = codes
        .iter()
        .filter_map(|c| totp::normalise_recovery_code(c))
        .map(|c| recovery_hash(tokens, &c))
        .collect();
    two_factor::replace_recovery_codes(conn, member, &hashes).await?;
    Ok(codes)
}

/// Turns two-factor sign-in off, with a code (or a recovery code).
pub async fn disable(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    member: MemberId,
    code: &str,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        if !two_factor::enabled(conn, member).await? {
            return Err(Denied::TwoFactorOff.into());
        }
        if !code_is_right(conn, tokens, member, code, false).await? {
            return Err(wrong_code());
        }
        two_factor::remove(conn, member).await?;
        tell(conn, member, |name| {
            templates::two_factor_changed(name, false)
        })
        .await?;
        Ok(())
    })
    .await
}

/// New recovery codes (the old ones stop working), with a code.
pub async fn regenerate(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    member: MemberId,
    code: &str,
) -> OpResult<Vec<String>> {
    conn.transaction(async |conn| {
        if !two_factor::enabled(conn, member).await? {
            return Err(Denied::TwoFactorOff.into());
        }
        if !code_is_right(conn, tokens, member, code, false).await? {
            return Err(wrong_code());
        }
        new_codes(conn, tokens, member).await
    })
    .await
}

/// Marks the session as having proved its member just now, once a second factor (when the member has
/// one) was given as `code`; the caller checked the password.
pub async fn reauthenticate(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    member: MemberId,
    session: SessionId,
    code: Option<&str>,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        if two_factor::enabled(conn, member).await? {
            let Some(code) = code else {
                return Err(OpError::Invalid(vec![FieldIssue::new(
                    "/code",
                    "code_required",
                    "your account signs in with a second factor: send its code",
                )]));
            };
            if !code_is_right(conn, tokens, member, code, false).await? {
                return Err(wrong_code());
            }
        }
        sessions::reauthenticated(conn, session).await?;
        Ok(())
    })
    .await
}

/// Whether the member needs a second factor to sign in.
pub async fn needed(conn: &mut AsyncPgConnection, member: MemberId) -> OpResult<bool> {
    Ok(two_factor::enabled(conn, member).await?)
}

/// Starts the second step of a login whose password was right: the challenge to answer with a code.
pub async fn challenge(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    client: &SessionClient,
) -> OpResult<String> {
    let challenge = new_refresh_token();
    let expires =
        Utc::now() + chrono::Duration::from_std(CHALLENGE_FOR).map_err(OpError::internal)?;
    two_factor::insert_challenge(
        conn,
        &refresh_token_hash(&challenge),
        member,
        expires,
        client,
    )
    .await?;
    Ok(challenge)
}

/// The member a live challenge is for (to throttle their codes before checking one).
pub async fn challenge_member(
    conn: &mut AsyncPgConnection,
    challenge: &str,
) -> OpResult<Option<MemberId>> {
    if challenge.is_empty() || challenge.len() > 128 {
        return Ok(None);
    }
    let hash = refresh_token_hash(challenge);
    conn.transaction(async |conn| {
        Ok(two_factor::lock_challenge(conn, &hash)
            .await?
            .filter(|c| c.expires_at > Utc::now())
            .map(|c| c.member_id))
    })
    .await
}

/// What answering a challenge did.
pub enum Answered {
    SignedIn(TokenPair),
    /// A wrong code (counted); the challenge ends after [`CHALLENGE_ATTEMPTS`].
    WrongCode,
    /// Unknown, expired or out of attempts: log in again.
    NoChallenge,
}

/// Answers a challenge with a code or a recovery code: the session starts (from the client the
/// password came from), and a sign-in from a client not seen before is told by mail.
pub async fn answer(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    challenge: &str,
    code: &str,
) -> OpResult<Answered> {
    if challenge.is_empty() || challenge.len() > 128 {
        return Ok(Answered::NoChallenge);
    }
    let hash = refresh_token_hash(challenge);
    conn.transaction(async |conn| {
        let Some(found) = two_factor::lock_challenge(conn, &hash).await? else {
            return Ok(Answered::NoChallenge);
        };
        if found.expires_at <= Utc::now() || found.attempts >= CHALLENGE_ATTEMPTS {
            two_factor::delete_challenge(conn, &hash).await?;
            return Ok(Answered::NoChallenge);
        }
        if !code_is_right(conn, tokens, found.member_id, code, false).await? {
            two_factor::count_attempt(conn, &hash).await?;
            return Ok(Answered::WrongCode);
        }
        two_factor::delete_challenge(conn, &hash).await?;
        let client = SessionClient {
            user_agent: found.user_agent,
            network: found.network,
        };
        tell_if_new_client(conn, found.member_id, &client).await?;
        let pair = super::accounts::session_in(conn, tokens, found.member_id, &client).await?;
        Ok(Answered::SignedIn(pair))
    })
    .await
}

/// Mails `member` a notice rendered from their username.
async fn tell(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    render: impl FnOnce(&str) -> templates::Rendered,
) -> OpResult<()> {
    let me = members::find(conn, member)
        .await?
        .ok_or(Denied::AccountGone)?;
    super::recovery::tell(conn, &me, &render(&me.username)).await
}

/// Tells `member` by mail about a sign-in from a network and user agent they never signed in from
/// before; call before the new session is written.
pub async fn tell_if_new_client(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    client: &SessionClient,
) -> OpResult<()> {
    if sessions::seen_client(conn, member, client).await? {
        return Ok(());
    }
    let at = Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    tell(conn, member, |name| {
        templates::new_sign_in(
            name,
            client.user_agent.as_deref().unwrap_or("an unnamed client"),
            client.network.as_deref().unwrap_or("an unknown network"),
            &at,
        )
    })
    .await
}
