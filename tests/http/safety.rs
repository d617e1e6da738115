//! Blocks and mutes. The block matrix walks every read of the API (generated from the OpenAPI
//! document, so a new read is walked as soon as it is documented) from both sides of a block.

use filmlog_test_support::{TestApp, TestMember};
use serde_json::{Value, json};

/// Two members and a third, with everything one can see of the other: reviews of one film, comments
/// both ways and on a third party's thread, likes, follows both ways, and the third party's activity
/// about each of them.
struct World {
    app: TestApp,
    ana: TestMember,
    ben: TestMember,
    cy: TestMember,
    slug: String,
    /// ana's, ben's and cy's reviews of the film.
    ea: String,
    eb: String,
    ec: String,
    /// ana's, ben's and cy's lists (each with the film).
    la: String,
    lb: String,
    lc: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let (ana, ben, cy) = (
        app.member("ana").await,
        app.member("ben").await,
        app.member("cy").await,
    );
    let slug = app.film("Taste of Cherry", 1997).await;
    let review = |text: &str| json!({"film": slug, "watched_on": "2026-11-01", "rating": 4.5, "review": {"text": text}});
    let ea = app.log(&ana, review("Ana: the ending.")).await;
    let eb = app.log(&ben, review("Ben: the dust.")).await;
    let ec = app.log(&cy, review("Cy: the tree.")).await;
    let list = async |who: &TestMember| {
        let body = json!({"name": format!("{}'s list", who.username), "entries": [{"film": slug}]});
        app.post("/api/v1/lists", Some(&who.access_token), &body)
            .await
            .assert_status(201)["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let (la, lb, lc) = (list(&ana).await, list(&ben).await, list(&cy).await);
    let follows = [
        (&ana, "ben"),
        (&ben, "ana"),
        (&cy, "ana"),
        (&cy, "ben"),
        (&ana, "cy"),
        (&ben, "cy"),
    ];
    for (who, whom) in follows {
        app.put(&format!("/api/v1/members/{whom}/follow"), &who.access_token)
            .await
            .assert_status(204);
    }
    for (who, entry) in [(&ben, &ea), (&ana, &eb), (&cy, &ea), (&cy, &eb)] {
        app.put(
            &format!("/api/v1/log-entries/{entry}/like"),
            &who.access_token,
        )
        .await
        .assert_status(204);
    }
    for (who, entry) in [(&ben, &ea), (&ana, &eb), (&ana, &ec), (&ben, &ec)] {
        app.post(
            &format!("/api/v1/log-entries/{entry}/comments"),
            Some(&who.access_token),
            &json!({"body": format!("a comment by {}", who.username)}),
        )
        .await
        .assert_status(201);
    }
    World {
        app,
        ana,
        ben,
        cy,
        slug,
        ea,
        eb,
        ec,
        la,
        lb,
        lc,
    }
}

/// The reads (their paths filled with `member`'s username, `entry` and `list`) whose answer to
/// `viewer` mentions the username `needle`; fails on any read that answers neither 200 nor 404.
async fn reads_mentioning(
    app: &TestApp,
    viewer: &TestMember,
    (member, entry, list, slug): (&str, &str, &str, &str),
    needle: &str,
) -> Vec<(String, u16)> {
    let mut mentioning = Vec::new();
    let fill = [
        ("{slug}", slug),
        ("{username}", member),
        ("{id}", entry),
        ("{list_id}", list),
        ("{person}", "no-such-person"),
    ];
    for path in crate::visibility::every_get(&fill) {
        // A first page (20) holds everything this world has on any read.
        let res = app.get(&path, Some(&viewer.access_token)).await;
        assert!(
            res.status == 200 || res.status == 404,
            "GET {path} as {}: {} {}",
            viewer.username,
            res.status,
            res.text
        );
        if res.status == 200 && res.text.contains(&format!("\"{needle}\"")) {
            mentioning.push((path, res.status));
        }
    }
    mentioning
}

#[actix_web::test]
async fn a_block_hides_each_side_from_the_other_on_every_read() {
    let w = world().await;
    let app = &w.app;

    // Each side reads the other's things, and a third party's (cy's page, thread, activity,
    // followers) where the other appears.
    type Walk = (&'static str, (String, String, String), &'static str);
    let walks = |side: &'static str| -> Vec<Walk> {
        let (other, other_entry, other_list) = if side == "ana" {
            ("ben", w.eb.clone(), w.lb.clone())
        } else {
            ("ana", w.ea.clone(), w.la.clone())
        };
        vec![
            (side, (other.to_owned(), other_entry, other_list), other),
            (side, ("cy".to_owned(), w.ec.clone(), w.lc.clone()), other),
        ]
    };
    let walk = async |side: &'static str| {
        let viewer = if side == "ana" { &w.ana } else { &w.ben };
        let mut seen = Vec::new();
        for (_, (member, entry, list), needle) in walks(side) {
            seen.extend(
                reads_mentioning(app, viewer, (&member, &entry, &list, &w.slug), needle).await,
            );
        }
        seen.sort();
        seen.dedup();
        seen
    };

