//! The mail outbox: mail queued in the transaction of what caused it, sent after commit by the mail
//! worker (`filmlog_jobs::mail`), retried with back-off, and scrubbed of its bodies once sent or given
//! up on.

use chrono::{DateTime, Utc};
use diesel::sql_types::BigInt;
use diesel::{
    BoolExpressionMethods, ExpressionMethods, QueryDsl, Queryable, QueryableByName, Selectable,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::MemberId;

use crate::Result;
use crate::schema::mail_outbox;

/// A rendered mail to queue.
#[derive(Debug, Clone)]
pub struct NewMail<'a> {
    /// The member it is about (kept for limits; `None` once the account is deleted).
    pub member: Option<MemberId>,
    pub recipient: &'a str,
    /// The recipient's address key (`Email::key`), to count mail per address.
    pub recipient_key: &'a str,
    /// What it is (`verify_email`, `password_reset`, …), for limits and metrics.
    pub kind: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// A `List-Unsubscribe` target: set on mail that is not about the account's security.
    pub unsubscribe: Option<&'a str>,
}

/// Queues `mail`, in the caller's transaction: it is sent only if that commits.
pub async fn enqueue(conn: &mut AsyncPgConnection, mail: &NewMail<'_>) -> Result<i64> {
    Ok(diesel::insert_into(mail_outbox::table)
        .values((
            mail_outbox::member_id.eq(mail.member.map(MemberId::get)),
            mail_outbox::recipient.eq(mail.recipient),
            mail_outbox::recipient_key.eq(mail.recipient_key),
            mail_outbox::kind.eq(mail.kind),
            mail_outbox::subject.eq(mail.subject),
            mail_outbox::body_text.eq(mail.text),
            mail_outbox::body_html.eq(mail.html),
            mail_outbox::unsubscribe.eq(mail.unsubscribe),
        ))
        .returning(mail_outbox::id)
        .get_result(conn)
        .await?)
}

/// Takes turns with every other transaction sending mail to the address `recipient_key` until this
/// one ends, so a limit counted by [`queued_to_address`] holds under concurrent requests.
pub async fn lock_address(conn: &mut AsyncPgConnection, recipient_key: &str) -> Result<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('filmlog mail ' || $1))")
        .bind::<diesel::sql_types::Text, _>(recipient_key)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many mails of `kind` were queued to the address `recipient_key` since `since`, and when the
/// oldest of them was (for a limit's `Retry-After`).
pub async fn queued_to_address(
    conn: &mut AsyncPgConnection,
    recipient_key: &str,
    kind: &str,
    since: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>)> {
    Ok(mail_outbox::table
        .filter(mail_outbox::recipient_key.eq(recipient_key))
        .filter(mail_outbox::kind.eq(kind))
        .filter(mail_outbox::created_at.gt(since))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(mail_outbox::created_at),
        ))
        .get_result(conn)
        .await?)
}

/// A mail a worker claimed to send.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = mail_outbox, check_for_backend(diesel::pg::Pg))]
pub struct Claimed {
    pub id: i64,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub body_text: Option<String>,
    pub body_html: Option<String>,
    pub unsubscribe: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// The claim's end: the outcome is recorded only under this claim (one that lapsed and was
    /// taken by another worker records nothing).
    pub claimed_until: Option<DateTime<Utc>>,
}

/// Claims up to `limit` due mails for `hold`, oldest first, counting the attempt: a worker that dies
/// while sending leaves them to be claimed again once the hold lapses (a mail may then be sent twice,
/// with the same `Message-ID`; never lost).
pub async fn claim(
    conn: &mut AsyncPgConnection,
    limit: i64,
    hold: std::time::Duration,
) -> Result<Vec<Claimed>> {
    let hold_ms = i64::try_from(hold.as_millis()).unwrap_or(i64::MAX);
    Ok(diesel::sql_query(
        "WITH due AS ( \
             SELECT id FROM mail_outbox \
             WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now() \
               AND (claimed_until IS NULL OR claimed_until < now()) \
             ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) \
         UPDATE mail_outbox m \
         SET claimed_until = now() + make_interval(secs => $2 / 1000.0), attempts = m.attempts + 1 \
         FROM due WHERE m.id = due.id \
         RETURNING m.id, m.recipient, m.kind, m.subject, m.body_text, m.body_html, m.unsubscribe, \
                   m.created_at, m.attempts, m.claimed_until",
    )
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(hold_ms)
    .load(conn)
    .await?)
}

/// The mail went: its bodies (which may hold a one-time link) are cleared.
pub async fn mark_sent(conn: &mut AsyncPgConnection, mail: &Claimed) -> Result<()> {
    diesel::update(
        mail_outbox::table
            .find(mail.id)
            .filter(mail_outbox::claimed_until.eq(mail.claimed_until)),
    )
    .set((
        mail_outbox::sent_at.eq(diesel::dsl::now),
        mail_outbox::claimed_until.eq(None::<DateTime<Utc>>),
        mail_outbox::body_text.eq(None::<String>),
        mail_outbox::body_html.eq(None::<String>),
        mail_outbox::last_error.eq(None::<String>),
    ))
    .execute(conn)
    .await?;
    Ok(())
}

/// The attempt failed: tried again at `retry_at`, or given up on (and scrubbed) when `None`.
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    mail: &Claimed,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<()> {
    let error: String = error.chars().take(500).collect();
    match retry_at {
        Some(at) => {
            diesel::update(
                mail_outbox::table
                    .find(mail.id)
                    .filter(mail_outbox::claimed_until.eq(mail.claimed_until)),
            )
            .set((
                mail_outbox::next_attempt_at.eq(at),
                mail_outbox::claimed_until.eq(None::<DateTime<Utc>>),
                mail_outbox::last_error.eq(error),
            ))
            .execute(conn)
            .await?
        }
        None => {
            diesel::update(
                mail_outbox::table
                    .find(mail.id)
                    .filter(mail_outbox::claimed_until.eq(mail.claimed_until)),
            )
            .set((
                mail_outbox::failed_at.eq(diesel::dsl::now),
                mail_outbox::claimed_until.eq(None::<DateTime<Utc>>),
                mail_outbox::body_text.eq(None::<String>),
                mail_outbox::body_html.eq(None::<String>),
                mail_outbox::last_error.eq(error),
            ))
            .execute(conn)
            .await?
        }
    };
    Ok(())
}

/// Deletes sent and failed mail older than `before` (the daily prune).
pub async fn prune(conn: &mut AsyncPgConnection, before: DateTime<Utc>) -> Result<usize> {
    Ok(diesel::delete(
        mail_outbox::table
            .filter(mail_outbox::created_at.lt(before))
            .filter(
                mail_outbox::sent_at
                    .is_not_null()
                    .or(mail_outbox::failed_at.is_not_null()),
            ),
    )
    .execute(conn)
    .await?)
}
