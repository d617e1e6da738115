//! Reports by members; the moderation queue, actions and append-only log for admins.

use filmlog_test_support::{TestApp, TestMember};
use serde_json::{Value, json};

struct Setup {
    app: TestApp,
    ana: TestMember,
    ben: TestMember,
    cy: TestMember,
    admin: TestMember,
    /// ana's review and ben's comment on it.
    review: String,
    comment: String,
}

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let (ana, ben, cy, admin) = (
        app.member("ana").await,
        app.member("ben").await,
        app.member("cy").await,
        app.member("mod").await,
    );
    app.make_admin("mod").await;
    let slug = app.film("Close-Up", 1990).await;
    let review = app
        .log(
            &ana,
            json!({"film": slug, "review": {"text": "He was never a director."}}),
        )
        .await;
    let comment = app
        .post(
            &format!("/api/v1/log-entries/{review}/comments"),
            Some(&ben.access_token),
            &json!({"body": "spam spam spam"}),
        )
        .await;
    let comment = comment.assert_status(201)["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Setup {
        app,
        ana,
        ben,
        cy,
        admin,
        review,
        comment,
    }
}

async fn report(
    app: &TestApp,
    who: &TestMember,
    body: Value,
) -> filmlog_test_support::TestResponse {
    app.post("/api/v1/reports", Some(&who.access_token), &body)
        .await
}

fn of(kind: &str, id: &str, reason: &str) -> Value {
    json!({"subject_type": kind, "subject_id": id, "reason": reason})
}

#[actix_web::test]
async fn reports_are_idempotent_validated_and_only_of_what_one_can_see() {
    let s = setup().await;
    let app = &s.app;
    for _ in 0..2 {
        let res = report(app, &s.ben, of("review", &s.review, "spoilers")).await;
        assert_eq!(res.assert_status(202)["status"], "open");
    }
    report(app, &s.cy, json!({"subject_type": "review", "subject_id": s.review, "reason": "spoilers", "message": "the ending"}))
        .await
        .assert_status(202);
    let queue = app
        .get("/api/v1/admin/reports", Some(&s.admin.access_token))
        .await;
    let items = queue.assert_status(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 1, "{}", queue.text);
    assert_eq!(items[0]["reporters"], 2, "a repeated report counts once");
    assert_eq!(items[0]["owner"], "ana");
    assert_eq!(items[0]["excerpt"], "He was never a director.");

    // Every field checked at once, each with its pointer; nothing is filed.
    let res = report(
        app,
        &s.ben,
        json!({"subject_type": "film", "subject_id": "x", "reason": "rude", "message": "m".repeat(2001)}),
    )
    .await;
    let problem = res.assert_problem(422, "validation_failed");
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["pointer"].as_str())
        .collect();
    assert_eq!(
        pointers,
        ["/subject_type", "/subject_id", "/reason", "/message"]
    );
    report(app, &s.ben, json!({"subject_type": "review"}))
        .await
        .assert_problem(422, "validation_failed");
    // What does not exist, or is not a review, or is hidden from the reporter, is 404.
    report(app, &s.ben, of("review", "999999", "spam"))
        .await
        .assert_problem(404, "not_found");
    report(app, &s.ben, of("member", "999999", "spam"))
        .await
        .assert_problem(404, "not_found");
    app.put("/api/v1/members/cy/block", &s.ana.access_token)
        .await
        .assert_status(204);
    report(app, &s.cy, of("review", &s.review, "abuse"))
        .await
        .assert_problem(404, "not_found");
    // Nor a comment in a thread the reporter cannot see (ben's comment under ana's review).
    report(app, &s.cy, of("comment", &s.comment, "spam"))
        .await
        .assert_problem(404, "not_found");
    // One's own content, or oneself, is not reported.
    report(app, &s.ana, of("review", &s.review, "spam"))
        .await
        .assert_problem(422, "report_own_content");
    report(app, &s.ben, of("comment", &s.comment, "spam"))
        .await
        .assert_problem(422, "report_own_content");
    report(app, &s.ana, of("member", &s.ana.id.to_string(), "spam"))
        .await
        .assert_problem(422, "report_own_content");
    app.send(
        reqwest::Method::POST,
        "/api/v1/reports",
        None,
        Some(&of("review", &s.review, "spam")),
    )
    .await
    .assert_problem(401, "missing_token");
    let queue = app
        .get("/api/v1/admin/reports", Some(&s.admin.access_token))
        .await;
    assert_eq!(
        queue.assert_status(200)["items"].as_array().map(Vec::len),
        Some(1)
    );
}