    // Before the block each side sees the other on many reads (the walk is not vacuous), the
    // feed and the third party's activity among them.
    for side in ["ana", "ben"] {
        let seen = walk(side).await;
        assert!(seen.len() >= 10, "{side} saw the other on only {seen:?}");
        for path in [
            "/api/v1/me/feed",
            "/api/v1/members/cy/activity",
            "/api/v1/members/cy/followers",
        ] {
            assert!(
                seen.iter().any(|(p, _)| p == path),
                "{side}: {path} not in {seen:?}"
            );
        }
    }

    app.put("/api/v1/members/ben/block", &w.ana.access_token)
        .await
        .assert_status(204);

    // The blocker still opens the blocked member's page (to unblock) and sees them in their blocks;
    // nowhere else but their own change log, whose tombstone of the follow the block ended tells
    // their client to drop it.
    let allowed: Vec<(String, u16)> = vec![
        ("/api/v1/me/blocks".to_owned(), 200),
        ("/api/v1/me/changes?since=WyJzIiwwXQ".to_owned(), 200),
        ("/api/v1/members/ben".to_owned(), 200),
    ];
    assert_eq!(
        walk("ana").await,
        allowed,
        "ana still sees ben on these reads"
    );
    // The blocked member sees the blocker nowhere: their page is 404, as if they did not exist.
    // (Their own change log only: it says the follow the block ended is gone.)
    let after_ben = walk("ben").await;
    assert_eq!(
        after_ben,
        vec![("/api/v1/me/changes?since=WyJzIiwwXQ".to_owned(), 200)],
        "ben still sees ana on {after_ben:?}"
    );
    let changes = app
        .get(
            "/api/v1/me/changes?since=WyJzIiwwXQ",
            Some(&w.ben.access_token),
        )
        .await;
    let mentions_ana: Vec<&Value> = changes.json["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c.to_string().contains("ana"))
        .collect();
    assert!(
        mentions_ana.iter().all(|c| c["deleted_at"].is_string()),
        "only tombstones of ben's own things: {mentions_ana:?}"
    );
    app.get("/api/v1/members/ana", Some(&w.ben.access_token))
        .await
        .assert_problem(404, "not_found");
    app.get(
        &format!("/api/v1/log-entries/{}", w.ea),
        Some(&w.ben.access_token),
    )
    .await
    .assert_problem(404, "not_found");
    app.get(
        &format!("/api/v1/log-entries/{}", w.eb),
        Some(&w.ana.access_token),
    )
    .await
    .assert_problem(404, "not_found");
    app.get("/api/v1/members/ben/diary", Some(&w.ana.access_token))
        .await
        .assert_problem(404, "not_found");

    // A third party's thread keeps its shape: the other side's comment is a tombstone.
    for (viewer, other_id) in [(&w.ana, w.ben.id), (&w.ben, w.ana.id)] {
        let thread = app
            .get(
                &format!("/api/v1/log-entries/{}/comments", w.ec),
                Some(&viewer.access_token),
            )
            .await;
        let items = thread.assert_status(200)["items"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(items.len(), 2, "{}", thread.text);
        let hidden: Vec<&Value> = items.iter().filter(|c| c.get("hidden").is_some()).collect();
        assert_eq!(hidden.len(), 1, "{}", thread.text);
        assert_eq!(hidden[0]["hidden"], "blocked");
        assert!(hidden[0]["id"].is_string() && hidden[0].get("author").is_none());
        assert!(!thread.text.contains(&format!("\"id\":\"{other_id}\"")));
    }
    // Others see everything as before.
    let thread = app
        .get(
            &format!("/api/v1/log-entries/{}/comments", w.ec),
            Some(&w.cy.access_token),
        )
        .await;
    assert!(!thread.text.contains("hidden"), "{}", thread.text);
    let anonymous = app
        .get(&format!("/api/v1/films/{}/reviews", w.slug), None)
        .await;
    assert_eq!(
        anonymous.assert_status(200)["items"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );

    // Unblocked: each sees the other again; the follows the block ended stay ended.
    app.delete("/api/v1/members/ben/block", &w.ana.access_token)
        .await
        .assert_status(204);
    let again = walk("ben").await;
    assert!(again.len() >= 6, "{again:?}");
    // Ben's feed shows ana again only through cy (cy's follow of ana, cy's like of her review).
    let feed = app
        .get("/api/v1/me/feed?limit=100", Some(&w.ben.access_token))
        .await;
    let actors: Vec<&Value> = feed.assert_status(200)["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| &a["actor"]["username"])
        .collect();
    assert!(
        !actors.contains(&&json!("ana")),
        "ben no longer follows ana: {actors:?}"
    );
}

#[actix_web::test]
async fn a_block_ends_follows_both_ways_with_exact_counters_and_stops_interactions() {
    let w = world().await;
    let app = &w.app;
    let counts = async |name: &str| {
        let m = app
            .get(&format!("/api/v1/members/{name}"), Some(&w.cy.access_token))
            .await;
        let m = m.assert_status(200);
        (m["follower_count"].as_i64(), m["following_count"].as_i64())
    };
    assert_eq!(
        counts("ana").await,
        (Some(2), Some(2)),
        "ben and cy follow ana; she follows both"
    );
    for _ in 0..2 {
        // Idempotent.
        app.put("/api/v1/members/ben/block", &w.ana.access_token)
            .await
            .assert_status(204);
    }
    assert_eq!(
        counts("ana").await,
        (Some(1), Some(1)),
        "only cy, both ways"
    );
    assert_eq!(counts("ben").await, (Some(1), Some(1)));
    assert!(app.drift().await.is_empty());

    // The blocked side is answered as if the blocker did not exist; the blocker is told why.
    let tries = [
        ("PUT", "/api/v1/members/{u}/follow".to_owned()),
        ("PUT", "/api/v1/log-entries/{e}/like".to_owned()),
        ("POST", "/api/v1/log-entries/{e}/comments".to_owned()),
    ];
    for (method, template) in &tries {
        for (actor, other, entry, status, code) in [
            (&w.ben, "ana", &w.ea, 404, "not_found"),
            (&w.ana, "ben", &w.eb, 409, "blocked"),
        ] {
            let path = template.replace("{u}", other).replace("{e}", entry);
            let body = (*method == "POST").then(|| json!({"body": "hello"}));
            let res = app
                .send(
                    method.parse().unwrap_or(reqwest::Method::GET),
                    &path,
                    Some(&actor.access_token),
                    body.as_ref(),
                )
                .await;
            res.assert_problem(status, code);
        }
    }
    assert_eq!(
        counts("ana").await,
        (Some(1), Some(1)),
        "no follow slipped in"
    );

    // Refusals of the block itself.
    app.put("/api/v1/members/ana/block", &w.ana.access_token)
        .await
        .assert_problem(422, "block_yourself");
    app.put("/api/v1/members/nobody/block", &w.ana.access_token)
        .await
        .assert_problem(404, "not_found");
    app.send(
        reqwest::Method::PUT,
        "/api/v1/members/ben/block",
        None,
        None,
    )
    .await
    .assert_problem(401, "missing_token");
    // The blocked member can block back (they know the username), and each block is lifted alone.
    app.put("/api/v1/members/ana/block", &w.ben.access_token)
        .await
        .assert_status(204);
    app.delete("/api/v1/members/ben/block", &w.ana.access_token)
        .await
        .assert_status(204);
    app.get("/api/v1/members/ana", Some(&w.ben.access_token))
        .await
        .assert_status(200);
    app.get("/api/v1/members/ben", Some(&w.ana.access_token))
        .await
        .assert_problem(404, "not_found");
    let blocks = app
        .get("/api/v1/me/blocks", Some(&w.ben.access_token))
        .await;
    assert_eq!(
        blocks.assert_status(200)["items"][0]["member"]["username"],
        "ana"
    );
    let none = app
        .get("/api/v1/me/blocks", Some(&w.ana.access_token))
        .await;
    assert_eq!(none.assert_status(200)["items"], json!([]));
}

/// A follow and a block of the same pair at once: whichever wins, no follow stands beside the block.
#[actix_web::test]
async fn a_follow_racing_a_block_never_survives_it() {
    let app = TestApp::spawn().await;
    for round in 0..6 {
        let a = app.member(&format!("racer_a{round}")).await;
        let b = app.member(&format!("racer_b{round}")).await;
        let (follow_path, block_path) = (
            format!("/api/v1/members/{}/follow", a.username),
            format!("/api/v1/members/{}/block", b.username),
        );
        let follow = app.put(&follow_path, &b.access_token);
        let block = app.put(&block_path, &a.access_token);
        let (followed, blocked) = futures_util::join!(follow, block);
        blocked.assert_status(204);
        assert!([204, 404].contains(&followed.status), "{}", followed.text);
        let member = app
            .get(
                &format!("/api/v1/members/{}", b.username),
                Some(&a.access_token),
            )
            .await;
        assert_eq!(
            member.assert_status(200)["following_count"],
            0,
            "round {round}"
        );
    }
    assert!(app.drift().await.is_empty());
}

#[actix_web::test]
async fn a_mute_only_takes_activity_out_of_the_feed() {
    let w = world().await;
    let app = &w.app;
    let feed_mentions = async |name: &str| {
        let feed = app
            .get("/api/v1/me/feed?limit=100", Some(&w.ana.access_token))
            .await;
        feed.assert_status(200)["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["actor"]["username"] == name)
            .count()
    };
    assert!(feed_mentions("cy").await > 0);
    assert!(feed_mentions("ben").await > 0);
    for _ in 0..2 {
        app.put("/api/v1/members/cy/mute", &w.ana.access_token)
            .await
            .assert_status(204);
    }
    assert_eq!(feed_mentions("cy").await, 0);
    assert!(
        feed_mentions("ben").await > 0,
        "only the muted member leaves"
    );
    // Nothing else changes: cy's page, review and follow are as before, and cy is not told.
    app.get(
        &format!("/api/v1/log-entries/{}", w.ec),
        Some(&w.ana.access_token),
    )
    .await
    .assert_status(200);
    let reviews = app
        .get(
            &format!("/api/v1/films/{}/reviews", w.slug),
            Some(&w.ana.access_token),
        )
        .await;
    assert!(reviews.text.contains("\"cy\""));
    let me = app
        .get("/api/v1/members/ana", Some(&w.cy.access_token))
        .await;
    assert_eq!(
        me.assert_status(200)["follower_count"],
        2,
        "cy still follows ana, and ana cy"
    );
    let mutes = app.get("/api/v1/me/mutes", Some(&w.ana.access_token)).await;
    assert_eq!(
        mutes.assert_status(200)["items"][0]["member"]["username"],
        "cy"
    );
    assert_eq!(
        app.get("/api/v1/me/mutes", Some(&w.cy.access_token))
            .await
            .assert_status(200)["items"],
        json!([])
    );
    app.put("/api/v1/members/ana/mute", &w.ana.access_token)
        .await
        .assert_problem(422, "mute_yourself");
    app.put("/api/v1/members/nobody/mute", &w.ana.access_token)
        .await
        .assert_problem(404, "not_found");
    app.send(reqwest::Method::GET, "/api/v1/me/mutes", None, None)
        .await
        .assert_problem(401, "missing_token");
    app.delete("/api/v1/members/cy/mute", &w.ana.access_token)
        .await
        .assert_status(204);
    assert!(feed_mentions("cy").await > 0);
}
