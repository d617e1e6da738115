//! The rules of issue 9, each shown from outside: what was wrong before and holds now.

use filmlog_test_support::{TestApp, TestMember};
use reqwest::Method;
use serde_json::{Value, json};

async fn me_with(app: &TestApp, slug: &str, m: &TestMember) -> Value {
    app.get(&format!("/api/v1/films/{slug}/me"), Some(&m.access_token))
        .await
        .assert_status(200)
        .clone()
}

async fn patch(app: &TestApp, m: &TestMember, id: &str, body: Value) -> Value {
    app.send(
        Method::PATCH,
        &format!("/api/v1/log-entries/{id}"),
        Some(&m.access_token),
        Some(&body),
    )
    .await
    .assert_status(200)
    .clone()
}

async fn kinds_of_activity(app: &TestApp, m: &TestMember) -> Vec<String> {
    app.get(&format!("/api/v1/members/{}/activity", m.username), None)
        .await
        .assert_status(200)["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["kind"].as_str().map(str::to_owned))
        .collect()
}

#[actix_web::test]
async fn watching_or_rating_takes_a_film_off_the_watchlist() {
    let app = TestApp::spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let t = ana.access_token.as_str();
    for action in ["watched", "rating"] {
        assert_eq!(
            app.put(&format!("/api/v1/films/{slug}/watchlist"), t)
                .await
                .status,
            204
        );
        let res = if action == "rating" {
            let body = json!({"rating": 4.0});
            app.send(
                Method::PUT,
                &format!("/api/v1/films/{slug}/rating"),
                Some(t),
                Some(&body),
            )
            .await
        } else {
            app.put(&format!("/api/v1/films/{slug}/watched"), t).await
        };
        assert_eq!(res.status, 204);
        let me = me_with(&app, &slug, &ana).await;
        assert_eq!(me["in_watchlist"], false, "{action}");
        let watchlist = app
            .get(&format!("/api/v1/members/{}/watchlist", ana.username), None)
            .await;
        assert_eq!(watchlist.json["items"], json!([]), "{action}");
        // The watchlist activity went with it.
        assert!(
            !kinds_of_activity(&app, &ana)
                .await
                .contains(&"watchlist".to_owned())
        );
    }
    assert!(app.drift().await.is_empty());
}

#[actix_web::test]
async fn an_entry_shows_the_members_like_of_the_film() {
    let app = TestApp::spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let t = ana.access_token.as_str();
    let first = app
        .log(
            &ana,
            json!({"film": slug, "watched_on": "2026-01-01", "liked": true}),
        )
        .await;
    let second = app
        .log(&ana, json!({"film": slug, "watched_on": "2026-02-01"}))
        .await;
    // The second entry did not say liked, yet it shows the film liked: one like, derived.
    let entry = |id: String| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/log-entries/{id}"), None)
                .await
                .assert_status(200)["liked"]
                .clone()
        }
    };
    assert_eq!(entry(second.clone()).await, true);
    // PATCH liked:false unlikes the film, everywhere.
    let patched = patch(&app, &ana, &first, json!({"liked": false})).await;
    assert_eq!(patched["liked"], false);
    assert_eq!(me_with(&app, &slug, &ana).await["liked"], false);
    assert_eq!(entry(second.clone()).await, false);
    let stats = app
        .get(&format!("/api/v1/films/{slug}/statistics"), None)
        .await;
    assert_eq!(stats.json["like_count"], 0);
    // Liking the film shows on old entries; unliking it too.
    assert_eq!(
        app.put(&format!("/api/v1/films/{slug}/like"), t)
            .await
            .status,
        204
    );
    assert_eq!(entry(first.clone()).await, true);
    assert_eq!(
        app.delete(&format!("/api/v1/films/{slug}/like"), t)
            .await
            .status,
        204
    );
    assert_eq!(entry(first.clone()).await, false);
    assert_eq!(entry(second).await, false);
    assert!(app.drift().await.is_empty());
}

