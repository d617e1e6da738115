//! Mail for real (issue 30): verification links, password resets and security notices, sent by the
//! mail worker through a real SMTP server ([`SmtpSink`]) and read as it received them.

use std::time::Duration;

use diesel::sql_types::BigInt;
use filmlog_test_support::{ReceivedMail, SmtpSink, TestApp};
use serde_json::{Value, json};

async fn app_with_mail(sink: &SmtpSink) -> TestApp {
    let url = sink.url();
    TestApp::spawn_with(|c| c.smtp = Some(url)).await
}

fn registration(username: &str, email: &str) -> Value {
    json!({"username": username, "email": email, "password": "a long passphrase of mine"})
}

/// Registers; the access token.
async fn register(app: &TestApp, username: &str, email: &str) -> String {
    let res = app
        .post(
            "/api/v1/auth/register",
            None,
            &registration(username, email),
        )
        .await;
    let body = res.assert_status(201);
    assert_eq!(body["member"]["email_verified"], false, "{}", res.text);
    body["tokens"]["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let mut conn = app.db.connect().await;
    let row: N = diesel_async::RunQueryDsl::get_result(diesel::sql_query(sql), &mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    row.n
}

fn token_of(mail: &ReceivedMail, path: &str) -> String {
    mail.link_token(path)
        .unwrap_or_else(|| panic!("no {path} link in {}", mail.text))
}

#[actix_web::test]
async fn a_verification_link_arrives_by_smtp_and_works_once() {
    let sink = SmtpSink::start();
    let app = app_with_mail(&sink).await;
    let access = register(&app, "ana", "ana@example.com").await;
    let mails = sink.wait_for("ana@example.com", 1).await;
    let mail = &mails[0];
    // What the member sees: who it is from, a subject, both bodies with the same link and its
    // lifetime, and no unsubscribe header on a mail about the account.
    assert_eq!(mail.mail_from, "no-reply@filmlog.test");
    assert!(
        mail.subject().contains("Confirm your email address"),
        "{}",
        mail.subject()
    );
    assert!(
        mail.header("message-id")
            .is_some_and(|id| id.starts_with("<mail-"))
    );
    assert_eq!(mail.header("list-unsubscribe"), None);
    let token = token_of(mail, "/account/verify-email");
    let link = format!("{}/account/verify-email?token={token}", app.base);
    assert!(mail.text.contains(&link), "{}", mail.text);
    assert!(
        mail.html.contains(&format!("href=\"{link}\"")),
        "{}",
        mail.html
    );
    assert!(mail.text.contains("24 hours") && mail.text.contains("Hello ana,"));
    // No secret but the one-time token: not the password, not a session's token.
    assert!(!mail.raw.contains("a long passphrase") && !mail.raw.contains(&access));

    // Only the token's hash is stored, and the sent mail's bodies are cleared.
    let stored = scalar(
        &app,
        &format!(
            "SELECT count(*) AS n FROM account_tokens WHERE token_hash = sha256('{token}'::bytea)"
        ),
    )
    .await;
    assert_eq!(stored, 1);
    let plain = scalar(
        &app,
        &format!(
            "SELECT count(*) AS n FROM account_tokens WHERE position(convert_to('{token}', 'UTF8') IN token_hash) > 0"
        ),
    )
    .await;
    assert_eq!(plain, 0);
    app.until(
        "SELECT 1 FROM mail_outbox WHERE sent_at IS NOT NULL AND body_text IS NULL AND body_html IS NULL",
        "the sent mail is scrubbed",
    )
    .await;

    // Bad links change nothing.
    for bad in [
        json!({"token": ""}),
        json!({"token": "nope"}),
        json!({"token": "x".repeat(200)}),
    ] {
        app.post("/api/v1/auth/email-verification/confirm", None, &bad)
            .await
            .assert_problem(422, "invalid_mail_token");
    }
    app.post(
        "/api/v1/auth/email-verification/confirm",
        None,
        &json!({"token": 7}),
    )
    .await
    .assert_problem(422, "validation_failed");
    assert_eq!(
        app.get("/api/v1/me", Some(&access)).await.json["email_verified"],
        false
    );

    let confirm = json!({ "token": token });
    app.post("/api/v1/auth/email-verification/confirm", None, &confirm)
        .await
        .assert_status(204);
    assert_eq!(
        app.get("/api/v1/me", Some(&access)).await.json["email_verified"],
        true
    );
    // Once.
    app.post("/api/v1/auth/email-verification/confirm", None, &confirm)
        .await
        .assert_problem(422, "invalid_mail_token");
    // Verified: no new link.
    app.post("/api/v1/me/email-verification", Some(&access), &json!({}))
        .await
        .assert_problem(409, "email_already_verified");
}

#[actix_web::test]
async fn registration_answers_alike_whether_or_not_an_address_has_an_account() {
    let sink = SmtpSink::start();
    let app = app_with_mail(&sink).await;
    let ana = app.member("ana").await; // ana@example.com, verified
    let fresh = app
        .post(
            "/api/v1/auth/register",
            None,
            &registration("dora", "dora@example.com"),
        )
        .await;
    let taken = app
        .post(
            "/api/v1/auth/register",
            None,
            &registration("bruno", "ANA@EXAMPLE.COM"),
        )
        .await;
    // A full-width look-alike is the same address (NFKC, then lower case).
    let look_alike = app
        .post(
            "/api/v1/auth/register",
            None,
            &registration("carla", "\u{ff41}na@example.com"),
        )
        .await;
    let shape = |v: &Value| {
        let mut keys: Vec<String> = v["member"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        (
            keys,
            v["member"]["email_verified"].clone(),
            v["tokens"]["token_type"].clone(),
        )
    };
    for res in [&taken, &look_alike] {
        res.assert_status(201);
        assert_eq!(shape(&res.json), shape(&fresh.json), "{}", res.text);
        assert_eq!(res.header("cache-control"), fresh.header("cache-control"));
    }
    // The owner is told, twice; no link goes to an address someone else verified.
    let told = sink.wait_for("ana@example.com", 2).await;
    for m in &told {
        assert!(
            m.subject().contains("Someone tried to create"),
            "{}",
            m.subject()
        );
        assert!(m.text.contains("Hello ana,"), "{}", m.text);
        assert!(!m.text.contains("token="), "{}", m.text);
    }
    // Asking again sends nothing there either, and says so to no one.
    let bruno = taken.json["tokens"]["access_token"]
        .as_str()
        .unwrap_or_default();
    app.post("/api/v1/me/email-verification", Some(bruno), &json!({}))
        .await
        .assert_status(202);
    // Mail goes out in order: once a later one arrived, nothing else went to ana's address.
    register(&app, "emil", "emil@example.com").await;
    sink.wait_for("emil@example.com", 1).await;
    sink.wait_for("dora@example.com", 1).await;
    assert_eq!(sink.wait_for("ana@example.com", 2).await.len(), 2);

    // Usernames still answer for themselves: they are public.
    app.post(
        "/api/v1/auth/register",
        None,
        &registration("ANA", "x@example.com"),
    )
    .await
    .assert_problem(409, "username_taken");

    // Only one account can verify an address: the first to open its link.
    let first = register(&app, "fay", "shared@example.com").await;
    let second = register(&app, "gus", "Shared@example.com").await;
    let links = sink.wait_for("shared@example.com", 2).await;
    let tokens: Vec<String> = links
        .iter()
        .map(|m| token_of(m, "/account/verify-email"))
        .collect();
    for (i, token) in tokens.iter().enumerate() {
        let res = app
            .post(
                "/api/v1/auth/email-verification/confirm",
                None,
                &json!({ "token": token }),
            )
            .await;
        if i == 0 {
            res.assert_status(204);
        } else {
            res.assert_problem(409, "email_taken");
        }
    }
    let verified: Vec<Value> = [&first, &second]
        .iter()
        .map(|t| async { app.get("/api/v1/me", Some(t)).await.json["email_verified"].clone() })
        .collect::<futures_util::future::JoinAll<_>>()
        .await;
    assert_eq!(verified, [json!(true), json!(false)]);
    drop(ana);
}

#[actix_web::test]
async fn a_password_reset_by_mail_ends_every_session_and_tells_the_member() {
    let sink = SmtpSink::start();
    let app = app_with_mail(&sink).await;
    let ana = app.member("ana").await;
    let login = json!({"username": "ana", "password": TestApp::PASSWORD});
    let other = app.post("/api/v1/auth/login", None, &login).await;
    let other_refresh = other.assert_status(200)["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // Always 202, with nothing that tells an address with an account from one without.
    let known = app
        .post(
            "/api/v1/auth/password-reset",
            None,
            &json!({"email": "Ana@Example.com"}),
        )
        .await;
    let unknown = app
        .post(
            "/api/v1/auth/password-reset",
            None,
            &json!({"email": "nobody@example.com"}),
        )
        .await;
    for res in [&known, &unknown] {
        res.assert_status(202);
        assert_eq!(res.text, "");
    }
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({"email": "not an address"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post("/api/v1/auth/password-reset", None, &json!({}))
        .await
        .assert_problem(422, "validation_failed");

    let mail = &sink
        .wait_for_subject("ana@example.com", "Reset your Filmlog password", 1)
        .await[0];
    assert!(
        mail.subject().contains("Reset your Filmlog password"),
        "{}",
        mail.subject()
    );
    assert!(mail.text.contains("1 hour"), "{}", mail.text);
    assert_eq!(mail.header("list-unsubscribe"), None);
    let token = token_of(mail, "/account/reset-password");

    // A weak password or a wrong token changes nothing.
    let confirm = |token: &str, password: &str| json!({"token": token, "password": password});
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        &confirm(&token, "short"),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        &confirm("wrong", "a brand new passphrase"),
    )
    .await
    .assert_problem(422, "invalid_mail_token");
    app.get("/api/v1/me", Some(&ana.access_token))
        .await
        .assert_status(200);

    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        &confirm(&token, "a brand new passphrase"),
    )
    .await
    .assert_status(204);
    // Every session ended: access and refresh tokens alike.
    app.get("/api/v1/me", Some(&ana.access_token))
        .await
        .assert_problem(401, "invalid_token");
    for refresh in [&ana.refresh_token, &other_refresh] {
        app.post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": refresh }),
        )
        .await
        .assert_problem(401, "invalid_refresh_token");
    }
    app.post("/api/v1/auth/login", None, &login)
        .await
        .assert_problem(401, "invalid_credentials");
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({"username": "ana", "password": "a brand new passphrase"}),
    )
    .await
    .assert_status(200);
    // Once.
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        &confirm(&token, "yet another passphrase"),
    )
    .await
    .assert_problem(422, "invalid_mail_token");
    // And told.
    let notice = &sink
        .wait_for_subject("ana@example.com", "password was changed", 1)
        .await[0];
    assert!(
        notice.subject().contains("password was changed"),
        "{}",
        notice.subject()
    );
    assert!(
        notice
            .text
            .contains("with a link sent to your email address"),
        "{}",
        notice.text
    );

    // An expired link does nothing.
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({"email": "ana@example.com"}),
    )
    .await
    .assert_status(202);
    let late = token_of(
        &sink
            .wait_for_subject("ana@example.com", "Reset your Filmlog password", 2)
            .await[1],
        "/account/reset-password",
    );
    scalar(&app, "WITH e AS (UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL RETURNING 1) SELECT count(*) AS n FROM e").await;
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        &confirm(&late, "a later passphrase!"),
    )
    .await
    .assert_problem(422, "invalid_mail_token");

    // At most three reset mails an hour to one address, however often it is asked, even all at
    // once.
    let asks = (0..6).map(|_| async {
        app.post(
            "/api/v1/auth/password-reset",
            None,
            &json!({"email": "ana@example.com"}),
        )
        .await
        .status
    });
    assert_eq!(futures_util::future::join_all(asks).await, [202; 6]);
    app.until(
        "SELECT 1 FROM mail_outbox WHERE kind = 'password_reset' HAVING count(*) >= 3",
        "three reset mails",
    )
    .await;
    // Every request was answered before its work ran: once all six ran, still three.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let resets = scalar(
        &app,
        "SELECT count(*) AS n FROM mail_outbox WHERE kind = 'password_reset'",
    )
    .await;
    assert_eq!(resets, 3);
}

