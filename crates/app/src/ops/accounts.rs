//! Accounts and sessions: registration, signing in, token refresh, password changes, profile edits.

use chrono::Utc;
use diesel_async::AsyncConnection;
use filmlog_domain::member::ProfileChange;
use filmlog_domain::{DisplayName, Email, Member, MemberId, Password, SessionId, Username};
use filmlog_persistence::members::{self, NewMember};
use filmlog_persistence::sessions::{self, RevokeReason, SessionClient};
use filmlog_persistence::{AsyncPgConnection, webhooks};

use super::{Denied, FieldIssue, OpError, OpResult};
use crate::credentials::{
    Grant, PasswordService, TokenPair, TokenService, new_refresh_token, refresh_token_hash,
};

/// Why webhooks were paused by a password change.
pub const PAUSED_PASSWORD_CHANGED: &str =
    "paused: your password changed; turn it back on with your password if you made it";
/// Why webhooks were paused by ending every other session.
pub const PAUSED_SESSIONS_ENDED: &str =
    "paused: you logged out everywhere; turn it back on with your password if you made it";

/// A registration whose every field passed its rule.
pub struct Registration {
    pub username: Username,
    pub email: Email,
    pub password: Password,
    pub display_name: Option<DisplayName>,
}

impl Registration {
    /// Every field checked; all the broken ones reported together.
    pub fn parse(
        username: &str,
        email: &str,
        password: &str,
        display_name: Option<&str>,
    ) -> OpResult<Registration> {
        let mut issues = Vec::new();
        let username = Username::parse(username)
            .map_err(|e| issues.push(FieldIssue::new("/username", "invalid_username", e)))
            .ok();
        let email = Email::parse(email)
            .map_err(|e| issues.push(FieldIssue::new("/email", "invalid_email", e)))
            .ok();
        let password = Password::parse(password)
            .map_err(|e| issues.push(FieldIssue::new("/password", "weak_password", e)))
            .ok();
        let display_name = match display_name.map(DisplayName::parse) {
            None => None,
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                issues.push(FieldIssue::new("/display_name", "invalid_display_name", e));
                None
            }
        };
        match (username, email, password) {
            (Some(username), Some(email), Some(password)) if issues.is_empty() => {
                Ok(Registration {
                    username,
                    email,
                    password,
                    display_name,
                })
            }
            _ => Err(OpError::Invalid(issues)),
        }
    }
}

/// Creates the member (its password already hashed, off this task) and its first session, and
/// queues the mail for its address: a verification link, or a notice to the member who verified that
/// address already. The answer is the same either way, so it tells no one whether an address has an
/// account.
pub async fn register(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    mail: &crate::mail::MailSettings,
    reg: &Registration,
    password_hash: &str,
    client: &SessionClient,
) -> OpResult<(Member, TokenPair)> {
    conn.transaction(async |conn| {
        let new = NewMember {
            username: reg.username.as_str(),
            email: &reg.email,
            password_hash,
        };
        let member = members::insert(conn, &new).await?;
        let member = match &reg.display_name {
            Some(name) => {
                let changes = members::MemberChanges {
                    display_name: Some(Some(name.clone().into_inner())),
                    ..Default::default()
                };
                members::update_profile(conn, member.id, &changes).await?
            }
            None => member,
        };
        super::recovery::greet_address(conn, mail, &member).await?;
        let tokens = session_in(conn, tokens, member.id, client).await?;
        Ok((member, tokens))
    })
    .await
}

/// The member a username and password name, when the password is theirs and no suspension stops
/// them: a wrong password and an unknown username answer the same, after the same work. Holds no
/// connection while the password is checked.
pub async fn check_credentials(
    passwords: &PasswordService,
    credentials: Option<(MemberId, String, Option<chrono::DateTime<Utc>>)>,
    password: &str,
) -> OpResult<MemberId> {
    let (member, hash, suspended_until) = match credentials {
        Some((id, hash, until)) => (Some(id), Some(hash), until),
        None => (None, None, None),
    };
    if !passwords.verify(password, hash).await? {
        return Err(Denied::InvalidCredentials.into());
    }
    let member = member.ok_or(Denied::InvalidCredentials)?;
    filmlog_domain::moderation::check_sign_in(suspended_until, Utc::now())
        .map_err(Denied::Suspended)?;
    Ok(member)
}

/// Starts a session for `member` (their password was right and they need no second factor): its row
/// and the hash of its first refresh token; a client the member never signed in from is told by mail.
pub async fn start_session(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    member: MemberId,
    client: &SessionClient,
) -> OpResult<TokenPair> {
    conn.transaction(async |conn| {
        super::recovery::tell_if_new_client(conn, member, client).await?;
        session_in(conn, tokens, member, client).await
    })
    .await
}

