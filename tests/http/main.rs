//! HTTP-level black-box tests: the real application on a real port against a database of each test's
//! own (see filmlog-test-support).

mod auth;
mod browser;
mod caching;
mod conditional;
mod demo;
mod events;
mod films;
mod idempotency;
mod integrity;
mod limits;
mod list_social;
mod lists;
mod log_entries;
mod me;
mod members;
mod metrics;
mod moderation;
mod notifications;
mod openapi;
mod portability;
mod privacy;
mod problems;
mod process;
mod queries;
mod relationships;
mod replication;
mod rules;
mod safety;
mod social;
mod sync;
mod tokens;
mod tracing_export;
mod viewer_state;
mod visibility;
mod webhooks;
