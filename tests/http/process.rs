//! The `filmlog` binary itself: startup refusals and graceful shutdown on SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use filmlog_test_support::TestDatabase;

const BIN: &str = env!("CARGO_BIN_EXE_filmlog");

#[test]
fn serve_refuses_a_short_or_missing_key() {
    let out = Command::new(BIN)
        .arg("serve")
        .env("DATABASE_URL", "postgres://127.0.0.1:1/x")
        .env("FILMLOG_JWT_SECRET", "only-twenty-bytes-ok")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out.status.code(),
        Some(78),
        "an invalid key is a configuration error"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "FILMLOG_JWT_SECRET is invalid: the JWT signing key must be at least 32 bytes"
        ),
        "{stderr}"
    );

    let out = Command::new(BIN)
        .arg("serve")
        .env("DATABASE_URL", "postgres://127.0.0.1:1/x")
        .env_remove("FILMLOG_JWT_SECRET")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FILMLOG_JWT_SECRET is not set"));
}

/// Every command explains itself with `--help`; wrong usage exits 2 naming the problem; the exit
/// codes a script branches on are documented and kept.
#[test]
fn every_command_has_help_and_usage_errors_exit_2() {
    let commands: [&[&str]; 9] = [
        &[],
        &["serve"],
        &["migrate"],
        &["seed"],
        &["import-films"],
        &["import-letterboxd"],
        &["openapi"],
        &["admin", "grant"],
        &["recompute-popularity"],
    ];
    for command in commands {
        let args: Vec<&str> = command.iter().copied().chain(["--help"]).collect();
        let (code, stdout, stderr) = filmlog(&args, &[]);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(stdout.contains("Usage: filmlog"), "{args:?}: {stdout}");
    }
    let (_, help, _) = filmlog(&["--help"], &[]);
    for documented in [
        "Exit codes",
        "69 PostgreSQL",
        "78 configuration",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ] {
        assert!(help.contains(documented), "{documented}: {help}");
    }
    for args in [
        &["frobnicate"][..],
        &["import-films"],
        &["import-letterboxd", "ana"],
        &["admin", "grant"],
        &["serve", "--port"],
    ] {
        let (code, _, stderr) = filmlog(args, &[]);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("Usage: filmlog"), "{args:?}: {stderr}");
    }
    // The benchmark commands are not part of the production binary.
    let (code, _, stderr) = filmlog(&["gen-data", "--profile", "ci"], &[]);
    assert_eq!(code, 2, "{stderr}");
}

/// Unreachable PostgreSQL is exit code 69 with a hint, not a generic failure.
#[test]
fn an_unreachable_database_exits_69_with_a_hint() {
    let (code, _, stderr) = filmlog(
        &["migrate"],
        &[("DATABASE_URL", "postgres://filmlog@127.0.0.1:1/filmlog")],
    );
    assert_eq!(code, 69, "{stderr}");
    assert!(stderr.contains("hint: is PostgreSQL"), "{stderr}");
}

#[test]
fn openapi_needs_no_configuration() {
    let out = Command::new(BIN)
        .arg("openapi")
        .env_clear()
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"openapi\": \"3.1.0\""));
}

/// `filmlog serve` on `port` against the database at `url`, one worker, with `env` added; its output
/// discarded.
pub fn spawn_server(url: &str, port: u16, env: &[(&str, String)]) -> std::process::Child {
    let mut cmd = Command::new(BIN);
    cmd.arg("serve")
        .env("DATABASE_URL", url)
        .env("FILMLOG_JWT_SECRET", "0123456789abcdefghijklmnopqrstuvwxyz")
        .env("PORT", port.to_string())
        .env("FILMLOG_WORKERS", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    l.local_addr().map(|a| a.port()).unwrap_or(0)
}

#[actix_web::test]
async fn sigterm_drains_the_request_in_flight_then_exits() {
    let db = TestDatabase::new().await;
    let port = free_port();
    let mut child = spawn_server(db.url(), port, &[]);
    let started = Instant::now();
    let mut stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(_) if started.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => panic!("server did not start: {e}"),
        }
    };
    let body = br#"{"username":"nobody","password":"some long password"}"#;
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    stream
        .write_all(&body[..10])
        .unwrap_or_else(|e| panic!("{e}"));
    stream.flush().unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(300));

    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(300));
    // The server is draining: the request already in flight still completes.
    stream
        .write_all(&body[10..])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut response = String::new();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = stream.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(response.contains("invalid_credentials"), "{response}");

    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    // And it no longer accepts connections.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// Runs `filmlog args` with only `env` configured: its exit code, stdout and stderr.
fn filmlog(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    filmlog_test_support::run_command(BIN, args, env)
}

