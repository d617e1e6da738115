//! Verified addresses and password resets: single-use tokens sent by mail (stored hashed, expiring)
//! and the notices that tell a member what happened to their account. Every mail is queued in the
//! transaction of what caused it and sent by the mail worker after commit.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use filmlog_domain::{Email, Member, MemberId, Password};
use filmlog_persistence::account_tokens::{self, Purpose};
use filmlog_persistence::mail::{self, NewMail};
use filmlog_persistence::sessions::{self, RevokeReason, SessionClient};
use filmlog_persistence::{AsyncPgConnection, members, webhooks};

use super::{FieldIssue, OpError, OpResult};
use crate::credentials::{new_refresh_token, refresh_token_hash};
use crate::mail::{self as templates, MailKind, MailSettings, Rendered};

/// Why webhooks were paused by a password reset.
pub const PAUSED_PASSWORD_RESET: &str =
    "paused: your password was reset; turn it back on with your password if you made it";

/// How many accounts claiming one unverified address a reset mails, at most.
const RESET_CLAIMANTS: i64 = 3;

/// Queues `mail` to `to` (an address whose key is `key`), about `member`.
async fn queue(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    to: &str,
    key: &str,
    mail: &Rendered,
) -> OpResult<()> {
    mail::enqueue(
        conn,
        &NewMail {
            member: Some(member),
            recipient: to,
            recipient_key: key,
            kind: mail.kind.as_str(),
            subject: &mail.subject,
            text: &mail.text,
            html: &mail.html,
            unsubscribe: None,
        },
    )
    .await?;
    Ok(())
}

/// A new token for `member`, stored hashed: the plain value goes into the mail only.
async fn issue(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    purpose: Purpose,
    key: &str,
    lifetime: std::time::Duration,
) -> OpResult<String> {
    issue_setting(conn, member, purpose, key, None, lifetime).await
}

/// [`issue`] for a token that carries the address it sets.
async fn issue_setting(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    purpose: Purpose,
    key: &str,
    email: Option<&str>,
    lifetime: std::time::Duration,
) -> OpResult<String> {
    let token = new_refresh_token();
    let expires_at =
        Utc::now() + chrono::Duration::from_std(lifetime).map_err(OpError::internal)?;
    let new = account_tokens::NewToken {
        member,
        purpose,
        email_key: key,
        email,
        expires_at,
    };
    account_tokens::insert(conn, &refresh_token_hash(&token), new).await?;
    Ok(token)
}

/// When the window of mails of `kind` to the address `key` is full, how long until it has room.
/// Holds the address's lock until the transaction ends (concurrent requests count in turn).
async fn address_full(
    conn: &mut AsyncPgConnection,
    settings: &MailSettings,
    key: &str,
    kind: MailKind,
) -> OpResult<Option<std::time::Duration>> {
    address_full_at(conn, settings.per_address_per_hour, key, kind).await
}

/// New-sign-in notices to one address an hour, at most.
const NOTICES_PER_HOUR: i64 = 3;

/// [`address_full`] with the hour's allowance `per_hour`.
async fn address_full_at(
    conn: &mut AsyncPgConnection,
    per_hour: i64,
    key: &str,
    kind: MailKind,
) -> OpResult<Option<std::time::Duration>> {
    mail::lock_address(conn, key).await?;
    let hour = chrono::Duration::hours(1);
    let (n, oldest) = mail::queued_to_address(conn, key, kind.as_str(), Utc::now() - hour).await?;
    Ok(full(per_hour, n, oldest))
}

fn full(per_hour: i64, n: i64, oldest: Option<DateTime<Utc>>) -> Option<std::time::Duration> {
    (n >= per_hour).then(|| {
        let frees = oldest.unwrap_or_else(Utc::now) + chrono::Duration::hours(1);
        (frees - Utc::now())
            .to_std()
            .unwrap_or_default()
            .max(std::time::Duration::from_secs(1))
    })
}

