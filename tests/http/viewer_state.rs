//! The viewer's own state on every read that has one: films (watched, liked, watchlist, rating), log
//! entries (liked, may like, may comment) and members (following, followed by, requested, blocking,
//! muting), in the page itself; and the batch look-ups.

use filmlog_test_support::TestApp;
use serde_json::{Value, json};

fn find<'a>(page: &'a Value, slug: &str) -> &'a Value {
    page["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|i| i["slug"] == slug || i["film"]["slug"] == slug)
        })
        .unwrap_or_else(|| panic!("{slug} is not in {page}"))
}

/// The `film` of an item (or the item itself, for catalog items, which flatten it).
fn film_of(item: &Value) -> &Value {
    if item["film"].is_object() {
        &item["film"]
    } else {
        item
    }
}

#[actix_web::test]
async fn every_film_a_member_reads_carries_their_state_with_it() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let ben = app.member("ben").await;
    let liked = app.film("Taste of Cherry", 1997).await;
    let listed = app.film("The Wind Will Carry Us", 1999).await;
    let rated = app.film("Ten", 2002).await;
    app.put(&format!("/api/v1/films/{liked}/like"), &ana.access_token)
        .await;
    app.put(
        &format!("/api/v1/films/{listed}/watchlist"),
        &ana.access_token,
    )
    .await;
    let review = app
        .log(
            &ana,
            json!({"film": rated, "watched_on": "2026-11-03", "rating": 4.5, "review": {"text": "Ten rides."}}),
        )
        .await;
    app.put(
        &format!("/api/v1/films/{liked}/watchlist"),
        &ben.access_token,
    )
    .await;
    app.put("/api/v1/members/ana/follow", &ben.access_token)
        .await;

    let expect = |who: &str, slug: &str| -> Value {
        match (who, slug) {
            ("ana", s) if s == liked => {
                json!({"watched": false, "liked": true, "in_watchlist": false, "rating": null})
            }
            ("ana", s) if s == listed => {
                json!({"watched": false, "liked": false, "in_watchlist": true, "rating": null})
            }
            ("ana", _) => {
                json!({"watched": true, "liked": false, "in_watchlist": false, "rating": 4.5})
            }
            ("ben", s) if s == liked => {
                json!({"watched": false, "liked": false, "in_watchlist": true, "rating": null})
            }
            _ => json!({"watched": false, "liked": false, "in_watchlist": false, "rating": null}),
        }
    };
    // The catalog (browse and search) and the film page.
    for (who, token) in [("ana", &ana.access_token), ("ben", &ben.access_token)] {
        let catalog = app.get("/api/v1/films?sort=title", Some(token)).await;
        for slug in [&liked, &listed, &rated] {
            assert_eq!(
                film_of(find(catalog.assert_status(200), slug))["viewer"],
                expect(who, slug),
                "catalog as {who}"
            );
            let page = app.get(&format!("/api/v1/films/{slug}"), Some(token)).await;
            assert_eq!(
                page.assert_status(200)["viewer"],
                expect(who, slug),
                "film page as {who}"
            );
        }
        let search = app.get("/api/v1/films?q=ten", Some(token)).await;
        assert_eq!(
            film_of(find(search.assert_status(200), &rated))["viewer"],
            expect(who, &rated),
            "search as {who}"
        );
        // A member's lists carry the reader's state, not the member's.
        let watchlist = app.get("/api/v1/members/ana/watchlist", Some(token)).await;
        assert_eq!(
            film_of(find(watchlist.assert_status(200), &listed))["viewer"],
            expect(who, &listed)
        );
        let likes = app
            .get("/api/v1/members/ana/likes/films", Some(token))
            .await;
        assert_eq!(
            film_of(find(likes.assert_status(200), &liked))["viewer"],
            expect(who, &liked)
        );
        let diary = app.get("/api/v1/members/ana/diary", Some(token)).await;
        assert_eq!(
            film_of(find(diary.assert_status(200), &rated))["viewer"],
            expect(who, &rated)
        );
        let reviews = app
            .get(&format!("/api/v1/films/{rated}/reviews"), Some(token))
            .await;
        assert_eq!(
            reviews.assert_status(200)["items"][0]["film"]["viewer"],
            expect(who, &rated)
        );
    }
    // The feed.
    let feed = app.get("/api/v1/me/feed", Some(&ben.access_token)).await;
    let items = feed.assert_status(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!items.is_empty());
    for item in &items {
        let slug = item["film"]["slug"].as_str().unwrap_or_default();
        assert_eq!(item["film"]["viewer"], expect("ben", slug), "{item}");
    }
    // Nobody signed in: no viewer anywhere.
    for path in [
        "/api/v1/films?sort=title".to_owned(),
        format!("/api/v1/films/{rated}"),
        "/api/v1/members/ana/diary".to_owned(),
        format!("/api/v1/log-entries/{review}"),
        "/api/v1/members/ana".to_owned(),
        "/api/v1/members/ana/activity".to_owned(),
    ] {
        let res = app.get(&path, None).await;
        assert!(
            !res.assert_status(200).to_string().contains("\"viewer\""),
            "{path}: {}",
            res.text
        );
    }
}

