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
    assert!(
        filmlog_api::replication::valid_position(&position),
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

/// A malformed position is a hint that cannot be used, not an error: the read answers as usual.
#[actix_web::test]
async fn a_malformed_position_is_ignored() {
    let app = TestApp::spawn_with(|c| c.standby_url = Some(String::new())).await;
    for bad in [
        "",
        "zz/1",
        "0/0/0",
        "123456789/1",
        "'; DROP TABLE films; --",
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
