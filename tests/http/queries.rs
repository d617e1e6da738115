//! Queries per request, counted with diesel's instrumentation on every pooled connection: the hot
//! endpoints issue a constant, small number of statements whatever the page size (no N+1).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::connection::InstrumentationEvent;
use filmlog_persistence::ConnectionObserver;
use filmlog_test_support::TestApp;
use serde_json::json;

#[derive(Default)]
struct Counts {
    queries: AtomicUsize,
    begins: AtomicUsize,
    commits: AtomicUsize,
}

impl Counts {
    fn take(&self) -> (usize, usize, usize) {
        (
            self.queries.swap(0, Ordering::SeqCst),
            self.begins.swap(0, Ordering::SeqCst),
            self.commits.swap(0, Ordering::SeqCst),
        )
    }
}

async fn counted_app() -> (TestApp, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let observed = Arc::clone(&counts);
    let app = TestApp::spawn_with(move |c| {
        // Only the requests' statements are counted: no webhook or import worker polling beside them.
        c.webhook_worker = false;
        c.portability_worker = false;
        c.feed_worker = false;
        c.pool.observer = Some(ConnectionObserver(Arc::new(move || {
            let counts = Arc::clone(&observed);
            Box::new(move |event: InstrumentationEvent<'_>| {
                let counter = match event {
                    InstrumentationEvent::StartQuery { .. } => &counts.queries,
                    InstrumentationEvent::BeginTransaction { .. } => &counts.begins,
                    InstrumentationEvent::CommitTransaction { .. } => &counts.commits,
                    _ => return,
                };
                counter.fetch_add(1, Ordering::SeqCst);
            })
        })));
    })
    .await;
    (app, counts)
}

