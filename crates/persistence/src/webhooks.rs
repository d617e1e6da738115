//! Webhook endpoints and their outbox of deliveries (written by triggers with the events, see
//! `sql/member_changes.sql` and `sql/notifications.sql`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use filmlog_domain::webhook::DeliveryStatus;
use filmlog_domain::{DeliveryId, MemberId, WebhookId};

use crate::Result;
use crate::schema::{webhook_deliveries, webhook_endpoints};
use crate::types::DbName;

/// An endpoint as its owner sees it (never its secret, but when it is made or rotated).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints, check_for_backend(diesel::pg::Pg))]
pub struct EndpointRow {
    #[diesel(deserialize_as = i64)]
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<Option<String>>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn count_of(conn: &mut AsyncPgConnection, owner: MemberId) -> Result<i64> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::owner_id.eq(owner.get()))
        .count()
        .get_result(conn)
        .await?)
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    url: &str,
    events: &[String],
    secret: &str,
) -> Result<EndpointRow> {
    Ok(diesel::insert_into(webhook_endpoints::table)
        .values((
            webhook_endpoints::owner_id.eq(owner.get()),
            webhook_endpoints::url.eq(url),
            webhook_endpoints::events.eq(events),
            webhook_endpoints::secret.eq(secret),
        ))
        .returning(EndpointRow::as_returning())
        .get_result(conn)
        .await?)
}

pub async fn of_owner(conn: &mut AsyncPgConnection, owner: MemberId) -> Result<Vec<EndpointRow>> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::owner_id.eq(owner.get()))
        .order(webhook_endpoints::id)
        .select(EndpointRow::as_select())
        .load(conn)
        .await?)
}

/// The owner's endpoint `id`; `None` when it is not theirs.
pub async fn own(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    id: WebhookId,
) -> Result<Option<EndpointRow>> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::id.eq(id.get()))
        .filter(webhook_endpoints::owner_id.eq(owner.get()))
        .select(EndpointRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The owner's endpoint `id`, locked for a change; `None` when it is not theirs.
pub async fn lock_own(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    id: WebhookId,
) -> Result<Option<EndpointRow>> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::id.eq(id.get()))
        .filter(webhook_endpoints::owner_id.eq(owner.get()))
        .select(EndpointRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// A change to an endpoint: `None` leaves a field.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub disabled_reason: Option<Option<String>>,
    pub consecutive_failures: Option<i32>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Replaces endpoint `id`'s secret with `secret`; the one it had signs beside it for `grace`.
pub async fn rotate_secret(
    conn: &mut AsyncPgConnection,
    id: WebhookId,
    secret: &str,
    grace: std::time::Duration,
) -> Result<()> {
    let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
    diesel::sql_query(
        "UPDATE webhook_endpoints SET previous_secret = secret, secret = $2, \
             previous_secret_until = now() + make_interval(secs => $3 / 1000.0), updated_at = now() \
         WHERE id = $1",
    )
    .bind::<BigInt, _>(id.get())
    .bind::<Text, _>(secret)
    .bind::<BigInt, _>(grace_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Endpoints after `after` (an id) whose secret, or previous secret, is stored as it was before
/// sealing began (`whsec_…`): `(id, secret, previous_secret)`, at most `limit`, by id.
pub async fn unsealed(
    conn: &mut AsyncPgConnection,
    after: Option<WebhookId>,
    limit: i64,
) -> Result<Vec<(WebhookId, String, Option<String>)>> {
    let rows: Vec<(i64, String, Option<String>)> = webhook_endpoints::table
        .filter(webhook_endpoints::id.gt(after.map_or(0, WebhookId::get)))
        .filter(
            webhook_endpoints::secret
                .like("whsec\\_%")
                .or(webhook_endpoints::previous_secret.like("whsec\\_%")),
        )
        .order(webhook_endpoints::id)
        .select((
            webhook_endpoints::id,
            webhook_endpoints::secret,
            webhook_endpoints::previous_secret,
        ))
        .limit(limit)
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, secret, previous)| (WebhookId::new(id), secret, previous))
        .collect())
}

