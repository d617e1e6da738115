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
pub mod smtp;

pub use app::{TestApp, TestConfig, TestMember, TestResponse, assert_raw_problem};
pub use db::{TestDatabase, with_database};
pub use smtp::{ReceivedMail, SmtpSink};

/// Runs the binary `bin` with `args`, configured by `env` only (the test's own `DATABASE_URL` and
/// `FILMLOG_JWT_SECRET` are not passed on): its exit code, stdout and stderr.
pub fn run_command(bin: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(bin);
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("FILMLOG_JWT_SECRET");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("{bin}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
