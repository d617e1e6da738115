use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::PoolError as ManagerError;
use diesel_async::pooled_connection::deadpool::PoolError;

/// What went wrong talking to the database, in terms callers can act on: a unique value a client can
/// run into is [`Taken`]; other constraint violations carry the constraint's name for the logs.
#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    #[error("row not found")]
    NotFound,
    /// A unique value another row has, named by what it is.
    #[error("{0} is taken")]
    Taken(Taken),
    #[error("unique constraint {constraint} violated")]
    UniqueViolation { constraint: String },
    #[error("foreign key constraint {constraint} violated")]
    ForeignKeyViolation { constraint: String },
    #[error("check constraint {constraint} violated")]
    CheckViolation { constraint: String },
    /// The database cannot be reached, or no connection became free in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("a concurrent transaction conflicted; retry")]
    SerializationFailure,
    #[error(transparent)]
    Query(DieselError),
}

/// What a unique violation says is taken, for the constraints a client can run into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Taken {
    #[error("the username")]
    Username,
    #[error("the email address")]
    Email,
    #[error("the film slug")]
    FilmSlug,
    #[error("the external id")]
    ExternalId,
}

impl Taken {
    /// The value a unique constraint guards, when a client can run into it.
    fn of(constraint: &str) -> Option<Taken> {
        match constraint {
            crate::members::USERNAME_KEY => Some(Taken::Username),
            crate::members::EMAIL_KEY => Some(Taken::Email),
            crate::catalog::SLUG_KEY => Some(Taken::FilmSlug),
            c if crate::catalog::EXTERNAL_ID_KEYS.contains(&c) => Some(Taken::ExternalId),
            _ => None,
        }
    }
}

impl From<DieselError> for PersistenceError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => PersistenceError::NotFound,
            DieselError::DatabaseError(kind, info) => {
                let constraint = info.constraint_name().unwrap_or_default().to_owned();
                match kind {
                    DatabaseErrorKind::UniqueViolation => match Taken::of(&constraint) {
                        Some(taken) => PersistenceError::Taken(taken),
                        None => PersistenceError::UniqueViolation { constraint },
                    },
                    DatabaseErrorKind::ForeignKeyViolation => {
                        PersistenceError::ForeignKeyViolation { constraint }
                    }
                    DatabaseErrorKind::CheckViolation => {
                        PersistenceError::CheckViolation { constraint }
                    }
                    DatabaseErrorKind::SerializationFailure => {
                        PersistenceError::SerializationFailure
                    }
                    DatabaseErrorKind::ClosedConnection
                    | DatabaseErrorKind::UnableToSendCommand
                    | DatabaseErrorKind::ReadOnlyTransaction => {
                        PersistenceError::Unavailable(info.message().to_owned())
                    }
                    _ if is_transient(info.message()) => {
                        PersistenceError::Unavailable(info.message().to_owned())
                    }
                    other => PersistenceError::Query(DieselError::DatabaseError(other, info)),
                }
            }
            DieselError::BrokenTransactionManager => {
                PersistenceError::Unavailable("broken transaction manager".to_owned())
            }
            other => PersistenceError::Query(other),
        }
    }
}

/// Errors that say "not now" rather than "never": a statement or lock timeout, the server shutting
/// down, restarting or refusing connections, a deadlock or a lost connection. diesel exposes no
/// SQLSTATE for them, only PostgreSQL's message (English, as the server sends by default); an
/// unrecognised message stays an internal error and is logged.
fn is_transient(message: &str) -> bool {
    const TRANSIENT: [&str; 10] = [
        "canceling statement due to statement timeout",
        "canceling statement due to lock timeout",
        "canceling statement due to user request",
        "canceling statement due to conflict with recovery",
        "terminating connection",
        "the database system is",
        "too many clients",
        "remaining connection slots are reserved",
        "deadlock detected",
        "connection closed",
    ];
    TRANSIENT.iter().any(|t| message.contains(t))
}

impl From<PoolError> for PersistenceError {
    fn from(err: PoolError) -> Self {
        match err {
            PoolError::Backend(ManagerError::QueryError(e)) => PersistenceError::from(e),
            other => PersistenceError::Unavailable(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_server(kind: DatabaseErrorKind, message: &str) -> PersistenceError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned())).into()
    }

    #[test]
    fn not_now_errors_are_unavailable_and_the_rest_are_not() {
        for message in [
            "canceling statement due to statement timeout",
            "canceling statement due to lock timeout",
            "terminating connection due to administrator command",
            "the database system is shutting down",
            "sorry, too many clients already",
            "deadlock detected",
        ] {
            assert!(
                matches!(
                    from_server(DatabaseErrorKind::Unknown, message),
                    PersistenceError::Unavailable(_)
                ),
                "{message}"
            );
        }
        for kind in [
            DatabaseErrorKind::ClosedConnection,
            DatabaseErrorKind::UnableToSendCommand,
            DatabaseErrorKind::ReadOnlyTransaction,
        ] {
            assert!(matches!(
                from_server(kind, "anything"),
                PersistenceError::Unavailable(_)
            ));
        }
        assert!(matches!(
            from_server(DatabaseErrorKind::Unknown, "column \"x\" does not exist"),
            PersistenceError::Query(_)
        ));
        assert!(matches!(
            from_server(
                DatabaseErrorKind::SerializationFailure,
                "could not serialize"
            ),
            PersistenceError::SerializationFailure
        ));
    }
}
