//! The request's context: its id, its span, the headers every response carries, one log line.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

use crate::middleware::request_id;
use crate::state::AppState;

/// Request id in and out, the live streams its writes woke, a `request` span
/// around the whole request (its id, method, route and status; a child of the caller's trace when
/// it sent `traceparent`), and one log line per request.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = request_id::accept_or_generate(
        req.headers()
            .get(request_id::HEADER)
            .and_then(|v| v.to_str().ok()),
    );
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let instance = state.as_ref().and_then(|s| s.instance.clone());
    let method = req.method().clone();
    let path = req.path().to_owned();
    let span = crate::middleware::tracing_context::request_span(&req, &id);
    let started = Instant::now();
    // The live streams this request made news for are woken once it is done (its transactions
    // committed), not from inside them (see `notifications::collect_wakes`).
    let events = state.as_ref().map(|s| s.events.clone());
    let handled = filmlog_persistence::notifications::collect_wakes(next.call(req), move |ids| {
        if let Some(events) = events {
            events.wake_everywhere(&ids);
        }
    });
    let handled = request_id::scope(id.clone(), crate::held::scope(handled));
    let mut res = tracing::Instrument::instrument(handled, span.clone()).await?;
    crate::middleware::tracing_context::record_response(&span, &res);
    let headers = res.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(HeaderName::from_static(request_id::HEADER), value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(value) = instance.and_then(|i| HeaderValue::from_str(&i).ok()) {
        headers.insert(HeaderName::from_static("filmlog-instance"), value);
    }
    tracing::info!(
        parent: &span,
        request_id = %id,
        %method,
        %path,
        status = res.status().as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    Ok(res)
}
