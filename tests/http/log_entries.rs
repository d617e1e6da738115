use filmlog_test_support::TestApp;
use reqwest::Method;
use serde_json::json;

#[actix_web::test]
async fn logging_a_film_with_rating_and_review() {
    let app = TestApp::spawn().await;
    let slug = app.film("Children of Heaven", 1997).await;
    let ana = app.member("ana").await;
    let t = Some(ana.access_token.as_str());
    app.put(
        &format!("/api/v1/films/{slug}/watchlist"),
        &ana.access_token,
    )
    .await;
    let body = json!({
        "film": slug, "watched_on": "2026-11-20", "rewatch": true, "rating": 4.5, "liked": true,
        "review": {"text": "Two children, one pair of shoes.\nA race.", "contains_spoilers": true},
        "tags": ["Iranian Cinema", "siblings", "siblings"]
    });
    let res = app.post("/api/v1/log-entries", t, &body).await;
    let entry = res.assert_status(201).clone();
    let id = entry["id"].as_str().unwrap_or_default();
    assert_eq!(
        res.header("location").map(str::to_owned),
        Some(format!("/api/v1/log-entries/{id}"))
    );
    assert_eq!(entry["rating"], 4.5);
    assert_eq!(entry["review"]["contains_spoilers"], true);
    assert_eq!(entry["tags"], json!(["iranian cinema", "siblings"]));
    assert_eq!(entry["member"]["username"], "ana");
    assert_eq!(entry["film"]["slug"], slug);
    assert_eq!(
        (entry["like_count"].clone(), entry["comment_count"].clone()),
        (json!(0), json!(0))
    );

    let me = app.get(&format!("/api/v1/films/{slug}/me"), t).await;
    assert_eq!(
        me.json,
        json!({"watched": true, "liked": true, "in_watchlist": false, "rating": 4.5, "log_entry_count": 1})
    );
    let stats = app
        .get(&format!("/api/v1/films/{slug}/statistics"), None)
        .await;
    assert_eq!(
        (
            stats.json["review_count"].clone(),
            stats.json["rating_count"].clone()
        ),
        (json!(1), json!(1))
    );
    let fetched = app.get(&format!("/api/v1/log-entries/{id}"), None).await;
    assert_eq!(
        fetched.assert_status(200)["review"]["text"],
        "Two children, one pair of shoes.\nA race."
    );
    // A diary entry without a review, and a review without a date.
    app.log(&ana, json!({"film": slug, "watched_on": "2026-11-21"}))
        .await;
    app.log(
        &ana,
        json!({"film": slug, "review": {"text": "Still thinking about it."}}),
    )
    .await;
    assert!(app.drift().await.is_empty());
}