/// Replaces endpoint `id`'s stored secrets with their sealed forms, if they are still the ones
/// that were read (`secret.0`, and `previous.0`, `None` for none): a rotation meanwhile wins.
/// Whether it did.
pub async fn store_sealed(
    conn: &mut AsyncPgConnection,
    id: WebhookId,
    secret: (&str, &str),
    previous: Option<(&str, &str)>,
) -> Result<bool> {
    let (read, sealed) = previous.unzip();
    let n = diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::id.eq(id.get()))
            .filter(webhook_endpoints::secret.eq(secret.0))
            .filter(webhook_endpoints::previous_secret.is_not_distinct_from(read)),
    )
    .set((
        webhook_endpoints::secret.eq(secret.1),
        webhook_endpoints::previous_secret.eq(sealed),
    ))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: WebhookId,
    changes: &EndpointChanges,
) -> Result<EndpointRow> {
    Ok(diesel::update(webhook_endpoints::table.find(id.get()))
        .set(changes)
        .returning(EndpointRow::as_returning())
        .get_result(conn)
        .await?)
}

pub async fn delete(conn: &mut AsyncPgConnection, owner: MemberId, id: WebhookId) -> Result<bool> {
    let n = diesel::delete(
        webhook_endpoints::table
            .filter(webhook_endpoints::id.eq(id.get()))
            .filter(webhook_endpoints::owner_id.eq(owner.get())),
    )
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Queues one delivery of `event_type` with `payload` to endpoint `id` (the test event).
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    id: WebhookId,
    event_type: &str,
    payload: &serde_json::Value,
) -> Result<DeliveryRow> {
    Ok(diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::endpoint_id.eq(id.get()),
            webhook_deliveries::event_type.eq(event_type),
            webhook_deliveries::payload.eq(payload),
        ))
        .returning(DeliveryRow::as_returning())
        .get_result(conn)
        .await?)
}

/// A delivery as its endpoint's owner sees it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub struct DeliveryRow {
    #[diesel(deserialize_as = i64)]
    pub id: DeliveryId,
    pub message_id: String,
    pub event_type: String,
    #[diesel(deserialize_as = DbName<DeliveryStatus>)]
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub response_excerpt: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A page of endpoint `id`'s deliveries, newest first, after delivery id `after`.
pub async fn deliveries(
    conn: &mut AsyncPgConnection,
    id: WebhookId,
    after: Option<DeliveryId>,
    limit: i64,
) -> Result<Vec<DeliveryRow>> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(id.get()))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select(DeliveryRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(webhook_deliveries::id.lt(after.get()));
    }
    Ok(query.load(conn).await?)
}

/// A delivery claimed by a worker, with what sending it needs.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt, deserialize_as = i64)]
    pub id: DeliveryId,
    #[diesel(sql_type = BigInt, deserialize_as = i64)]
    pub endpoint_id: WebhookId,
    #[diesel(sql_type = BigInt, deserialize_as = i64)]
    pub owner_id: MemberId,
    #[diesel(sql_type = Text)]
    pub message_id: String,
    #[diesel(sql_type = Jsonb)]
    pub payload: serde_json::Value,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Text)]
    pub secret: String,
    /// The secret before the last rotation, while it still signs beside `secret`.
    #[diesel(sql_type = Nullable<Text>)]
    pub previous_secret: Option<String>,
}

