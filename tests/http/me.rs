use filmlog_test_support::TestApp;
use reqwest::Method;
use serde_json::json;

#[actix_web::test]
async fn me_has_an_etag_and_answers_304_when_unchanged() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let res = app.get("/api/v1/me", Some(&ana.access_token)).await;
    assert_eq!(res.assert_status(200)["email"], "ana@example.com");
    assert_eq!(res.header("cache-control"), Some("private, no-cache"));
    let etag = res.header("etag").unwrap_or_default().to_owned();
    assert!(etag.starts_with('"'));
    let again = TestApp::read(
        app.client
            .get(app.url("/api/v1/me"))
            .bearer_auth(&ana.access_token)
            .header("if-none-match", &etag),
    )
    .await;
    assert_eq!(again.status, 304);
    assert_eq!(again.header("etag"), Some(etag.as_str()));
}

#[actix_web::test]
async fn patch_me_sets_and_clears_fields_and_honours_if_match() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let token = Some(ana.access_token.as_str());
    let set = json!({"display_name": "Ana Lima", "bio": "Line one\nLine two", "website": "https://ana.example.com", "pronouns": "she/her", "location": "Lisbon"});
    let res = app
        .send(Method::PATCH, "/api/v1/me", token, Some(&set))
        .await;
    let body = res.assert_status(200);
    assert_eq!(body["display_name"], "Ana Lima");
    assert_eq!(body["bio"], "Line one\nLine two");
    let etag = res.header("etag").unwrap_or_default().to_owned();

    // null clears; absent fields stay.
    let res = app
        .send(
            Method::PATCH,
            "/api/v1/me",
            token,
            Some(&json!({"bio": null})),
        )
        .await;
    assert_eq!(res.assert_status(200)["bio"], serde_json::Value::Null);
    assert_eq!(res.json["display_name"], "Ana Lima");

    // The ETag from before the last change is stale now.
    let stale = TestApp::read(
        app.client
            .patch(app.url("/api/v1/me"))
            .bearer_auth(&ana.access_token)
            .header("if-match", &etag)
            .json(&json!({"location": "Porto"})),
    )
    .await;
    stale.assert_problem(412, "precondition_failed");
    let current = app.get("/api/v1/me", token).await;
    assert_eq!(current.json["location"], "Lisbon");
    let fresh = current.header("etag").unwrap_or_default().to_owned();
    let ok = TestApp::read(
        app.client
            .patch(app.url("/api/v1/me"))
            .bearer_auth(&ana.access_token)
            .header("if-match", &fresh)
            .json(&json!({"location": "Porto"})),
    )
    .await;
    assert_eq!(ok.assert_status(200)["location"], "Porto");
}

#[actix_web::test]
async fn patch_me_refuses_bad_values_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let token = Some(ana.access_token.as_str());
    for (body, pointer) in [
        (json!({"display_name": "x".repeat(51)}), "/display_name"),
        (json!({"website": "javascript:alert(1)"}), "/website"),
        (json!({"pronouns": "she\u{0}her"}), "/pronouns"),
        (json!({"location": "Lis\nbon"}), "/location"),
        (json!({"bio": "b".repeat(1001)}), "/bio"),
        (json!({"email": "new@example.com"}), "/email"),
        (json!({"display_name": 5}), ""),
    ] {
        let res = app
            .send(Method::PATCH, "/api/v1/me", token, Some(&body))
            .await;
        let problem = res.assert_problem(422, "validation_failed");
        if !pointer.is_empty() {
            assert_eq!(problem["errors"][0]["pointer"], pointer, "{body}");
        }
    }
    let me = app.get("/api/v1/me", token).await;
    assert_eq!(me.json["display_name"], serde_json::Value::Null);
    assert_eq!(me.json["website"], serde_json::Value::Null);
    app.send(Method::PATCH, "/api/v1/me", None, Some(&json!({})))
        .await
        .assert_problem(401, "missing_token");
}

#[actix_web::test]
async fn change_password_checks_the_current_one_and_the_policy() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let token = Some(ana.access_token.as_str());
    let wrong = json!({"current_password": "not my password!", "new_password": "an even longer passphrase"});
    app.send(Method::PUT, "/api/v1/me/password", token, Some(&wrong))
        .await
        .assert_problem(422, "validation_failed");
    let weak = json!({"current_password": ana.password, "new_password": "short"});
    let res = app
        .send(Method::PUT, "/api/v1/me/password", token, Some(&weak))
        .await;
    assert_eq!(
        res.assert_problem(422, "validation_failed")["errors"][0]["code"],
        "weak_password"
    );
    app.send(Method::PUT, "/api/v1/me/password", None, Some(&weak))
        .await
        .assert_problem(401, "missing_token");
    // The old password still works: nothing changed.
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({"username": "ana", "password": ana.password}),
    )
    .await
    .assert_status(200);

    let good =
        json!({"current_password": ana.password, "new_password": "an even longer passphrase"});
    assert_eq!(
        app.send(Method::PUT, "/api/v1/me/password", token, Some(&good))
            .await
            .status,
        204
    );
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({"username": "ana", "password": ana.password}),
    )
    .await
    .assert_problem(401, "invalid_credentials");
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({"username": "ana", "password": "an even longer passphrase"}),
    )
    .await
    .assert_status(200);
}

