//! Two-factor sign-in with real TOTP codes (RFC 6238), recovery codes, the two-step login, recent
//! authentication for what matters, and the security notices they send by mail.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use filmlog_app::totp;
use filmlog_test_support::{SmtpSink, TestApp, TestMember};
use serde_json::{Value, json};

async fn app_with_mail(sink: &SmtpSink) -> TestApp {
    let url = sink.url();
    TestApp::spawn_with(|c| c.smtp = Some(url)).await
}

fn now_step() -> u64 {
    totp::step_at(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
    )
}

/// Waits until the clock is at least 3 s from the next step, so a code computed now is judged in
/// the same step by the server.
async fn steady_step() -> u64 {
    loop {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        if secs % totp::STEP < totp::STEP - 3 {
            return now_step();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn code(key: &[u8], step: u64) -> String {
    format!("{:06}", totp::hotp(key, step))
}

/// Turns two-factor sign-in on for `who`; their key and recovery codes.
pub(crate) async fn enrol(app: &TestApp, who: &TestMember) -> (Vec<u8>, Vec<String>) {
    let res = app
        .post("/api/v1/me/two-factor", Some(&who.access_token), &json!({}))
        .await;
    let body = res.assert_status(200).clone();
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let key_text = body["key"].as_str().unwrap_or_default();
    let key = totp::from_base32(key_text).unwrap_or_default();
    assert_eq!(key.len(), 20);
    let uri = body["otpauth_uri"].as_str().unwrap_or_default();
    assert!(
        uri.starts_with(&format!(
            "otpauth://totp/Filmlog%3A{}?secret={key_text}&issuer=Filmlog",
            who.username
        )),
        "{uri}"
    );
    assert!(
        body["qr_svg"].as_str().is_some_and(|s| s.contains("<svg")),
        "{body}"
    );
    let step = steady_step().await;
    let confirmed = app
        .post(
            "/api/v1/me/two-factor/confirm",
            Some(&who.access_token),
            &json!({"code": code(&key, step)}),
        )
        .await;
    let codes: Vec<String> = confirmed.assert_status(200)["recovery_codes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(codes.len(), 10);
    (key, codes)
}

async fn challenge(app: &TestApp, username: &str) -> String {
    let res = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": username, "password": TestApp::PASSWORD}),
        )
        .await;
    let body = res.assert_status(202);
    assert_eq!(body["two_factor_required"], true);
    assert_eq!(body["expires_in"], 300);
    assert!(body.get("access_token").is_none());
    body["challenge"].as_str().unwrap_or_default().to_owned()
}

async fn answer(app: &TestApp, challenge: &str, code: &str) -> filmlog_test_support::TestResponse {
    app.post(
        "/api/v1/auth/login/two-factor",
        None,
        &json!({"challenge": challenge, "code": code}),
    )
    .await
}

#[actix_web::test]
async fn enrol_then_log_in_with_a_code_then_a_recovery_code_and_never_twice_with_one() {
    let sink = SmtpSink::start();
    let url = sink.url();
    // Wrong codes are throttled as passwords are (`wrong_codes_are_throttled_as_passwords`); here,
    // more of them than that allows are sent on purpose.
    let app = TestApp::spawn_with(|c| {
        c.smtp = Some(url);
        c.rate.login.free_failures = 100;
        c.rate.account_delay.free_failures = 100;
    })
    .await;
    let ana = app.member("ana").await;
    let status = app
        .get("/api/v1/me/two-factor", Some(&ana.access_token))
        .await;
    assert_eq!(status.assert_status(200)["enabled"], false);

    // A wrong first code turns nothing on.
    app.post("/api/v1/me/two-factor", Some(&ana.access_token), &json!({}))
        .await
        .assert_status(200);
    app.post(
        "/api/v1/me/two-factor/confirm",
        Some(&ana.access_token),
        &json!({"code": "000000"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    assert_eq!(
        app.get("/api/v1/me/two-factor", Some(&ana.access_token))
            .await
            .json["enabled"],
        false
    );
    let (key, recovery) = enrol(&app, &ana).await;
    let on = &sink.wait_for("ana@example.com", 1).await[0];
    assert!(
        on.subject().contains("Two-factor sign-in is on"),
        "{}",
        on.subject()
    );
    let status = app
        .get("/api/v1/me/two-factor", Some(&ana.access_token))
        .await;
    assert_eq!(status.json["enabled"], true);
    assert_eq!(status.json["recovery_codes_left"], 10);
    app.post("/api/v1/me/two-factor", Some(&ana.access_token), &json!({}))
        .await
        .assert_problem(409, "two_factor_enabled");

    // The password alone no longer signs in: a wrong one is still just wrong.
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({"username": "ana", "password": "wrong wrong wrong"}),
    )
    .await
    .assert_problem(401, "invalid_credentials");
    let step = steady_step().await;
    let first = challenge(&app, "ana").await;
    // The code that confirmed the enrolment was spent; codes two steps away are outside the window.
    for refused in [
        code(&key, step - 2),
        code(&key, step + 2),
        "12345".to_owned(),
        "abcdef".to_owned(),
    ] {
        answer(&app, &first, &refused)
            .await
            .assert_problem(401, "invalid_two_factor_code");
    }
    // The window's far edge (the next step) is accepted.
    let signed_in = answer(&app, &first, &code(&key, step + 1)).await;
    assert!(signed_in.assert_status(200)["access_token"].is_string());
    assert_eq!(signed_in.header("cache-control"), Some("no-store"));
    // The challenge is spent, and the code too: replayed in a new challenge, refused.
    answer(&app, &first, &code(&key, step + 1))
        .await
        .assert_problem(401, "invalid_challenge");
    let second = challenge(&app, "ana").await;
    answer(&app, &second, &code(&key, step + 1))
        .await
        .assert_problem(401, "invalid_two_factor_code");
    // An older code than the last accepted is refused too (the previous step, inside the window).
    answer(&app, &second, &code(&key, step))
        .await
        .assert_problem(401, "invalid_two_factor_code");

    // A recovery code (any case, dashes optional) works once.
    let spare = recovery[3].to_uppercase().replace('-', "");
    answer(&app, &second, &spare).await.assert_status(200);
    let third = challenge(&app, "ana").await;
    answer(&app, &third, &spare)
        .await
        .assert_problem(401, "invalid_two_factor_code");
    assert_eq!(
        app.get("/api/v1/me/two-factor", Some(&ana.access_token))
            .await
            .json["recovery_codes_left"],
        9
    );

    // Five wrong codes end a challenge: the right one is refused after them.
    for _ in 0..5 {
        answer(&app, &third, "999999").await;
    }
    answer(&app, &third, &recovery[4])
        .await
        .assert_problem(401, "invalid_challenge");
    answer(&app, "no-such-challenge", &recovery[4])
        .await
        .assert_problem(401, "invalid_challenge");

    // New recovery codes: the old ones stop working.
    let fresh = app
        .post(
            "/api/v1/me/two-factor/recovery-codes",
            Some(&ana.access_token),
            &json!({"code": recovery[5]}),
        )
        .await;
    let fresh: Vec<String> = fresh.assert_status(200)["recovery_codes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let fourth = challenge(&app, "ana").await;
    answer(&app, &fourth, &recovery[6])
        .await
        .assert_problem(401, "invalid_two_factor_code");
    answer(&app, &fourth, &fresh[0]).await.assert_status(200);

    // Turning it off takes a code, and is told by mail; then the password alone signs in.
    app.post(
        "/api/v1/me/two-factor/disable",
        Some(&ana.access_token),
        &json!({"code": "000000"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        "/api/v1/me/two-factor/disable",
        Some(&ana.access_token),
        &json!({"code": fresh[1]}),
    )
    .await
    .assert_status(204);
    sink.wait_for_subject("ana@example.com", "Two-factor sign-in is off", 1)
        .await;
    app.post(
        "/api/v1/me/two-factor/disable",
        Some(&ana.access_token),
        &json!({"code": fresh[2]}),
    )
    .await
    .assert_problem(409, "two_factor_disabled");
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({"username": "ana", "password": TestApp::PASSWORD}),
    )
    .await
    .assert_status(200);
}

/// A body for `op` built from its request schema: each property a value that passes its rule.
fn body_for(api: &Value, op: &Value) -> Option<Value> {
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    let schema = match schema["$ref"].as_str() {
        Some(r) => &api["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    };
    let props = schema["properties"].as_object()?;
    let mut body = serde_json::Map::new();
    for name in props.keys() {
        let value = match name.as_str() {
            "current_password" | "password" => json!(TestApp::PASSWORD),
            "new_password" => json!("a brand new passphrase"),
            "url" => json!("http://127.0.0.1:9/hook"),
            "events" => json!(["log_entry"]),
            "code" => json!("000000"),
            "email" => json!("somewhere.new@example.org"),
            _ => continue,
        };
        body.insert(name.clone(), value);
    }
    Some(Value::Object(body))
}

/// Every operation whose spec says `reauthentication_required` refuses a session that signed in
/// more than 10 minutes ago, and lets it through once it re-authenticates. Generated from the
/// OpenAPI document, so a new operation that needs a recent sign-in is checked once documented.
#[actix_web::test]
async fn what_matters_needs_a_recent_sign_in() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let api = serde_json::to_value(filmlog_api::openapi()).unwrap_or_default();
    let mut guarded = Vec::new();
    for (path, item) in api["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let forbidden = &op["responses"]["403"];
            let described = match forbidden["$ref"].as_str() {
                Some(r) => api["components"]["responses"]
                    [r.trim_start_matches("#/components/responses/")]["description"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                None => forbidden["description"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            };
            if described.contains("reauthentication_required") {
                guarded.push((method.to_uppercase(), path.clone(), body_for(&api, op)));
            }
        }
    }
    // Deleting the account last.
    guarded.sort_by_key(|(m, p, _)| (m == "DELETE" && p == "/api/v1/me", p.clone()));
    let names: Vec<String> = guarded.iter().map(|(m, p, _)| format!("{m} {p}")).collect();
    for expected in [
        "PUT /api/v1/me/password",
        "DELETE /api/v1/me",
        "POST /api/v1/me/webhooks",
        "POST /api/v1/me/two-factor",
        "POST /api/v1/me/two-factor/disable",
        "POST /api/v1/me/two-factor/recovery-codes",
        "PUT /api/v1/me/email",
        "POST /api/v1/me/two-factor/confirm",
        "PATCH /api/v1/me/webhooks/{webhook_id}",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not guarded: {names:?}"
        );
    }
    // An endpoint to change, made while the sign-in is recent.
    let hook_id = app.webhook(&ana).await;
    let send = |method: &str, path: &str, body: &Option<Value>| {
        let path = path.replace("{webhook_id}", &hook_id);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let (body, token) = (body.clone(), ana.access_token.clone());
        let app = &app;
        async move { app.send(method, &path, Some(&token), body.as_ref()).await }
    };
    // Signed in 11 minutes ago.
    let mut conn = app.db.connect().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("UPDATE sessions SET authenticated_at = now() - interval '11 minutes'"),
        &mut conn,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    for (method, path, body) in &guarded {
        send(method, path, body)
            .await
            .assert_problem(403, "reauthentication_required");
    }
    // A refresh is not a sign-in.
    let refreshed = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": ana.refresh_token}),
        )
        .await;
    let access = refreshed.assert_status(200)["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.post("/api/v1/me/two-factor", Some(&access), &json!({}))
        .await
        .assert_problem(403, "reauthentication_required");

    // Re-authenticating takes the password, throttled as logins.
    app.post(
        "/api/v1/auth/reauthenticate",
        Some(&access),
        &json!({"password": "not the password"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        "/api/v1/auth/reauthenticate",
        None,
        &json!({"password": TestApp::PASSWORD}),
    )
    .await
    .assert_problem(401, "missing_token");
    app.post(
        "/api/v1/auth/reauthenticate",
        Some(&access),
        &json!({"password": TestApp::PASSWORD}),
    )
    .await
    .assert_status(204);
    for (method, path, body) in &guarded {
        let res = send(method, path, body).await;
        assert_ne!(
            res.json["code"], "reauthentication_required",
            "{method} {path} after re-authenticating: {}",
            res.text
        );
    }
}

#[actix_web::test]
async fn with_two_factor_on_re_authentication_takes_a_code() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let (key, _) = enrol(&app, &ana).await;
    let reauth = |body: Value| {
        let app = &app;
        let token = ana.access_token.clone();
        async move {
            app.post("/api/v1/auth/reauthenticate", Some(&token), &body)
                .await
        }
    };
    let missing = reauth(json!({"password": TestApp::PASSWORD})).await;
    assert_eq!(
        missing.assert_problem(422, "validation_failed")["errors"][0]["code"],
        "code_required"
    );
    let wrong = reauth(json!({"password": TestApp::PASSWORD, "code": "000000"})).await;
    assert_eq!(
        wrong.assert_problem(422, "validation_failed")["errors"][0]["code"],
        "wrong_code"
    );
    let step = steady_step().await;
    reauth(json!({"password": TestApp::PASSWORD, "code": code(&key, step + 1)}))
        .await
        .assert_status(204);
}

#[actix_web::test]
async fn a_sign_in_from_a_new_device_is_told_by_mail() {
    let sink = SmtpSink::start();
    let app = app_with_mail(&sink).await;
    app.member("ana").await;
    let login = |agent: &'static str| {
        let app = &app;
        async move {
            TestApp::read(
                app.client
                    .post(app.url("/api/v1/auth/login"))
                    .header("user-agent", agent)
                    .json(&json!({"username": "ana", "password": TestApp::PASSWORD})),
            )
            .await
            .assert_status(200)
            .clone()
        }
    };
    login("FilmlogTest/1.0 (Linux)").await;
    let notice = &sink.wait_for("ana@example.com", 1).await[0];
    assert!(
        notice.subject().contains("New sign-in"),
        "{}",
        notice.subject()
    );
    assert!(
        notice.text.contains("FilmlogTest/1.0 (Linux)"),
        "{}",
        notice.text
    );
    assert!(notice.text.contains("127.0.0.0/24"), "{}", notice.text);
    // The same device again: nothing. Another one: told.
    login("FilmlogTest/1.0 (Linux)").await;
    login("OtherClient/2.0").await;
    let all = sink.wait_for("ana@example.com", 2).await;
    assert!(all[1].text.contains("OtherClient/2.0"), "{}", all[1].text);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.wait_for("ana@example.com", 2).await.len(), 2);
}

#[actix_web::test]
async fn wrong_codes_are_throttled_as_passwords() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let (key, _) = enrol(&app, &ana).await;
    let challenge = challenge(&app, "ana").await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(answer(&app, &challenge, "999999").await.status);
    }
    // A new challenge, as a guesser would take: the account and network stay throttled.
    let again = challenge_for(&app).await;
    for _ in 0..3 {
        statuses.push(answer(&app, &again, "999999").await.status);
    }
    // Five free failures, a sixth that starts the lock-out, then refusals.
    assert_eq!(
        statuses,
        [401, 401, 401, 401, 401, 401, 429],
        "{statuses:?}"
    );
    // Even the right code from this network, while it is locked.
    let step = steady_step().await;
    answer(&app, &again, &code(&key, step + 1))
        .await
        .assert_problem(429, "login_locked");
}

async fn challenge_for(app: &TestApp) -> String {
    challenge(app, "ana").await
}

#[actix_web::test]
async fn wrong_codes_anywhere_refuse_codes_for_a_while() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    // A session from before the second factor: it ends when the factor turns on.
    let earlier = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": "ana", "password": TestApp::PASSWORD}),
        )
        .await;
    let earlier = earlier.assert_status(200)["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (key, _) = enrol(&app, &ana).await;
    app.get("/api/v1/me", Some(&earlier))
        .await
        .assert_problem(401, "invalid_token");
    app.get("/api/v1/me", Some(&ana.access_token))
        .await
        .assert_status(200);

    // Ten wrong codes through re-authentication, then even the right one is refused, everywhere.
    let reauth = |code: String| {
        let app = &app;
        let token = ana.access_token.clone();
        async move {
            app.post(
                "/api/v1/auth/reauthenticate",
                Some(&token),
                &json!({"password": TestApp::PASSWORD, "code": code}),
            )
            .await
        }
    };
    for _ in 0..10 {
        reauth("000000".to_owned())
            .await
            .assert_problem(422, "validation_failed");
    }
    reauth("000000".to_owned())
        .await
        .assert_problem(429, "two_factor_locked");
    let step = steady_step().await;
    let locked = reauth(code(&key, step + 1)).await;
    locked.assert_problem(429, "two_factor_locked");
    let wait: u64 = locked
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!((1..=60).contains(&wait), "{wait}");
    let challenge = challenge(&app, "ana").await;
    answer(&app, &challenge, &code(&key, step + 1))
        .await
        .assert_problem(429, "two_factor_locked");
}

#[actix_web::test]
async fn a_password_change_ends_the_challenges_a_thief_may_hold() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let (key, _) = enrol(&app, &ana).await;
    let stolen = challenge(&app, "ana").await;
    app.send(
        reqwest::Method::PUT,
        "/api/v1/me/password",
        Some(&ana.access_token),
        Some(&json!({"current_password": TestApp::PASSWORD, "new_password": "a brand new passphrase"})),
    )
    .await
    .assert_status(204);
    let step = steady_step().await;
    answer(&app, &stolen, &code(&key, step + 1))
        .await
        .assert_problem(401, "invalid_challenge");
}

#[actix_web::test]
async fn undoing_an_address_change_removes_a_second_factor_turned_on_since() {
    let sink = SmtpSink::start();
    let app = app_with_mail(&sink).await;
    let ana = app.member("ana").await;
    // A thief with a fresh session changes the address, then turns on their own second factor.
    app.send(
        reqwest::Method::PUT,
        "/api/v1/me/email",
        Some(&ana.access_token),
        Some(&json!({"email": "thief@example.org"})),
    )
    .await
    .assert_status(202);
    let link = &sink
        .wait_for_subject("thief@example.org", "Confirm your new email address", 1)
        .await[0];
    let token = link
        .link_token("/account/confirm-email-change")
        .unwrap_or_default();
    app.post(
        "/api/v1/auth/email-change/confirm",
        None,
        &json!({ "token": token }),
    )
    .await
    .assert_status(204);
    enrol(&app, &ana).await;
    let told = &sink
        .wait_for_subject("ana@example.com", "was changed", 1)
        .await[0];
    let undo = told
        .link_token("/account/undo-email-change")
        .unwrap_or_default();
    app.post(
        "/api/v1/auth/email-change/undo",
        None,
        &json!({ "token": undo }),
    )
    .await
    .assert_status(204);
    // The owner signs in with the password alone again.
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({"username": "ana", "password": TestApp::PASSWORD}),
    )
    .await
    .assert_status(200);
}