#[actix_web::test]
async fn a_password_change_is_told_by_mail() {
    let sink = SmtpSink::start();
    let app = app_with_mail(&sink).await;
    let ana = app.member("ana").await;
    app.send(
        reqwest::Method::PUT,
        "/api/v1/me/password",
        Some(&ana.access_token),
        Some(&json!({"current_password": TestApp::PASSWORD, "new_password": "a brand new passphrase"})),
    )
    .await
    .assert_status(204);
    let notice = &sink.wait_for("ana@example.com", 1).await[0];
    assert!(
        notice.subject().contains("password was changed"),
        "{}",
        notice.subject()
    );
    assert!(
        notice.text.contains("from a signed-in session"),
        "{}",
        notice.text
    );
}

#[actix_web::test]
async fn new_links_are_limited_and_need_a_session() {
    let sink = SmtpSink::start();
    let app = app_with_mail(&sink).await;
    let access = register(&app, "ana", "ana@example.com").await;
    app.post("/api/v1/me/email-verification", None, &json!({}))
        .await
        .assert_problem(401, "missing_token");
    for _ in 0..2 {
        app.post("/api/v1/me/email-verification", Some(&access), &json!({}))
            .await
            .assert_status(202);
    }
    // Registration's and two more: the hour is full.
    let limited = app
        .post("/api/v1/me/email-verification", Some(&access), &json!({}))
        .await;
    limited.assert_problem(429, "rate_limited");
    let wait: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!((3000..=3600).contains(&wait), "{wait}");
    let links = sink.wait_for("ana@example.com", 3).await;
    // Each of them works (until one is used: then all are spent).
    let tokens: Vec<String> = links
        .iter()
        .map(|m| token_of(m, "/account/verify-email"))
        .collect();
    assert_eq!(
        tokens
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3
    );
    app.post(
        "/api/v1/auth/email-verification/confirm",
        None,
        &json!({"token": tokens[1]}),
    )
    .await
    .assert_status(204);
    app.post(
        "/api/v1/auth/email-verification/confirm",
        None,
        &json!({"token": tokens[2]}),
    )
    .await
    .assert_problem(422, "invalid_mail_token");
}

