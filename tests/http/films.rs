use filmlog_test_support::TestApp;
use reqwest::Method;
use serde_json::json;

#[actix_web::test]
async fn a_film_comes_with_credits_and_statistics_in_one_response() {
    let app = TestApp::spawn().await;
    let admin = app.member("admin").await;
    app.make_admin("admin").await;
    let body = json!({
        "title": "Children of Heaven", "original_title": "Bacheha-Ye aseman", "year": 1997, "runtime_minutes": 89,
        "genres": ["Drama", "Family"], "countries": ["Iran"], "languages": ["Persian"],
        "directors": ["Majid Majidi"],
        "cast": [{"name": "Amir Farrokh Hashemian", "character": "Ali"}, {"name": "Bahare Seddiqi", "character": "Zahra"}]
    });
    let created = app
        .post("/api/v1/films", Some(&admin.access_token), &body)
        .await;
    created.assert_status(201);
    assert_eq!(
        created.header("location"),
        Some("/api/v1/films/children-of-heaven-1997")
    );
    let res = app.get("/api/v1/films/children-of-heaven-1997", None).await;
    let film = res.assert_status(200);
    assert_eq!(film["title"], "Children of Heaven");
    assert_eq!(film["directors"][0]["name"], "Majid Majidi");
    assert_eq!(film["cast"][1]["character"], "Zahra");
    assert_eq!(film["statistics"]["watch_count"], 0);
    // No ratings yet: no average and no histogram (they show from five ratings).
    assert_eq!(
        film["statistics"]["histogram"].as_array().map(Vec::len),
        Some(0)
    );
    assert_eq!(
        film["statistics"]["average_rating"],
        serde_json::Value::Null
    );
    let etag = res.header("etag").unwrap_or_default().to_owned();
    let again = TestApp::read(
        app.client
            .get(app.url("/api/v1/films/children-of-heaven-1997"))
            .header("if-none-match", &etag),
    )
    .await;
    assert_eq!(again.status, 304);

    app.get("/api/v1/films/no-such-film-1999", None)
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/films/Not%20A%20Slug", None)
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/films/no-such-film-1999/statistics", None)
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn only_admins_change_the_catalog_and_bad_films_are_refused() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let admin = app.member("admin").await;
    app.make_admin("admin").await;
    let film = json!({"title": "Alien", "year": 1979});
    app.post("/api/v1/films", None, &film)
        .await
        .assert_problem(401, "missing_token");
    app.post("/api/v1/films", Some(&ana.access_token), &film)
        .await
        .assert_problem(403, "admin_only");
    app.post("/api/v1/films", Some(&admin.access_token), &film)
        .await
        .assert_status(201);
    app.post("/api/v1/films", Some(&admin.access_token), &film)
        .await
        .assert_problem(409, "slug_taken");
    for (bad, pointer) in [
        (json!({"title": ""}), "/title"),
        (json!({"title": "X", "year": 1700}), "/year"),
        (
            json!({"title": "X", "release_date": "2090-01-01"}),
            "/release_date",
        ),
        (
            json!({"title": "X", "runtime_minutes": 0}),
            "/runtime_minutes",
        ),
        (
            json!({"title": "X", "poster_url": "ftp://x"}),
            "/poster_url",
        ),
        (
            json!({"title": "X", "genres": ["ok", "bad\u{0}"]}),
            "/genres/1",
        ),
        (json!({"title": "???"}), "/slug"),
        (json!({"title": "X", "slug": "Bad Slug"}), "/slug"),
    ] {
        let res = app
            .post("/api/v1/films", Some(&admin.access_token), &bad)
            .await;
        assert_eq!(
            res.assert_problem(422, "validation_failed")["errors"][0]["pointer"],
            pointer,
            "{bad}"
        );
    }
    let patch = app
        .send(
            Method::PATCH,
            "/api/v1/films/alien-1979",
            Some(&admin.access_token),
            Some(&json!({"synopsis": "In space.", "genres": ["Horror"]})),
        )
        .await;
    assert_eq!(patch.assert_status(200)["synopsis"], "In space.");
    assert_eq!(patch.json["genres"], json!(["Horror"]));
    app.send(
        Method::PATCH,
        "/api/v1/films/alien-1979",
        Some(&ana.access_token),
        Some(&json!({"synopsis": "x"})),
    )
    .await
    .assert_problem(403, "admin_only");
    app.send(
        Method::PATCH,
        "/api/v1/films/nope-1979",
        Some(&admin.access_token),
        Some(&json!({"synopsis": "x"})),
    )
    .await
    .assert_problem(404, "not_found");
    app.send(
        Method::PATCH,
        "/api/v1/films/alien-1979",
        Some(&admin.access_token),
        Some(&json!({"title": ""})),
    )
    .await
    .assert_problem(422, "validation_failed");
}

fn slugs(res: &filmlog_test_support::TestResponse) -> Vec<String> {
    res.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["slug"].as_str().map(str::to_owned))
        .collect()
}

