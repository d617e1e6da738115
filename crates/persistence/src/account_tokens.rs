//! Single-use tokens sent by mail (address verification, password reset): only their SHA-256 is
//! stored, each works once, until it expires.

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, Queryable, Selectable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::MemberId;

use crate::Result;
use crate::schema::account_tokens;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
    /// Confirms a new address (the token carries it).
    ChangeEmail,
    /// Puts back the address a change replaced (the token carries it).
    UndoEmailChange,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
            Purpose::ChangeEmail => "change_email",
            Purpose::UndoEmailChange => "undo_email_change",
        }
    }
}

/// A token to store: for `member`, for the address (key) it is sent to, carrying the address it
/// sets (`email`), if any.
#[derive(Debug, Clone, Copy)]
pub struct NewToken<'a> {
    pub member: MemberId,
    pub purpose: Purpose,
    pub email_key: &'a str,
    pub email: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

/// Stores a new token's hash.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    hash: &[u8; 32],
    new: NewToken<'_>,
) -> Result<()> {
    diesel::insert_into(account_tokens::table)
        .values((
            account_tokens::token_hash.eq(hash.as_slice()),
            account_tokens::member_id.eq(new.member.get()),
            account_tokens::purpose.eq(new.purpose.as_str()),
            account_tokens::email_key.eq(new.email_key),
            account_tokens::email.eq(new.email),
            account_tokens::expires_at.eq(new.expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// How many tokens for `purpose` were made for `member` since `since`, and when the oldest of them
/// was (each request for a link makes one, mailed or not: a limit on them tells nothing about where
/// mail went).
pub async fn issued_since(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    purpose: Purpose,
    since: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>)> {
    Ok(account_tokens::table
        .filter(account_tokens::member_id.eq(member.get()))
        .filter(account_tokens::purpose.eq(purpose.as_str()))
        .filter(account_tokens::created_at.gt(since))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(account_tokens::created_at),
        ))
        .get_result(conn)
        .await?)
}

/// A live token (unspent, unexpired), as [`lock`] found it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = account_tokens, check_for_backend(diesel::pg::Pg))]
pub struct Found {
    #[diesel(deserialize_as = i64)]
    pub member_id: MemberId,
    pub email_key: String,
    /// The address the token sets (an address change, its undoing).
    pub email: Option<String>,
    /// When it was made (for an undo: when the change was confirmed).
    pub created_at: DateTime<Utc>,
}

/// The live token with this hash and purpose, locked until the transaction ends (two confirmations
/// of one token take turns, and the second finds it spent).
pub async fn lock(
    conn: &mut AsyncPgConnection,
    hash: &[u8; 32],
    purpose: Purpose,
) -> Result<Option<Found>> {
    Ok(account_tokens::table
        .find(hash.as_slice())
        .filter(account_tokens::purpose.eq(purpose.as_str()))
        .filter(account_tokens::used_at.is_null())
        .filter(account_tokens::expires_at.gt(diesel::dsl::now))
        .select(<Found as diesel::SelectableHelper<diesel::pg::Pg>>::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Spends every unspent token of `member` for `purpose` (the one being used, and any older link
/// still in a mailbox).
pub async fn spend_all(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    purpose: Purpose,
) -> Result<()> {
    diesel::update(
        account_tokens::table
            .filter(account_tokens::member_id.eq(member.get()))
            .filter(account_tokens::purpose.eq(purpose.as_str()))
            .filter(account_tokens::used_at.is_null()),
    )
    .set(account_tokens::used_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Spends the token with this hash.
pub async fn spend(conn: &mut AsyncPgConnection, hash: &[u8; 32]) -> Result<()> {
    diesel::update(account_tokens::table.find(hash.as_slice()))
        .set(account_tokens::used_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes tokens that expired before `before` (the daily prune).
pub async fn prune(conn: &mut AsyncPgConnection, before: DateTime<Utc>) -> Result<usize> {
    Ok(
        diesel::delete(account_tokens::table.filter(account_tokens::expires_at.lt(before)))
            .execute(conn)
            .await?,
    )
}
