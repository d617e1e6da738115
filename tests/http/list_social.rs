//! Lists in feeds (made, films added with edits collapsed, liked; hidden as the list is) and lists in
//! moderation (reports of lists and list comments; a removed list is private to its owner for good).

use diesel_async::RunQueryDsl;
use filmlog_test_support::{TestApp, TestMember, TestResponse};
use reqwest::Method;
use serde_json::{Value, json};

async fn films(app: &TestApp, n: usize) -> Vec<String> {
    let mut slugs = Vec::with_capacity(n);
    for i in 0..n {
        slugs.push(app.film(&format!("Listed film {i}"), 1990 + i as i32).await);
    }
    slugs
}

async fn follow(app: &TestApp, who: &TestMember, whom: &str) {
    app.put(&format!("/api/v1/members/{whom}/follow"), &who.access_token)
        .await
        .assert_status(204);
}

/// Creates a list of `slugs` as `who`; its id and ETag.
async fn make_list(
    app: &TestApp,
    who: &TestMember,
    name: &str,
    slugs: &[String],
) -> (String, String) {
    let entries: Vec<Value> = slugs.iter().map(|s| json!({"film": s})).collect();
    let res = app
        .post(
            "/api/v1/lists",
            Some(&who.access_token),
            &json!({"name": name, "ranked": true, "entries": entries}),
        )
        .await;
    let id = res.assert_status(201)["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (id, res.header("etag").unwrap_or_default().to_owned())
}

/// One batch under `If-Match`; the new ETag.
async fn edit(app: &TestApp, who: &TestMember, id: &str, etag: &str, ops: Value) -> String {
    let req = app
        .client
        .patch(app.url(&format!("/api/v1/lists/{id}/entries")))
        .bearer_auth(&who.access_token)
        .header("if-match", etag)
        .json(&ops);
    let res = TestApp::read(req).await;
    res.assert_status(200);
    res.header("etag").unwrap_or_default().to_owned()
}

/// The list activities of a page of activity: (kind, list id, films).
fn list_items(page: &TestResponse) -> Vec<(String, String, Option<i64>)> {
    page.assert_status(200)["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["list"].is_object())
        .map(|a| {
            (
                a["kind"].as_str().unwrap_or_default().to_owned(),
                a["list"]["id"].as_str().unwrap_or_default().to_owned(),
                a["list"]["films"].as_i64(),
            )
        })
        .collect()
}

/// An app with three members.
async fn three() -> (TestApp, TestMember, TestMember, TestMember) {
    let app = TestApp::spawn().await;
    let (ana, ben, cy) = (
        app.member("ana").await,
        app.member("ben").await,
        app.member("cy").await,
    );
    (app, ana, ben, cy)
}

async fn feed(app: &TestApp, who: &TestMember) -> Vec<(String, String, Option<i64>)> {
    list_items(&app.get("/api/v1/me/feed", Some(&who.access_token)).await)
}

/// Moves the list's activities `minutes` into the past (as if the edits were that long ago).
async fn age_activity(app: &TestApp, list: &str, minutes: i64) {
    let mut conn = app.db.connect().await;
    diesel::sql_query(format!(
        "WITH aged AS (UPDATE activities SET created_at = created_at - interval '{minutes} minutes' \
         WHERE list_id = {list} RETURNING id, created_at), \
         timelines AS (UPDATE home_timeline_entries e SET created_at = a.created_at FROM aged a \
         WHERE e.activity_id = a.id) \
         UPDATE feed_work w SET created_at = a.created_at FROM aged a WHERE w.activity_id = a.id"
    ))
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("age activity: {e}"));
}

#[actix_web::test]
async fn list_activity_reaches_feeds_with_edits_collapsed_into_one() {
    let (app, ana, ben, cy) = three().await;
    follow(&app, &ben, "ana").await;
    follow(&app, &cy, "ben").await;
    let slugs = films(&app, 8).await;

    let (list, etag) = make_list(&app, &ana, "Rainy day films", &slugs[..2]).await;
    assert_eq!(
        feed(&app, &ben).await,
        vec![("list_created".to_owned(), list.clone(), Some(2))]
    );
    // Two more batches within the window: counted into the one activity. A batch that adds
    // nothing (a move, a removal) adds no activity.
    let etag = edit(
        &app,
        &ana,
        &list,
        &etag,
        json!([{"op": "add", "film": slugs[2]}, {"op": "add", "film": slugs[3]}]),
    )
    .await;
    let etag = edit(
        &app,
        &ana,
        &list,
        &etag,
        json!([{"op": "add", "film": slugs[4], "position": 1}]),
    )
    .await;
    let etag = edit(&app, &ana, &list, &etag, json!([{"op": "move", "film": slugs[0], "position": 5}, {"op": "remove", "film": slugs[1]}])).await;
    assert_eq!(
        feed(&app, &ben).await,
        vec![("list_created".to_owned(), list.clone(), Some(5))]
    );
    // After the window, an addition is a new activity, and later ones within its window join it.
    age_activity(&app, &list, 31).await;
    let etag = edit(
        &app,
        &ana,
        &list,
        &etag,
        json!([{"op": "add", "film": slugs[5]}]),
    )
    .await;
    edit(
        &app,
        &ana,
        &list,
        &etag,
        json!([{"op": "add", "film": slugs[6]}, {"op": "add", "film": slugs[7]}]),
    )
    .await;
    assert_eq!(
        feed(&app, &ben).await,
        vec![
            ("list_films_added".to_owned(), list.clone(), Some(3)),
            ("list_created".to_owned(), list.clone(), Some(5)),
        ]
    );
    // The same on ana's own activity page, for anyone.
    assert_eq!(
        list_items(&app.get("/api/v1/members/ana/activity", None).await).len(),
        2
    );

    // A like reaches the liker's followers, naming the owner; an unlike takes it back.
    app.put(&format!("/api/v1/lists/{list}/like"), &ben.access_token)
        .await
        .assert_status(204);
    let cy_feed = app.get("/api/v1/me/feed", Some(&cy.access_token)).await;
    assert_eq!(
        list_items(&cy_feed),
        vec![("list_like".to_owned(), list.clone(), None)]
    );
    assert_eq!(cy_feed.json["items"][0]["member"], "ana");
    assert_eq!(cy_feed.json["items"][0]["list"]["name"], "Rainy day films");
    app.delete(&format!("/api/v1/lists/{list}/like"), &ben.access_token)
        .await
        .assert_status(204);
    assert!(feed(&app, &cy).await.is_empty());

    // A clone is a list made by its cloner, with the films it was made with.
    app.post(
        &format!("/api/v1/lists/{list}/clone"),
        Some(&ben.access_token),
        &json!({}),
    )
    .await
    .assert_status(201);
    let cloned = feed(&app, &cy).await;
    assert_eq!(cloned.len(), 1);
    assert_eq!(
        (cloned[0].0.as_str(), cloned[0].2),
        ("list_created", Some(7))
    );

    // A muted owner's list activity leaves the feed, and comes back with the unmute.
    app.put("/api/v1/members/ana/mute", &ben.access_token)
        .await
        .assert_status(204);
    assert!(feed(&app, &ben).await.is_empty());
    app.delete("/api/v1/members/ana/mute", &ben.access_token)
        .await
        .assert_status(204);
    assert_eq!(feed(&app, &ben).await.len(), 2);

    // Deleting the list takes its activity with it.
    app.delete(&format!("/api/v1/lists/{list}"), &ana.access_token)
        .await
        .assert_status(204);
    assert!(feed(&app, &ben).await.is_empty());
}

#[actix_web::test]
async fn list_activity_is_seen_only_by_who_may_read_the_list() {
    let (app, ana, ben, cy) = three().await;
    follow(&app, &ben, "ana").await;
    let slugs = films(&app, 2).await;
    let (list, _) = make_list(&app, &ana, "Only for followers", &slugs[..1]).await;
    let patch = |body: Value| {
        let req = app
            .client
            .patch(app.url(&format!("/api/v1/lists/{list}")))
            .bearer_auth(&ana.access_token)
            .json(&body);
        TestApp::read(req)
    };
    patch(json!({"visibility": "followers"}))
        .await
        .assert_status(200);
    // A follower sees it; a member who does not follow, and nobody signed in, do not.
    assert_eq!(feed(&app, &ben).await.len(), 1);
    let activity = "/api/v1/members/ana/activity";
    assert!(list_items(&app.get(activity, Some(&cy.access_token)).await).is_empty());
    assert!(list_items(&app.get(activity, None).await).is_empty());
    assert_eq!(
        list_items(&app.get(activity, Some(&ben.access_token)).await).len(),
        1
    );
    // Their like of it is not seen by those who cannot read it either.
    follow(&app, &cy, "ben").await;
    app.put(&format!("/api/v1/lists/{list}/like"), &ben.access_token)
        .await
        .assert_status(204);
    assert!(feed(&app, &cy).await.is_empty());
    // Private: not even followers.
    patch(json!({"visibility": "private"}))
        .await
        .assert_status(200);
    assert!(feed(&app, &ben).await.is_empty());
    assert_eq!(
        list_items(&app.get(activity, Some(&ana.access_token)).await).len(),
        1
    );
    // The flag that lets feeds skip the check agrees with every list it describes.
    let mut conn = app.db.connect().await;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let wrong: Vec<N> = diesel::sql_query(
        "SELECT count(*) AS n FROM activities a WHERE a.list_id IS NOT NULL \
         AND a.restricted IS DISTINCT FROM list_restricted(a.list_id)",
    )
    .load(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("restricted check: {e}"));
    assert_eq!(wrong.iter().map(|r| r.n).collect::<Vec<_>>(), vec![0]);
}

struct Moderated {
    app: TestApp,
    ana: TestMember,
    ben: TestMember,
    cy: TestMember,
    admin: TestMember,
    list: String,
    comment: String,
}

/// ana's public list, followed by ben, with cy's comment on it; an admin.
async fn moderated() -> Moderated {
    let (app, ana, ben, cy) = three().await;
    let admin = app.member("mod").await;
    app.make_admin("mod").await;
    follow(&app, &ben, "ana").await;
    let slugs = films(&app, 1).await;
    let (list, _) = make_list(&app, &ana, "A list with a slur in its name", &slugs).await;
    let comment = app
        .post(
            &format!("/api/v1/lists/{list}/comments"),
            Some(&cy.access_token),
            &json!({"body": "buy cheap pills"}),
        )
        .await;
    let comment = comment.assert_status(201)["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Moderated {
        app,
        ana,
        ben,
        cy,
        admin,
        list,
        comment,
    }
}

async fn report(app: &TestApp, who: &TestMember, kind: &str, id: &str) -> TestResponse {
    app.post(
        "/api/v1/reports",
        Some(&who.access_token),
        &json!({"subject_type": kind, "subject_id": id, "reason": "abuse"}),
    )
    .await
}

async fn act(m: &Moderated, action: &str, kind: &str, id: &str) -> TestResponse {
    m.app
        .post(
            "/api/v1/admin/moderation-actions",
            Some(&m.admin.access_token),
            &json!({"action": action, "subject_type": kind, "subject_id": id, "reason": "abuse"}),
        )
        .await
}

#[actix_web::test]
async fn lists_and_list_comments_are_reported_like_other_content() {
    let m = moderated().await;
    let app = &m.app;
    report(app, &m.ben, "list", &m.list)
        .await
        .assert_status(202);
    report(app, &m.ben, "list", &m.list)
        .await
        .assert_status(202);
    report(app, &m.ben, "list_comment", &m.comment)
        .await
        .assert_status(202);
    // Not your own; not what does not exist; not what you cannot see.
    report(app, &m.ana, "list", &m.list)
        .await
        .assert_problem(422, "report_own_content");
    report(app, &m.cy, "list_comment", &m.comment)
        .await
        .assert_problem(422, "report_own_content");
    report(app, &m.ben, "list", "999999")
        .await
        .assert_problem(404, "not_found");
    report(app, &m.ben, "list_comment", "999999")
        .await
        .assert_problem(404, "not_found");
    let (private, _) = make_list(app, &m.ana, "Mine alone", &[]).await;
    // cy's comment there, while it was public: once the list is private, its comments are not
    // reportable by those who cannot see the list either.
    let hidden = app
        .post(
            &format!("/api/v1/lists/{private}/comments"),
            Some(&m.cy.access_token),
            &json!({"body": "seen before it went private"}),
        )
        .await;
    let hidden = hidden.assert_status(201)["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    report(app, &m.ben, "list_comment", &hidden)
        .await
        .assert_status(202);
    let req = app
        .client
        .patch(app.url(&format!("/api/v1/lists/{private}")))
        .bearer_auth(&m.ana.access_token)
        .json(&json!({"visibility": "private"}));
    TestApp::read(req).await.assert_status(200);
    report(app, &m.ben, "list", &private)
        .await
        .assert_problem(404, "not_found");
    report(app, &m.ben, "list_comment", &hidden)
        .await
        .assert_problem(404, "not_found");
    // A block hides the list from the blocked side.
    app.put("/api/v1/members/cy/block", &m.ana.access_token)
        .await
        .assert_status(204);
    report(app, &m.cy, "list", &m.list)
        .await
        .assert_problem(404, "not_found");

    // The queue shows both, with their owners and text.
    let queue = app
        .get("/api/v1/admin/reports", Some(&m.admin.access_token))
        .await;
    let items = queue.assert_status(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let find = |kind: &str| {
        items
            .iter()
            .find(|i| i["subject_type"] == kind)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(find("list")["owner"], "ana");
    assert_eq!(find("list")["excerpt"], "A list with a slur in its name");
    assert_eq!(find("list")["reporters"], 1);
    assert_eq!(find("list_comment")["owner"], "cy");
    assert_eq!(find("list_comment")["excerpt"], "buy cheap pills");
    // Nothing to mark as spoilers in a list; a list is not suspended.
    act(&m, "mark_spoilers", "list", &m.list)
        .await
        .assert_problem(422, "action_not_applicable");
    act(&m, "suspend", "list", &m.list)
        .await
        .assert_problem(422, "validation_failed");
    act(&m, "dismiss", "list_comment", &m.comment)
        .await
        .assert_status(200);
    act(&m, "remove", "list_comment", &m.comment)
        .await
        .assert_problem(409, "no_open_reports");
}

#[actix_web::test]
async fn a_removed_list_is_private_to_its_owner_for_good_and_a_removed_comment_a_tombstone() {
    let m = moderated().await;
    let app = &m.app;
    let path = format!("/api/v1/lists/{}", m.list);
    assert_eq!(feed(app, &m.ben).await.len(), 1);
    report(app, &m.ben, "list", &m.list)
        .await
        .assert_status(202);
    report(app, &m.ben, "list_comment", &m.comment)
        .await
        .assert_status(202);
    assert_eq!(
        act(&m, "remove", "list", &m.list).await.assert_status(200)["reports_resolved"],
        1
    );
    act(&m, "remove", "list", &m.list)
        .await
        .assert_problem(409, "no_open_reports");
    act(&m, "remove", "list_comment", &m.comment)
        .await
        .assert_status(200);

    // Gone for everyone else: the list, its feed activity, its place in the owner's lists.
    app.get(&path, Some(&m.ben.access_token))
        .await
        .assert_problem(404, "not_found");
    app.get(&path, None).await.assert_problem(404, "not_found");
    assert!(feed(app, &m.ben).await.is_empty());
    let lists = app.get("/api/v1/members/ana/lists", None).await;
    assert_eq!(
        lists.assert_status(200)["items"].as_array().map(Vec::len),
        Some(0)
    );
    // Its owner still has it, marked, private, and cannot open it again or copy it.
    let own = app.get(&path, Some(&m.ana.access_token)).await;
    assert_eq!(own.assert_status(200)["removed"], true);
    assert_eq!(own.json["visibility"], "private");
    let etag = own.header("etag").unwrap_or_default().to_owned();
    for visibility in ["public", "followers"] {
        let req = app
            .client
            .patch(app.url(&path))
            .bearer_auth(&m.ana.access_token)
            .header("if-match", &etag)
            .json(&json!({"visibility": visibility}));
        TestApp::read(req).await.assert_problem(409, "list_removed");
    }
    app.post(
        &format!("{path}/clone"),
        Some(&m.ana.access_token),
        &json!({}),
    )
    .await
    .assert_problem(409, "list_removed");
    // Everything else about it stays the owner's: renaming, deleting.
    let req = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&m.ana.access_token)
        .header("if-match", &etag)
        .json(&json!({"name": "Renamed", "visibility": "private"}));
    assert_eq!(
        TestApp::read(req).await.assert_status(200)["name"],
        "Renamed"
    );
    // The comment is a tombstone in the thread its owner still reads.
    let thread = app
        .get(&format!("{path}/comments"), Some(&m.ana.access_token))
        .await;
    assert_eq!(
        thread.assert_status(200)["items"],
        json!([{"id": m.comment, "hidden": "removed"}])
    );
    assert!(app.drift().await.is_empty());
    app.send(Method::DELETE, &path, Some(&m.ana.access_token), None)
        .await
        .assert_status(204);
}
