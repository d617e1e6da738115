//! Every read decides its viewer: generated from the OpenAPI document, so a new read is checked as
//! soon as it is documented.

use filmlog_test_support::TestApp;
use serde_json::json;

/// `path` with every parameter naming something well formed that does not exist; fails on a
/// parameter it does not know, so that a new kind is never skipped.
pub fn nothing_at(path: &str) -> String {
    let concrete = path
        .replace("{slug}", "no-such-film-1900")
        .replace("{username}", "nobody_here")
        .replace("{id}", "999999")
        .replace("{list_id}", "999999")
        .replace("{webhook_id}", "999999")
        .replace("{import_id}", "999999")
        .replace("{export_id}", "999999")
        .replace("{client_id}", "no-such-app")
        .replace("{person}", "no-such-person");
    assert!(!concrete.contains('{'), "a parameter to fill: {path}");
    concrete
}

/// Every GET operation of the API under /api/v1 but the admins' (`/api/v1/admin/…`, see
/// [`admin_gets`]), its path parameters replaced by `fill` (`{name}`, value); fails on a parameter
/// `fill` does not name, so that a new kind of read is never skipped.
pub fn every_get(fill: &[(&str, &str)]) -> Vec<String> {
    gets(fill, false)
        .into_iter()
        .map(|(path, _)| path)
        .collect()
}

/// The admins' GET operations.
pub fn admin_gets() -> Vec<String> {
    gets(&[], true).into_iter().map(|(path, _)| path).collect()
}

/// Whether the spec says the operation needs a token: it has security requirements (or the
/// document has), each naming a scheme (`bearer`, or `oauth2` for an app's token); an optional
/// token lists `{}` beside them, and none means none.
pub fn needs_token(spec: &serde_json::Value, path: &str, verb: &str) -> bool {
    let op = &spec["paths"][path][verb];
    op.get("security")
        .or_else(|| spec.get("security"))
        .and_then(serde_json::Value::as_array)
        .is_some_and(|r| {
            !r.is_empty()
                && r.iter()
                    .all(|r| r.as_object().is_some_and(|o| !o.is_empty()))
        })
}

/// [`every_get`], each with whether the spec says it needs a token.
fn gets(fill: &[(&str, &str)], admin: bool) -> Vec<(String, bool)> {
    let api = filmlog_api::openapi();
    let spec = serde_json::to_value(&api).unwrap_or_default();
    let reads: Vec<(String, bool)> = api
        .paths
        .paths
        .iter()
        .filter(|(path, item)| {
            path.starts_with("/api/v1")
                && path.starts_with("/api/v1/admin/") == admin
                && item.get.is_some()
                && !streams(&spec, path)
                // Reads of the caller's own webhook endpoints, imports and exports, named by id,
                // answer their owner only: tests/http/webhooks.rs and portability.rs check the
                // owner, anyone else (404), no token (401), and the download link's signature.
                && !path.contains("{webhook_id}")
                && !path.contains("{import_id}")
                && !path.contains("{export_id}")
                // One of the caller's own apps: tests/http/oauth.rs checks its owner, anyone
                // else (404) and no token (401).
                && !path.contains("{client_id}")
        })
        .map(|(path, _)| {
            let filled = fill
                .iter()
                .fold(path.clone(), |p, (name, value)| p.replace(name, value));
            (
                filled + &required_query(&spec, path),
                needs_token(&spec, path, "get"),
            )
        })
        .collect();
    for (path, _) in &reads {
        assert!(
            !path.contains('{'),
            "a parameter this test cannot fill: {path}"
        );
    }
    reads
}

/// Whether the GET at `path` answers a stream of events, which never ends (tests/http/events.rs
/// checks those: its token, its refusals, its viewer).
fn streams(spec: &serde_json::Value, path: &str) -> bool {
    spec["paths"][path]["get"]["responses"]["200"]["content"]
        .get("text/event-stream")
        .is_some()
}

/// `?name=example&…` for the GET at `path`'s required query parameters, from their documented
/// examples.
fn required_query(spec: &serde_json::Value, path: &str) -> String {
    let params = spec["paths"][path]["get"]["parameters"].as_array().cloned();
    let pairs: Vec<String> = params
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "query" && p["required"] == true)
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default().to_owned();
            let example = p["example"]
                .as_str()
                .unwrap_or_else(|| panic!("required query parameter {name} has no example"));
            format!("{name}={example}")
        })
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

/// Every GET operation of the API, its path filled with things that exist, with whether the spec
/// says it needs a token.
pub async fn every_read(app: &TestApp) -> Vec<(String, bool)> {
    let owner = app.member("owner").await;
    let slug = app.film("Close-Up", 1990).await;
    {
        use diesel_async::RunQueryDsl;
        let mut conn = app.db.connect().await;
        diesel::sql_query(
            "INSERT INTO people (name, slug) VALUES ('Owner Person', 'owner-person')",
        )
        .execute(&mut conn)
        .await
        .unwrap_or_default();
    }
    let entry = app
        .log(
            &owner,
            json!({"film": slug, "watched_on": "2026-11-01", "review": {"text": "Real and staged at once."}}),
        )
        .await;
    let list = app
        .post(
            "/api/v1/lists",
            Some(&owner.access_token),
            &json!({"name": "Owner's list", "entries": [{"film": slug}]}),
        )
        .await
        .assert_status(201)["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let reads = gets(
        &[
            ("{slug}", &slug),
            ("{username}", "owner"),
            ("{id}", &entry),
            ("{list_id}", &list),
            ("{person}", "owner-person"),
        ],
        false,
    );
    // The 53 GETs under /api/v1 but the 3 admins', the event stream and the 7 reads of the
    // caller's own webhooks, imports, exports and apps by id (see `gets`); 18 of them need a token.
    assert_eq!(reads.len(), 42, "{reads:?}");
    assert_eq!(reads.iter().filter(|(_, t)| *t).count(), 18, "{reads:?}");
    reads
}