#[actix_web::test]
async fn moderators_act_once_per_open_case_never_on_their_own_reports() {
    let s = setup().await;
    let app = &s.app;
    let act = async |who: &TestMember, action: &str, kind: &str, id: &str, reason: &str| {
        app.post(
            "/api/v1/admin/moderation-actions",
            Some(&who.access_token),
            &json!({"action": action, "subject_type": kind, "subject_id": id, "reason": reason}),
        )
        .await
    };
    // Members neither read the queue nor act.
    app.get(
        "/api/v1/admin/reports?status=closed",
        Some(&s.admin.access_token),
    )
    .await
    .assert_problem(400, "invalid_query_parameter");
    for path in ["/api/v1/admin/reports", "/api/v1/admin/moderation-log"] {
        app.get(path, Some(&s.ana.access_token))
            .await
            .assert_problem(403, "admin_only");
        app.get(path, None)
            .await
            .assert_problem(401, "missing_token");
    }
    act(&s.ana, "dismiss", "review", &s.review, "no")
        .await
        .assert_problem(403, "admin_only");

    // Nothing reported yet: nothing to act on.
    act(&s.admin, "dismiss", "comment", &s.comment, "fine")
        .await
        .assert_problem(409, "no_open_reports");
    report(app, &s.ana, of("comment", &s.comment, "spam"))
        .await
        .assert_status(202);
    report(app, &s.cy, of("comment", &s.comment, "spam"))
        .await
        .assert_status(202);
    report(app, &s.ben, of("review", &s.review, "spoilers"))
        .await
        .assert_status(202);
    report(app, &s.admin, of("review", &s.review, "spoilers"))
        .await
        .assert_status(202);

    // Oldest first, grouped by subject.
    let queue = app
        .get(
            "/api/v1/admin/reports?status=open",
            Some(&s.admin.access_token),
        )
        .await;
    let items = queue.assert_status(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let order: Vec<(&str, i64)> = items
        .iter()
        .map(|i| {
            (
                i["subject_type"].as_str().unwrap_or_default(),
                i["reporters"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(order, [("comment", 2), ("review", 2)]);

    // Validation, then the rules.
    let bad = act(&s.admin, "delete", "film", "0", " ").await;
    let problem = bad.assert_problem(422, "validation_failed");
    assert_eq!(problem["errors"].as_array().map(Vec::len), Some(4));
    act(&s.admin, "dismiss", "review", "999999", "gone")
        .await
        .assert_problem(404, "not_found");
    act(&s.admin, "mark_spoilers", "review", &s.review, "the twist")
        .await
        .assert_problem(409, "own_report");
    act(&s.admin, "mark_spoilers", "comment", &s.comment, "no")
        .await
        .assert_problem(422, "action_not_applicable");
    let done = act(&s.admin, "dismiss", "comment", &s.comment, "not spam").await;
    let entry = done.assert_status(200);
    assert_eq!(
        (
            &entry["action"],
            &entry["moderator"],
            &entry["reports_resolved"]
        ),
        (&json!("dismiss"), &json!("mod"), &json!(2))
    );
    act(&s.admin, "dismiss", "comment", &s.comment, "again")
        .await
        .assert_problem(409, "no_open_reports");

    // Another admin acts on the review the first one reported.
    let other = app.member("mod2").await;
    app.make_admin("mod2").await;
    let done = act(
        &other,
        "mark_spoilers",
        "review",
        &s.review,
        "reveals the ending",
    )
    .await;
    assert_eq!(done.assert_status(200)["reports_resolved"], 2);
    let review = app
        .get(&format!("/api/v1/log-entries/{}", s.review), None)
        .await;
    assert_eq!(
        review.assert_status(200)["review"]["contains_spoilers"],
        true
    );
    report(app, &s.cy, of("review", &s.review, "spoilers"))
        .await
        .assert_status(202);
    act(&other, "mark_spoilers", "review", &s.review, "again")
        .await
        .assert_problem(409, "already_marked_spoilers");

    // The queue moves on; the log keeps every action, newest first.
    let open = app
        .get("/api/v1/admin/reports", Some(&s.admin.access_token))
        .await;
    assert_eq!(
        open.assert_status(200)["items"].as_array().map(Vec::len),
        Some(1)
    );
    let resolved = app
        .get(
            "/api/v1/admin/reports?status=resolved",
            Some(&s.admin.access_token),
        )
        .await;
    assert_eq!(
        resolved.assert_status(200)["items"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let log = app
        .get("/api/v1/admin/moderation-log", Some(&s.admin.access_token))
        .await;
    let lines: Vec<(String, String, String)> = log.assert_status(200)["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            let s = |k: &str| l[k].as_str().unwrap_or_default().to_owned();
            (s("action"), s("moderator"), s("reason"))
        })
        .collect();
    assert_eq!(
        lines,
        [
            (
                "mark_spoilers".to_owned(),
                "mod2".to_owned(),
                "reveals the ending".to_owned()
            ),
            (
                "dismiss".to_owned(),
                "mod".to_owned(),
                "not spam".to_owned()
            ),
        ]
    );
}

#[actix_web::test]
async fn the_moderation_log_is_append_only() {
    use diesel_async::RunQueryDsl;
    let s = setup().await;
    report(&s.app, &s.ana, of("comment", &s.comment, "spam"))
        .await
        .assert_status(202);
    s.app
        .post(
            "/api/v1/admin/moderation-actions",
            Some(&s.admin.access_token),
            &json!({"action": "dismiss", "subject_type": "comment", "subject_id": s.comment, "reason": "ok"}),
        )
        .await
        .assert_status(200);
    let mut conn = s.app.db.connect().await;
    for sql in [
        "UPDATE moderation_log SET reason = 'rewritten'",
        "DELETE FROM moderation_log",
        "TRUNCATE moderation_log",
    ] {
        let result = diesel::sql_query(sql).execute(&mut conn).await;
        assert!(
            result
                .as_ref()
                .is_err_and(|e| e.to_string().contains("append-only")),
            "{sql}: {result:?}"
        );
    }
}

/// A forged cursor whose time PostgreSQL cannot hold is refused, never a 500.
#[actix_web::test]
async fn cursors_with_times_out_of_range_are_refused() {
    use base64::Engine;
    let s = setup().await;
    let forged =
        |at: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("[\"{at}\",1]"));
    for at in ["-100000-01-01T00:00:00Z", "+262000-01-01T00:00:00Z"] {
        let cursor = forged(at);
        for path in [
            format!("/api/v1/members/ana/followers?cursor={cursor}"),
            format!("/api/v1/admin/moderation-log?cursor={cursor}"),
            format!("/api/v1/me/blocks?cursor={cursor}"),
            format!("/api/v1/me/feed?cursor={cursor}"),
        ] {
            let res = s.app.get(&path, Some(&s.admin.access_token)).await;
            res.assert_problem(400, "invalid_cursor");
        }
    }
}

/// A removed review or comment stays in place as a tombstone for everyone; counters stay exact and
/// nothing can bring it back or react to it.
#[actix_web::test]
async fn removal_leaves_a_tombstone_and_exact_counters() {
    let s = setup().await;
    let app = &s.app;
    let act = async |action: &str, kind: &str, id: &str| {
        app.post(
            "/api/v1/admin/moderation-actions",
            Some(&s.admin.access_token),
            &json!({"action": action, "subject_type": kind, "subject_id": id, "reason": "abuse"}),
        )
        .await
    };
    app.put(
        &format!("/api/v1/log-entries/{}/like", s.review),
        &s.cy.access_token,
    )
    .await
    .assert_status(204);
    report(app, &s.cy, of("comment", &s.comment, "abuse"))
        .await
        .assert_status(202);
    report(app, &s.cy, of("review", &s.review, "abuse"))
        .await
        .assert_status(202);
    report(app, &s.cy, of("member", &s.ben.id.to_string(), "abuse"))
        .await
        .assert_status(202);
    act("remove", "member", &s.ben.id.to_string())
        .await
        .assert_problem(422, "action_not_applicable");
    assert_eq!(
        act("remove", "comment", &s.comment)
            .await
            .assert_status(200)["reports_resolved"],
        1
    );
    assert_eq!(
        act("remove", "review", &s.review).await.assert_status(200)["reports_resolved"],
        1
    );
    report(app, &s.cy, of("comment", &s.comment, "abuse"))
        .await
        .assert_status(202);
    act("remove", "comment", &s.comment)
        .await
        .assert_problem(409, "already_removed");

    for token in [
        None,
        Some(s.cy.access_token.as_str()),
        Some(s.ana.access_token.as_str()),
    ] {
        let thread = app
            .get(&format!("/api/v1/log-entries/{}/comments", s.review), token)
            .await;
        let items = thread.assert_status(200)["items"].clone();
        assert_eq!(
            items,
            json!([{"id": s.comment, "hidden": "removed"}]),
            "{}",
            thread.text
        );
        let entry = app
            .get(&format!("/api/v1/log-entries/{}", s.review), token)
            .await;
        let entry = entry.assert_status(200);
        assert_eq!(entry["review"], json!({"removed": "moderator"}));
        assert_eq!(
            (&entry["like_count"], &entry["comment_count"]),
            (&json!(1), &json!(1))
        );
        let activity = app.get("/api/v1/members/ana/activity", token).await;
        assert!(
            !activity.text.contains("never a director"),
            "{}",
            activity.text
        );
    }
    // Nobody reacts to it, and its author cannot edit the comment back.
    app.put(
        &format!("/api/v1/log-entries/{}/like", s.review),
        &s.ben.access_token,
    )
    .await
    .assert_problem(422, "not_a_review");
    app.send(
        reqwest::Method::PATCH,
        &format!("/api/v1/comments/{}", s.comment),
        Some(&s.ben.access_token),
        Some(&json!({"body": "back again"})),
    )
    .await
    .assert_problem(404, "not_found");
    assert!(app.drift().await.is_empty());
}

/// A suspension ends the member's sessions at once, refuses their login (saying until when, to
/// whoever knows the password only) and hides their page and content while it lasts; lifting it
/// brings everything back.
#[actix_web::test]
async fn a_suspension_logs_out_refuses_login_and_hides_content_until_lifted() {
    let s = setup().await;
    let app = &s.app;
    let slug = app.film("The Wind Will Carry Us", 1999).await;
    let bens_review = app
        .log(
            &s.ben,
            json!({"film": slug, "review": {"text": "Ben's review."}}),
        )
        .await;
    let act = async |action: &str, kind: &str, id: &str, until: Option<&str>| {
        let mut body = json!({"action": action, "subject_type": kind, "subject_id": id, "reason": "harassment"});
        if let Some(until) = until {
            body["until"] = json!(until);
        }
        app.post(
            "/api/v1/admin/moderation-actions",
            Some(&s.admin.access_token),
            &body,
        )
        .await
    };
    let ben = s.ben.id.to_string();
    app.put("/api/v1/members/ben/follow", &s.cy.access_token)
        .await
        .assert_status(204);
    let feed_of_cy = async || {
        app.get("/api/v1/me/feed", Some(&s.cy.access_token))
            .await
            .text
    };
    assert!(feed_of_cy().await.contains("\"ben\""));
    // Refusals first: nothing changes.
    for (until, why) in [
        (None, "missing"),
        (Some("2001-01-01T00:00:00Z"), "past"),
        (Some("soon"), "unreadable"),
    ] {
        let res = act("suspend", "member", &ben, until).await;
        let problem = res.assert_problem(422, "validation_failed");
        assert_eq!(problem["errors"][0]["pointer"], "/until", "{why}");
    }
    act("dismiss", "member", &ben, Some("forever"))
        .await
        .assert_problem(422, "validation_failed");
    act("suspend", "review", &bens_review, Some("forever"))
        .await
        .assert_problem(422, "action_not_applicable");
    act(
        "suspend",
        "member",
        &s.admin.id.to_string(),
        Some("forever"),
    )
    .await
    .assert_problem(409, "suspend_admin");
    act("lift_suspension", "member", &ben, None)
        .await
        .assert_problem(409, "not_suspended");
    report(app, &s.admin, of("member", &ben, "harassment"))
        .await
        .assert_status(202);
    act("suspend", "member", &ben, Some("forever"))
        .await
        .assert_problem(409, "own_report");
    let other = app.member("mod2").await;
    app.make_admin("mod2").await;

    let until = (chrono::Utc::now() + chrono::Duration::days(7))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let done = app
        .post(
            "/api/v1/admin/moderation-actions",
            Some(&other.access_token),
            &json!({"action": "suspend", "subject_type": "member", "subject_id": ben, "reason": "harassment", "until": until}),
        )
        .await;
    let entry = done.assert_status(200);
    assert_eq!(
        (&entry["suspended_until"], &entry["reports_resolved"]),
        (&json!(until), &json!(1))
    );
    assert!(entry.get("for_good").is_none());

    // Logged out at once; login refused with the end date, but only with the right password.
    app.get("/api/v1/me", Some(&s.ben.access_token))
        .await
        .assert_problem(401, "invalid_token");
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": s.ben.refresh_token}),
    )
    .await
    .assert_problem(401, "invalid_refresh_token");
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": "ben", "password": s.ben.password}),
        )
        .await;
    let problem = login.assert_problem(403, "account_suspended");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&until)),
        "{problem}"
    );
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({"username": "ben", "password": "not the password at all"}),
    )
    .await
    .assert_problem(401, "invalid_credentials");

    // Hidden from everyone while it lasts: page, content, lists, threads.
    for token in [None, Some(s.cy.access_token.as_str())] {
        app.get("/api/v1/members/ben", token)
            .await
            .assert_problem(404, "not_found");
        app.get("/api/v1/members/ben/reviews", token)
            .await
            .assert_problem(404, "not_found");
        app.get(&format!("/api/v1/log-entries/{bens_review}"), token)
            .await
            .assert_problem(404, "not_found");
        let reviews = app
            .get(&format!("/api/v1/films/{slug}/reviews"), token)
            .await;
        assert_eq!(reviews.assert_status(200)["items"], json!([]));
        let thread = app
            .get(&format!("/api/v1/log-entries/{}/comments", s.review), token)
            .await;
        assert_eq!(
            thread.assert_status(200)["items"],
            json!([{"id": s.comment, "hidden": "suspended"}])
        );
    }
    // Nobody acts on a suspended member's things: they are answered as if they did not exist.
    app.put(
        &format!("/api/v1/log-entries/{bens_review}/like"),
        &s.cy.access_token,
    )
    .await
    .assert_problem(404, "not_found");
    app.post(
        &format!("/api/v1/log-entries/{bens_review}/comments"),
        Some(&s.cy.access_token),
        &json!({"body": "still there?"}),
    )
    .await
    .assert_problem(404, "not_found");
    app.put("/api/v1/members/ben/follow", &s.ana.access_token)
        .await
        .assert_problem(404, "not_found");
    assert!(
        !feed_of_cy().await.contains("\"ben\""),
        "a suspended member's activity leaves feeds"
    );
    act("suspend", "member", &ben, Some("forever"))
        .await
        .assert_problem(409, "already_suspended");

    // Lifted: back everywhere, and ben can log in again.
    act("lift_suspension", "member", &ben, None)
        .await
        .assert_status(200);
    app.get("/api/v1/members/ben", None)
        .await
        .assert_status(200);
    let reviews = app
        .get(&format!("/api/v1/films/{slug}/reviews"), None)
        .await;
    assert_eq!(
        reviews.assert_status(200)["items"].as_array().map(Vec::len),
        Some(1)
    );
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({"username": "ben", "password": s.ben.password}),
    )
    .await
    .assert_status(200);

    // For good.
    let done = act("suspend", "member", &s.cy.id.to_string(), Some("forever")).await;
    let entry = done.assert_status(200);
    assert_eq!(
        (&entry["for_good"], &entry["suspended_until"]),
        (&json!(true), &Value::Null)
    );
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": "cy", "password": s.cy.password}),
        )
        .await;
    assert_eq!(
        login.assert_problem(403, "account_suspended")["detail"],
        "this account is suspended for good"
    );
    assert!(app.drift().await.is_empty());
}
