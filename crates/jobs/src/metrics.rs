//! The jobs' metrics: runs of each periodic job, and the depth and oldest item's age of every
//! durable queue, so an operator sees a stuck queue before members do. The HTTP layer's metrics
//! listener serves them beside its own ([`gather`]).

use std::sync::LazyLock;
use std::time::Duration;

use filmlog_persistence::{AsyncPgConnection, queues};
use prometheus::{
    GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
};

struct Metrics {
    registry: Registry,
    runs: IntCounterVec,
    duration: HistogramVec,
    last_success: IntGaugeVec,
    depth: IntGaugeVec,
    oldest: GaugeVec,
    fanout_lag: prometheus::Histogram,
    mail: IntCounterVec,
}

fn build() -> Result<Metrics, prometheus::Error> {
    let registry = Registry::new_custom(Some("filmlog".to_owned()), None)?;
    let runs = IntCounterVec::new(
        Opts::new(
            "job_runs_total",
            "Runs of the server's periodic jobs, by job and outcome (ok, failed)",
        ),
        &["job", "outcome"],
    )?;
    let duration = HistogramVec::new(
        HistogramOpts::new("job_duration_seconds", "How long a periodic job's run took").buckets(
            vec![0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0],
        ),
        &["job"],
    )?;
    let last_success = IntGaugeVec::new(
        Opts::new(
            "job_last_success_timestamp_seconds",
            "Unix time of a periodic job's last successful run (its age: time() minus this)",
        ),
        &["job"],
    )?;
    let depth = IntGaugeVec::new(
        Opts::new(
            "queue_depth",
            "Items waiting or in progress in a durable queue, as of the scrape",
        ),
        &["queue"],
    )?;
    let oldest = GaugeVec::new(
        Opts::new(
            "queue_oldest_age_seconds",
            "How long the oldest item of a durable queue has waited, as of the scrape (0 when empty)",
        ),
        &["queue"],
    )?;
    let fanout_lag = prometheus::Histogram::with_opts(
        HistogramOpts::new(
            "feed_fanout_lag_seconds",
            "From an activity's commit (its queueing) to its fan-out's commit into the home timelines",
        )
        .buckets(vec![
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ]),
    )?;
    let mail = IntCounterVec::new(
        Opts::new(
            "mail_total",
            "Mail the mail worker handled, by kind and outcome (sent, retry, failed)",
        ),
        &["kind", "outcome"],
    )?;
    registry.register(Box::new(mail.clone()))?;
    registry.register(Box::new(fanout_lag.clone()))?;
    registry.register(Box::new(runs.clone()))?;
    registry.register(Box::new(duration.clone()))?;
    registry.register(Box::new(last_success.clone()))?;
    registry.register(Box::new(depth.clone()))?;
    registry.register(Box::new(oldest.clone()))?;
    Ok(Metrics {
        registry,
        runs,
        duration,
        last_success,
        depth,
        oldest,
        fanout_lag,
        mail,
    })
}

static METRICS: LazyLock<Option<Metrics>> = LazyLock::new(|| match build() {
    Ok(m) => Some(m),
    Err(error) => {
        tracing::error!(%error, "job metrics could not be registered");
        None
    }
});

/// A job's run ended after `took`.
pub fn job_run(job: &str, ok: bool, took: Duration) {
    if let Some(m) = METRICS.as_ref() {
        let outcome = if ok { "ok" } else { "failed" };
        m.runs.with_label_values(&[job, outcome]).inc();
        m.duration
            .with_label_values(&[job])
            .observe(took.as_secs_f64());
        if ok {
            m.last_success
                .with_label_values(&[job])
                .set(chrono::Utc::now().timestamp());
        }
    }
}

/// A batch of the feed's queue was done: each item's time in the queue, in seconds.
pub fn fanned_out(ages: &[f64]) {
    if let Some(m) = METRICS.as_ref() {
        for age in ages {
            m.fanout_lag.observe(*age);
        }
    }
}

/// The mail worker sent a mail of `kind`, or failed to (`outcome` `retry` or `failed`).
pub fn mail(kind: &str, outcome: &str) {
    if let Some(m) = METRICS.as_ref() {
        m.mail.with_label_values(&[kind, outcome]).inc();
    }
}

/// Measures every queue (one statement) into the gauges; on a database error the gauges keep their
/// last values and the error is logged.
pub async fn measure_queues(conn: &mut AsyncPgConnection) {
    let Some(m) = METRICS.as_ref() else {
        return;
    };
    match queues::depths(conn).await {
        Ok(depths) => {
            for d in depths {
                m.depth.with_label_values(&[d.queue.as_str()]).set(d.items);
                m.oldest
                    .with_label_values(&[d.queue.as_str()])
                    .set(d.oldest_secs);
            }
        }
        Err(error) => tracing::warn!(%error, "queue depths not measured"),
    }
}

/// The jobs' metric families, for the metrics listener to encode with its own.
pub fn gather() -> Vec<prometheus::proto::MetricFamily> {
    METRICS
        .as_ref()
        .map(|m| m.registry.gather())
        .unwrap_or_default()
}
