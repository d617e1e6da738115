//! Privacy: private accounts with follow requests, private watchlists, and a visibility on each log
//! entry. The matrix walks every read endpoint (generated from the OpenAPI document) as the owner, a
//! follower, a stranger and nobody, for a public and a private account and each entry visibility.

use filmlog_test_support::{TestApp, TestMember};
use reqwest::Method;
use serde_json::{Value, json};

use crate::visibility::every_get;

async fn patch_me(app: &TestApp, member: &TestMember, body: Value) -> Value {
    app.send(
        Method::PATCH,
        "/api/v1/me",
        Some(&member.access_token),
        Some(&body),
    )
    .await
    .assert_status(200)
    .clone()
}

/// Whether a page lists the entry: as an entry (diary, reviews) or as an activity's entry.
fn lists_entry(page: &Value, entry: &str) -> bool {
    page["items"].as_array().is_some_and(|items| {
        items.iter().any(|i| match i.get("kind") {
            Some(_) => i["log_entry"]["id"] == entry,
            None => i["id"] == entry,
        })
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Owner,
    Follower,
    Stranger,
    Anonymous,
}

/// What a read of `path` shows of the owner "owner", as the rules say it (independently of the
/// code under test): the profile header always; an entry (and its likes and comments) to its
/// audience; the rest of the owner's things to everyone unless the account is private.
fn expect_visible(path: &str, private_account: bool, audience: &str, who: Who) -> bool {
    if who == Who::Owner || path == "/api/v1/members/owner" {
        return true;
    }
    let follower = who == Who::Follower;
    if private_account && !follower {
        return false;
    }
    if path.starts_with("/api/v1/log-entries/") || path.starts_with("/api/v1/lists/") {
        return match audience {
            "public" => true,
            "followers" => follower,
            _ => false,
        };
    }
    true
}

#[actix_web::test]
async fn every_read_shows_each_visibility_to_its_audience_only() {
    let app = TestApp::spawn().await;
    let owner = app.member("owner").await;
    let follower = app.member("follower").await;
    let stranger = app.member("stranger").await;
    app.put("/api/v1/members/owner/follow", &follower.access_token)
        .await;
    // A reply and a like on each entry so its likers and thread are not empty.
    let fan = app.member("fan").await;
    let (mut checked, mut lists_checked) = (0, 0);
    for (i, audience) in ["public", "followers", "private"].into_iter().enumerate() {
        let slug = app.film(&format!("Film {i}"), 1990 + i as i32).await;
        let entry = app
            .log(
                &owner,
                json!({"film": slug, "watched_on": "2026-11-01", "visibility": audience,
                       "review": {"text": "Seen and reviewed."}}),
            )
            .await;
        app.put(
            &format!("/api/v1/films/{slug}/watchlist"),
            &owner.access_token,
        )
        .await;
        // A list of the same audience: lists follow the rule of entries.
        let list = app
            .post(
                "/api/v1/lists",
                Some(&owner.access_token),
                &json!({"name": format!("{audience} list"), "visibility": audience, "entries": [{"film": slug}]}),
            )
            .await
            .assert_status(201)["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if audience == "public" {
            app.put(
                &format!("/api/v1/log-entries/{entry}/like"),
                &fan.access_token,
            )
            .await;
        }
        for private_account in [false, true] {
            patch_me(&app, &owner, json!({"private_account": private_account})).await;
            let reads = every_get(&[
                ("{slug}", &slug),
                ("{username}", "owner"),
                ("{id}", &entry),
                ("{list_id}", &list),
                ("{person}", "no-such-person"),
            ]);
            for path in reads.iter().filter(|p| {
                p.starts_with("/api/v1/members/")
                    || p.starts_with("/api/v1/log-entries/")
                    || p.starts_with("/api/v1/lists/")
            }) {
                for (who, token) in [
                    (Who::Owner, Some(owner.access_token.as_str())),
                    (Who::Follower, Some(follower.access_token.as_str())),
                    (Who::Stranger, Some(stranger.access_token.as_str())),
                    (Who::Anonymous, None),
                ] {
                    let res = app.get(path, token).await;
                    let visible = expect_visible(path, private_account, audience, who);
                    let context = format!(
                        "GET {path} as {who:?}, {audience} entry, private account {private_account}: {}",
                        res.text
                    );
                    if visible {
                        assert_eq!(res.status, 200, "{context}");
                    } else {
                        assert_eq!(
                            (res.status, res.json["code"].as_str()),
                            (404, Some("not_found")),
                            "{context}"
                        );
                    }
                    checked += 1;
                }
            }
            // Lists of many members' things keep the entry to its audience too.
            let shows =
                |who: Who| expect_visible("/api/v1/log-entries/x", private_account, audience, who);
            for (who, token) in [
                (Who::Owner, Some(owner.access_token.as_str())),
                (Who::Follower, Some(follower.access_token.as_str())),
                (Who::Stranger, Some(stranger.access_token.as_str())),
                (Who::Anonymous, None),
            ] {
                let reviews = app
                    .get(&format!("/api/v1/films/{slug}/reviews?sort=recent"), token)
                    .await;
                let listed = lists_entry(reviews.assert_status(200), &entry);
                assert_eq!(
                    listed,
                    shows(who),
                    "film reviews as {who:?}, {audience}, private {private_account}"
                );
                for list in ["diary", "reviews", "activity"] {
                    let res = app
                        .get(&format!("/api/v1/members/owner/{list}"), token)
                        .await;
                    if res.status == 404 {
                        // The whole list is hidden (a private account): so is the entry.
                        assert!(!shows(who), "{list} as {who:?}: 404");
                        continue;
                    }
                    assert_eq!(
                        lists_entry(res.assert_status(200), &entry),
                        shows(who),
                        "{list} as {who:?}, {audience}, private {private_account}: {}",
                        res.text
                    );
                }
                // Lists of lists keep the list to its audience (the rule of entries).
                for read in [
                    format!("/api/v1/films/{slug}/lists"),
                    format!("/api/v1/lists?q={audience}%20list"),
                    "/api/v1/members/owner/lists".to_owned(),
                ] {
                    let res = app.get(&read, token).await;
                    let context =
                        format!("{read} as {who:?}, {audience} list, private {private_account}");
                    if read.starts_with("/api/v1/members/")
                        && !expect_visible(&read, private_account, audience, who)
                    {
                        // The owner's lists are hidden whole (a private account).
                        res.assert_problem(404, "not_found");
                        continue;
                    }
                    assert_eq!(
                        lists_entry(res.assert_status(200), &list),
                        shows(who),
                        "{context}: {}",
                        res.text
                    );
                    lists_checked += 1;
                }
            }
            let feed = app
                .get("/api/v1/me/feed", Some(&follower.access_token))
                .await;
            let in_feed = lists_entry(feed.assert_status(200), &entry);
            assert_eq!(
                in_feed,
                audience != "private",
                "the follower's feed, {audience}"
            );
        }
        patch_me(&app, &owner, json!({"private_account": false})).await;
        // Hidden entries still count in the film's anonymous statistics.
        let stats = app
            .get(&format!("/api/v1/films/{slug}/statistics"), None)
            .await;
        assert_eq!(stats.assert_status(200)["review_count"], 1, "{audience}");
    }
    // Every read of the owner's things (9 under the member, 3 of the entry, 4 of the list), by 4
    // readers, for 2 kinds of account and 3 audiences.
    assert_eq!(checked, 3 * 2 * 4 * 16, "reads checked");
    // The film's and the search's lists always answer; the owner's only where the account shows.
    assert_eq!(
        lists_checked,
        3 * (2 * 4 * 2 + 4 + 2),
        "lists of lists checked"
    );
    assert_eq!(misflagged_activities(&app).await, 0);
}

/// Activities whose `restricted` flag (which lets the feed skip the visibility filter) differs from
/// what their entry says now.
async fn misflagged_activities(app: &TestApp) -> i64 {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.db.connect().await;
    diesel::sql_query(
        "SELECT count(*) AS n FROM activities a \
         WHERE a.log_entry_id IS NOT NULL AND a.restricted IS DISTINCT FROM entry_restricted(a.log_entry_id)",
    )
    .get_result::<N>(&mut conn)
    .await
    .map(|r| r.n)
    .unwrap_or(-1)
}

#[actix_web::test]
async fn a_hidden_entry_takes_no_likes_or_comments_from_those_it_is_hidden_from() {
    let app = TestApp::spawn().await;
    let owner = app.member("owner").await;
    let stranger = app.member("stranger").await;
    let slug = app.film("Through the Olive Trees", 1994).await;
    let entry = app
        .log(
            &owner,
            json!({"film": slug, "visibility": "followers", "review": {"text": "Hossein waits."}}),
        )
        .await;
    app.put(
        &format!("/api/v1/log-entries/{entry}/like"),
        &stranger.access_token,
    )
    .await
    .assert_problem(404, "not_found");
    app.post(
        &format!("/api/v1/log-entries/{entry}/comments"),
        Some(&stranger.access_token),
        &json!({"body": "Hello?"}),
    )
    .await
    .assert_problem(404, "not_found");
    // Nor reports: what you cannot see, you cannot report.
    app.post(
        "/api/v1/reports",
        Some(&stranger.access_token),
        &json!({"subject_type": "review", "subject_id": entry, "reason": "spam"}),
    )
    .await
    .assert_problem(404, "not_found");
    // Made public, it takes them.
    let path = format!("/api/v1/log-entries/{entry}");
    let set_visibility = async |visibility: &str| {
        app.send(
            Method::PATCH,
            &path,
            Some(&owner.access_token),
            Some(&json!({"visibility": visibility})),
        )
        .await
        .assert_status(200);
    };
    set_visibility("public").await;
    let like = app
        .put(
            &format!("/api/v1/log-entries/{entry}/like"),
            &stranger.access_token,
        )
        .await;
    assert_eq!(like.status, 204, "{}", like.text);
    // Hidden again, it leaves the feed of a follower (the activity's flag follows the entry).
    let follower = app.member("follower").await;
    app.put("/api/v1/members/owner/follow", &follower.access_token)
        .await;
    let in_feed = |feed: &Value| lists_entry(feed, &entry);
    let feed = app
        .get("/api/v1/me/feed", Some(&follower.access_token))
        .await;
    assert!(in_feed(feed.assert_status(200)));
    set_visibility("private").await;
    let feed = app
        .get("/api/v1/me/feed", Some(&follower.access_token))
        .await;
    assert!(!in_feed(feed.assert_status(200)), "{}", feed.text);
    assert_eq!(misflagged_activities(&app).await, 0);
    set_visibility("public").await;
    // An unknown visibility changes nothing.
    let bad = app
        .send(
            Method::PATCH,
            &path,
            Some(&owner.access_token),
            Some(&json!({"visibility": "friends"})),
        )
        .await;
    bad.assert_invalid_body("/visibility");
    assert_eq!(
        app.get(&path, None).await.assert_status(200)["visibility"],
        "public"
    );
}

#[actix_web::test]
async fn new_entries_take_the_default_visibility_and_a_private_watchlist_is_the_owners() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let ben = app.member("ben").await;
    let me = patch_me(
        &app,
        &ana,
        json!({"default_visibility": "followers", "private_watchlist": true}),
    )
    .await;
    assert_eq!(me["default_visibility"], "followers");
    assert_eq!(me["private_watchlist"], true);
    let slug = app.film("The Mirror", 1997).await;
    let entry = app
        .log(&ana, json!({"film": slug, "watched_on": "2026-11-02"}))
        .await;
    let read = app
        .get(
            &format!("/api/v1/log-entries/{entry}"),
            Some(&ana.access_token),
        )
        .await;
    assert_eq!(read.assert_status(200)["visibility"], "followers");
    app.get(
        &format!("/api/v1/log-entries/{entry}"),
        Some(&ben.access_token),
    )
    .await
    .assert_problem(404, "not_found");
    app.put(
        &format!("/api/v1/films/{slug}/watchlist"),
        &ana.access_token,
    )
    .await;
    app.put("/api/v1/members/ana/follow", &ben.access_token)
        .await;
    app.get("/api/v1/members/ana/watchlist", Some(&ben.access_token))
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/members/ana/watchlist", Some(&ana.access_token))
        .await
        .assert_status(200);
    // The follower now reads the followers entry, and the diary.
    app.get(
        &format!("/api/v1/log-entries/{entry}"),
        Some(&ben.access_token),
    )
    .await
    .assert_status(200);
    let bad = app
        .send(
            Method::PATCH,
            "/api/v1/me",
            Some(&ana.access_token),
            Some(&json!({"default_visibility": "everyone", "private_watchlist": false})),
        )
        .await;
    bad.assert_invalid_body("/default_visibility");
    let me = app.get("/api/v1/me", Some(&ana.access_token)).await;
    assert_eq!(
        me.json["private_watchlist"], true,
        "a refused change changes nothing"
    );
}

#[actix_web::test]
async fn following_a_private_account_is_a_request_its_owner_answers() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let ben = app.member("ben").await;
    let cy = app.member("cy").await;
    patch_me(&app, &ana, json!({"private_account": true})).await;

    let asked = app
        .put("/api/v1/members/ana/follow", &ben.access_token)
        .await;
    assert_eq!(asked.status, 202, "{}", asked.text);
    assert_eq!(asked.json["status"], "requested");
    // Asking again changes nothing.
    assert_eq!(
        app.put("/api/v1/members/ana/follow", &ben.access_token)
            .await
            .status,
        202
    );
    let profile = app
        .get("/api/v1/members/ana", Some(&ben.access_token))
        .await;
    let profile = profile.assert_status(200);
    assert_eq!(profile["private_account"], true);
    assert_eq!(profile["follower_count"], 0);
    assert_eq!(profile["viewer"]["follow_requested"], true);
    assert_eq!(profile["viewer"]["following"], false);
    app.get("/api/v1/members/ana/diary", Some(&ben.access_token))
        .await
        .assert_problem(404, "not_found");

    app.put("/api/v1/members/ana/follow", &cy.access_token)
        .await;
    let requests = app
        .get("/api/v1/me/follow-requests", Some(&ana.access_token))
        .await;
    let names: Vec<&str> = requests.assert_status(200)["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["member"]["username"].as_str())
        .collect();
    assert_eq!(names, ["cy", "ben"]);
    // Only the owner answers, and only requests that exist.
    app.get("/api/v1/me/follow-requests", None)
        .await
        .assert_problem(401, "missing_token");
    app.post(
        "/api/v1/me/follow-requests/ana/approve",
        Some(&ben.access_token),
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    app.post(
        "/api/v1/me/follow-requests/nobody/approve",
        Some(&ana.access_token),
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");

    let approved = app
        .post(
            "/api/v1/me/follow-requests/ben/approve",
            Some(&ana.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(approved.status, 204, "{}", approved.text);
    app.post(
        "/api/v1/me/follow-requests/ben/approve",
        Some(&ana.access_token),
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    let profile = app
        .get("/api/v1/members/ana", Some(&ben.access_token))
        .await;
    assert_eq!(profile.json["follower_count"], 1);
    assert_eq!(profile.json["viewer"]["following"], true);
    assert_eq!(profile.json["viewer"]["follow_requested"], false);
    app.get("/api/v1/members/ana/diary", Some(&ben.access_token))
        .await
        .assert_status(200);

    app.post(
        "/api/v1/me/follow-requests/ben/deny",
        Some(&ana.access_token),
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    let denied = app
        .post(
            "/api/v1/me/follow-requests/cy/deny",
            Some(&ana.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(denied.status, 204);
    let requests = app
        .get("/api/v1/me/follow-requests", Some(&ana.access_token))
        .await;
    assert_eq!(requests.json["items"], json!([]));
    assert_eq!(app.drift().await, Vec::new());
}

#[actix_web::test]
async fn turning_an_account_public_approves_the_pending_requests() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let ben = app.member("ben").await;
    let cy = app.member("cy").await;
    let dee = app.member("dee").await;
    patch_me(&app, &ana, json!({"private_account": true})).await;
    for m in [&ben, &cy] {
        assert_eq!(
            app.put("/api/v1/members/ana/follow", &m.access_token)
                .await
                .status,
            202
        );
    }
    // A withdrawn request is not approved; a block takes the blocked member's request away.
    app.put("/api/v1/members/ana/follow", &dee.access_token)
        .await;
    app.delete("/api/v1/members/ana/follow", &dee.access_token)
        .await;
    app.put("/api/v1/members/cy/block", &ana.access_token).await;

    let me = patch_me(&app, &ana, json!({"private_account": false})).await;
    assert_eq!(me["private_account"], false);
    let followers = app.get("/api/v1/members/ana/followers", None).await;
    let names: Vec<&str> = followers.assert_status(200)["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["member"]["username"].as_str())
        .collect();
    assert_eq!(names, ["ben"]);
    let profile = app.get("/api/v1/members/ana", None).await;
    assert_eq!(profile.json["follower_count"], 1);
    assert_eq!(
        app.get("/api/v1/me/follow-requests", Some(&ana.access_token))
            .await
            .json["items"],
        json!([])
    );
    // Public now: a new follower follows at once.
    assert_eq!(
        app.put("/api/v1/members/ana/follow", &dee.access_token)
            .await
            .status,
        204
    );
}