#[actix_web::test]
async fn webhooks_and_large_imports_wait_for_a_verified_address() {
    let sink = SmtpSink::start();
    let app = app_with_mail(&sink).await;
    let access = register(&app, "ana", "ana@example.com").await;
    let hook = json!({
        "url": "http://127.0.0.1:9/hook",
        "events": ["log_entry"],
        "current_password": "a long passphrase of mine",
    });
    app.post("/api/v1/me/webhooks", Some(&access), &hook)
        .await
        .assert_problem(403, "email_unverified");
    // An archive over 1 MiB is refused while the address is unverified (before it is read whole).
    let big = vec![b'P'; 1_100_000];
    crate::portability::upload(&app, Some(&access), &big, true)
        .await
        .assert_problem(403, "email_unverified");
    assert_eq!(
        scalar(&app, "SELECT count(*) AS n FROM import_jobs").await,
        0
    );

    let token = token_of(
        &sink.wait_for("ana@example.com", 1).await[0],
        "/account/verify-email",
    );
    app.post(
        "/api/v1/auth/email-verification/confirm",
        None,
        &json!({ "token": token }),
    )
    .await
    .assert_status(204);
    app.post("/api/v1/me/webhooks", Some(&access), &hook)
        .await
        .assert_status(201);
    // Verified, the same archive is read (and refused for what it is, not for its size).
    crate::portability::upload(&app, Some(&access), &big, true)
        .await
        .assert_problem(422, "validation_failed");
}

