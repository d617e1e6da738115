//! Lists: create, read in order with ranks 1..n, edit the header, edit the entries in atomic batches
//! under `If-Match`, delete; every refusal; the counters.

use diesel_async::RunQueryDsl;
use filmlog_test_support::{TestApp, TestMember, TestResponse};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

/// `n` films made straight in the database; their slugs, in order.
async fn films(app: &TestApp, n: usize) -> Vec<String> {
    let mut conn = app.db.connect().await;
    diesel::sql_query(format!(
        "INSERT INTO films (slug, title, year) \
         SELECT 'bulk-film-' || g, 'Bulk film ' || g, 2000 FROM generate_series(1, {n}) g"
    ))
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("films: {e}"));
    (1..=n).map(|i| format!("bulk-film-{i}")).collect()
}

async fn create(app: &TestApp, who: &TestMember, body: Value) -> TestResponse {
    app.post("/api/v1/lists", Some(&who.access_token), &body)
        .await
}

async fn edit(
    app: &TestApp,
    who: &TestMember,
    id: &str,
    etag: Option<&str>,
    ops: Value,
) -> TestResponse {
    let mut req = app
        .client
        .patch(app.url(&format!("/api/v1/lists/{id}/entries")))
        .bearer_auth(&who.access_token)
        .json(&ops);
    if let Some(etag) = etag {
        req = req.header("if-match", etag);
    }
    TestApp::read(req).await
}

/// The ETag of a read as `who`.
async fn etag(app: &TestApp, path: &str, who: &TestMember) -> String {
    app.get(path, Some(&who.access_token))
        .await
        .header("etag")
        .unwrap_or_default()
        .to_owned()
}

fn films_of(list: &Value) -> Vec<String> {
    list["entries"]["items"]
        .as_array()
        .or_else(|| list["items"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|e| e["film"]["slug"].as_str().map(str::to_owned))
        .collect()
}

fn ranks(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["rank"].as_i64())
        .collect()
}

#[actix_web::test]
async fn a_list_is_created_read_in_order_and_paged_with_ranks_without_gaps() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let slugs = films(&app, 45).await;
    let entries: Vec<Value> = slugs
        .iter()
        .rev()
        .map(|s| json!({"film": s, "notes": format!("about {s}")}))
        .collect();
    let created = create(
        &app,
        &ana,
        json!({"name": "  Forty-five  ", "ranked": true, "tags": ["bulk"], "entries": entries}),
    )
    .await;
    let list = created.assert_status(201).clone();
    let id = list["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/lists/{id}").as_str())
    );
    assert_eq!(list["name"], "Forty-five");
    assert_eq!(list["entry_count"], 45);
    assert_eq!(list["visibility"], "public");
    assert_eq!(ranks(&list["entries"]), (1..=20).collect::<Vec<_>>());
    assert_eq!(films_of(&list)[0], slugs[44]);
    assert_eq!(
        list["entries"]["items"][0]["notes"],
        format!("about {}", slugs[44])
    );

    let read = app.get(&format!("/api/v1/lists/{id}?limit=5"), None).await;
    assert_eq!(ranks(&read.assert_status(200)["entries"]), [1, 2, 3, 4, 5]);
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => format!("/api/v1/lists/{id}/entries?limit=20"),
            Some(c) => format!("/api/v1/lists/{id}/entries?limit=20&cursor={c}"),
        };
        let page = app.get(&path, None).await;
        let body = page.assert_status(200);
        let first = all.len() as i64 + 1;
        assert_eq!(
            ranks(body),
            (first..first + ranks(body).len() as i64).collect::<Vec<_>>()
        );
        all.extend(films_of(body));
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = slugs.iter().rev().cloned().collect();
    assert_eq!(all, expected);

    // The counters: the member's lists, each film's lists.
    let me = app.get("/api/v1/members/ana/lists", None).await;
    assert_eq!(me.assert_status(200)["items"][0]["id"], id.as_str());
    assert_eq!(app.drift().await, Vec::new());
}

