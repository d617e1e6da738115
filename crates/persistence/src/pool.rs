use std::time::Duration;

use diesel::Connection;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::PersistenceError;

pub type DbPool = Pool<AsyncPgConnection>;

/// The migrations in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_size: usize,
    /// How long a request may wait for a free connection (and for a new one to be established)
    /// before it is answered 503.
    pub timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 16,
            timeout: Duration::from_secs(1),
        }
    }
}

/// Builds the pool. It connects lazily, so a server can start (and answer /health/ready with 503)
/// while the database is down.
pub fn build_pool(url: &str, settings: &PoolSettings) -> Result<DbPool, PersistenceError> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
    Pool::builder(manager)
        .max_size(settings.max_size)
        .wait_timeout(Some(settings.timeout))
        .create_timeout(Some(settings.timeout))
        .recycle_timeout(Some(settings.timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| PersistenceError::Unavailable(e.to_string()))
}

/// Applies pending migrations; returns the versions applied.
///
/// Diesel's migration harness is synchronous, so it runs on a thread of its own (with its own small
/// runtime for the async connection), never on an async worker.
pub async fn run_migrations(url: &str) -> Result<Vec<String>, PersistenceError> {
    let url = url.to_owned();
    let joined = tokio::task::spawn_blocking(move || {
        std::thread::spawn(move || -> Result<Vec<String>, String> {
            let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
                .map_err(|e| e.to_string())?;
            let applied = conn
                .run_pending_migrations(MIGRATIONS)
                .map_err(|e| e.to_string())?;
            Ok(applied.iter().map(ToString::to_string).collect())
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