/// When `member` asked for `per_address_per_hour` links for `purpose` within the hour (each request
/// makes a token, mailed or not), how long until they may ask again.
async fn asked_too_often(
    conn: &mut AsyncPgConnection,
    settings: &MailSettings,
    member: MemberId,
    purpose: Purpose,
) -> OpResult<Option<std::time::Duration>> {
    let since = Utc::now() - chrono::Duration::hours(1);
    let (n, oldest) = account_tokens::issued_since(conn, member, purpose, since).await?;
    Ok(full(settings.per_address_per_hour, n, oldest))
}

/// What a new address gets, inside the transaction that set it: a verification link, or, when
/// another member verified the address already, a notice to them that someone tried it (the answer
/// to the person registering is the same either way). Mail beyond the address's hourly limit is
/// dropped; the member can ask again later.
pub async fn greet_address(
    conn: &mut AsyncPgConnection,
    settings: &MailSettings,
    member: &Member,
) -> OpResult<()> {
    verification(conn, settings, member, true).await
}

/// A verification link for `member`'s address: a token is made whatever follows (so a limit on them
/// counts requests, not mail), then mailed, unless another member verified the address (who is told
/// that someone tried it, when `tell_holder`) or the address had its hour's mail.
async fn verification(
    conn: &mut AsyncPgConnection,
    settings: &MailSettings,
    member: &Member,
    tell_holder: bool,
) -> OpResult<()> {
    let key = Email::key_of(&member.email);
    let token = issue(
        conn,
        member.id,
        Purpose::VerifyEmail,
        &key,
        settings.verify_for,
    )
    .await?;
    let holders = members::holders_of_address(conn, &key, 1).await?;
    match holders.first() {
        Some(holder) if holder.verified && holder.id != member.id => {
            if tell_holder
                && address_full(conn, settings, &key, MailKind::RegistrationAttempt)
                    .await?
                    .is_none()
            {
                let notice = templates::registration_attempt(&holder.username);
                queue(conn, holder.id, &holder.email, &key, &notice).await?;
            }
        }
        _ => {
            if address_full(conn, settings, &key, MailKind::VerifyEmail)
                .await?
                .is_none()
            {
                let mail = templates::verify_email(settings, &member.username, &token);
                queue(conn, member.id, &member.email, &key, &mail).await?;
            }
        }
    }
    Ok(())
}

/// What [`resend_verification`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    /// Asked for: a link queued (or, for an address another member verified or one that had its
    /// hour's mail, quietly not: the answer is the same).
    Queued,
    AlreadyVerified,
    /// The member asked too often; retry after this long.
    TooSoon(std::time::Duration),
}

/// Sends the member a new verification link (older ones keep working until they expire), at most
/// `per_address_per_hour` an hour, counting registration's: the same whether or not the link can go
/// (an address another member verified gets nothing, and nothing says so).
pub async fn resend_verification(
    conn: &mut AsyncPgConnection,
    settings: &MailSettings,
    me: MemberId,
) -> OpResult<Resend> {
    conn.transaction(async |conn| {
        let member = members::find(conn, me)
            .await?
            .ok_or(super::Denied::AccountGone)?;
        if member.email_verified_at.is_some() {
            return Ok(Resend::AlreadyVerified);
        }
        // The address's lock first, as a reset takes it (requests for one address take turns, and
        // no member row is locked before it).
        mail::lock_address(conn, &Email::key_of(&member.email)).await?;
        if let Some(wait) = asked_too_often(conn, settings, me, Purpose::VerifyEmail).await? {
            return Ok(Resend::TooSoon(wait));
        }
        verification(conn, settings, &member, false).await?;
        Ok(Resend::Queued)
    })
    .await
}

/// Whether `member` verified their address (gone: not).
pub async fn is_verified(conn: &mut AsyncPgConnection, member: MemberId) -> OpResult<bool> {
    Ok(members::find(conn, member)
        .await?
        .is_some_and(|m| m.email_verified_at.is_some()))
}