#[actix_web::test]
async fn delete_me_removes_the_account_and_frees_the_name() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let confirm = json!({"password": ana.password});
    app.send(Method::DELETE, "/api/v1/me", None, Some(&confirm))
        .await
        .assert_problem(401, "missing_token");
    // A token alone is not enough: the current password confirms it.
    let wrong = json!({"password": "not the password at all"});
    let refused = app
        .send(
            Method::DELETE,
            "/api/v1/me",
            Some(&ana.access_token),
            Some(&wrong),
        )
        .await;
    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.json["errors"][0]["code"], "wrong_password");
    app.send(Method::DELETE, "/api/v1/me", Some(&ana.access_token), None)
        .await
        .assert_problem(415, "unsupported_media_type");
    app.get("/api/v1/me", Some(&ana.access_token))
        .await
        .assert_status(200);
    assert_eq!(
        app.send(
            Method::DELETE,
            "/api/v1/me",
            Some(&ana.access_token),
            Some(&confirm)
        )
        .await
        .status,
        204
    );
    app.get("/api/v1/members/ana", None)
        .await
        .assert_problem(404, "not_found");
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({"username": "ana", "password": ana.password}),
    )
    .await
    .assert_problem(401, "invalid_credentials");
    let again = json!({"username": "ana", "email": "ana@example.com", "password": "a long passphrase of mine"});
    app.post("/api/v1/auth/register", None, &again)
        .await
        .assert_status(201);
}

/// Sessions a member can see and end: each login is one, with its user agent and network (never the
/// whole address); ending one stops its tokens at once; another member's session is not found.
#[actix_web::test]
async fn sessions_are_listed_and_ended_one_by_one_or_all_but_this_one() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let ben = app.member("ben").await;
    let login = |agent: &'static str| {
        let body = json!({"username": "ana", "password": ana.password});
        let req = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("user-agent", agent)
            .json(&body);
        async move {
            let res = TestApp::read(req).await;
            res.assert_status(200)["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    };
    let phone = login("Filmlog/2.3 (iPhone; iOS 18.1)").await;
    // Control characters (a tab here) are dropped from the label.
    let laptop = login("Mozilla/5.0\t(X11; Linux x86_64)").await;
    let listed = app.get("/api/v1/me/sessions", Some(&phone)).await;
    let items = listed.assert_status(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 3, "{}", listed.text);
    let current: Vec<_> = items.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["user_agent"], "Filmlog/2.3 (iPhone; iOS 18.1)");
    assert_eq!(current[0]["network"], "127.0.0.0/24");
    let laptop_session = items
        .iter()
        .find(|s| s["user_agent"] == "Mozilla/5.0(X11; Linux x86_64)")
        .and_then(|s| s["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(!laptop_session.is_empty(), "{}", listed.text);
    // Ben cannot end Ana's session; nobody can without a token.
    let path = format!("/api/v1/me/sessions/{laptop_session}");
    app.delete(&path, &ben.access_token)
        .await
        .assert_problem(404, "not_found");
    app.send(Method::DELETE, &path, None, None)
        .await
        .assert_problem(401, "missing_token");
    app.get("/api/v1/me", Some(&laptop))
        .await
        .assert_status(200);
    assert_eq!(app.delete(&path, &phone).await.status, 204);
    app.get("/api/v1/me", Some(&laptop))
        .await
        .assert_problem(401, "invalid_token");
    app.delete(&path, &phone)
        .await
        .assert_problem(404, "not_found");
    // All but this one: the session made by the test harness ends, the phone stays.
    assert_eq!(app.delete("/api/v1/me/sessions", &phone).await.status, 204);
    app.get("/api/v1/me", Some(&ana.access_token))
        .await
        .assert_problem(401, "invalid_token");
    let left = app.get("/api/v1/me/sessions", Some(&phone)).await;
    assert_eq!(
        left.assert_status(200)["items"].as_array().map(Vec::len),
        Some(1)
    );
    app.get("/api/v1/me", Some(&ben.access_token))
        .await
        .assert_status(200);
}
