//! Live events over real HTTP: two API instances on one database, the stream open on one and the
//! write made through the other; resuming with `Last-Event-ID`; the bound per member; refusals;
//! streams ending when the server stops.

use std::time::Duration;

use filmlog_test_support::{TestApp, TestMember};
use serde_json::{Value, json};

/// An open event stream and what it has sent so far.
struct Stream {
    res: reqwest::Response,
    text: String,
}

impl Stream {
    async fn open(app: &TestApp, who: &TestMember, last_event_id: Option<&str>) -> Stream {
        let mut req = app
            .client
            .get(app.url("/api/v1/me/events"))
            .bearer_auth(&who.access_token);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("events: {e}"));
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream")
        );
        Stream {
            res,
            text: String::new(),
        }
    }

    /// Reads until `want` frames of `event` arrived (their data), or fails after 10 s.
    async fn until(&mut self, event: &str, want: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let frames = self.frames(event);
            if frames.len() >= want {
                return frames;
            }
            let chunk = tokio::time::timeout_at(deadline, self.res.chunk())
                .await
                .unwrap_or_else(|_| panic!("no {want} {event} events in 10 s: {}", self.text));
            match chunk {
                Ok(Some(bytes)) => self.text.push_str(&String::from_utf8_lossy(&bytes)),
                other => panic!("the stream ended ({other:?}): {}", self.text),
            }
        }
    }

    /// The data of every `event` frame so far, with its `id` as `_id`.
    fn frames(&self, event: &str) -> Vec<Value> {
        self.text
            .split("\n\n")
            .filter(|f| f.lines().any(|l| l == format!("event: {event}")))
            .filter_map(|f| {
                let data = f.lines().find_map(|l| l.strip_prefix("data: "))?;
                let mut v: Value = serde_json::from_str(data).ok()?;
                if let Some(id) = f.lines().find_map(|l| l.strip_prefix("id: ")) {
                    v["_id"] = json!(id);
                }
                Some(v)
            })
            .collect()
    }

    /// Reads until the server ends the stream; whether it said `closing` first.
    async fn ends(&mut self) -> bool {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), self.res.chunk()).await {
                Ok(Ok(Some(bytes))) => self.text.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(_) => return self.text.contains("event: closing"),
                Err(_) => panic!("the stream did not end: {}", self.text),
            }
        }
    }
}

async fn review(app: &TestApp, who: &TestMember) -> String {
    let film = app.film("Streamed", 2003).await;
    app.log(who, json!({"film": film, "review": {"text": "Live"}}))
        .await
}

#[actix_web::test]
async fn a_write_on_one_instance_reaches_a_stream_on_another() {
    let one = TestApp::spawn().await;
    let url = one.db.url().to_owned();
    let two = TestApp::spawn_with(|c| {
        c.database_url = Some(url);
        c.auth = filmlog_app::credentials::AuthSettings::new(secrecy::SecretString::from(
            one.jwt_secret.clone(),
        ));
    })
    .await;
    let (ana, ben, cy) = (
        one.member("ana").await,
        one.member("ben").await,
        one.member("cy").await,
    );
    let entry = review(&one, &ana).await;
    let mut stream = Stream::open(&one, &ana, None).await;
    // On connecting: the unread count, and nothing older.
    assert_eq!(stream.until("unread_count", 1).await[0]["unread"], 0);

    // ben likes through the other instance; cy comments through it too.
    two.put(
        &format!("/api/v1/log-entries/{entry}/like"),
        &ben.access_token,
    )
    .await
    .assert_status(204);
    let got = stream.until("notification", 1).await;
    assert_eq!(got[0]["kind"], "review_like");
    assert_eq!(got[0]["actor"], "ben");
    assert_eq!(got[0]["subject"]["id"], entry.as_str());
    assert_eq!(stream.until("unread_count", 2).await[1]["unread"], 1);
    two.post(
        &format!("/api/v1/log-entries/{entry}/comments"),
        Some(&cy.access_token),
        &json!({"body": "Seen live"}),
    )
    .await
    .assert_status(201);
    let got = stream.until("notification", 2).await;
    assert_eq!(got[1]["kind"], "review_comment");
    let first_id = got[0]["_id"].as_str().unwrap_or_default().to_owned();
    // Marking read (on the other instance) sends the new count.
    two.post(
        "/api/v1/me/notifications/read",
        Some(&ana.access_token),
        &json!({"up_to": got[1]["created_at"]}),
    )
    .await
    .assert_status(204);
    let counts = stream.until("unread_count", 4).await;
    assert_eq!(counts.last().map(|c| c["unread"].clone()), Some(json!(0)));

    // Resuming after the first event gets the second again, from either instance.
    let mut resumed = Stream::open(&two, &ana, Some(&first_id)).await;
    let again = resumed.until("notification", 1).await;
    assert_eq!(again[0]["kind"], "review_comment");
    assert_eq!(resumed.frames("notification").len(), 1);
}

