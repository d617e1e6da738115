//! Filmlog's persistence: the Diesel schema, row and form types, queries that take
//! `&mut AsyncPgConnection` (so callers compose them in one transaction), the pool and the embedded
//! migrations.

pub mod activity;
pub mod catalog;
pub mod error;
pub mod idempotency;
pub mod log_entries;
pub mod members;
pub mod pool;
pub mod relationships;
pub mod schema;
pub mod sessions;
pub mod social;

pub use diesel_async::AsyncPgConnection;
pub use error::PersistenceError;
pub use pool::{ConnectionObserver, DbPool, PoolSettings, build_pool, run_migrations};

pub type Result<T, E = PersistenceError> = std::result::Result<T, E>;

diesel::define_sql_function! {
    /// SQL `lower(text)`.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}
