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

#[actix_web::test]
async fn hot_endpoints_issue_a_constant_number_of_queries() {
    let (app, counts) = counted_app().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let bruno = app.member("bruno").await;
    app.put("/api/v1/members/ana/follow", &bruno.access_token)
        .await;
    let review = app
        .log(
            &ana,
            json!({"film": slug, "review": {"text": "Great."}, "rating": 4.0}),
        )
        .await;
    for i in 0..30 {
        app.log(
            &ana,
            json!({"film": slug, "watched_on": format!("2026-01-{:02}", i % 28 + 1)}),
        )
        .await;
    }
    counts.take();

    app.get(&format!("/api/v1/films/{slug}"), None)
        .await
        .assert_status(200);
    let (film_page, _, _) = counts.take();
    assert!(film_page <= 2, "film page: {film_page} queries");

    app.get("/api/v1/me/feed?limit=1", Some(&bruno.access_token))
        .await
        .assert_status(200);
    let (feed_small, _, _) = counts.take();
    let feed = app
        .get("/api/v1/me/feed?limit=50", Some(&bruno.access_token))
        .await;
    assert_eq!(feed.json["items"].as_array().map(Vec::len), Some(31));
    let (feed_large, _, _) = counts.take();
    // One to authenticate, one for the page.
    assert!(feed_large <= 2, "feed page: {feed_large} queries");
    assert_eq!(
        feed_small, feed_large,
        "page size must not change the number of queries"
    );

    app.get(&format!("/api/v1/films/{slug}/reviews"), None)
        .await
        .assert_status(200);
    let (reviews, _, _) = counts.take();
    assert!(reviews <= 2, "popular reviews: {reviews} queries");
    app.get("/api/v1/members/ana/diary?limit=50", None)
        .await
        .assert_status(200);
    let (diary, _, _) = counts.take();
    assert!(diary <= 2, "diary: {diary} queries");

    // With a token, the viewer's own state comes in the same statements: one more, the session check.
    app.get(&format!("/api/v1/films/{slug}"), Some(&bruno.access_token))
        .await
        .assert_status(200);
    let (film_page_viewer, _, _) = counts.take();
    assert_eq!(film_page_viewer, film_page + 1, "film page with a token");
    app.get(
        &format!("/api/v1/films/{slug}/reviews"),
        Some(&bruno.access_token),
    )
    .await
    .assert_status(200);
    let (reviews_viewer, _, _) = counts.take();
    assert_eq!(reviews_viewer, reviews + 1, "popular reviews with a token");
    app.get(
        "/api/v1/members/ana/diary?limit=50",
        Some(&bruno.access_token),
    )
    .await
    .assert_status(200);
    let (diary_viewer, _, _) = counts.take();
    assert_eq!(diary_viewer, diary + 1, "diary with a token");
    app.get("/api/v1/films?limit=50", Some(&bruno.access_token))
        .await
        .assert_status(200);
    let (catalog_viewer, _, _) = counts.take();
    assert_eq!(catalog_viewer, 2, "catalog with a token: session, page");

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
    assert_eq!((begins, commits), (1, 1), "a like is one transaction");

    // Logging a film: the session check, then one statement (film lookup, relationship upsert, entry
    // and activity inserts), atomic without a transaction; the response is built from what it returns.
    let log = json!({"film": slug, "watched_on": "2026-02-01", "rating": 3.5, "review": {"text": "Again."}});
    app.post("/api/v1/log-entries", Some(&bruno.access_token), &log)
        .await
        .assert_status(201);
    let (log_queries, begins, commits) = counts.take();
    assert_eq!((begins, commits), (0, 0), "logging a film is one statement");
    assert_eq!(log_queries, 2, "log a film: {log_queries} queries");
    println!(
        "queries: film page {film_page}, feed {feed_large}, popular reviews {reviews}, diary {diary}, like {like_queries}, log a film {log_queries}"
    );
}
