//! What a slow client, a held lock, a slow statement or a lost connection does: bounded waits and a
//! 503 (or 408) with `Retry-After`, never a hang or a 500.

use std::time::{Duration, Instant};

use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use filmlog_api::ratelimit::{Budgets, LoginPolicy, Quota, RateLimits};
use filmlog_api::state::HttpLimits;
use filmlog_persistence::{PersistenceError, PoolSettings, build_pool};
use filmlog_test_support::{TestApp, TestResponse, assert_raw_problem};
use futures_util::StreamExt;
use reqwest::Method;

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
    // A connection the pool has not yet seen die may fail one more request; then fresh ones serve.
    let mut recovered = false;
    for _ in 0..5 {
        if app.get("/api/v1/me", Some(&ana.access_token)).await.status == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(recovered, "no 200 after the connection was ended");
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
    let started = Instant::now();
    let text = app
        .raw(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 500\r\n\r\n{\"use",
        )
        .await;
    assert_raw_problem(&text, 408, "request_timeout");
    assert!(text.contains("\"code\":\"request_timeout\""), "{text}");
    assert!(started.elapsed() >= Duration::from_millis(450));
}

fn budgets(quota: Quota) -> RateLimits {
    RateLimits {
        budgets: Budgets::all(quota),
        ..RateLimits::default()
    }
}

#[track_caller]
fn assert_rate_headers(res: &TestResponse, what: &str) {
    for name in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
        assert!(
            res.header(name).is_some_and(|v| v.parse::<u64>().is_ok()),
            "{what}: {name} missing in {:?}",
            res.headers
        );
    }
}

#[track_caller]
fn assert_limited(res: &TestResponse, code: &str, what: &str) -> u64 {
    res.assert_problem(429, code);
    assert_rate_headers(res, what);
    let retry = res
        .header("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(
        retry >= 1,
        "{what}: Retry-After {:?}",
        res.header("retry-after")
    );
    retry
}

/// Generated from the routes: with every budget at one request an hour, each class lets its first
/// request through and refuses every later one, on every operation, with the RateLimit fields on
/// every answer. A route that bypassed the limiter would answer something else.
#[actix_web::test]
async fn every_operation_spends_from_its_budget_and_is_refused_when_it_is_spent() {
    let app =
        TestApp::spawn_with(|c| c.rate = budgets(Quota::new(1, Duration::from_secs(3600)))).await;
    let ana = app.member("ana").await;
    let slug = app.film("Where Is the Friend's House?", 1987).await;
    let spec = serde_json::to_value(filmlog_api::openapi()).unwrap_or_default();
    let mut spent = std::collections::HashSet::new();
    let mut refused = 0;
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        if !path.starts_with("/api/v1") {
            continue;
        }
        for verb in item.as_object().into_iter().flatten().map(|(v, _)| v) {
            let method =
                Method::from_bytes(verb.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET);
            let concrete = path
                .replace("{slug}", &slug)
                .replace("{username}", "ana")
                .replace("{id}", "1")
                .replace("{list_id}", "1")
                .replace("{webhook_id}", "1")
                .replace("{import_id}", "1")
                .replace("{export_id}", "1")
                .replace("{client_id}", "no-such-app")
                .replace("{person}", "no-such-person");
            let body = serde_json::json!({});
            let with_body = !matches!(method, Method::GET | Method::DELETE);
            let res = app
                .send(
                    method.clone(),
                    &concrete,
                    Some(&ana.access_token),
                    with_body.then_some(&body),
                )
                .await;
            let what = format!("{verb} {path}");
            let actix_method = actix_web::http::Method::from_bytes(method.as_str().as_bytes())
                .unwrap_or(actix_web::http::Method::GET);
            let class = filmlog_api::ratelimit::Class::of(&actix_method, &concrete, "");
            let fresh = class.iter().all(|c| !spent.contains(c));
            spent.extend(class.iter().copied());
            if fresh {
                assert_ne!(res.status, 429, "{what}: {}", res.text);
                assert_rate_headers(&res, &what);
            } else {
                assert_limited(&res, "rate_limited", &what);
                refused += 1;
            }
        }
    }
    assert!(refused >= 30, "only {refused} operations refused");
}