pub(crate) async fn session_in(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    member: MemberId,
    client: &SessionClient,
) -> OpResult<TokenPair> {
    let session = sessions::create(conn, member, client).await?;
    let refresh_token = new_refresh_token();
    let hash = refresh_token_hash(&refresh_token);
    sessions::insert_refresh_token(conn, session, &hash, tokens.refresh_expiry()).await?;
    tokens.pair(member, session, None, refresh_token)
}

/// Spends a refresh token for a new pair. Each works once: reusing a spent one ends its whole session
/// ([`Denied::RefreshTokenReused`]), except that a retry within the grace window gets the same
/// successor again (for a client whose response was lost). A token works only for the client it
/// was issued to: `app` is the app refreshing (`None` for first-party sign-in); a grant's new
/// access token carries the scopes granted.
pub async fn refresh(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    token: &str,
    app: Option<filmlog_domain::AppId>,
) -> OpResult<TokenPair> {
    if token.is_empty() || token.len() > 128 {
        return Err(Denied::InvalidRefreshToken.into());
    }
    let hash = refresh_token_hash(token);
    let grace = chrono::Duration::from_std(tokens.settings().refresh_grace).unwrap_or_default();
    let refreshed = conn
        .transaction(async |conn| {
            let Some(found) = sessions::lock_refresh_token(conn, &hash).await? else {
                return Err(Denied::InvalidRefreshToken.into());
            };
            let now = Utc::now();
            let grant = found.grant.map(|(app, scopes)| Grant { app, scopes });
            if found.session_revoked || found.expires_at <= now || grant.map(|g| g.app) != app {
                return Err(Denied::InvalidRefreshToken.into());
            }
            let successor = tokens.successor_of(token);
            match (found.used_at, found.replaced_by) {
                (None, _) => {
                    let next_hash = refresh_token_hash(&successor);
                    let expiry = tokens.refresh_expiry();
                    let next =
                        sessions::insert_refresh_token(conn, found.session, &next_hash, expiry)
                            .await?;
                    sessions::mark_spent(conn, &found, next, now).await?;
                    Ok(Some((found.member, found.session, grant, successor)))
                }
                (Some(used), Some(next))
                    if now - used <= grace && !sessions::is_spent(conn, next).await? =>
                {
                    Ok(Some((found.member, found.session, grant, successor)))
                }
                _ => {
                    sessions::revoke(conn, found.session, RevokeReason::RefreshTokenReused).await?;
                    Ok::<_, OpError>(None)
                }
            }
        })
        .await?;
    match refreshed {
        Some((member, session, grant, successor)) => tokens.pair(member, session, grant, successor),
        None => {
            tracing::warn!("a spent refresh token was reused; its session has been revoked");
            Err(Denied::RefreshTokenReused.into())
        }
    }
}

/// Ends every session of `member` but `keep`, and pauses their webhooks (one might have been made
/// with a stolen token).
pub async fn end_other_sessions(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    keep: SessionId,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        sessions::revoke_others(conn, member, keep, RevokeReason::EndedByMember).await?;
        webhooks::pause_all(conn, member, PAUSED_SESSIONS_ENDED).await?;
        super::recovery::spend_links_out(conn, member).await?;
        filmlog_persistence::two_factor::drop_challenges(conn, member).await?;
        Ok(())
    })
    .await
}

/// Sets a new password (hashed off this task); every other session ends, the webhooks pause, and the
/// member is told by mail.
pub async fn change_password(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    keep: SessionId,
    password_hash: &str,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        let me = members::lock(conn, member)
            .await?
            .ok_or(Denied::AccountGone)?;
        members::set_password_hash(conn, member, password_hash).await?;
        super::recovery::tell_password_changed(conn, &me, "from a signed-in session").await?;
        super::recovery::spend_links_out(conn, member).await?;
        filmlog_persistence::two_factor::drop_challenges(conn, member).await?;
        sessions::revoke_others(conn, member, keep, RevokeReason::PasswordChanged).await?;
        webhooks::pause_all(conn, member, PAUSED_PASSWORD_CHANGED).await?;
        Ok(())
    })
    .await
}

/// Applies a profile change with the member's row locked, after `precondition` accepted the current
/// row (an `If-Match`): of several writers holding the same version exactly one wins. Turning an
/// account public lets everyone who asked to follow in.
pub async fn update_profile(
    conn: &mut AsyncPgConnection,
    me: MemberId,
    change: ProfileChange,
    precondition: impl FnOnce(&Member) -> OpResult<()> + Send,
) -> OpResult<Member> {
    conn.transaction(async |conn| {
        let current = members::lock(conn, me).await?.ok_or(Denied::AccountGone)?;
        precondition(&current)?;
        if change.is_empty() {
            return Ok(current);
        }
        let turning_public = current.private_account && change.private_account == Some(false);
        let notifications = change.notifications_after(&current.notifications);
        let mut changes = members::MemberChanges::from(change);
        changes.notifications_off = notifications.map(|p| p.off_names());
        let updated = members::update_profile(conn, me, &changes).await?;
        if turning_public {
            // A public account takes followers without asking: everyone who asked follows now.
            super::social::approve_all(conn, me).await?;
            return Ok(members::find(conn, me).await?.unwrap_or(updated));
        }
        Ok(updated)
    })
    .await
}

