use filmlog_test_support::TestApp;
use serde_json::json;

fn registration(username: &str) -> serde_json::Value {
    json!({"username": username, "email": format!("{username}@example.com"), "password": "a long passphrase of mine"})
}

#[actix_web::test]
async fn register_creates_a_member_and_logs_them_in() {
    let app = TestApp::spawn().await;
    let res = app
        .post("/api/v1/auth/register", None, &registration("Ana_Lima"))
        .await;
    let body = res.assert_status(201);
    assert_eq!(res.header("location"), Some("/api/v1/members/Ana_Lima"));
    assert_eq!(body["member"]["username"], "Ana_Lima");
    assert_eq!(body["member"]["email"], "Ana_Lima@example.com");
    assert_eq!(body["member"]["role"], "member");
    assert_eq!(body["tokens"]["token_type"], "Bearer");
    assert_eq!(body["tokens"]["expires_in"], 900);
    let access = body["tokens"]["access_token"].as_str().unwrap_or_default();
    let me = app.get("/api/v1/me", Some(access)).await;
    assert_eq!(me.assert_status(200)["username"], "Ana_Lima");

    // The stored hash is argon2id with OWASP's parameters.
    let mut conn = app.db.connect().await;
    let hash = filmlog_persistence::members::password_hash(
        &mut conn,
        filmlog_domain::MemberId::new(
            body["member"]["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
        ),
    )
    .await
    .unwrap_or_default();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
}

#[actix_web::test]
async fn usernames_are_unique_whatever_their_case_and_addresses_tell_nothing() {
    let app = TestApp::spawn().await;
    app.post("/api/v1/auth/register", None, &registration("ana"))
        .await
        .assert_status(201);
    let mut dup = registration("ANA");
    dup["email"] = json!("other@example.com");
    app.post("/api/v1/auth/register", None, &dup)
        .await
        .assert_problem(409, "username_taken");
    // An address that has an account is answered as any other (its owner is told by mail:
    // tests/http/mail.rs).
    let mut dup_email = registration("bruno");
    dup_email["email"] = json!("ANA@EXAMPLE.COM");
    app.post("/api/v1/auth/register", None, &dup_email)
        .await
        .assert_status(201);
}

#[actix_web::test]
async fn token_responses_are_never_cached() {
    let app = TestApp::spawn().await;
    let registered = app
        .post("/api/v1/auth/register", None, &registration("ana"))
        .await;
    registered.assert_status(201);
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": "ana", "password": "a long passphrase of mine"}),
        )
        .await;
    login.assert_status(200);
    let refresh_token = login.json["refresh_token"].as_str().unwrap_or_default();
    let refreshed = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": refresh_token}),
        )
        .await;
    refreshed.assert_status(200);
    for res in [&registered, &login, &refreshed] {
        assert_eq!(
            res.header("cache-control"),
            Some("no-store"),
            "{}",
            res.text
        );
        assert_eq!(res.header("pragma"), Some("no-cache"));
    }
}

#[actix_web::test]
async fn invalid_registrations_name_every_bad_field_and_write_nothing() {
    let app = TestApp::spawn().await;
    let res = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"username": "a!", "email": "nope", "password": "short"}),
        )
        .await;
    let body = res.assert_problem(422, "validation_failed");
    let pointers: Vec<&str> = body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["pointer"].as_str())
        .collect();
    assert_eq!(pointers, ["/username", "/email", "/password"]);
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        ["invalid_username", "invalid_email", "weak_password"]
    );

    for bad in ["x", "sixteen_chars_xx", "ana lima", "ana\u{0}"] {
        app.post("/api/v1/auth/register", None, &registration(bad))
            .await
            .assert_problem(422, "validation_failed");
    }
    let mut nul_name = registration("ana");
    nul_name["display_name"] = json!("Ana\u{0}Lima");
    app.post("/api/v1/auth/register", None, &nul_name)
        .await
        .assert_problem(422, "validation_failed");
    app.post("/api/v1/auth/register", None, &json!({"username": "ana"}))
        .await
        .assert_problem(422, "validation_failed");

    let mut conn = app.db.connect().await;
    assert!(
        filmlog_persistence::members::find_by_username(&mut conn, "ana")
            .await
            .ok()
            .flatten()
            .is_none()
    );
}