/// Budgets are per member and per client address, and refill: a refused member waits
/// `Retry-After` and is served again, while another member and another address were never held.
#[actix_web::test]
async fn members_and_addresses_have_their_own_budgets_and_recover_after_retry_after() {
    let app = TestApp::spawn_with(|c| {
        c.rate.budgets.read_per_member = Quota::new(3, Duration::from_secs(3));
        c.rate.budgets.read_per_ip = Quota::new(5, Duration::from_secs(3600));
        c.rate.trusted_proxies = vec![std::net::IpAddr::from([127, 0, 0, 1])];
    })
    .await;
    let ana = app.member("ana").await;
    let ben = app.member("ben").await;
    let from = |ip: &'static str, token: &str| {
        app.client
            .get(app.url("/api/v1/me"))
            .bearer_auth(token)
            .header("x-forwarded-for", format!("198.51.100.1, {ip}"))
    };
    // Per member: 3 at once, then refused; each client address here is fresh.
    for (i, remaining) in [2, 1, 0].into_iter().enumerate() {
        let ip: &'static str = ["203.0.113.1", "203.0.113.2", "203.0.113.3"][i];
        let res = TestApp::read(from(ip, &ana.access_token)).await;
        res.assert_status(200);
        assert_eq!(
            res.header("ratelimit-remaining"),
            Some(remaining.to_string().as_str())
        );
    }
    let refused = TestApp::read(from("203.0.113.4", &ana.access_token)).await;
    let wait = assert_limited(&refused, "rate_limited", "ana's fourth read");
    // Ben's budget is his own.
    TestApp::read(from("203.0.113.5", &ben.access_token))
        .await
        .assert_status(200);
    // Per address: 203.0.113.6 has five reads an hour, even without a token.
    let anonymous = || {
        app.client
            .get(app.url("/api/v1/films"))
            .header("x-forwarded-for", "203.0.113.6")
    };
    for _ in 0..5 {
        TestApp::read(anonymous()).await.assert_status(200);
    }
    let by_ip = TestApp::read(anonymous()).await;
    assert_limited(&by_ip, "rate_limited", "a sixth read from one address");
    // After Retry-After, ana is served again.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    TestApp::read(from("203.0.113.7", &ana.access_token))
        .await
        .assert_status(200);
}

/// Searching and reading are separate budgets; registrations have their own, per address.
#[actix_web::test]
async fn search_and_registration_budgets_are_their_own() {
    let app = TestApp::spawn_with(|c| {
        c.rate.budgets.search_per_ip = Quota::new(1, Duration::from_secs(3600));
        c.rate.budgets.register_per_ip = Quota::new(2, Duration::from_secs(3600));
    })
    .await;
    app.get("/api/v1/films?q=close", None)
        .await
        .assert_status(200);
    let refused = app.get("/api/v1/films?q=close", None).await;
    assert_limited(&refused, "rate_limited", "a second search");
    app.get("/api/v1/films", None).await.assert_status(200);
    for name in ["ana", "ben"] {
        let body = serde_json::json!({"username": name, "email": format!("{name}@example.com"), "password": "a long passphrase of mine"});
        app.post("/api/v1/auth/register", None, &body)
            .await
            .assert_status(201);
    }
    let third = serde_json::json!({"username": "cai", "email": "cai@example.com", "password": "a long passphrase of mine"});
    let res = app.post("/api/v1/auth/register", None, &third).await;
    assert_limited(&res, "rate_limited", "a third registration");
}