/// `email_unverified` unless `member` (already read) verified their address: what reaches the outside
/// world (webhooks, large imports) waits for it.
pub fn require_verified(member: &Member) -> OpResult<()> {
    if member.email_verified_at.is_some() {
        Ok(())
    } else {
        Err(super::Denied::EmailUnverified.into())
    }
}

/// A token that is unknown, spent or expired.
fn bad_token() -> OpError {
    super::Denied::InvalidMailToken.into()
}

/// The longest token a link may carry (ours are 43 characters).
pub const TOKEN_MAX: usize = 128;

/// A token from a mail: a string no longer than a token can be, hashed.
fn token_hash(token: &str) -> OpResult<[u8; 32]> {
    if token.is_empty() || token.len() > TOKEN_MAX {
        return Err(bad_token());
    }
    Ok(refresh_token_hash(token))
}

/// Verifies the address a verification link was sent to, once. Fails with `email_taken` when
/// another member verified the address first.
pub async fn confirm_verification(conn: &mut AsyncPgConnection, token: &str) -> OpResult<()> {
    let hash = token_hash(token)?;
    conn.transaction(async |conn| {
        let found = account_tokens::lock(conn, &hash, Purpose::VerifyEmail)
            .await?
            .ok_or_else(bad_token)?;
        if !members::verify_email(conn, found.member_id, &found.email_key).await? {
            // The address changed since the link was sent, or was verified already.
            return Err(bad_token());
        }
        account_tokens::spend_all(conn, found.member_id, Purpose::VerifyEmail).await?;
        Ok(())
    })
    .await
}

/// Mails a reset link to the account that has `email`: the member who verified it, else each member
/// claiming it (at most three). Nothing tells the caller whether an account has the address:
/// the HTTP layer answers before this runs. At most `per_address_per_hour` reset mails go to one
/// address an hour.
pub async fn request_password_reset(
    conn: &mut AsyncPgConnection,
    settings: &MailSettings,
    email: &Email,
) -> OpResult<usize> {
    let key = email.key();
    conn.transaction(async |conn| {
        let holders = members::holders_of_address(conn, &key, RESET_CLAIMANTS).await?;
        if holders.is_empty()
            || address_full(conn, settings, &key, MailKind::PasswordReset)
                .await?
                .is_some()
        {
            return Ok(0);
        }
        for holder in &holders {
            let token = issue(
                conn,
                holder.id,
                Purpose::ResetPassword,
                &key,
                settings.reset_for,
            )
            .await?;
            let mail = templates::password_reset(settings, &holder.username, &token);
            queue(conn, holder.id, &holder.email, &key, &mail).await?;
        }
        Ok(holders.len())
    })
    .await
}

/// Spends a live reset token before its new password is hashed, so a bad link costs no hashing and
/// one link buys one hash however often it is sent at once; the member it was for. (A hash that then
/// fails leaves the link spent: ask for another.)
pub async fn claim_reset_token(conn: &mut AsyncPgConnection, token: &str) -> OpResult<MemberId> {
    let hash = token_hash(token)?;
    conn.transaction(async |conn| {
        let found = account_tokens::lock(conn, &hash, Purpose::ResetPassword)
            .await?
            .ok_or_else(bad_token)?;
        account_tokens::spend_all(conn, found.member_id, Purpose::ResetPassword).await?;
        Ok(found.member_id)
    })
    .await
}

/// Parses a new password for a reset.
pub fn parse_new_password(password: &str) -> OpResult<Password> {
    Password::parse(password)
        .map_err(|e| OpError::Invalid(vec![FieldIssue::new("/password", "weak_password", e)]))
}

