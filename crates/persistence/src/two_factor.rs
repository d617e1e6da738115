//! Two-factor sign-in: each member's TOTP key (sealed), their recovery codes (keyed hashes), and the
//! challenges between a right password and a code.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Text};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, Queryable, Selectable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::MemberId;

use crate::Result;
use crate::schema::{login_challenges, recovery_codes, two_factor};

/// A member's key, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = two_factor, check_for_backend(diesel::pg::Pg))]
pub struct KeyRow {
    /// Sealed.
    pub secret: String,
    pub enabled_at: Option<DateTime<Utc>>,
    pub last_step: i64,
    pub created_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

/// The member's key, locked until the transaction ends (codes are checked and spent in turn).
pub async fn lock(conn: &mut AsyncPgConnection, member: MemberId) -> Result<Option<KeyRow>> {
    Ok(two_factor::table
        .find(member.get())
        .select(<KeyRow as diesel::SelectableHelper<diesel::pg::Pg>>::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Whether the member signs in with a second factor.
pub async fn enabled(conn: &mut AsyncPgConnection, member: MemberId) -> Result<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        two_factor::table
            .filter(two_factor::member_id.eq(member.get()))
            .filter(two_factor::enabled_at.is_not_null()),
    ))
    .get_result(conn)
    .await?)
}

