//! Counts and times every request ([`crate::metrics`]).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::metrics::METRICS;

/// Counts and times every request by its route pattern (`/api/v1/films/{slug}`, so the label's
/// values stay few), method and status.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    // A label value from a fixed set: crate::middleware::canonical answers every other method before this
    // middleware runs.
    let method = req.method().as_str().to_owned();
    let res = next.call(req).await?;
    if let Some(m) = METRICS.as_ref() {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        let status = res.status().as_u16().to_string();
        m.requests
            .with_label_values(&[route.as_str(), method.as_str(), status.as_str()])
            .inc();
        m.latency
            .with_label_values(&[route.as_str(), method.as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(res)
}
