//! Spans leave the process by OTLP when the standard `OTEL_*` variables say so: a request span
//! named after its route, carrying the request id and continuing the caller's `traceparent`, with
//! the database statements as its children (their text without bind values).

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use filmlog_test_support::TestDatabase;
use serde_json::Value;

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN: &str = "b7ad6b7169203331";

type Received = Arc<Mutex<Vec<Value>>>;

/// A minimal OTLP/HTTP JSON collector: keeps every span it is sent.
async fn collect(body: web::Bytes, received: web::Data<Received>) -> HttpResponse {
    let Ok(doc) = serde_json::from_slice::<Value>(&body) else {
        return HttpResponse::BadRequest().finish();
    };
    let spans = doc["resourceSpans"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["scopeSpans"].as_array().into_iter().flatten())
        .flat_map(|s| s["spans"].as_array().into_iter().flatten())
        .cloned();
    if let Ok(mut all) = received.lock() {
        all.extend(spans);
    }
    HttpResponse::Ok()
        .content_type("application/json")
        .body("{}")
}

fn attribute<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

#[actix_web::test]
async fn request_and_database_spans_are_exported_by_otlp() {
    let received: Received = Arc::default();
    let data = web::Data::new(received.clone());
    let collector = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(16 << 20))
            .route("/v1/traces", web::post().to(collect))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap_or_else(|e| panic!("{e}"));
    let collector_port = collector.addrs()[0].port();
    let collector = collector.run();
    let collector_handle = collector.handle();
    actix_web::rt::spawn(collector);

    let db = TestDatabase::new().await;
    let port = crate::process::free_port();
    let mut child = crate::process::spawn_server(
        db.url(),
        port,
        &[
            ("RUST_LOG", "warn".to_owned()),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{collector_port}"),
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json".to_owned()),
            ("OTEL_SERVICE_NAME", "filmlog-under-test".to_owned()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
        ],
    );

    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/v1/films?limit=1");
    let started = Instant::now();
    let response = loop {
        let sent = client
            .get(&url)
            .header("x-request-id", "trace-me-1")
            .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN}-01"))
            .send()
            .await;
        match sent {
            Ok(r) => break r,
            Err(_) if started.elapsed() < Duration::from_secs(15) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("server did not start: {e}"),
        }
    };
    assert_eq!(response.status(), 200);

    // SIGTERM: the server drains, and dropping its telemetry flushes the spans still batched.
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(killed.is_ok_and(|s| s.success()));
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().ok().flatten().is_none() {
        assert!(Instant::now() < deadline, "the server did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    collector_handle.stop(true).await;

    let spans = received.lock().map(|s| s.clone()).unwrap_or_default();
    let request = spans
        .iter()
        .find(|s| {
            attribute(s, "request_id") == Some(&serde_json::json!({"stringValue": "trace-me-1"}))
        })
        .unwrap_or_else(|| panic!("no request span among {spans:#?}"));
    assert_eq!(request["name"], "GET /api/v1/films", "{request:#}");
    assert_eq!(request["traceId"], TRACE_ID, "the caller's trace continues");
    assert_eq!(request["parentSpanId"], CALLER_SPAN);
    assert_eq!(request["kind"], 2, "a server span");
    assert_eq!(
        attribute(request, "http.route"),
        Some(&serde_json::json!({"stringValue": "/api/v1/films"}))
    );
    assert_eq!(
        attribute(request, "http.response.status_code"),
        Some(&serde_json::json!({"intValue": "200"}))
    );
    let queries: Vec<&Value> = spans
        .iter()
        .filter(|s| s["parentSpanId"] == request["spanId"])
        .collect();
    assert!(
        !queries.is_empty(),
        "no database span under the request: {spans:#?}"
    );
    for q in &queries {
        assert_eq!(q["traceId"], TRACE_ID);
        assert_eq!(q["kind"], 3, "a client span");
        let text = attribute(q, "db.query.text")
            .and_then(|v| v["stringValue"].as_str())
            .unwrap_or_else(|| panic!("no statement text: {q:#?}"));
        assert!(!text.contains("binds"), "{text}");
        assert_eq!(
            attribute(q, "db.system.name"),
            Some(&serde_json::json!({"stringValue": "postgresql"}))
        );
    }
    assert!(
        queries.iter().any(|q| q["name"] == "SELECT"),
        "{queries:#?}"
    );
}
