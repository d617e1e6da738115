//! HTTP caching and CORS, generated from the OpenAPI document where they apply to every route: HEAD
//! beside every GET, an ETag and 304 on every read, `Cache-Control` and `Vary` by who reads.

use filmlog_api::cors::CorsPolicy;
use filmlog_test_support::{TestApp, TestResponse};
use reqwest::Method;
use serde_json::json;

use crate::visibility::every_read;

async fn request(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut req = app.client.request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    TestApp::read(req).await
}

fn vary_lists(res: &TestResponse, name: &str) -> bool {
    res.headers
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case(name))
}

#[actix_web::test]
async fn every_read_answers_head_and_if_none_match_and_says_who_may_keep_it() {
    let app = TestApp::spawn().await;
    let reads = every_read(&app).await;
    let owner_token = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": "owner", "password": TestApp::PASSWORD}),
        )
        .await
        .assert_status(200)["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut checked = 0;
    for (path, needs_token) in &reads {
        // Reads of the caller's own things (`/me…`, `/films/{slug}/me`) need a token, as the spec
        // says (tests/http/visibility.rs checks that they refuse an anonymous caller).
        let readers: Vec<Option<&str>> = if *needs_token {
            vec![Some(owner_token.as_str())]
        } else {
            vec![None, Some(owner_token.as_str())]
        };
        for token in readers {
            let who = if token.is_some() {
                "owner"
            } else {
                "anonymous"
            };
            let get = request(&app, Method::GET, path, token, &[]).await;
            assert_eq!(get.status, 200, "GET {path} as {who}: {}", get.text);
            let etag = get.header("etag").unwrap_or_default().to_owned();
            assert!(etag.starts_with('"'), "GET {path} as {who} has no ETag");
            // The catalog itself may be kept a minute; what members wrote about a film (its
            // reviews, the lists holding it) is revalidated (security review L9).
            let route = path.split('?').next().unwrap_or_default();
            let segments: Vec<&str> = route.split('/').skip(3).collect();
            let catalog = matches!(
                segments.as_slice(),
                ["films"] | ["films", _] | ["films", _, "statistics"]
            );
            let expected = match token {
                Some(_) => "private, no-cache",
                None if catalog => "public, max-age=60",
                None => "public, no-cache",
            };
            assert_eq!(
                get.header("cache-control"),
                Some(expected),
                "GET {path} as {who}"
            );
            assert!(
                vary_lists(&get, "authorization"),
                "GET {path} as {who}: Vary"
            );

            let head = request(&app, Method::HEAD, path, token, &[]).await;
            assert_eq!(head.status, 200, "HEAD {path} as {who}");
            assert!(head.text.is_empty(), "HEAD {path} as {who} sent a body");
            assert_eq!(head.header("etag"), Some(etag.as_str()), "HEAD {path}");
            assert_eq!(
                head.header("content-length"),
                Some(get.text.len().to_string().as_str()),
                "HEAD {path} as {who}: the length of the GET's body"
            );

            let again = request(&app, Method::GET, path, token, &[("if-none-match", &etag)]).await;
            assert_eq!(again.status, 304, "GET {path} as {who} with its ETag");
            assert!(again.text.is_empty());
            assert_eq!(again.header("etag"), Some(etag.as_str()));
            assert_eq!(again.header("cache-control"), Some(expected));
            let other = request(
                &app,
                Method::GET,
                path,
                token,
                &[("if-none-match", "\"something-else\"")],
            )
            .await;
            assert_eq!(other.status, 200, "GET {path} with another ETag");
            checked += 1;
        }
    }
    // 24 reads anyone may make, as the owner and anonymously; 18 that need a token, as the owner.
    assert_eq!(checked, 2 * 24 + 18, "reads checked");
}

#[actix_web::test]
async fn writes_errors_and_tokens_are_never_stored() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let slug = app.film("Taste of Cherry", 1997).await;
    let write = app
        .put(&format!("/api/v1/films/{slug}/like"), &ana.access_token)
        .await;
    assert!(write.status < 300, "{}", write.text);
    assert_eq!(write.header("cache-control"), Some("no-store"));
    let missing = app.get("/api/v1/films/no-such-film", None).await;
    missing.assert_problem(404, "not_found");
    assert_eq!(missing.header("cache-control"), Some("no-store"));
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": "ana", "password": TestApp::PASSWORD}),
        )
        .await;
    login.assert_status(200);
    assert_eq!(login.header("cache-control"), Some("no-store"));
    let probe = app.get("/health/ready", None).await;
    assert_eq!(probe.header("cache-control"), Some("no-store"));
}

