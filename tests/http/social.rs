use filmlog_test_support::TestApp;
use serde_json::{Value, json};

fn usernames(res: &filmlog_test_support::TestResponse) -> Vec<String> {
    res.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["member"]["username"].as_str().map(str::to_owned))
        .collect()
}

#[actix_web::test]
async fn follows_are_idempotent_counted_and_listed() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let bruno = app.member("bruno").await;
    let carla = app.member("carla").await;
    for _ in 0..2 {
        assert_eq!(
            app.put("/api/v1/members/ana/follow", &bruno.access_token)
                .await
                .status,
            204
        );
    }
    app.put("/api/v1/members/ANA/follow", &carla.access_token)
        .await;
    app.put("/api/v1/members/ana/follow", &ana.access_token)
        .await
        .assert_problem(422, "follow_yourself");
    app.put("/api/v1/members/nobody/follow", &ana.access_token)
        .await
        .assert_problem(404, "not_found");
    app.send(
        reqwest::Method::PUT,
        "/api/v1/members/ana/follow",
        None,
        None,
    )
    .await
    .assert_problem(401, "missing_token");
    let profile = app.get("/api/v1/members/ana", None).await;
    assert_eq!(
        (
            profile.json["follower_count"].clone(),
            profile.json["following_count"].clone()
        ),
        (json!(2), json!(0))
    );
    assert_eq!(
        app.get("/api/v1/members/bruno", None).await.json["following_count"],
        1
    );
    assert_eq!(
        usernames(&app.get("/api/v1/members/ana/followers", None).await),
        ["carla", "bruno"]
    );
    assert_eq!(
        usernames(&app.get("/api/v1/members/bruno/following", None).await),
        ["ana"]
    );
    let page = app.get("/api/v1/members/ana/followers?limit=1", None).await;
    let cursor = page.json["next_cursor"].as_str().unwrap_or_default();
    assert_eq!(
        usernames(
            &app.get(
                &format!("/api/v1/members/ana/followers?limit=1&cursor={cursor}"),
                None
            )
            .await
        ),
        ["bruno"]
    );
    for _ in 0..2 {
        assert_eq!(
            app.delete("/api/v1/members/ana/follow", &bruno.access_token)
                .await
                .status,
            204
        );
    }
    assert_eq!(
        app.get("/api/v1/members/ana", None).await.json["follower_count"],
        1
    );
    app.delete("/api/v1/members/nobody/follow", &bruno.access_token)
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/members/nobody/followers", None)
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/members/ana/following?cursor=bad", None)
        .await
        .assert_problem(400, "invalid_cursor");
    assert!(app.drift().await.is_empty());
}

