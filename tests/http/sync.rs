//! Delta sync: `GET /me/last-activities` and `GET /me/changes?since=`, with tombstones, the 410
//! after tombstones are dropped, and no change skipped under concurrent writes.

use std::collections::BTreeSet;

use filmlog_test_support::{TestApp, TestMember};
use serde_json::{Value, json};

async fn last(app: &TestApp, who: &TestMember) -> Value {
    app.get("/api/v1/me/last-activities", Some(&who.access_token))
        .await
        .assert_status(200)
        .clone()
}

/// All changes after `cursor`, following `has_more`: the changes and the new cursor.
async fn changes(app: &TestApp, who: &TestMember, cursor: &str) -> (Vec<Value>, String) {
    let mut all = Vec::new();
    let mut cursor = cursor.to_owned();
    loop {
        let res = app
            .get(
                &format!("/api/v1/me/changes?since={cursor}&limit=50"),
                Some(&who.access_token),
            )
            .await;
        let body = res.assert_status(200);
        all.extend(body["changes"].as_array().cloned().unwrap_or_default());
        cursor = body["cursor"].as_str().unwrap_or_default().to_owned();
        if body["has_more"] != true {
            return (all, cursor);
        }
    }
}

fn keys(changes: &[Value]) -> Vec<(String, String, bool)> {
    changes
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap_or_default().to_owned(),
                c["id"].as_str().unwrap_or_default().to_owned(),
                c.get("deleted_at").is_some(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn changes_list_what_changed_in_commit_order_with_tombstones() {
    let app = TestApp::spawn().await;
    let (ana, ben) = (app.member("ana").await, app.member("ben").await);
    let start = last(&app, &ana).await;
    assert!(start["log_entries"].is_null());
    let cursor = start["cursor"].as_str().unwrap_or_default().to_owned();

    let film = app.film("Synced", 2010).await;
    let entry = app
        .log(
            &ana,
            json!({"film": film, "rating": 4.5, "review": {"text": "Good"}}),
        )
        .await;
    let theirs = {
        let f = app.film("Theirs", 2011).await;
        app.log(&ben, json!({"film": f, "review": {"text": "Mine"}}))
            .await
    };
    let ben_cursor = last(&app, &ben).await["cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.put(
        &format!("/api/v1/log-entries/{theirs}/like"),
        &ana.access_token,
    )
    .await
    .assert_status(204);
    app.put("/api/v1/members/ben/follow", &ana.access_token)
        .await
        .assert_status(204);
    let (got, next) = changes(&app, &ana, &cursor).await;
    assert_eq!(
        keys(&got),
        vec![
            ("log_entry".to_owned(), entry.clone(), false),
            ("film".to_owned(), film.clone(), false),
            ("review_like".to_owned(), theirs.clone(), false),
            ("follow".to_owned(), "ben".to_owned(), false),
        ]
    );
    assert_eq!(got[0]["data"]["review"], "Good");
    assert_eq!(got[0]["data"]["rating"], 4.5);
    assert_eq!(got[1]["data"]["watched"], true);
    assert_eq!(got[3]["data"]["username"], "ben");
    // A like of ben's review (its counter) and a follow of ben are not ben's changes.
    let (bens, _) = changes(&app, &ben, &ben_cursor).await;
    assert_eq!(keys(&bens), Vec::new(), "{bens:?}");
    // Others' writes are not ana's changes.
    assert!(
        !got.iter()
            .any(|c| c["id"] == theirs.as_str() && c["type"] == "log_entry")
    );
    let after = last(&app, &ana).await;
    for category in ["log_entries", "ratings", "likes", "follows"] {
        assert!(after[category].is_string(), "{category}: {after}");
    }
    assert!(after["lists"].is_null());

    // Nothing new: nothing listed, same cursor.
    let (none, same) = changes(&app, &ana, &next).await;
    assert!(none.is_empty());
    assert_eq!(same, next);

    // Deleting and undoing leave tombstones; an object changed twice is listed once, at its newest.
    app.delete(
        &format!("/api/v1/log-entries/{theirs}/like"),
        &ana.access_token,
    )
    .await
    .assert_status(204);
    app.delete(&format!("/api/v1/log-entries/{entry}"), &ana.access_token)
        .await
        .assert_status(204);
    app.send(
        reqwest::Method::PATCH,
        "/api/v1/me",
        Some(&ana.access_token),
        Some(&json!({"bio": "Synced bio"})),
    )
    .await
    .assert_status(200);
    let (got, _) = changes(&app, &ana, &next).await;
    let k = keys(&got);
    assert!(
        k.contains(&("review_like".to_owned(), theirs.clone(), true)),
        "{k:?}"
    );
    assert!(
        k.contains(&("log_entry".to_owned(), entry.clone(), true)),
        "{k:?}"
    );
    assert_eq!(k.last().map(|x| x.0.as_str()), Some("profile"));
    assert_eq!(
        got.last().map(|c| c["data"]["bio"].clone()),
        Some(json!("Synced bio"))
    );
    let tomb = got
        .iter()
        .find(|c| c["type"] == "log_entry")
        .cloned()
        .unwrap_or_default();
    assert!(
        tomb["deleted_at"].is_string() && tomb.get("data").is_none(),
        "{tomb}"
    );
    // From the start: the entry is listed once, as deleted.
    let (all, _) = changes(&app, &ana, &cursor).await;
    assert_eq!(all.iter().filter(|c| c["type"] == "log_entry").count(), 1);
}

#[actix_web::test]
async fn bad_cursors_are_refused_and_old_ones_must_resync() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let token = Some(ana.access_token.as_str());
    app.get("/api/v1/me/changes", token)
        .await
        .assert_problem(400, "invalid_query_parameter");
    app.get("/api/v1/me/changes?since=garbage", token)
        .await
        .assert_problem(400, "invalid_cursor");
    app.get("/api/v1/me/changes?since=x", None)
        .await
        .assert_problem(401, "missing_token");
    let start = last(&app, &ana).await["cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.get(&format!("/api/v1/me/changes?since={start}&limit=0"), token)
        .await
        .assert_problem(400, "invalid_limit");
    // A cursor from the future (forged) is not one this API issued.
    let forged = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        br#"["s",999]"#,
    );
    app.get(&format!("/api/v1/me/changes?since={forged}"), token)
        .await
        .assert_problem(400, "invalid_cursor");

    let film = app.film("Pruned", 2000).await;
    app.put(
        &format!("/api/v1/films/{film}/watchlist"),
        &ana.access_token,
    )
    .await
    .assert_status(204);
    app.delete(
        &format!("/api/v1/films/{film}/watchlist"),
        &ana.access_token,
    )
    .await
    .assert_status(204);
    // The tombstone is 31 days old and pruned: the start cursor is now too old.
    let mut conn = app.db.connect().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "UPDATE member_changes SET changed_at = now() - interval '31 days' WHERE deleted",
        ),
        &mut conn,
    )
    .await
    .unwrap_or_default();
    let pruned = filmlog_persistence::changes::prune_tombstones(
        &mut conn,
        chrono::Utc::now() - chrono::TimeDelta::days(30),
    )
    .await
    .unwrap_or_default();
    assert_eq!(pruned, 1);
    app.get(&format!("/api/v1/me/changes?since={start}"), token)
        .await
        .assert_problem(410, "resync_required");
    // A fresh cursor works again.
    let fresh = last(&app, &ana).await["cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (none, _) = changes(&app, &ana, &fresh).await;
    assert!(none.is_empty());
}