#[actix_web::test]
async fn search_ranks_prefix_and_fuzzy_matches() {
    let app = TestApp::spawn().await;
    for (title, year) in [
        ("Heaven Can Wait", 1978),
        ("Children of Heaven", 1997),
        ("Heat", 1995),
        ("Days of Heaven", 1978),
        ("Alien", 1979),
    ] {
        app.film(title, year).await;
    }
    let res = app.get("/api/v1/films?q=heaven", None).await;
    res.assert_status(200);
    let found = slugs(&res);
    assert_eq!(
        found.first().map(String::as_str),
        Some("heaven-can-wait-1978"),
        "prefix first: {found:?}"
    );
    assert!(
        found.contains(&"children-of-heaven-1997".to_owned())
            && found.contains(&"days-of-heaven-1978".to_owned())
    );
    assert!(!found.contains(&"alien-1979".to_owned()));
    // Fuzzy: a typo still finds it.
    let typo = app.get("/api/v1/films?q=chldren%20of%20heven", None).await;
    assert_eq!(
        slugs(&typo).first().map(String::as_str),
        Some("children-of-heaven-1997")
    );
    // Filters combine with search; LIKE wildcards are literal.
    assert_eq!(
        slugs(&app.get("/api/v1/films?q=heaven&year=1997", None).await),
        ["children-of-heaven-1997"]
    );
    assert!(slugs(&app.get("/api/v1/films?q=%25", None).await).is_empty());
    // Paging through search results visits each match once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/films?q=heaven&limit=1&cursor={c}"),
            None => "/api/v1/films?q=heaven&limit=1".to_owned(),
        };
        let page = app.get(&path, None).await;
        seen.extend(slugs(&page));
        match page.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, found);
}

#[actix_web::test]
async fn browsing_filters_sorts_and_pages_without_repeats() {
    let app = TestApp::spawn().await;
    for (title, year) in [
        ("Alpha", 1990),
        ("Bravo", 1995),
        ("Charlie", 1999),
        ("Delta", 2001),
        ("Echo", 1985),
    ] {
        app.film(title, year).await;
    }
    let by_title = app.get("/api/v1/films?sort=title", None).await;
    assert_eq!(
        slugs(&by_title),
        [
            "alpha-1990",
            "bravo-1995",
            "charlie-1999",
            "delta-2001",
            "echo-1985"
        ]
    );
    let release = app.get("/api/v1/films?sort=release", None).await;
    assert_eq!(
        slugs(&release).first().map(String::as_str),
        Some("delta-2001")
    );
    assert_eq!(
        slugs(&app.get("/api/v1/films?decade=1990&sort=title", None).await),
        ["alpha-1990", "bravo-1995", "charlie-1999"]
    );
    assert_eq!(
        slugs(&app.get("/api/v1/films?year=1985", None).await),
        ["echo-1985"]
    );
    assert_eq!(
        slugs(
            &app.get("/api/v1/films?genre=Drama&sort=title&limit=2", None)
                .await
        ),
        ["alpha-1990", "bravo-1995"]
    );
    assert!(slugs(&app.get("/api/v1/films?genre=Western", None).await).is_empty());

    // Rated films first (by five members each, the fewest that show an average), highest first.
    for n in 0..5 {
        let rater = app.member(&format!("rater{n}")).await;
        for (slug, rating) in [("charlie-1999", 5.0), ("echo-1985", 2.0)] {
            app.send(
                Method::PUT,
                &format!("/api/v1/films/{slug}/rating"),
                Some(&rater.access_token),
                Some(&json!({"rating": rating})),
            )
            .await
            .assert_status(204);
        }
    }
    let rated = slugs(&app.get("/api/v1/films?sort=rating", None).await);
    assert_eq!(&rated[..2], ["charlie-1999", "echo-1985"]);
    let popular = slugs(&app.get("/api/v1/films?sort=popular", None).await);
    assert_eq!(popular.len(), 5);

    for sort in ["popular", "rating", "release", "title"] {
        let mut seen = Vec::new();
        let mut path = format!("/api/v1/films?sort={sort}&limit=2");
        loop {
            let page = app.get(&path, None).await;
            page.assert_status(200);
            seen.extend(slugs(&page));
            match page.json["next_cursor"].as_str() {
                Some(c) => path = format!("/api/v1/films?sort={sort}&limit=2&cursor={c}"),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((seen.len(), unique.len()), (5, 5), "{sort}: {seen:?}");
    }
}

#[actix_web::test]
async fn bad_list_parameters_are_400() {
    let app = TestApp::spawn().await;
    for (query, code) in [
        ("sort=best", "invalid_query_parameter"),
        ("colour=red", "invalid_query_parameter"),
        ("limit=101", "invalid_limit"),
        ("limit=0", "invalid_limit"),
        ("limit=x", "invalid_query_parameter"),
        ("cursor=garbage!", "invalid_cursor"),
        ("year=12", "invalid_query_parameter"),
        ("decade=1995", "invalid_query_parameter"),
        ("q=heaven&sort=title", "invalid_query_parameter"),
        ("q=a%00b", "invalid_query_parameter"),
        ("genre=%00", "invalid_query_parameter"),
    ] {
        app.get(&format!("/api/v1/films?{query}"), None)
            .await
            .assert_problem(400, code);
    }
    // A cursor from another list is refused, not misread.
    let other = app.get("/api/v1/films?sort=title&limit=1", None).await;
    assert!(other.json["next_cursor"].is_null());
}
