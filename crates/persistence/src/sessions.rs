//! Login sessions and their single-use refresh tokens.

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, JoinOnDsl, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::{Member, MemberId, SessionId};

use crate::Result;
use crate::members::MemberRow;
use crate::schema::{members, refresh_tokens, sessions};

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    Logout,
    PasswordChanged,
    RefreshTokenReused,
}

impl RevokeReason {
    fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Logout => "logout",
            RevokeReason::PasswordChanged => "password_changed",
            RevokeReason::RefreshTokenReused => "refresh_token_reused",
        }
    }
}

pub async fn create(conn: &mut AsyncPgConnection, member: MemberId) -> Result<SessionId> {
    let id: i64 = diesel::insert_into(sessions::table)
        .values(sessions::member_id.eq(member.get()))
        .returning(sessions::id)
        .get_result(conn)
        .await?;
    Ok(SessionId::new(id))
}

/// Stores a refresh token's hash; returns the token row's id.
pub async fn insert_refresh_token(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<i64> {
    Ok(diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::session_id.eq(session.get()),
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .returning(refresh_tokens::id)
        .get_result(conn)
        .await?)
}

/// A refresh token with its session, as found (and locked) for a refresh.
#[derive(Debug, Clone)]
pub struct RefreshTokenState {
    pub token_id: i64,
    pub session: SessionId,
    pub member: MemberId,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub replaced_by: Option<i64>,
    pub session_revoked: bool,
}

/// Finds a refresh token by its hash and locks its row until the transaction ends, so two
/// concurrent refreshes with one token are decided one after the other.
pub async fn lock_refresh_token(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> Result<Option<RefreshTokenState>> {
    type Row = (
        i64,
        i64,
        i64,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<i64>,
        Option<DateTime<Utc>>,
    );
    let row: Option<Row> = refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((
            refresh_tokens::id,
            sessions::id,
            sessions::member_id,
            refresh_tokens::expires_at,
            refresh_tokens::used_at,
            refresh_tokens::replaced_by,
            sessions::revoked_at,
        ))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(
        |(token_id, session, member, expires_at, used_at, replaced_by, revoked_at)| {
            RefreshTokenState {
                token_id,
                session: SessionId::new(session),
                member: MemberId::new(member),
                expires_at,
                used_at,
                replaced_by,
                session_revoked: revoked_at.is_some(),
            }
        },
    ))
}

/// Whether a token (by row id) has been spent.
pub async fn is_spent(conn: &mut AsyncPgConnection, token_id: i64) -> Result<bool> {
    let used: Option<DateTime<Utc>> = refresh_tokens::table
        .find(token_id)
        .select(refresh_tokens::used_at)
        .first(conn)
        .await?;
    Ok(used.is_some())
}

pub async fn mark_spent(
    conn: &mut AsyncPgConnection,
    state: &RefreshTokenState,
    successor: i64,
    at: DateTime<Utc>,
) -> Result<()> {
    diesel::update(refresh_tokens::table.find(state.token_id))
        .set((
            refresh_tokens::used_at.eq(at),
            refresh_tokens::replaced_by.eq(successor),
        ))
        .execute(conn)
        .await?;
    diesel::update(sessions::table.find(state.session.get()))
        .set(sessions::last_used_at.eq(at))
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends a session: its refresh tokens stop working and so do its access tokens.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    reason: RevokeReason,
) -> Result<()> {
    diesel::update(
        sessions::table
            .find(session.get())
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(Utc::now()),
        sessions::revoked_reason.eq(reason.as_str()),
    ))
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends every session of a member except `keep`; returns how many were ended.
pub async fn revoke_others(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    keep: SessionId,
    reason: RevokeReason,
) -> Result<usize> {
    Ok(diesel::update(
        sessions::table
            .filter(sessions::member_id.eq(member.get()))
            .filter(sessions::id.ne(keep.get()))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(Utc::now()),
        sessions::revoked_reason.eq(reason.as_str()),
    ))
    .execute(conn)
    .await?)
}

/// The member an access token speaks for, if the session it names is still live and belongs to them.
pub async fn authenticated_member(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    session: SessionId,
) -> Result<Option<Member>> {
    let row = members::table
        .inner_join(sessions::table.on(sessions::member_id.eq(members::id)))
        .filter(members::id.eq(member.get()))
        .filter(sessions::id.eq(session.get()))
        .filter(sessions::revoked_at.is_null())
        .select(MemberRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(Into::into))
}
