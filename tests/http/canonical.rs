//! One request path: an encoded form of a route is the route, for the limiter and everything else
//! (security review H1), and methods HTTP does not define are refused before metrics count them (M1).

use std::time::Duration;

use filmlog_api::ratelimit::{Budgets, Quota};
use filmlog_test_support::TestApp;
use reqwest::Method;

const HOUR: Duration = Duration::from_secs(3600);

/// Budgets with different sizes, so `RateLimit-Limit` names the class a request was counted in
/// (registration spends `auth` too, and its own budget is the smaller).
fn distinct_budgets() -> Budgets {
    Budgets {
        read_per_ip: Quota::new(5000, HOUR),
        read_per_member: Quota::new(5000, HOUR),
        search_per_ip: Quota::new(4000, HOUR),
        search_per_member: Quota::new(4000, HOUR),
        write_per_ip: Quota::new(3000, HOUR),
        write_per_member: Quota::new(3000, HOUR),
        auth_per_ip: Quota::new(2000, HOUR),
        register_per_ip: Quota::new(1000, HOUR),
        mail_per_ip: Quota::new(500, HOUR),
    }
}

/// `path` with its `i`-th letter (counting from 0 among ASCII letters outside `{…}`) as `%XX`.
fn encode_letter(path: &str, which: usize, lower: bool) -> Option<String> {
    let mut seen = 0;
    let mut depth = 0;
    for (at, c) in path.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            c if depth == 0 && c.is_ascii_alphabetic() => {
                if seen == which {
                    let hex = if lower {
                        format!("%{:02x}", c as u32)
                    } else {
                        format!("%{:02X}", c as u32)
                    };
                    return Some(format!("{}{hex}{}", &path[..at], &path[at + 1..]));
                }
                seen += 1;
            }
            _ => {}
        }
    }
    None
}

fn concrete(path: &str, slug: &str) -> String {
    path.replace("{slug}", slug)
        .replace("{username}", "ana")
        .replace("{id}", "1")
        .replace("{list_id}", "1")
        .replace("{webhook_id}", "1")
        .replace("{import_id}", "1")
        .replace("{export_id}", "1")
        .replace("{client_id}", "no-such-app")
        .replace("{person}", "no-such-person")
}

