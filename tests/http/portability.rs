//! Imports of Letterboxd exports built here in the format Letterboxd writes (multi-line HTML
//! reviews with doubled quotes, rewatches, overlapping files, lists, `deleted/` and `orphaned/`,
//! hostile archives), every count checked; re-imports; dry runs; a worker stopped mid-import and the
//! job resumed by another instance; exports downloaded by their signed link and imported back after
//! the account is deleted and made again; external ids and merging films.

use std::io::{Cursor, Write};
use std::time::Duration;

use filmlog_test_support::{TestApp, TestMember};
use serde_json::{Value, json};

/// A ZIP of `files` (name, bytes), deflated.
pub fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        zip.start_file(*name, options)
            .unwrap_or_else(|e| panic!("zip {name}: {e}"));
        zip.write_all(bytes)
            .unwrap_or_else(|e| panic!("zip {name}: {e}"));
    }
    zip.finish()
        .unwrap_or_else(|e| panic!("zip: {e}"))
        .into_inner()
}

/// Uploads `zip` as `POST /me/imports` does from a browser form.
pub async fn upload(
    app: &TestApp,
    token: Option<&str>,
    zip: &[u8],
    dry_run: bool,
) -> filmlog_test_support::TestResponse {
    let boundary = "filmlogboundary7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"letterboxd.zip\"\r\n\
         Content-Type: application/zip\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(zip);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let path = if dry_run {
        "/api/v1/me/imports?dry_run=true"
    } else {
        "/api/v1/me/imports"
    };
    let mut req = app
        .client
        .post(app.url(path))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    TestApp::read(req).await
}

/// Polls the job until its status is one of `until`; returns it.
pub async fn wait(app: &TestApp, token: &str, id: &str, until: &[&str]) -> Value {
    let mut last = Value::Null;
    for _ in 0..600 {
        let res = app
            .get(&format!("/api/v1/me/imports/{id}"), Some(token))
            .await;
        res.assert_status(200);
        last = res.json.clone();
        if until.iter().any(|s| last["status"] == *s) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the import never reached {until:?}: {last}");
}

/// Imports `zip` for `member` and waits for the end.
async fn import(app: &TestApp, member: &TestMember, zip: &[u8]) -> Value {
    let res = upload(app, Some(&member.access_token), zip, false).await;
    res.assert_status(202);
    let id = res.json["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/me/imports/{id}").as_str())
    );
    wait(app, &member.access_token, &id, &["done", "failed"]).await
}

/// The file named `suffix` (exactly, else the first whose name ends so).
fn file<'a>(job: &'a Value, suffix: &str) -> &'a Value {
    let files = job["files"].as_array();
    files
        .and_then(|f| f.iter().find(|f| f["file"] == suffix))
        .or_else(|| {
            files.and_then(|f| {
                f.iter()
                    .find(|f| f["file"].as_str().is_some_and(|n| n.ends_with(suffix)))
            })
        })
        .unwrap_or_else(|| panic!("no file {suffix} in {job}"))
}

/// `[rows, created, updated, unchanged, skipped]` of one file of the job.
fn counts(job: &Value, suffix: &str) -> [i64; 5] {
    let f = file(job, suffix);
    ["rows", "created", "updated", "unchanged", "skipped"].map(|k| f[k].as_i64().unwrap_or(-1))
}

const DIARY: &str = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date
2024-01-05,The Matrix,1999,https://boxd.it/d1,4.5,,\"Sci-Fi, Cannes 2019\",2024-01-04
2024-02-10,The Matrix,1999,https://boxd.it/d2,5,Yes,,2024-02-09
2024-03-01,(500) Days of Summer,2009,https://boxd.it/d3,3,,,2024-02-28
2024-03-02,Amelie,2002,https://boxd.it/d4,,,,2024-03-01
2024-03-03,Obscure Short,2015,https://boxd.it/d5,2.5,,,2024-03-03
2024-03-04,Bad Rating,2010,https://boxd.it/d6,7,,,2024-03-04
2024-03-05,Far Future,2010,https://boxd.it/d7,,,,2099-01-01
2024-01-05,The Matrix,1999,https://boxd.it/d1,4.5,,,2024-01-04
";

const REVIEWS: &str = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Review,Tags,Watched Date
2024-01-05,The Matrix,1999,https://boxd.it/d1,4.5,,\"I said \"\"whoa\"\".<br /><br /><i>Great</i> &amp; <a href=\"\"https://example.org/x\"\">a link</a>
<blockquote>There is no spoon</blockquote><script>alert(1)</script>\",,2024-01-04
2024-04-01,\"Red, White & Royal Blue\",2023,https://boxd.it/r9,4,,Fun.,,
";

const RATINGS: &str = "Date,Name,Year,Letterboxd URI,Rating
2024-02-10,The Matrix,1999,https://boxd.it/f1,5
2024-03-02,Amelie,2002,https://boxd.it/f4,4
2024-04-01,\"Red, White & Royal Blue\",2023,https://boxd.it/f9,0
";

const WATCHED: &str = "Date,Name,Year,Letterboxd URI
2024-01-05,The Matrix,1999,https://boxd.it/f1
2024-03-01,(500) Days of Summer,2009,https://boxd.it/f3
2024-03-03,Obscure Short,2015,https://boxd.it/f5
2024-03-09,Heat,1995,https://boxd.it/f6
";

const WATCHLIST: &str = "Date,Name,Year,Letterboxd URI
2024-05-01,Alien,1979,https://boxd.it/f7
";

const LIKED: &str = "Date,Name,Year,Letterboxd URI
2024-01-05,The Matrix,1999,https://boxd.it/f1
";

const LIST: &str = "Letterboxd list export v7
Date,Name,Tags,URL,Description
2024-04-01,Best of all time,faves,https://letterboxd.com/ana/list/best/,My <b>favourites</b>

Position,Name,Year,URL,Description
1,The Matrix,1999,https://letterboxd.com/film/the-matrix/,Still great
2,Alien,1979,https://letterboxd.com/film/alien/,
";

const PROFILE: &str = "Date Joined,Username,Given Name,Family Name,Email Address,Location,Website,Bio,Pronoun,Favorite Films
2019-01-01,ana,Ana,Lima,ana@example.com,Lisbon,https://ana.example,I <i>love</i> films,she/her,
";

/// A Letterboxd export as Letterboxd zips it (a top folder), with `diary` as the diary.
fn export(diary: &str, ratings: &str) -> Vec<u8> {
    let top = "letterboxd-ana-2026-11-30-10-00-utc";
    let f = |n: &str| format!("{top}/{n}");
    zip_of(&[
        (&f("diary.csv"), diary.as_bytes().to_vec()),
        (&f("reviews.csv"), REVIEWS.as_bytes().to_vec()),
        (&f("ratings.csv"), ratings.as_bytes().to_vec()),
        (&f("watched.csv"), WATCHED.as_bytes().to_vec()),
        (&f("watchlist.csv"), WATCHLIST.as_bytes().to_vec()),
        (&f("likes/films.csv"), LIKED.as_bytes().to_vec()),
        (
            &f("likes/reviews.csv"),
            b"Date,Name\n2024-01-01,x\n".to_vec(),
        ),
        (&f("lists/best-of-all-time.csv"), LIST.as_bytes().to_vec()),
        (&f("profile.csv"), PROFILE.as_bytes().to_vec()),
        (
            &f("comments.csv"),
            b"Date,Content,Comment\n2024-01-01,x,y\n".to_vec(),
        ),
        (
            &f("deleted/diary.csv"),
            b"Date,Name,Year\n2024-01-01,Gone,2000\n2024-01-02,Gone Too,2001\n".to_vec(),
        ),
        (
            &f("orphaned/reviews.csv"),
            b"Date,Name,Year,Review\n2024-01-01,Lost,2000,meh\n".to_vec(),
        ),
    ])
}

/// The catalog the export is matched against.
async fn catalog(app: &TestApp) {
    app.film("The Matrix", 1999).await;
    app.film("500 Days of Summer", 2009).await;
    app.film("Amélie", 2001).await;
    app.film("Red, White & Royal Blue", 2023).await;
    app.film("Heat", 1995).await;
    app.film("Alien", 1979).await;
}

async fn diary(app: &TestApp, member: &TestMember) -> Vec<Value> {
    let res = app
        .get(
            &format!("/api/v1/members/{}/diary?limit=100", member.username),
            Some(&member.access_token),
        )
        .await;
    res.assert_status(200);
    res.json["items"].as_array().cloned().unwrap_or_default()
}

async fn state(app: &TestApp, member: &TestMember, slug: &str) -> Value {
    let res = app
        .get(
            &format!("/api/v1/films/{slug}/me"),
            Some(&member.access_token),
        )
        .await;
    res.assert_status(200);
    res.json.clone()
}

