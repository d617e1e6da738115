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

/// Wrong codes in a row after which codes are refused for a while (a minute, doubling up to an
/// hour): wherever they are sent, so a six-digit code cannot be guessed through any door. (A login's
/// challenge ends after five.)
pub const WRONG_CODES_LOCK: i32 = 10;
/// How long a key waits for its first code.
pub const ENROLMENT_FOR: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// What a code turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Right,
    /// Counted against the member.
    Wrong,
    /// Codes are refused for this long after too many wrong ones.
    Locked(std::time::Duration),
}

impl Code {
    /// The error to answer for a code that was not right (after the caller committed the count).
    fn refusal(self) -> OpError {
        match self {
            Code::Locked(wait) => Denied::CodesLocked(wait).into(),
            Code::Right | Code::Wrong => wrong_code(),
        }
    }

    /// `Ok` for a right code, else [`Code::refusal`].
    fn or_refuse(self) -> OpResult<()> {
        match self {
            Code::Right => Ok(()),
            other => Err(other.refusal()),
        }
    }
}

/// Whether `code` is the member's: a current TOTP code not used before (`pending`: also for a key
/// waiting for its first code, for [`ENROLMENT_FOR`]), or, once the factor is on, an unspent
/// recovery code (spent now). A wrong one is counted; after [`WRONG_CODES_LOCK`] in a row every code
/// is refused for a while. Inside the caller's transaction, with the key locked: the caller commits
/// before it answers a wrong code, so the count stays.
async fn check_code(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    member: MemberId,
    code: &str,
    pending: bool,
) -> OpResult<Code> {
    let Some(row) = two_factor::lock(conn, member).await? else {
        return Ok(Code::Wrong);
    };
    let now = Utc::now();
    if let Some(until) = row.locked_until.filter(|u| *u > now) {
        return Ok(Code::Locked((until - now).to_std().unwrap_or_default()));
    }
    let waiting_too_long = row.enabled_at.is_none()
        && (!pending
            || now - row.created_at
                > chrono::Duration::from_std(ENROLMENT_FOR).map_err(OpError::internal)?);
    if code.len() <= 64 && !waiting_too_long {
        let key = sealer(tokens)
            .open(&row.secret)
            .and_then(|k| totp::from_base32(&k))
            .ok_or_else(|| OpError::internal("a two-factor key does not open"))?;
        let step = totp::step_at(u64::try_from(now.timestamp()).unwrap_or_default());
        let after = u64::try_from(row.last_step).unwrap_or_default();
        if let Some(step) = totp::matching_step(&key, code, step, after) {
            let step = i64::try_from(step).map_err(OpError::internal)?;
            two_factor::accept_step(conn, member, step).await?;
            return Ok(Code::Right);
        }
        if row.enabled_at.is_some()
            && let Some(normalised) = totp::normalise_recovery_code(code)
            && two_factor::spend_recovery_code(conn, member, &recovery_hash(tokens, &normalised))
                .await?
        {
            two_factor::clear_failures(conn, member).await?;
            return Ok(Code::Right);
        }
    }
    two_factor::count_failure(conn, member, WRONG_CODES_LOCK).await?;
    Ok(Code::Wrong)
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
/// Every other session ends (one could be a thief's, from before the second factor).
pub async fn confirm(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    member: MemberId,
    keep: SessionId,
    code: &str,
) -> OpResult<Vec<String>> {
    let outcome = conn
        .transaction(async |conn| {
            if two_factor::enabled(conn, member).await? {
                return Err(Denied::TwoFactorOn.into());
            }
            // No key waiting is the same answer as a wrong code for it.
            let code = check_code(conn, tokens, member, code, true).await?;
            if code != Code::Right {
                return Ok(Err(code));
            }
            // Sessions from before the second factor would outlive it: they end.
            sessions::revoke_others(conn, member, keep, sessions::RevokeReason::EndedByMember)
                .await?;
            two_factor::drop_challenges(conn, member).await?;
            super::recovery::spend_links_out(conn, member).await?;
            let codes = new_codes(conn, tokens, member).await?;
            tell(conn, member, |name| {
                templates::two_factor_changed(name, true)
            })
            .await?;
            Ok::<_, OpError>(Ok(codes))
        })
        .await?;
    outcome.map_err(Code::refusal)
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
    let code = conn
        .transaction(async |conn| {
            if !two_factor::enabled(conn, member).await? {
                return Err(Denied::TwoFactorOff.into());
            }
            let code = check_code(conn, tokens, member, code, false).await?;
            if code == Code::Right {
                two_factor::remove(conn, member).await?;
                tell(conn, member, |name| {
                    templates::two_factor_changed(name, false)
                })
                .await?;
            }
            Ok::<_, OpError>(code)
        })
        .await?;
    code.or_refuse()
}

/// New recovery codes (the old ones stop working), with a code.
pub async fn regenerate(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    member: MemberId,
    code: &str,
) -> OpResult<Vec<String>> {
    let outcome = conn
        .transaction(async |conn| {
            if !two_factor::enabled(conn, member).await? {
                return Err(Denied::TwoFactorOff.into());
            }
            let code = check_code(conn, tokens, member, code, false).await?;
            if code != Code::Right {
                return Ok(Err(code));
            }
            Ok::<_, OpError>(Ok(new_codes(conn, tokens, member).await?))
        })
        .await?;
    outcome.map_err(Code::refusal)
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
    let code = conn
        .transaction(async |conn| {
            if two_factor::enabled(conn, member).await? {
                let Some(code) = code else {
                    return Err(OpError::Invalid(vec![FieldIssue::new(
                        "/code",
                        "code_required",
                        "your account signs in with a second factor: send its code",
                    )]));
                };
                let code = check_code(conn, tokens, member, code, false).await?;
                if code != Code::Right {
                    return Ok(code);
                }
            }
            sessions::reauthenticated(conn, session).await?;
            Ok::<_, OpError>(Code::Right)
        })
        .await?;
    code.or_refuse()
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
    /// Too many wrong codes for the account lately: codes are refused for this long.
    Locked(std::time::Duration),
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
        match check_code(conn, tokens, found.member_id, code, false).await? {
            Code::Right => {}
            Code::Wrong => {
                two_factor::count_attempt(conn, &hash).await?;
                return Ok(Answered::WrongCode);
            }
            Code::Locked(wait) => return Ok(Answered::Locked(wait)),
        }
        // A suspension since the password was checked stops the sign-in.
        let me = members::find(conn, found.member_id)
            .await?
            .ok_or(Denied::AccountGone)?;
        filmlog_domain::moderation::check_sign_in(me.suspended_until, Utc::now())
            .map_err(Denied::Suspended)?;
        two_factor::delete_challenge(conn, &hash).await?;
        let client = SessionClient {
            user_agent: found.user_agent,
            network: found.network,
        };
        super::recovery::tell_if_new_client(conn, found.member_id, &client).await?;
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