#[actix_web::test]
async fn creating_a_list_refuses_bad_input_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let slugs = films(&app, 3).await;
    app.post("/api/v1/lists", None, &json!({"name": "x"}))
        .await
        .assert_problem(401, "missing_token");
    for (body, pointer, code) in [
        (json!({"name": " "}), "/name", "invalid_list_name"),
        (
            json!({"name": "x".repeat(201)}),
            "/name",
            "invalid_list_name",
        ),
        (
            json!({"name": "ok", "tags": ["", "x"]}),
            "/tags/0",
            "invalid_tag",
        ),
        (
            json!({"name": "ok", "entries": [{"film": slugs[0]}, {"film": "no-such-film"}]}),
            "/entries/1/film",
            "unknown_film",
        ),
        // A NUL byte names no film (and never reaches PostgreSQL, which refuses it).
        (
            json!({"name": "ok", "entries": [{"film": "a\u{0}b"}]}),
            "/entries/0/film",
            "unknown_film",
        ),
        (
            json!({"name": "ok", "entries": [{"film": slugs[0]}, {"film": slugs[0]}]}),
            "/entries/1/film",
            "duplicate_film",
        ),
    ] {
        let res = create(&app, &ana, body.clone()).await;
        let problem = res.assert_problem(422, "validation_failed");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{body}");
        assert_eq!(problem["errors"][0]["code"], code, "{body}");
    }
    // A body serde refuses points at the field, however deep.
    for (body, pointer) in [
        (json!({"name": "ok", "entries": [{}]}), "/entries/0/film"),
        (
            json!({"name": "ok", "entries": [{"film": 7}]}),
            "/entries/0/film",
        ),
        (json!({"name": "ok", "colour": "red"}), "/colour"),
    ] {
        create(&app, &ana, body).await.assert_invalid_body(pointer);
    }
    let bad = create(&app, &ana, json!({"name": "ok", "visibility": "friends"})).await;
    bad.assert_invalid_body("/visibility");
    let lists = app.get("/api/v1/members/ana/lists", None).await;
    assert_eq!(lists.assert_status(200)["items"], json!([]));
    assert_eq!(app.drift().await, Vec::new());
}