/// A member whose session has ended (logged out): their access token is still signed and unexpired.
pub async fn ended_member(app: &TestApp) -> filmlog_test_support::TestMember {
    let ended = app.member("ended").await;
    app.send(
        reqwest::Method::POST,
        "/api/v1/auth/logout",
        Some(&ended.access_token),
        None,
    )
    .await
    .assert_status(204);
    ended
}

#[actix_web::test]
async fn every_read_refuses_a_bad_or_ended_token_and_answers_a_good_one() {
    let app = TestApp::spawn().await;
    let reads = every_read(&app).await;
    let viewer = app.member("viewer").await;
    let ended = ended_member(&app).await;
    for (path, needs_token) in &reads {
        let anonymous = app.get(path, None).await;
        if *needs_token {
            anonymous.assert_problem(401, "missing_token");
        } else {
            assert_eq!(
                anonymous.status, 200,
                "GET {path} anonymously: {}",
                anonymous.text
            );
        }
        for bad in ["not-a-token", ended.access_token.as_str()] {
            let res = app.get(path, Some(bad)).await;
            assert_eq!(
                (res.status, res.json["code"].as_str()),
                (401, Some("invalid_token")),
                "GET {path} with a bad token: {}",
                res.text
            );
        }
        let res = app.get(path, Some(&viewer.access_token)).await;
        assert_eq!(res.status, 200, "GET {path} as a member: {}", res.text);
    }
    // The admins' reads refuse members and bad tokens alike, and answer an admin.
    let admin = app.member("admin").await;
    app.make_admin("admin").await;
    let admin_reads = admin_gets();
    assert_eq!(admin_reads.len(), 3, "{admin_reads:?}");
    for path in &admin_reads {
        app.get(path, Some(&viewer.access_token))
            .await
            .assert_problem(403, "admin_only");
        app.get(path, Some("not-a-token"))
            .await
            .assert_problem(401, "invalid_token");
        app.get(path, Some(&admin.access_token))
            .await
            .assert_status(200);
    }
}

#[actix_web::test]
async fn an_account_field_is_seen_by_its_owner_only() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let ben = app.member("ben").await;
    let own = app
        .get("/api/v1/members/ana", Some(&ana.access_token))
        .await;
    assert_eq!(own.assert_status(200)["email"], "ana@example.com");
    for token in [None, Some(ben.access_token.as_str())] {
        let other = app.get("/api/v1/members/ana", token).await;
        assert!(
            other.assert_status(200).get("email").is_none(),
            "{}",
            other.text
        );
        assert_eq!(other.json["username"], "ana");
    }
}

/// The spec's `security` is the truth about tokens: every operation under /api/v1 that needs one
/// answers an anonymous caller 401 `missing_token` before anything else, and none of the others
/// does (the routes come from the spec, so a new one is checked as soon as it is documented).
#[actix_web::test]
async fn every_operation_needs_a_token_exactly_when_the_spec_says_so() {
    let app = TestApp::spawn().await;
    let ended = ended_member(&app).await;
    let spec = serde_json::to_value(filmlog_api::openapi()).unwrap_or_default();
    let (mut bearer, mut open) = (0, 0);
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        if !path.starts_with("/api/v1") {
            continue;
        }
        for verb in ["get", "post", "put", "patch", "delete"] {
            // The event stream too: an anonymous caller is refused before it starts.
            if item.get(verb).is_none() {
                continue;
            }
            let concrete = nothing_at(path);
            let method = reqwest::Method::from_bytes(verb.to_ascii_uppercase().as_bytes())
                .unwrap_or(reqwest::Method::GET);
            let body = json!({});
            let res = app
                .send(
                    method.clone(),
                    &concrete,
                    None,
                    matches!(verb, "post" | "put" | "patch").then_some(&body),
                )
                .await;
            let refused = (res.status, res.json["code"].as_str()) == (401, Some("missing_token"));
            if needs_token(&spec, path, verb) {
                assert!(refused, "{method} {path} anonymously: {}", res.text);
                // A signed token of a session that ended is refused too, before anything else:
                // before an impossible path parameter and an unknown query parameter as well.
                let impossible = path
                    .split('/')
                    .map(|segment| {
                        if segment.starts_with('{') {
                            "Not%20Any"
                        } else {
                            segment
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("/")
                    + "?no_such_parameter=1";
                for target in [concrete.clone(), impossible] {
                    let res = app
                        .send(
                            method.clone(),
                            &target,
                            Some(&ended.access_token),
                            matches!(verb, "post" | "put" | "patch").then_some(&body),
                        )
                        .await;
                    assert_eq!(
                        (res.status, res.json["code"].as_str()),
                        (401, Some("invalid_token")),
                        "{method} {target} with an ended session: {}",
                        res.text
                    );
                }
                bearer += 1;
            } else {
                assert!(!refused, "{method} {path} needs no token: {}", res.text);
                open += 1;
            }
        }
    }
    // 133 operations under /api/v1: 99 need a token (`bearer`, and `oauth2` for an app's), 34 do not (an
    // optional token, or none: registration, login and its second step, refresh, password reset
    // and its confirmation, the confirmations of an address and of its change, and its undoing).
    assert_eq!(
        (bearer, open),
        (99, 34),
        "operations needing a token, and not"
    );
}