#[actix_web::test]
async fn login_answers_unknown_user_and_wrong_password_alike() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let ok = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": "ANA", "password": ana.password}),
        )
        .await;
    let tokens = ok.assert_status(200);
    assert!(tokens["access_token"].is_string() && tokens["refresh_token"].is_string());

    let wrong = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": "ana", "password": "not the password!"}),
        )
        .await;
    let unknown = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": "nobody", "password": "not the password!"}),
        )
        .await;
    let malformed = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": "no\u{0}body", "password": "x"}),
        )
        .await;
    for res in [&wrong, &unknown, &malformed] {
        res.assert_problem(401, "invalid_credentials");
        assert!(
            res.header("www-authenticate")
                .is_some_and(|h| h.starts_with("Bearer"))
        );
    }
    assert_eq!(wrong.json["detail"], unknown.json["detail"]);
}

#[actix_web::test]
async fn a_hundred_concurrent_logins_succeed_with_bounded_memory() {
    let app = TestApp::spawn_with(|c| {
        c.auth.hash_concurrency = 2;
        c.pool.max_size = 16;
        c.pool.timeout = std::time::Duration::from_secs(10);
    })
    .await;
    let ana = app.member("ana").await;
    // Baseline: the same storm of requests that need no hash.
    let lookups = (0..100).map(|_| app.get("/api/v1/members/ana", None));
    reset_peak_rss();
    let before = peak_rss_kib();
    let results = futures_util::future::join_all(lookups).await;
    assert!(results.iter().all(|r| r.status == 200));
    let baseline_mib = peak_rss_kib().saturating_sub(before) / 1024;

    let body = json!({"username": "ana", "password": ana.password});
    let logins = (0..100).map(|_| app.post("/api/v1/auth/login", None, &body));
    reset_peak_rss();
    let before = peak_rss_kib();
    let results = futures_util::future::join_all(logins).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
    assert!(statuses.iter().all(|s| *s == 200), "statuses: {statuses:?}");
    let growth_mib = peak_rss_kib().saturating_sub(before) / 1024;
    println!(
        "peak RSS growth: 100 concurrent logins {growth_mib} MiB, 100 concurrent profile reads {baseline_mib} MiB"
    );
    // argon2 takes 19 MiB per hash: 100 unbounded hashes would need ~1.9 GiB; the two hashing threads
    // own 2 × 19 MiB for good (allocated when the app started, before this measurement).
    // 15 MiB: less than one more hash than the two allowed.
    assert!(
        growth_mib < baseline_mib + 15,
        "peak RSS grew by {growth_mib} MiB (baseline {baseline_mib} MiB)"
    );
    // 100 distinct sessions were started.
    let mut conn = app.db.connect().await;
    use diesel_async::RunQueryDsl;
    let sessions: i64 = diesel::QueryDsl::count(filmlog_persistence::schema::sessions::table)
        .get_result(&mut conn)
        .await
        .unwrap_or_default();
    assert_eq!(sessions, 101);
}

/// Resets the peak RSS (VmHWM) of this process to its current RSS; fails the test when it cannot,
/// since a peak that was never reset measures nothing.
pub(crate) fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5")
        .unwrap_or_else(|e| panic!("the peak RSS cannot be reset: {e}"));
    let (peak, now) = (status_kib("VmHWM"), status_kib("VmRSS"));
    assert!(
        peak <= now + 4096,
        "the peak RSS was not reset: {peak} KiB at peak, {now} KiB now"
    );
}

pub(crate) fn peak_rss_kib() -> u64 {
    status_kib("VmHWM")
}

/// A `KiB` field of `/proc/self/status`; fails the test when it is missing.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

