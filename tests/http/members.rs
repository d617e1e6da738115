use filmlog_test_support::TestApp;

#[actix_web::test]
async fn a_profile_is_public_and_never_shows_an_email() {
    let app = TestApp::spawn().await;
    let _ana = app.member("Ana_Lima").await;
    let res = app.get("/api/v1/members/ana_lima", None).await;
    let body = res.assert_status(200);
    assert_eq!(body["username"], "Ana_Lima");
    assert_eq!(body["role"], "member");
    assert!(
        body["joined_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 20),
        "{body}"
    );
    assert!(!res.text.contains("example.com"), "{}", res.text);
    assert!(body.get("email").is_none());
    assert_eq!(res.header("cache-control"), Some("public, no-cache"));
    let etag = res.header("etag").unwrap_or_default().to_owned();
    let cached = TestApp::read(
        app.client
            .get(app.url("/api/v1/members/Ana_Lima"))
            .header("if-none-match", &etag),
    )
    .await;
    assert_eq!(cached.status, 304);
}

#[actix_web::test]
async fn unknown_and_impossible_usernames_are_not_found() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/members/nobody",
        "/api/v1/members/no%20body",
        "/api/v1/members/x",
        "/api/v1/members/%00",
    ] {
        app.get(path, None).await.assert_problem(404, "not_found");
    }
}

#[actix_web::test]
async fn admin_role_is_visible_on_the_profile() {
    let app = TestApp::spawn().await;
    let _ana = app.member("ana").await;
    let mut conn = app.db.connect().await;
    let granted =
        filmlog_persistence::members::set_role(&mut conn, "ANA", filmlog_domain::Role::Admin).await;
    assert!(granted.is_ok());
    assert_eq!(
        app.get("/api/v1/members/ana", None).await.json["role"],
        "admin"
    );
}
