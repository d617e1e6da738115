use std::time::Duration;

use std::sync::Arc;

use diesel::Connection;
use diesel::connection::Instrumentation;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use futures_util::FutureExt;

use crate::PersistenceError;

pub type DbPool = Pool<AsyncPgConnection>;

/// A connection taken from a [`DbPool`], given back when dropped.
pub type DbConn = diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>;

/// The migrations in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// Makes the instrumentation given to every connection the pool opens (query counting, tracing).
#[derive(Clone)]
pub struct ConnectionObserver(pub Arc<dyn Fn() -> Box<dyn Instrumentation> + Send + Sync>);

impl std::fmt::Debug for ConnectionObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionObserver")
    }
}

#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_size: usize,
    /// How long a request may wait for a free connection (and for a new one to be established)
    /// before it is answered 503.
    pub timeout: Duration,
    /// `statement_timeout` of every connection: a statement running longer is cancelled (503).
    pub statement_timeout: Duration,
    /// `lock_timeout`: a statement waiting longer for a lock is cancelled (503), so one lock held
    /// too long cannot tie up every connection.
    pub lock_timeout: Duration,
    /// Every transaction read-only (`default_transaction_read_only`): a pool for reads refuses a
    /// write sent to it by mistake.
    pub read_only: bool,
    pub observer: Option<ConnectionObserver>,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 16,
            timeout: Duration::from_secs(1),
            statement_timeout: Duration::from_secs(10),
            lock_timeout: Duration::from_secs(2),
            read_only: false,
            observer: None,
        }
    }
}

/// Builds the pool. It connects lazily, so a server can start (and answer /health/ready with 503)
/// while the database is down.
pub fn build_pool(url: &str, settings: &PoolSettings) -> Result<DbPool, PersistenceError> {
    let mut config = ManagerConfig::default();
    // Fast recycling: a returned connection is reused without a `SELECT 1` round trip on every
    // checkout (a connection that broke meanwhile fails its next query, which answers 503 once).
    config.recycling_method = RecyclingMethod::Fast;
    let observer = settings.observer.clone();
    // JIT compilation pays off for analytics, not for these millisecond queries: measured, it added
    // about 90 ms to the first executions of the feed statement. A transaction left open by a bug
    // is ended after a minute rather than holding its locks.
    let setup = format!(
        "SET jit = off; SET statement_timeout = {}; SET lock_timeout = {}; \
         SET idle_in_transaction_session_timeout = 60000; SET default_transaction_read_only = {}",
        settings.statement_timeout.as_millis(),
        settings.lock_timeout.as_millis(),
        settings.read_only
    );
    config.custom_setup = Box::new(move |url| {
        let observer = observer.clone();
        let url = url.to_owned();
        let setup = setup.clone();
        async move {
            let mut conn = <AsyncPgConnection as AsyncConnection>::establish(&url).await?;
            conn.batch_execute(&setup)
                .await
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            conn.set_instrumentation(crate::spans::DbSpans::new(
                observer.map(|observer| (observer.0)()),
            ));
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Pool::builder(manager)
        .max_size(settings.max_size)
        .wait_timeout(Some(settings.timeout))
        .create_timeout(Some(settings.timeout))
        .recycle_timeout(Some(settings.timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| PersistenceError::Unavailable(e.to_string()))
}

/// Applies pending migrations, then the replaceable schema (functions and triggers, see
/// [`crate::replaceable`]); returns the versions of the migrations applied.
///
/// Diesel's migration harness is synchronous, so it runs on a thread of its own (with its own small
/// runtime for the async connection), never on an async worker.
pub async fn run_migrations(url: &str) -> Result<Vec<String>, PersistenceError> {
    let url = url.to_owned();
    let joined = tokio::task::spawn_blocking(move || {
        std::thread::spawn(move || -> Result<Vec<String>, String> {
            let mut conn =
                <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&url)
                    .map_err(|e| e.to_string())?;
            let applied: Vec<String> = conn
                .run_pending_migrations(MIGRATIONS)
                .map_err(|e| e.to_string())?
                .iter()
                .map(ToString::to_string)
                .collect();
            crate::replaceable::apply(&mut conn).map_err(|e| format!("replaceable schema: {e}"))?;
            Ok(applied)
        })
        .join()
    })
    .await;
    match joined {
        Ok(Ok(result)) => result.map_err(PersistenceError::Unavailable),
        _ => Err(PersistenceError::Unavailable(
            "the migration thread panicked".to_owned(),
        )),
    }
}
