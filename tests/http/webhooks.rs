//! Webhooks against a real HTTP receiver started by each test: delivered and verified (Standard
//! Webhooks signatures, checked here with HMAC directly); the receiver down, then back; the API
//! stopped mid-delivery and started again; an endpoint that keeps failing; refusals.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use filmlog_test_support::{TestApp, TestMember};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }

    /// Verifies the signature with `secret` as a receiver would.
    fn verified_by(&self, secret: &str) -> bool {
        let Some(key) = secret
            .strip_prefix("whsec_")
            .and_then(|k| STANDARD.decode(k).ok())
        else {
            return false;
        };
        let Ok(mut mac) = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key) else {
            return false;
        };
        mac.update(format!("{}.{}.{}", self.id, self.timestamp, self.body).as_bytes());
        let want = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        self.signature.split(' ').any(|s| s == want)
    }
}

/// A receiver on 127.0.0.1: records every request, answers `status` after `delay`.
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
    /// Requests being answered now, and the most there ever were at once.
    busy: Arc<(
        std::sync::atomic::AtomicUsize,
        std::sync::atomic::AtomicUsize,
    )>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(port: u16, status: u16, delay: Duration) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("receiver bind: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        let busy = Arc::new((
            std::sync::atomic::AtomicUsize::new(0),
            std::sync::atomic::AtomicUsize::new(0),
        ));
        let counting = busy.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let seen = seen.clone();
                let counting = counting.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // Head, then the body by Content-Length.
                    let (head, mut body) = loop {
                        let Ok(n) = sock.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..i]).into_owned();
                            break (head, buf[i + 4..].to_vec());
                        }
                    };
                    let header = |name: &str| {
                        head.lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                            })
                            .unwrap_or_default()
                    };
                    let len: usize = header("content-length").parse().unwrap_or(0);
                    while body.len() < len {
                        let Ok(n) = sock.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        body.extend_from_slice(&chunk[..n]);
                    }
                    if let Ok(mut seen) = seen.lock() {
                        seen.push(Received {
                            id: header("webhook-id"),
                            timestamp: header("webhook-timestamp"),
                            signature: header("webhook-signature"),
                            body: String::from_utf8_lossy(&body).into_owned(),
                        });
                    }
                    use std::sync::atomic::Ordering;
                    let now = counting.0.fetch_add(1, Ordering::SeqCst) + 1;
                    counting.1.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    counting.0.fetch_sub(1, Ordering::SeqCst);
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 8\r\nconnection: close\r\n\r\nreceived"
                    );
                    let _ = sock.write_all(answer.as_bytes()).await;
                });
            }
        });
        Receiver {
            port,
            got,
            busy,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// Waits until `pred` holds of what arrived (10 s at most).
    async fn until(&self, what: &str, pred: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.got();
            if pred(&got) {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: the receiver got {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn stop(self) {
        self.task.abort();
    }
}

fn of_type<'a>(got: &'a [Received], kind: &str) -> Vec<&'a Received> {
    got.iter().filter(|r| r.json()["type"] == kind).collect()
}

async fn register(app: &TestApp, who: &TestMember, url: &str, events: Value) -> (String, String) {
    let res = app
        .post(
            "/api/v1/me/webhooks",
            Some(&who.access_token),
            &json!({"url": url, "events": events, "current_password": who.password}),
        )
        .await;
    let body = res.assert_status(201);
    let id = body["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/me/webhooks/{id}").as_str())
    );
    (id, body["secret"].as_str().unwrap_or_default().to_owned())
}

