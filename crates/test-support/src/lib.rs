//! Dev-only test harness.
//!
//! - [`TestDatabase`]: a fresh PostgreSQL database per test, cloned from a migrated template (built once
//!   per set of migrations, serialised with an advisory lock since nextest runs each test in its own
//!   process) and dropped `WITH (FORCE)` when the test ends.
//! - [`TestApp`]: the real application served on 127.0.0.1:0 against such a database, with an HTTP
//!   client and helpers.
//!
//! The server's PostgreSQL is given by `FILMLOG_TEST_DATABASE_URL` (or `DATABASE_URL`): any database
//! on it that the tests may connect to in order to create others, e.g. `postgres`.

mod app;
mod db;

pub use app::{TestApp, TestConfig, TestMember, TestResponse, assert_raw_problem};
pub use db::{TestDatabase, with_database};
