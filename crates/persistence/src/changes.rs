//! Delta sync: what changed of a member's own things, in commit order (recorded by the triggers of
//! `sql/member_changes.sql` in the transaction of each write).

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Bool, Jsonb, Nullable, Text, Timestamptz};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::MemberId;

use crate::Result;

/// When each category of a member's things last changed, and the number of their newest change.
#[derive(Debug, Clone, Default, QueryableByName)]
pub struct LastActivities {
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = BigInt)]
    pub pruned_through: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub log_entries_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub ratings_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub likes_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub watchlist_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub follows_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub comments_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub lists_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub profile_at: Option<DateTime<Utc>>,
    /// The newest notification, or the newest marking of them read.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub notifications_at: Option<DateTime<Utc>>,
}

pub async fn last_activities(
    conn: &mut AsyncPgConnection,
    member: MemberId,
) -> Result<LastActivities> {
    let row: Option<LastActivities> = diesel::sql_query(
        "SELECT coalesce(s.seq, 0) AS seq, coalesce(s.pruned_through, 0) AS pruned_through, \
                s.log_entries_at, s.ratings_at, s.likes_at, s.watchlist_at, s.follows_at, \
                s.comments_at, s.lists_at, s.profile_at, \
                nullif(greatest((SELECT max(n.created_at) FROM notifications n \
                                 WHERE n.recipient_id = m.id), \
                                m.notifications_read_at), '-infinity') AS notifications_at \
         FROM members m LEFT JOIN member_sync s ON s.member_id = m.id WHERE m.id = $1",
    )
    .bind::<BigInt, _>(member.get())
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.unwrap_or_default())
}

/// One change: the object as it is now, or its tombstone.
#[derive(Debug, Clone, QueryableByName)]
pub struct Change {
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = Text)]
    pub object_type: String,
    #[diesel(sql_type = BigInt)]
    pub object_id: i64,
    /// How the API names the object: a film's slug, a followed member's username, else the id.
    #[diesel(sql_type = Text)]
    pub object_key: String,
    #[diesel(sql_type = Bool)]
    pub deleted: bool,
    #[diesel(sql_type = Timestamptz)]
    pub changed_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub data: Option<serde_json::Value>,
}

/// `member`'s changes numbered after `since`, in order, at most `limit`.
pub async fn since(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    since: i64,
    limit: i64,
) -> Result<Vec<Change>> {
    Ok(diesel::sql_query(
        "SELECT c.seq, c.object_type, c.object_id, c.deleted, c.changed_at, \
                change_key(c.object_type, c.object_id) AS object_key, \
                CASE WHEN c.deleted THEN NULL ELSE change_data(c.member_id, c.object_type, c.object_id) END AS data \
         FROM member_changes c WHERE c.member_id = $1 AND c.seq > $2 ORDER BY c.seq LIMIT $3",
    )
    .bind::<BigInt, _>(member.get())
    .bind::<BigInt, _>(since)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?)
}

/// Drops tombstones older than `before` (kept at least 30 days), remembering for each member the
/// newest number dropped so that an older cursor is told to resync. Returns how many were dropped.
pub async fn prune_tombstones(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> Result<usize> {
    Ok(diesel::sql_query(
        "WITH gone AS (DELETE FROM member_changes WHERE deleted AND changed_at < $1 \
                       RETURNING member_id, seq), \
              newest AS (SELECT member_id, max(seq) AS seq FROM gone GROUP BY member_id) \
         UPDATE member_sync s SET pruned_through = greatest(s.pruned_through, newest.seq) \
         FROM newest WHERE s.member_id = newest.member_id",
    )
    .bind::<Timestamptz, _>(before)
    .execute(conn)
    .await?)
}