#[actix_web::test]
async fn a_batch_applies_all_or_nothing_under_if_match() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let ben = app.member("ben").await;
    let s = films(&app, 6).await;
    let list = create(
        &app,
        &ana,
        json!({"name": "Six", "entries": [{"film": s[0]}, {"film": s[1]}, {"film": s[2]}, {"film": s[3]}]}),
    )
    .await;
    let id = list.json["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/api/v1/lists/{id}");
    let etag = etag(&app, &path, &ana).await;
    let ops = json!([
        {"op": "move", "film": s[3], "position": 1},
        {"op": "add", "film": s[4], "position": 2, "notes": "new"},
        {"op": "remove", "film": s[1]},
        {"op": "update", "film": s[0], "notes": "first", "contains_spoilers": true}
    ]);
    edit(&app, &ana, &id, None, ops.clone())
        .await
        .assert_problem(428, "precondition_required");
    edit(&app, &ana, &id, Some("\"stale\""), ops.clone())
        .await
        .assert_problem(412, "precondition_failed");
    edit(&app, &ben, &id, Some(&etag), ops.clone())
        .await
        .assert_problem(404, "not_found");
    // A batch with a bad operation changes nothing and says which one.
    for (bad, pointer, code) in [
        (
            json!({"op": "add", "film": s[0]}),
            "/1/film",
            "duplicate_film",
        ),
        (
            json!({"op": "move", "film": s[5], "position": 1}),
            "/1/film",
            "not_in_list",
        ),
        (
            json!({"op": "move", "film": s[2], "position": 9}),
            "/1/position",
            "position_out_of_range",
        ),
        (
            json!({"op": "add", "film": s[5], "position": 0}),
            "/1/position",
            "position_out_of_range",
        ),
        (
            json!({"op": "remove", "film": "no-such-film"}),
            "/1/film",
            "unknown_film",
        ),
    ] {
        let batch = json!([{"op": "move", "film": s[3], "position": 1}, bad]);
        let res = edit(&app, &ana, &id, Some(&etag), batch).await;
        let problem = res.assert_problem(422, "validation_failed");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{}", res.text);
        assert_eq!(problem["errors"][0]["code"], code, "{}", res.text);
    }
    let unchanged = app.get(&path, Some(&ana.access_token)).await;
    assert_eq!(
        unchanged.header("etag"),
        Some(etag.as_str()),
        "refused batches change nothing"
    );

    let done = edit(&app, &ana, &id, Some(&etag), ops).await;
    let body = done.assert_status(200);
    assert_eq!(
        films_of(body),
        [s[3].clone(), s[4].clone(), s[0].clone(), s[2].clone()]
    );
    assert_eq!(ranks(&body["entries"]), [1, 2, 3, 4]);
    assert_eq!(body["entries"]["items"][1]["notes"], "new");
    assert_eq!(body["entries"]["items"][2]["notes"], "first");
    assert_eq!(body["entries"]["items"][2]["contains_spoilers"], true);
    let new_etag = done.header("etag").unwrap_or_default().to_owned();
    assert_ne!(new_etag, etag);
    assert_eq!(
        app.get(&path, Some(&ana.access_token)).await.header("etag"),
        Some(new_etag.as_str()),
        "the response's ETag is the one the next edit sends"
    );
    edit(
        &app,
        &ana,
        &id,
        Some(&etag),
        json!([{"op": "remove", "film": s[0]}]),
    )
    .await
    .assert_problem(412, "precondition_failed");
    // An update sets only what it sends (`null` clears notes); several in one batch, each its own.
    let done = edit(
        &app,
        &ana,
        &id,
        Some(&new_etag),
        json!([
            {"op": "update", "film": s[0], "notes": null},
            {"op": "update", "film": s[4], "contains_spoilers": true},
            {"op": "update", "film": s[2], "notes": "  third  "}
        ]),
    )
    .await;
    let items = &done.assert_status(200)["entries"]["items"];
    let state = |i: usize| {
        (
            items[i]["notes"].clone(),
            items[i]["contains_spoilers"].clone(),
        )
    };
    assert_eq!(state(1), (json!("new"), json!(true)));
    assert_eq!(state(2), (Value::Null, json!(true)));
    assert_eq!(state(3), (json!("third"), json!(false)));
    assert_eq!(app.drift().await, Vec::new());
}

#[actix_web::test]
async fn of_two_batches_with_one_etag_one_wins_and_the_other_is_412() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let s = films(&app, 4).await;
    let list = create(
        &app,
        &ana,
        json!({"name": "Race", "entries": [{"film": s[0]}, {"film": s[1]}]}),
    )
    .await;
    let id = list.json["id"].as_str().unwrap_or_default().to_owned();
    let etag = etag(&app, &format!("/api/v1/lists/{id}"), &ana).await;
    let (app_ref, ana_ref, id_ref, etag_ref) = (&app, &ana, &id, &etag);
    let first = s[0].clone();
    let statuses: Vec<u16> = futures_util::stream::iter([2usize, 3].map(|i| {
        let film = s[i].clone();
        let first = first.clone();
        async move {
            edit(
                app_ref,
                ana_ref,
                id_ref,
                Some(etag_ref),
                json!([{"op": "add", "film": film, "position": 1}, {"op": "move", "film": first, "position": 3}]),
            )
            .await
            .status
        }
    }))
    .buffer_unordered(2)
    .collect()
    .await;
    let mut sorted = statuses.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [200, 412], "{statuses:?}");
    let read = app.get(&format!("/api/v1/lists/{id}"), None).await;
    assert_eq!(read.json["entry_count"], 3);
}