#[actix_web::test]
async fn admin_grant_makes_an_admin_and_names_a_missing_member() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let new = filmlog_persistence::members::NewMember {
        username: "Ana",
        email: &filmlog_domain::Email::parse("ana@example.com").unwrap_or_else(|e| panic!("{e}")),
        password_hash: "x",
    };
    let ana = filmlog_persistence::members::insert(&mut conn, &new)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ana.role, filmlog_domain::Role::Member);

    let (code, stdout, _) = filmlog(&["admin", "grant", "ana"], &[("DATABASE_URL", db.url())]);
    assert_eq!(code, 0);
    assert_eq!(stdout.trim(), "Ana is now an admin");
    let ana = filmlog_persistence::members::find(&mut conn, ana.id)
        .await
        .ok()
        .flatten()
        .map(|m| m.role);
    assert_eq!(ana, Some(filmlog_domain::Role::Admin));

    let (code, _, stderr) = filmlog(&["admin", "grant", "nobody"], &[("DATABASE_URL", db.url())]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no member is called nobody"), "{stderr}");
    let (code, _, stderr) = filmlog(&["admin", "grant", "ana"], &[]);
    assert_eq!(code, 78, "a missing setting is a configuration error");
    assert!(stderr.contains("DATABASE_URL is not set"), "{stderr}");
    assert!(stderr.contains("hint: set DATABASE_URL"), "{stderr}");
}