#[actix_web::test]
async fn every_entry_says_whether_the_reader_likes_it_and_what_they_may_do() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let ben = app.member("ben").await;
    let slug = app.film("Close-Up", 1990).await;
    let review = app
        .log(&ana, json!({"film": slug, "review": {"text": "Sabzian."}}))
        .await;
    let diary_only = app
        .log(&ana, json!({"film": slug, "watched_on": "2026-11-04"}))
        .await;
    app.put(
        &format!("/api/v1/log-entries/{review}/like"),
        &ben.access_token,
    )
    .await;
    app.put("/api/v1/members/ana/follow", &ben.access_token)
        .await;
    let app = &app;
    let entry = |id: &str, token: &str| {
        let path = format!("/api/v1/log-entries/{id}");
        let token = token.to_owned();
        async move { app.get(&path, Some(&token)).await.json["viewer"].clone() }
    };
    assert_eq!(
        entry(&review, &ben.access_token).await,
        json!({"liked": true, "can_like": true, "can_comment": true})
    );
    assert_eq!(
        entry(&review, &ana.access_token).await,
        json!({"liked": false, "can_like": false, "can_comment": true}),
        "no liking your own review"
    );
    assert_eq!(
        entry(&diary_only, &ben.access_token).await,
        json!({"liked": false, "can_like": false, "can_comment": false}),
        "a diary entry without a review takes neither"
    );
    // The same in the lists and the feed.
    let reviews = app
        .get(
            &format!("/api/v1/films/{slug}/reviews"),
            Some(&ben.access_token),
        )
        .await;
    assert_eq!(reviews.json["items"][0]["viewer"]["liked"], true);
    let feed = app.get("/api/v1/me/feed", Some(&ben.access_token)).await;
    let review_item = feed.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["log_entry"]["id"] == review.as_str())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        review_item["log_entry"]["viewer"],
        json!({"liked": true, "can_like": true, "can_comment": true})
    );
    // Unliked: every read says so.
    app.delete(
        &format!("/api/v1/log-entries/{review}/like"),
        &ben.access_token,
    )
    .await;
    assert_eq!(entry(&review, &ben.access_token).await["liked"], false);
}

#[actix_web::test]
async fn a_member_page_says_how_the_reader_stands_with_them() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let ben = app.member("ben").await;
    app.put("/api/v1/members/ben/follow", &ana.access_token)
        .await;
    app.put("/api/v1/members/ben/mute", &ana.access_token).await;
    let profile = app
        .get("/api/v1/members/ben", Some(&ana.access_token))
        .await;
    assert_eq!(
        profile.assert_status(200)["viewer"],
        json!({"following": true, "followed_by": false, "follow_requested": false, "blocking": false, "muting": true})
    );
    let back = app
        .get("/api/v1/members/ana", Some(&ben.access_token))
        .await;
    assert_eq!(back.json["viewer"]["followed_by"], true);
    app.put("/api/v1/members/ana/block", &ben.access_token)
        .await;
    let blocked = app
        .get("/api/v1/members/ana", Some(&ben.access_token))
        .await;
    assert_eq!(
        blocked.assert_status(200)["viewer"],
        json!({"following": false, "followed_by": false, "follow_requested": false, "blocking": true, "muting": false})
    );
    let own = app
        .get("/api/v1/members/ana", Some(&ana.access_token))
        .await;
    assert!(own.json.get("viewer").is_none(), "{}", own.text);
    // Lists of members carry it too: cy, following dee, reads ben's followers.
    let cy = app.member("cy").await;
    let dee = app.member("dee").await;
    app.put("/api/v1/members/ben/follow", &dee.access_token)
        .await;
    app.put("/api/v1/members/dee/follow", &cy.access_token)
        .await;
    let followers = app
        .get("/api/v1/members/ben/followers", Some(&cy.access_token))
        .await;
    let item = &followers.assert_status(200)["items"][0];
    assert_eq!(item["member"]["username"], "dee");
    assert_eq!(
        item["viewer"],
        json!({"following": true, "followed_by": false, "follow_requested": false, "blocking": false, "muting": false})
    );
    let mine = app
        .get("/api/v1/members/ben/followers", Some(&dee.access_token))
        .await;
    assert!(
        mine.json["items"][0].get("viewer").is_none(),
        "not about yourself"
    );
}

