//! How deep each durable queue is and how long its oldest item has waited, for the jobs' metrics.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Double, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::Result;

/// One queue's depth at the moment of asking.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Depth {
    #[diesel(sql_type = Text)]
    pub queue: String,
    /// Items waiting or in progress.
    #[diesel(sql_type = BigInt)]
    pub items: i64,
    /// Seconds since the oldest of them was queued (0 when the queue is empty).
    #[diesel(sql_type = Double)]
    pub oldest_secs: f64,
}

/// Every queue's depth, in one statement: imports and exports not finished, webhook deliveries
/// pending, the home feed's fan-out work, mail not yet sent.
pub async fn depths(conn: &mut AsyncPgConnection) -> Result<Vec<Depth>> {
    Ok(diesel::sql_query(
        "SELECT 'imports' AS queue, count(*) AS items, \
                COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest_secs \
           FROM import_jobs WHERE status IN ('queued', 'running') \
         UNION ALL \
         SELECT 'exports', count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 \
           FROM export_jobs WHERE status IN ('queued', 'running') \
         UNION ALL \
         SELECT 'webhook_deliveries', count(*), \
                COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 \
           FROM webhook_deliveries WHERE status = 'pending' \
         UNION ALL \
         SELECT 'home_feed', count(*), \
                COALESCE(EXTRACT(EPOCH FROM now() - min(queued_at)), 0)::float8 \
           FROM feed_work \
         UNION ALL \
         SELECT 'mail', count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 \
           FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL",
    )
    .load(conn)
    .await?)
}
