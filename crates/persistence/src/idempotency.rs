//! Stored responses of idempotent creates (see the migration for the protocol).

use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, Queryable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::MemberId;

use crate::Result;
use crate::schema::idempotency_keys;

/// How long a key is remembered.
pub const RETENTION_HOURS: i64 = 24;

/// What the key was used for before.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Stored {
    pub request_hash: Vec<u8>,
    pub status: Option<i16>,
    pub location: Option<String>,
    pub body: Option<Vec<u8>>,
}

/// Claims `key` for this request. `None`: the key is new and now held by this transaction (a
/// concurrent request with the same key waits until it ends). `Some`: the key was used, by this
/// request or another, and here is what was stored.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    key: &str,
    request_hash: &[u8],
) -> Result<Option<Stored>> {
    let cutoff = chrono::Utc::now() - chrono::Duration::hours(RETENTION_HOURS);
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::member_id.eq(member.get()))
            .filter(idempotency_keys::key.eq(key))
            .filter(idempotency_keys::created_at.lt(cutoff)),
    )
    .execute(conn)
    .await?;
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::member_id.eq(member.get()),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(request_hash),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if inserted == 1 {
        return Ok(None);
    }
    Ok(idempotency_keys::table
        .find((member.get(), key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::status,
            idempotency_keys::location,
            idempotency_keys::body,
        ))
        .first::<Stored>(conn)
        .await
        .optional()?)
}

/// Keys [`prune`] deletes per statement, so that no statement holds many locks.
const PRUNE_BATCH: i32 = 10_000;

/// Forgets keys older than [`RETENTION_HOURS`] (a later request with one is new anyway), in
/// batches of [`PRUNE_BATCH`]; how many.
pub async fn prune(conn: &mut AsyncPgConnection) -> Result<usize> {
    let mut total = 0;
    loop {
        let n = diesel::sql_query(
            "DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY( \
                 SELECT ctid FROM idempotency_keys \
                 WHERE created_at < now() - make_interval(hours => $1) LIMIT $2))",
        )
        .bind::<diesel::sql_types::Integer, _>(i32::try_from(RETENTION_HOURS).unwrap_or(i32::MAX))
        .bind::<diesel::sql_types::Integer, _>(PRUNE_BATCH)
        .execute(conn)
        .await?;
        total += n;
        if n < usize::try_from(PRUNE_BATCH).unwrap_or(usize::MAX) {
            return Ok(total);
        }
    }
}

/// Records the response of the request that claimed `key`.
pub async fn record(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    key: &str,
    status: i16,
    location: Option<&str>,
    body: &[u8],
) -> Result<()> {
    diesel::update(idempotency_keys::table.find((member.get(), key)))
        .set((
            idempotency_keys::status.eq(status),
            idempotency_keys::location.eq(location),
            idempotency_keys::body.eq(body),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