/// The one endpoint's secret and previous secret as stored.
async fn stored_secrets(conn: &mut diesel_async::AsyncPgConnection) -> (String, Option<String>) {
    use diesel::QueryDsl;
    use diesel_async::RunQueryDsl;
    use filmlog_persistence::schema::webhook_endpoints::dsl;
    dsl::webhook_endpoints
        .select((dsl::secret, dsl::previous_secret))
        .get_result(conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn deliveries(app: &TestApp, who: &TestMember, id: &str) -> Vec<Value> {
    app.get(
        &format!("/api/v1/me/webhooks/{id}/deliveries"),
        Some(&who.access_token),
    )
    .await
    .assert_status(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits until the endpoint's deliveries satisfy `pred` (10 s at most).
async fn deliveries_until(
    app: &TestApp,
    who: &TestMember,
    id: &str,
    what: &str,
    pred: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = deliveries(app, who, id).await;
        if pred(&got) {
            return got;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {got:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn events_are_delivered_signed_and_verifiable() {
    let app = TestApp::spawn().await;
    let (ana, ben) = (app.member("ana").await, app.member("ben").await);
    let receiver = Receiver::start(0, 200, Duration::ZERO).await;
    let (id, secret) = register(&app, &ana, &receiver.url(), json!(["*"])).await;
    assert!(secret.starts_with("whsec_"));
    // The secret is shown once.
    let listed = app
        .get("/api/v1/me/webhooks", Some(&ana.access_token))
        .await;
    assert_eq!(listed.assert_status(200)["items"][0]["id"], id.as_str());
    assert!(listed.json["items"][0].get("secret").is_none());

    let film = app.film("Hooked", 2001).await;
    let entry = app
        .log(&ana, json!({"film": film, "review": {"text": "Signed"}}))
        .await;
    app.put(
        &format!("/api/v1/log-entries/{entry}/like"),
        &ben.access_token,
    )
    .await
    .assert_status(204);
    let got = receiver
        .until("entry, film and notification events", |g| {
            !of_type(g, "log_entry.changed").is_empty()
                && !of_type(g, "film.changed").is_empty()
                && !of_type(g, "notification.created").is_empty()
        })
        .await;
    for r in &got {
        assert!(r.verified_by(&secret), "unverifiable: {r:?}");
        assert!(r.id.starts_with("msg_"), "{r:?}");
        let sent_at: i64 = r.timestamp.parse().unwrap_or(0);
        assert!((chrono::Utc::now().timestamp() - sent_at).abs() < 60);
        assert!(!r.verified_by("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    }
    let entry_event = of_type(&got, "log_entry.changed")[0].json();
    assert_eq!(entry_event["data"]["id"], entry.as_str());
    assert_eq!(entry_event["data"]["data"]["review"], "Signed");
    let liked = of_type(&got, "notification.created")[0].json();
    assert_eq!(liked["data"]["kind"], "review_like");
    assert_eq!(liked["data"]["actor"], "ben");
    // ben's own writes are not ana's events.
    assert!(got.iter().all(|r| !r.body.contains("review_like.changed")));

    // The test event, and the deliveries as the owner reads them.
    let queued = app
        .post(
            &format!("/api/v1/me/webhooks/{id}/test"),
            Some(&ana.access_token),
            &json!({}),
        )
        .await;
    let message = queued.assert_status(202)["message_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    receiver
        .until("the test event", |g| g.iter().any(|r| r.id == message))
        .await;
    let list = deliveries_until(&app, &ana, &id, "all delivered", |d| {
        d.iter().all(|x| x["status"] == "delivered")
    })
    .await;
    assert!(list.len() >= 4, "{list:?}");
    assert_eq!(list[0]["message_id"], message.as_str());
    assert_eq!(list[0]["last_status"], 200);
    assert_eq!(list[0]["response_excerpt"], "received");

    // Rotating the secret: later deliveries verify with the new one, and for a day with the old one
    // too (security review L5: a receiver switches without losing deliveries); then the new only.
    let rotated = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/me/webhooks/{id}"),
            Some(&ana.access_token),
            Some(&json!({"rotate_secret": true, "events": ["profile"], "current_password": ana.password})),
        )
        .await;
    let new_secret = rotated.assert_status(200)["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(new_secret, secret);
    assert_eq!(rotated.json["events"], json!(["profile"]));
    app.send(
        reqwest::Method::PATCH,
        "/api/v1/me",
        Some(&ana.access_token),
        Some(&json!({"bio": "Rotated"})),
    )
    .await
    .assert_status(200);
    let got = receiver
        .until("the profile event", |g| {
            !of_type(g, "profile.changed").is_empty()
        })
        .await;
    let profile = of_type(&got, "profile.changed")[0];
    assert!(profile.verified_by(&new_secret) && profile.verified_by(&secret));
    {
        use diesel_async::RunQueryDsl;
        let mut conn = app.db.connect().await;
        // Stored sealed, never in the clear.
        let (sealed, previous) = stored_secrets(&mut conn).await;
        let previous = previous.unwrap_or_default();
        assert!(sealed.starts_with("sealed1:"), "{sealed}");
        assert!(previous.starts_with("sealed1:"), "{previous}");
        assert!(!sealed.contains(&new_secret[6..]) && !previous.contains(&secret[6..]));
        diesel::sql_query(
            "UPDATE webhook_endpoints SET previous_secret_until = now() - interval '1 second'",
        )
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    app.send(
        reqwest::Method::PATCH,
        "/api/v1/me",
        Some(&ana.access_token),
        Some(&json!({"bio": "Rotated for good"})),
    )
    .await
    .assert_status(200);
    let got = receiver
        .until("the second profile event", |g| {
            of_type(g, "profile.changed").len() >= 2
        })
        .await;
    let later = of_type(&got, "profile.changed")[1];
    assert!(later.verified_by(&new_secret) && !later.verified_by(&secret));

    // The daily pruning drops finished deliveries older than it keeps, never pending ones.
    let done = deliveries_until(&app, &ana, &id, "all delivered", |d| {
        d.iter().all(|x| x["status"] == "delivered")
    })
    .await;
    let mut conn = app.db.connect().await;
    let now = chrono::Utc::now();
    let kept = filmlog_persistence::webhooks::prune(&mut conn, now - chrono::TimeDelta::days(30))
        .await
        .unwrap_or(usize::MAX);
    assert_eq!(kept, 0);
    let dropped = filmlog_persistence::webhooks::prune(&mut conn, now + chrono::TimeDelta::days(1))
        .await
        .unwrap_or_default();
    assert_eq!(dropped, done.len());
    assert!(deliveries(&app, &ana, &id).await.is_empty());
    receiver.stop();
}

#[actix_web::test]
async fn a_receiver_that_is_down_gets_it_when_it_comes_back() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    // A port nothing listens on yet.
    let port = {
        let probe =
            std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap_or_else(|e| panic!("bind: {e}"));
        probe.local_addr().map(|a| a.port()).unwrap_or(0)
    };
    let (id, secret) = register(
        &app,
        &ana,
        &format!("http://127.0.0.1:{port}/hook"),
        json!(["log_entry"]),
    )
    .await;
    let film = app.film("Patient", 2002).await;
    let entry = app
        .log(&ana, json!({"film": film, "watched_on": "2026-11-01"}))
        .await;
    let failing = deliveries_until(&app, &ana, &id, "two failed attempts", |d| {
        d.first()
            .is_some_and(|x| x["attempts"].as_i64().unwrap_or(0) >= 2 && x["status"] == "pending")
    })
    .await;
    let message = failing[0]["message_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        failing[0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("could not connect")),
        "{failing:?}"
    );
    let receiver = Receiver::start(port, 200, Duration::ZERO).await;
    let got = receiver
        .until("the retried delivery", |g| {
            g.iter().any(|r| r.id == message)
        })
        .await;
    let event = got.iter().find(|r| r.id == message).cloned();
    let event = event.unwrap_or_else(|| panic!("{got:?}"));
    assert!(event.verified_by(&secret));
    assert_eq!(event.json()["data"]["id"], entry.as_str());
    deliveries_until(&app, &ana, &id, "delivered", |d| {
        d.first().is_some_and(|x| x["status"] == "delivered")
    })
    .await;
    receiver.stop();
}

#[actix_web::test]
async fn an_api_stopped_mid_delivery_loses_nothing_and_resends_under_the_same_id() {
    let receiver = Receiver::start(0, 200, Duration::from_secs(3)).await;
    // The first app's worker starts once every event is queued, so it takes them in one batch.
    let first = TestApp::spawn_with(|c| c.webhook_worker = false).await;
    let url = first.db.url().to_owned();
    let ana = first.member("ana").await;
    let (id, secret) = register(&first, &ana, &receiver.url(), json!(["log_entry"])).await;
    let mut entries = Vec::new();
    for i in 0..3 {
        let film = first.film(&format!("Interrupted {i}"), 2000 + i).await;
        entries.push(
            first
                .log(&ana, json!({"film": film, "watched_on": "2026-11-01"}))
                .await,
        );
    }
    let worker = actix_web::rt::spawn(filmlog_jobs::webhooks::work(
        first.state.pool.clone(),
        first.state.webhooks.clone(),
    ));
    // Every delivery has been sent (the receiver holds its answers): stop the worker now. Counted
    // by message id: the claims last `hold` (2 s), less than the receiver's 3 s, so a worker may
    // send a message again before it sends the next one, and three arrivals can be two messages.
    receiver
        .until("all three sent", |g| {
            let ids: std::collections::HashSet<&str> = g.iter().map(|r| r.id.as_str()).collect();
            ids.len() >= 3
        })
        .await;
    worker.abort();
    let jwt = first.jwt_secret.clone();
    // The first app's database must outlive it: a second app takes over on the same one.
    let second = TestApp::spawn_with(|c| {
        c.database_url = Some(url);
        c.auth = filmlog_app::credentials::AuthSettings::new(secrecy::SecretString::from(jwt));
    })
    .await;
    let got = receiver
        .until("each delivery sent again", |g| g.len() >= 6)
        .await;
    // The same three messages, each with its own id, body and a valid signature; nothing else.
    let mut ids: Vec<String> = got.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "{got:?}");
    for id in &ids {
        let copies: Vec<&Received> = got.iter().filter(|r| &r.id == id).collect();
        assert!(copies.len() >= 2);
        assert!(
            copies
                .iter()
                .all(|c| c.body == copies[0].body && c.verified_by(&secret))
        );
    }
    let delivered: Vec<String> = ids
        .iter()
        .filter_map(|id| {
            got.iter().find(|r| &r.id == id).map(|r| {
                r.json()["data"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
        })
        .collect();
    for entry in &entries {
        assert!(
            delivered.contains(entry),
            "{entry} not delivered: {delivered:?}"
        );
    }
    deliveries_until(&second, &ana, &id, "all delivered", |d| {
        d.len() == 3 && d.iter().all(|x| x["status"] == "delivered")
    })
    .await;
    receiver.stop();
}

#[actix_web::test]
async fn an_endpoint_that_keeps_failing_is_disabled_and_its_owner_told() {
    let app = TestApp::spawn_with(|c| c.webhooks.retry.disable_after = 3).await;
    let ana = app.member("ana").await;
    let receiver = Receiver::start(0, 500, Duration::ZERO).await;
    let (id, _) = register(&app, &ana, &receiver.url(), json!(["log_entry"])).await;
    let film = app.film("Failing", 2003).await;
    app.log(&ana, json!({"film": film, "watched_on": "2026-11-01"}))
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let endpoint = loop {
        let res = app
            .get(
                &format!("/api/v1/me/webhooks/{id}"),
                Some(&ana.access_token),
            )
            .await;
        if res.assert_status(200)["enabled"] == false {
            break res.json.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never disabled: {}",
            res.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(endpoint["consecutive_failures"], 3);
    assert!(
        endpoint["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.contains("answered 500")),
        "{endpoint}"
    );
    let list = deliveries(&app, &ana, &id).await;
    assert_eq!(list[0]["last_status"], 500);
    assert_eq!(list[0]["response_excerpt"], "received");
    let told = app
        .get("/api/v1/me/notifications", Some(&ana.access_token))
        .await;
    let item = &told.assert_status(200)["items"][0];
    assert_eq!(item["kind"], "webhook_disabled");
    assert_eq!(item["subject"]["type"], "webhook");
    assert_eq!(item["subject"]["id"], id.as_str());
    // Disabled: nothing more is sent, and the test event is refused until it is turned on.
    let before = receiver.got().len();
    app.post(
        &format!("/api/v1/me/webhooks/{id}/test"),
        Some(&ana.access_token),
        &json!({}),
    )
    .await
    .assert_problem(409, "webhook_disabled");
    // A pending delivery would be retried 0.64–0.96 s after the third failure (800 ms ± 20 %), and
    // again 0.8–1.2 s later (the 1 s cap ± 20 %), each picked up within a 100 ms poll: 2.5 s
    // outlasts both.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(receiver.got().len(), before);
    let on = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/me/webhooks/{id}"),
            Some(&ana.access_token),
            Some(&json!({"enabled": true, "current_password": ana.password})),
        )
        .await;
    assert_eq!(on.assert_status(200)["consecutive_failures"], 0);
    receiver
        .until("retried once enabled", |g| g.len() > before)
        .await;
    receiver.stop();
}

#[actix_web::test]
async fn unsafe_targets_bad_input_and_others_endpoints_are_refused() {
    let app = TestApp::spawn_with(|c| {
        c.webhooks.targets = filmlog_domain::webhook::TargetPolicy {
            http_hosts: vec!["localhost".to_owned()],
            allow_private: false,
        };
    })
    .await;
    let (ana, ben) = (app.member("ana").await, app.member("ben").await);
    let password = ana.password.clone();
    let create = |token: Option<String>, mut body: Value| {
        let app = &app;
        body["current_password"] = json!(password);
        async move {
            app.post("/api/v1/me/webhooks", token.as_deref(), &body)
                .await
        }
    };
    create(
        None,
        json!({"url": "https://hooks.example.com/", "events": ["*"]}),
    )
    .await
    .assert_problem(401, "missing_token");
    let token = Some(ana.access_token.clone());
    for url in [
        "http://hooks.example.com/",
        "ftp://hooks.example.com/",
        "https://127.0.0.1/",
        "https://10.0.0.8/",
        "https://[::1]/",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/",
        "https://user:pw@hooks.example.com/",
        "not a url",
    ] {
        let res = create(token.clone(), json!({"url": url, "events": ["*"]})).await;
        let body = res.assert_problem(422, "validation_failed");
        assert_eq!(body["errors"][0]["code"], "invalid_webhook_url", "{url}");
    }
    for events in [json!([]), json!(["poke"])] {
        let res = create(
            token.clone(),
            json!({"url": "https://hooks.example.com/", "events": events}),
        )
        .await;
        assert_eq!(
            res.assert_problem(422, "validation_failed")["errors"][0]["code"],
            "invalid_events"
        );
    }
    // A target allowed when it was registered (by an instance that allowed loopback) is checked
    // again when delivering, by this instance's policy: refused, nothing sent. (The resolver that
    // checks every address a name resolves to is tested in filmlog_jobs::webhooks.)
    let receiver = Receiver::start(0, 200, Duration::ZERO).await;
    let url = app.db.url().to_owned();
    let jwt = app.jwt_secret.clone();
    let lenient = TestApp::spawn_with(|c| {
        c.database_url = Some(url);
        c.auth = filmlog_app::credentials::AuthSettings::new(secrecy::SecretString::from(jwt));
        c.webhook_worker = false;
    })
    .await;
    let target = format!("http://localhost:{}/hook", receiver.port);
    let (id, _) = register(&lenient, &ana, &target, json!(["log_entry"])).await;
    let film = app.film("Rebound", 2004).await;
    app.log(&ana, json!({"film": film, "watched_on": "2026-11-01"}))
        .await;
    let list = deliveries_until(&app, &ana, &id, "a refused attempt", |d| {
        d.first().is_some_and(|x| !x["last_error"].is_null())
    })
    .await;
    assert!(
        list[0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("refused target")),
        "{list:?}"
    );
    assert!(receiver.got().is_empty());

    // A change is checked as a registration is, and a refused one changes nothing.
    for (body, code) in [
        (json!({"url": "https://10.0.0.8/"}), "invalid_webhook_url"),
        (json!({"events": ["poke"]}), "invalid_events"),
    ] {
        let res = app
            .send(
                reqwest::Method::PATCH,
                &format!("/api/v1/me/webhooks/{id}"),
                Some(&ana.access_token),
                Some(&body),
            )
            .await;
        assert_eq!(
            res.assert_problem(422, "validation_failed")["errors"][0]["code"],
            code
        );
    }
    let unchanged = app
        .get(
            &format!("/api/v1/me/webhooks/{id}"),
            Some(&ana.access_token),
        )
        .await;
    assert_eq!(unchanged.assert_status(200)["url"], target.as_str());
    assert_eq!(unchanged.json["events"], json!(["log_entry"]));

    // Someone else's endpoint does not exist for ben.
    for (method, path) in [
        (reqwest::Method::GET, format!("/api/v1/me/webhooks/{id}")),
        (reqwest::Method::PATCH, format!("/api/v1/me/webhooks/{id}")),
        (reqwest::Method::DELETE, format!("/api/v1/me/webhooks/{id}")),
        (
            reqwest::Method::POST,
            format!("/api/v1/me/webhooks/{id}/test"),
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/me/webhooks/{id}/deliveries"),
        ),
    ] {
        let body = (method == reqwest::Method::PATCH || method == reqwest::Method::POST)
            .then(|| json!({}));
        app.send(
            method.clone(),
            &path,
            Some(&ben.access_token),
            body.as_ref(),
        )
        .await
        .assert_problem(404, "not_found");
        app.send(method, &path, None, body.as_ref())
            .await
            .assert_problem(401, "missing_token");
    }
    // At most ten.
    for _ in 1..10 {
        create(
            token.clone(),
            json!({"url": "https://hooks.example.com/", "events": ["*"]}),
        )
        .await
        .assert_status(201);
    }
    create(
        token.clone(),
        json!({"url": "https://hooks.example.com/", "events": ["*"]}),
    )
    .await
    .assert_problem(409, "webhook_limit");
    app.delete(&format!("/api/v1/me/webhooks/{id}"), &ana.access_token)
        .await
        .assert_status(204);
    app.get(
        &format!("/api/v1/me/webhooks/{id}"),
        Some(&ana.access_token),
    )
    .await
    .assert_problem(404, "not_found");
    receiver.stop();
}

/// Security review M2: a webhook needs the password to be made, turned on or pointed elsewhere, and a
/// password change or "log out everywhere" pauses every webhook (a webhook made with a stolen token
/// stops delivering) until the owner turns it on again with their password.
#[actix_web::test]
async fn webhooks_need_the_password_and_pause_when_credentials_change() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let receiver = Receiver::start(0, 200, Duration::ZERO).await;
    let token = Some(ana.access_token.as_str());
    let body = |password: Option<&str>| {
        let mut b = json!({"url": receiver.url(), "events": ["*"]});
        if let Some(p) = password {
            b["current_password"] = json!(p);
        }
        b
    };
    app.post("/api/v1/me/webhooks", token, &body(None))
        .await
        .assert_problem(422, "validation_failed");
    let wrong = app
        .post(
            "/api/v1/me/webhooks",
            token,
            &body(Some("not my password at all")),
        )
        .await;
    assert_eq!(
        wrong.assert_problem(422, "validation_failed")["errors"][0]["code"],
        "wrong_password"
    );
    let (id, _) = register(&app, &ana, &receiver.url(), json!(["*"])).await;
    let path = format!("/api/v1/me/webhooks/{id}");
    let app_ref = &app;
    let state = |_: &TestApp| {
        let path = path.clone();
        let token = ana.access_token.clone();
        async move { app_ref.get(&path, Some(&token)).await.json.clone() }
    };
    // The password changes: paused, with a notification; nothing is delivered meanwhile.
    let new_password = "a brand new long passphrase";
    app.send(
        reqwest::Method::PUT,
        "/api/v1/me/password",
        token,
        Some(&json!({"current_password": ana.password, "new_password": new_password})),
    )
    .await
    .assert_status(204);
    let paused = state(&app).await;
    assert_eq!(paused["enabled"], false, "{paused}");
    assert!(
        paused["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.contains("password changed")),
        "{paused}"
    );
    let notes = app.get("/api/v1/me/notifications", token).await;
    assert!(notes.text.contains("webhook_disabled"), "{}", notes.text);
    let before = deliveries(&app, &ana, &id).await.len();
    let film = app.film("Paused", 2020).await;
    app.log(&ana, json!({"film": film, "watched_on": "2026-11-01"}))
        .await;
    // Nothing is even queued for a paused endpoint (its outbox rows are written for enabled ones).
    assert_eq!(deliveries(&app, &ana, &id).await.len(), before);
    assert!(receiver.got().is_empty(), "delivered while paused");
    // Turned on again only with the (new) password; the old one no longer does.
    for (body, code) in [
        (json!({"enabled": true}), "password_required"),
        (
            json!({"enabled": true, "current_password": ana.password}),
            "wrong_password",
        ),
        (
            json!({"url": "https://hooks.example.com/x", "current_password": ana.password}),
            "wrong_password",
        ),
        (json!({"rotate_secret": true}), "password_required"),
    ] {
        let res = app
            .send(reqwest::Method::PATCH, &path, token, Some(&body))
            .await;
        assert_eq!(
            res.assert_problem(422, "validation_failed")["errors"][0]["code"],
            code,
            "{body}"
        );
    }
    assert_eq!(state(&app).await["enabled"], false);
    app.send(
        reqwest::Method::PATCH,
        &path,
        token,
        Some(&json!({"enabled": true, "current_password": new_password})),
    )
    .await
    .assert_status(200);
    app.log(&ana, json!({"film": film, "watched_on": "2026-11-02"}))
        .await;
    receiver
        .until("delivered once on again", |g| !g.is_empty())
        .await;
    // Logging out everywhere pauses it again.
    app.send(reqwest::Method::DELETE, "/api/v1/me/sessions", token, None)
        .await
        .assert_status(204);
    let paused = state(&app).await;
    assert_eq!(paused["enabled"], false, "{paused}");
    assert!(
        paused["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.contains("logged out everywhere")),
        "{paused}"
    );
    receiver.stop();
}

/// Security review M3: a member whose endpoints are tarpits (they answer after 4.9 s) and who queues
/// dozens of deliveries to them holds at most a few of the workers' slots: another member's delivery,
/// queued after all of them, arrives within two seconds. A test event is queued one at a time.
#[actix_web::test]
async fn a_tarpit_endpoint_does_not_hold_up_other_members_deliveries() {
    let app = TestApp::spawn_with(|c| {
        c.webhooks.hold = Duration::from_secs(10);
        c.webhooks.timeout = Duration::from_secs(6);
    })
    .await;
    let (ana, ben) = (app.member("ana").await, app.member("ben").await);
    let tarpit = Receiver::start(0, 200, Duration::from_millis(4900)).await;
    let mut tarpits = Vec::new();
    for _ in 0..3 {
        tarpits.push(register(&app, &ben, &tarpit.url(), json!(["*"])).await.0);
    }
    let first = app
        .post(
            &format!("/api/v1/me/webhooks/{}/test", tarpits[0]),
            Some(&ben.access_token),
            &json!({}),
        )
        .await;
    first.assert_status(202);
    app.post(
        &format!("/api/v1/me/webhooks/{}/test", tarpits[0]),
        Some(&ben.access_token),
        &json!({}),
    )
    .await
    .assert_problem(409, "webhook_test_pending");
    // Thirty log entries of ben's: ninety deliveries to the tarpits, all due before ana's.
    for n in 0..30 {
        let film = app.film(&format!("Tarpit {n}"), 2000).await;
        app.log(&ben, json!({"film": film, "watched_on": "2026-11-01"}))
            .await;
    }
    tarpit.until("the tarpit is busy", |g| !g.is_empty()).await;
    let fine = Receiver::start(0, 200, Duration::ZERO).await;
    register(&app, &ana, &fine.url(), json!(["log_entry"])).await;
    let film = app.film("On Time", 2001).await;
    let asked = std::time::Instant::now();
    app.log(&ana, json!({"film": film, "watched_on": "2026-11-02"}))
        .await;
    loop {
        if !fine.got().is_empty() {
            break;
        }
        // (Behind the tarpits it would wait for them: 4.9 s each.)
        assert!(
            asked.elapsed() < Duration::from_secs(3),
            "ana's delivery waited behind the tarpits"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Ben's endpoints never had more than four deliveries in flight together.
    let most = tarpit.busy.1.load(std::sync::atomic::Ordering::SeqCst);
    assert!(most <= 4, "{most} at the tarpit at once");
    tarpit.stop();
    fine.stop();
}

/// Security review L5: secrets an older release stored in plaintext are sealed when a worker starts
/// (the current and the previous one), and deliveries still verify under the secret the member has.
#[actix_web::test]
async fn secrets_stored_in_plaintext_are_sealed_when_a_worker_starts() {
    use diesel_async::RunQueryDsl;
    let receiver = Receiver::start(0, 200, Duration::ZERO).await;
    let first = TestApp::spawn_with(|c| c.webhook_worker = false).await;
    let ana = first.member("ana").await;
    let (id, secret) = register(&first, &ana, &receiver.url(), json!(["log_entry"])).await;
    let old = filmlog_jobs::webhooks::new_secret();
    let mut conn = first.db.connect().await;
    // As a release before sealing stored them.
    diesel::sql_query(
        "UPDATE webhook_endpoints SET secret = $1, previous_secret = $2, \
             previous_secret_until = now() + interval '1 hour'",
    )
    .bind::<diesel::sql_types::Text, _>(&secret)
    .bind::<diesel::sql_types::Text, _>(&old)
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let second = first.another_instance().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut stored = stored_secrets(&mut conn).await;
    while !stored.0.starts_with("sealed1:") && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        stored = stored_secrets(&mut conn).await;
    }
    let (sealed, previous) = stored;
    assert!(sealed.starts_with("sealed1:"), "{sealed}");
    assert!(!sealed.contains(&secret[6..]));
    let previous = previous.unwrap_or_default();
    assert!(
        previous.starts_with("sealed1:") && !previous.contains(&old[6..]),
        "{previous}"
    );
    // Sealing is a compare-and-set: what was read as plaintext is not written over a secret that
    // changed since (a rotation wins).
    let endpoint: i64 = id.parse().unwrap_or_default();
    for stale_previous in [None, Some((old.as_str(), "sealed1:stale"))] {
        let written = filmlog_persistence::webhooks::store_sealed(
            &mut conn,
            filmlog_domain::WebhookId::new(endpoint),
            (&secret, "sealed1:stale"),
            stale_previous,
        )
        .await;
        assert_eq!(written.ok(), Some(false));
    }
    assert_eq!(
        stored_secrets(&mut conn).await,
        (sealed, Some(previous.clone()))
    );
    let film = first.film("Sealed", 2004).await;
    first
        .log(&ana, json!({"film": film, "watched_on": "2026-11-02"}))
        .await;
    let got = receiver.until("the delivery", |g| !g.is_empty()).await;
    assert!(got[0].verified_by(&secret), "{got:?}");
    assert!(
        got[0].verified_by(&old),
        "the previous secret signs beside it"
    );
    deliveries_until(&second, &ana, &id, "delivered", |d| {
        d.first().is_some_and(|x| x["status"] == "delivered")
    })
    .await;
    receiver.stop();
}
