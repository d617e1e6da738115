//! Prometheus metrics, served on a port of their own (`FILMLOG_METRICS_ADDR`), never on the public
//! one: requests and their latency per route and status, the connection pools, database errors by
//! kind, rate-limit refusals, how far the standby's replay is behind
//! the primary; the jobs' own metrics
//! ([`filmlog_jobs::metrics`]: runs, queue depths and ages) are served beside them.

use std::sync::LazyLock;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};

use filmlog_persistence::PersistenceError;

pub struct Metrics {
    pub(crate) registry: Registry,
    pub(crate) requests: IntCounterVec,
    pub(crate) latency: HistogramVec,
    pub(crate) db_errors: IntCounterVec,
    pub(crate) rate_limited: IntCounterVec,
    pub(crate) pools: IntGaugeVec,
    pub(crate) replication_lag: IntGaugeVec,
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
        PersistenceError::UniqueViolation { .. } | PersistenceError::Taken(_) => "unique_violation",
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

/// A request the limiter refused.
pub fn rate_limited(class: &str) {
    if let Some(m) = METRICS.as_ref() {
        m.rate_limited.with_label_values(&[class]).inc();
    }
}

/// The LSN `X/Y` as a number of bytes.
pub fn lsn_bytes(lsn: &str) -> Option<u64> {
    let (hi, lo) = lsn.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
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