#[actix_web::test]
async fn mail_survives_a_server_without_a_worker_and_a_refusing_smtp_server() {
    // An instance without a mail worker queues; the mail waits in the database.
    let app = TestApp::spawn().await;
    register(&app, "ana", "ana@example.com").await;
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) AS n FROM mail_outbox WHERE sent_at IS NULL"
        )
        .await,
        1
    );
    // A worker that died holding it: its claim lapses, and another instance sends it.
    scalar(&app, "WITH c AS (UPDATE mail_outbox SET claimed_until = now() + interval '1 second', attempts = 1 RETURNING 1) SELECT count(*) AS n FROM c").await;
    // That instance's SMTP server refuses twice (451) before it accepts.
    let sink = SmtpSink::failing_first(2);
    let url = sink.url();
    let db = app.db.url().to_owned();
    let jwt = app.jwt_secret.clone();
    let _worker = TestApp::spawn_with(|c| {
        c.database_url = Some(db);
        c.auth = filmlog_app::credentials::AuthSettings::new(secrecy::SecretString::from(jwt));
        c.smtp = Some(url);
    })
    .await;
    let mail = &sink.wait_for("ana@example.com", 1).await[0];
    assert!(mail.subject().contains("Confirm your email address"));
    app.until(
        "SELECT 1 FROM mail_outbox WHERE sent_at IS NOT NULL AND attempts = 4 AND last_error IS NULL",
        "sent on the fourth attempt: the lapsed claim, two refusals, then accepted",
    )
    .await;
}

