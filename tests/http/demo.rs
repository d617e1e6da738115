//! The demo data `make run` loads: the real catalog through the importer, and the seed loop.

use filmlog_test_support::TestApp;
use serde_json::{Value, json};

fn settings(url: &str) -> filmlog::Settings {
    let url = url.to_owned();
    filmlog::Settings::from_lookup(move |k| (k == "DATABASE_URL").then(|| url.clone()))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[actix_web::test]
async fn the_catalog_imports_with_every_bad_row_reported_and_a_second_run_changes_nothing() {
    let app = TestApp::spawn().await;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/demo/vega-movies.json"
    ))
    .unwrap_or_default();
    let rows: Vec<Value> = serde_json::from_str(&text).unwrap_or_default();
    assert_eq!(rows.len(), 3201);
    let mut conn = app.db.connect().await;
    let first = filmlog::import::import(&mut conn, &rows, false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.rows, 3201);
    assert_eq!(first.imported + first.rejected.len(), 3201);
    let reasons: std::collections::HashMap<String, usize> =
        first.by_reason.iter().cloned().collect();
    assert_eq!(reasons.get("no title"), Some(&1));
    assert_eq!(reasons.get("numeric title"), Some(&9));
    assert!(
        reasons
            .get("release date in the future")
            .is_some_and(|n| *n > 0)
    );
    assert!(
        first
            .rejected
            .iter()
            .all(|(row, reason)| *row >= 1 && !reason.is_empty())
    );

    let second = filmlog::import::import(&mut conn, &rows, false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (second.imported, second.already_present),
        (0, first.imported)
    );
    assert_eq!(second.rejected, first.rejected);
    let films = filmlog_persistence::catalog::count_films(&mut conn)
        .await
        .unwrap_or_default();
    assert_eq!(films, i64::try_from(first.imported).unwrap_or(-1));
    // Imported films are searchable and carry their director.
    let found = app.get("/api/v1/films?q=the%20land%20girls", None).await;
    assert_eq!(found.json["items"][0]["slug"], "the-land-girls-1998");
}

fn rows(file: &str) -> Vec<Value> {
    let path = format!("{}/../../data/demo/{file}", env!("CARGO_MANIFEST_DIR"));
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let text = if file.ends_with(".gz") {
        use std::io::Read;
        let mut out = String::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_string(&mut out)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        out
    } else {
        String::from_utf8(raw).unwrap_or_default()
    };
    serde_json::from_str(&text).unwrap_or_default()
}

