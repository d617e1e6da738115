//! Every kind of bad access token is refused with 401 problem+json and `WWW-Authenticate: Bearer`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use filmlog_test_support::{TestApp, TestMember};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Valid claims for `member`'s session, as the server issued them.
fn claims(member: &TestMember) -> Value {
    decode_payload(&member.access_token)
}

fn decode_payload(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD.decode(payload).unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

fn sign(claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key),
    )
    .unwrap_or_else(|e| panic!("encode: {e}"))
}

#[track_caller]
fn assert_rejected(res: &filmlog_test_support::TestResponse, what: &str) {
    assert_eq!(res.status, 401, "{what}: {}", res.text);
    assert_eq!(
        res.header("content-type"),
        Some("application/problem+json"),
        "{what}"
    );
    assert_eq!(res.json["code"], "invalid_token", "{what}");
    assert!(
        res.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer")),
        "{what}"
    );
}

#[actix_web::test]
async fn forged_expired_and_malformed_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let key = app.jwt_secret.as_bytes();
    let good = claims(&ana);
    // The baseline: the same claims signed with the right key work.
    let resigned = sign(&good, key);
    app.get("/api/v1/me", Some(&resigned))
        .await
        .assert_status(200);

    let mut cases: Vec<(&str, String)> = Vec::new();
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(good.to_string());
    cases.push(("alg none", format!("{none_header}.{body}.")));
    cases.push((
        "wrong key",
        sign(&good, b"another key that is 32 bytes long!!"),
    ));
    let mut tampered = resigned.clone();
    let last = tampered
        .pop()
        .map_or('A', |c| if c == 'A' { 'B' } else { 'A' });
    tampered.push(last);
    cases.push(("tampered signature", tampered));
    let mut tampered_claims = resigned.split('.').map(str::to_owned).collect::<Vec<_>>();
    let mut elevated = good.clone();
    elevated["sub"] = json!("999");
    tampered_claims[1] = URL_SAFE_NO_PAD.encode(elevated.to_string());
    cases.push(("tampered claims", tampered_claims.join(".")));
    let mut expired = good.clone();
    expired["iat"] = json!(now() - 7200);
    expired["exp"] = json!(now() - 3600);
    cases.push(("expired", sign(&expired, key)));
    let mut no_exp = good.clone();
    no_exp.as_object_mut().map(|o| o.remove("exp"));
    cases.push(("exp missing", sign(&no_exp, key)));
    let mut exp_string = good.clone();
    exp_string["exp"] = json!((now() + 600).to_string());
    cases.push(("exp as a string", sign(&exp_string, key)));
    for (claim, value) in [
        ("iss", "someone-else"),
        ("aud", "another-api"),
        ("typ", "refresh"),
        ("sid", "x"),
    ] {
        let mut wrong = good.clone();
        wrong[claim] = json!(value);
        cases.push((claim, sign(&wrong, key)));
    }
    // Not yet valid, or issued in the future (beyond the documented 5 s of clock leeway).
    let mut not_yet = good.clone();
    not_yet["nbf"] = json!(now() + 60);
    cases.push(("nbf in the future", sign(&not_yet, key)));
    let mut from_the_future = good.clone();
    from_the_future["iat"] = json!(now() + 60);
    cases.push(("iat in the future", sign(&from_the_future, key)));
    for claim in ["iat", "nbf", "jti", "sid", "sub", "typ", "iss", "aud"] {
        let mut missing = good.clone();
        missing.as_object_mut().map(|o| o.remove(claim));
        cases.push(("a missing claim", sign(&missing, key)));
    }
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &good,
        &EncodingKey::from_secret(key),
    )
    .unwrap_or_default();
    cases.push(("another algorithm", hs512));
    cases.push(("a refresh token", ana.refresh_token.clone()));
    cases.push(("garbage", "not.a.token".to_owned()));

    for (what, token) in &cases {
        assert_rejected(&app.get("/api/v1/me", Some(token)).await, what);
    }
    // Not a Bearer scheme at all.
    let basic = TestApp::read(
        app.client
            .get(app.url("/api/v1/me"))
            .header("authorization", "Basic YTpi"),
    )
    .await;
    assert_rejected(&basic, "basic auth");
    let missing = app.get("/api/v1/me", None).await;
    missing.assert_problem(401, "missing_token");
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Bearer realm=\"filmlog\"")
    );
}

#[actix_web::test]
async fn a_token_stops_working_after_a_password_change_elsewhere() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let phone = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": "ana", "password": ana.password}),
        )
        .await;
    let phone_token = phone.assert_status(200)["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let change =
        json!({"current_password": ana.password, "new_password": "an even longer passphrase"});
    let res = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/me/password",
            Some(&ana.access_token),
            Some(&change),
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
    assert_rejected(
        &app.get("/api/v1/me", Some(&phone_token)).await,
        "token of another session",
    );
    // The session that made the change stays.
    app.get("/api/v1/me", Some(&ana.access_token))
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn a_token_of_a_deleted_member_is_refused() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let res = app
        .send(
            reqwest::Method::DELETE,
            "/api/v1/me",
            Some(&ana.access_token),
            Some(&serde_json::json!({"password": ana.password})),
        )
        .await;
    assert_eq!(res.status, 204);
    assert_rejected(
        &app.get("/api/v1/me", Some(&ana.access_token)).await,
        "deleted member",
    );
    // A new member who takes the name does not inherit the old tokens.
    let _new_ana = app.member("ana").await;
    assert_rejected(
        &app.get("/api/v1/me", Some(&ana.access_token)).await,
        "deleted member, name reused",
    );
}