/// Stores a new key waiting for its first code (replacing one that waited); `false` when the member
/// has two-factor sign-in on already (nothing changed).
pub async fn begin(conn: &mut AsyncPgConnection, member: MemberId, sealed: &str) -> Result<bool> {
    let n = diesel::sql_query(
        "INSERT INTO two_factor (member_id, secret) VALUES ($1, $2) \
         ON CONFLICT (member_id) DO UPDATE SET secret = excluded.secret, last_step = 0, \
             created_at = now(), failed_codes = 0, locked_until = NULL \
         WHERE two_factor.enabled_at IS NULL",
    )
    .bind::<BigInt, _>(member.get())
    .bind::<Text, _>(sealed)
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Records the step of a code just accepted, turning the key on if it waited.
pub async fn accept_step(conn: &mut AsyncPgConnection, member: MemberId, step: i64) -> Result<()> {
    diesel::sql_query(
        "UPDATE two_factor SET last_step = $2, enabled_at = coalesce(enabled_at, now()), \
             failed_codes = 0, locked_until = NULL \
         WHERE member_id = $1",
    )
    .bind::<BigInt, _>(member.get())
    .bind::<BigInt, _>(step)
    .execute(conn)
    .await?;
    Ok(())
}

/// A right recovery code: the run of wrong codes ends.
pub async fn clear_failures(conn: &mut AsyncPgConnection, member: MemberId) -> Result<()> {
    diesel::update(two_factor::table.find(member.get()))
        .set((
            two_factor::failed_codes.eq(0),
            two_factor::locked_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Counts a wrong code; from the `lock_at`-th in a row, codes are refused for a minute, doubling
/// with each further one up to an hour.
pub async fn count_failure(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    lock_at: i32,
) -> Result<()> {
    diesel::sql_query(
        "UPDATE two_factor SET failed_codes = failed_codes + 1, \
             locked_until = CASE WHEN failed_codes + 1 >= $2 \
                 THEN now() + make_interval(mins => least(60, power(2, least(failed_codes + 1 - $2, 6))::int)) \
                 ELSE locked_until END \
         WHERE member_id = $1",
    )
    .bind::<BigInt, _>(member.get())
    .bind::<diesel::sql_types::Integer, _>(lock_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the member's login challenges (their password changed, they were suspended, or they
/// ended their other sessions: a challenge from before must not start a session).
pub async fn drop_challenges(conn: &mut AsyncPgConnection, member: MemberId) -> Result<()> {
    diesel::delete(login_challenges::table.filter(login_challenges::member_id.eq(member.get())))
        .execute(conn)
        .await?;
    Ok(())
}

/// Turns two-factor sign-in off: the key and the recovery codes go.
pub async fn remove(conn: &mut AsyncPgConnection, member: MemberId) -> Result<()> {
    diesel::delete(two_factor::table.find(member.get()))
        .execute(conn)
        .await?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::member_id.eq(member.get())))
        .execute(conn)
        .await?;
    Ok(())
}

/// Turns two-factor sign-in off when it was turned on after `since` (by whoever held the account
/// then); `true` when it was.
pub async fn remove_if_enabled_after(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    since: DateTime<Utc>,
) -> Result<bool> {
    let n = diesel::delete(
        two_factor::table
            .find(member.get())
            .filter(two_factor::enabled_at.gt(since)),
    )
    .execute(conn)
    .await?;
    if n == 1 {
        diesel::delete(recovery_codes::table.filter(recovery_codes::member_id.eq(member.get())))
            .execute(conn)
            .await?;
    }
    Ok(n == 1)
}

/// Replaces the member's recovery codes with these (keyed hashes).
pub async fn replace_recovery_codes(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    hashes: &[[u8; 32]],
) -> Result<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::member_id.eq(member.get())))
        .execute(conn)
        .await?;
    let rows: Vec<_> = hashes
        .iter()
        .map(|h| {
            (
                recovery_codes::member_id.eq(member.get()),
                recovery_codes::code_hash.eq(h.as_slice()),
            )
        })
        .collect();
    diesel::insert_into(recovery_codes::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// Spends the recovery code with this hash; `false` when the member has no such unspent code.
pub async fn spend_recovery_code(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    hash: &[u8; 32],
) -> Result<bool> {
    let n = diesel::update(
        recovery_codes::table
            .find((member.get(), hash.as_slice()))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Unspent recovery codes the member has left.
pub async fn recovery_codes_left(conn: &mut AsyncPgConnection, member: MemberId) -> Result<i64> {
    Ok(recovery_codes::table
        .filter(recovery_codes::member_id.eq(member.get()))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
        .await?)
}

/// A challenge between a password and a code, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = login_challenges, check_for_backend(diesel::pg::Pg))]
pub struct Challenge {
    #[diesel(deserialize_as = i64)]
    pub member_id: MemberId,
    pub expires_at: DateTime<Utc>,
    pub attempts: i32,
    pub user_agent: Option<String>,
    pub network: Option<String>,
}

/// Stores a new challenge's hash.
pub async fn insert_challenge(
    conn: &mut AsyncPgConnection,
    hash: &[u8; 32],
    member: MemberId,
    expires_at: DateTime<Utc>,
    client: &crate::sessions::SessionClient,
) -> Result<()> {
    diesel::insert_into(login_challenges::table)
        .values((
            login_challenges::challenge_hash.eq(hash.as_slice()),
            login_challenges::member_id.eq(member.get()),
            login_challenges::expires_at.eq(expires_at),
            login_challenges::user_agent.eq(client.user_agent.as_deref()),
            login_challenges::network.eq(client.network.as_deref()),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The challenge with this hash, locked until the transaction ends.
pub async fn lock_challenge(
    conn: &mut AsyncPgConnection,
    hash: &[u8; 32],
) -> Result<Option<Challenge>> {
    Ok(login_challenges::table
        .find(hash.as_slice())
        .select(<Challenge as diesel::SelectableHelper<diesel::pg::Pg>>::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Counts a wrong code against the challenge.
pub async fn count_attempt(conn: &mut AsyncPgConnection, hash: &[u8; 32]) -> Result<()> {
    diesel::update(login_challenges::table.find(hash.as_slice()))
        .set(login_challenges::attempts.eq(login_challenges::attempts + 1))
        .execute(conn)
        .await?;
    Ok(())
}

/// The challenge is done with (answered, expired or out of attempts).
pub async fn delete_challenge(conn: &mut AsyncPgConnection, hash: &[u8; 32]) -> Result<()> {
    diesel::delete(login_challenges::table.find(hash.as_slice()))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes challenges that expired before `before` (the daily prune).
pub async fn prune_challenges(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> Result<usize> {
    Ok(
        diesel::delete(login_challenges::table.filter(login_challenges::expires_at.lt(before)))
            .execute(conn)
            .await?,
    )
}