#[actix_web::test]
async fn the_feed_shows_what_followed_members_did_with_everything_to_render_it() {
    let app = TestApp::spawn().await;
    let slug = app.film("Children of Heaven", 1997).await;
    let other = app.film("Heat", 1995).await;
    let shirin = app.member("shirin").await;
    let tomas = app.member("tomas").await;
    let amara = app.member("amara").await;
    let stranger = app.member("stranger").await;
    app.put("/api/v1/members/shirin/follow", &tomas.access_token)
        .await;
    app.put("/api/v1/members/amara/follow", &tomas.access_token)
        .await;
    let review = "A pair of shoes carries the whole film. ".repeat(20);
    let entry = app
        .log(&shirin, json!({"film": slug, "watched_on": "2026-11-20", "rating": 4.5, "review": {"text": review, "contains_spoilers": true}}))
        .await;
    app.put(
        &format!("/api/v1/log-entries/{entry}/like"),
        &amara.access_token,
    )
    .await;
    app.post(
        &format!("/api/v1/log-entries/{entry}/comments"),
        Some(&amara.access_token),
        &json!({"body": "That race!"}),
    )
    .await;
    app.put(
        &format!("/api/v1/films/{other}/watchlist"),
        &amara.access_token,
    )
    .await;
    app.log(
        &stranger,
        json!({"film": other, "watched_on": "2026-11-21"}),
    )
    .await;

    let feed = app.get("/api/v1/me/feed", Some(&tomas.access_token)).await;
    feed.assert_status(200);
    assert_eq!(feed.header("cache-control"), Some("private, no-cache"));
    let items = feed.json["items"].as_array().cloned().unwrap_or_default();
    let kinds: Vec<&str> = items.iter().filter_map(|i| i["kind"].as_str()).collect();
    // Newest first: amara's watchlist addition, comment and like, then shirin's review (and the follows
    // tomas made are his own, not in his feed).
    assert_eq!(
        kinds,
        ["watchlist", "comment", "review_like", "review"],
        "{}",
        feed.text
    );
    assert!(
        !items.iter().any(|i| i["actor"]["username"] == "stranger"),
        "only followed members"
    );
    let review_item = items
        .iter()
        .find(|i| i["kind"] == "review")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(review_item["actor"]["username"], "shirin");
    assert_eq!(review_item["film"]["slug"], slug);
    assert_eq!(review_item["film"]["title"], "Children of Heaven");
    assert_eq!(review_item["rating"], 4.5);
    assert_eq!(review_item["log_entry"]["contains_spoilers"], true);
    let excerpt = review_item["log_entry"]["review_excerpt"]
        .as_str()
        .unwrap_or_default();
    assert!(
        excerpt.starts_with("A pair of shoes")
            && excerpt.ends_with('…')
            && excerpt.chars().count() <= 281,
        "{excerpt}"
    );
    let comment = items
        .iter()
        .find(|i| i["kind"] == "comment")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(comment["comment"]["excerpt"], "That race!");
    assert_eq!(comment["member"], "shirin");
    let like = items
        .iter()
        .find(|i| i["kind"] == "review_like")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        (like["actor"]["username"].clone(), like["member"].clone()),
        (json!("amara"), json!("shirin"))
    );

    // Pages of one never repeat or skip.
    let mut seen = Vec::new();
    let mut path = "/api/v1/me/feed?limit=1".to_owned();
    loop {
        let page = app.get(&path, Some(&tomas.access_token)).await;
        seen.extend(
            page.json["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["id"].as_str().map(str::to_owned)),
        );
        match page.json["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/me/feed?limit=1&cursor={c}"),
            None => break,
        }
    }
    let all: Vec<String> = items
        .iter()
        .filter_map(|i| i["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(seen, all);

    // A deleted review leaves the feed with its likes and comments.
    app.delete(
        &format!("/api/v1/log-entries/{entry}"),
        &shirin.access_token,
    )
    .await;
    let after = app.get("/api/v1/me/feed", Some(&tomas.access_token)).await;
    let kinds: Vec<&str> = after.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["kind"].as_str())
        .collect();
    assert!(
        !kinds.contains(&"review")
            && !kinds.contains(&"comment")
            && !kinds.contains(&"review_like"),
        "{kinds:?}"
    );

    app.get("/api/v1/me/feed", None)
        .await
        .assert_problem(401, "missing_token");
    app.get("/api/v1/me/feed?limit=101", Some(&tomas.access_token))
        .await
        .assert_problem(400, "invalid_limit");
    let empty = app
        .get("/api/v1/me/feed", Some(&stranger.access_token))
        .await;
    assert_eq!(empty.json, json!({"items": [], "next_cursor": null}));
    let activity = app.get("/api/v1/members/amara/activity", None).await;
    assert_eq!(activity.json["items"][0]["kind"], "watchlist");
    app.get("/api/v1/members/nobody/activity", None)
        .await
        .assert_problem(404, "not_found");
}

