//! The materialised home feed (sql/home_feed.sql, the jobs' feed worker): a timeline built on the
//! first read answers exactly what the query over followees answers, page after page; a new follow
//! backfills; an unfollow, block, mute or privacy change takes effect on the next page; a heavy
//! author's activity shows without being copied; a worker killed mid-batch loses nothing.
//!
//! These apps run no feed worker (but the last test's): each test drains the queue itself
//! ([`settle`]) where the worker would have run, so what a page shows before and after is
//! deterministic.

use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_test_support::{TestApp, TestMember};
use reqwest::Method;
use serde_json::{Value, json};

async fn app() -> TestApp {
    TestApp::spawn_with(|c| c.feed_worker = false).await
}

async fn exec(conn: &mut AsyncPgConnection, sql: &str) -> usize {
    diesel::sql_query(sql)
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<N>(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

/// What the worker does, done now.
async fn settle(app: &TestApp) -> usize {
    app.settle_feeds().await
}

/// Every item of `member`'s feed, paging `limit` at a time: (actor, activity id) newest first.
async fn whole_feed(app: &TestApp, member: &TestMember, limit: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut path = format!("/api/v1/me/feed?limit={limit}");
    loop {
        let page = app.get(&path, Some(&member.access_token)).await;
        page.assert_status(200);
        let items = page.json["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= limit, "{}", page.text);
        out.extend(items.iter().map(|i| {
            (
                i["actor"]["username"].as_str().unwrap_or("?").to_owned(),
                i["id"].as_str().unwrap_or("?").to_owned(),
            )
        }));
        match page.json["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(items.len(), limit, "a page before the last is full");
                path = format!("/api/v1/me/feed?limit={limit}&cursor={c}");
            }
            None => return out,
        }
    }
}

/// The newest item of `member`'s feed.
async fn top(app: &TestApp, member: &TestMember) -> Value {
    let page = app.get("/api/v1/me/feed", Some(&member.access_token)).await;
    page.assert_status(200);
    page.json["items"][0].clone()
}

/// `member` reads their feed, and the request for their timeline (sent after the response) has
/// reached the database.
async fn first_read(app: &TestApp, member: &TestMember) -> Vec<(String, String)> {
    let feed = whole_feed(app, member, 20).await;
    app.until(
        &format!(
            "SELECT 1 FROM home_timelines WHERE member_id = {}",
            member.id
        ),
        "the read requested the timeline",
    )
    .await;
    feed
}

fn actors(feed: &[(String, String)]) -> Vec<&str> {
    let mut a: Vec<&str> = feed.iter().map(|(actor, _)| actor.as_str()).collect();
    a.dedup();
    a
}

async fn timeline_entries(conn: &mut AsyncPgConnection, member: &TestMember) -> i64 {
    count(
        conn,
        &format!(
            "SELECT count(*) AS n FROM home_timeline_entries WHERE member_id = {}",
            member.id
        ),
    )
    .await
}

/// `count` activities by `actor`, one second apart, the newest `newest_secs_ago` seconds ago.
async fn activities(
    conn: &mut AsyncPgConnection,
    actor: &TestMember,
    about: &TestMember,
    n: usize,
    newest_secs_ago: i64,
) {
    let inserted = exec(
        conn,
        &format!(
            "INSERT INTO activities (actor_id, kind, subject_member_id, created_at)
             SELECT {}, 'follow', {}, now() - make_interval(secs => {newest_secs_ago} + g)
             FROM generate_series(0, {}) g",
            actor.id,
            about.id,
            n - 1
        ),
    )
    .await;
    assert_eq!(inserted, n);
}

/// `member` follows each of `whom`.
async fn follow(app: &TestApp, member: &TestMember, whom: &[&str]) {
    for who in whom {
        app.put(
            &format!("/api/v1/members/{who}/follow"),
            &member.access_token,
        )
        .await
        .assert_status(204);
    }
}

#[actix_web::test]
async fn a_timeline_built_on_first_read_pages_as_the_followee_query_does() {
    let app = app().await;
    let reader = app.member("reader").await;
    let ana = app.member("ana").await;
    let ben = app.member("ben").await;
    let cy = app.member("cy").await;
    follow(&app, &reader, &["ana", "ben"]).await;
    let mut conn = app.db.connect().await;
    // Interleaved in time: ana's every even second, ben's every odd one; cy is not followed.
    activities(&mut conn, &ana, &cy, 30, 100).await;
    activities(&mut conn, &ben, &cy, 30, 1100).await;
    activities(&mut conn, &cy, &ana, 40, 50).await;
    // A timeline of 25: the rest lies below its floor, read from the followees.
    exec(&mut conn, "UPDATE feed_settings SET timeline_entries = 25").await;

    // Not built: the first read answers from the followees and requests the timeline.
    let before = first_read(&app, &reader).await;
    assert_eq!(before.len(), 60, "{before:?}");
    assert_eq!(whole_feed(&app, &reader, 7).await, before);
    assert_eq!(actors(&before), ["ana", "ben"]);
    let requested = count(
        &mut conn,
        &format!(
            "SELECT count(*) AS n FROM home_timelines WHERE member_id = {} AND built_at IS NULL",
            reader.id
        ),
    )
    .await;
    assert_eq!(requested, 1, "the first read requested the timeline");
    assert!(settle(&app).await > 0);
    assert_eq!(timeline_entries(&mut conn, &reader).await, 25);

    // Built: the same pages, whatever their size, across the floor too.
    for limit in [1, 7, 25, 26, 100] {
        assert_eq!(
            whole_feed(&app, &reader, limit).await,
            before,
            "limit {limit}"
        );
    }

    // New activity reaches the page at once (merged from the queue), and the timeline once the
    // worker ran; the trim then keeps 25 and raises the floor, and paging still sees everything.
    let entry = app
        .log(
            &ana,
            json!({"film": app.film("Close-Up", 1990).await, "watched_on": "2026-11-20"}),
        )
        .await;
    let now = whole_feed(&app, &reader, 10).await;
    assert_eq!(now.len(), 61);
    assert_eq!(now[0].0, "ana");
    let first = app.get("/api/v1/me/feed", Some(&reader.access_token)).await;
    assert_eq!(first.json["items"][0]["log_entry"]["id"], json!(entry));
    settle(&app).await;
    // (The fan-out itself trims about one timeline in 128 it copies to.)
    assert!(timeline_entries(&mut conn, &reader).await >= 25);
    assert_eq!(whole_feed(&app, &reader, 10).await, now);
    let changed = count(&mut conn, "SELECT home_feed_trim(1000) AS n").await;
    assert_eq!(changed, 1);
    assert_eq!(timeline_entries(&mut conn, &reader).await, 25);
    assert_eq!(whole_feed(&app, &reader, 9).await, now);

    // Activity undone after it was copied (its entries stay until trimmed) leaves the pages whole.
    let undone = exec(
        &mut conn,
        &format!(
            "DELETE FROM activities WHERE id IN (SELECT activity_id FROM home_timeline_entries \
             WHERE member_id = {} ORDER BY created_at DESC, activity_id DESC LIMIT 12 OFFSET 3)",
            reader.id
        ),
    )
    .await;
    assert_eq!(undone, 12);
    let kept: Vec<_> = now[..3].iter().chain(&now[15..]).cloned().collect();
    for limit in [2, 10, 30] {
        assert_eq!(
            whole_feed(&app, &reader, limit).await,
            kept,
            "limit {limit}"
        );
    }
    let now = kept;

    // Following cy, who did more than a timeline holds: every page is whole before the backfill
    // and after it (the floor rises to the oldest copied).
    app.put("/api/v1/members/cy/follow", &reader.access_token)
        .await
        .assert_status(204);
    let all = whole_feed(&app, &reader, 8).await;
    assert_eq!(all.len(), now.len() + 40);
    assert_eq!(
        actors(&all[..41]),
        ["ana", "cy"],
        "ana's entry, then cy's forty"
    );
    settle(&app).await;
    for limit in [3, 8, 50] {
        assert_eq!(whole_feed(&app, &reader, limit).await, all, "limit {limit}");
    }
}

/// The `(created_at, activity_id)` of `member`'s timeline floor, as the id of the activity there
/// (`None`: complete from the beginning).
async fn floor(conn: &mut AsyncPgConnection, member: &TestMember) -> Option<String> {
    let id = count(
        conn,
        &format!(
            "SELECT CASE WHEN t.floor_at = '-infinity' THEN -1 ELSE a.id END AS n \
             FROM home_timelines t LEFT JOIN activities a \
             ON (a.created_at, a.id) = (t.floor_at, t.floor_id) WHERE t.member_id = {}",
            member.id
        ),
    )
    .await;
    (id >= 0).then(|| id.to_string())
}

#[actix_web::test]
async fn a_timeline_is_first_built_short_and_grows_to_its_size_by_the_fan_out() {
    let app = app().await;
    let reader = app.member("reader").await;
    let ana = app.member("ana").await;
    let ben = app.member("ben").await;
    follow(&app, &reader, &["ana", "ben"]).await;
    let mut conn = app.db.connect().await;
    // Interleaved in time: ana's 100 to 119 seconds ago, ben's 110 to 129.
    activities(&mut conn, &ana, &ben, 20, 100).await;
    activities(&mut conn, &ben, &ana, 20, 110).await;
    // (Queued before any timeline exists: the build alone fills the timeline.)
    settle(&app).await;
    // Built with the newest 8 of 40; kept up to 12.
    exec(
        &mut conn,
        "UPDATE feed_settings SET build_entries = 8, timeline_entries = 12",
    )
    .await;
    let before = first_read(&app, &reader).await;
    assert_eq!(before.len(), 40, "{before:?}");
    assert!(actors(&before).len() > 2, "interleaved: {before:?}");
    assert!(settle(&app).await > 0);
    assert_eq!(timeline_entries(&mut conn, &reader).await, 8);
    assert_eq!(
        floor(&mut conn, &reader).await.as_ref(),
        Some(&before[7].1),
        "the floor is the oldest of the 8 built"
    );
    // Pages across the floor are whole, whatever their size.
    for limit in [3, 8, 9, 50] {
        assert_eq!(
            whole_feed(&app, &reader, limit).await,
            before,
            "limit {limit}"
        );
    }
    // The fan-out adds above it (and samples a trim: 12 or more), up to `timeline_entries` once
    // trimmed, which raises the floor.
    let film = app.film("Close-Up", 1990).await;
    for day in 1..=6 {
        app.log(
            &ana,
            json!({"film": film, "watched_on": format!("2026-11-0{day}")}),
        )
        .await;
    }
    settle(&app).await;
    assert!(timeline_entries(&mut conn, &reader).await >= 12);
    let now = whole_feed(&app, &reader, 5).await;
    assert_eq!(now.len(), 46);
    assert_eq!(&now[6..], &before[..]);
    count(&mut conn, "SELECT home_feed_trim(1000) AS n").await;
    assert_eq!(timeline_entries(&mut conn, &reader).await, 12);
    assert_eq!(floor(&mut conn, &reader).await.as_ref(), Some(&now[11].1));
    assert_eq!(whole_feed(&app, &reader, 7).await, now);

    // Followees who did fewer than `build_entries`: everything is there, no floor.
    exec(
        &mut conn,
        "UPDATE feed_settings SET build_entries = 30, timeline_entries = 100",
    )
    .await;
    let other = app.member("other").await;
    follow(&app, &other, &["ben"]).await;
    settle(&app).await;
    let theirs = first_read(&app, &other).await;
    assert_eq!(theirs.len(), 20);
    settle(&app).await;
    assert_eq!(timeline_entries(&mut conn, &other).await, 20);
    assert_eq!(floor(&mut conn, &other).await, None);
    assert_eq!(whole_feed(&app, &other, 6).await, theirs);

    // A floor raised while the timeline waited for its build (as a backfill or a sampled trim
    // raises it) stays: the fan-out copied only from there up meanwhile.
    exec(
        &mut conn,
        &format!("DELETE FROM home_timelines WHERE member_id = {}", other.id),
    )
    .await;
    assert_eq!(first_read(&app, &other).await, theirs);
    let raised = exec(
        &mut conn,
        &format!(
            "UPDATE home_timelines t SET floor_at = a.created_at, floor_id = a.id \
             FROM activities a WHERE a.id = {} AND t.member_id = {} AND t.built_at IS NULL",
            theirs[4].1, other.id
        ),
    )
    .await;
    assert_eq!(raised, 1);
    settle(&app).await;
    assert_eq!(floor(&mut conn, &other).await.as_ref(), Some(&theirs[4].1));
    assert_eq!(whole_feed(&app, &other, 6).await, theirs);
}

#[actix_web::test]
async fn a_new_follow_backfills_and_what_ends_a_follow_or_hides_takes_effect_on_the_next_page() {
    let app = app().await;
    let reader = app.member("reader").await;
    let ana = app.member("ana").await;
    let ben = app.member("ben").await;
    app.put("/api/v1/members/ana/follow", &reader.access_token)
        .await
        .assert_status(204);
    let mut conn = app.db.connect().await;
    activities(&mut conn, &ana, &ben, 5, 10).await;
    activities(&mut conn, &ben, &ana, 5, 20).await;
    first_read(&app, &reader).await;
    settle(&app).await;
    assert_eq!(timeline_entries(&mut conn, &reader).await, 5);

    // Following ben: his activity shows on the next page, before the worker backfills and after.
    app.put("/api/v1/members/ben/follow", &reader.access_token)
        .await
        .assert_status(204);
    let both = whole_feed(&app, &reader, 20).await;
    assert_eq!(actors(&both), ["ana", "ben"]);
    assert_eq!(both.len(), 10);
    settle(&app).await;
    assert_eq!(timeline_entries(&mut conn, &reader).await, 10, "backfilled");
    assert_eq!(whole_feed(&app, &reader, 3).await, both);
    // ben's next activity is copied too: the follow made him one of the timeline's followees.
    activities(&mut conn, &ben, &ana, 1, 0).await;
    settle(&app).await;
    assert_eq!(timeline_entries(&mut conn, &reader).await, 11);
    let both = whole_feed(&app, &reader, 20).await;
    assert_eq!(both.len(), 11);
    assert_eq!(both[0].0, "ben");

    // An unfollow, then a mute: each takes ben out of the next page while it lasts (the entries stay
    // until trimmed; the page checks).
    for (relation, undo, redo) in [
        ("follow", Method::DELETE, Method::PUT),
        ("mute", Method::PUT, Method::DELETE),
    ] {
        let path = format!("/api/v1/members/ben/{relation}");
        app.send(undo, &path, Some(&reader.access_token), None)
            .await
            .assert_status(204);
        assert_eq!(
            actors(&whole_feed(&app, &reader, 20).await),
            ["ana"],
            "{relation}"
        );
        app.send(redo, &path, Some(&reader.access_token), None)
            .await
            .assert_status(204);
        assert_eq!(whole_feed(&app, &reader, 20).await, both, "{relation}");
    }

    // A block by ben: the follow ends, and ana's activity about ben goes too.
    app.put("/api/v1/members/reader/block", &ben.access_token)
        .await
        .assert_status(204);
    assert!(whole_feed(&app, &reader, 20).await.is_empty());
    app.delete("/api/v1/members/reader/block", &ben.access_token)
        .await
        .assert_status(204);
    assert_eq!(whole_feed(&app, &reader, 20).await.len(), 5);

    // A suspension hides ana's activity from everyone.
    exec(
        &mut conn,
        &format!(
            "UPDATE members SET suspended_until = now() + interval '1 day' WHERE id = {}",
            ana.id
        ),
    )
    .await;
    assert!(whole_feed(&app, &reader, 20).await.is_empty());
    exec(
        &mut conn,
        &format!(
            "UPDATE members SET suspended_until = NULL WHERE id = {}",
            ana.id
        ),
    )
    .await;

    // Privacy: an entry made followers-only stays for a follower; made private it leaves the next
    // page; and a moderator's removal of its review shows the entry without its text.
    let slug = app.film("Taste of Cherry", 1997).await;
    let entry = app
        .log(
            &ana,
            json!({"film": slug, "watched_on": "2026-11-21", "review": {"text": "Quietly enormous."}}),
        )
        .await;
    settle(&app).await;
    assert_eq!(top(&app, &reader).await["log_entry"]["id"], json!(entry));
    for (visibility, shown) in [("followers", true), ("private", false), ("public", true)] {
        app.send(
            Method::PATCH,
            &format!("/api/v1/log-entries/{entry}"),
            Some(&ana.access_token),
            Some(&json!({"visibility": visibility})),
        )
        .await
        .assert_status(200);
        let top = top(&app, &reader).await;
        assert_eq!(
            top["log_entry"]["id"] == json!(entry),
            shown,
            "{visibility}: {top}"
        );
    }
    exec(
        &mut conn,
        &format!("UPDATE log_entries SET review_removed_at = now() WHERE id = {entry}"),
    )
    .await;
    let top = top(&app, &reader).await;
    assert_eq!(top["log_entry"]["id"], json!(entry));
    assert_eq!(top["log_entry"]["review_excerpt"], Value::Null, "{top}");
}

#[actix_web::test]
async fn a_heavy_authors_activity_shows_without_being_copied() {
    let app = app().await;
    let reader = app.member("reader").await;
    let other = app.member("other").await;
    let star = app.member("star").await;
    for who in [&reader, &other] {
        app.put("/api/v1/members/star/follow", &who.access_token)
            .await
            .assert_status(204);
    }
    let mut conn = app.db.connect().await;
    first_read(&app, &reader).await;
    settle(&app).await;
    // Two followers make star heavy here.
    exec(&mut conn, "UPDATE feed_settings SET heavy_followers = 2").await;
    count(&mut conn, "SELECT home_feed_heavy() AS n").await;
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM heavy_authors").await,
        1
    );
    let slug = app.film("The Wind Will Carry Us", 1999).await;
    let entry = app
        .log(&star, json!({"film": slug, "watched_on": "2026-11-22"}))
        .await;
    settle(&app).await;
    assert_eq!(timeline_entries(&mut conn, &reader).await, 0, "not copied");
    let feed = app.get("/api/v1/me/feed", Some(&reader.access_token)).await;
    assert_eq!(feed.json["items"][0]["log_entry"]["id"], json!(entry));
    assert_eq!(feed.json["items"][0]["actor"]["username"], "star");

    // A member who follows star while star is heavy: the follow's backfill copies star's past, as
    // any follow's does (bounded), and the page is the same.
    let late = app.member("late").await;
    app.put("/api/v1/members/star/follow", &late.access_token)
        .await
        .assert_status(204);
    first_read(&app, &late).await;
    settle(&app).await;
    assert_eq!(timeline_entries(&mut conn, &late).await, 1);
    assert_eq!(top(&app, &late).await["log_entry"]["id"], json!(entry));

    // No longer heavy (under 80 % of the threshold): each follower's timeline is backfilled, and
    // the pages are the same before the backfill and after.
    exec(
        &mut conn,
        "UPDATE feed_settings SET heavy_followers = 10000",
    )
    .await;
    count(&mut conn, "SELECT home_feed_heavy() AS n").await;
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM heavy_authors").await,
        0
    );
    let pending = app.get("/api/v1/me/feed", Some(&reader.access_token)).await;
    assert_eq!(pending.json["items"], feed.json["items"]);
    settle(&app).await;
    assert_eq!(
        timeline_entries(&mut conn, &reader).await,
        1,
        "star's entry"
    );
    assert_eq!(timeline_entries(&mut conn, &late).await, 1, "star's entry");
    let again = app.get("/api/v1/me/feed", Some(&reader.access_token)).await;
    assert_eq!(again.json["items"], feed.json["items"]);
}

