//! Violation: the server reaching into the handlers.
pub use filmlog_api::handlers::films;
