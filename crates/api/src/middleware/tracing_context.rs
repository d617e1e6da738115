//! The `request` span: one per request, named and attributed after OpenTelemetry's HTTP server
//! conventions, with the request id. The database spans (`filmlog_persistence::spans`) open inside
//! it. When the caller sent a W3C `traceparent` and an exporter is configured, the span continues
//! the caller's trace.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use opentelemetry::propagation::Extractor;
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct Headers<'a>(&'a actix_web::http::header::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The span of `req`, whose id is `id`, named after its route (`GET /api/v1/films/{slug}`). Disabled
/// (and free) when nothing listens at `info`.
pub fn request_span(req: &ServiceRequest, id: &str) -> Span {
    let span = tracing::info_span!(
        "request",
        otel.name = Empty,
        otel.kind = "server",
        otel.status_code = Empty,
        request_id = id,
        http.request.method = %req.method(),
        url.path = req.path(),
        http.route = Empty,
        http.response.status_code = Empty,
    );
    if span.is_disabled() {
        return span;
    }
    // Named before anything opens inside it: an exported span's name is fixed once it has started.
    // Before routing, the pattern comes from the application's resource map.
    let route = req.match_pattern();
    let route = route.as_deref().unwrap_or("unmatched");
    span.record("otel.name", format!("{} {route}", req.method()).as_str());
    span.record("http.route", route);
    if req.headers().contains_key("traceparent") {
        let parent =
            opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(req.headers())));
        // Without an OpenTelemetry layer there is no trace to continue; nothing to do then.
        drop(span.set_parent(parent));
    }
    span
}

/// Records the response's status; a 5xx marks the span as an error.
pub fn record_response<B: MessageBody>(span: &Span, res: &ServiceResponse<B>) {
    if span.is_disabled() {
        return;
    }
    span.record(
        "http.response.status_code",
        i64::from(res.status().as_u16()),
    );
    if res.status().is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
}