/// Fetches `path` with `limit=1` and with `limit=50`: the statements it issued (the same for both), after checking
/// that the larger page really holds several rows (else a query per row would go unseen).
async fn one_and_fifty(app: &TestApp, counts: &Counts, path: &str, token: Option<&str>) -> usize {
    let sep = if path.contains('?') { '&' } else { '?' };
    app.get(&format!("{path}{sep}limit=1"), token)
        .await
        .assert_status(200);
    let (one, _, _) = counts.take();
    let page = app.get(&format!("{path}{sep}limit=50"), token).await;
    let rows = page.assert_status(200)["items"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(
        rows >= 4,
        "{path}: {rows} rows, too few to see a query per row"
    );
    let (fifty, _, _) = counts.take();
    assert_eq!(one, fifty, "{path}: the page size changed the statements");
    one
}

#[actix_web::test]
async fn hot_endpoints_issue_a_constant_number_of_queries() {
    let (app, counts) = counted_app().await;
    let ana = app.member("ana").await;
    // Heat with a director and three of its cast, so that a statement per credit would show.
    let admin = app.member("admin").await;
    app.make_admin("admin").await;
    let slug = app
        .post(
            "/api/v1/films",
            Some(&admin.access_token),
            &json!({"title": "Heat", "year": 1995, "directors": ["Michael Mann"],
                    "cast": [{"name": "Al Pacino", "character": "Vincent Hanna"},
                             {"name": "Robert De Niro", "character": "Neil McCauley"},
                             {"name": "Val Kilmer", "character": "Chris Shiherlis"}]}),
        )
        .await
        .assert_status(201)["slug"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let bruno = app.member("bruno").await;
    app.put("/api/v1/members/ana/follow", &bruno.access_token)
        .await
        .assert_status(204);
    let review = app
        .log(
            &ana,
            json!({"film": slug, "review": {"text": "Great."}, "rating": 4.0}),
        )
        .await;
    // Several films in ana's diary, several members' reviews of Heat (each liked), so every page
    // below holds rows of different films and authors.
    for i in 0..6 {
        let film = app.film(&format!("Other {i}"), 1990 + i).await;
        for day in 1..=4 {
            app.log(
                &ana,
                json!({"film": film, "watched_on": format!("2026-01-{:02}", i * 4 + day), "review": {"text": format!("Take {day}")}}),
            )
            .await;
        }
    }
    for name in ["cy", "dan", "eve", "fay", "gus"] {
        let who = app.member(name).await;
        let id = app
            .log(
                &who,
                json!({"film": slug, "review": {"text": format!("{name} on Heat")}, "rating": 3.0}),
            )
            .await;
        app.put(&format!("/api/v1/log-entries/{id}/like"), &ana.access_token)
            .await
            .assert_status(204);
        app.put(
            &format!("/api/v1/members/{name}/follow"),
            &bruno.access_token,
        )
        .await
        .assert_status(204);
    }
    counts.take();

    let page = app.get(&format!("/api/v1/films/{slug}"), None).await;
    assert_eq!(
        page.assert_status(200)["cast"].as_array().map(Vec::len),
        Some(3),
        "{}",
        page.text
    );
    let (film_page, _, _) = counts.take();
    assert_eq!(
        film_page, 2,
        "film page (the film, its credits): {film_page} queries"
    );

    // Each page: its statements anonymously (`None`: it needs a token), and one more with a token
    // (the session check), the viewer's state coming in the same statements. A member's page looks
    // its subject up first; a film's reviews name the film and check the session in their own
    // statement (a page with reviews needs no look-up and no session check of its own). The feed reads its page and its timeline's state (and the first
    // read, not counted here, requests the timeline beside the response).
    app.get("/api/v1/me/feed", Some(&bruno.access_token))
        .await
        .assert_status(200);
    app.until(
        "SELECT 1 FROM home_timelines",
        "the first read requested the timeline",
    )
    .await;
    // Counted with the timeline built: the pages come from it.
    assert!(app.settle_feeds().await > 0);
    counts.take();
    let reviews = format!("/api/v1/films/{slug}/reviews");
    // (path, statements anonymously (None: it needs a token), statements with a token)
    let pages = [
        (reviews.as_str(), Some(1), 1),
        ("/api/v1/members/ana/diary", Some(2), 3),
        ("/api/v1/members/ana/reviews", Some(2), 3),
        ("/api/v1/films", Some(1), 2),
        ("/api/v1/me/feed", None, 3),
    ];
    for (path, anonymous, with_token) in pages {
        if let Some(expected) = anonymous {
            let n = one_and_fifty(&app, &counts, path, None).await;
            assert_eq!(n, expected, "{path} anonymously");
        }
        let n = one_and_fifty(&app, &counts, path, Some(&bruno.access_token)).await;
        assert_eq!(n, with_token, "{path} with a token");
    }
    app.get(&format!("/api/v1/films/{slug}"), Some(&bruno.access_token))
        .await
        .assert_status(200);
    let (film_page_viewer, _, _) = counts.take();
    // The session is checked inside the film's statement.
    assert_eq!(film_page_viewer, film_page, "film page with a token");

    // A like: the session check, the entry and the liker's standing (sent together), then one
    // statement that likes, records the activity and notifies: no explicit transaction.
    assert_eq!(
        app.put(
            &format!("/api/v1/log-entries/{review}/like"),
            &bruno.access_token
        )
        .await
        .status,
        204
    );
    let (like_queries, begins, commits) = counts.take();
    assert_eq!((begins, commits), (0, 0), "a like's write is one statement");
    assert_eq!(
        like_queries, LIKE_STATEMENTS,
        "a like: {like_queries} statements"
    );

    // Logging a film: the session check, then one statement (film lookup, relationship upsert, entry
    // and activity inserts), atomic without a transaction; the response is built from what it returns.
    let log = json!({"film": slug, "watched_on": "2026-02-01", "rating": 3.5, "review": {"text": "Again."}});
    app.post("/api/v1/log-entries", Some(&bruno.access_token), &log)
        .await
        .assert_status(201);
    let (log_queries, begins, commits) = counts.take();
    assert_eq!((begins, commits), (0, 0), "logging a film is one statement");
    assert_eq!(log_queries, 2, "log a film: {log_queries} queries");
}

/// The statements of a like, pinned so that one more is a decision and not an accident: the
/// session check, the entry and whether the liker may react to it (two statements, one round trip),
/// then one statement that inserts the like, records its activity and notifies the author
/// (counters and change records follow from triggers; the author's live streams are woken after
/// the request, outside it).
const LIKE_STATEMENTS: usize = 4;
