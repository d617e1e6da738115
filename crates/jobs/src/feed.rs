//! The home feed's worker: claims the queued fan-out work in batches and writes it into the
//! members' home timelines, each batch in one transaction with its claim (so a worker killed
//! mid-batch leaves the batch queued for the next one); builds the timelines members asked for by
//! reading their feed; and, periodically, the feed's housekeeping (see sql/home_feed.sql).

use std::time::Duration;

use diesel_async::AsyncConnection;
use filmlog_persistence::{AsyncPgConnection, DbPool, PersistenceError, timelines};

use crate::metrics;
use crate::periodic::Periodic;

/// Queued items claimed per transaction.
pub const BATCH: i32 = 200;
/// Timelines built per transaction (one build reads up to a few thousand index entries).
const BUILDS: i32 = 1;

/// The pause after a failed round (the database down, a deadlock with another instance's worker):
/// the work stays queued and is tried again.
const AFTER_FAILURE: Duration = Duration::from_secs(1);

/// How the feed worker runs.
#[derive(Debug, Clone, Copy)]
pub struct FeedSettings {
    /// The pause when there was nothing to do (the lag a quiet queue adds at most).
    pub idle: Duration,
    /// How often the housekeeping runs.
    pub maintain_every: Duration,
}

impl Default for FeedSettings {
    fn default() -> Self {
        Self {
            idle: Duration::from_millis(50),
            maintain_every: Duration::from_secs(60),
        }
    }
}

/// One round of the worker: a batch of the queue, then a requested timeline. Answers how many
/// things it did (0: nothing was waiting).
pub async fn round(conn: &mut AsyncPgConnection) -> Result<usize, PersistenceError> {
    let ages = conn
        .transaction(async |conn| timelines::fan_out(conn, BATCH).await)
        .await?;
    metrics::fanned_out(&ages);
    let built = conn
        .transaction(async |conn| timelines::build(conn, BUILDS).await)
        .await?;
    Ok(ages.len() + usize::try_from(built).unwrap_or(0))
}

/// Everything queued and requested, done now (for tests and tools that must see the timelines
/// settled); answers how many things it did.
pub async fn drain(conn: &mut AsyncPgConnection) -> Result<usize, PersistenceError> {
    let mut total = 0;
    loop {
        let n = round(conn).await?;
        if n == 0 {
            return Ok(total);
        }
        total += n;
    }
}

/// The worker, for as long as the process runs: rounds back to back while there is work, a pause of
/// `settings.idle` when there is none, a longer one after a failure.
pub async fn work(pool: DbPool, settings: FeedSettings) {
    loop {
        let done = match pool.get().await {
            Ok(mut conn) => round(&mut conn).await,
            Err(e) => Err(PersistenceError::from(e)),
        };
        match done {
            Ok(0) => tokio::time::sleep(settings.idle).await,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "feed: queued work not done");
                tokio::time::sleep(AFTER_FAILURE).await;
            }
        }
    }
}

/// Timelines trimmed per run of the housekeeping (the fan-out trims most as it goes).
const TRIMS: i32 = 500;

/// The feed's housekeeping as a periodic job: who is heavy, then the inactive timelines dropped
/// and the least recently trimmed ones trimmed, each in a transaction of its own.
pub struct Maintain(pub Duration);

impl Periodic for Maintain {
    const NAME: &'static str = "home_feed_maintain";

    fn every(&self) -> Duration {
        self.0
    }

    /// Soon after the start: a new database knows no heavy author until the first run, and until
    /// then their activity is copied to every follower's timeline.
    fn first(&self) -> Duration {
        Duration::from_secs(5)
    }

    async fn run(&self, conn: &mut AsyncPgConnection) -> Result<usize, PersistenceError> {
        let heavy = conn
            .transaction(async |conn| timelines::refresh_heavy(conn).await)
            .await?;
        let trimmed = conn
            .transaction(async |conn| timelines::trim(conn, TRIMS).await)
            .await?;
        Ok(usize::try_from(heavy + trimmed).unwrap_or(0))
    }
}