#[actix_web::test]
async fn a_letterboxd_export_is_imported_with_every_count_and_again_changes_nothing() {
    let app = TestApp::spawn().await;
    catalog(&app).await;
    let ana = app.member("ana").await;
    // Something Ana made in Filmlog before importing: never touched.
    app.log(
        &ana,
        json!({"film": "heat-1995", "watched_on": "2023-05-05", "rating": 1.0}),
    )
    .await;

    let job = import(&app, &ana, &export(DIARY, RATINGS)).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["source"], "letterboxd");
    // diary: 8 rows; 5 entries made (d1 with its review, d2 the rewatch, d3 by folded title, d4 a
    // year apart, d5 a new unverified film); d6 (rating 7), d7 (2099) and the repeat of d1 skipped.
    assert_eq!(counts(&job, "/diary.csv"), [8, 5, 0, 0, 3]);
    // reviews: one joined to d1 (not counted again), one standing alone (an entry without a date).
    assert_eq!(counts(&job, "/reviews.csv"), [2, 1, 0, 0, 0]);
    // ratings: The Matrix's 5 is already the current rating (the rewatch), Amélie's is new, a 0
    // is no rating.
    assert_eq!(counts(&job, "/ratings.csv"), [3, 1, 0, 1, 1]);
    // watched: three already watched by the diary, Heat by Ana in Filmlog.
    assert_eq!(counts(&job, "/watched.csv"), [4, 0, 0, 4, 0]);
    assert_eq!(counts(&job, "/watchlist.csv"), [1, 1, 0, 0, 0]);
    assert_eq!(counts(&job, "likes/films.csv"), [1, 1, 0, 0, 0]);
    // The list and its two films.
    assert_eq!(counts(&job, "best-of-all-time.csv"), [3, 3, 0, 0, 0]);
    assert_eq!(counts(&job, "/profile.csv"), [1, 1, 0, 0, 0]);
    // Reported, not imported: one row each.
    for removed in [
        "deleted/diary.csv",
        "orphaned/reviews.csv",
        "/comments.csv",
        "likes/reviews.csv",
    ] {
        assert_eq!(counts(&job, removed), [1, 0, 0, 0, 1], "{removed}");
    }
    assert_eq!(job["counts"]["created"], 13);
    assert_eq!(job["counts"]["skipped"], 8);
    assert_eq!(job["problem_count"], 8);
    assert_eq!(
        job["unmatched_count"], 2,
        "Obscure Short in diary and watched"
    );
    assert_eq!(job["unmatched"][0]["name"], "Obscure Short");
    let problems: Vec<String> = job["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            format!(
                "{} {}: {}",
                p["file"]
                    .as_str()
                    .unwrap_or("")
                    .rsplit('/')
                    .next()
                    .unwrap_or(""),
                p["line"],
                p["note"].as_str().unwrap_or("")
            )
        })
        .collect();
    for expected in [
        "diary.csv 7: rating \"7\"",
        "diary.csv 8: Watched Date: 2099-01-01 is in the future",
        "diary.csv 9: the same entry as line 2",
        "deleted",
        "orphaned",
        "comments on Letterboxd",
        "liked reviews",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{expected} in {problems:#?}"
        );
    }

    // What it made, read through the API.
    let entries = diary(&app, &ana).await;
    assert_eq!(entries.len(), 6, "5 diary rows and Heat: {entries:#?}");
    let d1 = entries
        .iter()
        .find(|e| e["watched_on"] == "2024-01-04")
        .unwrap_or_else(|| panic!("d1 in {entries:#?}"));
    assert_eq!(d1["film"]["slug"], "the-matrix-1999");
    assert_eq!(d1["rating"], 4.5);
    assert_eq!(d1["tags"], json!(["sci-fi", "cannes 2019"]));
    assert_eq!(
        d1["review"]["text"],
        "I said \"whoa\".\n\n_Great_ & a link (https://example.org/x)\n\n> There is no spoon"
    );
    let d2 = entries.iter().find(|e| e["watched_on"] == "2024-02-09");
    assert_eq!(d2.map(|e| e["rewatch"].clone()), Some(json!(true)));
    let folded = entries.iter().find(|e| e["watched_on"] == "2024-02-28");
    assert_eq!(
        folded.map(|e| e["film"]["slug"].clone()),
        Some(json!("500-days-of-summer-2009"))
    );
    let near = entries.iter().find(|e| e["watched_on"] == "2024-03-01");
    assert_eq!(
        near.map(|e| e["film"]["slug"].clone()),
        Some(json!("amelie-2001"))
    );
    let created = entries.iter().find(|e| e["watched_on"] == "2024-03-03");
    let created_slug = created
        .and_then(|e| e["film"]["slug"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(created_slug, "obscure-short-2015-imported");
    let film = app
        .get(
            &format!("/api/v1/films/{created_slug}"),
            Some(&ana.access_token),
        )
        .await;
    assert_eq!(film.json["verified"], false);
    // Ana's until an admin verifies or merges it (security review M5).
    app.get(&format!("/api/v1/films/{created_slug}"), None)
        .await
        .assert_problem(404, "not_found");
    let reviews = app
        .get(
            &format!("/api/v1/members/{}/reviews", ana.username),
            Some(&ana.access_token),
        )
        .await;
    let undated = reviews.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["film"]["slug"] == "red-white-and-royal-blue-2023")
        .cloned()
        .unwrap_or_else(|| panic!("the standalone review in {}", reviews.text));
    assert_eq!(undated["watched_on"], Value::Null);
    assert_eq!(undated["review"]["text"], "Fun.");
    // Ana's own Heat entry is as she made it.
    let heat = entries.iter().find(|e| e["film"]["slug"] == "heat-1995");
    assert_eq!(heat.map(|e| e["rating"].clone()), Some(json!(1.0)));

    let matrix = state(&app, &ana, "the-matrix-1999").await;
    assert_eq!(
        (matrix["liked"].clone(), matrix["rating"].clone()),
        (json!(true), json!(5.0))
    );
    assert_eq!(state(&app, &ana, "amelie-2001").await["rating"], 4.0);
    assert_eq!(state(&app, &ana, "alien-1979").await["in_watchlist"], true);
    let lists = app
        .get(
            &format!("/api/v1/members/{}/lists", ana.username),
            Some(&ana.access_token),
        )
        .await;
    let list = &lists.json["items"][0];
    assert_eq!(list["name"], "Best of all time");
    assert_eq!(list["tags"], json!(["faves"]));
    let list_id = list["id"].as_str().unwrap_or_default().to_owned();
    let detail = app
        .get(&format!("/api/v1/lists/{list_id}"), Some(&ana.access_token))
        .await;
    assert_eq!(
        detail.json["description"], "My **favourites**",
        "{}",
        detail.text
    );
    let list_entries = app
        .get(
            &format!("/api/v1/lists/{list_id}/entries"),
            Some(&ana.access_token),
        )
        .await;
    let films: Vec<Value> = list_entries.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| json!([e["film"]["slug"], e["notes"]]))
        .collect();
    // In the export's order (Letterboxd does not say whether a list is ranked: imported unranked).
    assert_eq!(
        films,
        vec![
            json!(["the-matrix-1999", "Still great"]),
            json!(["alien-1979", null])
        ]
    );
    let me = app.get("/api/v1/me", Some(&ana.access_token)).await;
    assert_eq!(me.json["display_name"], "Ana Lima");
    assert_eq!(me.json["location"], "Lisbon");
    assert_eq!(me.json["bio"], "I _love_ films");
    assert_eq!(app.drift().await, Vec::new(), "counters exact");

    // The same ZIP again changes nothing.
    let again = import(&app, &ana, &export(DIARY, RATINGS)).await;
    assert_eq!(again["counts"]["created"], 0, "{again}");
    assert_eq!(again["counts"]["updated"], 0, "{again}");
    assert_eq!(counts(&again, "/diary.csv"), [8, 0, 0, 5, 3]);
    assert_eq!(counts(&again, "best-of-all-time.csv"), [3, 0, 0, 3, 0]);
    assert_eq!(diary(&app, &ana).await.len(), 6);

    // A newer export: one viewing re-rated, one new viewing, Amélie re-rated.
    let newer_diary = DIARY.replace(
        "2024-03-01,(500) Days of Summer,2009,https://boxd.it/d3,3,",
        "2024-03-01,(500) Days of Summer,2009,https://boxd.it/d3,3.5,",
    ) + "2024-06-01,Heat,1995,https://boxd.it/d8,4,,,2024-05-31\n";
    let newer_ratings = RATINGS.replace(
        "Amelie,2002,https://boxd.it/f4,4",
        "Amelie,2002,https://boxd.it/f4,3",
    );
    let newer = import(&app, &ana, &export(&newer_diary, &newer_ratings)).await;
    assert_eq!(counts(&newer, "/diary.csv"), [9, 1, 1, 4, 3], "{newer}");
    assert_eq!(counts(&newer, "/ratings.csv"), [3, 0, 1, 1, 1], "{newer}");
    let entries = diary(&app, &ana).await;
    assert_eq!(entries.len(), 7);
    let rerated = entries.iter().find(|e| e["watched_on"] == "2024-02-28");
    assert_eq!(rerated.map(|e| e["rating"].clone()), Some(json!(3.5)));
    assert_eq!(state(&app, &ana, "amelie-2001").await["rating"], 3.0);

    // Ana deletes an imported entry: importing again does not bring it back.
    let d2_id = entries
        .iter()
        .find(|e| e["watched_on"] == "2024-02-09")
        .and_then(|e| e["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    app.delete(&format!("/api/v1/log-entries/{d2_id}"), &ana.access_token)
        .await
        .assert_status(204);
    let after_delete = import(&app, &ana, &export(&newer_diary, &newer_ratings)).await;
    assert_eq!(
        counts(&after_delete, "/diary.csv"),
        [9, 0, 0, 5, 4],
        "{after_delete}"
    );
    assert_eq!(diary(&app, &ana).await.len(), 6);
    assert_eq!(app.drift().await, Vec::new());

    // Every decision is listed, page by page.
    let id = after_delete["id"].as_str().unwrap_or_default();
    let mut seen = 0;
    let mut cursor = String::new();
    loop {
        let page = app
            .get(
                &format!("/api/v1/me/imports/{id}/rows?limit=7{cursor}"),
                Some(&ana.access_token),
            )
            .await;
        page.assert_status(200);
        seen += page.json["items"].as_array().map_or(0, Vec::len);
        match page.json["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    let total: i64 = after_delete["files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| f["rows"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(seen as i64, total, "every row, the joined review too");
    let only = app
        .get(
            &format!("/api/v1/me/imports/{id}/rows?only=problems"),
            Some(&ana.access_token),
        )
        .await;
    assert!(
        only.json["items"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|r| r["action"] == "skip")
    );
    app.get(
        &format!("/api/v1/me/imports/{id}/rows?only=everything"),
        Some(&ana.access_token),
    )
    .await
    .assert_problem(400, "invalid_query_parameter");
}

#[actix_web::test]
async fn a_dry_run_reports_exactly_what_confirming_then_does_and_changes_nothing_before() {
    let app = TestApp::spawn().await;
    catalog(&app).await;
    let ana = app.member("ana").await;
    let bo = app.member("bo").await;
    let zip = export(DIARY, RATINGS);
    let res = upload(&app, Some(&ana.access_token), &zip, true).await;
    res.assert_status(202);
    assert_eq!(res.json["dry_run"], true);
    let id = res.json["id"].as_str().unwrap_or_default().to_owned();
    // One open import at a time.
    upload(&app, Some(&ana.access_token), &zip, false)
        .await
        .assert_problem(409, "import_in_progress");
    let review = wait(&app, &ana.access_token, &id, &["needs_review", "failed"]).await;
    assert_eq!(review["status"], "needs_review", "{review}");
    assert_eq!(
        review["counts"]["created"], 14,
        "as in the first import, and Heat watched"
    );
    // Nothing happened: no entry, no new film, nothing on the profile.
    assert!(diary(&app, &ana).await.is_empty());
    app.get("/api/v1/films/obscure-short-2015", None)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get("/api/v1/me", Some(&ana.access_token)).await.json["display_name"],
        Value::Null
    );
    // Someone else's import is not found, whatever they do with it; no token is 401.
    for (method, path) in [
        (reqwest::Method::GET, format!("/api/v1/me/imports/{id}")),
        (
            reqwest::Method::GET,
            format!("/api/v1/me/imports/{id}/rows"),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/me/imports/{id}/confirm"),
        ),
        (reqwest::Method::DELETE, format!("/api/v1/me/imports/{id}")),
        (reqwest::Method::GET, "/api/v1/me/imports/999999".to_owned()),
    ] {
        app.send(method.clone(), &path, Some(&bo.access_token), None)
            .await
            .assert_problem(404, "not_found");
        app.send(method, &path, None, None)
            .await
            .assert_problem(401, "missing_token");
    }
    let mine = app.get("/api/v1/me/imports", Some(&bo.access_token)).await;
    assert_eq!(mine.json["items"], json!([]));

    let confirmed = app
        .post(
            &format!("/api/v1/me/imports/{id}/confirm"),
            Some(&ana.access_token),
            &json!({}),
        )
        .await;
    confirmed.assert_status(202);
    let done = wait(&app, &ana.access_token, &id, &["done", "failed"]).await;
    assert_eq!(done["status"], "done");
    for f in review["files"].as_array().into_iter().flatten() {
        let name = f["file"].as_str().unwrap_or_default();
        let applied = file(&done, name);
        assert_eq!(f, applied, "{name}: the dry run said what applying did");
    }
    assert_eq!(diary(&app, &ana).await.len(), 5);
    // Finished: neither confirmed nor cancelled again.
    app.post(
        &format!("/api/v1/me/imports/{id}/confirm"),
        Some(&ana.access_token),
        &json!({}),
    )
    .await
    .assert_problem(409, "not_awaiting_review");
    app.delete(&format!("/api/v1/me/imports/{id}"), &ana.access_token)
        .await
        .assert_problem(409, "import_finished");

    // A dry run cancelled while waiting for review is never applied.
    let res = upload(
        &app,
        Some(&ana.access_token),
        &export(
            &(DIARY.to_owned() + "2024-07-01,Alien,1979,https://boxd.it/d9,3,,,2024-06-30\n"),
            RATINGS,
        ),
        true,
    )
    .await;
    let second = res.json["id"].as_str().unwrap_or_default().to_owned();
    let waiting = wait(&app, &ana.access_token, &second, &["needs_review"]).await;
    assert_eq!(counts(&waiting, "/diary.csv"), [9, 1, 0, 5, 3]);
    app.delete(&format!("/api/v1/me/imports/{second}"), &ana.access_token)
        .await
        .assert_status(204);
    let cancelled = app
        .get(
            &format!("/api/v1/me/imports/{second}"),
            Some(&ana.access_token),
        )
        .await;
    assert_eq!(cancelled.json["status"], "cancelled");
    app.post(
        &format!("/api/v1/me/imports/{second}/confirm"),
        Some(&ana.access_token),
        &json!({}),
    )
    .await
    .assert_problem(409, "not_awaiting_review");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(diary(&app, &ana).await.len(), 5);
    let list = app.get("/api/v1/me/imports", Some(&ana.access_token)).await;
    assert_eq!(list.json["items"].as_array().map(Vec::len), Some(2));
}

#[actix_web::test]
async fn hostile_and_broken_uploads_get_a_problem_per_file_and_row_never_a_crash() {
    let app = TestApp::spawn().await;
    catalog(&app).await;
    let ana = app.member("ana").await;
    // Refused at the door.
    upload(&app, Some(&ana.access_token), b"this is not a zip", false)
        .await
        .assert_problem(422, "validation_failed");
    upload(&app, None, &zip_of(&[("diary.csv", b"x".to_vec())]), false)
        .await
        .assert_problem(401, "missing_token");
    app.post(
        "/api/v1/me/imports",
        Some(&ana.access_token),
        &json!({"file": "x"}),
    )
    .await
    .assert_problem(415, "not_multipart");
    let boundary = "b0undary";
    let no_file = TestApp::read(
        app.client
            .post(app.url("/api/v1/me/imports"))
            .bearer_auth(&ana.access_token)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--{boundary}--\r\n")),
    )
    .await;
    no_file.assert_problem(400, "missing_file");
    let mut huge = b"PK\x03\x04".to_vec();
    huge.resize(50 * 1024 * 1024 + 1, b'x');
    upload(&app, Some(&ana.access_token), &huge, false)
        .await
        .assert_problem(413, "archive_too_large");
    upload(
        &app,
        Some(&ana.access_token),
        &[0x50, 0x4b, 0x03, 0x04, 1, 2, 3],
        true,
    )
    .await
    .assert_status(202);
    let failed = wait(&app, &ana.access_token, "1", &["failed", "done"]).await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("not a ZIP")),
        "{failed}"
    );
    assert!(
        app.get("/api/v1/me/imports", Some(&ana.access_token))
            .await
            .json["items"][0]["status"]
            == "failed"
    );

    // Accepted, then read file by file: every bad part is a problem, the good parts import.
    let mut latin1 = b"Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n".to_vec();
    latin1.extend_from_slice(b"2024-01-01,Am\xe9lie,2001,https://boxd.it/x1,4,,,2024-01-01\n");
    latin1.extend_from_slice(b"2024-01-02,Heat,1995,https://boxd.it/x2,4,,,2024-01-02\n");
    latin1.extend_from_slice(b"2024-01-03,Alien,1979,https://boxd.it/x3,4,,,31/01/2024\n");
    latin1.extend_from_slice(b"2024-01-04,Alien,MCMLXXIX,https://boxd.it/x4,4,,,2024-01-04\n");
    latin1.extend_from_slice(b"2024-01-05,,1979,https://boxd.it/x5,4,,,2024-01-05\n");
    latin1.extend_from_slice(b"2024-01-06,Alien,1979,https://boxd.it/x6,-1,,,1200-01-06\n");
    let utf16 = [0xFF, 0xFE, b'D', 0, b'a', 0];
    let mut bomb = Vec::new();
    bomb.resize(30 * 1024 * 1024, b'0');
    let hostile = zip_of(&[
        ("diary.csv", latin1),
        ("ratings.csv", utf16.to_vec()),
        ("watched.csv", b"Date,Title\n2024-01-01,Heat\n".to_vec()),
        ("watchlist.csv", bomb),
        ("../../etc/passwd.csv", b"root".to_vec()),
        ("/abs/diary.csv", b"x".to_vec()),
        ("lists/not-a-list.csv", b"Name,Year\nHeat,1995\n".to_vec()),
        ("README.txt", b"not a file of an export".to_vec()),
    ]);
    let job = import(&app, &ana, &hostile).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(
        counts(&job, "diary.csv"),
        [6, 1, 0, 0, 5],
        "only Heat is good: {job}"
    );
    let notes: Vec<String> = job["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            format!(
                "{} {}: {}",
                p["file"].as_str().unwrap_or(""),
                p["line"],
                p["note"].as_str().unwrap_or("")
            )
        })
        .collect();
    for expected in [
        "diary.csv 2: not UTF-8 text",
        "diary.csv 4: Watched Date: \"31/01/2024\" is not a date",
        "diary.csv 5: year \"MCMLXXIX\" is not a year",
        "diary.csv 6: the film has no name",
        "diary.csv 7: Watched Date: 1200-01-06 is before 1870",
        "ratings.csv 0: the file is UTF-16",
        "watched.csv 0: column \"Name\" is missing",
        "watchlist.csv 0: inflates",
        "../../etc/passwd.csv 0: an absolute path, a drive letter or `..`",
        "/abs/diary.csv 0: an absolute path",
        "lists/not-a-list.csv 0: not a Letterboxd list export",
    ] {
        assert!(
            notes.iter().any(|n| n.contains(expected)),
            "{expected} in {notes:#?}"
        );
    }
    assert_eq!(diary(&app, &ana).await.len(), 1);

    // A ZIP whose entry claims to be small but inflates past it stops at its claim.
    let mut lying = zip_of(&[("diary.csv", DIARY.as_bytes().to_vec())]);
    // The local header and the central directory both say the file inflates to 40 bytes.
    let size = (DIARY.len() as u32).to_le_bytes();
    let mut patched = 0;
    for i in 0..lying.len().saturating_sub(4) {
        if lying[i..i + 4] == size {
            lying[i..i + 4].copy_from_slice(&40u32.to_le_bytes());
            patched += 1;
        }
    }
    assert!(patched >= 2, "sizes found in the headers");
    let job = import(&app, &ana, &lying).await;
    let notes = job["problems"].to_string();
    assert!(notes.contains("declared"), "{job}");
    assert_eq!(
        diary(&app, &ana).await.len(),
        1,
        "nothing of the lying file"
    );
}