/// The feed reads everyone's newest activity first (a window of 4,000) and falls back to reading per
/// followee when the window does not hold a page: what followed members did long ago still shows.
#[actix_web::test]
async fn the_feed_reaches_past_everyone_elses_recent_activity() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    let slug = app.film("Children of Heaven", 1997).await;
    let shirin = app.member("shirin").await;
    let tomas = app.member("tomas").await;
    app.member("amara").await;
    app.put("/api/v1/members/shirin/follow", &tomas.access_token)
        .await
        .assert_status(204);
    let entry = app
        .log(&shirin, json!({"film": slug, "watched_on": "2026-11-20"}))
        .await;
    // 4,100 newer activities by someone tomas does not follow.
    let mut conn = app.db.connect().await;
    let inserted = diesel::sql_query(
        "INSERT INTO activities (actor_id, kind, subject_member_id)
         SELECT a.id, 'follow', s.id FROM members a, members s, generate_series(1, 4100)
         WHERE a.username = 'amara' AND s.username = 'shirin'",
    )
    .execute(&mut conn)
    .await;
    assert_eq!(inserted.ok(), Some(4100));

    let feed = app.get("/api/v1/me/feed", Some(&tomas.access_token)).await;
    feed.assert_status(200);
    let items = feed.json["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{}", feed.text);
    assert_eq!(items[0]["log_entry"]["id"], json!(entry));
    assert_eq!(items[0]["actor"]["username"], "shirin");

    // Following amara too, a page comes from the window; the next pages continue in order.
    app.put("/api/v1/members/amara/follow", &tomas.access_token)
        .await
        .assert_status(204);
    let first = app
        .get("/api/v1/me/feed?limit=3", Some(&tomas.access_token))
        .await;
    let actors: Vec<&str> = first.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["actor"]["username"].as_str())
        .collect();
    assert_eq!(actors, ["amara", "amara", "amara"], "{}", first.text);
    let mut seen = 0;
    let mut path = "/api/v1/me/feed?limit=100".to_owned();
    let mut last = None;
    loop {
        let page = app.get(&path, Some(&tomas.access_token)).await;
        page.assert_status(200);
        let items = page.json["items"].as_array().cloned().unwrap_or_default();
        seen += items.len();
        last = items.last().cloned().or(last);
        match page.json["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/me/feed?limit=100&cursor={c}"),
            None => break,
        }
    }
    // amara's 4,100 (tomas's own follow of amara is not in his feed) and shirin's entry, oldest last.
    assert_eq!(seen, 4101);
    assert_eq!(
        last.map(|i| i["log_entry"]["id"].clone()),
        Some(json!(entry))
    );
}