#[actix_web::test]
async fn moving_one_film_in_a_5000_film_list_writes_one_row_and_the_list_holds_no_more() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let s = films(&app, 5_001).await;
    let entries: Vec<Value> = s[..5_000].iter().map(|f| json!({"film": f})).collect();
    let list = create(
        &app,
        &ana,
        json!({"name": "Everything", "ranked": true, "entries": entries}),
    )
    .await;
    let id = list.assert_status(201)["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    #[derive(diesel::QueryableByName)]
    struct Key {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        film_id: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        sort_key: i64,
    }
    let keys = |id: String| {
        let app = &app;
        async move {
            let mut conn = app.db.connect().await;
            diesel::sql_query(format!(
                "SELECT film_id, sort_key FROM list_entries WHERE list_id = {id} ORDER BY film_id"
            ))
            .load::<Key>(&mut conn)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|k| (k.film_id, k.sort_key))
            .collect::<Vec<_>>()
        }
    };
    let before = keys(id.clone()).await;
    let etag = etag(&app, &format!("/api/v1/lists/{id}"), &ana).await;
    let moved = edit(
        &app,
        &ana,
        &id,
        Some(&etag),
        json!([{"op": "move", "film": s[4_199], "position": 2}]),
    )
    .await;
    let body = moved.assert_status(200);
    assert_eq!(films_of(body)[1], s[4_199]);
    let after = keys(id.clone()).await;
    let changed = before.iter().zip(&after).filter(|(a, b)| a != b).count();
    assert_eq!(
        changed, 1,
        "one row rewritten for a move in a 5,000-film list"
    );
    let etag = moved.header("etag").unwrap_or_default().to_owned();
    let full = edit(
        &app,
        &ana,
        &id,
        Some(&etag),
        json!([{"op": "add", "film": s[5_000]}]),
    )
    .await;
    let problem = full.assert_problem(422, "validation_failed");
    assert_eq!(problem["errors"][0]["code"], "too_many_entries");
}

#[actix_web::test]
async fn only_the_owner_edits_and_the_audience_reads() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let ben = app.member("ben").await;
    let cy = app.member("cy").await;
    app.put("/api/v1/members/ana/follow", &ben.access_token)
        .await;
    let s = films(&app, 2).await;
    let list = create(
        &app,
        &ana,
        json!({"name": "Friends only", "visibility": "followers", "entries": [{"film": s[0]}]}),
    )
    .await;
    let id = list.json["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/api/v1/lists/{id}");
    app.get(&path, Some(&ben.access_token))
        .await
        .assert_status(200);
    app.get(&path, Some(&cy.access_token))
        .await
        .assert_problem(404, "not_found");
    app.get(&path, None).await.assert_problem(404, "not_found");
    app.get(&format!("{path}/entries"), None)
        .await
        .assert_problem(404, "not_found");
    let listed = app
        .get("/api/v1/members/ana/lists", Some(&cy.access_token))
        .await;
    assert_eq!(listed.assert_status(200)["items"], json!([]));
    let for_follower = app
        .get("/api/v1/members/ana/lists", Some(&ben.access_token))
        .await;
    assert_eq!(for_follower.json["items"][0]["id"], id.as_str());

    for (method, body) in [
        (Method::PATCH, Some(json!({"name": "Mine now"}))),
        (Method::DELETE, None),
    ] {
        app.send(method, &path, Some(&ben.access_token), body.as_ref())
            .await
            .assert_problem(404, "not_found");
    }
    app.send(
        Method::PATCH,
        &path,
        Some(&ana.access_token),
        Some(&json!({"name": ""})),
    )
    .await
    .assert_problem(422, "validation_failed");
    let renamed = app
        .send(
            Method::PATCH,
            &path,
            Some(&ana.access_token),
            Some(&json!({"name": "Renamed", "visibility": "public"})),
        )
        .await;
    assert_eq!(renamed.assert_status(200)["name"], "Renamed");
    app.get(&path, None).await.assert_status(200);
    app.get("/api/v1/lists/0", None)
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/lists/abc", None)
        .await
        .assert_problem(404, "not_found");

    assert_eq!(app.delete(&path, &ana.access_token).await.status, 204);
    app.get(&path, Some(&ana.access_token))
        .await
        .assert_problem(404, "not_found");
    assert_eq!(app.drift().await, Vec::new());
}