#[actix_web::test]
async fn bad_log_entries_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let t = Some(ana.access_token.as_str());
    let future = (chrono::Utc::now() + chrono::Duration::days(3))
        .date_naive()
        .to_string();
    let cases = [
        (
            json!({"film": "no-such-film-2000", "watched_on": "2026-01-01"}),
            "unknown_film",
        ),
        (
            json!({"film": "no-such-film-2000", "watched_on": "2026-01-01", "liked": true}),
            "unknown_film",
        ),
        (
            json!({"film": "NOT A SLUG", "watched_on": "2026-01-01"}),
            "unknown_film",
        ),
        (
            json!({"film": slug, "watched_on": "2026-01-01", "rating": 4.7}),
            "invalid_rating",
        ),
        (
            json!({"film": slug, "watched_on": "2026-01-01", "rating": 0}),
            "invalid_rating",
        ),
        (
            json!({"film": slug, "watched_on": future}),
            "invalid_watched_on",
        ),
        (
            json!({"film": slug, "review": {"text": "x".repeat(100_001)}}),
            "invalid_review",
        ),
        (
            json!({"film": slug, "review": {"text": "nul\u{0}"}}),
            "invalid_review",
        ),
        (
            json!({"film": slug, "watched_on": "2026-01-01", "tags": ["ok", "#hashtag"]}),
            "invalid_tag",
        ),
        (
            json!({"film": slug, "watched_on": "2026-01-01", "tags": (0..21).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
            "invalid_tag",
        ),
    ];
    for (body, code) in cases {
        let res = app.post("/api/v1/log-entries", t, &body).await;
        assert_eq!(
            res.assert_problem(422, "validation_failed")["errors"][0]["code"],
            code,
            "{}",
            res.text
        );
    }
    for body in [
        json!({"film": slug}),
        json!({"film": slug, "review": {"text": "   "}}),
        json!({"film": slug, "rating": 4.0}),
    ] {
        app.post("/api/v1/log-entries", t, &body)
            .await
            .assert_problem(422, "log_entry_needs_date_or_review");
    }
    app.post(
        "/api/v1/log-entries",
        t,
        &json!({"film": slug, "watched_on": "yesterday"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        "/api/v1/log-entries",
        t,
        &json!({"film": slug, "watched_on": "2026-01-01", "mood": "happy"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        "/api/v1/log-entries",
        None,
        &json!({"film": slug, "watched_on": "2026-01-01"}),
    )
    .await
    .assert_problem(401, "missing_token");
    // 100,000 characters is the limit, not over it.
    let long = json!({"film": slug, "review": {"text": "é".repeat(100_000)}});
    app.post("/api/v1/log-entries", t, &long)
        .await
        .assert_status(201);

    let me = app.get(&format!("/api/v1/films/{slug}/me"), t).await;
    assert_eq!(
        me.json["log_entry_count"], 1,
        "only the valid entry was written"
    );
    assert_eq!(
        app.get(&format!("/api/v1/films/{slug}/statistics"), None)
            .await
            .json["rating_count"],
        0
    );
}

#[actix_web::test]
async fn only_the_owner_changes_or_deletes_an_entry() {
    let app = TestApp::spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let bruno = app.member("bruno").await;
    let id = app
        .log(
            &ana,
            json!({"film": slug, "watched_on": "2026-01-01", "rating": 3.0}),
        )
        .await;
    let path = format!("/api/v1/log-entries/{id}");
    let patch = json!({"rating": 4.0, "review": {"text": "Better the second time."}});
    app.send(
        Method::PATCH,
        &path,
        Some(&bruno.access_token),
        Some(&patch),
    )
    .await
    .assert_problem(404, "not_found");
    app.send(Method::DELETE, &path, Some(&bruno.access_token), None)
        .await
        .assert_problem(404, "not_found");
    app.send(Method::PATCH, &path, None, Some(&patch))
        .await
        .assert_problem(401, "missing_token");
    app.send(
        Method::PATCH,
        "/api/v1/log-entries/999999",
        Some(&ana.access_token),
        Some(&patch),
    )
    .await
    .assert_problem(404, "not_found");
    app.send(
        Method::PATCH,
        "/api/v1/log-entries/abc",
        Some(&ana.access_token),
        Some(&patch),
    )
    .await
    .assert_problem(404, "not_found");
    app.get("/api/v1/log-entries/-1", None)
        .await
        .assert_problem(404, "not_found");

    let res = app
        .send(Method::PATCH, &path, Some(&ana.access_token), Some(&patch))
        .await;
    assert_eq!(res.assert_status(200)["rating"], 4.0);
    assert_eq!(res.json["review"]["text"], "Better the second time.");
    assert_eq!(
        app.get("/api/v1/films/heat-1995/me", Some(&ana.access_token))
            .await
            .json["rating"],
        4.0
    );
    // Removing both date and review would leave nothing to log.
    let empty = json!({"watched_on": null, "review": null});
    app.send(Method::PATCH, &path, Some(&ana.access_token), Some(&empty))
        .await
        .assert_problem(422, "log_entry_needs_date_or_review");
    app.send(
        Method::PATCH,
        &path,
        Some(&ana.access_token),
        Some(&json!({"rating": 4.7})),
    )
    .await
    .assert_problem(422, "validation_failed");

    // If-Match guards against lost updates (the ETag of the representation the owner reads).
    let current = app.get(&path, Some(&ana.access_token)).await;
    let etag = current.header("etag").unwrap_or_default().to_owned();
    let stale = TestApp::read(
        app.client
            .patch(app.url(&path))
            .bearer_auth(&ana.access_token)
            .header("if-match", "\"stale\"")
            .json(&json!({"rewatch": true})),
    )
    .await;
    stale.assert_problem(412, "precondition_failed");
    let fresh = TestApp::read(
        app.client
            .patch(app.url(&path))
            .bearer_auth(&ana.access_token)
            .header("if-match", &etag)
            .json(&json!({"rewatch": true})),
    )
    .await;
    assert_eq!(fresh.assert_status(200)["rewatch"], true);
    let stale_delete = TestApp::read(
        app.client
            .delete(app.url(&path))
            .bearer_auth(&ana.access_token)
            .header("if-match", &etag),
    )
    .await;
    stale_delete.assert_problem(412, "precondition_failed");

    assert_eq!(
        app.send(Method::DELETE, &path, Some(&ana.access_token), None)
            .await
            .status,
        204
    );
    app.get(&path, None).await.assert_problem(404, "not_found");
    assert_eq!(
        app.get("/api/v1/films/heat-1995/statistics", None)
            .await
            .json["review_count"],
        0
    );
    assert!(app.drift().await.is_empty());
}

#[actix_web::test]
async fn review_likes_are_idempotent_and_follow_the_rules() {
    let app = TestApp::spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let bruno = app.member("bruno").await;
    let review = app
        .log(&ana, json!({"film": slug, "review": {"text": "Great."}}))
        .await;
    let diary = app
        .log(&ana, json!({"film": slug, "watched_on": "2026-01-01"}))
        .await;
    let like = format!("/api/v1/log-entries/{review}/like");
    for _ in 0..2 {
        assert_eq!(app.put(&like, &bruno.access_token).await.status, 204);
    }
    assert_eq!(
        app.get(&format!("/api/v1/log-entries/{review}"), None)
            .await
            .json["like_count"],
        1
    );
    app.put(&like, &ana.access_token)
        .await
        .assert_problem(422, "like_own_review");
    app.put(
        &format!("/api/v1/log-entries/{diary}/like"),
        &bruno.access_token,
    )
    .await
    .assert_problem(422, "not_a_review");
    app.put("/api/v1/log-entries/424242/like", &bruno.access_token)
        .await
        .assert_problem(404, "not_found");
    app.send(Method::PUT, &like, None, None)
        .await
        .assert_problem(401, "missing_token");
    let likers = app
        .get(&format!("/api/v1/log-entries/{review}/likes"), None)
        .await;
    assert_eq!(likers.json["items"][0]["member"]["username"], "bruno");
    app.get("/api/v1/log-entries/424242/likes", None)
        .await
        .assert_problem(404, "not_found");
    app.get(
        &format!("/api/v1/log-entries/{review}/likes?cursor=not-a-cursor"),
        None,
    )
    .await
    .assert_problem(400, "invalid_cursor");
    app.get(&format!("/api/v1/log-entries/{review}/likes?limit=0"), None)
        .await
        .assert_problem(400, "invalid_limit");
    for _ in 0..2 {
        assert_eq!(app.delete(&like, &bruno.access_token).await.status, 204);
    }
    assert_eq!(
        app.get(&format!("/api/v1/log-entries/{review}"), None)
            .await
            .json["like_count"],
        0
    );
    app.delete("/api/v1/log-entries/424242/like", &bruno.access_token)
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn comments_by_author_and_review_owner() {
    let app = TestApp::spawn().await;
    let slug = app.film("Heat", 1995).await;
    let ana = app.member("ana").await;
    let bruno = app.member("bruno").await;
    let carla = app.member("carla").await;
    let entry = app
        .log(&ana, json!({"film": slug, "review": {"text": "Great."}}))
        .await;
    let thread = format!("/api/v1/log-entries/{entry}/comments");
    let first = app
        .post(
            &thread,
            Some(&bruno.access_token),
            &json!({"body": "Agreed!"}),
        )
        .await;
    let c1 = first.assert_status(201)["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        first.header("location").map(str::to_owned),
        Some(format!("/api/v1/comments/{c1}"))
    );
    let c2 = app
        .post(
            &thread,
            Some(&carla.access_token),
            &json!({"body": "Not me."}),
        )
        .await
        .json["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let list = app.get(&thread, None).await;
    let bodies: Vec<&str> = list.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["body"].as_str())
        .collect();
    assert_eq!(bodies, ["Agreed!", "Not me."]);
    app.get("/api/v1/log-entries/424242/comments", None)
        .await
        .assert_problem(404, "not_found");
    app.get(&format!("{thread}?cursor=not-a-cursor"), None)
        .await
        .assert_problem(400, "invalid_cursor");
    app.get(&format!("{thread}?limit=101"), None)
        .await
        .assert_problem(400, "invalid_limit");
    assert_eq!(
        app.get(&format!("/api/v1/log-entries/{entry}"), None)
            .await
            .json["comment_count"],
        2
    );

    for bad in [
        json!({"body": ""}),
        json!({"body": "x".repeat(10_001)}),
        json!({"body": "a\u{0}"}),
    ] {
        app.post(&thread, Some(&bruno.access_token), &bad)
            .await
            .assert_problem(422, "validation_failed");
    }
    app.post(&thread, None, &json!({"body": "hi"}))
        .await
        .assert_problem(401, "missing_token");
    app.post(
        "/api/v1/log-entries/999999/comments",
        Some(&bruno.access_token),
        &json!({"body": "hi"}),
    )
    .await
    .assert_problem(404, "not_found");
    app.get("/api/v1/log-entries/999999/comments", None)
        .await
        .assert_problem(404, "not_found");

    // Edit: only the author.
    let c1_path = format!("/api/v1/comments/{c1}");
    app.send(
        Method::PATCH,
        &c1_path,
        Some(&ana.access_token),
        Some(&json!({"body": "edited"})),
    )
    .await
    .assert_problem(404, "not_found");
    let edited = app
        .send(
            Method::PATCH,
            &c1_path,
            Some(&bruno.access_token),
            Some(&json!({"body": "Agreed, mostly."})),
        )
        .await;
    assert_eq!(edited.assert_status(200)["body"], "Agreed, mostly.");
    app.send(
        Method::PATCH,
        "/api/v1/comments/999999",
        Some(&bruno.access_token),
        Some(&json!({"body": "x"})),
    )
    .await
    .assert_problem(404, "not_found");
    // Delete: the author or the review's owner; not a third member.
    app.delete(&c1_path, &carla.access_token)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(app.delete(&c1_path, &bruno.access_token).await.status, 204);
    assert_eq!(
        app.delete(&format!("/api/v1/comments/{c2}"), &ana.access_token)
            .await
            .status,
        204
    );
    app.delete(&c1_path, &bruno.access_token)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get(&format!("/api/v1/log-entries/{entry}"), None)
            .await
            .json["comment_count"],
        0
    );
    assert!(app.drift().await.is_empty());
}
