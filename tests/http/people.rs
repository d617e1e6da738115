//! People: film pages name them by slug, their pages list their filmography as the reader may see
//! it, and admins merge and split them with a line in the catalog log.

use diesel_async::RunQueryDsl;
use filmlog_test_support::{TestApp, TestMember};
use serde_json::{Value, json};

async fn admin(app: &TestApp) -> TestMember {
    let admin = app.member("curator").await;
    app.make_admin("curator").await;
    admin
}

async fn add_film(app: &TestApp, admin: &TestMember, body: Value) -> String {
    let res = app
        .post("/api/v1/films", Some(&admin.access_token), &body)
        .await;
    res.assert_status(201)["slug"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn sql(app: &TestApp, statement: &str) -> usize {
    let mut conn = app.db.connect().await;
    diesel::sql_query(statement)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"))
}

#[actix_web::test]
async fn a_person_page_lists_their_films_by_role_with_what_the_reader_watched() {
    let app = TestApp::spawn().await;
    let curator = admin(&app).await;
    let first = add_film(
        &app,
        &curator,
        json!({"title": "Children of Heaven", "year": 1997, "directors": ["Majid Majidi"],
               "cast": [{"name": "Amir Farrokh Hashemian", "character": "Ali"}, {"name": "Majid Majidi"}]}),
    )
    .await;
    let second = add_film(
        &app,
        &curator,
        json!({"title": "The Color of Paradise", "year": 1999, "directors": ["Majid Majidi"]}),
    )
    .await;
    let film = app.get(&format!("/api/v1/films/{first}"), None).await;
    let film = film.assert_status(200);
    assert_eq!(film["directors"][0]["slug"], "majid-majidi");
    assert_eq!(film["cast"][0]["slug"], "amir-farrokh-hashemian");
    assert_eq!(film["crew"], json!([]));

    let page = app.get("/api/v1/people/majid-majidi", None).await;
    let body = page.assert_status(200);
    assert_eq!(body["name"], "Majid Majidi");
    assert_eq!(body["filmography"][0]["role"], "director");
    let directed: Vec<&str> = body["filmography"][0]["films"]
        .as_array()
        .map(|f| f.iter().filter_map(|x| x["slug"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(directed, [second.as_str(), first.as_str()], "newest first");
    assert_eq!(body["filmography"][1]["role"], "cast");
    assert!(body.get("progress").is_none(), "no token, no progress");
    // ETag and 304.
    let etag = page.header("etag").unwrap_or_default().to_owned();
    let again = TestApp::read(
        app.client
            .get(app.url("/api/v1/people/majid-majidi"))
            .header("if-none-match", &etag),
    )
    .await;
    assert_eq!(again.status, 304);

    // A reader who watched one of the two films.
    let ana = app.member("ana").await;
    let watched = app
        .put(&format!("/api/v1/films/{first}/watched"), &ana.access_token)
        .await;
    assert_eq!(watched.status, 204, "{}", watched.text);
    let seen = app
        .get("/api/v1/people/majid-majidi", Some(&ana.access_token))
        .await;
    let seen = seen.assert_status(200);
    assert_eq!(seen["progress"], json!({"watched": 1, "total": 2}));
    assert_eq!(
        seen["filmography"][0]["films"][1]["viewer"]["watched"],
        true
    );
    assert_eq!(seen["filmography"][1]["films"][0]["character"], Value::Null);

    // A film only its importer may see is neither listed nor counted for anyone else.
    sql(
        &app,
        &format!(
            "UPDATE films SET verified = false, added_by = {} WHERE slug = '{second}'",
            curator.id
        ),
    )
    .await;
    let hidden = app
        .get("/api/v1/people/majid-majidi", Some(&ana.access_token))
        .await;
    assert_eq!(
        hidden.assert_status(200)["progress"],
        json!({"watched": 1, "total": 1})
    );

    app.get("/api/v1/people/no-such-person", None)
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/people/Not%20A%20Slug", None)
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn admins_merge_and_split_people_and_each_change_is_logged() {
    let app = TestApp::spawn().await;
    let curator = admin(&app).await;
    let one = add_film(
        &app,
        &curator,
        json!({"title": "City That Never Sleeps", "year": 1953, "directors": ["John H. Auer"]}),
    )
    .await;
    let two = add_film(
        &app,
        &curator,
        json!({"title": "The Flame", "year": 1947, "directors": ["John Auer"],
               "cast": [{"name": "John Auer"}]}),
    )
    .await;
    let ana = app.member("ana").await;
    let merge = |from: &'static str, token: Option<String>, body: Value| {
        let app = &app;
        async move {
            app.post(
                &format!("/api/v1/admin/people/{from}/merge"),
                token.as_deref(),
                &body,
            )
            .await
        }
    };
    let to_auer = json!({"into": "john-h-auer"});
    merge("john-auer", None, to_auer.clone())
        .await
        .assert_problem(401, "missing_token");
    merge("john-auer", Some(ana.access_token.clone()), to_auer.clone())
        .await
        .assert_problem(403, "admin_only");
    let token = Some(curator.access_token.clone());
    merge("john-auer", token.clone(), json!({"into": "john-auer"}))
        .await
        .assert_problem(409, "same_person");
    merge("john-auer", token.clone(), json!({"into": "No Slug"}))
        .await
        .assert_problem(422, "validation_failed");
    merge("john-auer", token.clone(), json!({"into": "nobody-at-all"}))
        .await
        .assert_problem(404, "not_found");
    merge("nobody-at-all", token.clone(), to_auer.clone())
        .await
        .assert_problem(404, "not_found");
    merge(
        "john-auer",
        token.clone(),
        json!({"into": "john-h-auer", "extra": 1}),
    )
    .await
    .assert_status(422);

    let merged = merge("john-auer", token.clone(), to_auer.clone()).await;
    let merged = merged.assert_status(200);
    assert_eq!(merged["credits_moved"], 2);
    assert_eq!(merged["person"]["slug"], "john-h-auer");
    app.get("/api/v1/people/john-auer", None)
        .await
        .assert_problem(404, "not_found");
    let film = app.get(&format!("/api/v1/films/{two}"), None).await;
    assert_eq!(
        film.assert_status(200)["directors"][0]["slug"],
        "john-h-auer"
    );

    // Split: the films must credit the person; the new person takes their credits there.
    let split = |body: Value, token: Option<String>| {
        let app = &app;
        async move {
            app.post(
                "/api/v1/admin/people/john-h-auer/split",
                token.as_deref(),
                &body,
            )
            .await
        }
    };
    split(json!({"films": [two]}), Some(ana.access_token.clone()))
        .await
        .assert_problem(403, "admin_only");
    split(json!({"films": []}), token.clone())
        .await
        .assert_problem(422, "validation_failed");
    split(json!({"films": ["not a slug"]}), token.clone())
        .await
        .assert_problem(422, "validation_failed");
    let unrelated = app.film("Unrelated", 1950).await;
    let refused = split(json!({"films": [two, unrelated]}), token.clone()).await;
    let refused = refused.assert_problem(422, "validation_failed");
    assert_eq!(refused["errors"][0]["pointer"], "/films/1");
    assert_eq!(refused["errors"][0]["code"], "not_credited");
    split(json!({"films": ["no-such-film-1950"]}), token.clone())
        .await
        .assert_problem(404, "not_found");
    let made = split(json!({"films": [two]}), token.clone()).await;
    let made = made.assert_status(201);
    assert_eq!(made["credits_moved"], 2, "directing and acting in it");
    assert_eq!(made["new_person"]["slug"], "john-h-auer-2");
    assert_eq!(made["new_person"]["name"], "John H. Auer");
    let stayed = app.get("/api/v1/people/john-h-auer", None).await;
    let stayed = stayed.assert_status(200);
    assert_eq!(stayed["filmography"][0]["films"][0]["slug"], one.as_str());
    assert_eq!(stayed["filmography"].as_array().map(Vec::len), Some(1));

    let mut conn = app.db.connect().await;
    let log: Vec<(String, String, Value)> = filmlog_persistence::people::recent_log(&mut conn, 10)
        .await
        .unwrap_or_default();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0].0, "split_person");
    assert_eq!(log[0].2["films"], json!([two]));
    assert_eq!(log[1].0, "merge_people");
    assert_eq!(log[1].1, "curator");
    assert_eq!(log[1].2["from"]["slug"], "john-auer");
    // Append-only.
    let tampered = diesel::sql_query("DELETE FROM catalog_log")
        .execute(&mut conn)
        .await;
    assert!(tampered.is_err());
}