#[actix_web::test]
async fn an_edit_beyond_the_first_page_still_changes_every_etag() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let s = films(&app, 25).await;
    let entries: Vec<Value> = s.iter().map(|f| json!({"film": f})).collect();
    let list = create(&app, &ana, json!({"name": "Long", "entries": entries})).await;
    let id = list.assert_status(201)["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let page_path = format!("/api/v1/lists/{id}/entries");
    let etag_of = |path: String| {
        let app = &app;
        let token = ana.access_token.clone();
        async move {
            app.get(&path, Some(&token))
                .await
                .header("etag")
                .unwrap_or_default()
                .to_owned()
        }
    };
    let page_etag = etag_of(page_path.clone()).await;
    let list_etag = etag_of(format!("/api/v1/lists/{id}")).await;
    assert_eq!(
        list.header("etag"),
        Some(list_etag.as_str()),
        "create answers with the ETag to edit with"
    );
    // Swap the last two (ranks 24 and 25): the first page's entries do not change.
    let moved = edit(
        &app,
        &ana,
        &id,
        Some(&page_etag),
        json!([{"op": "move", "film": s[24], "position": 24}]),
    )
    .await;
    moved.assert_status(200);
    assert_ne!(etag_of(page_path.clone()).await, page_etag);
    assert_ne!(etag_of(format!("/api/v1/lists/{id}")).await, list_etag);
    for stale in [&page_etag, &list_etag] {
        edit(
            &app,
            &ana,
            &id,
            Some(stale),
            json!([{"op": "move", "film": s[23], "position": 25}]),
        )
        .await
        .assert_problem(412, "precondition_failed");
    }
    // The header's edit takes the same ETags: a stale one is 412, the current page's applies.
    let rename = |etag: String| {
        let req = app
            .client
            .patch(app.url(&format!("/api/v1/lists/{id}")))
            .bearer_auth(&ana.access_token)
            .header("if-match", etag)
            .json(&json!({"name": "Renamed"}));
        TestApp::read(req)
    };
    rename(page_etag.clone())
        .await
        .assert_problem(412, "precondition_failed");
    let renamed = rename(etag_of(page_path.clone()).await).await;
    assert_eq!(renamed.assert_status(200)["name"], "Renamed");
}

