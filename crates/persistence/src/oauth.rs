//! Third-party apps (OAuth clients), the grants members give them (sessions bound to an app),
//! authorization codes and device codes.

use chrono::{DateTime, Utc};
use diesel::BoolExpressionMethods;
use diesel::dsl::count_star;
use diesel::{
    ExpressionMethods, JoinOnDsl, NullableExpressionMethods, OptionalExtension, QueryDsl,
    Queryable, Selectable, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::oauth::Scopes;
use filmlog_domain::{AppId, MemberId, SessionId};

use crate::Result;
use crate::schema::{oauth_apps, oauth_codes, oauth_device_codes, sessions};
use crate::sessions::RevokeReason;

/// A registered app.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oauth_apps, check_for_backend(diesel::pg::Pg))]
pub struct AppRow {
    #[diesel(deserialize_as = i64)]
    pub id: AppId,
    #[diesel(deserialize_as = i64)]
    pub owner_id: MemberId,
    pub client_id: String,
    pub name: String,
    pub description: String,
    pub homepage: Option<String>,
    #[diesel(deserialize_as = crate::types::Texts)]
    pub redirect_uris: Vec<String>,
    pub confidential: bool,
    pub secret_hash: Option<Vec<u8>>,
    pub secret_created_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// What an app's owner sets.
#[derive(Debug, Clone)]
pub struct AppFields {
    pub name: String,
    pub description: String,
    pub homepage: Option<String>,
    pub redirect_uris: Vec<String>,
}

pub async fn create_app(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    client_id: &str,
    fields: &AppFields,
    secret_hash: Option<&[u8]>,
) -> Result<AppRow> {
    Ok(diesel::insert_into(oauth_apps::table)
        .values((
            oauth_apps::owner_id.eq(owner.get()),
            oauth_apps::client_id.eq(client_id),
            oauth_apps::name.eq(&fields.name),
            oauth_apps::description.eq(&fields.description),
            oauth_apps::homepage.eq(fields.homepage.as_deref()),
            oauth_apps::redirect_uris.eq(&fields.redirect_uris),
            oauth_apps::confidential.eq(secret_hash.is_some()),
            oauth_apps::secret_hash.eq(secret_hash),
            oauth_apps::secret_created_at.eq(secret_hash.map(|_| Utc::now())),
        ))
        .returning(AppRow::as_returning())
        .get_result(conn)
        .await?)
}

pub async fn count_owned(conn: &mut AsyncPgConnection, owner: MemberId) -> Result<i64> {
    Ok(oauth_apps::table
        .filter(oauth_apps::owner_id.eq(owner.get()))
        .select(count_star())
        .get_result(conn)
        .await?)
}

/// The owner's apps, oldest first.
pub async fn owned(conn: &mut AsyncPgConnection, owner: MemberId) -> Result<Vec<AppRow>> {
    Ok(oauth_apps::table
        .filter(oauth_apps::owner_id.eq(owner.get()))
        .order(oauth_apps::id)
        .select(AppRow::as_select())
        .load(conn)
        .await?)
}

/// An app by its client id.
pub async fn by_client_id(conn: &mut AsyncPgConnection, client_id: &str) -> Result<Option<AppRow>> {
    Ok(oauth_apps::table
        .filter(oauth_apps::client_id.eq(client_id))
        .select(AppRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// An app by id.
pub async fn app_by_id(conn: &mut AsyncPgConnection, app: AppId) -> Result<Option<AppRow>> {
    Ok(oauth_apps::table
        .find(app.get())
        .select(AppRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// One of the owner's apps by client id, locked for the rest of the transaction.
pub async fn lock_owned(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    client_id: &str,
) -> Result<Option<AppRow>> {
    Ok(oauth_apps::table
        .filter(oauth_apps::client_id.eq(client_id))
        .filter(oauth_apps::owner_id.eq(owner.get()))
        .select(AppRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

pub async fn update_app(
    conn: &mut AsyncPgConnection,
    app: AppId,
    fields: &AppFields,
) -> Result<AppRow> {
    Ok(diesel::update(oauth_apps::table.find(app.get()))
        .set((
            oauth_apps::name.eq(&fields.name),
            oauth_apps::description.eq(&fields.description),
            oauth_apps::homepage.eq(fields.homepage.as_deref()),
            oauth_apps::redirect_uris.eq(&fields.redirect_uris),
        ))
        .returning(AppRow::as_returning())
        .get_result(conn)
        .await?)
}

pub async fn set_secret(conn: &mut AsyncPgConnection, app: AppId, hash: &[u8]) -> Result<AppRow> {
    Ok(diesel::update(oauth_apps::table.find(app.get()))
        .set((
            oauth_apps::secret_hash.eq(hash),
            oauth_apps::secret_created_at.eq(Utc::now()),
        ))
        .returning(AppRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Deletes an app: its grants, codes and device codes go with it (their tokens end at once).
pub async fn delete_app(conn: &mut AsyncPgConnection, app: AppId) -> Result<()> {
    diesel::delete(oauth_apps::table.find(app.get()))
        .execute(conn)
        .await?;
    Ok(())
}

/// How many live grants (sessions) each of `apps` has, and for how many members.
pub async fn token_counts(
    conn: &mut AsyncPgConnection,
    apps: &[i64],
) -> Result<Vec<(i64, i64, i64)>> {
    use diesel::dsl::sql;
    use diesel::sql_types::BigInt;
    Ok(sessions::table
        .filter(sessions::app_id.eq_any(apps))
        .filter(sessions::revoked_at.is_null())
        .group_by(sessions::app_id)
        .select((
            sessions::app_id.assume_not_null(),
            count_star(),
            sql::<BigInt>("count(DISTINCT member_id)"),
        ))
        .load(conn)
        .await?)
}

/// Starts a grant: a session of `member` bound to `app` with `scopes`.
pub async fn create_grant(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    app: AppId,
    scopes: Scopes,
    user_agent: Option<&str>,
) -> Result<SessionId> {
    let id: i64 = diesel::insert_into(sessions::table)
        .values((
            sessions::member_id.eq(member.get()),
            sessions::app_id.eq(app.get()),
            sessions::scopes.eq(scopes.bits()),
            sessions::user_agent.eq(user_agent),
        ))
        .returning(sessions::id)
        .get_result(conn)
        .await?;
    Ok(SessionId::new(id))
}

/// An app a member authorised, as they see it.
#[derive(Debug, Clone)]
pub struct AuthorizedApp {
    pub app: AppRow,
    pub scopes: Scopes,
    pub authorized_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
}

/// The apps with live grants from `member`, most recently used first.
pub async fn authorized(
    conn: &mut AsyncPgConnection,
    member: MemberId,
) -> Result<Vec<AuthorizedApp>> {
    type Row = (AppRow, Option<i16>, DateTime<Utc>, DateTime<Utc>);
    let rows: Vec<Row> = sessions::table
        .inner_join(oauth_apps::table.on(oauth_apps::id.nullable().eq(sessions::app_id)))
        .filter(sessions::member_id.eq(member.get()))
        .filter(sessions::revoked_at.is_null())
        .select((
            AppRow::as_select(),
            sessions::scopes,
            sessions::created_at,
            sessions::last_used_at,
        ))
        .order(sessions::id)
        .load(conn)
        .await?;
    let mut apps: Vec<AuthorizedApp> = Vec::new();
    for (app, scopes, created, used) in rows {
        let scopes = Scopes::from_bits(scopes.unwrap_or(0));
        match apps.iter_mut().find(|a| a.app.id == app.id) {
            Some(a) => {
                a.scopes = a.scopes.union(scopes);
                a.authorized_at = a.authorized_at.min(created);
                a.last_used_at = a.last_used_at.max(used);
            }
            None => apps.push(AuthorizedApp {
                app,
                scopes,
                authorized_at: created,
                last_used_at: used,
            }),
        }
    }
    apps.sort_by_key(|a| std::cmp::Reverse(a.last_used_at));
    Ok(apps)
}

/// How many device authorizations of `app` started from `network` wait for a member.
pub async fn pending_devices(
    conn: &mut AsyncPgConnection,
    app: AppId,
    network: Option<&str>,
) -> Result<i64> {
    let mut q = oauth_device_codes::table
        .filter(oauth_device_codes::app_id.eq(app.get()))
        .into_boxed();
    q = match network {
        Some(n) => q.filter(oauth_device_codes::network.eq(n.to_owned())),
        None => q.filter(oauth_device_codes::network.is_null()),
    };
    Ok(q.filter(oauth_device_codes::decision.is_null())
        .filter(oauth_device_codes::expires_at.gt(Utc::now()))
        .select(count_star())
        .get_result(conn)
        .await?)
}

/// Ends every grant `member` gave `app`, and voids the consents not yet turned into tokens; how
/// many grants and consents there were.
pub async fn revoke_grants(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    app: AppId,
) -> Result<usize> {
    let pending = crate::sessions::forget_pending(conn, member, Some(app)).await?;
    let grants = diesel::update(
        sessions::table
            .filter(sessions::member_id.eq(member.get()))
            .filter(sessions::app_id.eq(app.get()))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(Utc::now()),
        sessions::revoked_reason.eq(RevokeReason::AppRevoked.as_str()),
    ))
    .execute(conn)
    .await?;
    Ok(grants + pending)
}

/// An authorization code being issued.
#[derive(Debug, Clone)]
pub struct NewCode<'a> {
    pub hash: &'a [u8],
    pub app: AppId,
    pub member: MemberId,
    pub redirect_uri: &'a str,
    pub challenge: &'a str,
    pub scopes: Scopes,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_code(conn: &mut AsyncPgConnection, code: &NewCode<'_>) -> Result<()> {
    diesel::insert_into(oauth_codes::table)
        .values((
            oauth_codes::code_hash.eq(code.hash),
            oauth_codes::app_id.eq(code.app.get()),
            oauth_codes::member_id.eq(code.member.get()),
            oauth_codes::redirect_uri.eq(code.redirect_uri),
            oauth_codes::challenge.eq(code.challenge),
            oauth_codes::scopes.eq(code.scopes.bits()),
            oauth_codes::expires_at.eq(code.expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A stored authorization code.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oauth_codes, check_for_backend(diesel::pg::Pg))]
pub struct CodeRow {
    pub code_hash: Vec<u8>,
    #[diesel(deserialize_as = i64)]
    pub app_id: AppId,
    #[diesel(deserialize_as = i64)]
    pub member_id: MemberId,
    pub redirect_uri: String,
    pub challenge: String,
    pub scopes: i16,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub session_id: Option<i64>,
}

/// The member a code was issued for (read without a lock, to lock the member first).
pub async fn code_member(conn: &mut AsyncPgConnection, hash: &[u8]) -> Result<Option<MemberId>> {
    let member: Option<i64> = oauth_codes::table
        .find(hash)
        .select(oauth_codes::member_id)
        .first(conn)
        .await
        .optional()?;
    Ok(member.map(MemberId::new))
}

/// The member who decided a device authorization, if one did (read without a lock).
pub async fn device_member(conn: &mut AsyncPgConnection, hash: &[u8]) -> Result<Option<MemberId>> {
    let member: Option<Option<i64>> = oauth_device_codes::table
        .find(hash)
        .select(oauth_device_codes::member_id)
        .first(conn)
        .await
        .optional()?;
    Ok(member.flatten().map(MemberId::new))
}

/// A code by its hash, locked until the transaction ends (two exchanges are decided in turn).
pub async fn lock_code(conn: &mut AsyncPgConnection, hash: &[u8]) -> Result<Option<CodeRow>> {
    Ok(oauth_codes::table
        .find(hash)
        .select(CodeRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

pub async fn spend_code(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
    session: SessionId,
) -> Result<()> {
    diesel::update(oauth_codes::table.find(hash))
        .set((
            oauth_codes::used_at.eq(Utc::now()),
            oauth_codes::session_id.eq(session.get()),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A device authorization being started.
#[derive(Debug, Clone)]
pub struct NewDeviceCode<'a> {
    pub hash: &'a [u8],
    pub user_code: &'a str,
    pub app: AppId,
    pub scopes: Scopes,
    pub expires_at: DateTime<Utc>,
    pub interval_secs: i32,
    /// Where it was started from (IPv4 /24, IPv6 /48).
    pub network: Option<&'a str>,
}

/// Inserts a device code; `false` when its user code is taken (the caller draws another).
pub async fn insert_device_code(
    conn: &mut AsyncPgConnection,
    code: &NewDeviceCode<'_>,
) -> Result<bool> {
    let inserted = diesel::insert_into(oauth_device_codes::table)
        .values((
            oauth_device_codes::device_hash.eq(code.hash),
            oauth_device_codes::user_code.eq(code.user_code),
            oauth_device_codes::app_id.eq(code.app.get()),
            oauth_device_codes::scopes.eq(code.scopes.bits()),
            oauth_device_codes::expires_at.eq(code.expires_at),
            oauth_device_codes::poll_interval.eq(code.interval_secs),
            oauth_device_codes::network.eq(code.network),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// A stored device authorization.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oauth_device_codes, check_for_backend(diesel::pg::Pg))]
pub struct DeviceRow {
    pub device_hash: Vec<u8>,
    pub user_code: String,
    #[diesel(deserialize_as = i64)]
    pub app_id: AppId,
    pub scopes: i16,
    pub expires_at: DateTime<Utc>,
    pub poll_interval: i32,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub member_id: Option<i64>,
    pub decision: Option<String>,
    pub collected_at: Option<DateTime<Utc>>,
    pub network: Option<String>,
}

/// A device authorization by its device code's hash, locked.
pub async fn lock_device(conn: &mut AsyncPgConnection, hash: &[u8]) -> Result<Option<DeviceRow>> {
    Ok(oauth_device_codes::table
        .find(hash)
        .select(DeviceRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// A device authorization waiting for a member, by its user code, locked.
pub async fn lock_pending_user_code(
    conn: &mut AsyncPgConnection,
    user_code: &str,
) -> Result<Option<DeviceRow>> {
    Ok(oauth_device_codes::table
        .filter(oauth_device_codes::user_code.eq(user_code))
        .filter(oauth_device_codes::decision.is_null())
        .filter(oauth_device_codes::expires_at.gt(Utc::now()))
        .select(DeviceRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

pub async fn decide_device(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
    member: MemberId,
    allowed: bool,
) -> Result<()> {
    diesel::update(oauth_device_codes::table.find(hash))
        .set((
            oauth_device_codes::member_id.eq(member.get()),
            oauth_device_codes::decision.eq(if allowed { "allowed" } else { "denied" }),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a poll (and the interval the device must keep from now on).
pub async fn polled(conn: &mut AsyncPgConnection, hash: &[u8], interval_secs: i32) -> Result<()> {
    diesel::update(oauth_device_codes::table.find(hash))
        .set((
            oauth_device_codes::last_polled_at.eq(Utc::now()),
            oauth_device_codes::poll_interval.eq(interval_secs),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn collected(conn: &mut AsyncPgConnection, hash: &[u8]) -> Result<()> {
    diesel::update(oauth_device_codes::table.find(hash))
        .set(oauth_device_codes::collected_at.eq(Utc::now()))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes device codes that expired, unused codes that expired, and used ones a day after (a used
/// code presented again ends the grant it gave, for a day at least); how many.
pub async fn purge_expired(conn: &mut AsyncPgConnection) -> Result<usize> {
    let before = Utc::now();
    let codes = diesel::delete(
        oauth_codes::table.filter(
            oauth_codes::expires_at
                .lt(before - chrono::Duration::days(1))
                .or(oauth_codes::used_at
                    .is_null()
                    .and(oauth_codes::expires_at.lt(before))),
        ),
    )
    .execute(conn)
    .await?;
    let devices =
        diesel::delete(oauth_device_codes::table.filter(oauth_device_codes::expires_at.lt(before)))
            .execute(conn)
            .await?;
    Ok(codes + devices)
}
