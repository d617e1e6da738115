//! Notifications: who is told what (likes, follows, requests, comments, replies, mentions), grouped
//! reads, withdrawal, read marks, preferences, blocks, mutes and privacy, and real concurrency.

use filmlog_test_support::{TestApp, TestMember};
use serde_json::{Value, json};

async fn review(app: &TestApp, who: &TestMember, text: &str) -> String {
    let film = app.film(&format!("Film for {text}"), 2001).await;
    app.log(who, json!({"film": film, "review": {"text": text}}))
        .await
}

async fn items(app: &TestApp, who: &TestMember) -> Vec<Value> {
    app.get("/api/v1/me/notifications", Some(&who.access_token))
        .await
        .assert_status(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn unread(app: &TestApp, who: &TestMember) -> i64 {
    app.get(
        "/api/v1/me/notifications/unread-count",
        Some(&who.access_token),
    )
    .await
    .assert_status(200)["unread"]
        .as_i64()
        .unwrap_or(-1)
}

fn kinds(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn comment(app: &TestApp, who: &TestMember, entry: &str, body: &str) -> String {
    let res = app
        .post(
            &format!("/api/v1/log-entries/{entry}/comments"),
            Some(&who.access_token),
            &json!({"body": body}),
        )
        .await;
    res.assert_status(201)["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Turns the notifications of `kind` on or off for `who`.
async fn notify_of(app: &TestApp, who: &TestMember, kind: &str, on: bool) {
    let res = app
        .send(
            reqwest::Method::PATCH,
            "/api/v1/me",
            Some(&who.access_token),
            Some(&json!({"notifications": {kind: on}})),
        )
        .await;
    assert_eq!(res.assert_status(200)["notifications"][kind], on);
}

async fn mark_read(app: &TestApp, who: &TestMember, up_to: &str) {
    app.post(
        "/api/v1/me/notifications/read",
        Some(&who.access_token),
        &json!({"up_to": up_to}),
    )
    .await
    .assert_status(204);
}

#[actix_web::test]
async fn likes_group_on_their_review_and_an_unlike_withdraws_while_unread() {
    let app = TestApp::spawn().await;
    let (ana, ben, cy) = (
        app.member("ana").await,
        app.member("ben").await,
        app.member("cy").await,
    );
    let entry = review(&app, &ana, "A quiet film").await;
    assert!(items(&app, &ana).await.is_empty());
    for who in [&ben, &cy] {
        app.put(
            &format!("/api/v1/log-entries/{entry}/like"),
            &who.access_token,
        )
        .await
        .assert_status(204);
    }
    // Liking again tells no one twice.
    app.put(
        &format!("/api/v1/log-entries/{entry}/like"),
        &ben.access_token,
    )
    .await
    .assert_status(204);
    let got = items(&app, &ana).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["kind"], "review_like");
    assert_eq!(got[0]["actor_count"], 2);
    assert_eq!(got[0]["actors"], json!(["cy", "ben"]));
    assert_eq!(got[0]["subject"]["type"], "log_entry");
    assert_eq!(got[0]["subject"]["id"], entry.as_str());
    assert_eq!(got[0]["subject"]["title"], "Film for A quiet film");
    assert_eq!(got[0]["read"], false);
    assert_eq!(unread(&app, &ana).await, 1);
    // The likers were told nothing.
    assert!(items(&app, &ben).await.is_empty());

    app.delete(
        &format!("/api/v1/log-entries/{entry}/like"),
        &cy.access_token,
    )
    .await
    .assert_status(204);
    let got = items(&app, &ana).await;
    assert_eq!(got[0]["actor_count"], 1);
    assert_eq!(got[0]["actors"], json!(["ben"]));

    // Read, then a new like is news again; unliking after the read keeps the read one.
    let latest = got[0]["latest_at"].as_str().unwrap_or_default().to_owned();
    mark_read(&app, &ana, &latest).await;
    assert_eq!(unread(&app, &ana).await, 0);
    app.put(
        &format!("/api/v1/log-entries/{entry}/like"),
        &cy.access_token,
    )
    .await
    .assert_status(204);
    let got = items(&app, &ana).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        (got[0]["read"].clone(), got[0]["actors"].clone()),
        (json!(false), json!(["cy"]))
    );
    assert_eq!(
        (got[1]["read"].clone(), got[1]["actors"].clone()),
        (json!(true), json!(["ben"]))
    );
    app.delete(
        &format!("/api/v1/log-entries/{entry}/like"),
        &ben.access_token,
    )
    .await
    .assert_status(204);
    assert_eq!(items(&app, &ana).await.len(), 2);
    assert_eq!(unread(&app, &ana).await, 1);

    // A read mark in the future counts as now: what comes later is still news.
    mark_read(&app, &ana, "2099-01-01T00:00:00Z").await;
    assert_eq!(unread(&app, &ana).await, 0);
    let dee = app.member("dee").await;
    app.put(
        &format!("/api/v1/log-entries/{entry}/like"),
        &dee.access_token,
    )
    .await
    .assert_status(204);
    assert_eq!(unread(&app, &ana).await, 1);

    // Deleting the review takes its notifications with it.
    app.delete(&format!("/api/v1/log-entries/{entry}"), &ana.access_token)
        .await
        .assert_status(204);
    assert!(items(&app, &ana).await.is_empty());
}

#[actix_web::test]
async fn follows_requests_and_approvals_tell_the_right_member() {
    let app = TestApp::spawn().await;
    let (ana, ben, cy) = (
        app.member("ana").await,
        app.member("ben").await,
        app.member("cy").await,
    );
    app.put("/api/v1/members/ana/follow", &ben.access_token)
        .await
        .assert_status(204);
    assert_eq!(kinds(&items(&app, &ana).await), ["follow"]);
    // An unfollow while unread withdraws it.
    app.delete("/api/v1/members/ana/follow", &ben.access_token)
        .await
        .assert_status(204);
    assert!(items(&app, &ana).await.is_empty());

    // A private account is asked; approving tells the requester, not the approver.
    app.send(
        reqwest::Method::PATCH,
        "/api/v1/me",
        Some(&cy.access_token),
        Some(&json!({"private_account": true})),
    )
    .await
    .assert_status(200);
    app.put("/api/v1/members/cy/follow", &ana.access_token)
        .await
        .assert_status(202);
    assert_eq!(kinds(&items(&app, &cy).await), ["follow_request"]);
    app.post(
        "/api/v1/me/follow-requests/ana/approve",
        Some(&cy.access_token),
        &json!({}),
    )
    .await
    .assert_status(204);
    assert_eq!(kinds(&items(&app, &ana).await), ["follow_approved"]);
    assert_eq!(kinds(&items(&app, &cy).await), ["follow_request"]);
    // A withdrawn request is withdrawn from the notifications too.
    app.put("/api/v1/members/cy/follow", &ben.access_token)
        .await
        .assert_status(202);
    let got = items(&app, &cy).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["actor_count"], 2);
    app.delete("/api/v1/members/cy/follow", &ben.access_token)
        .await
        .assert_status(204);
    assert_eq!(items(&app, &cy).await[0]["actor_count"], 1);
}

#[actix_web::test]
async fn comments_tell_the_owner_repliers_tell_the_thread_and_mentions_the_named() {
    let app = TestApp::spawn().await;
    let (ana, ben, cy, dee) = (
        app.member("ana").await,
        app.member("ben").await,
        app.member("cy").await,
        app.member("dee").await,
    );
    let entry = review(&app, &ana, "Long takes").await;
    // Commenting on one's own review tells no one.
    comment(&app, &ana, &entry, "My own note").await;
    assert!(items(&app, &ana).await.is_empty());

    let first = comment(&app, &ben, &entry, "Loved it").await;
    let got = items(&app, &ana).await;
    assert_eq!(kinds(&got), ["review_comment"]);
    assert_eq!(got[0]["comment_id"], first.as_str());

    // cy replies and mentions dee: ben (taking part) hears `reply`, dee `mention`, ana `review_comment`.
    comment(&app, &cy, &entry, "Agreed, @Dee should see this").await;
    assert_eq!(kinds(&items(&app, &ben).await), ["reply"]);
    assert_eq!(kinds(&items(&app, &dee).await), ["mention"]);
    let got = items(&app, &ana).await;
    assert_eq!(got[0]["actor_count"], 2);

    // ben unsubscribes: no more replies; a mention by name still reaches him.
    app.delete(
        &format!("/api/v1/log-entries/{entry}/subscription"),
        &ben.access_token,
    )
    .await
    .assert_status(204);
    comment(&app, &dee, &entry, "Thanks!").await;
    assert_eq!(items(&app, &ben).await[0]["actor_count"], 1);
    comment(&app, &ben, &entry, "Still here").await;
    comment(&app, &dee, &entry, "again").await;
    assert_eq!(items(&app, &ben).await[0]["actor_count"], 1);
    comment(&app, &dee, &entry, "@ben what do you think?").await;
    assert_eq!(kinds(&items(&app, &ben).await), ["mention", "reply"]);

    // dee subscribes explicitly to a thread she never wrote in, and hears the next comment.
    let other = review(&app, &ana, "Other").await;
    app.put(
        &format!("/api/v1/log-entries/{other}/subscription"),
        &dee.access_token,
    )
    .await
    .assert_status(204);
    let before = items(&app, &dee).await.len();
    comment(&app, &cy, &other, "First!").await;
    let got = items(&app, &dee).await;
    assert_eq!(got.len(), before + 1);
    assert_eq!(got[0]["kind"], "reply");

    // A deleted comment takes its notification with it.
    let c = comment(&app, &cy, &other, "@ben gone soon").await;
    let mentions = |v: &[Value]| v.iter().filter(|i| i["kind"] == "mention").count();
    assert_eq!(mentions(&items(&app, &ben).await), 2);
    app.delete(&format!("/api/v1/comments/{c}"), &cy.access_token)
        .await
        .assert_status(204);
    assert_eq!(mentions(&items(&app, &ben).await), 1);
}

#[actix_web::test]
async fn mentions_and_replies_never_reach_those_who_may_not_read_the_review() {
    let app = TestApp::spawn().await;
    let (ana, ben, cy) = (
        app.member("ana").await,
        app.member("ben").await,
        app.member("cy").await,
    );
    app.put("/api/v1/members/ana/follow", &ben.access_token)
        .await
        .assert_status(204);
    let film = app.film("Followers only", 1999).await;
    let entry = app
        .log(
            &ana,
            json!({"film": film, "review": {"text": "Just for you, @cy and @ben"}, "visibility": "followers"}),
        )
        .await;
    // ben follows ana and may read it: told; cy may not: not told.
    assert_eq!(kinds(&items(&app, &ben).await), ["mention"]);
    assert!(items(&app, &cy).await.is_empty());
    // Editing the review again tells no one twice.
    app.send(
        reqwest::Method::PATCH,
        &format!("/api/v1/log-entries/{entry}"),
        Some(&ana.access_token),
        Some(&json!({"review": {"text": "Just for you, @ben (edited)"}})),
    )
    .await
    .assert_status(200);
    assert_eq!(items(&app, &ben).await[0]["actor_count"], 1);
    // cy cannot subscribe to what she cannot read.
    app.put(
        &format!("/api/v1/log-entries/{entry}/subscription"),
        &cy.access_token,
    )
    .await
    .assert_problem(404, "not_found");
    // ben commented, then stops following: the next comment is not told to him.
    comment(&app, &ben, &entry, "Thanks").await;
    app.delete("/api/v1/members/ana/follow", &ben.access_token)
        .await
        .assert_status(204);
    comment(&app, &ana, &entry, "@ben you there?").await;
    assert_eq!(kinds(&items(&app, &ben).await), ["mention"]);
}

#[actix_web::test]
async fn mutes_blocks_and_preferences_keep_notifications_away() {
    let app = TestApp::spawn().await;
    let (ana, ben, cy) = (
        app.member("ana").await,
        app.member("ben").await,
        app.member("cy").await,
    );
    let entry = review(&app, &ana, "Mute test").await;
    app.put("/api/v1/members/ben/mute", &ana.access_token)
        .await
        .assert_status(204);
    app.put(
        &format!("/api/v1/log-entries/{entry}/like"),
        &ben.access_token,
    )
    .await
    .assert_status(204);
    assert!(items(&app, &ana).await.is_empty());

    // A notification from someone later blocked disappears from the list.
    app.put(
        &format!("/api/v1/log-entries/{entry}/like"),
        &cy.access_token,
    )
    .await
    .assert_status(204);
    assert_eq!(unread(&app, &ana).await, 1);
    app.put("/api/v1/members/cy/block", &ana.access_token)
        .await
        .assert_status(204);
    assert!(items(&app, &ana).await.is_empty());
    assert_eq!(unread(&app, &ana).await, 0);

    // Preferences: shown on /me, and a kind turned off is not written.
    let res = app
        .send(
            reqwest::Method::PATCH,
            "/api/v1/me",
            Some(&ana.access_token),
            Some(&json!({"notifications": {"follow": false}})),
        )
        .await;
    assert_eq!(res.assert_status(200)["notifications"]["follow"], false);
    assert_eq!(res.json["notifications"]["mention"], true);
    app.delete("/api/v1/members/ben/mute", &ana.access_token)
        .await
        .assert_status(204);
    // Unmuted, ben follows: the follow's kind is off, so nothing is told (and the like made while
    // muted was never written). His comment, a kind that is on, is told.
    app.put("/api/v1/members/ana/follow", &ben.access_token)
        .await
        .assert_status(204);
    assert!(items(&app, &ana).await.is_empty());
    comment(&app, &ben, &entry, "Hello").await;
    assert_eq!(kinds(&items(&app, &ana).await), ["review_comment"]);
    // The kind turned on again, the next follow is told.
    notify_of(&app, &ana, "follow", true).await;
    let dan = app.member("dan").await;
    app.put("/api/v1/members/ana/follow", &dan.access_token)
        .await
        .assert_status(204);
    let told = items(&app, &ana).await;
    assert_eq!(kinds(&told), ["follow", "review_comment"]);
    // Only dan's follow was written: ben's, made while the kind was off, is not in the group.
    assert_eq!(told[0]["actor_count"], 1, "{told:?}");
    notify_of(&app, &ana, "follow", false).await;
    // Unknown kinds are refused and change nothing.
    app.send(
        reqwest::Method::PATCH,
        "/api/v1/me",
        Some(&ana.access_token),
        Some(&json!({"notifications": {"poke": false}})),
    )
    .await
    .assert_problem(422, "validation_failed");
    let me = app.get("/api/v1/me", Some(&ana.access_token)).await;
    assert_eq!(me.assert_status(200)["notifications"]["follow"], false);
}

#[actix_web::test]
async fn every_notification_route_refuses_strangers_and_bad_input() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    for path in [
        "/api/v1/me/notifications",
        "/api/v1/me/notifications/unread-count",
        "/api/v1/me/last-activities",
    ] {
        app.get(path, None)
            .await
            .assert_problem(401, "missing_token");
    }
    app.post(
        "/api/v1/me/notifications/read",
        None,
        &json!({"up_to": "2026-01-01T00:00:00Z"}),
    )
    .await
    .assert_problem(401, "missing_token");
    app.post(
        "/api/v1/me/notifications/read",
        Some(&ana.access_token),
        &json!({"up_to": "soon"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.get(
        "/api/v1/me/notifications?cursor=nope",
        Some(&ana.access_token),
    )
    .await
    .assert_problem(400, "invalid_cursor");
    for path in [
        "/api/v1/log-entries/999999/subscription",
        "/api/v1/lists/999999/subscription",
    ] {
        app.put(path, &ana.access_token)
            .await
            .assert_problem(404, "not_found");
    }
}

#[actix_web::test]
async fn concurrent_likes_are_one_item_with_every_liker_counted_once() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let entry = review(&app, &ana, "Crowd").await;
    let mut likers = Vec::new();
    for i in 0..16 {
        likers.push(app.member(&format!("fan{i}")).await);
    }
    let path = format!("/api/v1/log-entries/{entry}/like");
    let tasks = likers.iter().flat_map(|m| {
        // Each likes twice at once: still one notification each.
        [
            app.put(&path, &m.access_token),
            app.put(&path, &m.access_token),
        ]
    });
    for res in futures_util::future::join_all(tasks).await {
        res.assert_status(204);
    }
    let got = items(&app, &ana).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["actor_count"], 16);
    assert_eq!(got[0]["actors"].as_array().map(Vec::len), Some(3));
    let mut conn = app.db.connect().await;
    let rows: i64 = diesel_async::RunQueryDsl::get_result(
        diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT count(*) FROM notifications)",
        )),
        &mut conn,
    )
    .await
    .unwrap_or(-1);
    assert_eq!(rows, 16);
}

