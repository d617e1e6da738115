//! How a command that failed ends: one line saying what went wrong, one saying what to do, and an
//! exit code a script can branch on (the sysexits.h values, listed in `filmlog --help`).

use std::process::ExitCode;

use filmlog_api::ratelimit::shared::SharedStoreError;
use filmlog_persistence::PersistenceError;

use crate::{BoxError, ConfigError};

/// The command failed for a reason its message gives (a missing member, …).
pub const FAILED: u8 = 1;
/// An input file cannot be used (unreadable, not JSON, not the expected shape).
pub const DATA: u8 = 65;
/// PostgreSQL or Redis cannot be reached.
pub const UNAVAILABLE: u8 = 69;
/// The configuration is missing or invalid.
pub const CONFIG: u8 = 78;

/// An input file a command cannot use.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// The exit code for `error` and the hint printed under it.
pub fn classify(error: &BoxError) -> (u8, &'static str) {
    if let Some(config) = error.downcast_ref::<ConfigError>() {
        let hint = match config {
            ConfigError::Missing("DATABASE_URL") => {
                "set DATABASE_URL (postgres://user@host/db), or use `make run`, which starts a private PostgreSQL"
            }
            ConfigError::Missing("FILMLOG_JWT_SECRET") => {
                "set FILMLOG_JWT_SECRET to at least 32 random bytes, e.g. $(head -c 48 /dev/urandom | base64)"
            }
            _ => "see `filmlog --help` for every setting and its format",
        };
        return (CONFIG, hint);
    }
    if error.downcast_ref::<InputError>().is_some() {
        return (
            DATA,
            "check the file's path and format (see `filmlog <command> --help`)",
        );
    }
    let unavailable = matches!(
        error.downcast_ref::<PersistenceError>(),
        Some(PersistenceError::Unavailable(_))
    ) || error.downcast_ref::<diesel::ConnectionError>().is_some()
        || error
            .downcast_ref::<tokio_postgres::Error>()
            .is_some_and(|e| e.as_db_error().is_none())
        || error.downcast_ref::<SharedStoreError>().is_some();
    if unavailable {
        return (
            UNAVAILABLE,
            "is PostgreSQL (or Redis) running and reachable at the configured URL? `make db-status` shows the private cluster",
        );
    }
    if let Some(io) = error.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::AddrInUse
    {
        return (
            UNAVAILABLE,
            "another process listens on that address: stop it or set PORT / FILMLOG_METRICS_ADDR",
        );
    }
    (FAILED, "")
}

/// Prints `error` and its hint on stderr and returns its exit code.
pub fn report(program: &str, error: &BoxError) -> ExitCode {
    let (code, hint) = classify(error);
    eprintln!("{program}: {error}");
    if !hint.is_empty() {
        eprintln!("{program}: hint: {hint}");
    }
    ExitCode::from(code)
}