#[actix_web::test]
async fn the_current_rating_is_the_latest_rating_action() {
    let app = TestApp::spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let t = ana.access_token.as_str();
    let rating = |v: Value| v["rating"].clone();
    let older = app
        .log(
            &ana,
            json!({"film": slug, "watched_on": "2026-01-01", "rating": 3.0}),
        )
        .await;
    let newer = app
        .log(
            &ana,
            json!({"film": slug, "watched_on": "2026-02-01", "rating": 4.0}),
        )
        .await;
    assert_eq!(rating(me_with(&app, &slug, &ana).await), 4.0);
    // Editing the older entry does not overwrite the newer entry's rating.
    patch(&app, &ana, &older, json!({"rating": 1.0})).await;
    assert_eq!(rating(me_with(&app, &slug, &ana).await), 4.0);
    // Editing the newest one does.
    patch(&app, &ana, &newer, json!({"rating": 4.5})).await;
    assert_eq!(rating(me_with(&app, &slug, &ana).await), 4.5);
    // Clearing the rating that set it falls back to the one before.
    patch(&app, &ana, &newer, json!({"rating": null})).await;
    assert_eq!(rating(me_with(&app, &slug, &ana).await), 1.0);
    // An explicit rating outranks older entries; deleting an entry does not bring theirs back.
    let body = json!({"rating": 2.5});
    let put = app
        .send(
            Method::PUT,
            &format!("/api/v1/films/{slug}/rating"),
            Some(t),
            Some(&body),
        )
        .await;
    assert_eq!(put.status, 204);
    assert_eq!(rating(me_with(&app, &slug, &ana).await), 2.5);
    patch(&app, &ana, &older, json!({"rating": 5.0})).await;
    assert_eq!(rating(me_with(&app, &slug, &ana).await), 2.5);
    // A removal is an action too; a new rated entry after it counts.
    assert_eq!(
        app.delete(&format!("/api/v1/films/{slug}/rating"), t)
            .await
            .status,
        204
    );
    assert_eq!(rating(me_with(&app, &slug, &ana).await), Value::Null);
    let newest = app
        .log(
            &ana,
            json!({"film": slug, "watched_on": "2026-03-01", "rating": 3.5}),
        )
        .await;
    assert_eq!(rating(me_with(&app, &slug, &ana).await), 3.5);
    // Deleting the entry that set it falls back to the latest action before it: the removal.
    let del = app
        .delete(&format!("/api/v1/log-entries/{newest}"), t)
        .await;
    assert_eq!(del.status, 204);
    assert_eq!(rating(me_with(&app, &slug, &ana).await), Value::Null);
    let stats = app
        .get(&format!("/api/v1/films/{slug}/statistics"), None)
        .await;
    assert_eq!(stats.json["rating_count"], 0);
    assert!(app.drift().await.is_empty());
}