#[actix_web::test]
async fn lists_are_liked_by_others_cloned_found_by_film_and_by_name() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let ben = app.member("ben").await;
    let cy = app.member("cy").await;
    let s = films(&app, 3).await;
    let make = async |who: &TestMember, name: &str, visibility: &str, films: &[&String]| {
        let entries: Vec<Value> = films
            .iter()
            .map(|f| json!({"film": f, "notes": "why"}))
            .collect();
        create(
            &app,
            who,
            json!({"name": name, "visibility": visibility, "ranked": true, "entries": entries}),
        )
        .await
        .assert_status(201)["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let iranian = make(&ana, "Top Iranian films", "public", &[&s[0], &s[1]]).await;
    let secret = make(&ana, "Iranian secrets", "private", &[&s[0]]).await;
    let bens = make(&ben, "Ben's iranian picks", "public", &[&s[0], &s[2]]).await;

    // Likes: idempotent, counted, never your own, refused across a block and for what you cannot see.
    let like = format!("/api/v1/lists/{iranian}/like");
    for _ in 0..2 {
        assert_eq!(app.put(&like, &ben.access_token).await.status, 204);
    }
    app.put(&like, &ana.access_token)
        .await
        .assert_problem(422, "like_own_list");
    app.put(&format!("/api/v1/lists/{secret}/like"), &ben.access_token)
        .await
        .assert_problem(404, "not_found");
    app.put("/api/v1/members/ana/block", &cy.access_token).await;
    app.put(&like, &cy.access_token)
        .await
        .assert_problem(409, "blocked");
    let read = app
        .get(&format!("/api/v1/lists/{iranian}"), Some(&ben.access_token))
        .await;
    assert_eq!(read.assert_status(200)["like_count"], 1);
    assert_eq!(
        read.json["viewer"],
        json!({"liked": true, "can_like": true})
    );
    let own = app
        .get(&format!("/api/v1/lists/{iranian}"), Some(&ana.access_token))
        .await;
    assert_eq!(
        own.json["viewer"],
        json!({"liked": false, "can_like": false})
    );
    let likers = app
        .get(&format!("/api/v1/lists/{iranian}/likes"), None)
        .await;
    assert_eq!(
        likers.assert_status(200)["items"][0]["member"]["username"],
        "ben"
    );
    assert_eq!(app.delete(&like, &ben.access_token).await.status, 204);
    assert_eq!(app.delete(&like, &ben.access_token).await.status, 204);
    app.put(&like, &ben.access_token).await;

    // A clone: ben's own copy, in the same order with its notes, crediting the original.
    let cloned = app
        .post(
            &format!("/api/v1/lists/{iranian}/clone"),
            Some(&ben.access_token),
            &json!({}),
        )
        .await;
    let copy = cloned.assert_status(201);
    assert_eq!(copy["owner"]["username"], "ben");
    assert_eq!(copy["cloned_from"], iranian.as_str());
    assert_eq!(films_of(copy), [s[0].clone(), s[1].clone()]);
    assert_eq!(copy["entries"]["items"][0]["notes"], "why");
    app.post(
        &format!("/api/v1/lists/{secret}/clone"),
        Some(&ben.access_token),
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    app.post(&format!("/api/v1/lists/{iranian}/clone"), None, &json!({}))
        .await
        .assert_problem(401, "missing_token");

    // A film's lists: popular (most liked first), recent, following; never one hidden from you.
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["id"].as_str().map(str::to_owned))
            .collect()
    };
    let film = format!("/api/v1/films/{}/lists", s[0]);
    let popular = app.get(&film, Some(&ben.access_token)).await;
    let popular = ids(popular.assert_status(200));
    assert_eq!(popular[0], iranian, "the liked list first");
    assert!(!popular.contains(&secret));
    let recent = app
        .get(&format!("{film}?sort=recent"), Some(&ana.access_token))
        .await;
    let recent = ids(recent.assert_status(200));
    assert_eq!(recent.len(), 4, "ana sees her private list too: {recent:?}");
    app.put("/api/v1/members/ben/follow", &ana.access_token)
        .await;
    let following = app
        .get(&format!("{film}?sort=following"), Some(&ana.access_token))
        .await;
    let following = ids(following.assert_status(200));
    assert!(
        following.contains(&bens) && !following.contains(&iranian),
        "{following:?}"
    );
    app.get(&format!("{film}?sort=following"), None)
        .await
        .assert_problem(401, "missing_token");
    app.get(&format!("{film}?sort=oldest"), None)
        .await
        .assert_problem(400, "invalid_query_parameter");
    app.get("/api/v1/films/no-such-film/lists", None)
        .await
        .assert_problem(404, "not_found");

    // By name, any case; what you cannot see is not found.
    let found = ids(app
        .get("/api/v1/lists?q=IRANIAN", None)
        .await
        .assert_status(200));
    assert!(
        found.contains(&iranian) && found.contains(&bens) && !found.contains(&secret),
        "{found:?}"
    );
    let none = ids(app
        .get("/api/v1/lists?q=100%25", None)
        .await
        .assert_status(200));
    assert!(none.is_empty());
    app.get("/api/v1/lists?q=", None)
        .await
        .assert_problem(400, "invalid_query_parameter");
    assert_eq!(app.drift().await, Vec::new());
}

