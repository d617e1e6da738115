//! Prometheus metrics, served on a port of their own (`FILMLOG_METRICS_ADDR`), never on the public
//! one: requests and their latency per route and status, the connection pools, database errors by
//! kind, rate-limit refusals, the periodic jobs' runs, and how far the standby's replay is behind
//! the primary.

use std::sync::LazyLock;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

use filmlog_persistence::{DbPool, PersistenceError, replication};

use crate::state::AppState;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    db_errors: IntCounterVec,
    rate_limited: IntCounterVec,
    pools: IntGaugeVec,
    replication_lag: IntGaugeVec,
    job_runs: IntCounterVec,
    job_duration: HistogramVec,
    job_last_success: IntGaugeVec,
}

fn build() -> Result<Metrics, prometheus::Error> {
    let registry = Registry::new_custom(Some("filmlog".to_owned()), None)?;
    let requests = IntCounterVec::new(
        Opts::new(
            "http_requests_total",
            "Requests answered, by route pattern, method and status",
        ),
        &["route", "method", "status"],
    )?;
    let latency = HistogramVec::new(
        HistogramOpts::new(
            "http_request_duration_seconds",
            "Time from the request's head to its response, by route pattern and method",
        )
        .buckets(vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ]),
        &["route", "method"],
    )?;
    let db_errors = IntCounterVec::new(
        Opts::new(
            "db_errors_total",
            "Database errors that reached a response, by kind",
        ),
        &["kind"],
    )?;
    let rate_limited = IntCounterVec::new(
        Opts::new(
            "rate_limited_total",
            "Requests refused by the rate limiter, by budget class",
        ),
        &["class"],
    )?;
    let pools = IntGaugeVec::new(
        Opts::new(
            "db_pool_connections",
            "Connections of each pool: open, idle (available), and requests waiting",
        ),
        &["pool", "state"],
    )?;
    let replication_lag = IntGaugeVec::new(
        Opts::new(
            "replication_lag_bytes",
            "WAL the standby has not replayed yet, as this instance sees it at the scrape",
        ),
        &["node"],
    )?;
    let job_runs = IntCounterVec::new(
        Opts::new(
            "job_runs_total",
            "Runs of the server's periodic jobs, by job and outcome (ok, failed)",
        ),
        &["job", "outcome"],
    )?;
    let job_duration = HistogramVec::new(
        HistogramOpts::new("job_duration_seconds", "How long a periodic job's run took").buckets(
            vec![0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0],
        ),
        &["job"],
    )?;
    let job_last_success = IntGaugeVec::new(
        Opts::new(
            "job_last_success_timestamp_seconds",
            "Unix time of a periodic job's last successful run (its age: time() minus this)",
        ),
        &["job"],
    )?;
    registry.register(Box::new(job_runs.clone()))?;
    registry.register(Box::new(job_duration.clone()))?;
    registry.register(Box::new(job_last_success.clone()))?;
    registry.register(Box::new(requests.clone()))?;
    registry.register(Box::new(latency.clone()))?;
    registry.register(Box::new(db_errors.clone()))?;
    registry.register(Box::new(rate_limited.clone()))?;
    registry.register(Box::new(pools.clone()))?;
    registry.register(Box::new(replication_lag.clone()))?;
    Ok(Metrics {
        registry,
        requests,
        latency,
        db_errors,
        rate_limited,
        pools,
        replication_lag,
        job_runs,
        job_duration,
        job_last_success,
    })
}

/// The process's metrics (one registry, whatever the number of workers or apps).
pub static METRICS: LazyLock<Option<Metrics>> = LazyLock::new(|| match build() {
    Ok(m) => Some(m),
    Err(error) => {
        tracing::error!(%error, "metrics could not be registered; /metrics will be empty");
        None
    }
});