/// Security review L2: a mention on a list names the list only while the reader may read it: not
/// once it went private (the notification stays, nameless), and not while its owner blocks the
/// reader.
#[actix_web::test]
async fn a_list_notification_names_the_list_only_while_the_reader_may_read_it() {
    let app = TestApp::spawn().await;
    let (ana, ben) = (app.member("ana").await, app.member("ben").await);
    let list = app
        .post(
            "/api/v1/lists",
            Some(&ana.access_token),
            &json!({"name": "Secret picks", "visibility": "public"}),
        )
        .await;
    let id = list.assert_status(201)["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.post(
        &format!("/api/v1/lists/{id}/comments"),
        Some(&ana.access_token),
        &json!({"body": "What do you think, @ben?"}),
    )
    .await
    .assert_status(201);
    let title = |got: &[Value]| got[0]["subject"]["title"].clone();
    let got = items(&app, &ben).await;
    assert_eq!(kinds(&got), ["mention"]);
    assert_eq!(title(&got), "Secret picks");
    let set = |visibility: &'static str| {
        let app = &app;
        let path = format!("/api/v1/lists/{id}");
        let token = ana.access_token.clone();
        async move {
            app.send(
                reqwest::Method::PATCH,
                &path,
                Some(&token),
                Some(&json!({"visibility": visibility})),
            )
            .await
            .assert_status(200);
        }
    };
    set("private").await;
    let got = items(&app, &ben).await;
    assert_eq!(kinds(&got), ["mention"]);
    assert_eq!(title(&got), Value::Null, "{got:?}");
    set("public").await;
    assert_eq!(title(&items(&app, &ben).await), "Secret picks");
    app.put("/api/v1/members/ben/block", &ana.access_token)
        .await
        .assert_status(204);
    let got = items(&app, &ben).await;
    assert!(
        got.iter().all(|i| i["subject"]["title"] != "Secret picks"),
        "{got:?}"
    );
}
