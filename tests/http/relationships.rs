use filmlog_test_support::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

#[actix_web::test]
async fn watched_like_watchlist_and_rating_toggle_idempotently_and_feed_statistics() {
    let app = TestApp::spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let t = ana.access_token.as_str();
    let base = format!("/api/v1/films/{slug}");
    let me = app.get(&format!("{base}/me"), Some(t)).await;
    assert_eq!(me.assert_status(200)["watched"], false);

    for _ in 0..2 {
        assert_eq!(app.put(&format!("{base}/like"), t).await.status, 204);
        assert_eq!(app.put(&format!("{base}/watchlist"), t).await.status, 204);
    }
    let rate = app
        .send(
            Method::PUT,
            &format!("{base}/rating"),
            Some(t),
            Some(&json!({"rating": 3.5})),
        )
        .await;
    assert_eq!(rate.status, 204);
    // Rating a film marks it watched and takes it off the watchlist.
    let me = app.get(&format!("{base}/me"), Some(t)).await;
    assert_eq!(
        me.json,
        json!({"watched": true, "liked": true, "in_watchlist": false, "rating": 3.5, "log_entry_count": 0})
    );
    let stats = app.get(&format!("{base}/statistics"), None).await;
    assert_eq!(stats.json["watch_count"], 1);
    assert_eq!(stats.json["like_count"], 1);
    assert_eq!(stats.json["rating_count"], 1);
    // One rating is one member's: neither its average nor its histogram is shown (security review
    // L10) until five members rate the film.
    assert_eq!(stats.json["average_rating"], Value::Null);
    assert_eq!(stats.json["histogram"], json!([]));
    let mut raters = Vec::new();
    for n in 0..4 {
        let other = app.member(&format!("rater{n}")).await;
        app.send(
            Method::PUT,
            &format!("{base}/rating"),
            Some(&other.access_token),
            Some(&json!({"rating": 3.5})),
        )
        .await
        .assert_status(204);
        let stats = app.get(&format!("{base}/statistics"), None).await;
        let shown = n == 3;
        assert_eq!(stats.json["average_rating"] == 3.5, shown, "{}", stats.text);
        raters.push(other);
    }
    let stats = app.get(&format!("{base}/statistics"), None).await;
    assert_eq!(
        stats.json["histogram"][6],
        json!({"rating": 3.5, "count": 5})
    );
    for other in &raters {
        let gone = app
            .delete(&format!("{base}/watched"), &other.access_token)
            .await;
        assert_eq!(gone.status, 204, "{}", gone.text);
    }

    // Unwatching clears the rating (a rating implies watched).
    assert_eq!(app.delete(&format!("{base}/watched"), t).await.status, 204);
    let me = app.get(&format!("{base}/me"), Some(t)).await;
    assert_eq!(me.json["watched"], false);
    assert_eq!(me.json["rating"], serde_json::Value::Null);
    for path in ["like", "watchlist", "rating", "watched"] {
        assert_eq!(
            app.delete(&format!("{base}/{path}"), t).await.status,
            204,
            "{path}"
        );
        assert_eq!(
            app.delete(&format!("{base}/{path}"), t).await.status,
            204,
            "{path} twice"
        );
    }
    let stats = app.get(&format!("{base}/statistics"), None).await;
    assert_eq!(
        (
            stats.json["watch_count"].clone(),
            stats.json["like_count"].clone(),
            stats.json["rating_count"].clone()
        ),
        (json!(0), json!(0), json!(0))
    );
    assert!(app.drift().await.is_empty());
    // Activity was recorded and retracted with the state.
    let activity = app.get("/api/v1/members/ana/activity", None).await;
    assert_eq!(
        activity.json["items"].as_array().map(Vec::len),
        Some(0),
        "{}",
        activity.text
    );
}

