use std::sync::Arc;

use filmlog_persistence::{DbPool, PersistenceError};

use crate::auth::{PasswordService, TokenService};
use crate::error::ApiResult;

pub type DbConn =
    diesel_async::pooled_connection::deadpool::Object<diesel_async::AsyncPgConnection>;

/// Everything a handler needs, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub tokens: Arc<TokenService>,
    pub passwords: Arc<PasswordService>,
}

impl AppState {
    /// A pooled connection, or 503 when none is free within the pool's timeout or the database is
    /// down.
    pub async fn conn(&self) -> ApiResult<DbConn> {
        Ok(self.pool.get().await.map_err(PersistenceError::from)?)
    }
}