/// Posts a form as a browser does.
async fn post_form(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> filmlog_test_support::TestResponse {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    TestApp::read(
        app.client
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body),
    )
    .await
}

#[actix_web::test]
async fn the_links_open_pages_whose_form_does_what_the_link_is_for() {
    let sink = SmtpSink::start();
    let app = app_with_mail(&sink).await;
    let access = register(&app, "ana", "ana@example.com").await;
    let mail = &sink.wait_for("ana@example.com", 1).await[0];
    let token = token_of(mail, "/account/verify-email");

    // Opening the link (as a mail scanner would) changes nothing: it shows a form.
    let opened = TestApp::read(
        app.client
            .get(format!("{}/account/verify-email?token={token}", app.base)),
    )
    .await;
    assert_eq!(opened.status, 200, "{}", opened.text);
    assert_eq!(
        opened.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(opened.header("x-frame-options"), Some("DENY"));
    assert_eq!(opened.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(opened.header("cache-control"), Some("no-store"));
    assert!(
        opened
            .header("content-security-policy")
            .is_some_and(|c| c.contains("frame-ancestors 'none'"))
    );
    assert!(
        opened
            .text
            .contains(&format!("name=\"token\" value=\"{token}\"")),
        "{}",
        opened.text
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&access)).await.json["email_verified"],
        false
    );

    let done = post_form(&app, "/account/verify-email", &[("token", &token)]).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.text.contains("Address confirmed"));
    assert_eq!(
        app.get("/api/v1/me", Some(&access)).await.json["email_verified"],
        true
    );
    let again = post_form(&app, "/account/verify-email", &[("token", &token)]).await;
    assert_eq!(again.status, 400);
    assert!(again.text.contains("This link does not work"));

    // What the address carries is escaped; no token is no form.
    let hostile = TestApp::read(app.client.get(format!(
        "{}/account/verify-email?token=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
        app.base
    )))
    .await;
    assert!(!hostile.text.contains("<script>"), "{}", hostile.text);
    let none = TestApp::read(app.client.get(app.url("/account/reset-password"))).await;
    assert_eq!(none.status, 400);

    // A reset through its page.
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({"email": "ana@example.com"}),
    )
    .await
    .assert_status(202);
    let reset = token_of(
        &sink.wait_for("ana@example.com", 2).await[1],
        "/account/reset-password",
    );
    let form = TestApp::read(
        app.client
            .get(format!("{}/account/reset-password?token={reset}", app.base)),
    )
    .await;
    assert!(
        form.text.contains("type=\"password\" name=\"password\""),
        "{}",
        form.text
    );
    let weak = post_form(
        &app,
        "/account/reset-password",
        &[("token", &reset), ("password", "short")],
    )
    .await;
    assert_eq!(weak.status, 422, "{}", weak.text);
    let set = post_form(
        &app,
        "/account/reset-password",
        &[("token", &reset), ("password", "a page-set passphrase")],
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.text);
    app.get("/api/v1/me", Some(&access))
        .await
        .assert_problem(401, "invalid_token");
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({"username": "ana", "password": "a page-set passphrase"}),
    )
    .await
    .assert_status(200);
    // A form larger than any these pages take is refused.
    let huge = post_form(
        &app,
        "/account/reset-password",
        &[("token", &"x".repeat(10_000))],
    )
    .await;
    assert_eq!(huge.status, 413, "{}", huge.text);
}

#[actix_web::test]
async fn asking_for_links_is_limited_alike_whether_or_not_someone_verified_the_address() {
    let sink = SmtpSink::start();
    let app = app_with_mail(&sink).await;
    app.member("ana").await; // ana@example.com, verified
    let free = register(&app, "bruno", "bruno@example.com").await;
    let taken = register(&app, "carla", "ana@example.com").await;
    let mut answers = Vec::new();
    for token in [&free, &taken] {
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(
                app.post("/api/v1/me/email-verification", Some(token), &json!({}))
                    .await
                    .status,
            );
        }
        answers.push(statuses);
    }
    assert_eq!(answers, [[202, 202, 429], [202, 202, 429]]);
}