#[actix_web::test]
async fn a_hundred_thousand_row_file_is_streamed_and_repeats_are_skipped() {
    let app = TestApp::spawn().await;
    catalog(&app).await;
    let ana = app.member("ana").await;
    // Each row carries 200 bytes of a column the import does not read: 26 MB inflated, so a reader
    // that held a whole file would show.
    let mut diary_csv =
        String::from("Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date,Notes\n");
    // (pseudo-random letters, so that the ZIP stays under its 200:1 ratio).
    let mut x: u32 = 11;
    for _ in 0..100_000 {
        diary_csv.push_str("2024-01-05,Heat,1995,https://boxd.it/same,4,,,2024-01-04,");
        for _ in 0..200 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            diary_csv.push(char::from(b'a' + u8::try_from((x >> 16) % 26).unwrap_or(0)));
        }
        diary_csv.push('\n');
    }
    let mut removed = String::from("Date,Name,Year\n");
    for i in 0..100_000 {
        removed.push_str(&format!("2024-01-01,Gone {i},2000\n"));
    }
    let zip = zip_of(&[
        ("diary.csv", diary_csv.into_bytes()),
        ("deleted/diary.csv", removed.into_bytes()),
    ]);
    // Streamed: the 200,000 rows (held as staged rows they would take ~100 MiB) and the 29 MB of
    // inflated files never sit in memory; the process's peak grows by a few MiB (the batches, the
    // channel, the inflater).
    // Measured from the upload's answer: the job's reading, staging and applying.
    let res = upload(&app, Some(&ana.access_token), &zip, false).await;
    crate::auth::reset_peak_rss();
    let before = crate::auth::peak_rss_kib();
    res.assert_status(202);
    let id = res.json["id"].as_str().unwrap_or_default().to_owned();
    // Progress is reported while it runs.
    let mut seen_progress = false;
    for _ in 0..600 {
        let job = app
            .get(&format!("/api/v1/me/imports/{id}"), Some(&ana.access_token))
            .await;
        if job.json["progress"]["rows_total"].as_i64().unwrap_or(0) > 0 {
            seen_progress = true;
        }
        if job.json["status"] == "done" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen_progress, "progress while running");
    let job = wait(&app, &ana.access_token, &id, &["done", "failed"]).await;
    let growth_mib = crate::auth::peak_rss_kib().saturating_sub(before) / 1024;
    println!("peak RSS growth importing 200,000 rows: {growth_mib} MiB");
    assert!(growth_mib < 16, "peak RSS grew by {growth_mib} MiB");
    assert_eq!(
        counts(&job, "diary.csv"),
        [100_000, 1, 0, 0, 99_999],
        "{job}"
    );
    assert_eq!(counts(&job, "deleted/diary.csv"), [1, 0, 0, 0, 1]);
    assert_eq!(diary(&app, &ana).await.len(), 1);
}

