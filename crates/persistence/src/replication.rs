//! Where a node's write-ahead log stands, for reads from a standby with read-your-writes.
//!
//! A position is PostgreSQL's `pg_lsn`, carried as its text (`16/B374D848`).

use diesel::QueryableByName;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::Result;

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = Text)]
    lsn: String,
}

#[derive(QueryableByName)]
struct Reached {
    #[diesel(sql_type = Bool)]
    reached: bool,
}

/// The primary's current WAL position: every transaction committed before this call ends at or
/// before it.
pub async fn current_position(conn: &mut AsyncPgConnection) -> Result<String> {
    let row: Position = diesel::sql_query("SELECT pg_current_wal_lsn()::text AS lsn")
        .get_result(conn)
        .await?;
    Ok(row.lsn)
}

/// Whether this node shows everything up to `lsn`: a standby that has replayed it, or a node that
/// is no longer a standby (promoted: it has everything it acknowledged).
pub async fn shows(conn: &mut AsyncPgConnection, lsn: &str) -> Result<bool> {
    let row: Reached = diesel::sql_query(
        "SELECT CASE WHEN pg_is_in_recovery() \
         THEN coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) ELSE true END AS reached",
    )
    .bind::<Text, _>(lsn)
    .get_result(conn)
    .await?;
    Ok(row.reached)
}

#[derive(QueryableByName)]
struct Replayed {
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    lsn: Option<String>,
}

/// How far a standby has replayed (`None` on a primary).
pub async fn replayed_position(conn: &mut AsyncPgConnection) -> Result<Option<String>> {
    let row: Replayed = diesel::sql_query("SELECT pg_last_wal_replay_lsn()::text AS lsn")
        .get_result(conn)
        .await?;
    Ok(row.lsn)
}
