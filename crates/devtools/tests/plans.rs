//! EXPLAIN checks on the `ci` data set (`filmlog gen-data --profile ci`): the feed, popular reviews
//! and search use their indexes, and nothing scans log entries or activity sequentially.

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::MemberId;
use filmlog_persistence::log_entries::{
    Period, ReviewKey, ReviewSort, ReviewedFilm, film_reviews_sql,
};
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

async fn function_source(conn: &mut AsyncPgConnection, name: &str) -> String {
    #[derive(QueryableByName)]
    struct Src {
        #[diesel(sql_type = Text)]
        prosrc: String,
    }
    diesel::sql_query(format!(
        "SELECT prosrc FROM pg_proc WHERE proname = '{name}'"
    ))
    .get_result::<Src>(conn)
    .await
    .map(|s| s.prosrc)
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The statement of a PL/pgSQL function between `/* plan:<label> */` and `/* end */`, from pg_proc.
async fn marked_statement(conn: &mut AsyncPgConnection, name: &str, label: &str) -> String {
    let src = function_source(conn, name).await;
    let marker = format!("/* plan:{label} */");
    let start = src
        .find(&marker)
        .map(|i| i + marker.len())
        .unwrap_or_else(|| panic!("{name} has no {marker}"));
    let end = src[start..]
        .find("/* end */")
        .map(|i| start + i)
        .unwrap_or_else(|| panic!("{name}: {marker} has no end"));
    src[start..end].to_owned()
}

/// The activity functions' statements take (viewer, at, after id, limit).
const ACTIVITY_ARGS: &str = "(bigint, timestamptz, bigint, bigint)";

async fn explain(conn: &mut AsyncPgConnection, statement: &str, args: &str) -> Value {
    exec(conn, "DEALLOCATE ALL").await;
    let typed = if statement.contains("($2, $3)") && statement.contains("activities") {
        ACTIVITY_ARGS
    } else {
        ""
    };
    exec(conn, &format!("PREPARE q{typed} AS {statement}")).await;
    // Run, so that the plan says what each node read: rows and buffers.
    let sql = format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE q({args})");
    let plan = diesel::sql_query(&sql)
        .get_result::<Plan>(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    serde_json::from_str(&plan.plan).unwrap_or(Value::Null)
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct SlugRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    slug: String,
}

/// The `id` column of what `sql` returns, in order.
async fn ids(conn: &mut AsyncPgConnection, sql: &str) -> Vec<i64> {
    diesel::sql_query(sql)
        .load::<Id>(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| r.id)
        .collect()
}

/// A node of a plan, as run.
#[derive(Debug)]
struct Node {
    kind: String,
    relation: String,
    index: String,
    /// The condition the index is searched by (none: it is read whole, for its order).
    condition: String,
    /// Rows the node read over all its loops: those it produced and those a filter or a recheck
    /// threw away.
    rows: f64,
}

/// Every node of a plan.
fn nodes(plan: &Value, out: &mut Vec<Node>) {
    if let Some(obj) = plan.as_object() {
        let s = |k: &str| {
            obj.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let n = |k: &str| obj.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        if obj.contains_key("Node Type") {
            out.push(Node {
                kind: s("Node Type"),
                relation: s("Relation Name"),
                index: s("Index Name"),
                condition: s("Index Cond"),
                rows: (n("Actual Rows")
                    + n("Rows Removed by Filter")
                    + n("Rows Removed by Index Recheck"))
                    * n("Actual Loops"),
            });
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

fn summary(plan: &Value) -> Vec<Node> {
    let mut out = Vec::new();
    nodes(plan, &mut out);
    out
}

/// Shared buffers the whole statement touched (hit or read), from its top node.
fn blocks(plan: &Value) -> f64 {
    let top = &plan[0]["Plan"];
    let n = |k: &str| top.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    n("Shared Hit Blocks") + n("Shared Read Blocks")
}

/// The column an index is searched by first: its condition must name it (a condition on a later
/// column alone reads the whole index).
fn leading_column(index: &str) -> &'static str {
    match index {
        "activities_recent_idx" => "created_at",
        "activities_actor_idx" => "actor_id",
        "list_entries_order_idx" => "list_id",
        "member_films_pkey" => "member_id",
        "films_title_lower_idx" => "lower(",
        "films_title_trgm_idx" => "title",
        "films_pkey" => "id",
        "film_stats_pkey" => "film_id",
        i if i.starts_with("log_entries_popular_") => "film_id",
        other => panic!("the leading column of {other}?"),
    }
}

/// The plan searches `index` by a condition on its leading column, its scans of it read at most
/// `rows` rows (filtered out ones included), the statement touches at most `max_blocks` buffers,
/// and nothing scans log entries or activity whole. (The bounds are a few times what the `ci` data
/// needs: an index read whole for its order, or a plan that reads every row of a member or film,
/// breaks them.)
#[track_caller]
fn assert_uses(plan: &Value, index: &str, rows: f64, max_blocks: f64) {
    let nodes = summary(plan);
    let scans: Vec<&Node> = nodes.iter().filter(|n| n.index == index).collect();
    assert!(!scans.is_empty(), "expected {index} in {nodes:?}");
    let leading = leading_column(index);
    assert!(
        scans.iter().all(|n| n.condition.contains(leading)),
        "{index} is read without an index condition on {leading}: {nodes:?}"
    );
    let produced: f64 = scans.iter().map(|n| n.rows).sum();
    assert!(
        produced <= rows,
        "{index} read {produced} rows (at most {rows}): {nodes:?}"
    );
    let touched = blocks(plan);
    assert!(
        touched <= max_blocks,
        "{touched} buffers touched (at most {max_blocks}) using {index}: {nodes:?}"
    );
    let seq: Vec<_> = nodes
        .iter()
        .filter(|n| {
            n.kind == "Seq Scan" && (n.relation == "log_entries" || n.relation == "activities")
        })
        .collect();
    assert!(seq.is_empty(), "sequential scan of {seq:?} in {nodes:?}");
}

#[actix_web::test]
async fn hot_queries_use_their_indexes() {
    let db = TestDatabase::new().await;
    let url = db.url().to_owned();
    let settings =
        filmlog::Settings::from_lookup(move |k| (k == "DATABASE_URL").then(|| url.clone()))
            .unwrap_or_else(|e| panic!("{e}"));
    filmlog_devtools::datagen::run(&settings, filmlog_devtools::datagen::CI)
        .await
        .unwrap_or_else(|e| panic!("gen-data: {e}"));
    let mut conn = db.connect().await;
    let most_reviewed = diesel::sql_query(
        "SELECT film_id AS id FROM film_stats ORDER BY review_count DESC LIMIT 1",
    )
    .get_result::<Id>(&mut conn)
    .await
    .map(|r| r.id)
    .unwrap_or(1);
    let most_reviewed_slug = diesel::sql_query("SELECT slug FROM films WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(most_reviewed)
        .get_result::<SlugRow>(&mut conn)
        .await
        .map(|r| r.slug)
        .unwrap_or_else(|e| panic!("the most reviewed film's slug: {e}"));

    // Feed, first page and a later page, for the members following ~1,000 and ~100: both statements
    // of the activity_feed function as stored in the database (the window over everyone's recent
    // activity, and the per-followee passes it falls back to). Each answers what a plain query of the
    // followees' activity answers: the per-followee passes the whole page, the window a prefix of it
    // (all of it for the member following ~1,000).
    let window = marked_statement(&mut conn, "activity_feed", "window").await;
    let followees = marked_statement(&mut conn, "activity_feed", "followees").await;
    for reader in [
        filmlog_devtools::datagen::HEAVY_READER,
        filmlog_devtools::datagen::LIGHT_READER,
    ] {
        for start in [
            "'infinity', 9223372036854775807",
            "now() - interval '30 days', 1000",
        ] {
            let args = format!("{reader}, {start}, 21");
            let expected = ids(
                &mut conn,
                &format!(
                    "SELECT a.id FROM activities a JOIN follows f ON f.followee_id = a.actor_id
                     WHERE f.follower_id = {reader} AND (a.created_at, a.id) < ({start})
                     ORDER BY a.created_at DESC, a.id DESC LIMIT 21"
                ),
            )
            .await;
            assert_eq!(expected.len(), 21, "reader {reader} has a full page");
            let plan = explain(&mut conn, &window, &args).await;
            assert_uses(&plan, "activities_recent_idx", 12_000.0, 300.0);
            let held = ids(&mut conn, &format!("EXECUTE q({args})")).await;
            assert_eq!(held, expected[..held.len()], "window, reader {reader}");
            if reader == filmlog_devtools::datagen::HEAVY_READER {
                assert_eq!(held.len(), 21, "the window holds the heavy reader's page");
            }
            let plan = explain(&mut conn, &followees, &args).await;
            // One probe per followee: bounded by how many the reader follows (~1,000 or ~100).
            let (rows, blocks) = if reader == filmlog_devtools::datagen::HEAVY_READER {
                (3_000.0, 12_000.0)
            } else {
                (400.0, 2_000.0)
            };
            assert_uses(&plan, "activities_actor_idx", rows, blocks);
            let page = ids(&mut conn, &format!("EXECUTE q({args})")).await;
            assert_eq!(page, expected, "per followee, reader {reader}");
            let answered = ids(&mut conn, &format!("SELECT id FROM activity_feed({args})")).await;
            assert_eq!(answered, expected, "activity_feed, reader {reader}");
        }
    }
    let member_sql = marked_statement(&mut conn, "member_activity", "page").await;
    let member = explain(
        &mut conn,
        &member_sql,
        "1, 'infinity', 9223372036854775807, 21",
    )
    .await;
    assert_uses(&member, "activities_actor_idx", 100.0, 100.0);

    // A list's entries page, first and later, for the member with the most films (whose every film
    // a plain left join once read): the order index, one primary-key probe of the viewer's films per
    // entry, nothing scanned whole.
    let busiest = diesel::sql_query(
        "SELECT member_id AS id FROM member_films GROUP BY member_id ORDER BY count(*) DESC LIMIT 1",
    )
    .get_result::<Id>(&mut conn)
    .await
    .map(|r| r.id)
    .unwrap_or(1);
    let bench_list = ids(
        &mut conn,
        "SELECT min(id) AS id FROM lists WHERE name = 'Bench list 0'",
    )
    .await;
    let list = bench_list.into_iter().next().unwrap_or(1);
    for start in [
        "-9223372036854775808, -9223372036854775808",
        "429496729600, 3202",
    ] {
        let args = format!("{list}, {busiest}, {start}, 21");
        let plan = explain(&mut conn, filmlog_persistence::lists::ENTRIES_PAGE, &args).await;
        assert_uses(&plan, "list_entries_order_idx", 100.0, 600.0);
        assert_uses(&plan, "member_films_pkey", 100.0, 600.0);
        let scanned: Vec<_> = summary(&plan)
            .into_iter()
            .filter(|n| n.kind == "Seq Scan" || n.kind == "Materialize")
            .collect();
        assert!(scanned.is_empty(), "{scanned:?} in the entries page");
        // A full page of the 1,000-film list's films.
        assert_eq!(
            ids(&mut conn, &format!("EXECUTE q({args})")).await.len(),
            21
        );
    }

    // Popular reviews of a film: exactly the statement the endpoint sends (the film named by its
    // slug inside it: an InitPlan, and the ordered index still seeks `film_id = $0`).
    for (period, index) in [
        (Period::Week, "log_entries_popular_week_idx"),
        (Period::Month, "log_entries_popular_month_idx"),
        (Period::AllTime, "log_entries_popular_all_idx"),
    ] {
        for after in [None, Some(ReviewKey::Score(3, 90000))] {
            let sort = ReviewSort::Popular(period);
            let debug = film_reviews_sql(
                ReviewedFilm::Slug(most_reviewed_slug.clone()),
                sort,
                Some(MemberId::new(filmlog_devtools::datagen::HEAVY_READER)),
                after,
                21,
            );
            let (sql, binds) = debug.split_once(" -- binds: ").unwrap_or((&debug, "[]"));
            // Debug-printed binds: text in double quotes, which SQL reads as names.
            let args = binds
                .trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .replace('"', "'");
            let plan = explain(&mut conn, sql, &args).await;
            assert_uses(&plan, index, 100.0, 1_000.0);
            // The visibility rule's SQL function (sql/visibility.sql) is inlined: the plan holds its
            // expression, never a call (a call would run the follower EXISTS for every row).
            let text = plan.to_string();
            assert!(
                sql.contains("visible_to("),
                "the statement applies the rule: {sql}"
            );
            assert!(
                !text.contains("visible_to("),
                "visible_to is not inlined: {text}"
            );
            assert!(
                text.contains("'private'::text"),
                "no visibility rule in the plan: {text}"
            );
            // The slug is looked up once, before the ordered scan, and names the film: a first
            // page is full (a look-up answering NULL would read nothing and pass the checks above).
            assert!(
                text.contains("InitPlan"),
                "the film is not an InitPlan: {text}"
            );
            if after.is_none() {
                assert_eq!(plan[0]["Plan"]["Actual Rows"], 21, "{text}");
            }
        }
    }

    // Search (the statement inside film_search, planned generically as the function does): the prefix
    // range on the byte-order title index and the trigram index for contains; the statistics of the
    // matches by key, not a scan of all of them.
    let matching = marked_statement(&mut conn, "film_search", "search").await;
    exec(&mut conn, "SET plan_cache_mode = force_generic_plan").await;
    let search = explain(
        &mut conn,
        &matching,
        "'the land girls', 'the land girls', 'the land girls', 'the land girlt', NULL, NULL, NULL, 'infinity', 9223372036854775807, 21, 0",
    )
    .await;
    assert_uses(&search, "films_title_lower_idx", 100.0, 1_000.0);
    assert_uses(&search, "films_title_trgm_idx", 1_000.0, 1_000.0);
    // A broader one ("ers" is in ~190 of the ci data's 5,000 titles): as a plain join, this hashed all of
    // film_stats.
    let broad = explain(
        &mut conn,
        &matching,
        "'ers', 'ers', 'ers', 'ert', NULL, NULL, NULL, 'infinity', 9223372036854775807, 21, 0",
    )
    .await;
    exec(&mut conn, "RESET plan_cache_mode").await;
    // The statement the endpoint sends: the page's films and statistics by primary key.
    let page = explain(
        &mut conn,
        filmlog_persistence::catalog::SEARCH_SQL,
        "'ers', 'ers', 'ers', 'ert', NULL, NULL, NULL, 'infinity', 9223372036854775807, 21, 1",
    )
    .await;
    assert_uses(&page, "films_pkey", 100.0, 3_000.0);
    assert_uses(&page, "film_stats_pkey", 100.0, 3_000.0);
    let nodes = summary(&page);
    assert!(
        !nodes.iter().any(|n| n.kind == "Seq Scan"
            && (n.relation == "films"
                || n.relation == "film_stats"
                || n.relation == "member_films")),
        "{nodes:?}"
    );
    for plan in [&search, &broad] {
        assert_uses(plan, "films_title_trgm_idx", 1_500.0, 3_000.0);
        let nodes = summary(plan);
        assert!(
            !nodes.iter().any(|n| n.kind == "Seq Scan"
                && (n.relation == "films"
                    || n.relation == "film_stats"
                    || n.relation == "member_films")),
            "{nodes:?}"
        );
    }
}