/// Adds `n` films straight to the catalog, `Film 1` … (1950 + i % 70).
async fn many_films(app: &TestApp, n: usize) {
    use diesel_async::RunQueryDsl;
    let mut conn = app.db.connect().await;
    diesel::sql_query(format!(
        "INSERT INTO films (slug, title, year) \
         SELECT 'film-' || i || '-' || (1950 + i % 70), 'Film ' || i, 1950 + i % 70 \
         FROM generate_series(1, {n}) AS i"
    ))
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("films: {e}"));
}

fn big_diary(n: usize) -> String {
    let mut csv = String::from("Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n");
    for i in 1..=n {
        csv.push_str(&format!(
            "2024-01-01,Film {i},{},https://boxd.it/v{i},{},,,2024-01-01\n",
            1950 + i % 70,
            1 + i % 5
        ));
    }
    csv
}

#[actix_web::test]
async fn an_import_whose_worker_dies_is_resumed_by_another_instance_without_duplicates() {
    let first = TestApp::spawn_with(|c| {
        let mut p = filmlog_jobs::portability::PortabilitySettings::new(
            b"link key of the first instance!!",
        );
        p.poll = Duration::from_millis(50);
        p.batch = 20;
        c.portability = Some(p);
    })
    .await;
    many_films(&first, 400).await;
    let ana = first.member("ana").await;
    let zip = zip_of(&[("diary.csv", big_diary(400).into_bytes())]);
    let res = upload(&first, Some(&ana.access_token), &zip, false).await;
    res.assert_status(202);
    let id = res.json["id"].as_str().unwrap_or_default().to_owned();
    // Mid-apply, the first instance's worker dies.
    let mut done_then = 0;
    for _ in 0..600 {
        let job = first
            .get(&format!("/api/v1/me/imports/{id}"), Some(&ana.access_token))
            .await;
        let done = job.json["progress"]["rows_done"].as_i64().unwrap_or(0);
        if job.json["progress"]["phase"] == "apply" && done >= 40 {
            first.stop_portability_worker();
            done_then = done;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(done_then >= 40, "caught mid-apply");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stalled = first
        .get(&format!("/api/v1/me/imports/{id}"), Some(&ana.access_token))
        .await;
    assert_eq!(stalled.json["status"], "running");
    let applied = stalled.json["counts"]["created"].as_i64().unwrap_or(0);
    assert!(applied > 0 && applied < 400, "part applied: {applied}");
    assert_eq!(
        diary_count(&first, &ana).await,
        applied,
        "every applied batch committed whole"
    );
    // Its claim lapses (a minute, made now here), and another instance takes the job up.
    {
        use diesel_async::RunQueryDsl;
        let mut conn = first.db.connect().await;
        diesel::sql_query("UPDATE import_jobs SET claimed_until = now() - interval '1 second'")
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("lapse: {e}"));
    }
    let second = first.another_instance().await;
    let job = wait(&second, &ana.access_token, &id, &["done", "failed"]).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(counts(&job, "diary.csv"), [400, 400, 0, 0, 0], "{job}");
    // (`first.db` is the database both instances use.)
    assert_eq!(diary_count(&first, &ana).await, 400, "no row applied twice");
    assert_eq!(first.drift().await, Vec::new());
}

async fn diary_count(app: &TestApp, member: &TestMember) -> i64 {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.db.connect().await;
    diesel::sql_query("SELECT count(*) AS n FROM log_entries WHERE member_id = $1")
        .bind::<diesel::sql_types::BigInt, _>(member.id)
        .get_result::<N>(&mut conn)
        .await
        .map(|r| r.n)
        .unwrap_or(-1)
}

/// Everything the round trip must restore, as the API shows it to its owner.
async fn snapshot(app: &TestApp, member: &TestMember, films: &[&str]) -> Value {
    let token = Some(member.access_token.as_str());
    let u = &member.username;
    let entries = |v: &Value| -> Vec<Value> {
        let mut e: Vec<Value> = v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                json!([
                    e["film"]["slug"],
                    e["watched_on"],
                    e["rewatch"],
                    e["rating"],
                    e["review"],
                    e["tags"],
                    e["visibility"]
                ])
            })
            .collect();
        e.sort_by_key(|e| e.to_string());
        e
    };
    let diary = app
        .get(&format!("/api/v1/members/{u}/diary?limit=100"), token)
        .await;
    let reviews = app
        .get(&format!("/api/v1/members/{u}/reviews?limit=100"), token)
        .await;
    let mut states = Vec::new();
    for f in films {
        states.push(json!([
            f,
            app.get(&format!("/api/v1/films/{f}/me"), token).await.json
        ]));
    }
    let mut lists = Vec::new();
    let mine = app.get(&format!("/api/v1/members/{u}/lists"), token).await;
    for l in mine.json["items"].as_array().into_iter().flatten() {
        let id = l["id"].as_str().unwrap_or_default();
        let detail = app.get(&format!("/api/v1/lists/{id}"), token).await.json;
        let entries = app
            .get(&format!("/api/v1/lists/{id}/entries"), token)
            .await
            .json;
        let films: Vec<Value> = entries["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                json!([
                    e["rank"],
                    e["film"]["slug"],
                    e["notes"],
                    e["contains_spoilers"]
                ])
            })
            .collect();
        lists.push(json!([
            detail["name"],
            detail["description"],
            detail["ranked"],
            detail["visibility"],
            detail["tags"],
            films
        ]));
    }
    let me = app.get("/api/v1/me", token).await.json;
    json!({
        "diary": entries(&diary.json),
        "reviews": entries(&reviews.json),
        "films": states,
        "lists": lists,
        "profile": [me["display_name"], me["bio"], me["location"], me["website"], me["pronouns"]],
    })
}

