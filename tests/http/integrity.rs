//! Counters and statistics under real concurrency: many requests in flight against the real server.

use std::time::Duration;

use filmlog_test_support::{TestApp, TestMember};
use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::json;

async fn spawn() -> TestApp {
    TestApp::spawn_with(|c| {
        c.pool.max_size = 16;
        c.pool.timeout = Duration::from_secs(10);
        c.workers = 2;
    })
    .await
}

async fn members(app: &TestApp, n: usize, prefix: &str) -> Vec<TestMember> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(app.member(&format!("{prefix}{i}")).await);
    }
    out
}

async fn like_count(app: &TestApp, entry: &str) -> i64 {
    app.get(&format!("/api/v1/log-entries/{entry}"), None)
        .await
        .json["like_count"]
        .as_i64()
        .unwrap_or(-1)
}

#[actix_web::test]
async fn fifty_concurrent_likes_by_one_member_make_one_like() {
    let app = spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let bruno = app.member("bruno").await;
    let entry = app
        .log(&ana, json!({"film": slug, "review": {"text": "Great."}}))
        .await;
    let path = format!("/api/v1/log-entries/{entry}/like");
    let results =
        futures_util::future::join_all((0..50).map(|_| app.put(&path, &bruno.access_token))).await;
    assert!(
        results.iter().all(|r| r.status == 204),
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(like_count(&app, &entry).await, 1);
    let activity = app.get("/api/v1/members/bruno/activity", None).await;
    assert_eq!(
        activity.json["items"].as_array().map(Vec::len),
        Some(1),
        "one like, one activity"
    );
    assert!(app.drift().await.is_empty());
}

#[actix_web::test]
async fn two_hundred_members_like_then_a_hundred_unlike_concurrently() {
    let app = spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let entry = app
        .log(&ana, json!({"film": slug, "review": {"text": "Great."}}))
        .await;
    let likers = members(&app, 200, "m").await;
    let path = format!("/api/v1/log-entries/{entry}/like");
    let statuses: Vec<u16> =
        futures_util::stream::iter(likers.iter().map(|m| app.put(&path, &m.access_token)))
            .buffer_unordered(100)
            .map(|r| r.status)
            .collect()
            .await;
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    assert_eq!(like_count(&app, &entry).await, 200);
    let statuses: Vec<u16> = futures_util::stream::iter(
        likers
            .iter()
            .take(100)
            .map(|m| app.delete(&path, &m.access_token)),
    )
    .buffer_unordered(100)
    .map(|r| r.status)
    .collect()
    .await;
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    assert_eq!(like_count(&app, &entry).await, 100);
    // Unliking again (twice over, concurrently) never goes below the real number.
    let statuses: Vec<u16> = futures_util::stream::iter(
        likers
            .iter()
            .take(100)
            .chain(likers.iter().take(100))
            .map(|m| app.delete(&path, &m.access_token)),
    )
    .buffer_unordered(100)
    .map(|r| r.status)
    .collect()
    .await;
    assert!(statuses.iter().all(|s| *s == 204));
    assert_eq!(like_count(&app, &entry).await, 100);
    assert!(app.drift().await.is_empty());
}

/// A seeded random storm of 2,000 mixed operations from 50 members, 16 in flight at a time; then
/// every maintained counter must equal its recomputation from the base tables.
#[actix_web::test]
async fn a_random_storm_leaves_no_drift() {
    let app = spawn().await;
    let mut films = Vec::new();
    for i in 0..8 {
        films.push(app.film(&format!("Storm Film {i}"), 2000 + i).await);
    }
    let crowd = members(&app, 50, "s").await;
    // Every member starts with one review, so there is something to like.
    let mut reviews = Vec::new();
    for (i, m) in crowd.iter().enumerate() {
        reviews.push(app.log(m, json!({"film": films[i % films.len()], "review": {"text": format!("Review by {}", m.username)}, "rating": 3.0})).await);
    }
    // ... and one list, so there is something to like and comment on.
    let mut lists = Vec::new();
    for (i, m) in crowd.iter().enumerate() {
        let list = app
            .post(
                "/api/v1/lists",
                Some(&m.access_token),
                &json!({"name": format!("List by {}", m.username), "entries": [{"film": films[i % films.len()]}]}),
            )
            .await;
        lists.push(
            list.assert_status(201)["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    let mut rng = StdRng::seed_from_u64(20261124);
    let mut ops = Vec::new();
    for _ in 0..2000 {
        let who = rng.random_range(0..crowd.len());
        let film = films[rng.random_range(0..films.len())].clone();
        let list = lists[rng.random_range(0..lists.len())].clone();
        let op = match rng.random_range(0..14) {
            0 => (
                Method::PUT,
                format!(
                    "/api/v1/log-entries/{}/like",
                    reviews[rng.random_range(0..reviews.len())]
                ),
                None,
            ),
            1 => (
                Method::DELETE,
                format!(
                    "/api/v1/log-entries/{}/like",
                    reviews[rng.random_range(0..reviews.len())]
                ),
                None,
            ),
            2 => (
                Method::PUT,
                format!("/api/v1/films/{film}/rating"),
                Some(json!({"rating": f64::from(rng.random_range(1..=10u8)) / 2.0})),
            ),
            3 => (Method::DELETE, format!("/api/v1/films/{film}/rating"), None),
            4 => {
                let review = rng
                    .random_bool(0.5)
                    .then(|| json!({"text": "Storm review"}));
                (
                    Method::POST,
                    "/api/v1/log-entries".to_owned(),
                    Some(
                        json!({"film": film, "watched_on": "2026-01-01", "rating": 4.0, "review": review}),
                    ),
                )
            }
            5 => (
                Method::PUT,
                format!(
                    "/api/v1/members/{}/follow",
                    crowd[rng.random_range(0..crowd.len())].username
                ),
                None,
            ),
            6 => (
                Method::DELETE,
                format!(
                    "/api/v1/members/{}/follow",
                    crowd[rng.random_range(0..crowd.len())].username
                ),
                None,
            ),
            7 => (Method::PUT, format!("/api/v1/films/{film}/like"), None),
            8 => (Method::DELETE, format!("/api/v1/films/{film}/like"), None),
            9 => (Method::PUT, format!("/api/v1/lists/{list}/like"), None),
            10 => (Method::DELETE, format!("/api/v1/lists/{list}/like"), None),
            11 => (
                Method::POST,
                format!("/api/v1/lists/{list}/comments"),
                Some(json!({"body": "Storm comment"})),
            ),
            12 => (
                Method::POST,
                "/api/v1/lists".to_owned(),
                Some(json!({"name": "Storm list", "entries": [{"film": film}]})),
            ),
            _ => (Method::PUT, format!("/api/v1/films/{film}/watchlist"), None),
        };
        ops.push((who, op));
    }
    let app_ref = &app;
    let statuses: Vec<(u16, String)> =
        futures_util::stream::iter(ops.iter().map(|(who, (method, path, body))| {
            let token = crowd[*who].access_token.clone();
            let app = app_ref;
            async move {
                let res = app
                    .send(method.clone(), path, Some(&token), body.as_ref())
                    .await;
                (res.status, res.text)
            }
        }))
        .buffer_unordered(16)
        .collect()
        .await;
    let server_errors: Vec<&(u16, String)> = statuses.iter().filter(|(s, _)| *s >= 500).collect();
    assert!(server_errors.is_empty(), "{server_errors:?}");
    // Only the business rules may refuse an operation.
    for (status, text) in &statuses {
        if *status >= 400 {
            assert!(
                ["like_own_review", "follow_yourself", "like_own_list"]
                    .iter()
                    .any(|c| text.contains(c)),
                "unexpected refusal {status}: {text}"
            );
        }
    }
    assert!(statuses.iter().filter(|(s, _)| *s < 300).count() > 1800);
    assert!(
        statuses
            .iter()
            .any(|(s, t)| *s < 300 && t.contains("Storm list")),
        "lists were made in the storm"
    );
    assert_eq!(
        app.drift().await,
        Vec::new(),
        "maintained counters drifted from the base tables"
    );

    // Deleting members (with everything they did) keeps every counter true.
    for m in crowd.iter().take(10) {
        let confirm = serde_json::json!({"password": m.password});
        let deleted = app
            .send(
                reqwest::Method::DELETE,
                "/api/v1/me",
                Some(&m.access_token),
                Some(&confirm),
            )
            .await;
        assert_eq!(deleted.status, 204, "{}", deleted.text);
    }
    assert_eq!(
        app.drift().await,
        Vec::new(),
        "drift after deleting members"
    );
}

/// The functions and triggers of `crates/persistence/sql/` are applied after the migrations, again
/// whenever the recorded hash differs from the files', and not otherwise.
#[actix_web::test]
async fn the_replaceable_schema_is_reapplied_only_when_it_changed() {
    use diesel::QueryableByName;
    use diesel::sql_types::{BigInt, Text};
    use diesel_async::RunQueryDsl;
    use filmlog_persistence::replaceable;

    #[derive(QueryableByName)]
    struct State {
        #[diesel(sql_type = Text)]
        hash: String,
        #[diesel(sql_type = Text)]
        applied_at: String,
        #[diesel(sql_type = BigInt)]
        functions: i64,
        #[diesel(sql_type = BigInt)]
        triggers: i64,
    }
    const STATE: &str = "SELECT hash, applied_at::text AS applied_at, \
        (SELECT count(*) FROM pg_proc WHERE proname IN ('recompute_review_popularity', 'follows_count', \
            'activity_details', 'activity_feed', 'member_activity')) AS functions, \
        (SELECT count(*) FROM pg_trigger WHERE tgname = 'follows_count') AS triggers \
        FROM replaceable_schema";
    let db = filmlog_test_support::TestDatabase::new().await;
    let mut conn = db.connect().await;
    let state = async |conn: &mut filmlog_persistence::AsyncPgConnection| {
        diesel::sql_query(STATE)
            .get_result::<State>(conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let before = state(&mut conn).await;
    assert_eq!(before.hash, replaceable::hash());
    assert_eq!((before.functions, before.triggers), (5, 1));

    // Unchanged files: nothing is applied again.
    filmlog_persistence::run_migrations(db.url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(state(&mut conn).await.applied_at, before.applied_at);

    // A database holding another version gets the files again, dropped objects included.
    for sql in [
        "DROP FUNCTION recompute_review_popularity(timestamptz)",
        "DROP FUNCTION follows_count() CASCADE",
        "UPDATE replaceable_schema SET hash = 'an older version'",
    ] {
        diesel::sql_query(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    assert_eq!(state(&mut conn).await.functions, 3);
    filmlog_persistence::run_migrations(db.url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let after = state(&mut conn).await;
    assert_eq!(after.hash, replaceable::hash());
    assert_eq!((after.functions, after.triggers), (5, 1));
    assert_ne!(after.applied_at, before.applied_at);
}

/// One member logging a film while changing their relationship with it from other devices: the
/// relationship is locked (created first when there is none) before the rules read the entries, so no
/// change works from a state without an entry that another request just logged.
#[actix_web::test]
async fn logging_and_relationship_changes_of_one_member_race_safely() {
    let app = spawn().await;
    for round in 0..6 {
        let film = app.film(&format!("Race {round}"), 2001).await;
        let ana = app.member(&format!("racer{round}")).await;
        let requests: Vec<(Method, String, Option<serde_json::Value>)> = (0..32)
            .map(|i| match i % 4 {
                0 => (
                    Method::POST,
                    "/api/v1/log-entries".to_owned(),
                    Some(json!({"film": film, "watched_on": "2026-01-01", "rating": 4.0})),
                ),
                1 => (Method::DELETE, format!("/api/v1/films/{film}/like"), None),
                2 => (
                    Method::DELETE,
                    format!("/api/v1/films/{film}/watchlist"),
                    None,
                ),
                _ => (Method::PUT, format!("/api/v1/films/{film}/like"), None),
            })
            .collect();
        let app_ref = &app;
        let token = ana.access_token.as_str();
        let statuses: Vec<(u16, String)> =
            futures_util::stream::iter(requests.iter().map(|(method, path, body)| async move {
                let res = app_ref
                    .send(method.clone(), path, Some(token), body.as_ref())
                    .await;
                (res.status, res.text)
            }))
            .buffer_unordered(16)
            .collect()
            .await;
        let failed: Vec<_> = statuses.iter().filter(|(s, _)| *s >= 300).collect();
        assert!(failed.is_empty(), "round {round}: {failed:?}");
        let me = app
            .get(&format!("/api/v1/films/{film}/me"), Some(token))
            .await;
        assert_eq!(me.json["watched"], true, "round {round}");
        assert_eq!(me.json["rating"], 4.0, "round {round}");
        assert_eq!(me.json["log_entry_count"], 8, "round {round}");
    }
    assert!(app.drift().await.is_empty());
}