/// Sets the password of the member whose reset link [`claim_reset_token`] spent: every session ends,
/// the webhooks pause (a thief may have made one), and the member is told by mail.
pub async fn confirm_password_reset(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    password_hash: &str,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        let me = members::lock(conn, member).await?.ok_or_else(bad_token)?;
        members::set_password_hash(conn, member, password_hash).await?;
        sessions::revoke_all(conn, member, RevokeReason::PasswordReset).await?;
        filmlog_persistence::two_factor::drop_challenges(conn, member).await?;
        webhooks::pause_all(conn, member, PAUSED_PASSWORD_RESET).await?;
        spend_links_out(conn, member).await?;
        filmlog_persistence::two_factor::clear_failures(conn, member).await?;
        tell_password_changed(conn, &me, "with a link sent to your email address").await?;
        Ok(())
    })
    .await
}

/// Spends every link `member` has out that changes their account (a password reset, an address
/// change): their password changed, they were reset, they ended their other sessions or turned on a
/// second factor, and a link a thief asked for should not outlive that.
pub async fn spend_links_out(conn: &mut AsyncPgConnection, member: MemberId) -> OpResult<()> {
    account_tokens::spend_all(conn, member, Purpose::ResetPassword).await?;
    account_tokens::spend_all(conn, member, Purpose::ChangeEmail).await?;
    Ok(())
}

/// Tells `member` by mail that their password changed (`how`).
pub async fn tell_password_changed(
    conn: &mut AsyncPgConnection,
    member: &Member,
    how: &str,
) -> OpResult<()> {
    tell(
        conn,
        member,
        &templates::password_changed(&member.username, how),
    )
    .await
}

/// Mails `notice` to `member`'s address, once verified: an address anyone may claim is never sent
/// notices its claimant's actions would repeat at will.
pub async fn tell(
    conn: &mut AsyncPgConnection,
    member: &Member,
    notice: &Rendered,
) -> OpResult<()> {
    if member.email_verified_at.is_none() {
        return Ok(());
    }
    let key = Email::key_of(&member.email);
    queue(conn, member.id, &member.email, &key, notice).await
}

/// How long a link confirming a new address works.
const CHANGE_FOR: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// How long the old address may undo a change.
const UNDO_FOR: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// What [`request_email_change`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Asked for: a link to the new address is queued (or, for an address another member verified,
    /// quietly not: the answer is the same).
    Asked,
    /// The member asked too often; retry after this long.
    TooSoon(std::time::Duration),
}

/// Asks to change the member's address to `new`: a link to it confirms (the address changes only
/// then); at most `per_address_per_hour` requests an hour. The caller checked a recent sign-in.
pub async fn request_email_change(
    conn: &mut AsyncPgConnection,
    settings: &MailSettings,
    me: MemberId,
    new: &Email,
) -> OpResult<Change> {
    let key = new.key();
    conn.transaction(async |conn| {
        let member = members::find(conn, me)
            .await?
            .ok_or(super::Denied::AccountGone)?;
        if Email::key_of(&member.email) == key {
            return Err(OpError::Invalid(vec![FieldIssue::new(
                "/email",
                "same_email",
                "that is your address already",
            )]));
        }
        mail::lock_address(conn, &key).await?;
        if let Some(wait) = asked_too_often(conn, settings, me, Purpose::ChangeEmail).await? {
            return Ok(Change::TooSoon(wait));
        }
        let token = issue_setting(
            conn,
            me,
            Purpose::ChangeEmail,
            &key,
            Some(new.as_str()),
            CHANGE_FOR,
        )
        .await?;
        let holders = members::holders_of_address(conn, &key, 1).await?;
        let taken = holders.first().is_some_and(|h| h.verified && h.id != me);
        if !taken
            && address_full(conn, settings, &key, MailKind::ConfirmEmailChange)
                .await?
                .is_none()
        {
            let mail = templates::confirm_email_change(settings, &member.username, &token);
            queue(conn, me, new.as_str(), &key, &mail).await?;
        }
        Ok(Change::Asked)
    })
    .await
}