#[test]
fn import_films_reports_files_it_cannot_use() {
    let dir = std::env::temp_dir().join(format!("filmlog-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let not_json = dir.join("not.json");
    let not_array = dir.join("object.json");
    std::fs::write(&not_json, "{ nope").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&not_array, "{}").unwrap_or_else(|e| panic!("{e}"));
    let cases = [
        (dir.join("missing.json"), "cannot read"),
        (not_json, "is not JSON"),
        (not_array, "must hold a JSON array of films"),
    ];
    for (path, message) in cases {
        let path = path.to_string_lossy().into_owned();
        let (code, _, stderr) = filmlog(&["import-films", &path], &[]);
        assert_eq!(code, 65, "{path}: {stderr}");
        assert!(stderr.contains(message), "{path}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Popularity scores move only when recomputed: by `filmlog recompute-popularity`, and by a running
/// server every `FILMLOG_POPULARITY_INTERVAL_SECS`.
#[actix_web::test]
async fn popularity_is_recomputed_on_demand_and_by_the_server() {
    use diesel::{ExpressionMethods, QueryDsl};
    use diesel_async::RunQueryDsl;
    use filmlog_persistence::schema::{log_entries, review_likes};

    let (code, _, err) = filmlog(&["recompute-popularity"], &[]);
    assert!(code == 78 && err.contains("DATABASE_URL"), "{err}");

    let app = filmlog_test_support::TestApp::spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let bo = app.member("bo").await;
    let cy = app.member("cy").await;
    let entry = app
        .log(
            &ana,
            serde_json::json!({"film": slug, "review": {"text": "Tense."}}),
        )
        .await;
    let id: i64 = entry.parse().unwrap_or_default();
    let like_path = format!("/api/v1/log-entries/{entry}/like");
    assert_eq!(app.put(&like_path, &bo.access_token).await.status, 204);
    let mut conn = app.db.connect().await;
    let scores = async |conn: &mut filmlog_persistence::AsyncPgConnection| {
        log_entries::table
            .find(id)
            .select((
                log_entries::popularity_week,
                log_entries::popularity_month,
                log_entries::popularity_all,
            ))
            .first::<(i32, i32, i32)>(conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(
        scores(&mut conn).await,
        (0, 0, 0),
        "a like alone moves nothing"
    );

    let (code, out, err) = filmlog(&["recompute-popularity"], &[("DATABASE_URL", app.db.url())]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 log entries changed"), "{out}");
    assert_eq!(scores(&mut conn).await, (1, 1, 1));

    // A like older than the week counts for the month and all time only.
    assert_eq!(app.put(&like_path, &cy.access_token).await.status, 204);
    diesel::update(review_likes::table.filter(review_likes::member_id.eq(cy.id)))
        .set(review_likes::created_at.eq(chrono::Utc::now() - chrono::Duration::days(10)))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let port = free_port();
    let metrics_port = free_port();
    let mut child = spawn_server(
        app.db.url(),
        port,
        &[
            ("FILMLOG_POPULARITY_INTERVAL_SECS", "1".to_owned()),
            ("FILMLOG_METRICS_ADDR", format!("127.0.0.1:{metrics_port}")),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = scores(&mut conn).await;
    while seen != (1, 2, 2) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = scores(&mut conn).await;
    }
    // The run is observable: counted, timed, and its last success stamped.
    let metrics_url = format!("http://127.0.0.1:{metrics_port}/metrics");
    let mut scraped = String::new();
    while !scraped.contains(r#"filmlog_job_runs_total{job="review_popularity",outcome="ok"}"#)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        scraped = match reqwest::get(&metrics_url).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(seen, (1, 2, 2), "the server recomputed the scores");
    let stamped = scraped
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                r#"filmlog_job_last_success_timestamp_seconds{job="review_popularity"} "#,
            )
        })
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or_else(|| panic!("{scraped}"));
    assert!(
        (chrono::Utc::now().timestamp() - stamped).abs() < 60,
        "{stamped}"
    );
    assert!(
        scraped.contains(r#"filmlog_job_duration_seconds_count{job="review_popularity"}"#),
        "{scraped}"
    );
}

/// A port another process holds is exit code 69 with a hint, not a generic failure.
#[test]
fn a_port_in_use_exits_69_with_a_hint() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = taken
        .local_addr()
        .map(|a| a.port())
        .unwrap_or(0)
        .to_string();
    let (code, _, stderr) = filmlog(
        &["serve"],
        &[
            ("DATABASE_URL", "postgres://filmlog@127.0.0.1:1/filmlog"),
            ("FILMLOG_JWT_SECRET", "0123456789abcdefghijklmnopqrstuvwxyz"),
            ("PORT", &port),
        ],
    );
    assert_eq!(code, 69, "{stderr}");
    assert!(stderr.contains("hint: another process listens"), "{stderr}");
}

/// `filmlog import-letterboxd`: the API's import job, run in the command with its report; refusals
/// name what is wrong with the member or the file.
#[actix_web::test]
async fn import_letterboxd_runs_the_import_job_and_prints_its_report() {
    let app = filmlog_test_support::TestApp::spawn_with(|c| c.portability_worker = false).await;
    app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let dir = std::env::temp_dir().join(format!("filmlog-lb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let zip = dir.join("export.zip");
    let diary = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n\
                 2024-01-02,Heat,1995,https://boxd.it/h1,4,,,2024-01-01\n\
                 2024-01-03,Heat,1995,https://boxd.it/h2,9,,,2024-01-02\n";
    std::fs::write(
        &zip,
        super::portability::zip_of(&[("diary.csv", diary.as_bytes().to_vec())]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let zip = zip.to_string_lossy().into_owned();
    let url = app.db.url().to_owned();
    let env = [("DATABASE_URL", url.as_str())];

    let (code, stdout, stderr) = filmlog(&["import-letterboxd", "ana", &zip], &env);
    assert_eq!(code, 0, "{stdout} {stderr}");
    assert!(stdout.contains("status: done"), "{stdout}");
    assert!(
        stdout.contains("diary.csv: 2 rows; created 1, updated 0, unchanged 0, skipped 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("diary.csv line 3: rating \"9\""),
        "{stdout}"
    );
    let jobs = app.get("/api/v1/me/imports", Some(&ana.access_token)).await;
    assert_eq!(
        jobs.json["items"][0]["status"], "done",
        "the same job the API shows"
    );
    let diary = app
        .get("/api/v1/members/ana/diary", Some(&ana.access_token))
        .await;
    assert_eq!(diary.json["items"].as_array().map(Vec::len), Some(1));
    // Again: nothing new.
    let (code, stdout, _) = filmlog(&["import-letterboxd", "ana", &zip], &env);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("created 0, updated 0, unchanged 1, skipped 1"),
        "{stdout}"
    );

    let (code, _, stderr) = filmlog(&["import-letterboxd", "nobody", &zip], &env);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no member is called nobody"), "{stderr}");
    let not_zip = dir.join("not.zip");
    std::fs::write(&not_zip, "Date,Name").unwrap_or_else(|e| panic!("{e}"));
    let (code, _, stderr) = filmlog(
        &["import-letterboxd", "ana", &not_zip.to_string_lossy()],
        &env,
    );
    assert_eq!(code, 65, "{stderr}");
    assert!(stderr.contains("is not a ZIP archive"), "{stderr}");
    let (code, _, stderr) = filmlog(&["import-letterboxd", "ana", "/no/such/export.zip"], &env);
    assert_eq!(code, 65, "{stderr}");
    assert!(stderr.contains("cannot read"), "{stderr}");
    // An import waiting in the API is not run over.
    let pending = super::portability::upload(
        &app,
        Some(&ana.access_token),
        &std::fs::read(&zip).unwrap_or_default(),
        true,
    )
    .await;
    pending.assert_status(202);
    let (code, _, stderr) = filmlog(&["import-letterboxd", "ana", &zip], &env);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("unfinished import"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