/// Polls an export until it is done; returns it.
async fn export_done(app: &TestApp, token: &str, id: &str) -> Value {
    for _ in 0..600 {
        let res = app
            .get(&format!("/api/v1/me/exports/{id}"), Some(token))
            .await;
        res.assert_status(200);
        if res.json["status"] == "done" || res.json["status"] == "failed" {
            return res.json.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the export never finished");
}

#[actix_web::test]
async fn an_export_imported_into_a_new_account_restores_everything() {
    let app = TestApp::spawn().await;
    catalog(&app).await;
    let films = [
        "the-matrix-1999",
        "alien-1979",
        "heat-1995",
        "500-days-of-summer-2009",
        "amelie-2001",
    ];
    let ana = app.member("ana").await;
    let bo = app.member("bo").await;
    let t = Some(ana.access_token.as_str());
    app.log(&ana, json!({"film": "the-matrix-1999", "watched_on": "2024-01-01", "rating": 4.5,
        "tags": ["sci-fi", "cannes 2019"], "review": {"text": "Whoa.\n\n> no spoon", "contains_spoilers": true},
        "visibility": "followers"})).await;
    app.log(&ana, json!({"film": "the-matrix-1999", "watched_on": "2024-02-01", "rewatch": true, "rating": 5.0})).await;
    app.log(&ana, json!({"film": "alien-1979", "review": {"text": "Undated thoughts, \"quoted\", with, commas"}})).await;
    app.put("/api/v1/films/heat-1995/like", &ana.access_token)
        .await
        .assert_status(204);
    let rated = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/films/amelie-2001/rating",
            t,
            Some(&json!({"rating": 3.5})),
        )
        .await;
    assert!(rated.status == 200 || rated.status == 204, "{}", rated.text);
    let listed = app
        .put(
            "/api/v1/films/500-days-of-summer-2009/watchlist",
            &ana.access_token,
        )
        .await;
    assert!(
        listed.status == 200 || listed.status == 204,
        "{}",
        listed.text
    );
    app.post(
        "/api/v1/lists",
        t,
        &json!({"name": "Faves, ranked", "description": "The **best**", "ranked": true,
        "tags": ["faves"], "entries": [{"film": "alien-1979", "notes": "first, \"always\""},
        {"film": "the-matrix-1999", "contains_spoilers": true, "notes": "spoilers"}]}),
    )
    .await
    .assert_status(201);
    app.send(
        reqwest::Method::PATCH,
        "/api/v1/me",
        t,
        Some(&json!({"display_name": "Ana L", "bio": "Films.", "pronouns": "she/her"})),
    )
    .await
    .assert_status(200);
    app.put(
        &format!("/api/v1/members/{}/follow", bo.username),
        &ana.access_token,
    )
    .await;
    let before = snapshot(&app, &ana, &films).await;

    let res = app.post("/api/v1/me/exports", t, &json!({})).await;
    res.assert_status(202);
    let id = res.json["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/me/exports/{id}").as_str())
    );
    app.post("/api/v1/me/exports", None, &json!({}))
        .await
        .assert_problem(401, "missing_token");
    app.get(&format!("/api/v1/me/exports/{id}"), Some(&bo.access_token))
        .await
        .assert_problem(404, "not_found");
    let job = export_done(&app, &ana.access_token, &id).await;
    assert_eq!(job["status"], "done", "{job}");
    let url = job["download_url"].as_str().unwrap_or_default().to_owned();
    // The link needs no token; a changed or an expired one is refused.
    let download = app
        .client
        .get(app.url(&url))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(download.status(), 200);
    assert_eq!(
        download
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/zip")
    );
    let zip_bytes = download.bytes().await.unwrap_or_default().to_vec();
    assert_eq!(Some(zip_bytes.len() as i64), job["bytes"].as_i64());
    let tampered = url.replace("signature=", "signature=00");
    app.get(&tampered, None)
        .await
        .assert_problem(403, "invalid_link");
    let past = chrono::Utc::now().timestamp() - 10;
    let sig = app.state.portability.sign(
        filmlog_domain::ExportJobId::new(id.parse().unwrap_or(0)),
        past,
    );
    app.get(
        &format!("/api/v1/me/exports/{id}/download?expires={past}&signature={sig}"),
        None,
    )
    .await
    .assert_problem(410, "link_expired");
    app.get(&format!("/api/v1/me/exports/{id}/download"), None)
        .await
        .assert_problem(400, "invalid_query_parameter");

    // What the ZIP holds.
    let mut zip =
        zip::ZipArchive::new(Cursor::new(zip_bytes.clone())).unwrap_or_else(|e| panic!("zip: {e}"));
    let mut names: Vec<String> = zip.file_names().flatten().map(|n| n.into_owned()).collect();
    names.sort();
    assert_eq!(names.len(), 6, "{names:?}");
    for expected in [
        "README.txt",
        "filmlog.json",
        "letterboxd/diary.csv",
        "letterboxd/ratings.csv",
        "letterboxd/watchlist.csv",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("letterboxd/lists/Faves_ ranked-")),
        "{names:?}"
    );
    let read = |zip: &mut zip::ZipArchive<Cursor<Vec<u8>>>, name: &str| {
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut zip.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}")),
            &mut text,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        text
    };
    let document: Value = serde_json::from_str(&read(&mut zip, "filmlog.json")).unwrap_or_default();
    assert_eq!(document["format"], "filmlog-export");
    assert_eq!(document["version"], 1);
    assert_eq!(document["member"]["username"], "ana");
    assert_eq!(document["log_entries"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        document["lists"][0]["entries"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(document["following"], json!(["bo"]));
    let diary_csv = read(&mut zip, "letterboxd/diary.csv");
    let mut rows = csv::Reader::from_reader(diary_csv.as_bytes());
    let headers = rows.headers().cloned().unwrap_or_default();
    assert_eq!(&headers[3], "Title");
    let records: Vec<csv::StringRecord> = rows.records().flatten().collect();
    assert_eq!(records.len(), 3);
    assert!(
        records
            .iter()
            .any(|r| &r[10] == "Undated thoughts, \"quoted\", with, commas" && r[5].is_empty())
    );
    let ratings_csv = read(&mut zip, "letterboxd/ratings.csv");
    assert_eq!(
        ratings_csv.lines().count(),
        3,
        "the header, The Matrix and Amélie: {ratings_csv}"
    );

    // The account goes; a new one with the same name imports the export and has it all back.
    app.send(
        reqwest::Method::DELETE,
        "/api/v1/me",
        t,
        Some(&json!({"password": ana.password})),
    )
    .await
    .assert_status(204);
    let again = app.member("ana").await;
    let job = import(&app, &again, &zip_bytes).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["source"], "filmlog");
    assert_eq!(job["counts"]["skipped"], 0, "{job}");
    let after = snapshot(&app, &again, &films).await;
    assert_eq!(after, before);
    // And importing it once more changes nothing.
    let twice = import(&app, &again, &zip_bytes).await;
    assert_eq!(
        (
            twice["counts"]["created"].clone(),
            twice["counts"]["updated"].clone()
        ),
        (json!(0), json!(0)),
        "{twice}"
    );
    assert_eq!(snapshot(&app, &again, &films).await, before);
    assert_eq!(app.drift().await, Vec::new());
}

#[actix_web::test]
async fn external_ids_look_films_up_and_a_merge_moves_everything_with_exact_counters() {
    let app = TestApp::spawn().await;
    catalog(&app).await;
    let admin = app.member("admin").await;
    app.make_admin("admin").await;
    let ana = app.member("ana").await;
    let bo = app.member("bo").await;
    let a = Some(admin.access_token.as_str());
    let ids = json!({"tmdb_id": 603, "imdb_id": "tt0133093", "letterboxd_uri": "https://letterboxd.com/film/the-matrix/"});
    let res = app
        .send(
            reqwest::Method::PATCH,
            "/api/v1/films/the-matrix-1999",
            a,
            Some(&ids),
        )
        .await;
    res.assert_status(200);
    assert_eq!(
        (res.json["tmdb_id"].clone(), res.json["verified"].clone()),
        (json!(603), json!(true))
    );
    for query in [
        "tmdb_id=603",
        "imdb_id=tt0133093",
        "letterboxd_uri=https%3A%2F%2Fletterboxd.com%2Ffilm%2Fthe-matrix%2F",
    ] {
        let found = app.get(&format!("/api/v1/films?{query}"), None).await;
        found.assert_status(200);
        assert_eq!(found.json["items"][0]["slug"], "the-matrix-1999", "{query}");
        assert_eq!(found.json["items"].as_array().map(Vec::len), Some(1));
    }
    assert_eq!(
        app.get("/api/v1/films?tmdb_id=604", None).await.json["items"],
        json!([])
    );
    for bad in [
        "tmdb_id=0",
        "tmdb_id=x",
        "imdb_id=nm0000206",
        "letterboxd_uri=https://example.com/x",
        "tmdb_id=603&imdb_id=tt0133093",
        "tmdb_id=603&year=1999",
        "tmdb_id=603&q=matrix",
    ] {
        app.get(&format!("/api/v1/films?{bad}"), None)
            .await
            .assert_problem(400, "invalid_query_parameter");
    }
    app.send(
        reqwest::Method::PATCH,
        "/api/v1/films/alien-1979",
        a,
        Some(&json!({"tmdb_id": 603})),
    )
    .await
    .assert_problem(409, "external_id_taken");
    let invalid = app
        .send(
            reqwest::Method::PATCH,
            "/api/v1/films/alien-1979",
            a,
            Some(&json!({"imdb_id": "nm1", "tmdb_id": -4})),
        )
        .await;
    invalid.assert_problem(422, "validation_failed");
    assert_eq!(
        invalid.json["errors"].as_array().map(Vec::len),
        Some(2),
        "{}",
        invalid.text
    );
    app.send(
        reqwest::Method::PATCH,
        "/api/v1/films/alien-1979",
        Some(&ana.access_token),
        Some(&json!({"tmdb_id": 348})),
    )
    .await
    .assert_problem(403, "admin_only");

    // Ana's import names a film the catalog lacks: a new unverified film holds it.
    let diary_csv = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n\
                     2024-01-05,Matrix,2005,https://boxd.it/m1,4,,,2024-01-04\n";
    let watched_csv = "Date,Name,Year,Letterboxd URI\n2024-01-05,Matrix,2005,https://boxd.it/mf\n";
    let zip = zip_of(&[
        ("diary.csv", diary_csv.as_bytes().to_vec()),
        ("watched.csv", watched_csv.as_bytes().to_vec()),
    ]);
    let job = import(&app, &ana, &zip).await;
    assert_eq!(job["unmatched"][0]["film"], "matrix-2005-imported", "{job}");
    let imported = app
        .get(
            "/api/v1/films/matrix-2005-imported",
            Some(&ana.access_token),
        )
        .await;
    assert_eq!(
        imported.json["letterboxd_uri"],
        Value::Null,
        "{}",
        imported.text
    );
    // Only Ana sees her imported film (Bo gets 404 for it); Bo has the catalog's. Ana logs and
    // likes hers and lists both.
    app.put("/api/v1/films/matrix-2005-imported/like", &bo.access_token)
        .await
        .assert_problem(404, "not_found");
    app.log(&bo, json!({"film": "the-matrix-1999", "watched_on": "2024-03-01", "rating": 3.0, "review": {"text": "ok"}})).await;
    app.log(&ana, json!({"film": "matrix-2005-imported", "watched_on": "2024-03-02", "rating": 5.0, "review": {"text": "!"}})).await;
    app.put("/api/v1/films/matrix-2005-imported/like", &ana.access_token)
        .await
        .assert_status(204);
    let list = app
        .post(
            "/api/v1/lists",
            Some(&ana.access_token),
            &json!({"name": "Both",
        "entries": [{"film": "matrix-2005-imported"}, {"film": "the-matrix-1999"}, {"film": "alien-1979"}]}),
        )
        .await;
    list.assert_status(201);
    let list_id = list.json["id"].as_str().unwrap_or_default().to_owned();

    // Admins find it in their queue, oldest first, with bo's (added later); members may not read
    // the queue.
    let nowhere = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n\
                   2024-02-05,Nowhere Near,2011,https://boxd.it/nw,3,,,2024-02-04\n";
    let job = import(
        &app,
        &bo,
        &zip_of(&[("diary.csv", nowhere.as_bytes().to_vec())]),
    )
    .await;
    assert_eq!(
        job["unmatched"][0]["film"], "nowhere-near-2011-imported",
        "{job}"
    );
    let queue = "/api/v1/admin/films/unverified";
    app.get(queue, None)
        .await
        .assert_problem(401, "missing_token");
    app.get(queue, Some(&ana.access_token))
        .await
        .assert_problem(403, "admin_only");
    app.get(&format!("{queue}?limit=0"), Some(&ana.access_token))
        .await
        .assert_problem(403, "admin_only");
    app.get(&format!("{queue}?limit=0"), a)
        .await
        .assert_problem(400, "invalid_limit");
    let first = app.get(&format!("{queue}?limit=1"), a).await;
    first.assert_status(200);
    let item = &first.json["items"][0];
    assert_eq!(
        (
            first.json["items"].as_array().map(Vec::len),
            item["slug"].clone(),
            item["title"].clone(),
            item["year"].clone(),
            item["added_by"].clone(),
            item["watchers"].clone(),
        ),
        (
            Some(1),
            json!("matrix-2005-imported"),
            json!("Matrix"),
            json!(2005),
            json!("ana"),
            json!(1)
        ),
        "{}",
        first.text
    );
    let cursor = first.json["next_cursor"].as_str().unwrap_or_default();
    let second = app
        .get(&format!("{queue}?limit=1&cursor={cursor}"), a)
        .await;
    assert_eq!(
        (
            second.assert_status(200)["items"][0]["slug"].clone(),
            second.json["items"][0]["added_by"].clone(),
            second.json["next_cursor"].clone()
        ),
        (
            json!("nowhere-near-2011-imported"),
            json!("bo"),
            Value::Null
        ),
        "{}",
        second.text
    );

    // Refusals first.
    let merge = |who: Option<&str>, from: &str, into: &str| {
        let (who, from, into) = (who.map(str::to_owned), from.to_owned(), into.to_owned());
        let app = &app;
        async move {
            app.post(
                &format!("/api/v1/admin/films/{from}/merge"),
                who.as_deref(),
                &json!({"into": into}),
            )
            .await
        }
    };
    merge(None, "matrix-2005-imported", "the-matrix-1999")
        .await
        .assert_problem(401, "missing_token");
    merge(
        Some(&ana.access_token),
        "matrix-2005-imported",
        "the-matrix-1999",
    )
    .await
    .assert_problem(403, "admin_only");
    merge(a, "matrix-2005-imported", "matrix-2005-imported")
        .await
        .assert_problem(409, "same_film");
    merge(a, "matrix-2005-imported", "no-such-film-1900")
        .await
        .assert_problem(404, "not_found");
    merge(a, "no-such-film-1900", "the-matrix-1999")
        .await
        .assert_problem(404, "not_found");
    merge(a, "matrix-2005-imported", "Not A Slug")
        .await
        .assert_problem(422, "validation_failed");

    let merged = merge(a, "matrix-2005-imported", "the-matrix-1999").await;
    merged.assert_status(200);
    assert_eq!(
        (
            merged.json["members"].clone(),
            merged.json["log_entries"].clone(),
            merged.json["list_entries"].clone()
        ),
        (json!(1), json!(2), json!(0)),
        "{}",
        merged.text
    );
    app.get("/api/v1/films/matrix-2005-imported", None)
        .await
        .assert_problem(404, "not_found");
    let waiting = app.get(queue, a).await;
    let slugs: Vec<&Value> = waiting.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| &i["slug"])
        .collect();
    assert_eq!(
        slugs,
        [&json!("nowhere-near-2011-imported")],
        "{}",
        waiting.text
    );
    let stats = &merged.json["film"]["statistics"];
    assert_eq!(stats["watch_count"], 2, "{}", merged.text);
    assert_eq!(stats["review_count"], 2);
    assert_eq!(stats["list_count"], 1, "the list held both: one entry left");
    assert_eq!(merged.json["film"]["imdb_id"], "tt0133093");
    assert_eq!(app.drift().await, Vec::new(), "every counter exact");
    let entries = app
        .get(
            &format!("/api/v1/lists/{list_id}/entries"),
            Some(&ana.access_token),
        )
        .await;
    let slugs: Vec<Value> = entries.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["film"]["slug"].clone())
        .collect();
    assert_eq!(slugs, vec![json!("the-matrix-1999"), json!("alien-1979")]);
    let ana_state = state(&app, &ana, "the-matrix-1999").await;
    assert_eq!(
        (
            ana_state["liked"].clone(),
            ana_state["log_entry_count"].clone()
        ),
        (json!(true), json!(2))
    );
    let ana_diary = diary(&app, &ana).await;
    assert_eq!(ana_diary[0]["film"]["slug"], "the-matrix-1999");

    // Importing again finds the merged film through what the first import recorded: no new film.
    let again = import(&app, &ana, &zip).await;
    assert_eq!(again["counts"]["created"], 0, "{again}");
    assert_eq!(
        again["unmatched_count"], 2,
        "still unknown to the catalog by title"
    );
    app.get("/api/v1/films/matrix-2005-imported", None)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(diary(&app, &ana).await.len(), 2);
}

