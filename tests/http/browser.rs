//! A web client in a real browser: pages served from other origins call the API from headless
//! Chromium (Debian's `chromium`, which `make test` installs when missing). The page allowed by
//! the API's CORS configuration logs in, reads the feed and its `RateLimit-*` headers, likes a
//! review, and edits an entry with `If-Match`; a page from an origin not allowed is refused.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use filmlog_api::cors::CorsPolicy;
use filmlog_test_support::TestApp;
use serde_json::{Value, json};
use tokio::sync::mpsc;

const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium on `url`, killed when dropped.
struct Browser {
    child: Child,
    profile: std::path::PathBuf,
}

impl Browser {
    fn open(url: &str) -> Self {
        let chromium = std::env::var("FILMLOG_CHROMIUM").unwrap_or_else(|_| CHROMIUM.to_owned());
        assert!(
            std::path::Path::new(&chromium).exists(),
            "{chromium} is missing: `make test` installs Debian's chromium (apt-get install chromium)"
        );
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let profile = std::env::temp_dir().join(format!(
            "filmlog-chromium-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let child = Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {chromium}: {e}"));
        Browser { child, profile }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Serves `page` at `/` from `listener`'s origin and forwards what the page POSTs to `/result`.
fn serve_page(listener: TcpListener, page: String) -> mpsc::UnboundedReceiver<Value> {
    let (tx, rx) = mpsc::unbounded_channel::<Value>();
    let server = HttpServer::new(move || {
        let page = page.clone();
        let tx = tx.clone();
        App::new()
            .route(
                "/",
                web::get().to(move || {
                    let page = page.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("text/html; charset=utf-8")
                            .body(page)
                    }
                }),
            )
            .route(
                "/result",
                web::post().to(move |body: web::Bytes| {
                    let tx = tx.clone();
                    async move {
                        let value = serde_json::from_slice(&body).unwrap_or_else(
                            |_| json!({"unreadable": String::from_utf8_lossy(&body)}),
                        );
                        let _ = tx.send(value);
                        HttpResponse::NoContent().finish()
                    }
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap_or_else(|e| panic!("page server: {e}"))
    .run();
    actix_web::rt::spawn(server);
    rx
}

fn listener() -> (TcpListener, String) {
    let l = TcpListener::bind(("127.0.0.1", 0)).unwrap_or_else(|e| panic!("bind: {e}"));
    let port = l.local_addr().map(|a| a.port()).unwrap_or_default();
    (l, format!("http://127.0.0.1:{port}"))
}

/// Opens `page` from `origin` in Chromium and waits for what it reports.
async fn run_page(listener: TcpListener, origin: &str, script: String) -> Value {
    let page = format!(
        "<!doctype html><meta charset=utf-8><title>filmlog web client</title>\
         <script type=module>\n{script}\n</script>"
    );
    let mut results = serve_page(listener, page);
    let _browser = Browser::open(&format!("{origin}/"));
    match tokio::time::timeout(Duration::from_secs(60), results.recv()).await {
        Ok(Some(value)) => value,
        _ => panic!("the page at {origin} reported nothing within 60 s"),
    }
}

#[actix_web::test]
async fn a_web_client_from_an_allowed_origin_works_and_another_origin_is_refused() {
    let (page_listener, page_origin) = listener();
    let (evil_listener, evil_origin) = listener();
    let allowed = page_origin.clone();
    let app = TestApp::spawn_with(|c| {
        c.cors = CorsPolicy::parse(&allowed).unwrap_or_default();
        c.rate.budgets.read_per_member =
            filmlog_api::ratelimit::Quota::new(500, Duration::from_secs(60));
    })
    .await;
    let web = app.member("webclient").await;
    let amara = app.member("amara").await;
    let follow = app
        .put("/api/v1/members/amara/follow", &web.access_token)
        .await;
    assert!(follow.status < 300, "{}", follow.text);
    let film = app.film("The Apple", 1998).await;
    let review = app
        .log(
            &amara,
            json!({"film": film, "watched_on": "2026-11-20", "review": {"text": "A first film by a girl of seventeen."}}),
        )
        .await;
    let own = app
        .log(&web, json!({"film": film, "watched_on": "2026-11-21"}))
        .await;
    let api = format!("{}/api/v1", app.base);

    let script = format!(
        r#"
const api = {api:?};
const out = {{}};
try {{
  let r = await fetch(api + "/auth/login", {{
    method: "POST",
    headers: {{"content-type": "application/json"}},
    body: JSON.stringify({{username: "webclient", password: {password:?}}}),
  }});
  out.login = r.status;
  const auth = {{"authorization": "Bearer " + (await r.json()).access_token}};
  r = await fetch(api + "/me/feed", {{headers: auth}});
  out.feed = r.status;
  out.feed_kinds = (await r.json()).items.map(i => i.kind);
  out.rate = ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"].map(h => r.headers.get(h));
  out.request_id = r.headers.get("X-Request-Id");
  r = await fetch(api + "/log-entries/{review}/like", {{method: "PUT", headers: auth}});
  out.like = r.status;
  const comment = () => fetch(api + "/log-entries/{review}/comments", {{
    method: "POST",
    headers: {{...auth, "content-type": "application/json", "idempotency-key": "browser-comment-1"}},
    body: JSON.stringify({{body: "Seen from a browser."}}),
  }});
  r = await comment();
  out.comment = r.status;
  out.comment_location = r.headers.get("Location");
  r = await comment();
  out.comment_replayed = r.headers.get("Idempotent-Replayed");
  r = await fetch(api + "/log-entries/{own}", {{headers: auth}});
  const etag = r.headers.get("ETag");
  out.etag = etag;
  const edit = (tags) => fetch(api + "/log-entries/{own}", {{
    method: "PATCH",
    headers: {{...auth, "content-type": "application/json", "if-match": etag}},
    body: JSON.stringify({{tags}}),
  }});
  r = await edit(["from-a-browser"]);
  out.edit = r.status;
  out.edited_tags = (await r.json()).tags;
  r = await edit(["stale"]);
  out.stale_edit = r.status;
}} catch (e) {{
  out.error = String(e);
}}
await fetch("/result", {{method: "POST", body: JSON.stringify(out)}});
"#,
        password = TestApp::PASSWORD,
    );
    let report = run_page(page_listener, &page_origin, script).await;
    assert!(report.get("error").is_none(), "{report}");
    assert_eq!(report["login"], 200, "{report}");
    assert_eq!(report["feed"], 200, "{report}");
    assert!(
        report["feed_kinds"]
            .as_array()
            .is_some_and(|k| !k.is_empty()),
        "{report}"
    );
    let rate = report["rate"].as_array().cloned().unwrap_or_default();
    assert!(
        rate.len() == 3
            && rate
                .iter()
                .all(|v| v.as_str().is_some_and(|s| s.parse::<u64>().is_ok())),
        "the page reads RateLimit-*: {report}"
    );
    assert!(report["request_id"].is_string(), "{report}");
    assert!(
        matches!(report["like"].as_u64(), Some(200 | 201 | 204)),
        "{report}"
    );
    assert_eq!(report["comment"], 201, "{report}");
    assert!(report["comment_location"].is_string(), "{report}");
    assert_eq!(report["comment_replayed"], "true", "{report}");
    assert!(
        report["etag"].as_str().is_some_and(|e| e.starts_with('"')),
        "{report}"
    );
    assert_eq!(report["edit"], 200, "{report}");
    assert_eq!(report["edited_tags"], json!(["from-a-browser"]), "{report}");
    assert_eq!(report["stale_edit"], 412, "{report}");
    let likes = app
        .get(&format!("/api/v1/log-entries/{review}"), None)
        .await;
    assert_eq!(likes.assert_status(200)["like_count"], 1);

    // A page from an origin not allowed: the browser refuses to read, and nothing happens.
    let evil_script = format!(
        r#"
const api = {api:?};
const out = {{}};
for (const [name, path, init] of [
  ["read", "/films", {{}}],
  ["unlike", "/log-entries/{review}/like", {{method: "DELETE", headers: {{"authorization": "Bearer {token}"}}}}],
]) {{
  try {{
    const r = await fetch(api + path, init);
    out[name] = r.status;
  }} catch (e) {{
    out[name] = "refused: " + e.name;
  }}
}}
await fetch("/result", {{method: "POST", body: JSON.stringify(out)}});
"#,
        token = web.access_token,
    );
    let evil = run_page(evil_listener, &evil_origin, evil_script).await;
    for name in ["read", "unlike"] {
        assert!(
            evil[name]
                .as_str()
                .is_some_and(|s| s.starts_with("refused")),
            "{name} from {evil_origin}: {evil}"
        );
    }
    let after = app
        .get(&format!("/api/v1/log-entries/{review}"), None)
        .await;
    assert_eq!(
        after.assert_status(200)["like_count"],
        1,
        "the unlike did not happen"
    );
}
