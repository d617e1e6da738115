//! One search: typed results ranked together; case, accents, punctuation and small typos do not
//! matter; alternative titles, display names and years count; hidden things never appear.

use diesel_async::RunQueryDsl;
use filmlog_test_support::{TestApp, TestMember};
use serde_json::{Value, json};

async fn sql(app: &TestApp, statement: &str) {
    let mut conn = app.db.connect().await;
    diesel::sql_query(statement)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

async fn search(app: &TestApp, query: &str, token: Option<&str>) -> Value {
    let res = app.get(&format!("/api/v1/search?{query}"), token).await;
    res.assert_status(200).clone()
}

/// (type, slug or username or list name) of each result, in order.
fn found(body: &Value) -> Vec<(String, String)> {
    body["results"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|x| {
                    let kind = x["type"].as_str().unwrap_or_default().to_owned();
                    let id = match kind.as_str() {
                        "film" => x["film"]["slug"].clone(),
                        "person" => x["person"]["slug"].clone(),
                        "member" => x["member"]["username"].clone(),
                        _ => x["list"]["name"].clone(),
                    };
                    (kind, id.as_str().unwrap_or_default().to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn first(body: &Value) -> (String, String) {
    found(body).into_iter().next().unwrap_or_default()
}

fn has(body: &Value, kind: &str, id: &str) -> bool {
    found(body).iter().any(|(k, i)| k == kind && i == id)
}

async fn catalog(app: &TestApp) -> TestMember {
    let admin = app.member("curator").await;
    app.make_admin("curator").await;
    for body in [
        json!({"title": "Amélie", "year": 2001, "original_title": "Le Fabuleux Destin d'Amélie Poulain",
               "directors": ["Jean-Pierre Jeunet"]}),
        json!({"title": "The Godfather", "year": 1972, "directors": ["Francis Ford Coppola"]}),
        json!({"title": "The Godfather Part II", "year": 1974, "directors": ["Francis Ford Coppola"]}),
        json!({"title": "In the Mood for Love", "year": 2000, "directors": ["Wong Kar-wai"]}),
        json!({"title": "The Thing", "year": 1951}),
        json!({"title": "The Thing", "year": 1982, "directors": ["John Carpenter"]}),
        json!({"title": "Ocean's Eleven", "year": 2001}),
    ] {
        let res = app
            .post("/api/v1/films", Some(&admin.access_token), &body)
            .await;
        res.assert_status(201);
    }
    admin
}

#[actix_web::test]
async fn case_accents_punctuation_typos_and_other_titles_do_not_matter() {
    let app = TestApp::spawn().await;
    catalog(&app).await;
    let amelie = search(&app, "q=amelie", None).await;
    assert_eq!(first(&amelie), ("film".into(), "amelie-2001".into()));
    assert_eq!(amelie["query"], "amelie");
    let typo = search(&app, "q=godfater&types=film", None).await;
    assert_eq!(
        first(&typo),
        ("film".into(), "the-godfather-1972".into()),
        "{typo}"
    );
    let person = search(&app, "q=wong+kar+wai", None).await;
    assert_eq!(
        first(&person),
        ("person".into(), "wong-kar-wai".into()),
        "{person}"
    );
    assert_eq!(person["results"][0]["person"]["credit_count"], 1);
    let punctuation = search(&app, "q=OCEANS+ELEVEN", None).await;
    assert_eq!(
        first(&punctuation),
        ("film".into(), "oceans-eleven-2001".into())
    );
    let original = search(&app, "q=fabuleux+destin", None).await;
    assert_eq!(
        first(&original),
        ("film".into(), "amelie-2001".into()),
        "{original}"
    );
    // Remakes told apart by a trailing year; without one, both are found.
    let remake = search(&app, "q=the+thing+1982&types=film", None).await;
    assert_eq!(
        first(&remake),
        ("film".into(), "the-thing-1982".into()),
        "{remake}"
    );
    let older = search(&app, "q=The+Thing+(1951)&types=film", None).await;
    assert_eq!(
        first(&older),
        ("film".into(), "the-thing-1951".into()),
        "{older}"
    );
    let both = search(&app, "q=the+thing&types=film", None).await;
    assert!(has(&both, "film", "the-thing-1951") && has(&both, "film", "the-thing-1982"));
    // As you type: the start of a title or of one of its words; shorter completions first.
    let typing = search(&app, "q=godf&mode=autocomplete&types=film", None).await;
    let slugs: Vec<String> = found(&typing).into_iter().map(|(_, s)| s).collect();
    assert_eq!(slugs, ["the-godfather-1972", "the-godfather-part-ii-1974"]);
    let word = search(&app, "q=moo&mode=autocomplete", None).await;
    assert_eq!(
        first(&word),
        ("film".into(), "in-the-mood-for-love-2000".into())
    );
    let none = search(&app, "q=zzzzqqqq", None).await;
    assert_eq!(none["results"], json!([]));
    let limited = search(&app, "q=the&mode=autocomplete&limit=1", None).await;
    assert_eq!(found(&limited).len(), 1);
    // Only the kinds asked for; people as they are typed.
    let people = search(&app, "q=francis+ford&types=person", None).await;
    assert!(
        found(&people).iter().all(|(k, _)| k == "person"),
        "{people}"
    );
    assert_eq!(
        first(&people),
        ("person".into(), "francis-ford-coppola".into())
    );
    let typing = search(&app, "q=copp&mode=autocomplete&types=person,member", None).await;
    assert_eq!(
        first(&typing),
        ("person".into(), "francis-ford-coppola".into())
    );
    // A lone symbol before a year is no title: the year is the query.
    let res = app.get("/api/v1/search?q=-%201972&types=film", None).await;
    res.assert_status(200);
}

#[actix_web::test]
async fn members_are_found_by_username_and_display_name_and_lists_by_name() {
    let app = TestApp::spawn().await;
    catalog(&app).await;
    let shirin = app.member("shirin").await;
    let res = app
        .send(
            reqwest::Method::PATCH,
            "/api/v1/me",
            Some(&shirin.access_token),
            Some(&json!({"display_name": "Shirin Ahmadi"})),
        )
        .await;
    res.assert_status(200);
    let by_name = search(&app, "q=shirin", None).await;
    assert_eq!(first(&by_name), ("member".into(), "shirin".into()));
    let by_display = search(&app, "q=ahmadi&types=member", None).await;
    assert_eq!(first(&by_display), ("member".into(), "shirin".into()));
    let list = app
        .post(
            "/api/v1/lists",
            Some(&shirin.access_token),
            &json!({"name": "Iranian New Wave", "entries": [{"film": "amelie-2001"}]}),
        )
        .await;
    list.assert_status(201);
    let lists = search(&app, "q=iranian+wave&types=list", None).await;
    assert_eq!(first(&lists), ("list".into(), "Iranian New Wave".into()));
    assert_eq!(lists["results"][0]["list"]["owner"]["username"], "shirin");
}

#[actix_web::test]
async fn hidden_members_and_lists_never_appear() {
    let app = TestApp::spawn().await;
    let shirin = app.member("shirin").await;
    let tomas = app.member("tomas").await;
    let kenji = app.member("kenji").await;
    let film = app.film("Close-Up", 1990).await;
    for (who, name, visibility) in [
        (&shirin, "Kiarostami public", "public"),
        (&shirin, "Kiarostami private", "private"),
        (&tomas, "Kiarostami by tomas", "public"),
    ] {
        let res = app
            .post(
                "/api/v1/lists",
                Some(&who.access_token),
                &json!({"name": name, "visibility": visibility, "entries": [{"film": film}]}),
            )
            .await;
        res.assert_status(201);
    }
    let names = |body: &Value| -> Vec<String> {
        found(body)
            .into_iter()
            .filter(|(k, _)| k == "list")
            .map(|(_, n)| n)
            .collect()
    };
    // A private list: its owner finds it, no one else does.
    let anonymous = search(&app, "q=kiarostami", None).await;
    assert!(
        !names(&anonymous).contains(&"Kiarostami private".to_owned()),
        "{anonymous}"
    );
    assert!(names(&anonymous).contains(&"Kiarostami public".to_owned()));
    let own = search(&app, "q=kiarostami", Some(&shirin.access_token)).await;
    assert!(names(&own).contains(&"Kiarostami private".to_owned()));
    // A block hides each side from the other, member and lists.
    let res = app
        .put("/api/v1/members/kenji/block", &tomas.access_token)
        .await;
    assert!(res.status == 200 || res.status == 204, "{}", res.text);
    let blocked = search(&app, "q=kiarostami", Some(&kenji.access_token)).await;
    assert!(
        !names(&blocked).contains(&"Kiarostami by tomas".to_owned()),
        "{blocked}"
    );
    let tomas_for_kenji = search(&app, "q=tomas&types=member", Some(&kenji.access_token)).await;
    assert!(
        !has(&tomas_for_kenji, "member", "tomas"),
        "{tomas_for_kenji}"
    );
    let kenji_for_tomas = search(&app, "q=kenji&types=member", Some(&tomas.access_token)).await;
    assert!(!has(&kenji_for_tomas, "member", "kenji"));
    let tomas_for_others = search(&app, "q=tomas&types=member", Some(&shirin.access_token)).await;
    assert!(has(&tomas_for_others, "member", "tomas"));
    // A suspended member and their lists are hidden from everyone.
    sql(
        &app,
        "UPDATE members SET suspended_until = now() + interval '1 day' WHERE username = 'shirin'",
    )
    .await;
    let suspended = search(&app, "q=kiarostami", None).await;
    assert_eq!(names(&suspended), ["Kiarostami by tomas"]);
    let member = search(&app, "q=shirin&types=member", None).await;
    assert!(!has(&member, "member", "shirin"));
    // A film only its importer may see is found by them alone.
    sql(
        &app,
        &format!(
            "UPDATE films SET verified = false, added_by = {} WHERE slug = '{film}'",
            kenji.id
        ),
    )
    .await;
    let others = search(&app, "q=close+up&types=film", Some(&tomas.access_token)).await;
    assert!(!has(&others, "film", &film));
    let importer = search(&app, "q=close+up&types=film", Some(&kenji.access_token)).await;
    assert!(has(&importer, "film", &film));
}

#[actix_web::test]
async fn bad_searches_are_refused_with_a_problem() {
    let app = TestApp::spawn().await;
    for query in [
        "",
        "q=",
        "q=a",
        "q=%21%21%21",
        "q=ok&types=film,actor",
        "q=ok&mode=fuzzy",
        "q=ok&unknown=1",
        &format!("q={}", "x".repeat(101)),
        "q=ok%0Aok",
        // Symbols the database folds away (U+02D0 to ':', U+0345 to nothing) would match everything.
        "q=%CB%90%CB%90&mode=autocomplete",
        "q=%CD%85%CD%85",
    ] {
        let res = app.get(&format!("/api/v1/search?{query}"), None).await;
        assert_eq!(res.status, 400, "{query}: {}", res.text);
    }
    app.get("/api/v1/search?q=ok&limit=0", None)
        .await
        .assert_problem(400, "invalid_limit");
    app.get("/api/v1/search?q=ok&limit=51", None)
        .await
        .assert_problem(400, "invalid_limit");
    app.get("/api/v1/search?q=ok", Some("not-a-token"))
        .await
        .assert_problem(401, "invalid_token");
}