/// A row the database refuses (here a constraint added for the test) is rolled back alone and
/// skipped with the reason; the rest of its batch is applied, in a dry run as for real.
#[actix_web::test]
async fn a_row_the_database_refuses_is_skipped_and_the_rest_of_its_batch_applies() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    catalog(&app).await;
    let ana = app.member("ana").await;
    let mut conn = app.db.connect().await;
    diesel::sql_query(
        "ALTER TABLE log_entries ADD CONSTRAINT test_refuses_boom CHECK (review_text IS DISTINCT FROM 'boom')",
    )
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("constraint: {e}"));
    let mut diary_csv =
        String::from("Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n");
    for i in 1..=30 {
        diary_csv.push_str(&format!(
            "2024-01-{i:02},Heat,1995,https://boxd.it/b{i},3,Yes,,2024-01-{i:02}\n"
        ));
    }
    let reviews_csv = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Review,Tags,Watched Date\n\
                       2024-01-05,Heat,1995,https://boxd.it/b5,3,Yes,boom,,2024-01-05\n\
                       2024-01-06,Heat,1995,https://boxd.it/b6,3,Yes,fine,,2024-01-06\n";
    let zip = zip_of(&[
        ("diary.csv", diary_csv.into_bytes()),
        ("reviews.csv", reviews_csv.as_bytes().to_vec()),
    ]);
    let res = upload(&app, Some(&ana.access_token), &zip, true).await;
    let id = res.json["id"].as_str().unwrap_or_default().to_owned();
    let review = wait(&app, &ana.access_token, &id, &["needs_review"]).await;
    assert_eq!(counts(&review, "diary.csv"), [30, 29, 0, 0, 1], "{review}");
    assert!(
        review["problems"][0]["note"]
            .as_str()
            .is_some_and(|n| n.contains("could not be stored") && n.contains("test_refuses_boom")),
        "{review}"
    );
    assert_eq!(diary(&app, &ana).await.len(), 0);
    app.post(
        &format!("/api/v1/me/imports/{id}/confirm"),
        Some(&ana.access_token),
        &json!({}),
    )
    .await
    .assert_status(202);
    let done = wait(&app, &ana.access_token, &id, &["done", "failed"]).await;
    assert_eq!(counts(&done, "diary.csv"), [30, 29, 0, 0, 1], "{done}");
    assert_eq!(diary(&app, &ana).await.len(), 29);
    assert_eq!(app.drift().await, Vec::new());
}