/// Every documented route and method, sent plain and with one letter of its prefix, of its first
/// segment after the prefix and of its last literal segment percent-encoded (upper and lower case hex), is counted in the
/// same budget class and answered alike. Generated from the OpenAPI document, so a new route is
/// checked as soon as it is documented.
#[actix_web::test]
async fn encoded_paths_spend_the_budget_of_their_route() {
    let app = TestApp::spawn_with(|c| c.rate.budgets = distinct_budgets()).await;
    let slug = app.film("Close-Up", 1990).await;
    let api = filmlog_api::openapi();
    let mut checked = 0;
    let mut classes = std::collections::BTreeSet::new();
    for (template, item) in &api.paths.paths {
        if !template.starts_with("/api/v1") {
            continue;
        }
        let methods = [
            (Method::GET, item.get.is_some()),
            (Method::POST, item.post.is_some()),
            (Method::PUT, item.put.is_some()),
            (Method::PATCH, item.patch.is_some()),
            (Method::DELETE, item.delete.is_some()),
        ];
        let letters = (0..)
            .take_while(|&i| encode_letter(template, i, false).is_some())
            .count();
        for (method, documented) in methods {
            if !documented {
                continue;
            }
            let plain = concrete(template, &slug);
            let variants = [
                encode_letter(template, 0, false),
                encode_letter(template, 4, true),
                encode_letter(template, letters - 1, false),
                encode_letter(template, letters - 1, true),
            ];
            let body = serde_json::json!({});
            let with_body = matches!(method, Method::POST | Method::PUT | Method::PATCH);
            let base = app
                .send(method.clone(), &plain, None, with_body.then_some(&body))
                .await;
            let limit = base.header("ratelimit-limit").map(str::to_owned);
            assert!(limit.is_some(), "{method} {plain}: no RateLimit-Limit");
            classes.insert(limit.clone());
            for variant in variants.into_iter().flatten() {
                let variant = concrete(&variant, &slug);
                assert_ne!(variant, plain);
                let res = app
                    .send(method.clone(), &variant, None, with_body.then_some(&body))
                    .await;
                assert_eq!(
                    (
                        res.status,
                        res.header("ratelimit-limit"),
                        res.json["code"].clone()
                    ),
                    (base.status, limit.as_deref(), base.json["code"].clone()),
                    "{method} {variant} is not {plain}: {}",
                    res.text
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 400, "only {checked} variants");
    // Every class was met: read, write, auth, register, mail, and search (`GET /search`; the
    // searches of `/films?q` and `/lists?q` below).
    assert_eq!(classes.len(), 6, "{classes:?}");

    // Registration is its own budget however it is spelled: five accounts, each counted there.
    for (i, path) in [
        "/api/v1/auth/register",
        "/%61pi/v1/auth/register",
        "/api/v1/auth/re%67ister",
        "/api/%76%31/auth/register",
        "/%61%70%69/v1/%61uth/register",
    ]
    .into_iter()
    .enumerate()
    {
        let res = app
            .post(
                path,
                None,
                &serde_json::json!({"username": format!("spray{i}"), "email": format!("s{i}@example.com"),
                                    "password": "a long enough password"}),
            )
            .await;
        assert_eq!(res.status, 201, "{path}: {}", res.text);
        assert_eq!(res.header("ratelimit-limit"), Some("1000"), "{path}");
    }

    // A search is a search however its parameter is spelled.
    for query in ["q=clo", "%71=clo", "limit=5&%71=clo"] {
        for route in ["/api/v1/films", "/api/v1/lists", "/api/v1/fil%6Ds"] {
            let res = app.get(&format!("{route}?{query}"), None).await;
            assert_eq!(res.status, 200, "{route}?{query}: {}", res.text);
            assert_eq!(
                res.header("ratelimit-limit"),
                Some("4000"),
                "{route}?{query}"
            );
        }
    }
}

/// A login spelled with an escape is a login: it spends the login budget (not the write budget) and
/// is refused when that budget is spent.
#[actix_web::test]
async fn an_encoded_login_is_limited_as_a_login() {
    let app = TestApp::spawn_with(|c| {
        c.rate.budgets = Budgets {
            auth_per_ip: Quota::new(3, HOUR),
            ..Budgets::all(Quota::new(1000, HOUR))
        }
    })
    .await;
    let ana = app.member("ana").await;
    let body = serde_json::json!({"username": "ana", "password": ana.password});
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/log%69n",
        "/%61pi/v1/auth/login",
    ] {
        let res = app.post(path, None, &body).await;
        assert_eq!(res.status, 200, "{path}: {}", res.text);
        assert_eq!(res.header("ratelimit-limit"), Some("3"), "{path}");
    }
    app.post("/api/v1/auth/logi%6E", None, &body)
        .await
        .assert_problem(429, "rate_limited");
}

/// Methods no route has are 405 with `Allow` on the API's paths (404 elsewhere) before anything
/// counts them: the metrics' method label keeps to the methods HTTP defines however many
/// inventions are sent.
#[actix_web::test]
async fn invented_methods_are_refused_and_never_become_metric_labels() {
    let app = TestApp::spawn().await;
    for i in 0..40 {
        let method = Method::from_bytes(format!("M{i}").as_bytes()).unwrap_or(Method::GET);
        for (path, status, code) in [
            ("/api/v1/films", 405, "method_not_allowed"),
            ("/api/v1/films/x%2Dy", 405, "method_not_allowed"),
            ("/nowhere", 404, "route_not_found"),
        ] {
            let res = app.send(method.clone(), path, None, None).await;
            res.assert_problem(status, code);
            assert!(res.header("x-request-id").is_some());
            if status == 405 {
                assert!(res.header("allow").is_some_and(|a| a.contains("GET")));
            }
        }
    }
    // A known method still answers as before.
    app.get("/api/v1/films", None).await.assert_status(200);
    let text = app
        .client
        .get(format!("{}/metrics", app.metrics_base))
        .send()
        .await
        .unwrap_or_else(|e| panic!("scrape: {e}"))
        .text()
        .await
        .unwrap_or_default();
    let known = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "other",
    ];
    let mut series = 0;
    for line in text
        .lines()
        .filter(|l| l.starts_with("filmlog_http_requests_total{"))
    {
        series += 1;
        let method = line
            .split("method=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_default();
        assert!(known.contains(&method), "{line}");
    }
    assert!(series >= 1, "no request series in:\n{text}");
}
