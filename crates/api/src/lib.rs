//! Filmlog's HTTP API: handlers, DTOs, authentication, problem details and the OpenAPI document.

pub mod app;
pub mod auth;
pub mod cors;
pub mod dto;
pub mod error;
pub mod extract;
pub mod guards;
pub mod handlers;
pub mod held;
pub mod metrics;
pub mod middleware;
pub mod oauth;
pub mod pages;
pub mod pagination;
pub mod ratelimit;
pub mod routes;
pub mod scopes;
pub mod server;
pub mod state;

pub use app::{build_app, openapi};
pub use state::AppState;