#[actix_web::test]
async fn refresh_rotates_and_the_old_token_cannot_be_replayed_later() {
    let app =
        TestApp::spawn_with(|c| c.auth.refresh_grace = std::time::Duration::from_millis(0)).await;
    let ana = app.member("ana").await;
    let first = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": ana.refresh_token}),
        )
        .await;
    let next = first.assert_status(200)["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(next, ana.refresh_token);
    let access = first.json["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.get("/api/v1/me", Some(&access))
        .await
        .assert_status(200);

    // Reusing the spent token (outside the grace window) ends the whole family...
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": ana.refresh_token}),
    )
    .await
    .assert_problem(401, "refresh_token_reused");
    // ...so the successor and the access tokens of the session stop working too.
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": next}),
    )
    .await
    .assert_problem(401, "invalid_refresh_token");
    app.get("/api/v1/me", Some(&access))
        .await
        .assert_problem(401, "invalid_token");
    app.get("/api/v1/me", Some(&ana.access_token))
        .await
        .assert_problem(401, "invalid_token");
}

#[actix_web::test]
async fn concurrent_refreshes_inside_the_grace_window_get_the_same_successor() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let body = json!({"refresh_token": ana.refresh_token});
    let (a, b) = tokio::join!(
        app.post("/api/v1/auth/refresh", None, &body),
        app.post("/api/v1/auth/refresh", None, &body)
    );
    a.assert_status(200);
    b.assert_status(200);
    assert_eq!(a.json["refresh_token"], b.json["refresh_token"]);
    let successor = a.json["refresh_token"].clone();
    // The family is intact: the successor works, once.
    let c = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": successor}),
        )
        .await;
    c.assert_status(200);
    app.get("/api/v1/me", c.json["access_token"].as_str())
        .await
        .assert_status(200);
    // Once the successor is spent, the first token is no longer a harmless retry.
    app.post("/api/v1/auth/refresh", None, &body)
        .await
        .assert_problem(401, "refresh_token_reused");
}

#[actix_web::test]
async fn refresh_refuses_unknown_and_malformed_tokens() {
    let app = TestApp::spawn().await;
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": "nope"}),
    )
    .await
    .assert_problem(401, "invalid_refresh_token");
    app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": ""}))
        .await
        .assert_problem(401, "invalid_refresh_token");
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": "x".repeat(5000)}),
    )
    .await
    .assert_problem(401, "invalid_refresh_token");
    app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": 5}))
        .await
        .assert_problem(422, "validation_failed");
}

#[actix_web::test]
async fn no_refresh_token_is_stored_in_plaintext() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": "ana", "password": ana.password}),
        )
        .await;
    let issued = login.assert_status(200)["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let rotated = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": issued}),
        )
        .await;
    let successor = rotated.assert_status(200)["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    use base64::Engine;
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.db.connect().await;
    let tables = list_tables(&mut conn).await;
    assert!(tables.contains(&"refresh_tokens".to_owned()), "{tables:?}");
    for token in [&ana.refresh_token, &issued, &successor] {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .unwrap_or_default();
        assert_eq!(raw.len(), 32, "refresh tokens carry 256 random bits");
        let raw_hex = hex_encode(&raw);
        // Every row of every table, as JSON text (bytea renders as hex).
        for table in &tables {
            let sql = format!(
                "SELECT count(*) AS n FROM {table} t WHERE row_to_json(t)::text LIKE '%{token}%' \
                 OR row_to_json(t)::text LIKE '%{raw_hex}%'"
            );
            let found = diesel::sql_query(sql)
                .get_result::<N>(&mut conn)
                .await
                .map(|r| r.n);
            assert_eq!(found.ok(), Some(0), "a refresh token in {table}");
        }
    }
}

async fn list_tables(conn: &mut diesel_async::AsyncPgConnection) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        tablename: String,
    }
    use diesel_async::RunQueryDsl;
    diesel::sql_query(
        "SELECT tablename::text AS tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    )
    .load::<T>(conn)
    .await
    .map(|v| v.into_iter().map(|t| t.tablename).collect())
    .unwrap_or_default()
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[actix_web::test]
async fn logout_ends_the_session_at_once() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    app.post("/api/v1/auth/logout", None, &json!({}))
        .await
        .assert_problem(401, "missing_token");
    let res = app
        .send(
            reqwest::Method::POST,
            "/api/v1/auth/logout",
            Some(&ana.access_token),
            None,
        )
        .await;
    assert_eq!(res.status, 204);
    app.get("/api/v1/me", Some(&ana.access_token))
        .await
        .assert_problem(401, "invalid_token");
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": ana.refresh_token}),
    )
    .await
    .assert_problem(401, "invalid_refresh_token");
}