#[actix_web::test]
async fn relationship_failures() {
    let app = TestApp::spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let t = Some(ana.access_token.as_str());
    for path in ["watched", "like", "watchlist"] {
        app.send(
            Method::PUT,
            &format!("/api/v1/films/{slug}/{path}"),
            None,
            None,
        )
        .await
        .assert_problem(401, "missing_token");
        app.send(
            Method::PUT,
            &format!("/api/v1/films/nope-1900/{path}"),
            t,
            None,
        )
        .await
        .assert_problem(404, "not_found");
    }
    app.get(&format!("/api/v1/films/{slug}/me"), None)
        .await
        .assert_problem(401, "missing_token");
    app.get("/api/v1/films/nope-1900/me", t)
        .await
        .assert_problem(404, "not_found");
    for bad in [
        json!({"rating": 4.7}),
        json!({"rating": 0}),
        json!({"rating": 5.5}),
        json!({"rating": -1}),
        json!({"rating": 0.25}),
    ] {
        let res = app
            .send(
                Method::PUT,
                &format!("/api/v1/films/{slug}/rating"),
                t,
                Some(&bad),
            )
            .await;
        assert_eq!(
            res.assert_problem(422, "validation_failed")["errors"][0]["code"],
            "invalid_rating",
            "{bad}"
        );
    }
    app.send(
        Method::PUT,
        &format!("/api/v1/films/{slug}/rating"),
        t,
        Some(&json!({"rating": "4"})),
    )
    .await
    .assert_problem(422, "validation_failed");
    let huge = TestApp::read(
        app.client
            .put(app.url(&format!("/api/v1/films/{slug}/rating")))
            .bearer_auth(&ana.access_token)
            .header("content-type", "application/json")
            .body(r#"{"rating": 1e400}"#),
    )
    .await;
    huge.assert_problem(400, "malformed_json");
    // Nothing was written.
    assert_eq!(
        app.get(&format!("/api/v1/films/{slug}/statistics"), None)
            .await
            .json["rating_count"],
        0
    );

    // A film with log entries cannot be unwatched.
    app.log(&ana, json!({"film": slug, "watched_on": "2026-01-02"}))
        .await;
    app.send(
        Method::DELETE,
        &format!("/api/v1/films/{slug}/watched"),
        t,
        None,
    )
    .await
    .assert_problem(409, "unable_to_remove_watch");
    assert_eq!(
        app.get(&format!("/api/v1/films/{slug}/me"), t).await.json["watched"],
        true
    );
}

#[actix_web::test]
async fn liked_films_and_watchlist_are_listed_newest_first() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let mut slugs = Vec::new();
    for (title, year) in [("One", 2001), ("Two", 2002), ("Three", 2003)] {
        let slug = app.film(title, year).await;
        app.put(
            &format!("/api/v1/films/{slug}/watchlist"),
            &ana.access_token,
        )
        .await;
        app.put(&format!("/api/v1/films/{slug}/like"), &ana.access_token)
            .await;
        slugs.push(slug);
    }
    let list = app.get("/api/v1/members/ana/watchlist?limit=2", None).await;
    let first: Vec<&str> = list.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["film"]["slug"].as_str())
        .collect();
    assert_eq!(first, ["three-2003", "two-2002"]);
    let next = list.json["next_cursor"].as_str().unwrap_or_default();
    let rest = app
        .get(
            &format!("/api/v1/members/ana/watchlist?limit=2&cursor={next}"),
            None,
        )
        .await;
    assert_eq!(rest.json["items"][0]["film"]["slug"], "one-2001");
    assert!(rest.json["next_cursor"].is_null());
    let likes = app.get("/api/v1/members/ANA/likes/films", None).await;
    assert_eq!(likes.json["items"].as_array().map(Vec::len), Some(3));
    // Logging a film takes it off the watchlist.
    app.log(
        &ana,
        json!({"film": "two-2002", "watched_on": "2026-01-02"}),
    )
    .await;
    let after = app.get("/api/v1/members/ana/watchlist", None).await;
    assert_eq!(after.json["items"].as_array().map(Vec::len), Some(2));
    app.get("/api/v1/members/nobody/watchlist", None)
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/members/ana/likes/films?limit=500", None)
        .await
        .assert_problem(400, "invalid_limit");
}