#[actix_web::test]
async fn batch_look_ups_answer_in_the_order_asked_and_refuse_bad_batches() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    app.member("ben").await;
    let cy = app.member("cy").await;
    let a = app.film("Where Is the Friend's House?", 1987).await;
    let b = app.film("Life, and Nothing More...", 1992).await;
    app.put(&format!("/api/v1/films/{b}/like"), &ana.access_token)
        .await;
    let films = app
        .get(
            &format!("/api/v1/me/films?slugs={b},no-such-film,{a},{b},Bad Slug!"),
            Some(&ana.access_token),
        )
        .await;
    let body = films.assert_status(200);
    let slugs: Vec<&str> = body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["slug"].as_str())
        .collect();
    assert_eq!(slugs, [b.as_str(), a.as_str()]);
    assert_eq!(body["items"][0]["viewer"]["liked"], true);
    assert_eq!(body["items"][1]["viewer"]["liked"], false);
    assert_eq!(body["unknown"], json!(["no-such-film", "Bad Slug!"]));

    app.put("/api/v1/members/ben/follow", &ana.access_token)
        .await;
    app.put("/api/v1/members/ana/block", &cy.access_token).await;
    let people = app
        .get(
            "/api/v1/me/relationships?usernames=BEN,cy,nobody",
            Some(&ana.access_token),
        )
        .await;
    let body = people.assert_status(200);
    assert_eq!(body["items"][0]["username"], "ben");
    assert_eq!(body["items"][0]["viewer"]["following"], true);
    assert_eq!(
        body["unknown"],
        json!(["cy", "nobody"]),
        "a member who blocked you is not known to you"
    );

    let too_many: Vec<String> = (0..101).map(|i| format!("film-{i}")).collect();
    for path in [
        format!("/api/v1/me/films?slugs={}", too_many.join(",")),
        "/api/v1/me/films?slugs=".to_owned(),
        "/api/v1/me/films".to_owned(),
        "/api/v1/me/relationships?usernames=,,".to_owned(),
    ] {
        app.get(&path, Some(&ana.access_token))
            .await
            .assert_problem(400, "invalid_query_parameter");
    }
    app.get(&format!("/api/v1/me/films?slugs={a}"), None)
        .await
        .assert_problem(401, "missing_token");
}

#[actix_web::test]
async fn the_etag_of_a_read_changes_with_the_readers_state_only() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let ben = app.member("ben").await;
    let slug = app.film("Certified Copy", 2010).await;
    let path = format!("/api/v1/films/{slug}");
    let etag = |token: String| {
        let path = path.clone();
        let app = &app;
        async move {
            app.get(&path, Some(&token))
                .await
                .header("etag")
                .unwrap_or_default()
                .to_owned()
        }
    };
    let ana_before = etag(ana.access_token.clone()).await;
    let ben_before = etag(ben.access_token.clone()).await;
    assert_eq!(
        ana_before, ben_before,
        "the same state, the same representation"
    );
    app.put(&format!("{path}/watchlist"), &ana.access_token)
        .await;
    let revalidated = TestApp::read(
        app.client
            .get(app.url(&path))
            .bearer_auth(&ana.access_token)
            .header("if-none-match", &ana_before),
    )
    .await;
    assert_eq!(revalidated.status, 200, "ana's state changed");
    assert_eq!(revalidated.json["viewer"]["in_watchlist"], true);
    assert_ne!(revalidated.header("etag"), Some(ana_before.as_str()));
    let unchanged = TestApp::read(
        app.client
            .get(app.url(&path))
            .bearer_auth(&ben.access_token)
            .header("if-none-match", &ben_before),
    )
    .await;
    assert_eq!(unchanged.status, 304, "ben's did not");
}
