//! Every kind of rejection, the framework's own included, is problem+json with a stable code.

use std::time::{Duration, Instant};

use filmlog_test_support::TestApp;
use reqwest::Method;
use serde_json::json;

#[actix_web::test]
async fn malformed_json_is_400() {
    let app = TestApp::spawn().await;
    let res = TestApp::read(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body("{\"username\": "),
    )
    .await;
    res.assert_problem(400, "malformed_json");
}

#[actix_web::test]
async fn json_that_is_not_an_object_is_422() {
    let app = TestApp::spawn().await;
    for body in [json!(["ana", "pw"]), json!("ana"), json!(null), json!(42)] {
        let res = app.post("/api/v1/auth/login", None, &body).await;
        res.assert_problem(422, "validation_failed");
    }
}

#[actix_web::test]
async fn a_wrong_content_type_is_415() {
    let app = TestApp::spawn().await;
    let res = TestApp::read(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await;
    res.assert_problem(415, "unsupported_media_type");
    let none = TestApp::read(app.client.post(app.url("/api/v1/auth/login")).body("{}")).await;
    none.assert_problem(415, "unsupported_media_type");
}

#[actix_web::test]
async fn an_unknown_route_is_404() {
    let app = TestApp::spawn().await;
    app.get("/api/v1/nothing-here", None)
        .await
        .assert_problem(404, "route_not_found");
    app.get("/", None)
        .await
        .assert_problem(404, "route_not_found");
}

#[actix_web::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let res = app
        .send(Method::DELETE, "/api/v1/auth/login", None, None)
        .await;
    res.assert_problem(405, "method_not_allowed");
    assert_eq!(res.header("allow"), Some("OPTIONS, POST"));
    let me = app.send(Method::POST, "/api/v1/me", None, None).await;
    me.assert_problem(405, "method_not_allowed");
    assert_eq!(
        me.header("allow"),
        Some("DELETE, GET, HEAD, OPTIONS, PATCH")
    );
    let trace = app
        .send(Method::TRACE, "/api/v1/members/ana", None, None)
        .await;
    trace.assert_problem(405, "method_not_allowed");
}

#[actix_web::test]
async fn a_body_over_the_limit_is_413_and_a_long_review_sized_body_is_not() {
    let app = TestApp::spawn().await;
    let huge = json!({"username": "ana", "password": "x".repeat(600 * 1024)});
    app.post("/api/v1/auth/login", None, &huge)
        .await
        .assert_problem(413, "payload_too_large");
    // 100,000 four-byte characters fit under the limit.
    let long = json!({"username": "ana", "password": "😀".repeat(100_000)});
    app.post("/api/v1/auth/login", None, &long)
        .await
        .assert_problem(401, "invalid_credentials");
    // Chunked, with no Content-Length, is cut off too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        std::iter::once(Ok(b"{\"username\":\"ana\",\"password\":\"".to_vec()))
            .chain((0..700).map(|_| Ok(vec![b'x'; 1024])))
            .chain(std::iter::once(Ok(b"\"}".to_vec())))
            .collect();
    let stream = futures_util::stream::iter(chunks);
    let res = TestApp::read(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream)),
    )
    .await;
    res.assert_problem(413, "payload_too_large");
}

#[actix_web::test]
async fn control_characters_in_text_are_422_before_the_database() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    for text in ["nul\u{0}here", "bell\u{7}", "esc\u{1b}[31m", "del\u{7f}"] {
        let res = app
            .send(
                Method::PATCH,
                "/api/v1/me",
                Some(&ana.access_token),
                Some(&json!({"display_name": text})),
            )
            .await;
        let body = res.assert_problem(422, "validation_failed");
        assert_eq!(body["errors"][0]["code"], "invalid_display_name");
    }
    // Newlines and tabs are fine where text may span lines.
    let res = app
        .send(
            Method::PATCH,
            "/api/v1/me",
            Some(&ana.access_token),
            Some(&json!({"bio": "a\n\tb\r\nc"})),
        )
        .await;
    res.assert_status(200);
}

#[actix_web::test]
async fn a_database_that_is_down_is_503_with_retry_after_within_a_second_or_so() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(1);
    drop(listener);
    let app = TestApp::spawn_with(|c| {
        c.database_url = Some(format!("postgres://postgres@127.0.0.1:{port}/none"))
    })
    .await;
    let started = Instant::now();
    let ready = app.get("/health/ready", None).await;
    ready.assert_problem(503, "service_unavailable");
    assert_eq!(ready.header("retry-after"), Some("1"));
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": "ana", "password": "whatever it is"}),
        )
        .await;
    login.assert_problem(503, "service_unavailable");
    assert!(
        !login.text.contains("127.0.0.1") && !login.text.contains("refused"),
        "{}",
        login.text
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    // Liveness does not depend on the database.
    app.get("/health/live", None).await.assert_status(200);
}

#[actix_web::test]
async fn ready_answers_200_when_the_database_answers() {
    let app = TestApp::spawn().await;
    let ready = app.get("/health/ready", None).await;
    assert_eq!(ready.assert_status(200)["status"], "ok");
    assert!(ready.header("x-request-id").is_some());
}

