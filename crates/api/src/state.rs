use std::sync::Arc;

use filmlog_persistence::{DbPool, PersistenceError};

use crate::error::ApiResult;
use filmlog_app::credentials::{PasswordService, TokenService};

use filmlog_persistence::DbConn;

/// Everything a handler needs, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    /// Connections for writes and for authentication.
    pub pool: DbPool,
    /// Connections for reads, with a shorter statement timeout.
    pub reads: DbPool,
    /// Connections to a hot standby, when there is one: reads go there unless the client must see
    /// a write the standby has not replayed yet (see [`crate::middleware::replication`]).
    pub standby: Option<DbPool>,
    /// The primary's WAL position as this instance last saw it (for reads with a token on the
    /// standby, see [`crate::middleware::replication`]).
    pub primary_seen: Arc<PrimarySeen>,
    /// This instance's name, sent as `Filmlog-Instance` on every response when set.
    pub instance: Option<Arc<str>>,
    pub limits: HttpLimits,
    pub limiter: Arc<crate::ratelimit::Limiter>,
    pub tokens: Arc<TokenService>,
    pub passwords: Arc<PasswordService>,
    /// The origins whose pages may call the API ([`crate::cors`]).
    pub cors: Arc<crate::cors::CorsPolicy>,
    /// What mail links to, and its limits ([`filmlog_app::mail`]).
    pub mail: Arc<filmlog_app::mail::MailSettings>,
    /// The live event streams of this instance ([`filmlog_jobs::events`]).
    pub events: Arc<filmlog_jobs::events::EventHub>,
    /// Where and how webhooks are delivered ([`filmlog_jobs::webhooks`]).
    pub webhooks: Arc<filmlog_jobs::webhooks::WebhookSettings>,
    /// How imports and exports run ([`filmlog_jobs::portability`]).
    pub portability: Arc<filmlog_jobs::portability::PortabilitySettings>,
}

impl AppState {
    /// A pooled connection, or 503 when none is free within the pool's timeout or the database is
    /// down.
    pub async fn conn(&self) -> ApiResult<DbConn> {
        Ok(self.pool.get().await.map_err(PersistenceError::from)?)
    }
}

/// Bounds on how long a client may take to send a request.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// From the connection's first byte (or the previous response) to the end of the request head;
    /// the server answers 408 after it.
    pub head_timeout: std::time::Duration,
    /// For the whole body once the head is in; 408 after it.
    pub body_timeout: std::time::Duration,
    /// For a whole upload (an import's file) once its head is in; 408 after it.
    pub upload_timeout: std::time::Duration,
    /// How long a response may wait for a client that reads nothing before the connection is
    /// closed (a stalled download or event stream).
    pub write_stall_timeout: std::time::Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            head_timeout: std::time::Duration::from_secs(5),
            body_timeout: std::time::Duration::from_secs(10),
            upload_timeout: std::time::Duration::from_secs(120),
            write_stall_timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// How old the primary's position may be when a read with a token needs it.
const PRIMARY_SEEN_FOR: std::time::Duration = std::time::Duration::from_millis(500);

/// The primary's WAL position as this instance last saw it, and when; and whether a request is
/// asking the primary now (one at a time: the others go on with the last position).
#[derive(Debug, Default)]
pub struct PrimarySeen {
    seen: std::sync::Mutex<Option<(String, std::time::Instant)>>,
    asking: std::sync::atomic::AtomicBool,
}

/// The right to ask the primary, held by one request at a time; given back when dropped (a request
/// dropped mid-way included).
pub struct Asking<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for Asking<'_> {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::Release);
    }
}

impl PrimarySeen {
    /// The last position seen, and whether it is fresh.
    pub fn last(&self) -> Option<(String, bool)> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.as_ref()
            .map(|(p, at)| (p.clone(), at.elapsed() < PRIMARY_SEEN_FOR))
    }

    /// The right to ask the primary for its position, unless another request holds it.
    #[must_use = "the right is given back when the guard is dropped"]
    pub fn try_ask(&self) -> Option<Asking<'_>> {
        use std::sync::atomic::Ordering;
        self.asking
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| Asking(&self.asking))
    }

    pub fn set(&self, position: String) {
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((position, std::time::Instant::now()));
    }
}
