//! Reads from a standby with read-your-writes, as far as one node can show it: here the "standby" is
//! the test database itself (a primary shows every write), so these tests pin the protocol (which
//! requests carry a position, which answer from where); `make cluster-test` shows it against a real
//! standby that lags.

use filmlog_test_support::TestApp;
use reqwest::Method;
use serde_json::json;

#[actix_web::test]
async fn writes_hand_out_their_position_and_reads_say_which_node_answered() {
    let app = TestApp::spawn_with(|c| {
        c.standby_url = Some(String::new());
        c.instance = Some("a7".to_owned());
    })
    .await;
    let ana = app.member("ana").await;
    let slug = app.film("Close-Up", 1990).await;

    let read = app.get("/api/v1/films", None).await;
    read.assert_status(200);
    assert_eq!(read.header("filmlog-read-from"), Some("standby"));
    assert_eq!(read.header("filmlog-instance"), Some("a7"));
    assert_eq!(
        read.header("filmlog-consistency"),
        None,
        "a read moves nothing"
    );

    let write = app
        .put(
            &format!("/api/v1/films/{slug}/watchlist"),
            &ana.access_token,
        )
        .await;
    assert!(write.status < 300, "{}", write.text);
    let position = write
        .header("filmlog-consistency")
        .unwrap_or_else(|| panic!("no position after a write: {:?}", write.headers))
        .to_owned();
    let now = chrono::Utc::now().timestamp();
    let named =
        filmlog_api::middleware::replication::position_of(&app.state.tokens, &position, now);
    assert!(
        named.is_some_and(|p| filmlog_api::middleware::replication::valid_position(&p)),
        "{position}"
    );
    let cookie = write.header("set-cookie").unwrap_or_default();
    assert!(
        cookie.starts_with(&format!("filmlog_consistency={position};"))
            && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    // With the position (header or cookie) the standby answers only once it shows the write: this
    // one is a primary, so it always does.
    for (name, value) in [
        ("filmlog-consistency", position.clone()),
        (
            "cookie",
            format!("theme=dark; filmlog_consistency={position}"),
        ),
    ] {
        let req = app
            .client
            .request(Method::GET, app.url(&format!("/api/v1/films/{slug}")))
            .header(name, value);
        let res = TestApp::read(req).await;
        res.assert_status(200);
        assert_eq!(res.header("filmlog-read-from"), Some("standby"), "{name}");
    }

    // A refused write moves nothing and hands out no position.
    let refused = app
        .send(
            Method::POST,
            "/api/v1/log-entries",
            Some(&ana.access_token),
            Some(&json!({"film": "no-such-film"})),
        )
        .await;
    assert!(refused.status >= 400);
    assert_eq!(refused.header("filmlog-consistency"), None);
}

/// A malformed, forged or expired position is a hint that cannot be used, not an error: the read
/// answers as usual, from the standby (security review L3: nobody can send every read to the
/// primary with a position far ahead).
#[actix_web::test]
async fn a_malformed_forged_or_expired_position_is_ignored() {
    let app = TestApp::spawn_with(|c| c.standby_url = Some(String::new())).await;
    let now = chrono::Utc::now().timestamp();
    let far = "FFFFFFFF/FFFFFFFF";
    let tokens = &app.state.tokens;
    let expired = filmlog_api::middleware::replication::position_token(tokens, far, now - 1);
    let too_long = filmlog_api::middleware::replication::position_token(tokens, far, now + 86_400);
    let forged = format!("{far}.{}.{}", now + 60, "0".repeat(32));
    // Only a token this service made, unexpired and at most five minutes long, names a position
    // (`make cluster-test` shows a forged one read from a real standby).
    let genuine = filmlog_api::middleware::replication::position_token(tokens, far, now + 60);
    let named = |t: &str| filmlog_api::middleware::replication::position_of(tokens, t, now);
    assert_eq!(named(&genuine).as_deref(), Some(far));
    for refused in [far, forged.as_str(), expired.as_str(), too_long.as_str()] {
        assert_eq!(named(refused), None, "{refused}");
    }
    for bad in [
        "",
        "zz/1",
        "0/0/0",
        "123456789/1",
        "'; DROP TABLE films; --",
        far,
        &forged,
        &expired,
        &too_long,
    ] {
        let req = app
            .client
            .request(Method::GET, app.url("/api/v1/films"))
            .header("filmlog-consistency", bad);
        let res = TestApp::read(req).await;
        res.assert_status(200);
        assert_eq!(res.header("filmlog-read-from"), Some("standby"), "{bad}");
    }
}

/// Without a standby nothing of this runs: no position, no read-from header.
#[actix_web::test]
async fn one_node_adds_nothing() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let slug = app.film("The Wind Will Carry Us", 1999).await;
    let write = app
        .put(
            &format!("/api/v1/films/{slug}/watchlist"),
            &ana.access_token,
        )
        .await;
    assert!(write.status < 300);
    assert_eq!(write.header("filmlog-consistency"), None);
    assert_eq!(
        app.get("/api/v1/films", None)
            .await
            .header("filmlog-read-from"),
        None
    );
}