#[actix_web::test]
async fn lists_take_comments_as_reviews_do() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let ben = app.member("ben").await;
    let cy = app.member("cy").await;
    let s = films(&app, 1).await;
    let list = create(
        &app,
        &ana,
        json!({"name": "Talk about it", "entries": [{"film": s[0]}]}),
    )
    .await;
    let id = list.json["id"].as_str().unwrap_or_default().to_owned();
    let private = create(
        &app,
        &ana,
        json!({"name": "Quiet", "visibility": "private"}),
    )
    .await;
    let private = private.json["id"].as_str().unwrap_or_default().to_owned();
    let thread = format!("/api/v1/lists/{id}/comments");

    let posted = app
        .post(
            &thread,
            Some(&ben.access_token),
            &json!({"body": "Good picks."}),
        )
        .await;
    let comment = posted.assert_status(201);
    let comment_id = comment["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        posted.header("location"),
        Some(format!("/api/v1/list-comments/{comment_id}").as_str())
    );
    assert_eq!(comment["author"]["username"], "ben");
    app.post(&thread, None, &json!({"body": "hi"}))
        .await
        .assert_problem(401, "missing_token");
    let empty = app
        .post(&thread, Some(&ben.access_token), &json!({"body": " "}))
        .await;
    assert_eq!(
        empty.assert_problem(422, "validation_failed")["errors"][0]["code"],
        "invalid_comment"
    );
    app.post(
        &format!("/api/v1/lists/{private}/comments"),
        Some(&ben.access_token),
        &json!({"body": "Can I see?"}),
    )
    .await
    .assert_problem(404, "not_found");
    app.put("/api/v1/members/ana/block", &cy.access_token).await;
    app.post(
        &thread,
        Some(&cy.access_token),
        &json!({"body": "Blocked."}),
    )
    .await
    .assert_problem(409, "blocked");

    let read = app.get(&thread, None).await;
    assert_eq!(read.assert_status(200)["items"][0]["body"], "Good picks.");
    assert_eq!(
        app.get(&format!("/api/v1/lists/{id}"), None).await.json["comment_count"],
        1
    );
    // Once ana blocks ben, his comment is a tombstone in the thread she reads.
    app.put("/api/v1/members/ben/block", &ana.access_token)
        .await;
    let seen_by_ana = app.get(&thread, Some(&ana.access_token)).await;
    assert_eq!(
        seen_by_ana.assert_status(200)["items"][0],
        json!({"id": comment_id, "hidden": "blocked"})
    );

    // Deleting: the author or the list's owner; anyone else is told it does not exist.
    let path = format!("/api/v1/list-comments/{comment_id}");
    app.delete(&path, &cy.access_token)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(app.delete(&path, &ana.access_token).await.status, 204);
    app.delete(&path, &ana.access_token)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get(&format!("/api/v1/lists/{id}"), None).await.json["comment_count"],
        0
    );
    assert_eq!(app.drift().await, Vec::new());
}

