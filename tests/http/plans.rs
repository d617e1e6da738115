//! EXPLAIN checks: on a data set large enough for the planner to prefer them, the feed, popular
//! reviews and search use their indexes, and nothing scans log entries or activity sequentially.

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::FilmId;
use filmlog_persistence::log_entries::{ReviewKey, ReviewSort, film_reviews_sql};
use filmlog_test_support::TestDatabase;
use serde_json::Value;

#[derive(QueryableByName)]
struct Plan {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    plan: String,
}

async fn exec(conn: &mut AsyncPgConnection, sql: &str) {
    if let Err(e) = diesel::sql_query(sql).execute(conn).await {
        panic!("{sql}: {e}");
    }
}

/// 100k films (50 of them "Zanzibar Nights …"), 5k members, 100k log entries (a third reviews), 200k activities, member 1 following 300.
async fn generate(conn: &mut AsyncPgConnection) {
    for sql in [
        "INSERT INTO members (username, email, password_hash)
         SELECT 'm' || i, 'm' || i || '@example.com', 'x' FROM generate_series(1, 5000) i",
        "INSERT INTO films (slug, title, year)
         SELECT 'film-' || i,
                CASE WHEN i % 2000 = 0 THEN 'Zanzibar Nights ' || i
                     ELSE initcap(substr(md5(i::text), 1, 6)) || ' ' || substr(md5(i::text), 7, 8) END,
                1950 + i % 70
         FROM generate_series(1, 100000) i",
        "INSERT INTO log_entries (member_id, film_id, watched_on, rating, review_text, like_count, created_at)
         SELECT 1 + (i::bigint * 7919) % 5000, 1 + (i::bigint * 104729) % 100000, DATE '2020-01-01' + (i % 2000),
                1 + i % 10, CASE WHEN i % 3 = 0 THEN 'review ' || i END, (i * 31) % 97,
                now() - (i || ' minutes')::interval
         FROM generate_series(1, 100000) i",
        "INSERT INTO activities (actor_id, kind, film_id, created_at)
         SELECT 1 + (i::bigint * 7919) % 5000, 'film_like', 1 + i % 100000, now() - (i || ' seconds')::interval
         FROM generate_series(1, 200000) i",
        "INSERT INTO follows (follower_id, followee_id) SELECT 1, i FROM generate_series(2, 301) i",
        "ANALYZE",
    ] {
        exec(conn, sql).await;
    }
}

async fn explain(conn: &mut AsyncPgConnection, statement: &str, args: &str) -> Value {
    exec(conn, "DEALLOCATE ALL").await;
    exec(conn, &format!("PREPARE q AS {statement}")).await;
    let sql = format!("EXPLAIN (FORMAT JSON) EXECUTE q({args})");
    let plan = diesel::sql_query(&sql)
        .get_result::<Plan>(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    serde_json::from_str(&plan.plan).unwrap_or(Value::Null)
}

/// (node type, relation, index) of every node of a plan.
fn nodes(plan: &Value, out: &mut Vec<(String, String, String)>) {
    if let Some(obj) = plan.as_object() {
        let s = |k: &str| {
            obj.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        if obj.contains_key("Node Type") {
            out.push((s("Node Type"), s("Relation Name"), s("Index Name")));
        }
        for v in obj.values() {
            nodes(v, out);
        }
    } else if let Some(arr) = plan.as_array() {
        for v in arr {
            nodes(v, out);
        }
    }
}

fn summary(plan: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    nodes(plan, &mut out);
    out
}

#[track_caller]
fn assert_uses(plan: &Value, index: &str) {
    let nodes = summary(plan);
    assert!(
        nodes.iter().any(|(_, _, i)| i == index),
        "expected {index} in {nodes:?}"
    );
    let seq: Vec<_> = nodes
        .iter()
        .filter(|(t, r, _)| t == "Seq Scan" && (r == "log_entries" || r == "activities"))
        .collect();
    assert!(seq.is_empty(), "sequential scan of {seq:?} in {nodes:?}");
}

#[actix_web::test]
async fn hot_queries_use_their_indexes() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    generate(&mut conn).await;

    // Feed, first page and a later page.
    let feed = explain(
        &mut conn,
        filmlog_persistence::activity::FEED_SQL,
        "1, 'infinity', 9223372036854775807, 21",
    )
    .await;
    assert_uses(&feed, "activities_actor_idx");
    let later = explain(
        &mut conn,
        filmlog_persistence::activity::FEED_SQL,
        "1, now() - interval '1 day', 1000, 21",
    )
    .await;
    assert_uses(&later, "activities_actor_idx");

    // Popular reviews of a film: exactly the statement the endpoint sends.
    for after in [None, Some(ReviewKey::Likes(50, 90000))] {
        let debug = film_reviews_sql(FilmId::new(42), ReviewSort::Popular, after, 21);
        let (sql, binds) = debug.split_once(" -- binds: ").unwrap_or((&debug, "[]"));
        let args = binds.trim().trim_start_matches('[').trim_end_matches(']');
        let plan = explain(&mut conn, sql, args).await;
        assert_uses(&plan, "log_entries_popular_idx");
    }

    // Search: the prefix range on the byte-order title index and the trigram index for contains.
    let search = explain(
        &mut conn,
        filmlog_persistence::catalog::SEARCH_SQL,
        "'zanzibar', 'zanzibar', 'zanzibar', 'zanzibas', NULL, NULL, NULL, 'infinity', 9223372036854775807, 21",
    )
    .await;
    assert_uses(&search, "films_title_lower_idx");
    assert_uses(&search, "films_title_trgm_idx");
    let nodes = summary(&search);
    assert!(
        !nodes
            .iter()
            .any(|(t, r, _)| t == "Seq Scan" && r == "films"),
        "{nodes:?}"
    );
}