/// Failed logins lock the account for the network they came from with a growing back-off: during
/// the lock-out even the right password is refused from that network; after it, the right password
/// works and clears the failures. An account that does not exist is locked the same way, so the
/// lock tells nothing.
#[actix_web::test]
async fn failed_logins_lock_the_account_with_growing_back_off() {
    let app = TestApp::spawn_with(|c| {
        c.rate.login = LoginPolicy {
            free_failures: 2,
            max_lock: Duration::from_secs(60),
        };
    })
    .await;
    let ana = app.member("ana").await;
    let app_ref = &app;
    let login = |username: &str, password: &str| {
        let body = serde_json::json!({"username": username, "password": password});
        async move { app_ref.post("/api/v1/auth/login", None, &body).await }
    };
    for account in ["ana", "nobody_here"] {
        for _ in 0..3 {
            login(account, "wrong wrong wrong")
                .await
                .assert_problem(401, "invalid_credentials");
        }
        // The third failure started a one-second lock-out.
        let locked = login(account, &ana.password).await;
        let wait = assert_limited(&locked, "login_locked", account);
        assert_eq!(wait, 1, "{account}");
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    login("ana", &ana.password).await.assert_status(200);
    // Cleared: two more failures are free again.
    for _ in 0..2 {
        login("ana", "wrong wrong wrong")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    login("ana", &ana.password).await.assert_status(200);
}

/// Every budget, per address and per member, refuses with 429 and the RateLimit fields once spent
/// and serves again after its `Retry-After`.
#[actix_web::test]
async fn every_budget_recovers_after_retry_after() {
    let app = TestApp::spawn_with(|c| {
        c.rate = budgets(Quota::new(1, Duration::from_secs(1)));
        c.rate.trusted_proxies = vec![std::net::IpAddr::from([127, 0, 0, 1])];
    })
    .await;
    let ana = app.member("ana").await;
    // Per-address budgets are spent by a different member each round, so only the address limits.
    let others = [
        app.member("m0").await,
        app.member("m1").await,
        app.member("m2").await,
    ];
    let slug = app.film("Through the Olive Trees", 1994).await;
    let login = serde_json::json!({"username": "ana", "password": ana.password});
    // (budget, method, path, body, per member?)
    let cases: Vec<(&str, Method, String, Option<&serde_json::Value>, bool)> = vec![
        (
            "read per address",
            Method::GET,
            "/api/v1/films".into(),
            None,
            false,
        ),
        (
            "read per member",
            Method::GET,
            "/api/v1/me".into(),
            None,
            true,
        ),
        (
            "search per address",
            Method::GET,
            "/api/v1/films?q=olive".into(),
            None,
            false,
        ),
        (
            "search per member",
            Method::GET,
            "/api/v1/films?q=olive".into(),
            None,
            true,
        ),
        (
            "write per address",
            Method::PUT,
            format!("/api/v1/films/{slug}/watchlist"),
            None,
            false,
        ),
        (
            "write per member",
            Method::PUT,
            format!("/api/v1/films/{slug}/like"),
            None,
            true,
        ),
        (
            "auth per address",
            Method::POST,
            "/api/v1/auth/login".into(),
            Some(&login),
            false,
        ),
        // A new account each round (its body is made in `send`).
        (
            "register per address",
            Method::POST,
            "/api/v1/auth/register".into(),
            None,
            false,
        ),
    ];
    let send = |i: usize, round: usize| {
        let (_, method, path, body, per_member) = &cases[i];
        let (ip, token) = if *per_member {
            (
                format!("198.51.100.{}", 10 * round + i + 1),
                &ana.access_token,
            )
        } else {
            (format!("203.0.113.{}", i + 1), &others[round].access_token)
        };
        let mut req = app
            .client
            .request(method.clone(), app.url(path))
            .header("x-forwarded-for", ip)
            .bearer_auth(token);
        let fresh = path.ends_with("/auth/register").then(|| {
            serde_json::json!({"username": format!("new{round}"),
                "email": format!("new{round}@example.com"), "password": "a long passphrase of mine"})
        });
        if let Some(b) = fresh.as_ref().or(*body) {
            req = req.json(b);
        }
        TestApp::read(req)
    };
    for (i, case) in cases.iter().enumerate() {
        let first = send(i, 0).await;
        assert!(first.status < 300, "{}: {}", case.0, first.text);
        assert_rate_headers(&first, case.0);
        let second = send(i, 1).await;
        let wait = assert_limited(&second, "rate_limited", case.0);
        assert_eq!(wait, 1, "{}", case.0);
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for (i, case) in cases.iter().enumerate() {
        let again = send(i, 2).await;
        assert!(
            again.status < 300,
            "{} after Retry-After: {}",
            case.0,
            again.text
        );
    }
}

/// A client that opens a download and stops reading holds no database connection (security review
/// H3): with 32 such downloads of an 8 MiB export open against a pool of 4, logins still succeed at
/// once; and once a stalled client has read nothing for the stall timeout, its connection is closed.
#[actix_web::test]
async fn stalled_downloads_hold_no_connection_and_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(|c| {
        c.pool.max_size = 4;
        c.pool.timeout = Duration::from_secs(2);
        c.portability_worker = false;
        c.http.write_stall_timeout = Duration::from_secs(3);
    })
    .await;
    let ana = app.member("ana").await;
    let job = app
        .post(
            "/api/v1/me/exports",
            Some(&ana.access_token),
            &serde_json::json!({}),
        )
        .await;
    job.assert_status(202);
    let id: i64 = job.json["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // Eight chunks of 1 MiB, as the export worker would have written them.
    let size: u64 = 8 << 20;
    let mut conn = app.db.connect().await;
    diesel::sql_query(format!(
        "INSERT INTO export_chunks (job_id, n, bytes) \
         SELECT {id}, g, convert_to((SELECT string_agg(md5(i::text), '') FROM generate_series(1, 32768) i), 'UTF8') \
         FROM generate_series(0, 7) g"
    ))
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("chunks: {e}"));
    diesel::sql_query(format!(
        "UPDATE export_jobs SET status = 'done', bytes = {size}, finished_at = now(), \
         expires_at = now() + interval '1 day' WHERE id = {id}"
    ))
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("done: {e}"));
    let until = chrono::Utc::now().timestamp() + 600;
    let sig = app
        .state
        .portability
        .sign(filmlog_domain::ExportJobId::new(id), until);
    let request = format!(
        "GET /api/v1/me/exports/{id}/download?expires={until}&signature={sig} HTTP/1.1\r\nHost: x\r\n\r\n"
    );
    let addr: std::net::SocketAddr = app
        .base
        .trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|e| panic!("address: {e}"));
    let mut stalled = Vec::new();
    for _ in 0..32 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap_or_else(|e| panic!("socket: {e}"));
        socket
            .set_recv_buffer_size(4096)
            .unwrap_or_else(|e| panic!("buffer: {e}"));
        let mut stream = socket
            .connect(addr)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        stream
            .write_all(request.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("send: {e}"));
        let mut head = [0u8; 512];
        let n = stream.read(&mut head).await.unwrap_or(0);
        let text = String::from_utf8_lossy(&head[..n]).into_owned();
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        stalled.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // (With the downloads holding the pool, these would wait out its 2 s timeout: 503.)
    for _ in 0..3 {
        let res = app
            .post(
                "/api/v1/auth/login",
                None,
                &serde_json::json!({"username": "ana", "password": ana.password}),
            )
            .await;
        res.assert_status(200);
    }
    // Past the stall timeout, each stalled download has been ended short of its length.
    tokio::time::sleep(Duration::from_secs(4)).await;
    for mut stream in stalled {
        let mut got = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        let ended = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n as u64,
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "a stalled download was never closed");
        assert!(
            got < size,
            "a stalled download was sent whole ({got} bytes)"
        );
    }
}