#[actix_web::test]
async fn both_datasets_load_into_one_catalog_of_people_in_well_under_a_minute() {
    use filmlog::import::{Dataset, load};
    let app = TestApp::spawn().await;
    let (vega, wikipedia) = (rows("vega-movies.json"), rows("wikipedia-movies.json.gz"));
    assert_eq!((vega.len(), wikipedia.len()), (3201, 36273));
    let mut conn = app.db.connect().await;
    // The seed film first: a film the catalog has keeps its credits.
    let settings = settings(app.db.url());
    filmlog::seed::run(&settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let started = std::time::Instant::now();
    let datasets = [Dataset::Vega(&vega), Dataset::Wikipedia(&wikipedia)];
    let first = load(&mut conn, &datasets, false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let took = started.elapsed();
    assert!(took.as_secs() < 40, "the demo catalog took {took:?}");
    // Each dataset's rows: imported, merged with the other's, or rejected with a reason.
    assert!(first.merged > 2000, "{first:?}");
    assert!(first.imported > 36_000, "{}", first.imported);
    // Films of one title and year on the Wikipedia side (told apart by their pages) stay apart.
    for slug in ["carmen-1915", "carmen-1915-2"] {
        app.get(&format!("/api/v1/films/{slug}"), None)
            .await
            .assert_status(200);
    }
    assert!(
        first.people_added > 25_000 && first.credits_added > 130_000,
        "{first:?}"
    );
    assert!(
        first.cast_repairs.0 > 0 && first.cast_repairs.1 > 0,
        "{first:?}"
    );
    let reasons: std::collections::HashMap<String, usize> =
        first.by_reason.iter().cloned().collect();
    assert!(
        reasons.get("duplicate").is_some_and(|n| *n > 0),
        "{reasons:?}"
    );

    // One film from both datasets, with both sources, its director from vega and its cast from
    // Wikipedia.
    let film = app
        .get("/api/v1/films/to-kill-a-mockingbird-1962", None)
        .await;
    let film = film.assert_status(200);
    assert_eq!(film["sources"], json!(["vega-datasets", "wikipedia"]));
    assert_eq!(film["wikipedia_page"], "To_Kill_a_Mockingbird_(film)");
    assert_eq!(film["cast"][0]["name"], "Gregory Peck");
    assert_eq!(film["directors"][0]["name"], "Robert Mulligan");
    let peck = app.get("/api/v1/people/gregory-peck", None).await;
    let peck = peck.assert_status(200);
    assert!(
        peck["filmography"][0]["films"]
            .as_array()
            .is_some_and(|f| f.len() > 30),
        "{peck}"
    );
    // Remakes stay apart.
    for slug in ["titanic-1953", "titanic-1997"] {
        app.get(&format!("/api/v1/films/{slug}"), None)
            .await
            .assert_status(200);
    }
    // The seed film kept its credits.
    let seed = app.get("/api/v1/films/children-of-heaven-1997", None).await;
    assert_eq!(
        seed.assert_status(200)["directors"][0]["slug"],
        "majid-majidi"
    );

    let second = load(&mut conn, &datasets, false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            second.imported,
            second.enriched,
            second.people_added,
            second.credits_added
        ),
        (0, 0, 0, 0),
        "a second run changes nothing"
    );
    assert_eq!(second.undecided, first.undecided);
    let films = filmlog_persistence::catalog::count_films(&mut conn)
        .await
        .unwrap_or_default();
    assert_eq!(
        films,
        i64::try_from(first.imported).unwrap_or(-1) + 1,
        "and the seed film"
    );
}

#[actix_web::test]
async fn the_seed_shows_the_whole_loop_and_is_idempotent() {
    let app = TestApp::spawn().await;
    let settings = settings(app.db.url());
    filmlog::seed::run(&settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    filmlog::seed::run(&settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let film = app.get("/api/v1/films/children-of-heaven-1997", None).await;
    assert_eq!(film.json["directors"][0]["name"], "Majid Majidi");
    // One member's rating: counted, but its average is shown only from five ratings.
    assert_eq!(film.json["statistics"]["rating_count"], 1);
    assert_eq!(
        film.json["statistics"]["average_rating"],
        serde_json::Value::Null
    );
    assert_eq!(
        film.json["statistics"]["review_count"], 1,
        "seeding twice wrote one review"
    );
    let reviews = app
        .get("/api/v1/films/children-of-heaven-1997/reviews", None)
        .await;
    let review = reviews.json["items"][0].clone();
    assert_eq!(review["member"]["username"], "shirin");
    assert_eq!(review["rating"], 4.5);
    assert_eq!(
        (
            review["like_count"].clone(),
            review["comment_count"].clone()
        ),
        (json!(3), json!(3))
    );

    // shirin's ranked list, once, with Children of Heaven first, liked by amara.
    let lists = app.get("/api/v1/members/shirin/lists", None).await;
    let items = lists.assert_status(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 1, "seeding twice made one list");
    assert_eq!(items[0]["ranked"], true);
    let id = items[0]["id"].as_str().unwrap_or_default();
    let list = app.get(&format!("/api/v1/lists/{id}"), None).await;
    let first = &list.assert_status(200)["entries"]["items"][0];
    assert_eq!(first["film"]["slug"], "children-of-heaven-1997");
    assert_eq!(first["rank"], 1);
    assert_eq!(list.json["like_count"], 1);
    // Made once, liked once: one of each in the feed's terms.
    let activity = app.get("/api/v1/members/shirin/activity", None).await;
    let made: Vec<&Value> = activity.assert_status(200)["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["kind"] == "list_created")
        .collect();
    assert_eq!(made.len(), 1);
    assert_eq!(made[0]["list"]["films"], list.json["entry_count"]);

    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"username": "tomas", "password": filmlog::seed::DEMO_PASSWORD}),
        )
        .await;
    let token = login.assert_status(200)["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let feed = app.get("/api/v1/me/feed", Some(&token)).await;
    let items = feed.json["items"].as_array().cloned().unwrap_or_default();
    assert!(
        items.iter().any(|i| i["kind"] == "review"
            && i["actor"]["username"] == "shirin"
            && i["rating"] == 4.5),
        "{}",
        feed.text
    );
    assert_eq!(
        app.get("/api/v1/members/shirin", None).await.json["follower_count"],
        3
    );
    assert!(app.drift().await.is_empty());
}