#[actix_web::test]
async fn a_worker_killed_mid_batch_loses_nothing() {
    let app = app().await;
    let reader = app.member("reader").await;
    let ana = app.member("ana").await;
    app.put("/api/v1/members/ana/follow", &reader.access_token)
        .await
        .assert_status(204);
    first_read(&app, &reader).await;
    settle(&app).await;
    let mut conn = app.db.connect().await;
    activities(&mut conn, &ana, &reader, 50, 0).await;
    let queued = count(&mut conn, "SELECT count(*) AS n FROM feed_work").await;
    assert_eq!(queued, 50);

    // A worker claims and copies the batch, then its process dies before the commit.
    let mut worker = app.db.connect().await;
    let pid = count(&mut worker, "SELECT pg_backend_pid()::bigint AS n").await;
    exec(&mut worker, "BEGIN").await;
    let ages = filmlog_persistence::timelines::fan_out(&mut worker, filmlog_jobs::feed::BATCH)
        .await
        .unwrap_or_else(|e| panic!("fan-out: {e}"));
    assert_eq!(ages.len(), 50);
    exec(
        &mut conn,
        &format!("SELECT pg_terminate_backend({pid}) IS NOT NULL"),
    )
    .await;
    assert!(
        exec_checked(&mut worker, "COMMIT").await.is_err(),
        "the killed worker's connection is gone"
    );
    drop(worker);

    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM feed_work").await,
        50,
        "still queued"
    );
    assert_eq!(timeline_entries(&mut conn, &reader).await, 0);
    // The next worker does it, once.
    assert_eq!(settle(&app).await, 50);
    assert_eq!(timeline_entries(&mut conn, &reader).await, 50);
    assert_eq!(settle(&app).await, 0);
    assert_eq!(whole_feed(&app, &reader, 100).await.len(), 50);
}

async fn exec_checked(conn: &mut AsyncPgConnection, sql: &str) -> diesel::QueryResult<usize> {
    diesel::sql_query(sql).execute(conn).await
}

#[actix_web::test]
async fn the_running_worker_builds_and_fills_timelines() {
    let app = TestApp::spawn().await;
    let reader = app.member("reader").await;
    let ana = app.member("ana").await;
    app.put("/api/v1/members/ana/follow", &reader.access_token)
        .await
        .assert_status(204);
    first_read(&app, &reader).await;
    let mut conn = app.db.connect().await;
    let slug = app.film("Where Is the Friend's House?", 1987).await;
    app.log(&ana, json!({"film": slug, "watched_on": "2026-11-23"}))
        .await;
    // (The build may copy the entry before its own queued item is done: both settle.)
    app.until(
        &format!(
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM home_timeline_entries WHERE member_id = {}) \
             AND NOT EXISTS (SELECT 1 FROM feed_work)",
            reader.id
        ),
        "the worker built and filled the timeline, and emptied the queue",
    )
    .await;
    assert_eq!(timeline_entries(&mut conn, &reader).await, 1);
}
