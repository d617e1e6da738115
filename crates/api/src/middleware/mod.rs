//! What runs around every handler, outermost first: path canonicalisation, metrics, the request's
//! context, limits on the request target, HTTP caching and conditional requests, CORS, rate limits,
//! and read routing between primary and standby; and the idempotency of creates, the request id and
//! the request's tracing span they share.

pub mod canonical;
pub mod conditional;
pub mod cors;
pub mod http_cache;
pub mod idempotency;
pub mod limits;
pub mod metrics;
pub mod ratelimit;
pub mod replication;
pub mod request_context;
pub mod request_id;
pub mod tracing_context;
