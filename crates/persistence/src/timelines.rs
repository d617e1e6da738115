//! The materialised home feed (sql/home_feed.sql): each member's home timeline, the queue of work
//! that fills it after a write commits, and the housekeeping that bounds it.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Double, Integer, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::MemberId;

use crate::Result;

/// A requested timeline (a missing one is `None`): when its member last read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct TimelineState {
    #[diesel(sql_type = Timestamptz)]
    pub read_at: DateTime<Utc>,
}

/// How old a timeline's `read_at` may be before a read refreshes it (a timeline not read for
/// `feed_settings.idle_days` is dropped; refreshing at most daily keeps reads from writing).
pub const READ_REFRESH: chrono::TimeDelta = chrono::TimeDelta::days(1);

impl TimelineState {
    /// Whether a read should tell the primary the member is reading (requesting the timeline, or
    /// keeping it).
    pub fn needs_touch(state: Option<Self>, now: DateTime<Utc>) -> bool {
        state.is_none_or(|s| now - s.read_at > READ_REFRESH)
    }
}

const STATE_SQL: &str = "SELECT read_at FROM home_timelines WHERE member_id = $1";

struct State<'a> {
    member: i64,
    _borrow: std::marker::PhantomData<&'a ()>,
}

cached_statement!(State, STATE_SQL, |s| { "1" => BigInt: &s.member });

/// The state of `member`'s timeline, one index probe (pipelined with the page it goes with).
pub async fn state(
    mut conn: &AsyncPgConnection,
    member: MemberId,
) -> Result<Option<TimelineState>> {
    use diesel::OptionalExtension;
    Ok(State {
        member: member.get(),
        _borrow: std::marker::PhantomData,
    }
    .get_result(&mut conn)
    .await
    .optional()?)
}

/// The member is reading their feed: requests their timeline (the worker builds it) or marks it
/// read now. On the primary.
pub async fn touch(conn: &mut AsyncPgConnection, member: MemberId) -> Result<()> {
    diesel::sql_query("SELECT home_timeline_touch($1)")
        .bind::<BigInt, _>(member.get())
        .execute(conn)
        .await?;
    Ok(())
}

/// The rest of the caller's transaction commits without waiting for its WAL to reach the disk (for
/// the feed worker's transactions: a crash that loses such a commit loses its claim too).
pub async fn commit_lazily(conn: &mut AsyncPgConnection) -> Result<()> {
    diesel::sql_query("SET LOCAL synchronous_commit = off")
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(QueryableByName)]
struct Ages {
    #[diesel(sql_type = Array<Double>)]
    ages: Vec<f64>,
}

/// One batch of queued work, up to `batch` items, in the caller's transaction (commit it to make
/// the batch done; a rollback or a dropped connection leaves it queued). Answers each item's time
/// in the queue, in seconds.
pub async fn fan_out(conn: &mut AsyncPgConnection, batch: i32) -> Result<Vec<f64>> {
    Ok(diesel::sql_query("SELECT feed_fanout($1) AS ages")
        .bind::<Integer, _>(batch)
        .get_result::<Ages>(conn)
        .await?
        .ages)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Runs a maintenance function that takes a batch size and answers a count (`$1`: the batch).
async fn batched(conn: &mut AsyncPgConnection, sql: &str, batch: i32) -> Result<i64> {
    Ok(diesel::sql_query(sql)
        .bind::<Integer, _>(batch)
        .get_result::<Count>(conn)
        .await?
        .n)
}

/// Builds up to `batch` requested timelines; answers how many.
pub async fn build(conn: &mut AsyncPgConnection, batch: i32) -> Result<i64> {
    batched(conn, "SELECT home_timelines_build($1)::bigint AS n", batch).await
}

/// Who is heavy (`home_feed_heavy`); answers the rows it changed.
pub async fn refresh_heavy(conn: &mut AsyncPgConnection) -> Result<i64> {
    Ok(diesel::sql_query("SELECT home_feed_heavy() AS n")
        .get_result::<Count>(conn)
        .await?
        .n)
}

/// Drops timelines not read for a while and trims up to `batch` others (`home_feed_trim`); answers
/// how many timelines it dropped or trimmed.
pub async fn trim(conn: &mut AsyncPgConnection, batch: i32) -> Result<i64> {
    batched(conn, "SELECT home_feed_trim($1) AS n", batch).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_touches_a_missing_or_day_old_timeline_only() {
        let now = Utc::now();
        let read = |ago: chrono::TimeDelta| Some(TimelineState { read_at: now - ago });
        assert!(TimelineState::needs_touch(None, now));
        assert!(!TimelineState::needs_touch(
            read(chrono::TimeDelta::hours(23)),
            now
        ));
        assert!(TimelineState::needs_touch(
            read(READ_REFRESH + chrono::TimeDelta::seconds(1)),
            now
        ));
    }
}
