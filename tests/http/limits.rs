//! What a slow client, a held lock, a slow statement or a lost connection does: bounded waits and a
//! 503 (or 408) with `Retry-After`, never a hang or a 500.

use std::time::{Duration, Instant};

use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use filmlog_api::state::HttpLimits;
use filmlog_persistence::{PersistenceError, PoolSettings, build_pool};
use filmlog_test_support::TestApp;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(diesel::QueryableByName)]
struct Ended {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    ended: bool,
}

fn short_lock_timeout(pool: &mut PoolSettings) {
    pool.lock_timeout = Duration::from_millis(300);
}

/// While another client holds `sessions` exclusively, reads that need no session keep answering at
/// once and every authenticated request answers 503 with `Retry-After` within about the lock
/// timeout, instead of hanging and taking every connection with it.
#[actix_web::test]
async fn a_held_lock_costs_its_own_requests_a_quick_503_and_nothing_else() {
    let app = TestApp::spawn_with(|c| {
        short_lock_timeout(&mut c.pool);
        c.reads = Some(c.pool.clone());
    })
    .await;
    let ana = app.member("ana").await;
    let slug = app.film("Taste of Cherry", 1997).await;
    let mut locker = app.db.connect().await;
    locker
        .batch_execute("BEGIN; LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap_or_else(|e| panic!("lock: {e}"));
    let started = Instant::now();
    let token = ana.access_token.as_str();
    let app_ref = &app;
    let mes: Vec<_> = futures_util::stream::iter((0..40).map(|_| async move {
        let res = app_ref.get("/api/v1/me", Some(token)).await;
        (res.status, res.header("retry-after").map(str::to_owned))
    }))
    .buffer_unordered(40)
    .collect()
    .await;
    for (status, retry_after) in &mes {
        assert_eq!(*status, 503);
        assert_eq!(retry_after.as_deref(), Some("1"));
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    for path in [
        "/health/ready".to_owned(),
        "/api/v1/films".to_owned(),
        format!("/api/v1/films/{slug}"),
    ] {
        let asked = Instant::now();
        app.get(&path, None).await.assert_status(200);
        assert!(asked.elapsed() < Duration::from_secs(1), "{path}");
    }
    locker
        .batch_execute("COMMIT")
        .await
        .unwrap_or_else(|e| panic!("unlock: {e}"));
    app.get("/api/v1/me", Some(token)).await.assert_status(200);
}

#[actix_web::test]
async fn a_statement_over_its_timeout_is_unavailable_not_an_error() {
    let app = TestApp::spawn().await;
    let settings = PoolSettings {
        statement_timeout: Duration::from_millis(50),
        ..PoolSettings::default()
    };
    let pool = build_pool(app.db.url(), &settings).unwrap_or_else(|e| panic!("{e}"));
    let mut conn = pool.get().await.unwrap_or_else(|e| panic!("{e}"));
    let err = diesel::sql_query("SELECT pg_sleep(1)")
        .execute(&mut conn)
        .await
        .map_err(PersistenceError::from);
    assert!(
        matches!(err, Err(PersistenceError::Unavailable(_))),
        "{err:?}"
    );
}

/// A connection ended by the server in the middle of a request (an administrator, a failover)
/// answers 503 with `Retry-After`, and the next request is served on a fresh connection.
#[actix_web::test]
async fn a_connection_ended_mid_request_answers_503_then_recovers() {
    // The request must still be waiting when it is ended, not answered by its lock timeout.
    let app = TestApp::spawn_with(|c| c.pool.lock_timeout = Duration::from_secs(20)).await;
    let ana = app.member("ana").await;
    let mut locker = app.db.connect().await;
    locker
        .batch_execute("BEGIN; LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap_or_else(|e| panic!("lock: {e}"));
    let waiting = app.get("/api/v1/me", Some(&ana.access_token));
    let terminate = async {
        let mut admin = app.db.connect().await;
        // Ends the backend that waits for the lock, as soon as there is one.
        for _ in 0..200 {
            let ended = diesel::sql_query(
                "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .load::<Ended>(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("terminate: {e}"));
            if ended.iter().any(|e| e.ended) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no request came to wait for the lock");
    };
    let (res, ()) = futures_util::future::join(waiting, terminate).await;
    res.assert_problem(503, "service_unavailable");
    assert_eq!(res.header("retry-after"), Some("1"));
    locker
        .batch_execute("COMMIT")
        .await
        .unwrap_or_else(|e| panic!("unlock: {e}"));
    app.get("/api/v1/me", Some(&ana.access_token))
        .await
        .assert_status(200);
}

/// A client that announces a body and sends only part of it is answered 408 problem+json once the
/// body timeout passes, and the connection is closed.
#[actix_web::test]
async fn a_body_that_never_arrives_is_408_and_the_connection_closes() {
    let app = TestApp::spawn_with(|c| {
        c.http = HttpLimits {
            body_timeout: Duration::from_millis(500),
            ..HttpLimits::default()
        };
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let started = Instant::now();
    stream
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 500\r\n\r\n{\"use",
        )
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .unwrap_or_else(|_| panic!("no answer and no close after 5 s"))
        .unwrap_or_else(|e| panic!("read: {e}"));
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    assert!(text.contains("\"code\":\"request_timeout\""), "{text}");
    assert!(started.elapsed() >= Duration::from_millis(450));
}
