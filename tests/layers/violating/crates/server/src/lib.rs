//! Violation: the server reaching into the handlers, through a grouped path.
pub use filmlog_api::{handlers::films};
