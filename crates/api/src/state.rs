use std::sync::Arc;

use filmlog_persistence::{DbPool, PersistenceError};

use crate::auth::{PasswordService, TokenService};
use crate::error::ApiResult;

pub type DbConn =
    diesel_async::pooled_connection::deadpool::Object<diesel_async::AsyncPgConnection>;

/// Everything a handler needs, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    /// Connections for writes and for authentication.
    pub pool: DbPool,
    /// Connections for reads, with a shorter statement timeout.
    pub reads: DbPool,
    /// Connections to a hot standby, when there is one: reads go there unless the client must see
    /// a write the standby has not replayed yet (see [`crate::replication`]).
    pub standby: Option<DbPool>,
    /// The primary's WAL position as this instance last saw it (for reads with a token on the
    /// standby, see [`crate::replication`]).
    pub primary_seen: Arc<crate::replication::PrimarySeen>,
    /// This instance's name, sent as `Filmlog-Instance` on every response when set.
    pub instance: Option<Arc<str>>,
    pub limits: HttpLimits,
    pub limiter: Arc<crate::ratelimit::Limiter>,
    pub tokens: Arc<TokenService>,
    pub passwords: Arc<PasswordService>,
    /// The origins whose pages may call the API ([`crate::cors`]).
    pub cors: Arc<crate::cors::CorsPolicy>,
    /// The live event streams of this instance ([`crate::events`]).
    pub events: Arc<crate::events::EventHub>,
    /// Where and how webhooks are delivered ([`crate::webhooks`]).
    pub webhooks: Arc<crate::webhooks::WebhookSettings>,
    /// How imports and exports run ([`crate::portability`]).
    pub portability: Arc<crate::portability::PortabilitySettings>,
}

impl AppState {
    /// A pooled connection, or 503 when none is free within the pool's timeout or the database is
    /// down.
    pub async fn conn(&self) -> ApiResult<DbConn> {
        Ok(self.pool.get().await.map_err(PersistenceError::from)?)
    }

    /// A pooled connection for a read (see [`AppState::conn`]): the standby's when there is one
    /// and it shows the client's own writes, else the primary's.
    pub async fn read_conn(&self) -> ApiResult<DbConn> {
        if let Some(conn) = crate::held::take() {
            return Ok(conn);
        }
        Ok(crate::replication::read_conn(self).await?)
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
