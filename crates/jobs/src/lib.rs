//! Filmlog's background work, apart from HTTP: imports and exports, webhook delivery, the live-event
//! hub fed by the database's notifications, and the periodic jobs. [`spawn`] starts all of it, in
//! one place, for the server and the test harness alike.

pub mod events;
pub mod feed;
pub mod mail;
pub mod metrics;
pub mod periodic;
pub mod portability;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use filmlog_persistence::DbPool;

use crate::events::EventHub;
use crate::portability::PortabilitySettings;
use crate::webhooks::WebhookSettings;

/// What [`spawn`] starts, and with what settings.
#[derive(Clone)]
pub struct Jobs {
    pub webhooks: Arc<WebhookSettings>,
    pub portability: Arc<PortabilitySettings>,
    pub events: Arc<EventHub>,
    /// Where the event hub listens for the database's notifications (a connection of its own).
    pub listen_url: String,
    /// Webhook delivery workers on this instance (they share the outbox with other instances').
    pub webhook_workers: usize,
    /// Import and export workers on this instance.
    pub portability_workers: usize,
    /// Whether this instance prunes old tombstones, deliveries, jobs and idempotency keys daily.
    pub prune: bool,
    /// How often review popularity is recomputed, when it is.
    pub popularity_every: Option<Duration>,
    /// The home feed's worker and housekeeping, when this instance runs them.
    pub feed: Option<feed::FeedSettings>,
    /// The mail worker, when this instance runs one (it shares the outbox with other instances').
    pub mail: Option<Arc<mail::MailerSettings>>,
}

/// What [`spawn`] started, so a test can stop it as a process's end would.
pub struct Running {
    portability: Vec<tokio::task::JoinHandle<()>>,
    others: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops the import and export workers only: a job one was running stays claimed until its
    /// claim lapses.
    pub fn stop_portability(&self) {
        for h in &self.portability {
            h.abort();
        }
    }

    /// Stops everything.
    pub fn stop(&self) {
        self.stop_portability();
        for h in &self.others {
            h.abort();
        }
    }
}

/// Starts every worker on the current thread's local task set (an actix system has one): the event hub's listener, webhook delivery, imports
/// and exports, the home feed's fan-out, mail, and the periodic jobs.
pub fn spawn(pool: DbPool, jobs: &Jobs) -> Running {
    let mut others = vec![tokio::task::spawn_local(events::listen(
        jobs.listen_url.clone(),
        jobs.events.clone(),
    ))];
    for _ in 0..jobs.webhook_workers {
        others.push(tokio::task::spawn_local(webhooks::work(
            pool.clone(),
            jobs.webhooks.clone(),
        )));
    }
    let portability = (0..jobs.portability_workers)
        .map(|_| {
            tokio::task::spawn_local(portability::work(pool.clone(), jobs.portability.clone()))
        })
        .collect();
    if jobs.prune {
        others.push(tokio::task::spawn_local(periodic::run_every(
            pool.clone(),
            periodic::Prune,
        )));
    }
    if let Some(settings) = jobs.feed {
        others.push(tokio::task::spawn_local(feed::work(pool.clone(), settings)));
        others.push(tokio::task::spawn_local(periodic::run_every(
            pool.clone(),
            feed::Maintain(settings.maintain_every),
        )));
    }
    if let Some(settings) = &jobs.mail {
        others.push(tokio::task::spawn_local(mail::work(
            pool.clone(),
            settings.clone(),
        )));
    }
    if let Some(every) = jobs.popularity_every {
        others.push(tokio::task::spawn_local(periodic::run_every(
            pool,
            periodic::ReviewPopularity(every),
        )));
    }
    Running {
        portability,
        others,
    }
}