#[actix_web::test]
async fn a_reset_pauses_webhooks_and_spends_every_other_link() {
    let sink = SmtpSink::start();
    let app = app_with_mail(&sink).await;
    let ana = app.member("ana").await;
    let hook_id = app.webhook(&ana).await;
    for _ in 0..2 {
        app.post(
            "/api/v1/auth/password-reset",
            None,
            &json!({"email": "ana@example.com"}),
        )
        .await
        .assert_status(202);
    }
    // (After the notice that a webhook was added.)
    let links = sink
        .wait_for_subject("ana@example.com", "Reset your Filmlog password", 2)
        .await;
    sink.wait_for_subject("ana@example.com", "A webhook was added", 1)
        .await;
    let tokens: Vec<String> = links
        .iter()
        .map(|m| token_of(m, "/account/reset-password"))
        .collect();
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        &json!({"token": tokens[0], "password": "a brand new passphrase"}),
    )
    .await
    .assert_status(204);
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        &json!({"token": tokens[1], "password": "another new passphrase"}),
    )
    .await
    .assert_problem(422, "invalid_mail_token");
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": "ana", "password": "a brand new passphrase"}),
        )
        .await;
    let access = login.assert_status(200)["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let hook = app
        .get(&format!("/api/v1/me/webhooks/{hook_id}"), Some(&access))
        .await;
    assert_eq!(hook.assert_status(200)["enabled"], false, "{}", hook.text);
    assert!(
        hook.json["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.contains("reset")),
        "{}",
        hook.text
    );
}

#[actix_web::test]
async fn links_of_one_kind_do_not_work_as_the_other_and_a_password_change_spends_reset_links() {
    let sink = SmtpSink::start();
    let app = app_with_mail(&sink).await;
    let access = register(&app, "ana", "ana@example.com").await;
    let verify = token_of(
        &sink.wait_for("ana@example.com", 1).await[0],
        "/account/verify-email",
    );
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        &json!({"token": verify, "password": "a brand new passphrase"}),
    )
    .await
    .assert_problem(422, "invalid_mail_token");
    app.post(
        "/api/v1/auth/email-verification/confirm",
        None,
        &json!({ "token": verify }),
    )
    .await
    .assert_status(204);
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({"email": "ana@example.com"}),
    )
    .await
    .assert_status(202);
    let reset = token_of(
        &sink.wait_for("ana@example.com", 2).await[1],
        "/account/reset-password",
    );
    app.post(
        "/api/v1/auth/email-verification/confirm",
        None,
        &json!({ "token": reset }),
    )
    .await
    .assert_problem(422, "invalid_mail_token");
    // Changing the password from a session spends the link in the mailbox.
    app.send(
        reqwest::Method::PUT,
        "/api/v1/me/password",
        Some(&access),
        Some(&json!({"current_password": "a long passphrase of mine", "new_password": "a brand new passphrase"})),
    )
    .await
    .assert_status(204);
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        &json!({"token": reset, "password": "yet another passphrase"}),
    )
    .await
    .assert_problem(422, "invalid_mail_token");
}

#[actix_web::test]
async fn a_permanent_refusal_is_given_up_at_once_and_scrubbed() {
    let sink = SmtpSink::refusing();
    let app = app_with_mail(&sink).await;
    register(&app, "ana", "ana@example.com").await;
    app.until(
        "SELECT 1 FROM mail_outbox WHERE failed_at IS NOT NULL AND attempts = 1 \
         AND body_text IS NULL AND body_html IS NULL AND last_error LIKE '%550%'",
        "given up after one permanent refusal, bodies cleared",
    )
    .await;
    assert!(sink.received().is_empty());
}

#[actix_web::test]
async fn each_network_has_a_mail_budget() {
    let app = TestApp::spawn_with(|c| {
        c.rate.budgets.mail_per_ip =
            filmlog_api::ratelimit::Quota::new(2, Duration::from_secs(3600));
    })
    .await;
    for i in 0..3 {
        let res = app
            .post(
                "/api/v1/auth/password-reset",
                None,
                &json!({"email": format!("x{i}@example.com")}),
            )
            .await;
        if i < 2 {
            res.assert_status(202);
        } else {
            res.assert_problem(429, "rate_limited");
            assert!(res.header("retry-after").is_some());
        }
    }
}

