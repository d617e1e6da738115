//! Login sessions and their single-use refresh tokens.

use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods, JoinOnDsl, OptionalExtension, QueryDsl, Queryable, Selectable,
    SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::oauth::Scopes;
use filmlog_domain::{AppId, Member, MemberId, RefreshTokenId, SessionId};

use crate::Result;
use crate::members::MemberRow;
use crate::schema::{members, oauth_codes, oauth_device_codes, refresh_tokens, sessions};

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    Logout,
    PasswordChanged,
    RefreshTokenReused,
    /// The member ended it from their list of sessions.
    EndedByMember,
    /// A moderator suspended the member.
    Suspended,
    /// The member set a new password with a link sent by mail.
    PasswordReset,
    /// The member undid a change of their address (someone else may have made it).
    EmailChangeUndone,
    /// The member revoked the app the session was granted to.
    AppRevoked,
    /// The authorization code the grant came from was presented again.
    CodeReused,
}

impl RevokeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Logout => "logout",
            RevokeReason::PasswordChanged => "password_changed",
            RevokeReason::RefreshTokenReused => "refresh_token_reused",
            RevokeReason::EndedByMember => "ended_by_member",
            RevokeReason::Suspended => "suspended",
            RevokeReason::PasswordReset => "password_reset",
            RevokeReason::EmailChangeUndone => "email_change_undone",
            RevokeReason::AppRevoked => "app_revoked",
            RevokeReason::CodeReused => "code_reused",
        }
    }
}

/// Where a session was started from, as its member sees it in their list of sessions.
#[derive(Debug, Clone, Default)]
pub struct SessionClient {
    /// The client's `User-Agent`, at most 200 characters.
    pub user_agent: Option<String>,
    /// The client's network (an IPv4 /24 or IPv6 /48), never the whole address.
    pub network: Option<String>,
}

/// A live session, for its member's list.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct SessionRow {
    #[diesel(deserialize_as = i64)]
    pub id: SessionId,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub network: Option<String>,
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    client: &SessionClient,
) -> Result<SessionId> {
    let id: i64 = diesel::insert_into(sessions::table)
        .values((
            sessions::member_id.eq(member.get()),
            sessions::user_agent.eq(client.user_agent.as_deref()),
            sessions::network.eq(client.network.as_deref()),
        ))
        .returning(sessions::id)
        .get_result(conn)
        .await?;
    Ok(SessionId::new(id))
}

/// When the session last proved its member (its sign-in, or a re-authentication); `None` for a
/// session that is not live.
pub async fn authenticated_at(
    conn: &mut AsyncPgConnection,
    session: SessionId,
) -> Result<Option<DateTime<Utc>>> {
    Ok(sessions::table
        .find(session.get())
        .filter(sessions::revoked_at.is_null())
        .select(sessions::authenticated_at)
        .first(conn)
        .await
        .optional()?)
}

