//! `GET /metrics`, on the metrics listener only.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use filmlog_persistence::{DbPool, replication};
use prometheus::{Encoder, TextEncoder};

use crate::metrics::{METRICS, Metrics, lsn_bytes};
use crate::state::AppState;

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
    // The queues are measured on the read pool (never the writers'), for a second at most: a slow
    // or failing measure leaves the gauges at their last values (and is logged).
    let measured = tokio::time::timeout(Duration::from_secs(1), async {
        match state.reads.get().await {
            Ok(mut conn) => filmlog_jobs::metrics::measure_queues(&mut conn).await,
            Err(error) => tracing::warn!(%error, "queue depths not measured: no connection"),
        }
    });
    if measured.await.is_err() {
        tracing::warn!("queue depths not measured within a second");
    }
    let mut families = m.registry.gather();
    families.extend(filmlog_jobs::metrics::gather());
    let mut out = Vec::new();
    if let Err(error) = TextEncoder::new().encode(&families, &mut out) {
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