/// Confirms an address change with the link sent to the new address: the member has it, verified;
/// the old address (when it was verified) is told, with a link that undoes the change for 7 days.
/// Fails with `email_taken` when another member verified the address first.
pub async fn confirm_email_change(
    conn: &mut AsyncPgConnection,
    settings: &MailSettings,
    token: &str,
) -> OpResult<()> {
    let hash = token_hash(token)?;
    conn.transaction(async |conn| {
        let found = account_tokens::lock(conn, &hash, Purpose::ChangeEmail)
            .await?
            .ok_or_else(bad_token)?;
        let new = found.email.ok_or_else(bad_token)?;
        let member = members::lock(conn, found.member_id)
            .await?
            .ok_or_else(bad_token)?;
        members::set_verified_email(conn, member.id, &new, &found.email_key).await?;
        spend_links_out(conn, member.id).await?;
        account_tokens::spend_all(conn, member.id, Purpose::VerifyEmail).await?;
        if member.email_verified_at.is_some() {
            let old_key = Email::key_of(&member.email);
            let undo = issue_setting(
                conn,
                member.id,
                Purpose::UndoEmailChange,
                &old_key,
                Some(&member.email),
                UNDO_FOR,
            )
            .await?;
            let notice = templates::email_changed(settings, &member.username, &new, &undo);
            queue(conn, member.id, &member.email, &old_key, &notice).await?;
        }
        Ok(())
    })
    .await
}

/// Undoes an address change with the link sent to the old address: it is the member's again,
/// verified; every session ends, the webhooks pause, every link out is spent and a second factor
/// turned on since the change goes (whoever made the change may hold the account), and the restored
/// address is told to reset the password.
pub async fn undo_email_change(conn: &mut AsyncPgConnection, token: &str) -> OpResult<()> {
    let hash = token_hash(token)?;
    conn.transaction(async |conn| {
        let found = account_tokens::lock(conn, &hash, Purpose::UndoEmailChange)
            .await?
            .ok_or_else(bad_token)?;
        let old = found.email.ok_or_else(bad_token)?;
        let member = found.member_id;
        members::set_verified_email(conn, member, &old, &found.email_key).await?;
        sessions::revoke_all(conn, member, RevokeReason::EmailChangeUndone).await?;
        filmlog_persistence::two_factor::drop_challenges(conn, member).await?;
        webhooks::pause_all(conn, member, PAUSED_EMAIL_CHANGE_UNDONE).await?;
        // This link is spent, and every link that changes the account; an older undo link is not
        // (whoever made the change may have made another and undone that one, to spend the
        // owner's).
        account_tokens::spend(conn, &hash).await?;
        spend_links_out(conn, member).await?;
        account_tokens::spend_all(conn, member, Purpose::VerifyEmail).await?;
        // A second factor turned on since the change is whoever made it, not the owner's.
        filmlog_persistence::two_factor::remove_if_enabled_after(conn, member, found.created_at)
            .await?;
        let me = members::find(conn, member).await?.ok_or_else(bad_token)?;
        tell(conn, &me, &templates::email_change_undone(&me.username)).await
    })
    .await
}

/// Why webhooks were paused by undoing an address change.
pub const PAUSED_EMAIL_CHANGE_UNDONE: &str = "paused: a change of your email address was undone; turn it back on with your password if you made it";

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
    let me = members::find(conn, member)
        .await?
        .ok_or(super::Denied::AccountGone)?;
    // At most a few an hour: a client's name is the caller's to vary.
    let key = Email::key_of(&me.email);
    // (`tell` sends to verified addresses only; an unverified one takes no lock here.)
    if me.email_verified_at.is_none()
        || address_full_at(conn, NOTICES_PER_HOUR, &key, MailKind::NewSignIn)
            .await?
            .is_some()
    {
        return Ok(());
    }
    let notice = templates::new_sign_in(
        &me.username,
        client.user_agent.as_deref().unwrap_or("an unnamed client"),
        client.network.as_deref().unwrap_or("an unknown network"),
        &at,
    );
    tell(conn, &me, &notice).await
}