/// A database error that reached a response.
pub fn database_error(err: &PersistenceError) {
    let kind = match err {
        PersistenceError::NotFound => return,
        PersistenceError::UniqueViolation { .. } => "unique_violation",
        PersistenceError::ForeignKeyViolation { .. } => "foreign_key_violation",
        PersistenceError::CheckViolation { .. } => "check_violation",
        PersistenceError::Unavailable(_) => "unavailable",
        PersistenceError::SerializationFailure => "serialization_failure",
        PersistenceError::Query(_) => "query",
    };
    if let Some(m) = METRICS.as_ref() {
        m.db_errors.with_label_values(&[kind]).inc();
    }
}

/// A periodic job's run ended after `took`.
pub fn job_run(job: &str, ok: bool, took: Duration) {
    if let Some(m) = METRICS.as_ref() {
        let outcome = if ok { "ok" } else { "failed" };
        m.job_runs.with_label_values(&[job, outcome]).inc();
        m.job_duration
            .with_label_values(&[job])
            .observe(took.as_secs_f64());
        if ok {
            m.job_last_success
                .with_label_values(&[job])
                .set(chrono::Utc::now().timestamp());
        }
    }
}

/// A request the limiter refused.
pub fn rate_limited(class: &str) {
    if let Some(m) = METRICS.as_ref() {
        m.rate_limited.with_label_values(&[class]).inc();
    }
}

/// Counts and times every request by its route pattern (`/api/v1/films/{slug}`, so the label's
/// values stay few), method and status.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    // A label value from a fixed set: crate::canonical answers every other method before this
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

fn pool_gauges(m: &Metrics, name: &str, pool: &DbPool) {
    let status = pool.status();
    let set = |state: &str, v: usize| {
        m.pools
            .with_label_values(&[name, state])
            .set(i64::try_from(v).unwrap_or(i64::MAX));
    };
    set("open", status.size);
    set("idle", status.available);
    set("waiting", status.waiting);
}

/// The LSN `X/Y` as a number of bytes.
pub fn lsn_bytes(lsn: &str) -> Option<u64> {
    let (hi, lo) = lsn.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

async fn standby_lag(state: &AppState) -> Option<u64> {
    let standby = state.standby.as_ref()?;
    let timeout = Duration::from_secs(1);
    let primary = async {
        let mut conn = state.pool.get().await.ok()?;
        replication::current_position(&mut conn).await.ok()
    };
    let replayed = async {
        let mut conn = standby.get().await.ok()?;
        replication::replayed_position(&mut conn)
            .await
            .ok()
            .flatten()
    };
    let (primary, replayed) =
        tokio::time::timeout(timeout, async { (primary.await, replayed.await) })
            .await
            .ok()?;
    Some(lsn_bytes(&primary?)?.saturating_sub(lsn_bytes(&replayed?)?))
}

/// `GET /metrics` in Prometheus's text format.
pub async fn scrape(state: web::Data<AppState>) -> HttpResponse {
    let Some(m) = METRICS.as_ref() else {
        return HttpResponse::ServiceUnavailable().finish();
    };
    pool_gauges(m, "write", &state.pool);
    pool_gauges(m, "read", &state.reads);
    if let Some(standby) = &state.standby {
        pool_gauges(m, "standby", standby);
        match standby_lag(&state).await {
            Some(lag) => m
                .replication_lag
                .with_label_values(&["standby"])
                .set(i64::try_from(lag).unwrap_or(i64::MAX)),
            None => m.replication_lag.with_label_values(&["standby"]).set(-1),
        }
    }
    let mut out = Vec::new();
    if let Err(error) = TextEncoder::new().encode(&m.registry.gather(), &mut out) {
        tracing::warn!(%error, "metrics not encoded");
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out)
}

/// The metrics app, for its own listener.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(state))
            .route("/metrics", web::get().to(scrape));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsns_are_byte_positions() {
        assert_eq!(lsn_bytes("0/0"), Some(0));
        assert_eq!(lsn_bytes("1/0"), Some(1 << 32));
        assert_eq!(lsn_bytes("16/B374D848"), Some((0x16 << 32) | 0xB374_D848));
        assert_eq!(lsn_bytes("x/1"), None);
        assert_eq!(lsn_bytes("1"), None);
    }
}