/// Real concurrency: uploads racing for one member make one job; two instances' workers racing for
/// several members' jobs run each exactly once.
#[actix_web::test]
async fn racing_uploads_make_one_job_and_racing_workers_run_each_job_once() {
    let first = TestApp::spawn().await;
    many_films(&first, 120).await;
    let second = first.another_instance().await;
    let ana = first.member("ana").await;
    let zip = zip_of(&[("diary.csv", big_diary(120).into_bytes())]);
    let answers = futures_util::future::join_all((0..6).map(|i| {
        upload(
            if i % 2 == 0 { &first } else { &second },
            Some(&ana.access_token),
            &zip,
            false,
        )
    }))
    .await;
    let accepted = answers.iter().filter(|a| a.status == 202).count();
    assert_eq!(
        accepted,
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    for refused in answers.iter().filter(|a| a.status != 202) {
        refused.assert_problem(409, "import_in_progress");
    }
    let mut members = Vec::new();
    for name in ["bo", "cy", "di", "ed"] {
        members.push(first.member(name).await);
    }
    let ids = futures_util::future::join_all(members.iter().enumerate().map(|(i, m)| {
        let app = if i % 2 == 0 { &first } else { &second };
        let zip = &zip;
        async move {
            upload(app, Some(&m.access_token), zip, false).await.json["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    }))
    .await;
    for (m, id) in members.iter().zip(&ids) {
        let job = wait(&first, &m.access_token, id, &["done", "failed"]).await;
        assert_eq!(counts(&job, "diary.csv"), [120, 120, 0, 0, 0], "{job}");
        assert_eq!(diary_count(&first, m).await, 120, "applied once");
    }
    assert_eq!(first.drift().await, Vec::new());
}

/// Without a worker jobs stay queued: a second export is refused while one is open, a queued
/// export has no download, an expired one is gone, and a queued import is cancelled before it runs.
#[actix_web::test]
async fn open_exports_refuse_another_and_unfinished_or_expired_ones_have_no_download() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn_with(|c| c.portability_worker = false).await;
    let ana = app.member("ana").await;
    let t = Some(ana.access_token.as_str());
    let first = app.post("/api/v1/me/exports", t, &json!({})).await;
    first.assert_status(202);
    assert_eq!(first.json["status"], "queued");
    assert_eq!(first.json["download_url"], Value::Null);
    app.post("/api/v1/me/exports", t, &json!({}))
        .await
        .assert_problem(409, "export_in_progress");
    let id: i64 = first.json["id"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap_or(0);
    let until = chrono::Utc::now().timestamp() + 600;
    let sig = app
        .state
        .portability
        .sign(filmlog_domain::ExportJobId::new(id), until);
    let link = format!("/api/v1/me/exports/{id}/download?expires={until}&signature={sig}");
    app.get(&link, None).await.assert_problem(404, "not_found");
    // Finished long ago and expired: neither shown nor downloadable.
    let mut conn = app.db.connect().await;
    diesel::sql_query("UPDATE export_jobs SET status = 'done', bytes = 0, finished_at = now(), expires_at = now() - interval '1 second'")
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("expire: {e}"));
    app.get(&format!("/api/v1/me/exports/{id}"), t)
        .await
        .assert_problem(404, "not_found");
    app.get(&link, None).await.assert_problem(404, "not_found");

    let zip = zip_of(&[("diary.csv", DIARY.as_bytes().to_vec())]);
    let queued = upload(&app, t, &zip, false).await;
    queued.assert_status(202);
    let import = queued.json["id"].as_str().unwrap_or_default().to_owned();
    app.delete(&format!("/api/v1/me/imports/{import}"), &ana.access_token)
        .await
        .assert_status(204);
    let list = app.get("/api/v1/me/imports", t).await;
    assert_eq!(list.json["items"][0]["status"], "cancelled");
    assert!(
        list.json["items"][0].get("problems").is_none(),
        "a list shows counts only"
    );
    assert_eq!(list.json["items"][0]["problem_count"], 0);
    // A worker that comes later finds nothing to run.
    let later = app.another_instance().await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let job = later.get(&format!("/api/v1/me/imports/{import}"), t).await;
    assert_eq!(
        (
            job.json["status"].clone(),
            job.json["counts"]["created"].clone()
        ),
        (json!("cancelled"), json!(0))
    );
    assert!(diary(&app, &ana).await.is_empty());
}

/// Security review H2: a review cell of 20 MB (made so that it compresses far less than the ratio
/// limit allows) is a problem row, read in seconds; the row after it imports.
#[actix_web::test]
async fn a_twenty_megabyte_cell_is_a_problem_row_read_in_seconds() {
    let app = TestApp::spawn().await;
    catalog(&app).await;
    let ana = app.member("ana").await;
    // `<b>` and four pseudo-random letters, again and again.
    let mut cell = String::with_capacity(21 << 20);
    let mut x: u32 = 7;
    while cell.len() < 20 << 20 {
        cell.push_str("<b>");
        for _ in 0..4 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            cell.push(char::from(b'a' + u8::try_from((x >> 16) % 26).unwrap_or(0)));
        }
    }
    let reviews = format!(
        "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Review,Tags,Watched Date\n\
         2024-01-05,The Matrix,1999,https://boxd.it/d1,4.5,,\"{cell}\",,2024-01-04\n\
         2024-04-01,Alien,1979,https://boxd.it/r9,4,,Fun.,,2024-04-01\n\
         2024-04-02,{},1979,https://boxd.it/r8,4,,Long name.,,2024-04-02\n",
        "N".repeat(5000)
    );
    let zip = zip_of(&[("reviews.csv", reviews.into_bytes())]);
    let started = std::time::Instant::now();
    let job = import(&app, &ana, &zip).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert_eq!(job["status"], "done", "{job}");
    let problems = job["problems"].to_string();
    assert!(
        problems.contains("a cell of more than 1048576 bytes: longer ones are not read")
            && problems.contains("a Name of 5000 bytes: longer than 4096 are not read"),
        "{problems}"
    );
    let entries = diary(&app, &ana).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["review"]["text"], "Fun.");
}

/// Security review H2: a worker's claim is kept alive by a heartbeat while its job makes no
/// progress; the heartbeat stops as soon as the job is cancelled or another worker holds it, and
/// every write of the stale worker is refused (the claim's attempt fences it).
#[actix_web::test]
async fn a_claim_lives_by_its_heartbeat_and_a_stale_worker_writes_nothing() {
    use diesel_async::RunQueryDsl;
    use filmlog_persistence::portability as store;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let app = TestApp::spawn_with(|c| c.portability_worker = false).await;
    let ana = app.member("ana").await;
    let res = upload(
        &app,
        Some(&ana.access_token),
        &export(DIARY, RATINGS),
        false,
    )
    .await;
    res.assert_status(202);
    let id = filmlog_domain::ImportJobId::new(
        res.json["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
    );
    let mut conn = app.db.connect().await;
    let Some(job) = filmlog_persistence::jobs::claim::<store::ImportJobRow>(&mut conn, Some(id))
        .await
        .unwrap_or(None)
    else {
        panic!("no job to claim");
    };
    let lease = job.lease();
    // The claim is made to lapse in a second; the heartbeat (every 100 ms) keeps it.
    diesel::sql_query("UPDATE import_jobs SET claimed_until = now() + interval '1 second'")
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stop = Arc::new(AtomicBool::new(false));
    let beating = tokio::spawn(filmlog_jobs::portability::import::keep_claim(
        app.state.pool.clone(),
        lease,
        Duration::from_millis(100),
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        filmlog_persistence::jobs::claim::<store::ImportJobRow>(&mut conn, Some(id))
            .await
            .unwrap_or(None)
            .is_none(),
        "the job was claimed again while its worker's heartbeat ran"
    );
    assert!(!AtomicBool::load(&stop, Ordering::Relaxed));
    // Taken over (its claim lapsed, say, while the database was away): the stale worker's
    // heartbeat stops it, and none of its writes apply.
    diesel::sql_query("UPDATE import_jobs SET claimed_until = now() - interval '1 second'")
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let Some(again) = filmlog_persistence::jobs::claim::<store::ImportJobRow>(&mut conn, Some(id))
        .await
        .unwrap_or(None)
    else {
        panic!("the lapsed job was not claimed again");
    };
    assert_eq!(again.attempts, lease.attempt + 1);
    tokio::time::timeout(Duration::from_secs(2), beating)
        .await
        .unwrap_or_else(|_| panic!("the stale heartbeat went on"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(AtomicBool::load(&stop, Ordering::Relaxed));
    let progress = json!({"phase": "stage"});
    assert_eq!(
        store::import_progress(&mut conn, lease, &progress)
            .await
            .ok(),
        Some(false)
    );
    assert_eq!(
        store::import_phase(
            &mut conn,
            lease,
            filmlog_domain::portability::ImportPhase::Apply
        )
        .await
        .ok(),
        Some(false)
    );
    assert_eq!(
        store::finish_import(
            &mut conn,
            lease,
            filmlog_domain::portability::JobStatus::Done,
            filmlog_domain::portability::ImportPhase::Finished,
            None,
        )
        .await
        .ok(),
        Some(false)
    );
    assert_eq!(
        store::renew_import(&mut conn, again.lease()).await.ok(),
        Some(true)
    );
    // The new holder has staged a row; the stale worker, run again (say, resuming after a pause),
    // neither clears nor stages, and leaves the job as the new holder has it.
    let staged = store::NewImportRow {
        file: "diary.csv".into(),
        line: 2,
        kind: "problem".into(),
        source_key: None,
        item: None,
        action: Some(filmlog_domain::portability::Action::Skip),
        note: Some("the new holder's".into()),
    };
    store::stage_rows(&mut conn, id, 1, &[staged])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let settings =
        filmlog_jobs::portability::PortabilitySettings::new(b"a link key of at least 32 bytes!");
    let ran = filmlog_jobs::portability::import::run(
        &app.state.pool,
        &settings,
        job.clone(),
        &mut |_: &serde_json::Value| {},
    )
    .await;
    assert_eq!(ran, Ok(()));
    // Nor, resumed in its rehearsal, does it undo the new holder's decisions.
    let decided = store::NewImportRow {
        file: "diary.csv".into(),
        line: 3,
        kind: "entry".into(),
        source_key: Some("lb:decided".into()),
        item: Some(json!({"film": null})),
        action: Some(filmlog_domain::portability::Action::Skip),
        note: Some("decided by the new holder".into()),
    };
    store::stage_rows(&mut conn, id, 2, &[decided])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut rehearsal = job;
    rehearsal.phase = filmlog_domain::portability::ImportPhase::Apply;
    rehearsal.dry_run = true;
    let ran = filmlog_jobs::portability::import::run(
        &app.state.pool,
        &settings,
        rehearsal,
        &mut |_: &serde_json::Value| {},
    )
    .await;
    assert_eq!(ran, Ok(()));
    let (rows, phase, attempts): (i64, String, i32) = {
        use diesel::dsl::count_star;
        use diesel::{ExpressionMethods, QueryDsl};
        use filmlog_persistence::schema::{import_jobs, import_rows};
        let rows = import_rows::table
            .filter(import_rows::job_id.eq(id.get()))
            .select(count_star())
            .get_result(&mut conn)
            .await
            .unwrap_or(-1);
        let (phase, attempts) = import_jobs::table
            .find(id.get())
            .select((import_jobs::phase, import_jobs::attempts))
            .get_result(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (rows, phase, attempts)
    };
    assert_eq!(
        (rows, phase.as_str(), attempts),
        (2, "stage", again.attempts)
    );
    let action: Option<String> = {
        use diesel::{ExpressionMethods, QueryDsl};
        use filmlog_persistence::schema::import_rows;
        import_rows::table
            .filter(import_rows::job_id.eq(id.get()))
            .filter(import_rows::seq.eq(2))
            .select(import_rows::action)
            .get_result(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(action.as_deref(), Some("skip"));
}

/// Security review H2: an attempt that runs past its time budget fails the job with a message
/// saying so (it does not go back to the queue), and a job whose workers vanished on every attempt
/// is given up instead of moving from instance to instance.
#[actix_web::test]
async fn a_job_over_its_time_budget_fails_and_an_abandoned_one_is_given_up() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn_with(|c| {
        let mut p = filmlog_jobs::portability::PortabilitySettings::new(
            b"a link key of at least 32 bytes!",
        );
        p.poll = Duration::from_millis(50);
        p.job_budget = Duration::from_millis(1);
        c.portability = Some(p);
    })
    .await;
    catalog(&app).await;
    let ana = app.member("ana").await;
    let job = import(&app, &ana, &export(DIARY, RATINGS)).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(
        job["error"]
            .as_str()
            .is_some_and(|e| e.contains("time budget")),
        "{job}"
    );
    assert_eq!(diary(&app, &ana).await.len(), 0);

    // A job claimed five times whose claim lapsed each time.
    let other = TestApp::spawn_with(|c| c.portability_worker = false).await;
    let bo = other.member("bo").await;
    let res = upload(
        &other,
        Some(&bo.access_token),
        &export(DIARY, RATINGS),
        false,
    )
    .await;
    res.assert_status(202);
    let id = res.json["id"].as_str().unwrap_or_default().to_owned();
    let mut conn = other.db.connect().await;
    diesel::sql_query(
        "UPDATE import_jobs SET status = 'running', attempts = 5, claimed_until = now() - interval '1 second'",
    )
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let settings = other.state.portability.clone();
    let ran = filmlog_jobs::portability::import::run_next(
        &other.state.pool,
        &settings,
        None,
        &mut |_| {},
    )
    .await;
    assert_eq!(ran, Ok(false));
    let job = wait(&other, &bo.access_token, &id, &["failed"]).await;
    assert_eq!(
        job["error"],
        filmlog_persistence::portability::ABANDONED,
        "{job}"
    );
}

/// Sends `head` and `body` on a new connection and never sends the rest; the status line and
/// headers of the answer and how long it took.
async fn answer_to_partial_upload(app: &TestApp, head: &str, body: &[u8]) -> (String, Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let started = std::time::Instant::now();
    stream
        .write_all(head.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
    stream
        .write_all(body)
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no answer in 10 s"))
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

/// Security review L7: an upload is refused before its body is read when the member already has an
/// open import or announces more than an archive may have, and one that does not arrive within the
/// upload timeout is 408; the file is spooled to disk, not held in memory.
#[actix_web::test]
async fn uploads_are_refused_before_their_body_and_bounded_in_time() {
    let app = TestApp::spawn_with(|c| {
        c.portability_worker = false;
        c.http.upload_timeout = Duration::from_millis(700);
    })
    .await;
    let ana = app.member("ana").await;
    let boundary = "b0undary";
    let head = |length: u64| {
        format!(
            "POST /api/v1/me/imports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n",
            ana.access_token
        )
    };
    let part = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.zip\"\r\n\r\nPK\x03\x04"
    );
    // Announced larger than any archive: 413 at once.
    let (answer, took) = answer_to_partial_upload(&app, &head(60 << 20), part.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    // (Not read: a 408 would have come after the upload timeout instead.)
    assert!(took < Duration::from_millis(700), "{took:?}");
    // A body that stops arriving: 408 once the upload timeout passes.
    let (answer, took) = answer_to_partial_upload(&app, &head(40 << 20), part.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // With an open import, the next upload is 409 before its body is read.
    let first = upload(
        &app,
        Some(&ana.access_token),
        &export(DIARY, RATINGS),
        false,
    )
    .await;
    first.assert_status(202);
    let (answer, took) = answer_to_partial_upload(&app, &head(40 << 20), part.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 409 "), "{answer}");
    assert!(took < Duration::from_millis(700), "{took:?}");
    // Fields beside the file are read past within 64 KiB together; more is refused (Bo has no open
    // import).
    let bo = app.member("bo").await;
    let bulky = TestApp::read(
        app.client
            .post(app.url("/api/v1/me/imports"))
            .bearer_auth(&bo.access_token)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n{}\r\n--{boundary}--\r\n",
                "x".repeat(70 * 1024)
            )),
    )
    .await;
    bulky.assert_problem(400, "malformed_multipart");
    // The spooled archive is stored whole, chunk by chunk.
    let id = first.json["id"].as_str().unwrap_or_default();
    let job = app
        .get(&format!("/api/v1/me/imports/{id}"), Some(&ana.access_token))
        .await;
    assert_eq!(
        job.json["archive_bytes"].as_u64(),
        Some(export(DIARY, RATINGS).len() as u64)
    );
}

/// Security review M4: a list a moderator removed stays private when it is imported again with a
/// change (the rest of the change applies, as it does to an edit).
#[actix_web::test]
async fn a_removed_list_stays_private_when_imported_again() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    catalog(&app).await;
    let ana = app.member("ana").await;
    let first = import(
        &app,
        &ana,
        &zip_of(&[("lists/best.csv", LIST.as_bytes().to_vec())]),
    )
    .await;
    assert_eq!(first["status"], "done", "{first}");
    let lists = app
        .get("/api/v1/members/ana/lists", Some(&ana.access_token))
        .await;
    let id = lists.json["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        lists.json["items"][0]["visibility"], "public",
        "{}",
        lists.text
    );
    // What a moderator's removal does to a list.
    let mut conn = app.db.connect().await;
    diesel::sql_query("UPDATE lists SET removed_at = now(), visibility = 'private'")
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let edited = LIST.replace("My <b>favourites</b>", "My favourites and public again?");
    let again = import(
        &app,
        &ana,
        &zip_of(&[("lists/best.csv", edited.into_bytes())]),
    )
    .await;
    assert_eq!(again["status"], "done", "{again}");
    let list = app
        .get(&format!("/api/v1/lists/{id}"), Some(&ana.access_token))
        .await;
    assert_eq!(
        list.assert_status(200)["visibility"],
        "private",
        "{}",
        list.text
    );
    assert_eq!(
        list.json["description"], "My favourites and public again?",
        "{}",
        list.text
    );
    app.get(&format!("/api/v1/lists/{id}"), None)
        .await
        .assert_problem(404, "not_found");
}

/// Security review L6: text that a spreadsheet would run as a formula leaves in the export's CSV
/// files neutralised (a leading `'`), and the export's JSON document keeps it as written.
#[actix_web::test]
async fn exported_csv_cells_never_start_a_formula() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let film = app.film("Heat", 1995).await;
    let formula = "=HYPERLINK(\"https://evil.example\",\"click\")";
    app.log(
        &ana,
        json!({"film": film, "watched_on": "2024-01-02", "review": {"text": formula}}),
    )
    .await;
    let res = app
        .post("/api/v1/me/exports", Some(&ana.access_token), &json!({}))
        .await;
    res.assert_status(202);
    let id = res.json["id"].as_str().unwrap_or_default().to_owned();
    let job = export_done(&app, &ana.access_token, &id).await;
    let url = job["download_url"].as_str().unwrap_or_default().to_owned();
    let bytes = app
        .client
        .get(app.url(&url))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .bytes()
        .await
        .unwrap_or_default();
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap_or_else(|e| panic!("zip: {e}"));
    let mut csv_cells = 0;
    let mut json_kept = false;
    for i in 0..zip.len() {
        let mut file = zip.by_index(i).unwrap_or_else(|e| panic!("{e}"));
        let name = file.name().map(|n| n.to_string()).unwrap_or_default();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text).unwrap_or_default();
        if name.ends_with(".csv") {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            for record in reader.records().flatten() {
                for cell in record.iter() {
                    assert!(
                        !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                        "{name}: {cell}"
                    );
                    if cell == format!("'{formula}") {
                        csv_cells += 1;
                    }
                }
            }
        } else if name.ends_with(".json") {
            json_kept |= text.contains("=HYPERLINK(");
        }
    }
    assert!(csv_cells >= 1, "the review was not exported neutralised");
    assert!(json_kept, "the JSON document changed the text");
}

/// Security review M5: a film an import makes is its importer's until an admin verifies or merges
/// it: nobody else finds it (film page, search, browse, by Letterboxd URI) or acts on it, it takes
/// neither the catalog's slug nor the row's Letterboxd URI, and another member's import naming the
/// same URI is not matched to it.
#[actix_web::test]
async fn an_imported_film_is_its_importers_until_an_admin_verifies_it() {
    let app = TestApp::spawn().await;
    let (ana, bo, admin) = (
        app.member("ana").await,
        app.member("bo").await,
        app.member("root").await,
    );
    app.make_admin("root").await;
    let diary_csv = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n\
                 2024-01-05,=HYPERLINK(\"x\"),2015,https://boxd.it/squat,4,,,2024-01-04\n";
    let zip = zip_of(&[("diary.csv", diary_csv.as_bytes().to_vec())]);
    let job = import(&app, &ana, &zip).await;
    assert_eq!(job["counts"]["created"], 1, "{job}");
    let entries = diary(&app, &ana).await;
    let slug = entries[0]["film"]["slug"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(slug.ends_with("-imported"), "{slug}");
    let path = format!("/api/v1/films/{slug}");
    let mine = app.get(&path, Some(&ana.access_token)).await;
    assert_eq!(mine.assert_status(200)["verified"], false);
    assert_eq!(mine.json["letterboxd_uri"], Value::Null);
    let found = |res: &filmlog_test_support::TestResponse| {
        res.json["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|i| i["slug"] == slug.as_str()))
    };
    assert!(found(
        &app.get("/api/v1/films?q=hyperlink", Some(&ana.access_token))
            .await
    ));
    // Ana's review of it is hers to read; a film's reviews are read by its slug in one statement,
    // which applies the same rule.
    app.log(
        &ana,
        json!({"film": slug, "watched_on": "2024-02-02", "review": {"text": "Mine alone."}}),
    )
    .await;
    let reviews = app
        .get(&format!("{path}/reviews"), Some(&ana.access_token))
        .await;
    assert_eq!(
        reviews.assert_status(200)["items"].as_array().map(Vec::len),
        Some(1)
    );
    // Anyone else: nothing.
    for token in [None, Some(bo.access_token.as_str())] {
        app.get(&path, token).await.assert_problem(404, "not_found");
        app.get(&format!("{path}/statistics"), token)
            .await
            .assert_problem(404, "not_found");
        for sort in ["popular", "recent"] {
            app.get(&format!("{path}/reviews?sort={sort}"), token)
                .await
                .assert_problem(404, "not_found");
        }
        assert!(!found(&app.get("/api/v1/films?q=hyperlink", token).await));
        assert!(!found(&app.get("/api/v1/films?year=2015", token).await));
        let by_uri = app
            .get("/api/v1/films?letterboxd_uri=https://boxd.it/squat", token)
            .await;
        assert!(!found(&by_uri), "{}", by_uri.text);
    }
    app.put(&format!("{path}/like"), &bo.access_token)
        .await
        .assert_problem(404, "not_found");
    let logged = app
        .post(
            "/api/v1/log-entries",
            Some(&bo.access_token),
            &json!({"film": slug, "watched_on": "2024-02-01"}),
        )
        .await;
    // As for a film that does not exist.
    assert_eq!(
        logged.assert_problem(422, "validation_failed")["errors"][0]["code"],
        "unknown_film"
    );
    // Bo's import of the same row makes Bo's own film.
    let theirs = import(&app, &bo, &zip).await;
    assert_eq!(theirs["counts"]["created"], 1, "{theirs}");
    let bo_slug = diary(&app, &bo).await[0]["film"]["slug"].clone();
    assert_ne!(bo_slug, json!(slug));
    // Verified by an admin: everyone's.
    app.send(
        reqwest::Method::PATCH,
        &path,
        Some(&admin.access_token),
        Some(&json!({"verified": true})),
    )
    .await
    .assert_status(200);
    app.get(&path, Some(&bo.access_token))
        .await
        .assert_status(200);
}

/// Migration 000027: an unverified film that other members used while it was still public stays
/// in the shared catalog (made its importer's, it would hide their own entries, and deleting the
/// importer's account would delete them); one only its importer used stays theirs.
#[actix_web::test]
async fn an_imported_film_others_used_stays_in_the_shared_catalog() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    app.member("ana").await;
    let bo = app.member("bo").await;
    let shared = app.film("Shared Once", 2001).await;
    let alone = app.film("Alone Once", 2002).await;
    app.log(&bo, json!({"film": shared, "watched_on": "2026-11-01"}))
        .await;
    let mut conn = app.db.connect().await;
    // As 000024 left them: unverified and ana's.
    diesel::sql_query(format!(
        "UPDATE films SET verified = false, \
             added_by = (SELECT id FROM members WHERE username = 'ana') \
         WHERE slug IN ('{shared}', '{alone}')"
    ))
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let bo_sees = async |slug: &str| {
        app.get(&format!("/api/v1/films/{slug}"), Some(&bo.access_token))
            .await
            .status
    };
    assert_eq!((bo_sees(&shared).await, bo_sees(&alone).await), (404, 404));
    diesel::sql_query(include_str!(
        "../../migrations/2026-12-07-000027_shared_imported_films/up.sql"
    ))
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((bo_sees(&shared).await, bo_sees(&alone).await), (200, 404));
}

/// A list file as some real exports have it: blank padding before the format line.
const PADDED_LIST: &str = "\n  \n,,,\nLetterboxd list export v7
Date,Name,Tags,URL,Description
2024-04-01,Padded,,https://letterboxd.com/ana/list/padded/,

Position,Name,Year,URL,Description
1,The Matrix,1999,https://letterboxd.com/film/the-matrix/,
2,Alien,1979,https://letterboxd.com/film/alien/,
3,Le Fabuleux Destin d'Amélie Poulain,2001,,
4,Heat,1995,,
5,Nothing Like It,1901,,
";

#[actix_web::test]
async fn a_list_file_padded_before_its_format_line_is_read() {
    let app = TestApp::spawn().await;
    catalog(&app).await;
    // Films are found by their other titles and by their Wikipedia page too.
    {
        use diesel_async::RunQueryDsl;
        let mut conn = app.db.connect().await;
        diesel::sql_query(
            "UPDATE films SET alternative_titles = '{\"Le Fabuleux Destin d''Amélie Poulain\"}' \
             WHERE slug = 'amelie-2001'",
        )
        .execute(&mut conn)
        .await
        .expect("the other title");
        diesel::sql_query("UPDATE films SET title = 'Heat: The Director''s Cut', wikipedia_page = 'Heat_(1995_film)' WHERE slug = 'heat-1995'")
            .execute(&mut conn)
            .await
            .expect("the page");
    }
    let ana = app.member("ana").await;
    let zip = zip_of(&[("lists/padded.csv", PADDED_LIST.as_bytes().to_vec())]);
    let job = import(&app, &ana, &zip).await;
    assert_eq!(job["status"], "done", "{job}");
    let lists = app
        .get(
            &format!("/api/v1/members/{}/lists", ana.username),
            Some(&ana.access_token),
        )
        .await;
    let list = &lists.json["items"][0];
    assert_eq!(list["name"], "Padded", "{}", lists.text);
    assert_eq!(list["entry_count"], 5, "{}", lists.text);
    assert_eq!(
        (
            job["matched_count"].clone(),
            job["unmatched_count"].clone(),
            job["match_rate"].clone()
        ),
        (json!(4), json!(1), json!(0.8)),
        "{job}"
    );
    let entries = app
        .get(
            &format!(
                "/api/v1/lists/{}/entries",
                list["id"].as_str().unwrap_or_default()
            ),
            Some(&ana.access_token),
        )
        .await;
    let slugs: Vec<&str> = entries.json["items"]
        .as_array()
        .map(|i| {
            i.iter()
                .filter_map(|e| e["film"]["slug"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        &slugs[..4],
        ["the-matrix-1999", "alien-1979", "amelie-2001", "heat-1995"],
        "{}",
        entries.text
    );
}
