//! Periodic jobs: each a small struct with a name (its metrics label), a period and one run, started
//! by [`crate::spawn`]. A run takes one connection and gives it back; a failed run is logged and
//! counted, and the next one comes at its time.

use std::future::Future;
use std::time::{Duration, Instant};

use filmlog_persistence::{AsyncPgConnection, DbPool, PersistenceError};

use crate::metrics::job_run;

/// How long delta sync keeps tombstones (a client away longer starts over), and webhooks their
/// finished deliveries.
pub const TOMBSTONES_KEPT: chrono::TimeDelta = chrono::TimeDelta::days(30);
/// Days a finished import or export job is kept.
pub const JOBS_KEPT_DAYS: i32 = 30;

pub trait Periodic: Send + Sync + 'static {
    /// The job's name in logs and metrics.
    const NAME: &'static str;
    /// The time between two runs.
    fn every(&self) -> Duration;
    /// The time before the first run: a start (or a restart of several instances) adds no work to
    /// its warm-up.
    fn first(&self) -> Duration {
        self.every()
    }
    /// One run; answers how many rows it changed.
    fn run(
        &self,
        conn: &mut AsyncPgConnection,
    ) -> impl Future<Output = Result<usize, PersistenceError>> + Send;
}

/// Drops tombstones and finished webhook deliveries older than [`TOMBSTONES_KEPT`], finished jobs
/// older than [`JOBS_KEPT_DAYS`] and spent idempotency keys, daily.
pub struct Prune;

impl Periodic for Prune {
    /// (The label the daily prune had before it pruned more than tombstones, kept so dashboards and
    /// alerts on it go on working.)
    const NAME: &'static str = "tombstones";

    fn every(&self) -> Duration {
        Duration::from_secs(24 * 3600)
    }

    fn first(&self) -> Duration {
        Duration::from_secs(3600)
    }

    async fn run(&self, conn: &mut AsyncPgConnection) -> Result<usize, PersistenceError> {
        use filmlog_persistence::{
            account_tokens, changes, idempotency, mail, oauth, portability, two_factor, webhooks,
        };
        let keep = chrono::Utc::now() - TOMBSTONES_KEPT;
        // Every part runs, whichever fails: the first failure is answered after the others ran.
        let parts = [
            changes::prune_tombstones(conn, keep).await,
            webhooks::prune(conn, keep).await,
            portability::prune(conn, JOBS_KEPT_DAYS).await,
            idempotency::prune(conn).await,
            mail::prune(conn, keep).await,
            account_tokens::prune(conn, chrono::Utc::now() - chrono::Duration::days(1)).await,
            two_factor::prune_challenges(conn, chrono::Utc::now()).await,
            oauth::purge_expired(conn).await,
        ];
        all_parts(Self::NAME, parts)
    }
}

/// The outcome of a run made of independent parts that all ran: the rows they changed, or the first
/// failure (the run's, logged by [`run_every`]); a later failure is logged here.
fn all_parts<E: std::fmt::Display>(
    job: &str,
    parts: impl IntoIterator<Item = Result<usize, E>>,
) -> Result<usize, E> {
    let mut first_error = None;
    let mut total = 0;
    for part in parts {
        match part {
            Ok(n) => total += n,
            Err(error) if first_error.is_some() => {
                tracing::warn!(job, %error, "another part of the run failed");
            }
            Err(error) => first_error = Some(error),
        }
    }
    first_error.map_or(Ok(total), Err)
}

/// Recomputes review popularity scores.
pub struct ReviewPopularity(pub Duration);

impl Periodic for ReviewPopularity {
    const NAME: &'static str = "review_popularity";

    fn every(&self) -> Duration {
        self.0
    }

    async fn run(&self, conn: &mut AsyncPgConnection) -> Result<usize, PersistenceError> {
        let changed = filmlog_persistence::log_entries::recompute_popularity(conn).await?;
        Ok(usize::try_from(changed).unwrap_or(0))
    }
}

/// Runs `job` every period for as long as the process runs.
pub async fn run_every<J: Periodic>(pool: DbPool, job: J) {
    let first = tokio::time::Instant::now() + job.first();
    let mut tick = tokio::time::interval_at(first, job.every());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let started = Instant::now();
        let result = match pool.get().await {
            Ok(mut conn) => job.run(&mut conn).await,
            Err(e) => Err(PersistenceError::from(e)),
        };
        job_run(J::NAME, result.is_ok(), started.elapsed());
        match result {
            Ok(changed) => tracing::info!(job = J::NAME, changed, "periodic job ran"),
            Err(error) => tracing::warn!(job = J::NAME, %error, "periodic job failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::all_parts;

    #[test]
    fn a_run_counts_every_part_and_answers_its_first_failure() {
        assert_eq!(all_parts::<String>("t", [Ok(2), Ok(0), Ok(3)]), Ok(5));
        assert_eq!(
            all_parts(
                "t",
                [
                    Ok(2),
                    Err("first".to_owned()),
                    Ok(3),
                    Err("second".to_owned())
                ]
            ),
            Err("first".to_owned())
        );
        assert_eq!(all_parts::<String>("t", []), Ok(0));
    }
}
