//! The application layer: each operation loads what the domain's rules need, asks the rules, and
//! applies their effects through persistence, inside the caller's transaction (one unit of work).
//! Handlers, the seed, the catalog importer and jobs call these; none repeats a rule.

pub mod films;
pub mod imports;
pub mod lists;
pub mod moderation;
pub mod notify;
pub mod social;

use filmlog_domain::RuleError;
use filmlog_persistence::PersistenceError;

/// Why an operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// What the operation is about does not exist (or is not the caller's to change).
    #[error("{0} was not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Persistence(#[from] PersistenceError),
    /// Something inside failed (a hashing thread, a clock); logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl OpError {
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        OpError::Internal(cause.to_string())
    }
}

impl From<diesel::result::Error> for OpError {
    fn from(e: diesel::result::Error) -> Self {
        OpError::Persistence(e.into())
    }
}

pub type OpResult<T> = Result<T, OpError>;