/// Claims up to `limit` due deliveries of enabled endpoints for `hold` (rows other workers hold
/// are skipped, not waited for), at most `per_endpoint` in flight for any one endpoint across every
/// worker (and `per_owner` for one member's endpoints together), oldest due first: an endpoint
/// that answers slowly (or never) holds its own deliveries back, never the others'. Each attempt is counted as it is claimed, so a worker that dies
/// mid-delivery leaves a row another takes when the hold ends, with the same `webhook-id`. A
/// change's payload gets its `data` (the thing as it is now) on the first claim and keeps it, so
/// every attempt sends the same body.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    limit: i64,
    per_endpoint: i64,
    per_owner: i64,
    hold: std::time::Duration,
) -> Result<Vec<Claimed>> {
    let hold_ms = i64::try_from(hold.as_millis()).unwrap_or(i64::MAX);
    // Claims take turns (a transaction-scoped advisory lock): each then counts what the ones
    // before it hold, so the caps hold across every worker and instance.
    conn.transaction(async |conn| {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('filmlog webhook claims'))")
            .execute(conn)
            .await?;
        diesel::sql_query(
            "WITH held AS ( \
             SELECT d.endpoint_id, e.owner_id FROM webhook_deliveries d \
             JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.status = 'pending' AND d.locked_until > now()), \
         by_endpoint AS (SELECT endpoint_id, count(*) AS n FROM held GROUP BY endpoint_id), \
         by_owner AS (SELECT owner_id, count(*) AS n FROM held GROUP BY owner_id), \
         candidates AS ( \
             SELECT c.id FROM ( \
                 SELECT d.id, d.endpoint_id, e.owner_id, d.next_attempt_at, \
                        row_number() OVER (PARTITION BY d.endpoint_id \
                                           ORDER BY d.next_attempt_at, d.id) AS n_endpoint, \
                        row_number() OVER (PARTITION BY e.owner_id \
                                           ORDER BY d.next_attempt_at, d.id) AS n_owner \
                 FROM webhook_deliveries d \
                 JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.enabled \
                 WHERE d.status = 'pending' AND d.next_attempt_at <= now() \
                   AND (d.locked_until IS NULL OR d.locked_until < now())) c \
             LEFT JOIN by_endpoint fe ON fe.endpoint_id = c.endpoint_id \
             LEFT JOIN by_owner fo ON fo.owner_id = c.owner_id \
             WHERE c.n_endpoint + coalesce(fe.n, 0) <= $3 \
               AND c.n_owner + coalesce(fo.n, 0) <= $4 \
             ORDER BY c.next_attempt_at LIMIT $1), \
         due AS ( \
             SELECT d.id FROM webhook_deliveries d \
             WHERE d.id IN (SELECT id FROM candidates) AND d.status = 'pending' \
               AND (d.locked_until IS NULL OR d.locked_until < now()) \
             FOR UPDATE SKIP LOCKED) \
         UPDATE webhook_deliveries d \
         SET locked_until = now() + make_interval(secs => $2 / 1000.0), attempts = d.attempts + 1, \
             payload = CASE WHEN d.object_type IS NULL OR d.payload ? 'data' THEN d.payload \
                 ELSE d.payload || jsonb_build_object('data', jsonb_build_object( \
                     'type', d.object_type, 'id', change_key(d.object_type, d.object_id), \
                     'data', CASE WHEN d.deleted THEN NULL \
                             ELSE change_data(d.member_id, d.object_type, d.object_id) END)) END \
         FROM due, webhook_endpoints e \
         WHERE d.id = due.id AND e.id = d.endpoint_id \
         RETURNING d.id, d.endpoint_id, e.owner_id, d.message_id, d.payload, d.attempts, \
                   d.created_at, e.url, e.secret, \
                   CASE WHEN e.previous_secret_until > now() THEN e.previous_secret END \
                       AS previous_secret",
        )
        .bind::<BigInt, _>(limit)
        .bind::<BigInt, _>(hold_ms)
        .bind::<BigInt, _>(per_endpoint)
        .bind::<BigInt, _>(per_owner)
        .load(conn)
        .await
    })
    .await
    .map_err(Into::into)
}

/// Holds back an endpoint that answered slowly: none of its other pending deliveries is tried
/// before `by` from now.
pub async fn slow_down(
    conn: &mut AsyncPgConnection,
    endpoint: WebhookId,
    by: std::time::Duration,
) -> Result<()> {
    let by_ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
    diesel::sql_query(
        "UPDATE webhook_deliveries SET next_attempt_at = \
             greatest(next_attempt_at, now() + make_interval(secs => $2 / 1000.0)) \
         WHERE endpoint_id = $1 AND status = 'pending' \
           AND (locked_until IS NULL OR locked_until < now())",
    )
    .bind::<BigInt, _>(endpoint.get())
    .bind::<BigInt, _>(by_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// How many deliveries of `event_type` to endpoint `id` wait to be delivered.
pub async fn pending_of_type(
    conn: &mut AsyncPgConnection,
    id: WebhookId,
    event_type: &str,
) -> Result<i64> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(id.get()))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_deliveries::event_type.eq(event_type))
        .count()
        .get_result(conn)
        .await?)
}

