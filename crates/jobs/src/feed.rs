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
            idle: Duration::from_millis(100),
            maintain_every: Duration::from_secs(60),
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Queued items done.
    pub items: usize,
    /// Timelines built.
    pub built: usize,
}

impl Round {
    /// Whether more may be waiting: the batch was full, or a timeline was built (others may be
    /// requested).
    fn busy(self) -> bool {
        self.items >= BATCH as usize || self.built > 0
    }
}

/// One round of the worker: a batch of the queue, then a requested timeline, each in a transaction
/// that commits without waiting for its WAL flush (`synchronous_commit = off`): a crash that loses
/// the commit loses the claim with it, so the work is queued again, never lost.
pub async fn round(conn: &mut AsyncPgConnection) -> Result<Round, PersistenceError> {
    let ages = conn
        .transaction(async |conn| {
            timelines::commit_lazily(conn).await?;
            timelines::fan_out(conn, BATCH).await
        })
        .await?;
    metrics::fanned_out(&ages);
    let built = conn
        .transaction(async |conn| {
            timelines::commit_lazily(conn).await?;
            timelines::build(conn, BUILDS).await
        })
        .await?;
    Ok(Round {
        items: ages.len(),
        built: usize::try_from(built).unwrap_or(0),
    })
}

/// Everything queued and requested, done now (for tests and tools that must see the timelines
/// settled); answers how many things it did.
pub async fn drain(conn: &mut AsyncPgConnection) -> Result<usize, PersistenceError> {
    let mut total = 0;
    loop {
        let r = round(conn).await?;
        if r.items + r.built == 0 {
            return Ok(total);
        }
        total += r.items + r.built;
    }
}

/// The worker, for as long as the process runs: rounds back to back while batches come full, else a
/// pause of `settings.idle` (what arrives meanwhile goes in the next batch: a few rounds a second
/// under a steady load, not one per activity), a longer one after a failure.
pub async fn work(pool: DbPool, settings: FeedSettings) {
    loop {
        let done = match pool.get().await {
            Ok(mut conn) => round(&mut conn).await,
            Err(e) => Err(PersistenceError::from(e)),
        };
        match done {
            Ok(r) if r.busy() => {}
            Ok(_) => tokio::time::sleep(settings.idle).await,
            Err(error) => {
                tracing::warn!(%error, "feed: queued work not done");
                tokio::time::sleep(AFTER_FAILURE).await;
            }
        }
    }
}

/// Timelines trimmed per transaction of the housekeeping, and its transactions per run (500
/// timelines a run; the fan-out trims most as it goes). Small transactions: a trim locks its
/// timeline until commit, and a backfill waits for it.
const TRIMS: i32 = 50;
const TRIM_ROUNDS: usize = 10;

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
        let mut changed = heavy;
        for _ in 0..TRIM_ROUNDS {
            changed += conn
                .transaction(async |conn| timelines::trim(conn, TRIMS).await)
                .await?;
        }
        Ok(usize::try_from(changed).unwrap_or(0))
    }
}