#[actix_web::test]
async fn diary_and_reviews_lists() {
    let app = TestApp::spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    for date in ["2025-12-31", "2026-01-15", "2026-02-01", "2026-02-20"] {
        app.log(&ana, json!({"film": slug, "watched_on": date}))
            .await;
    }
    app.log(
        &ana,
        json!({"film": slug, "review": {"text": "No date, just thoughts."}}),
    )
    .await;
    let dates = |res: &filmlog_test_support::TestResponse| -> Vec<String> {
        res.json["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["watched_on"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(
        dates(&app.get("/api/v1/members/ana/diary", None).await),
        ["2026-02-20", "2026-02-01", "2026-01-15", "2025-12-31"]
    );
    assert_eq!(
        dates(&app.get("/api/v1/members/ana/diary?year=2026", None).await),
        ["2026-02-20", "2026-02-01", "2026-01-15"]
    );
    assert_eq!(
        dates(
            &app.get("/api/v1/members/ana/diary?year=2026&month=2", None)
                .await
        ),
        ["2026-02-20", "2026-02-01"]
    );
    assert_eq!(
        dates(
            &app.get("/api/v1/members/ana/diary?year=2025&month=12", None)
                .await
        ),
        ["2025-12-31"]
    );
    let page = app.get("/api/v1/members/ana/diary?limit=3", None).await;
    let c = page.json["next_cursor"].as_str().unwrap_or_default();
    assert_eq!(
        dates(
            &app.get(
                &format!("/api/v1/members/ana/diary?limit=3&cursor={c}"),
                None
            )
            .await
        ),
        ["2025-12-31"]
    );
    for bad in [
        "month=2",
        "year=2026&month=13",
        "year=99999",
        "year=abc",
        "day=1",
    ] {
        app.get(&format!("/api/v1/members/ana/diary?{bad}"), None)
            .await
            .assert_problem(400, "invalid_query_parameter");
    }
    app.get("/api/v1/members/nobody/diary", None)
        .await
        .assert_problem(404, "not_found");
    let reviews = app.get("/api/v1/members/ana/reviews", None).await;
    assert_eq!(reviews.json["items"].as_array().map(Vec::len), Some(1));
    app.get("/api/v1/members/nobody/reviews", None)
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn film_reviews_popular_recent_and_following() {
    let app = TestApp::spawn().await;
    let slug = app.film("Heat", 1995).await;
    let members = [
        app.member("ana").await,
        app.member("bruno").await,
        app.member("carla").await,
        app.member("dan").await,
    ];
    let mut ids = Vec::new();
    for (i, m) in members.iter().take(3).enumerate() {
        ids.push(
            app.log(
                m,
                json!({"film": slug, "review": {"text": format!("Review {i}")}}),
            )
            .await,
        );
    }
    // Review 1 gets two likes, review 2 one.
    app.put(
        &format!("/api/v1/log-entries/{}/like", ids[1]),
        &members[0].access_token,
    )
    .await;
    app.put(
        &format!("/api/v1/log-entries/{}/like", ids[1]),
        &members[3].access_token,
    )
    .await;
    app.put(
        &format!("/api/v1/log-entries/{}/like", ids[2]),
        &members[3].access_token,
    )
    .await;
    let ids_of = |res: &filmlog_test_support::TestResponse| -> Vec<String> {
        res.json["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["id"].as_str().map(str::to_owned))
            .collect()
    };
    // Scores move only when they are recomputed: until then every review scores 0 (newest first).
    let popular = app
        .get(&format!("/api/v1/films/{slug}/reviews"), None)
        .await;
    assert_eq!(
        ids_of(&popular),
        [ids[2].clone(), ids[1].clone(), ids[0].clone()]
    );
    assert!(app.recompute_popularity().await >= 2);
    assert_eq!(
        app.recompute_popularity().await,
        0,
        "a second run changes nothing"
    );
    let popular = app
        .get(&format!("/api/v1/films/{slug}/reviews"), None)
        .await;
    assert_eq!(
        ids_of(&popular),
        [ids[1].clone(), ids[2].clone(), ids[0].clone()]
    );
    for period in ["week", "month", "all_time"] {
        let res = app
            .get(
                &format!("/api/v1/films/{slug}/reviews?period={period}"),
                None,
            )
            .await;
        assert_eq!(ids_of(&res), ids_of(&popular), "{period}");
    }
    app.get(
        &format!("/api/v1/films/{slug}/reviews?sort=recent&period=week"),
        None,
    )
    .await
    .assert_problem(400, "invalid_query_parameter");
    app.get(&format!("/api/v1/films/{slug}/reviews?period=year"), None)
        .await
        .assert_status(400);
    let first = app
        .get(
            &format!("/api/v1/films/{slug}/reviews?sort=popular&limit=2"),
            None,
        )
        .await;
    let c = first.json["next_cursor"].as_str().unwrap_or_default();
    // Likes while a member scrolls do not move the ranking key under the cursor: the last review is
    // neither skipped nor repeated (it would jump to the top of a like-count ranking).
    for m in &members {
        app.put(
            &format!("/api/v1/log-entries/{}/like", ids[0]),
            &m.access_token,
        )
        .await;
    }
    assert_eq!(
        ids_of(
            &app.get(
                &format!("/api/v1/films/{slug}/reviews?sort=popular&limit=2&cursor={c}"),
                None
            )
            .await
        ),
        [ids[0].clone()]
    );
    let recent = app
        .get(&format!("/api/v1/films/{slug}/reviews?sort=recent"), None)
        .await;
    assert_eq!(
        ids_of(&recent),
        [ids[2].clone(), ids[1].clone(), ids[0].clone()]
    );
    app.put("/api/v1/members/carla/follow", &members[3].access_token)
        .await;
    let following = app
        .get(
            &format!("/api/v1/films/{slug}/reviews?sort=following"),
            Some(&members[3].access_token),
        )
        .await;
    assert_eq!(ids_of(&following), [ids[2].clone()]);
    app.get(
        &format!("/api/v1/films/{slug}/reviews?sort=following"),
        None,
    )
    .await
    .assert_problem(401, "missing_token");
    // A public list still refuses a bad token rather than silently ignoring it.
    app.get(
        &format!("/api/v1/films/{slug}/reviews"),
        Some("not-a-token"),
    )
    .await
    .assert_problem(401, "invalid_token");
    app.get(&format!("/api/v1/films/{slug}/reviews?sort=best"), None)
        .await
        .assert_problem(400, "invalid_query_parameter");
    app.get("/api/v1/films/nope-2000/reviews", None)
        .await
        .assert_problem(404, "not_found");
    // A film nobody reviewed: an empty page, not 404, for anyone.
    let quiet = app.film("Nobody Reviewed", 1999).await;
    for (sort, token) in [
        ("popular", None),
        ("recent", None),
        ("popular", Some(members[0].access_token.as_str())),
        ("following", Some(members[0].access_token.as_str())),
    ] {
        let res = app
            .get(&format!("/api/v1/films/{quiet}/reviews?sort={sort}"), token)
            .await;
        assert_eq!(res.assert_status(200)["items"], json!([]), "{sort}");
    }
    // Refusals in order: a missing film before a bad cursor; the query before the film.
    app.get("/api/v1/films/nope-2000/reviews?cursor=x", None)
        .await
        .assert_problem(404, "not_found");
    app.get(&format!("/api/v1/films/{quiet}/reviews?cursor=x"), None)
        .await
        .assert_problem(400, "invalid_cursor");
    app.get("/api/v1/films/nope-2000/reviews?limit=0", None)
        .await
        .assert_status(400);
    app.get(
        "/api/v1/films/nope-2000/reviews?sort=following&cursor=x",
        None,
    )
    .await
    .assert_problem(401, "missing_token");
    // An ended session is told so first, whatever else is wrong; and a page that has reviews, whose
    // statement checks the session itself, refuses it too (it reads none for an ended session).
    let ended = crate::visibility::ended_member(&app).await;
    for path in [
        format!("/api/v1/films/{slug}/reviews"),
        format!("/api/v1/films/{slug}/reviews?sort=recent"),
        format!("/api/v1/films/{slug}/reviews?sort=popular&limit=2&cursor={c}"),
        // An empty page: the film's look-up and the session check go together.
        format!("/api/v1/films/{quiet}/reviews"),
        "/api/v1/films/nope-2000/reviews?cursor=x".to_owned(),
        format!("/api/v1/films/{quiet}/reviews?limit=0"),
        format!("/api/v1/films/{quiet}/reviews?sort=recent&period=week"),
        // A film page whose statement found no film cannot tell: the session on its own, 401 first.
        format!("/api/v1/films/{slug}"),
        "/api/v1/films/nope-2000".to_owned(),
    ] {
        app.get(&path, Some(&ended.access_token))
            .await
            .assert_problem(401, "invalid_token");
    }
    // With a live session the missing film is a 404.
    let live = app.member("live_reader").await;
    app.get("/api/v1/films/nope-2000", Some(&live.access_token))
        .await
        .assert_status(404);
}