#[actix_web::test]
async fn an_exhausted_pool_is_503_not_a_hang() {
    let app = TestApp::spawn_with(|c| {
        c.pool.max_size = 1;
        c.pool.timeout = Duration::from_millis(300);
        c.reads = Some(c.pool.clone());
    })
    .await;
    let ana = app.member("ana").await;
    let held = (app.state.pool.get().await, app.state.reads.get().await);
    assert!(held.0.is_ok() && held.1.is_ok());
    let started = Instant::now();
    let res = app.get("/api/v1/members/ana", None).await;
    res.assert_problem(503, "service_unavailable");
    assert_eq!(res.header("retry-after"), Some("1"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    drop(held);
    app.get("/api/v1/me", Some(&ana.access_token))
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn request_ids_are_echoed_or_generated() {
    let app = TestApp::spawn().await;
    let echoed = TestApp::read(
        app.client
            .get(app.url("/health/live"))
            .header("x-request-id", "abc-123"),
    )
    .await;
    assert_eq!(echoed.header("x-request-id"), Some("abc-123"));
    let generated = app.get("/api/v1/nothing", None).await;
    let id = generated.header("x-request-id").unwrap_or_default();
    assert_eq!(id.len(), 32);
    assert_eq!(generated.json["request_id"], id);
    // An id that could forge log lines is replaced.
    let bad = TestApp::read(
        app.client
            .get(app.url("/health/live"))
            .header("x-request-id", "a b"),
    )
    .await;
    assert_ne!(bad.header("x-request-id"), Some("a b"));
}

#[actix_web::test]
async fn docs_are_served_offline() {
    let app = TestApp::spawn().await;
    let docs = app.get("/docs/", None).await;
    assert_eq!(docs.status, 200);
    assert!(
        docs.text.contains("swagger-ui"),
        "{}",
        &docs.text[..docs.text.len().min(300)]
    );
    assert!(
        !docs.text.contains("cdn."),
        "the docs page must not load scripts from a CDN"
    );
    let bundle = app.get("/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(bundle.status, 200);
    assert!(bundle.text.len() > 100_000);
    let redirect = TestApp::read(app.client.get(app.url("/docs"))).await;
    assert_eq!(redirect.status, 200, "/docs redirects to /docs/");
    let spec = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(spec.assert_status(200)["info"]["title"], "Filmlog API");
}

/// Every documented route with a path parameter answers 404 `not_found` for a value that cannot name
/// anything (one extractor per kind of parameter), whatever the method: generated from the OpenAPI
/// document, so a new route is checked as soon as it is documented.
#[actix_web::test]
async fn impossible_path_parameters_are_404_on_every_route() {
    let app = filmlog_test_support::TestApp::spawn().await;
    let ana = app.member("ana").await;
    let api = filmlog_api::openapi();
    let mut checked = 0;
    for (path, item) in &api.paths.paths {
        if !path.contains('{') {
            continue;
        }
        let concrete = path
            .replace("{slug}", "Not%20A%20Slug")
            .replace("{username}", "no%20such%20member!")
            .replace("{id}", "0abc")
            .replace("{list_id}", "0abc")
            .replace("{webhook_id}", "0abc")
            .replace("{import_id}", "0abc")
            .replace("{export_id}", "0abc")
            .replace("{client_id}", "no%20such%20app!")
            .replace("{person}", "Not%20A%20Person!");
        assert!(
            !concrete.contains('{'),
            "a parameter without a 404 case: {path}"
        );
        let methods = [
            (reqwest::Method::GET, item.get.is_some()),
            (reqwest::Method::POST, item.post.is_some()),
            (reqwest::Method::PUT, item.put.is_some()),
            (reqwest::Method::PATCH, item.patch.is_some()),
            (reqwest::Method::DELETE, item.delete.is_some()),
        ];
        for (method, documented) in methods {
            if !documented {
                continue;
            }
            let body = serde_json::json!({});
            let with_body = matches!(
                method,
                reqwest::Method::POST | reqwest::Method::PUT | reqwest::Method::PATCH
            );
            let res = app
                .send(
                    method.clone(),
                    &concrete,
                    Some(&ana.access_token),
                    with_body.then_some(&body),
                )
                .await;
            assert_eq!(
                (res.status, res.json["code"].as_str()),
                (404, Some("not_found")),
                "{method} {path}: {}",
                res.text
            );
            checked += 1;
        }
    }
    // Every operation with a path parameter: GET 28, DELETE 18, PUT 11, POST 10, PATCH 6.
    assert_eq!(checked, 78, "operations with path parameters");
}

/// The errors the HTTP layer answers by itself, before any route runs, are problem+json too.
#[actix_web::test]
async fn http_layer_errors_are_problem_json() {
    let app = TestApp::spawn_with(|c| {
        c.http.head_timeout = Duration::from_millis(500);
    })
    .await;
    let garbage = app.raw(b"THIS IS NOT HTTP\r\n\r\n").await;
    filmlog_test_support::assert_raw_problem(&garbage, 400, "malformed_request");
    let huge_header = format!(
        "GET /api/v1/films HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(140 * 1024)
    );
    let too_large = app.raw(huge_header.as_bytes()).await;
    filmlog_test_support::assert_raw_problem(&too_large, 431, "headers_too_large");
    let started = Instant::now();
    let slow = app.raw(b"GET /api/v1/films HTTP/1.1\r\nHost: x\r\n").await;
    filmlog_test_support::assert_raw_problem(&slow, 408, "request_timeout");
    assert!(started.elapsed() >= Duration::from_millis(400));
    // Fresh connections: with a 500 ms head timeout an idle pooled one may already be answered 408.
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    let long_uri = format!("/api/v1/films?q={}", "a".repeat(9 * 1024));
    TestApp::read(fresh.get(app.url(&long_uri)))
        .await
        .assert_problem(414, "uri_too_long");
    // The server still answers normally.
    TestApp::read(fresh.get(app.url("/api/v1/films")))
        .await
        .assert_status(200);
}