/// The session's member proved themselves again just now.
pub async fn reauthenticated(conn: &mut AsyncPgConnection, session: SessionId) -> Result<()> {
    diesel::update(sessions::table.find(session.get()))
        .set(sessions::authenticated_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether the member signed in before from this network with this user agent.
pub async fn seen_client(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    client: &SessionClient,
) -> Result<bool> {
    let mut q = sessions::table
        .filter(sessions::member_id.eq(member.get()))
        .into_boxed();
    q = match &client.network {
        Some(n) => q.filter(sessions::network.eq(n.clone())),
        None => q.filter(sessions::network.is_null()),
    };
    q = match &client.user_agent {
        Some(ua) => q.filter(sessions::user_agent.eq(ua.clone())),
        None => q.filter(sessions::user_agent.is_null()),
    };
    Ok(diesel::select(diesel::dsl::exists(q.select(sessions::id)))
        .get_result(conn)
        .await?)
}

/// Stores a refresh token's hash; returns the token row's id.
pub async fn insert_refresh_token(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<RefreshTokenId> {
    let id: i64 = diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::session_id.eq(session.get()),
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .returning(refresh_tokens::id)
        .get_result(conn)
        .await?;
    Ok(RefreshTokenId::new(id))
}

/// A refresh token with its session, as found (and locked) for a refresh.
#[derive(Debug, Clone)]
pub struct RefreshTokenState {
    pub token_id: RefreshTokenId,
    pub session: SessionId,
    pub member: MemberId,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub replaced_by: Option<RefreshTokenId>,
    pub session_revoked: bool,
    /// The app the session was granted to, with the scopes granted; `None` for first-party sign-in.
    pub grant: Option<(AppId, Scopes)>,
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
        Option<i64>,
        Option<i16>,
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
            sessions::app_id,
            sessions::scopes,
        ))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(
        |(token_id, session, member, expires_at, used_at, replaced_by, revoked_at, app, scopes)| {
            RefreshTokenState {
                token_id: RefreshTokenId::new(token_id),
                session: SessionId::new(session),
                member: MemberId::new(member),
                expires_at,
                used_at,
                replaced_by: replaced_by.map(RefreshTokenId::new),
                session_revoked: revoked_at.is_some(),
                grant: app.map(|app| (AppId::new(app), Scopes::from_bits(scopes.unwrap_or(0)))),
            }
        },
    ))
}