#[actix_web::test]
async fn a_webhook_cannot_be_pointed_elsewhere_or_turned_on_without_a_verified_address() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let id = app.webhook(&ana).await;
    scalar(&app, "WITH u AS (UPDATE members SET email_verified_at = NULL RETURNING 1) SELECT count(*) AS n FROM u").await;
    let path = format!("/api/v1/me/webhooks/{id}");
    for change in [
        json!({"url": "http://127.0.0.1:10/elsewhere", "current_password": TestApp::PASSWORD}),
        json!({"enabled": true, "current_password": TestApp::PASSWORD}),
    ] {
        app.send(
            reqwest::Method::PATCH,
            &path,
            Some(&ana.access_token),
            Some(&change),
        )
        .await
        .assert_problem(403, "email_unverified");
    }
    // What reaches no one still changes.
    app.send(
        reqwest::Method::PATCH,
        &path,
        Some(&ana.access_token),
        Some(&json!({"enabled": false})),
    )
    .await
    .assert_status(200);
}

#[actix_web::test]
async fn an_address_change_is_confirmed_by_the_new_address_and_undone_by_the_old() {
    let sink = SmtpSink::start();
    let app = app_with_mail(&sink).await;
    let ana = app.member("ana").await;
    let change = |email: &str| {
        let body = json!({ "email": email });
        let token = ana.access_token.clone();
        let app = &app;
        async move {
            app.send(
                reqwest::Method::PUT,
                "/api/v1/me/email",
                Some(&token),
                Some(&body),
            )
            .await
        }
    };
    let same = change("ANA@example.com").await;
    assert_eq!(
        same.assert_problem(422, "validation_failed")["errors"][0]["code"],
        "same_email"
    );
    change("not an address")
        .await
        .assert_problem(422, "validation_failed");
    app.send(
        reqwest::Method::PUT,
        "/api/v1/me/email",
        None,
        Some(&json!({"email": "x@example.org"})),
    )
    .await
    .assert_problem(401, "missing_token");
    change("ana.new@example.org").await.assert_status(202);

    // Nothing changes until the new address opens its link.
    let link = &sink
        .wait_for_subject("ana.new@example.org", "Confirm your new email address", 1)
        .await[0];
    let token = token_of(link, "/account/confirm-email-change");
    assert_eq!(
        app.get("/api/v1/me", Some(&ana.access_token)).await.json["email"],
        "ana@example.com"
    );
    let confirm = json!({ "token": token });
    app.post("/api/v1/auth/email-change/confirm", None, &confirm)
        .await
        .assert_status(204);
    let me = app.get("/api/v1/me", Some(&ana.access_token)).await;
    assert_eq!(
        (me.json["email"].clone(), me.json["email_verified"].clone()),
        (json!("ana.new@example.org"), json!(true))
    );
    app.post("/api/v1/auth/email-change/confirm", None, &confirm)
        .await
        .assert_problem(422, "invalid_mail_token");

    // The old address is told, with a way back for 7 days.
    let told = &sink
        .wait_for_subject(
            "ana@example.com",
            "email address of your Filmlog account was changed",
            1,
        )
        .await[0];
    assert!(
        told.text.contains("ana.new@example.org") && told.text.contains("7 days"),
        "{}",
        told.text
    );
    let undo = token_of(told, "/account/undo-email-change");
    // Neither link works as the other.
    app.post(
        "/api/v1/auth/email-change/confirm",
        None,
        &json!({ "token": undo }),
    )
    .await
    .assert_problem(422, "invalid_mail_token");
    // The confirmation's token does not undo, nor the undo's confirm.
    app.post("/api/v1/auth/email-change/undo", None, &confirm)
        .await
        .assert_problem(422, "invalid_mail_token");
    app.post(
        "/api/v1/auth/email-change/undo",
        None,
        &json!({ "token": undo }),
    )
    .await
    .assert_status(204);
    // Whoever changed it is signed out; the owner signs in and has the old address back.
    app.get("/api/v1/me", Some(&ana.access_token))
        .await
        .assert_problem(401, "invalid_token");
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": "ana", "password": TestApp::PASSWORD}),
        )
        .await;
    let access = login.assert_status(200)["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let me = app.get("/api/v1/me", Some(&access)).await;
    assert_eq!(
        (me.json["email"].clone(), me.json["email_verified"].clone()),
        (json!("ana@example.com"), json!(true))
    );
    sink.wait_for_subject("ana@example.com", "Your Filmlog email address is back", 1)
        .await;
    app.post(
        "/api/v1/auth/email-change/undo",
        None,
        &json!({ "token": undo }),
    )
    .await
    .assert_problem(422, "invalid_mail_token");
}