#[actix_web::test]
async fn malformed_batches_and_stale_header_edits_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let ana = app.member("ana").await;
    let s = films(&app, 2).await;
    let list = create(
        &app,
        &ana,
        json!({"name": "Steady", "entries": [{"film": s[0]}]}),
    )
    .await;
    let id = list.json["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/api/v1/lists/{id}");
    let before = etag(&app, &path, &ana).await;
    let too_many: Vec<Value> = (0..1_001)
        .map(|_| json!({"op": "update", "film": s[0]}))
        .collect();
    for (ops, pointer, code) in [
        (json!({"op": "add", "film": s[1]}), "", "expected_array"),
        (json!([]), "", "too_many_operations"),
        (Value::Array(too_many), "", "too_many_operations"),
        (
            json!([{"op": "move", "film": s[0]}]),
            "/0/position",
            "position_out_of_range",
        ),
        (
            json!([{"op": "update", "film": s[0], "notes": "bad\u{7}bell"}]),
            "/0/notes",
            "invalid_notes",
        ),
    ] {
        let res = edit(&app, &ana, &id, Some(&before), ops).await;
        let problem = res.assert_problem(422, "validation_failed");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{}", res.text);
        assert_eq!(problem["errors"][0]["code"], code, "{}", res.text);
    }
    assert_eq!(etag(&app, &path, &ana).await, before, "nothing changed");

    // The header's If-Match: stale is 412, current is 200.
    let rename = |etag: &str| {
        app.client
            .patch(app.url(&path))
            .bearer_auth(&ana.access_token)
            .header("if-match", etag)
            .json(&json!({"name": "Renamed"}))
    };
    TestApp::read(rename("\"stale\""))
        .await
        .assert_problem(412, "precondition_failed");
    assert_eq!(
        TestApp::read(rename(&before)).await.assert_status(200)["name"],
        "Renamed"
    );

    let long = "x".repeat(201);
    app.get(&format!("/api/v1/lists?q={long}"), None)
        .await
        .assert_problem(400, "invalid_query_parameter");
}

#[actix_web::test]
async fn a_members_lists_come_newest_recently_changed_or_most_liked_first() {
    let app = TestApp::spawn().await;
    let (ana, ben, cy) = (
        app.member("ana").await,
        app.member("ben").await,
        app.member("cy").await,
    );
    let mut ids = Vec::new();
    for name in ["A", "B", "C"] {
        let made = create(&app, &ana, json!({"name": name})).await;
        ids.push(
            made.assert_status(201)["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    for (who, list) in [(&ben, &ids[1]), (&cy, &ids[1]), (&ben, &ids[2])] {
        app.put(&format!("/api/v1/lists/{list}/like"), &who.access_token)
            .await
            .assert_status(204);
    }
    let req = app
        .client
        .patch(app.url(&format!("/api/v1/lists/{}", ids[0])))
        .bearer_auth(&ana.access_token)
        .json(&json!({"description": "changed last"}));
    TestApp::read(req).await.assert_status(200);
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["name"].as_str().map(str::to_owned))
            .collect()
    };
    for (sort, expected) in [
        ("", ["C", "B", "A"]),
        ("recent", ["C", "B", "A"]),
        ("updated", ["A", "C", "B"]),
        ("popular", ["B", "C", "A"]),
    ] {
        if sort.is_empty() {
            let all = app.get("/api/v1/members/ana/lists", None).await;
            assert_eq!(names(all.assert_status(200)), expected);
            continue;
        }
        let all = app
            .get(&format!("/api/v1/members/ana/lists?sort={sort}"), None)
            .await;
        assert_eq!(names(all.assert_status(200)), expected, "sort={sort}");
        // One at a time by cursor: the same order, nothing skipped or repeated.
        let mut seen = Vec::new();
        let mut path = format!("/api/v1/members/ana/lists?sort={sort}&limit=1");
        loop {
            let page = app.get(&path, None).await;
            seen.extend(names(page.assert_status(200)));
            match page.json["next_cursor"].as_str() {
                Some(c) => {
                    path = format!("/api/v1/members/ana/lists?sort={sort}&limit=1&cursor={c}")
                }
                None => break,
            }
        }
        assert_eq!(seen, expected, "paged, sort={sort}");
    }
    // A cursor of one order is refused by another; an unknown order is refused.
    let popular = app
        .get("/api/v1/members/ana/lists?sort=popular&limit=1", None)
        .await;
    let cursor = popular.json["next_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.get(
        &format!("/api/v1/members/ana/lists?sort=recent&cursor={cursor}"),
        None,
    )
    .await
    .assert_problem(400, "invalid_cursor");
    app.get("/api/v1/members/ana/lists?sort=oldest", None)
        .await
        .assert_problem(400, "invalid_query_parameter");
}
