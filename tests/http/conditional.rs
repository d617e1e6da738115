//! Conditional writes under real concurrency: of N writers holding the same ETag exactly one wins.
//! Generated from the OpenAPI document (every operation that takes `If-Match`), so a new conditional
//! endpoint is held to it as soon as it is documented.

use filmlog_test_support::TestApp;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

const WRITERS: usize = 8;

#[actix_web::test]
async fn of_concurrent_writers_with_one_etag_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let slug = app.film("The Wind Will Carry Us", 1999).await;
    let mut devices = Vec::new();
    for i in 0..WRITERS {
        devices.push(app.film(&format!("Device film {i}"), 2000 + i as i32).await);
    }
    let spec = serde_json::to_value(filmlog_api::openapi()).unwrap_or_default();
    let mut checked = Vec::new();
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        for (verb, op) in item.as_object().into_iter().flatten() {
            let conditional = op["parameters"].as_array().into_iter().flatten().any(|p| {
                p["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case("if-match"))
            });
            if !conditional {
                continue;
            }
            let method =
                Method::from_bytes(verb.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET);
            // A fresh target for each operation, and its current ETag.
            let entry = app
                .log(&ana, json!({"film": slug, "watched_on": "2026-11-02"}))
                .await;
            let list = app
                .post(
                    "/api/v1/lists",
                    Some(&ana.access_token),
                    &json!({"name": "Contested", "entries": [{"film": slug}]}),
                )
                .await
                .assert_status(201)["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let concrete = path.replace("{id}", &entry).replace("{list_id}", &list);
            let read = app.get(&concrete, Some(&ana.access_token)).await;
            read.assert_status(200);
            let etag = read.header("etag").unwrap_or_default().to_owned();
            assert!(!etag.is_empty(), "GET {concrete} has no ETag");
            let body = |i: usize| -> Option<Value> {
                match method {
                    Method::DELETE => None,
                    _ if concrete.ends_with("/me") => Some(json!({"bio": format!("device {i}")})),
                    _ if concrete.ends_with("/entries") => {
                        Some(json!([{"op": "add", "film": devices[i], "position": 1}]))
                    }
                    _ if concrete.starts_with("/api/v1/lists/") => {
                        Some(json!({"name": format!("device {i}")}))
                    }
                    _ => Some(json!({"tags": [format!("device-{i}")]})),
                }
            };
            let app_ref = &app;
            let (token, etag_ref, method_ref, path_ref) =
                (&ana.access_token, &etag, &method, &concrete);
            let statuses: Vec<u16> = futures_util::stream::iter((0..WRITERS).map(|i| {
                let body = body(i);
                async move {
                    let mut req = app_ref
                        .client
                        .request(method_ref.clone(), app_ref.url(path_ref))
                        .bearer_auth(token)
                        .header("if-match", etag_ref);
                    if let Some(b) = &body {
                        req = req.json(b);
                    }
                    TestApp::read(req).await.status
                }
            }))
            .buffer_unordered(WRITERS)
            .collect()
            .await;
            let won = statuses.iter().filter(|s| **s < 300).count();
            let lost_as_expected = statuses
                .iter()
                .filter(|s| **s == 412 || (method == Method::DELETE && **s == 404))
                .count();
            assert_eq!(
                (won, lost_as_expected),
                (1, WRITERS - 1),
                "{method} {path}: {statuses:?}"
            );
            checked.push(format!("{method} {path}"));
        }
    }
    // Every operation the spec gives an If-Match parameter.
    checked.sort();
    assert_eq!(
        checked,
        [
            "DELETE /api/v1/log-entries/{id}",
            "PATCH /api/v1/lists/{list_id}",
            "PATCH /api/v1/lists/{list_id}/entries",
            "PATCH /api/v1/log-entries/{id}",
            "PATCH /api/v1/me",
        ]
    );
}