/// The receiver took it: the delivery is done and its endpoint's failures in a row end.
pub async fn delivered(
    conn: &mut AsyncPgConnection,
    delivery: &Claimed,
    status: i32,
    excerpt: &str,
) -> Result<()> {
    diesel::update(webhook_deliveries::table.find(delivery.id.get()))
        .set((
            webhook_deliveries::status.eq(DeliveryStatus::Delivered.as_str()),
            webhook_deliveries::delivered_at.eq(Utc::now()),
            webhook_deliveries::last_status.eq(status),
            webhook_deliveries::last_error.eq(None::<String>),
            webhook_deliveries::response_excerpt.eq(excerpt),
            webhook_deliveries::locked_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;
    diesel::update(webhook_endpoints::table.find(delivery.endpoint_id.get()))
        .set(webhook_endpoints::consecutive_failures.eq(0))
        .execute(conn)
        .await?;
    Ok(())
}

/// Counts a failure against the delivery's endpoint; its failures in a row now.
pub async fn count_failure(conn: &mut AsyncPgConnection, endpoint: WebhookId) -> Result<i32> {
    Ok(
        diesel::update(webhook_endpoints::table.find(endpoint.get()))
            .set(
                webhook_endpoints::consecutive_failures
                    .eq(webhook_endpoints::consecutive_failures + 1),
            )
            .returning(webhook_endpoints::consecutive_failures)
            .get_result(conn)
            .await?,
    )
}

/// Records a failed attempt: retried at `retry_at`, or (`None`) given up.
pub async fn failed(
    conn: &mut AsyncPgConnection,
    delivery: DeliveryId,
    status: Option<i32>,
    error: &str,
    excerpt: Option<&str>,
    retry_at: Option<DateTime<Utc>>,
) -> Result<()> {
    diesel::update(webhook_deliveries::table.find(delivery.get()))
        .set((
            webhook_deliveries::status.eq(if retry_at.is_some() {
                DeliveryStatus::Pending
            } else {
                DeliveryStatus::Failed
            }
            .as_str()),
            webhook_deliveries::next_attempt_at.eq(retry_at.unwrap_or_else(Utc::now)),
            webhook_deliveries::last_status.eq(status),
            webhook_deliveries::last_error.eq(error),
            webhook_deliveries::response_excerpt.eq(excerpt),
            webhook_deliveries::locked_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Disables an endpoint that keeps failing and tells its owner (a `webhook_disabled`
/// notification); `false` when it was disabled already.
pub async fn disable(
    conn: &mut AsyncPgConnection,
    endpoint: WebhookId,
    owner: MemberId,
    reason: &str,
) -> Result<bool> {
    Ok(disable_where(conn, owner.get(), Some(endpoint.get()), reason).await? == 1)
}

/// Pauses every enabled endpoint of `owner` (after a password change or "log out everywhere": a
/// webhook made with a stolen token stops delivering until the owner turns it on again with their
/// password), each with a `webhook_disabled` notification; how many.
pub async fn pause_all(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    reason: &str,
) -> Result<usize> {
    disable_where(conn, owner.get(), None, reason).await
}

/// Disables `owner`'s enabled endpoints (`endpoint`: that one only) with `reason` and tells the
/// owner of each, in one statement (their live streams woken as every notification's are); how many
/// were disabled.
async fn disable_where(
    conn: &mut AsyncPgConnection,
    owner: i64,
    endpoint: Option<i64>,
    reason: &str,
) -> Result<usize> {
    let told = diesel::sql_query(
        "WITH disabled AS ( \
             UPDATE webhook_endpoints SET enabled = false, disabled_reason = $3, updated_at = now() \
             WHERE owner_id = $1 AND ($2::bigint IS NULL OR id = $2) AND enabled \
             RETURNING id) \
         INSERT INTO notifications (recipient_id, kind, webhook_endpoint_id) \
         SELECT $1, 'webhook_disabled', id FROM disabled",
    )
    .bind::<BigInt, _>(owner)
    .bind::<Nullable<BigInt>, _>(endpoint)
    .bind::<Text, _>(reason)
    .execute(conn)
    .await?;
    if told > 0 {
        crate::notifications::wake_all_of(conn, &[owner]).await?;
    }
    Ok(told)
}

/// Drops finished deliveries (delivered or given up) made before `before`; how many.
pub async fn prune(conn: &mut AsyncPgConnection, before: DateTime<Utc>) -> Result<usize> {
    Ok(diesel::delete(
        webhook_deliveries::table
            .filter(webhook_deliveries::status.ne(DeliveryStatus::Pending.as_str()))
            .filter(webhook_deliveries::created_at.lt(before)),
    )
    .execute(conn)
    .await?)
}