#[actix_web::test]
async fn no_change_is_skipped_when_concurrent_writes_commit_out_of_order() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let mut films = Vec::new();
    for i in 0..60 {
        films.push(app.film(&format!("Concurrent {i}"), 1950 + i).await);
    }
    let start = last(&app, &ana).await["cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let done = std::sync::atomic::AtomicBool::new(false);
    let (app_ref, ana_ref) = (&app, &ana);
    let writers = async {
        let chunks: Vec<_> = films.chunks(10).collect();
        futures_util::future::join_all(chunks.into_iter().map(|chunk| async move {
            let (app, ana) = (app_ref, ana_ref);
            for film in chunk {
                app.put(
                    &format!("/api/v1/films/{film}/watchlist"),
                    &ana.access_token,
                )
                .await
                .assert_status(204);
            }
        }))
        .await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    // A client polling all the while, keeping only what each answer gave it.
    let poller = async {
        let mut seen = BTreeSet::new();
        let mut cursor = start.clone();
        let mut polls = 0;
        loop {
            let finished = done.load(std::sync::atomic::Ordering::SeqCst);
            let (got, next) = changes(&app, &ana, &cursor).await;
            for c in got {
                seen.insert(c["id"].as_str().unwrap_or_default().to_owned());
            }
            cursor = next;
            polls += 1;
            if finished {
                return (seen, polls);
            }
        }
    };
    let ((), (seen, polls)) = futures_util::join!(writers, poller);
    let want: BTreeSet<String> = films.iter().cloned().collect();
    assert!(
        polls > 2,
        "the poller ran during the writes ({polls} polls)"
    );
    assert_eq!(seen, want, "every film added to the watchlist was seen");
}