/// Security review M6 and M7: an attacker's wrong passwords lock the account only for the
/// attacker's network; the owner elsewhere logs in (after the account-wide delay, never refused).
/// The current-password check behind `PUT /me/password` and `DELETE /me` is throttled the same way.
#[actix_web::test]
async fn guessing_locks_the_guessers_network_and_only_slows_the_owner() {
    let app = TestApp::spawn_with(|c| {
        c.rate.trusted_proxies = vec![std::net::IpAddr::from([127, 0, 0, 1])];
        c.rate.login = LoginPolicy {
            free_failures: 2,
            max_lock: Duration::from_secs(60),
        };
        c.rate.account_delay = LoginPolicy {
            free_failures: 4,
            max_lock: Duration::from_secs(5),
        };
    })
    .await;
    let ana = app.member("ana").await;
    let login = |from: &'static str, password: &str| {
        let req = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", from)
            .json(&serde_json::json!({"username": "ana", "password": password}));
        TestApp::read(req)
    };
    let attacker = "203.0.113.66";
    for _ in 0..3 {
        login(attacker, "wrong wrong wrong")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    assert_limited(
        &login(attacker, &ana.password).await,
        "login_locked",
        "attacker",
    );
    // The owner, elsewhere, is not refused, and not slowed before the account-wide back-off.
    let asked = Instant::now();
    login("198.51.100.7", &ana.password)
        .await
        .assert_status(200);
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    // Guesses from many networks (two each, under each network's lock): every check of the account
    // is then slowed, none refused.
    for n in 1..=3 {
        let from: &'static str = Box::leak(format!("192.0.2.{n}").into_boxed_str());
        for _ in 0..2 {
            login(from, "wrong wrong wrong")
                .await
                .assert_problem(401, "invalid_credentials");
        }
    }
    let asked = Instant::now();
    login("198.51.100.7", &ana.password)
        .await
        .assert_status(200);
    let took = asked.elapsed();
    // Six failures since the owner's last success: a back-off of 2 s from the last of them.
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(6),
        "{took:?}"
    );
    // The current password behind sensitive changes, from a thief's network holding a token.
    let change = |from: &'static str, current: &str| {
        let req = app
            .client
            .put(app.url("/api/v1/me/password"))
            .bearer_auth(&ana.access_token)
            .header("x-forwarded-for", from)
            .json(&serde_json::json!({"current_password": current, "new_password": "another long passphrase"}));
        TestApp::read(req)
    };
    for _ in 0..3 {
        change(attacker, "wrong wrong wrong")
            .await
            .assert_problem(422, "validation_failed");
    }
    assert_limited(
        &change(attacker, &ana.password).await,
        "password_locked",
        "thief",
    );
    let delete = app
        .client
        .delete(app.url("/api/v1/me"))
        .bearer_auth(&ana.access_token)
        .header("x-forwarded-for", attacker)
        .json(&serde_json::json!({"password": ana.password}));
    assert_limited(
        &TestApp::read(delete).await,
        "password_locked",
        "thief deleting",
    );
    change("198.51.100.7", &ana.password)
        .await
        .assert_status(204);
}
