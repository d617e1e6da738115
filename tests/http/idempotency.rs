use filmlog_test_support::TestApp;
use serde_json::json;

async fn post_with_key(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: &serde_json::Value,
) -> filmlog_test_support::TestResponse {
    TestApp::read(
        app.client
            .post(app.url(path))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(body),
    )
    .await
}

#[actix_web::test]
async fn a_retry_with_the_same_key_replays_the_original_response() {
    let app = TestApp::spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let body = json!({"film": slug, "watched_on": "2026-01-01", "rating": 4.0});
    let first = post_with_key(&app, "/api/v1/log-entries", &ana.access_token, "k-1", &body).await;
    first.assert_status(201);
    let again = post_with_key(&app, "/api/v1/log-entries", &ana.access_token, "k-1", &body).await;
    again.assert_status(201);
    assert_eq!(again.json, first.json);
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(
        app.get(&format!("/api/v1/films/{slug}/me"), Some(&ana.access_token))
            .await
            .json["log_entry_count"],
        1
    );

    // The same key with another body is refused; another key creates another entry.
    let other = json!({"film": slug, "watched_on": "2026-01-02"});
    post_with_key(
        &app,
        "/api/v1/log-entries",
        &ana.access_token,
        "k-1",
        &other,
    )
    .await
    .assert_problem(422, "idempotency_key_reused");
    post_with_key(
        &app,
        "/api/v1/log-entries",
        &ana.access_token,
        "k-2",
        &other,
    )
    .await
    .assert_status(201);
    // Keys belong to a member: another member's k-1 is theirs.
    let bruno = app.member("bruno").await;
    post_with_key(
        &app,
        "/api/v1/log-entries",
        &bruno.access_token,
        "k-1",
        &body,
    )
    .await
    .assert_status(201);
    // A failed request leaves the key free.
    let bad = json!({"film": slug});
    post_with_key(&app, "/api/v1/log-entries", &ana.access_token, "k-3", &bad)
        .await
        .assert_problem(422, "log_entry_needs_date_or_review");
    post_with_key(&app, "/api/v1/log-entries", &ana.access_token, "k-3", &body)
        .await
        .assert_status(201);
    // Also when it fails inside the unit that claimed the key (no film has the slug, found out by
    // the write): the claim goes with the failed transaction, so the key takes another body.
    let unknown = json!({"film": "no-such-film-1999", "watched_on": "2024-05-01"});
    post_with_key(
        &app,
        "/api/v1/log-entries",
        &bruno.access_token,
        "k-4",
        &unknown,
    )
    .await
    .assert_problem(422, "validation_failed");
    post_with_key(
        &app,
        "/api/v1/log-entries",
        &bruno.access_token,
        "k-4",
        &body,
    )
    .await
    .assert_status(201);
    for key in ["", "with space", &"x".repeat(256)] {
        post_with_key(&app, "/api/v1/log-entries", &ana.access_token, key, &body)
            .await
            .assert_problem(400, "invalid_idempotency_key");
    }
    assert_eq!(
        app.get(&format!("/api/v1/films/{slug}/me"), Some(&ana.access_token))
            .await
            .json["log_entry_count"],
        3
    );
}

#[actix_web::test]
async fn concurrent_retries_create_once() {
    let app = TestApp::spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let entry = app
        .log(&ana, json!({"film": slug, "review": {"text": "Great."}}))
        .await;
    let path = format!("/api/v1/log-entries/{entry}/comments");
    let body = json!({"body": "Only once, please."});
    let results = futures_util::future::join_all(
        (0..10).map(|_| post_with_key(&app, &path, &ana.access_token, "c-1", &body)),
    )
    .await;
    assert!(
        results.iter().all(|r| r.status == 201),
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let ids: std::collections::HashSet<String> = results
        .iter()
        .filter_map(|r| r.json["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(
        app.get(&format!("/api/v1/log-entries/{entry}"), None)
            .await
            .json["comment_count"],
        1
    );
}

/// Security review L8: keys older than a day are pruned (the daily job's statement), fresher ones
/// kept and still replayed.
#[actix_web::test]
async fn keys_older_than_a_day_are_pruned() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let body = json!({"film": slug, "watched_on": "2026-01-01"});
    for key in ["old-1", "old-2", "fresh"] {
        post_with_key(&app, "/api/v1/log-entries", &ana.access_token, key, &body)
            .await
            .assert_status(201);
    }
    let mut conn = app.db.connect().await;
    diesel::sql_query(
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key LIKE 'old-%'",
    )
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let pruned = filmlog_persistence::idempotency::prune(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pruned, 2);
    #[derive(diesel::QueryableByName)]
    struct Left {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let left: Left = diesel::sql_query("SELECT count(*) AS n FROM idempotency_keys")
        .get_result(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(left.n, 1);
    let again = post_with_key(
        &app,
        "/api/v1/log-entries",
        &ana.access_token,
        "fresh",
        &body,
    )
    .await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}
