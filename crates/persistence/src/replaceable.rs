//! The replaceable schema: SQL functions and triggers, one file each in `crates/persistence/sql/`,
//! applied after the migrations (as Lemmy's `db_schema_setup` does). Migrations hold tables, indexes
//! and data moves; a function is changed by editing its file, never by copying its body into a new
//! migration. Each file drops what it defines (with its triggers) and creates it again; all of them
//! run in one transaction, and only when their hash differs from the one the database records.

use diesel::connection::SimpleConnection;
use diesel::sql_types::{Nullable, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl};
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;

/// `(name, text)` of `sql/<name>.sql`.
macro_rules! sql_files {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../sql/", $name, ".sql")))),*]
    };
}

/// The files in the order they are applied (`visibility` first: the others call its functions;
/// `activity_details` drops and creates the type that
/// `activity_feed`, `member_activity` and `home_feed` return, so it comes before them).
pub const FILES: &[(&str, &str)] = sql_files![
    "visibility",
    "film_stats_create",
    "member_films_stats",
    "log_entries_review_count",
    "review_likes_count",
    "comments_count",
    "follows_count",
    "lists_count",
    "activities_restricted",
    "activity_details",
    "activity_feed",
    "member_activity",
    "home_feed",
    "recompute_review_popularity",
    "film_search",
    "moderation_log_append_only",
    "notifications",
    "member_changes",
];

/// FNV-1a over every file's name and text: changes whenever any file does.
pub fn hash() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, sql) in FILES {
        for b in name.bytes().chain([0]).chain(sql.bytes()).chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

#[derive(QueryableByName)]
struct Applied {
    #[diesel(sql_type = Nullable<Text>)]
    hash: Option<String>,
}

/// Applies the files unless the database already holds this version; `true` when it applied them.
/// Serialised between processes starting at once by an advisory lock.
pub fn apply(
    conn: &mut AsyncConnectionWrapper<diesel_async::AsyncPgConnection>,
) -> diesel::QueryResult<bool> {
    let want = hash();
    conn.transaction(|conn| {
        conn.batch_execute("SELECT pg_advisory_xact_lock(7461726)")?;
        let current = diesel::sql_query("SELECT (SELECT hash FROM replaceable_schema) AS hash")
            .get_result::<Applied>(conn)?;
        if current.hash.as_deref() == Some(want.as_str()) {
            return Ok(false);
        }
        for (_, sql) in FILES {
            conn.batch_execute(sql)?;
        }
        diesel::sql_query(
            "INSERT INTO replaceable_schema (hash) VALUES ($1) \
             ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, applied_at = now()",
        )
        .bind::<Text, _>(&want)
        .execute(conn)?;
        Ok(true)
    })
}