#[actix_web::test]
async fn streams_are_bounded_refuse_strangers_and_end_when_the_server_stops() {
    let app = TestApp::spawn_with(|c| c.event_heartbeat = Duration::from_millis(200)).await;
    let ana = app.member("ana").await;
    app.get("/api/v1/me/events", None)
        .await
        .assert_problem(401, "missing_token");
    app.get("/api/v1/me/events", Some("not-a-token"))
        .await
        .assert_problem(401, "invalid_token");
    let bad = app
        .client
        .get(app.url("/api/v1/me/events"))
        .bearer_auth(&ana.access_token)
        .header("last-event-id", "yesterday");
    TestApp::read(bad)
        .await
        .assert_problem(400, "invalid_last_event_id");

    let mut open = Vec::new();
    for _ in 0..filmlog_jobs::events::STREAMS_PER_MEMBER {
        let mut s = Stream::open(&app, &ana, None).await;
        s.until("unread_count", 1).await;
        open.push(s);
    }
    assert_eq!(
        app.state.events.open(),
        filmlog_jobs::events::STREAMS_PER_MEMBER
    );
    let res = app
        .client
        .get(app.url("/api/v1/me/events"))
        .bearer_auth(&ana.access_token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("events: {e}"));
    assert_eq!(res.status(), 429);
    // Idle streams hear a heartbeat; a closed one frees its place (found by the next heartbeat).
    tokio::time::sleep(Duration::from_millis(300)).await;
    if let Some(s) = open.last_mut() {
        let chunk = tokio::time::timeout(Duration::from_secs(5), s.res.chunk()).await;
        let text = match chunk {
            Ok(Ok(Some(bytes))) => String::from_utf8_lossy(&bytes).into_owned(),
            other => panic!("no heartbeat: {other:?}"),
        };
        assert!(text.contains(": heartbeat"), "{text}");
    }
    drop(open.pop());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while app.state.events.open() == filmlog_jobs::events::STREAMS_PER_MEMBER {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was not freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut last = Stream::open(&app, &ana, None).await;
    last.until("unread_count", 1).await;

    // Logging out ends that session's stream (at its next heartbeat at the latest).
    let ben = app.member("ben").await;
    let mut bens = Stream::open(&app, &ben, None).await;
    bens.until("unread_count", 1).await;
    app.send(
        reqwest::Method::POST,
        "/api/v1/auth/logout",
        Some(&ben.access_token),
        None,
    )
    .await
    .assert_status(204);
    assert!(bens.ends().await);
    assert!(bens.text.contains("session_ended"), "{}", bens.text);

    // Stopping: every stream says so and ends.
    app.state.events.close();
    assert!(last.ends().await);
    for mut s in open {
        assert!(s.ends().await);
    }
}

/// What arrives on `filmlog_events`, on a connection of its own, while and after `during` runs: until
/// `awaited` arrives (then a moment more, for anything sent twice; at most 10 s), or for 300 ms when
/// nothing is awaited.
async fn heard(url: &str, awaited: Option<&str>, during: impl Future<Output = ()>) -> Vec<String> {
    use futures_util::StreamExt;
    let (client, mut connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("listen: {e}"));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let pump = tokio::spawn(async move {
        let mut messages = std::pin::pin!(futures_util::stream::poll_fn(
            move |cx| connection.poll_message(cx)
        ));
        while let Some(Ok(message)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(n) = message {
                let _ = tx.send(n.payload().to_owned());
            }
        }
    });
    client
        .batch_execute("LISTEN filmlog_events")
        .await
        .unwrap_or_else(|e| panic!("LISTEN: {e}"));
    during.await;
    let mut got = Vec::new();
    if let Some(awaited) = awaited {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !got.iter().any(|p| p == awaited) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(p)) => got.push(p),
                _ => break,
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    pump.abort();
    while let Ok(p) = rx.try_recv() {
        got.push(p);
    }
    got
}

#[actix_web::test]
async fn a_notifying_transaction_sends_no_notify_the_request_wakes_after_it() {
    // A NOTIFY inside a writing transaction holds the cluster's notification-queue lock through its
    // commit's WAL flush (every notifying commit waited for the one before it): the notification's
    // row is written without one, and the request that wrote it wakes the streams once it is done.
    let app = TestApp::spawn().await;
    let (ana, ben) = (app.member("ana").await, app.member("ben").await);
    let entry = review(&app, &ana).await;
    let url = app.db.url().to_owned();
    let (ana_id, ben_id) = (ana.id.to_string(), ben.id.to_string());
    let direct = heard(&url, None, async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        tokio::spawn(connection);
        let written = client
            .query_one(
                &format!(
                    "SELECT notify_members({ben_id}, ARRAY[{ana_id}]::bigint[], \
                     ARRAY['review_like'], {entry}, NULL, NULL, NULL)"
                ),
                &[],
            )
            .await
            .unwrap_or_else(|e| panic!("notify_members: {e}"));
        assert_eq!(
            written.get::<_, i32>(0),
            1,
            "the notification row is written"
        );
    })
    .await;
    assert!(
        direct.is_empty(),
        "the writing statement notified: {direct:?}"
    );

    let film = app.film("Woken", 2004).await;
    let entry2 = app
        .log(&ana, json!({"film": film, "review": {"text": "Later"}}))
        .await;
    let woken = heard(&url, Some(&ana_id), async {
        app.put(
            &format!("/api/v1/log-entries/{entry2}/like"),
            &ben.access_token,
        )
        .await
        .assert_status(204);
    })
    .await;
    assert_eq!(woken, [ana_id], "the like's request wakes its author once");
}