#[actix_web::test]
async fn an_address_another_account_verified_cannot_be_taken_and_says_nothing() {
    let sink = SmtpSink::start();
    let app = app_with_mail(&sink).await;
    app.member("ana").await;
    let bo = app.member("bo").await;
    let res = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/me/email",
            Some(&bo.access_token),
            Some(&json!({"email": "ana@example.com"})),
        )
        .await;
    res.assert_status(202);
    // Mail goes out in order: once a later one arrived, none went to ana's address.
    app.send(
        reqwest::Method::PUT,
        "/api/v1/me/email",
        Some(&bo.access_token),
        Some(&json!({"email": "bo.new@example.org"})),
    )
    .await
    .assert_status(202);
    sink.wait_for("bo.new@example.org", 1).await;
    assert!(
        sink.received()
            .iter()
            .all(|m| !m.rcpt_tos.iter().any(|r| r == "ana@example.com"))
    );
}

#[actix_web::test]
async fn a_thief_cannot_spend_the_owners_undo_link_by_undoing_a_later_change() {
    let sink = SmtpSink::start();
    let app = app_with_mail(&sink).await;
    let ana = app.member("ana").await;
    let sink = &sink;
    let change_to = |email: &'static str| {
        let app = &app;
        let token = ana.access_token.clone();
        async move {
            app.send(
                reqwest::Method::PUT,
                "/api/v1/me/email",
                Some(&token),
                Some(&json!({ "email": email })),
            )
            .await
            .assert_status(202);
            let link = &sink
                .wait_for_subject(email, "Confirm your new email address", 1)
                .await[0];
            let token = token_of(link, "/account/confirm-email-change");
            app.post(
                "/api/v1/auth/email-change/confirm",
                None,
                &json!({ "token": token }),
            )
            .await
            .assert_status(204);
        }
    };
    change_to("x@example.org").await;
    let owners = token_of(
        &sink
            .wait_for_subject("ana@example.com", "was changed", 1)
            .await[0],
        "/account/undo-email-change",
    );
    change_to("y@example.org").await;
    let thiefs = token_of(
        &sink
            .wait_for_subject("x@example.org", "was changed", 1)
            .await[0],
        "/account/undo-email-change",
    );
    app.post(
        "/api/v1/auth/email-change/undo",
        None,
        &json!({ "token": thiefs }),
    )
    .await
    .assert_status(204);
    // The owner's link still works, and wins.
    app.post(
        "/api/v1/auth/email-change/undo",
        None,
        &json!({ "token": owners }),
    )
    .await
    .assert_status(204);
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": "ana", "password": TestApp::PASSWORD}),
        )
        .await;
    let access = login.assert_status(200)["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        app.get("/api/v1/me", Some(&access)).await.json["email"],
        "ana@example.com"
    );
}

#[actix_web::test]
async fn address_changes_are_limited_and_a_confirmation_loses_to_an_earlier_verification() {
    let sink = SmtpSink::start();
    let app = app_with_mail(&sink).await;
    let ana = app.member("ana").await;
    let change = |email: &'static str| {
        let app = &app;
        let token = ana.access_token.clone();
        async move {
            app.send(
                reqwest::Method::PUT,
                "/api/v1/me/email",
                Some(&token),
                Some(&json!({ "email": email })),
            )
            .await
        }
    };
    for email in ["one@example.org", "two@example.org", "three@example.org"] {
        change(email).await.assert_status(202);
    }
    let limited = change("four@example.org").await;
    limited.assert_problem(429, "rate_limited");
    assert!(limited.header("retry-after").is_some());
    // Someone else verifies "one@example.org" first: ana's link to it then answers 409.
    let link = &sink
        .wait_for_subject("one@example.org", "Confirm your new email address", 1)
        .await[0];
    let token = token_of(link, "/account/confirm-email-change");
    register(&app, "bo", "one@example.org").await;
    let verify = &sink
        .wait_for_subject("one@example.org", "Confirm your email address", 1)
        .await[0];
    app.post(
        "/api/v1/auth/email-verification/confirm",
        None,
        &json!({ "token": token_of(verify, "/account/verify-email") }),
    )
    .await
    .assert_status(204);
    app.post(
        "/api/v1/auth/email-change/confirm",
        None,
        &json!({ "token": token }),
    )
    .await
    .assert_problem(409, "email_taken");
    assert_eq!(
        app.get("/api/v1/me", Some(&ana.access_token)).await.json["email"],
        "ana@example.com"
    );
}
