//! `/metrics`: Prometheus text on its own listener, never on the API's port.

use std::time::Duration;

use filmlog_api::ratelimit::{Budgets, Quota};
use filmlog_test_support::TestApp;

async fn scrape(app: &TestApp) -> String {
    let res = app
        .client
        .get(format!("{}/metrics", app.metrics_base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("scrape: {e}"));
    assert_eq!(res.status().as_u16(), 200);
    let kind = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    res.text().await.unwrap_or_default()
}

/// The value of the first sample whose line starts with `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[actix_web::test]
async fn requests_pools_and_refusals_are_counted_on_the_metrics_port_only() {
    let app = TestApp::spawn_with(|c| {
        c.rate.budgets = Budgets::all(Quota::new(3, Duration::from_secs(3600)));
    })
    .await;
    let before = sample(
        &scrape(&app).await,
        r#"filmlog_http_requests_total{method="GET",route="/api/v1/films/{slug}",status="404"}"#,
    )
    .unwrap_or(0.0);
    for _ in 0..2 {
        app.get("/api/v1/films/no-such-film", None)
            .await
            .assert_problem(404, "not_found");
    }
    // The third request spends the last of the budget; the fourth is refused.
    app.get("/api/v1/films", None).await.assert_status(200);
    app.get("/api/v1/films", None)
        .await
        .assert_problem(429, "rate_limited");

    let text = scrape(&app).await;
    let after = sample(
        &text,
        r#"filmlog_http_requests_total{method="GET",route="/api/v1/films/{slug}",status="404"}"#,
    )
    .unwrap_or(0.0);
    assert!(after - before >= 2.0, "{before} → {after}\n{text}");
    assert!(
        sample(&text, r#"filmlog_rate_limited_total{class="read"}"#).unwrap_or(0.0) >= 1.0,
        "{text}"
    );
    assert!(
        text.contains(
            "filmlog_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/films\""
        ),
        "{text}"
    );
    for pool in ["write", "read"] {
        for state in ["open", "idle", "waiting"] {
            let series = format!(r#"filmlog_db_pool_connections{{pool="{pool}",state="{state}"}}"#);
            assert!(
                sample(&text, &series).is_some(),
                "{series} missing:\n{text}"
            );
        }
    }

    // Not on the API's port.
    let public = app.get("/metrics", None).await;
    assert_eq!(public.status, 404, "{}", public.text);
}

/// A database error that reaches a response is counted by kind.
#[actix_web::test]
async fn database_errors_are_counted_by_kind() {
    let app = TestApp::spawn_with(|c| {
        c.database_url = Some("postgres://postgres@127.0.0.1:1/nowhere".to_owned());
        c.pool.timeout = Duration::from_millis(200);
    })
    .await;
    let res = app.get("/api/v1/films", None).await;
    res.assert_problem(503, "service_unavailable");
    let text = scrape(&app).await;
    assert!(
        sample(&text, r#"filmlog_db_errors_total{kind="unavailable"}"#).unwrap_or(0.0) >= 1.0,
        "{text}"
    );
}

#[actix_web::test]
async fn every_queue_reports_its_depth_and_the_age_of_its_oldest_item() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn_with(|c| c.portability_worker = false).await;
    let text = scrape(&app).await;
    for queue in ["imports", "exports", "webhook_deliveries"] {
        let depth = format!("filmlog_queue_depth{{queue=\"{queue}\"}}");
        let age = format!("filmlog_queue_oldest_age_seconds{{queue=\"{queue}\"}}");
        assert_eq!(sample(&text, &depth), Some(0.0), "{queue}\n{text}");
        assert_eq!(sample(&text, &age), Some(0.0), "{queue}");
    }
    let ana = app.member("ana").await;
    let t = Some(ana.access_token.as_str());
    app.post("/api/v1/me/exports", t, &serde_json::json!({}))
        .await
        .assert_status(202);
    // Queued a minute ago, as a stuck queue's oldest item would be.
    let mut conn = app.db.connect().await;
    diesel::sql_query("UPDATE export_jobs SET created_at = now() - interval '60 seconds'")
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let text = scrape(&app).await;
    let depth = sample(&text, "filmlog_queue_depth{queue=\"exports\"}");
    assert_eq!(depth, Some(1.0), "{text}");
    let age = sample(&text, "filmlog_queue_oldest_age_seconds{queue=\"exports\"}");
    assert!(age.is_some_and(|a| (60.0..120.0).contains(&a)), "{age:?}");
    assert_eq!(
        sample(&text, "filmlog_queue_depth{queue=\"imports\"}"),
        Some(0.0)
    );
}
