//! Filmlog's HTTP API: handlers, DTOs, authentication, problem details and the OpenAPI document.

pub mod app;
pub mod auth;
pub mod canonical;
pub mod conditional;
pub mod cors;
pub mod dto;
pub mod error;
pub mod events;
pub mod extract;
pub mod handlers;
pub mod held;
pub mod http_cache;
pub mod idempotency;
pub mod metrics;
pub mod ops;
pub mod pagination;
pub mod portability;
pub mod ratelimit;
pub mod replication;
pub mod request_id;
pub mod server;
pub mod state;
pub mod tracing_context;
pub mod visible;
pub mod webhooks;

pub use app::{build_app, openapi};
pub use auth::{AuthSettings, PasswordService, TokenService};
pub use state::AppState;
