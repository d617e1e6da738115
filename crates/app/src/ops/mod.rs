//! The application layer: each use case loads what the domain's rules need, asks the rules, and
//! applies their effects through persistence, in a transaction it opens itself (one unit of work).
//! A few functions are steps that other use cases (an import's batch, an idempotent create, the
//! seed) run inside their own unit; their docs say so. Handlers, the seed and jobs call these; none
//! repeats a rule.

pub mod accounts;
pub mod catalog;
pub mod films;
#[cfg(test)]
mod fixture;
pub mod idempotency;
pub mod imports;
pub mod lists;
pub mod moderation;
pub mod notify;
pub mod oauth;
pub mod people;
pub mod portability;
pub mod recovery;
pub mod social;
pub mod two_factor;
pub mod webhooks;

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
    /// Who is asking may not: wrong credentials, a spent or unknown token, a suspension.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// The representation the client based its change on (`If-Match`) is not the current one.
    #[error("the precondition failed")]
    PreconditionFailed,
    /// The request's values break a field rule.
    #[error("invalid request")]
    Invalid(Vec<FieldIssue>),
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

/// Work a caller adds to a use case's unit (a precondition read, the creation of an idempotent
/// create): a future on the unit's connection.
pub type Step<'c, T> = std::pin::Pin<Box<dyn Future<Output = OpResult<T>> + Send + 'c>>;

/// Pins a closure to the signature use cases take for a [`Step`] (closures do not infer it alone):
/// `step(move |conn| Box::pin(async move { … }))`.
pub fn step<T, F>(work: F) -> F
where
    F: for<'c> FnOnce(&'c mut filmlog_persistence::AsyncPgConnection) -> Step<'c, T>,
{
    work
}

/// Why a caller is turned away.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("the username or password is wrong")]
    InvalidCredentials,
    #[error("the refresh token is invalid or has expired")]
    InvalidRefreshToken,
    #[error("this refresh token was already used; the session has been ended, log in again")]
    RefreshTokenReused,
    #[error("the account is gone")]
    AccountGone,
    #[error("{0}")]
    Suspended(filmlog_domain::moderation::Suspended),
    #[error("the link is unknown, was used already or has expired; ask for a new one")]
    InvalidMailToken,
    #[error("verify your email address first: POST /me/email-verification sends a new link")]
    EmailUnverified,
    #[error(
        "sign in again first: POST /auth/reauthenticate with your password (and a code, with two-factor sign-in), then retry within 10 minutes"
    )]
    ReauthenticationRequired,
    #[error("two-factor sign-in is on already")]
    TwoFactorOn,
    #[error("two-factor sign-in is off")]
    TwoFactorOff,
    #[error(
        "too many wrong codes lately: codes are refused for a while; retry after Retry-After seconds"
    )]
    CodesLocked(std::time::Duration),
}

/// One invalid field of a request: where (a JSON pointer, or a parameter's name), the rule's code,
/// and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    pub pointer: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldIssue {
    pub fn new(
        pointer: impl Into<String>,
        code: &'static str,
        message: impl std::fmt::Display,
    ) -> Self {
        FieldIssue {
            pointer: pointer.into(),
            code,
            message: message.to_string(),
        }
    }
}