/// The app and scopes of the grant a refresh token belongs to (`None` for an unknown token or a
/// first-party session), read without locking or spending it.
pub async fn refresh_token_grant(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> Result<Option<(AppId, Scopes)>> {
    let row: Option<(Option<i64>, Option<i16>)> = refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((sessions::app_id, sessions::scopes))
        .first(conn)
        .await
        .optional()?;
    Ok(row.and_then(|(app, scopes)| {
        app.map(|a| (AppId::new(a), Scopes::from_bits(scopes.unwrap_or(0))))
    }))
}

/// Whether a token (by row id) has been spent.
pub async fn is_spent(conn: &mut AsyncPgConnection, token_id: RefreshTokenId) -> Result<bool> {
    let used: Option<DateTime<Utc>> = refresh_tokens::table
        .find(token_id.get())
        .select(refresh_tokens::used_at)
        .first(conn)
        .await?;
    Ok(used.is_some())
}

pub async fn mark_spent(
    conn: &mut AsyncPgConnection,
    state: &RefreshTokenState,
    successor: RefreshTokenId,
    at: DateTime<Utc>,
) -> Result<()> {
    diesel::update(refresh_tokens::table.find(state.token_id.get()))
        .set((
            refresh_tokens::used_at.eq(at),
            refresh_tokens::replaced_by.eq(successor.get()),
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

/// A member's live first-party sessions, most recently used first (at most `limit`); the grants
/// given to apps are listed as authorised apps.
pub async fn live_sessions(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    limit: i64,
) -> Result<Vec<SessionRow>> {
    Ok(sessions::table
        .filter(sessions::member_id.eq(member.get()))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::app_id.is_null())
        .order((sessions::last_used_at.desc(), sessions::id.desc()))
        .limit(limit)
        .select(SessionRow::as_select())
        .load(conn)
        .await?)
}

/// Ends one of the member's live sessions; `false` when they have no such live session.
pub async fn revoke_own(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    session: SessionId,
) -> Result<bool> {
    let ended = diesel::update(
        sessions::table
            .find(session.get())
            .filter(sessions::member_id.eq(member.get()))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(Utc::now()),
        sessions::revoked_reason.eq(RevokeReason::EndedByMember.as_str()),
    ))
    .execute(conn)
    .await?;
    Ok(ended == 1)
}

/// Ends every session of a member; returns how many were ended.
pub async fn revoke_all(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    reason: RevokeReason,
) -> Result<usize> {
    revoke_every(conn, member, None, reason).await
}

/// Ends every session of a member except `keep`; returns how many were ended.
pub async fn revoke_others(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    keep: SessionId,
    reason: RevokeReason,
) -> Result<usize> {
    revoke_every(conn, member, Some(keep), reason).await
}

async fn revoke_every(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    keep: Option<SessionId>,
    reason: RevokeReason,
) -> Result<usize> {
    let mut live = sessions::table
        .filter(sessions::member_id.eq(member.get()))
        .filter(sessions::revoked_at.is_null())
        .into_boxed();
    if let Some(keep) = keep {
        live = live.filter(sessions::id.ne(keep.get()));
    }
    // The member's row, locked: a consent being given now (which locks it too) lands before this
    // or sees its session ended.
    members::table
        .find(member.get())
        .select(members::id)
        .for_update()
        .first::<i64>(conn)
        .await
        .optional()?;
    // Consents given and not yet turned into tokens go too: a code or an allowed device waiting to
    // be collected would otherwise outlive the sign-out.
    forget_pending(conn, member, None).await?;
    Ok(diesel::update(sessions::table)
        .filter(sessions::id.eq_any(live.select(sessions::id)))
        .set((
            sessions::revoked_at.eq(Utc::now()),
            sessions::revoked_reason.eq(reason.as_str()),
        ))
        .execute(conn)
        .await?)
}

/// Voids the consents `member` gave (to `app`, or to every app) that no token came of yet: unused
/// authorization codes are deleted, and allowed devices not yet collected are denied after all.
/// How many there were.
pub async fn forget_pending(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    app: Option<AppId>,
) -> Result<usize> {
    let mut codes = diesel::delete(oauth_codes::table)
        .filter(oauth_codes::member_id.eq(member.get()))
        .filter(oauth_codes::used_at.is_null())
        .into_boxed();
    let mut devices = diesel::update(oauth_device_codes::table)
        .filter(oauth_device_codes::member_id.eq(member.get()))
        .filter(oauth_device_codes::collected_at.is_null())
        .filter(oauth_device_codes::decision.eq("allowed"))
        .into_boxed();
    if let Some(app) = app {
        codes = codes.filter(oauth_codes::app_id.eq(app.get()));
        devices = devices.filter(oauth_device_codes::app_id.eq(app.get()));
    }
    let codes = codes.execute(conn).await?;
    let devices = devices
        .set(oauth_device_codes::decision.eq("denied"))
        .execute(conn)
        .await?;
    Ok(codes + devices)
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

/// A session to check inside a read's own statement (a column or a filter of it, [`live`]), for
/// the hottest reads: no statement of its own.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    member: MemberId,
    session: SessionId,
}

impl Probe {
    pub fn of(member: MemberId, session: SessionId) -> Probe {
        Probe { member, session }
    }

    /// The probe as a column (or a filter) of the read that carries it.
    pub fn live(self) -> live {
        live(self.member.get(), self.session.get())
    }
}

/// [`is_live`] as an expression: whether the probed session is live and the member's.
#[diesel::dsl::auto_type]
pub fn live(member: i64, session: i64) -> _ {
    diesel::dsl::exists(
        sessions::table
            .filter(sessions::id.eq(session))
            .filter(sessions::member_id.eq(member))
            .filter(sessions::revoked_at.is_null()),
    )
}

/// [`is_live`] of a probe's session (`None` without a probe), for a read that could not tell.
pub async fn probe_is_live(conn: &AsyncPgConnection, probe: Option<Probe>) -> Result<Option<bool>> {
    match probe {
        Some(p) => Ok(Some(is_live(conn, p.member, p.session).await?)),
        None => Ok(None),
    }
}

/// Whether the session an access token names is still live and belongs to the member it names: the
/// check of every authenticated request that needs no more than the member's id (one index probe on
/// the session's primary key, no member row). It takes a shared connection so it can be pipelined with
/// the request's read on the same connection (sent together, answered in one round trip).
pub async fn is_live(
    mut conn: &AsyncPgConnection,
    member: MemberId,
    session: SessionId,
) -> Result<bool> {
    let live: Option<i64> = sessions::table
        .filter(sessions::id.eq(session.get()))
        .filter(sessions::member_id.eq(member.get()))
        .filter(sessions::revoked_at.is_null())
        .select(sessions::member_id)
        .first(&mut conn)
        .await
        .optional()?;
    Ok(live.is_some())
}