/// Ends the session: its refresh and access tokens stop working at once. (One statement.)
pub async fn log_out(conn: &mut AsyncPgConnection, session: SessionId) -> OpResult<()> {
    sessions::revoke(conn, session, RevokeReason::Logout).await?;
    Ok(())
}

/// Ends one of the member's live sessions; 404 when none of theirs has that id. (One statement.)
pub async fn end_session(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    session: SessionId,
) -> OpResult<()> {
    if sessions::revoke_own(conn, member, session).await? {
        Ok(())
    } else {
        Err(OpError::NotFound("that session"))
    }
}

/// Deletes the account with everything it made (the database cascades, in one statement).
pub async fn delete_account(conn: &mut AsyncPgConnection, member: MemberId) -> OpResult<()> {
    members::delete(conn, member).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::AuthSettings;
    use crate::ops::fixture::Fixture;

    fn tokens(grace_secs: u64) -> TokenService {
        let key = secrecy::SecretString::from("a-test-signing-key-that-is-long-enough-0123456789");
        let mut settings = AuthSettings::new(key);
        settings.refresh_grace = std::time::Duration::from_secs(grace_secs);
        TokenService::new(settings).unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn a_refresh_token_works_once_and_its_reuse_ends_the_session() {
        let mut f = Fixture::new().await;
        let ana = f.member("ana").await;
        let tokens = tokens(0);
        let client = SessionClient::default();
        let first = start_session(&mut f.conn, &tokens, ana, &client)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let second = refresh(&mut f.conn, &tokens, &first.refresh_token, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(first.refresh_token, second.refresh_token);

        let reused = refresh(&mut f.conn, &tokens, &first.refresh_token, None).await;
        assert!(
            matches!(reused, Err(OpError::Denied(Denied::RefreshTokenReused))),
            "{reused:?}"
        );
        // The whole session ended: its newest token stops working too.
        let successor = refresh(&mut f.conn, &tokens, &second.refresh_token, None).await;
        assert!(
            matches!(successor, Err(OpError::Denied(Denied::InvalidRefreshToken))),
            "{successor:?}"
        );
        let unknown = refresh(&mut f.conn, &tokens, "no-such-token", None).await;
        assert!(matches!(
            unknown,
            Err(OpError::Denied(Denied::InvalidRefreshToken))
        ));
    }

    #[tokio::test]
    async fn a_registration_is_refused_for_a_taken_username_and_writes_all_or_nothing() {
        let mut f = Fixture::new().await;
        f.member("ana").await;
        let tokens = tokens(10);
        let reg = Registration::parse("ANA", "other@example.com", "a long passphrase", None)
            .unwrap_or_else(|e| panic!("{e}"));
        let taken = register(
            &mut f.conn,
            &tokens,
            &crate::mail::MailSettings::new("https://filmlog.example"),
            &reg,
            "hash",
            &SessionClient::default(),
        )
        .await;
        assert!(
            matches!(
                taken,
                Err(OpError::Persistence(
                    filmlog_persistence::PersistenceError::Taken(
                        filmlog_persistence::Taken::Username
                    )
                ))
            ),
            "{taken:?}"
        );
        assert_eq!(f.count("members").await, 1);
        assert_eq!(f.count("sessions").await, 0);

        // All or nothing: when the session cannot be written after the member was, neither stays.
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query(
                "ALTER TABLE sessions ADD CONSTRAINT no_new_sessions CHECK (false) NOT VALID",
            ),
            &mut f.conn,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let reg = Registration::parse("bo", "bo@example.com", "a long passphrase", Some("Bo"))
            .unwrap_or_else(|e| panic!("{e}"));
        let failed = register(
            &mut f.conn,
            &tokens,
            &crate::mail::MailSettings::new("https://filmlog.example"),
            &reg,
            "hash",
            &SessionClient::default(),
        )
        .await;
        assert!(matches!(failed, Err(OpError::Persistence(_))), "{failed:?}");
        assert_eq!(
            f.count("members").await,
            1,
            "the member went with the session"
        );

        let bad = Registration::parse("a", "nope", "short", Some(""));
        let Err(OpError::Invalid(issues)) = bad else {
            panic!("not refused: {:?}", bad.map(|r| r.username));
        };
        let codes: Vec<_> = issues.iter().map(|i| i.code).collect();
        assert_eq!(
            codes,
            ["invalid_username", "invalid_email", "weak_password"]
        );
    }
}