#[actix_web::test]
async fn head_and_options_are_answered_and_405_lists_them() {
    let app = TestApp::spawn().await;
    let docs = request(&app, Method::HEAD, "/docs/", None, &[]).await;
    assert_eq!(docs.status, 200, "HEAD /docs/");
    assert!(docs.text.is_empty());
    let spec = request(&app, Method::HEAD, "/api/v1/openapi.json", None, &[]).await;
    assert_eq!(spec.status, 200);
    let options = request(&app, Method::OPTIONS, "/api/v1/films", None, &[]).await;
    assert_eq!(options.status, 204, "{}", options.text);
    assert_eq!(options.header("allow"), Some("GET, HEAD, OPTIONS, POST"));
    let refused = app.send(Method::DELETE, "/api/v1/films", None, None).await;
    refused.assert_problem(405, "method_not_allowed");
    assert_eq!(refused.header("allow"), Some("GET, HEAD, OPTIONS, POST"));
    let unknown = request(&app, Method::HEAD, "/api/v1/nothing-here", None, &[]).await;
    assert_eq!(unknown.status, 404);
}

const ALLOWED: &str = "https://app.example";

async fn cors_app() -> TestApp {
    TestApp::spawn_with(|c| {
        c.cors = CorsPolicy::parse(ALLOWED).unwrap_or_default();
    })
    .await
}

#[actix_web::test]
async fn a_preflight_from_an_allowed_origin_is_answered_on_every_route() {
    let app = cors_app().await;
    let spec = filmlog_api::openapi();
    let mut checked = 0;
    for (path, item) in &spec.paths.paths {
        let concrete = path
            .replace("{slug}", "some-film")
            .replace("{username}", "someone")
            .replace("{id}", "1")
            .replace("{list_id}", "1")
            .replace("{webhook_id}", "1")
            .replace("{import_id}", "1")
            .replace("{export_id}", "1")
            .replace("{client_id}", "no-such-app")
            .replace("{person}", "someone-else");
        let methods = [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
        ];
        for (method, _) in methods.iter().filter(|(_, present)| *present) {
            let res = request(
                &app,
                Method::OPTIONS,
                &concrete,
                None,
                &[
                    ("origin", ALLOWED),
                    ("access-control-request-method", method),
                    (
                        "access-control-request-headers",
                        "authorization, content-type, if-match, idempotency-key",
                    ),
                ],
            )
            .await;
            assert_eq!(
                res.status, 204,
                "preflight {method} {concrete}: {}",
                res.text
            );
            assert_eq!(res.header("access-control-allow-origin"), Some(ALLOWED));
            let methods = res
                .header("access-control-allow-methods")
                .unwrap_or_default();
            assert!(methods.contains(method), "{method} in {methods}");
            let headers = res
                .header("access-control-allow-headers")
                .unwrap_or_default();
            assert!(headers.contains("if-match") && headers.contains("authorization"));
            assert!(res.header("access-control-allow-credentials").is_none());
            assert!(res.header("access-control-max-age").is_some());
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} preflights");
}

#[actix_web::test]
async fn an_allowed_origin_reads_the_exposed_headers_and_another_is_refused() {
    let app = cors_app().await;
    let ana = app.member("ana").await;
    let slug = app.film("Where Is the Friend's House?", 1987).await;
    let read = request(
        &app,
        Method::GET,
        &format!("/api/v1/films/{slug}"),
        Some(&ana.access_token),
        &[("origin", ALLOWED)],
    )
    .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.header("access-control-allow-origin"), Some(ALLOWED));
    let exposed = read
        .header("access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for name in [
        "etag",
        "location",
        "retry-after",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "x-request-id",
        "idempotent-replayed",
    ] {
        assert!(exposed.contains(name), "{name} not exposed: {exposed}");
    }
    assert!(vary_lists(&read, "origin"));

    let evil = "https://evil.example";
    let preflight = request(
        &app,
        Method::OPTIONS,
        &format!("/api/v1/films/{slug}/like"),
        None,
        &[("origin", evil), ("access-control-request-method", "PUT")],
    )
    .await;
    preflight.assert_problem(403, "cors_origin_not_allowed");
    assert!(preflight.header("access-control-allow-origin").is_none());
    // A request sent without a preflight from a page not allowed does nothing.
    let like = request(
        &app,
        Method::PUT,
        &format!("/api/v1/films/{slug}/like"),
        Some(&ana.access_token),
        &[("origin", evil)],
    )
    .await;
    like.assert_problem(403, "cors_origin_not_allowed");
    let relationship = app
        .get(&format!("/api/v1/films/{slug}/me"), Some(&ana.access_token))
        .await;
    assert_eq!(relationship.assert_status(200)["liked"], false);
    // A method or a header the API does not take is refused at the preflight.
    for (method, headers, code) in [
        ("TRACE", "", "cors_method_not_allowed"),
        ("GET", "x-secret", "cors_header_not_allowed"),
    ] {
        let res = request(
            &app,
            Method::OPTIONS,
            "/api/v1/films",
            None,
            &[
                ("origin", ALLOWED),
                ("access-control-request-method", method),
                ("access-control-request-headers", headers),
            ],
        )
        .await;
        res.assert_problem(403, code);
    }
    // The API's own origin (its docs UI) is not a cross-origin caller.
    let own = app.base.clone();
    let same = request(
        &app,
        Method::GET,
        "/api/v1/films",
        None,
        &[("origin", &own)],
    )
    .await;
    assert_eq!(same.status, 200, "{}", same.text);
}