#[actix_web::test]
async fn logging_with_a_like_is_one_activity_and_edits_restate_it() {
    let app = TestApp::spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let id = app
        .log(
            &ana,
            json!({"film": slug, "watched_on": "2026-01-01", "liked": true, "rating": 4.0}),
        )
        .await;
    assert_eq!(kinds_of_activity(&app, &ana).await, ["diary_entry"]);
    // Adding review text makes the same activity a review, with the entry's new rating.
    patch(
        &app,
        &ana,
        &id,
        json!({"review": {"text": "Tense."}, "rating": 5.0}),
    )
    .await;
    let items = app
        .get(&format!("/api/v1/members/{}/activity", ana.username), None)
        .await;
    assert_eq!(items.json["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(items.json["items"][0]["kind"], "review");
    assert_eq!(items.json["items"][0]["rating"], 5.0);
}

#[actix_web::test]
async fn likes_and_comments_follow_one_rule_about_review_text() {
    let app = TestApp::spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let bo = app.member("bo").await;
    let diary = app
        .log(&ana, json!({"film": slug, "watched_on": "2026-01-01"}))
        .await;
    let comment = json!({"body": "Nice."});
    let path = format!("/api/v1/log-entries/{diary}/comments");
    app.post(&path, Some(&bo.access_token), &comment)
        .await
        .assert_problem(422, "not_a_review");
    app.put(
        &format!("/api/v1/log-entries/{diary}/like"),
        &bo.access_token,
    )
    .await
    .assert_problem(422, "not_a_review");
    let comments = app.get(&path, None).await;
    assert_eq!(comments.json["items"], json!([]));
    // With review text both are allowed; the author may comment on their own review too.
    patch(&app, &ana, &diary, json!({"review": {"text": "Tense."}})).await;
    app.post(&path, Some(&bo.access_token), &comment)
        .await
        .assert_status(201);
    app.post(&path, Some(&ana.access_token), &comment)
        .await
        .assert_status(201);
    assert_eq!(
        app.put(
            &format!("/api/v1/log-entries/{diary}/like"),
            &bo.access_token
        )
        .await
        .status,
        204
    );
}

#[actix_web::test]
async fn sort_by_rating_is_a_weighted_average() {
    let app = TestApp::spawn().await;
    let lucky = app.film("Lucky One", 2001).await;
    let loved = app.film("Loved By Many", 2002).await;
    let body = |r: f64| json!({"rating": r});
    // Five perfect ratings (the fewest that show an average) against twelve of 4.5.
    for i in 0..12 {
        let m = app.member(&format!("fan{i}")).await;
        let res = app
            .send(
                Method::PUT,
                &format!("/api/v1/films/{loved}/rating"),
                Some(&m.access_token),
                Some(&body(4.5)),
            )
            .await;
        assert_eq!(res.status, 204);
        if i < 5 {
            let res = app
                .send(
                    Method::PUT,
                    &format!("/api/v1/films/{lucky}/rating"),
                    Some(&m.access_token),
                    Some(&body(5.0)),
                )
                .await;
            assert_eq!(res.status, 204);
        }
    }
    let res = app.get("/api/v1/films?sort=rating&limit=2", None).await;
    let items = &res.assert_status(200)["items"];
    assert_eq!(items[0]["slug"], loved.as_str());
    assert_eq!(items[1]["slug"], lucky.as_str());
    assert_eq!(items[1]["average_rating"], 5.0);
    // (5 × 10 + 10 × 6) / (5 + 10) half stars = 3.67 stars.
    assert_eq!(items[1]["weighted_rating"], 3.67);
}

/// The one-statement fast path of logging a film against the rule code: generated operation
/// sequences run for one member through `log_fast` and for another, on a twin film, through
/// `log_locked` (relationship locked, `LogEntryCreated` applied by the domain); after every step both
/// have the same relationship, entries, activities and film counters.
#[actix_web::test]
async fn the_fast_logging_path_does_exactly_what_the_rules_do() {
    use diesel::{ExpressionMethods, QueryDsl};
    use diesel_async::{AsyncConnection, RunQueryDsl};
    use filmlog_app::ops;
    use filmlog_domain::relationship::FilmCommand;
    use filmlog_domain::{FilmId, MemberId, Rating};
    use filmlog_persistence::log_entries::NewLogEntry;
    use filmlog_persistence::schema::activities;
    use filmlog_persistence::{catalog, relationships};

    let app = TestApp::spawn().await;
    let mut conn = app.db.connect().await;
    for seed in 1..=12u64 {
        let fast_slug = app.film(&format!("Fast {seed}"), 2000).await;
        let rule_slug = app.film(&format!("Rule {seed}"), 2000).await;
        let fast_member = MemberId::new(app.member(&format!("fast{seed}")).await.id);
        let rule_member = MemberId::new(app.member(&format!("rule{seed}")).await.id);
        let film_of =
            async |conn: &mut filmlog_persistence::AsyncPgConnection, slug: &str| -> FilmId {
                catalog::id_by_slug(conn, slug, None, true)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| panic!("{slug}"))
            };
        let fast_film = film_of(&mut conn, &fast_slug).await;
        let rule_film = film_of(&mut conn, &rule_slug).await;
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut next = move |n: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        for step in 0..25 {
            let choice = next(12);
            if choice < 4 {
                let new = NewLogEntry {
                    watched_on: chrono::NaiveDate::from_ymd_opt(2026, 1, 1),
                    rewatch: false,
                    rating: (next(3) > 0)
                        .then(|| filmlog_domain::Rating::from_halves(1 + next(10) as i16).ok())
                        .flatten(),
                    review_text: (next(2) == 0).then(|| "Seen.".to_owned()),
                    contains_spoilers: false,
                    tags: Vec::new(),
                    visibility: None,
                };
                let liked = next(2) == 0;
                let fast =
                    ops::films::log_fast(&mut conn, fast_member, &fast_slug, &new, liked).await;
                assert!(matches!(fast, Ok(Some(_))), "{fast:?}");
                let locked = conn
                    .transaction(async |c| {
                        ops::films::log_locked(c, rule_member, rule_film, &new, liked).await
                    })
                    .await;
                assert!(locked.is_ok(), "{locked:?}");
            } else {
                let command = match choice {
                    4 => FilmCommand::Watch,
                    5 => FilmCommand::Unwatch,
                    6 => FilmCommand::Like,
                    7 => FilmCommand::Unlike,
                    8 | 9 => FilmCommand::AddToWatchlist,
                    10 => FilmCommand::RemoveFromWatchlist,
                    _ => Rating::from_halves(1 + next(10) as i16)
                        .map_or(FilmCommand::Unrate, FilmCommand::Rate),
                };
                for (member, film) in [(fast_member, fast_film), (rule_member, rule_film)] {
                    let r = conn
                        .transaction(async |c| {
                            ops::films::change(c, member, film, command)
                                .await
                                .map(|_| ())
                        })
                        .await;
                    assert!(
                        r.is_ok() || command == FilmCommand::Unwatch,
                        "{command:?}: {r:?}"
                    );
                }
            }
            let rel_fast = relationships::get(&mut conn, fast_member, fast_film)
                .await
                .ok();
            let rel_rule = relationships::get(&mut conn, rule_member, rule_film)
                .await
                .ok();
            let strip = |r: Option<filmlog_domain::relationship::Relationship>| {
                r.map(|r| {
                    (
                        r.watched,
                        r.liked,
                        r.in_watchlist,
                        r.rating,
                        r.explicit.map(|x| x.rating),
                    )
                })
            };
            assert_eq!(strip(rel_fast), strip(rel_rule), "seed {seed} step {step}");
            let acts = async |conn: &mut filmlog_persistence::AsyncPgConnection, m: MemberId| {
                activities::table
                    .filter(activities::actor_id.eq(m.get()))
                    .select((activities::kind, activities::rating))
                    .order(activities::id)
                    .load::<(String, Option<i16>)>(conn)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
            };
            assert_eq!(
                acts(&mut conn, fast_member).await,
                acts(&mut conn, rule_member).await,
                "seed {seed} step {step}"
            );
            let stats = async |conn: &mut filmlog_persistence::AsyncPgConnection, f: FilmId| {
                let s = catalog::stats(conn, f)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                (
                    s.watch_count,
                    s.like_count,
                    s.rating_count,
                    s.rating_sum,
                    s.review_count,
                )
            };
            assert_eq!(
                stats(&mut conn, fast_film).await,
                stats(&mut conn, rule_film).await,
                "seed {seed} step {step}"
            );
        }
    }
    assert!(app.drift().await.is_empty());
}
