//! Films, people and credits, and the maintained film statistics.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{BigInt, Bool, Date, Double, Integer, Nullable, Text};
use diesel::{
    AsChangeset, ExpressionMethods, Insertable, IntoSql, OptionalExtension, QueryDsl, Queryable,
    QueryableByName, Selectable, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::{CreditRole, FilmId, MemberId, PersonId};

use crate::Result;
use crate::schema::{film_credits, film_stats, films, member_films, people};
use crate::sessions::Probe;
use crate::types::DbName;
use crate::viewer::{ViewerFilmRow, viewer_id};

/// Name of the unique constraint on `films.slug`.
pub const SLUG_KEY: &str = "films_slug_key";

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = films, check_for_backend(diesel::pg::Pg))]
pub struct FilmRow {
    #[diesel(deserialize_as = i64)]
    pub id: FilmId,
    pub slug: String,
    pub title: String,
    pub original_title: Option<String>,
    pub year: Option<i32>,
    pub release_date: Option<NaiveDate>,
    pub runtime_minutes: Option<i32>,
    pub synopsis: Option<String>,
    pub poster_url: Option<String>,
    pub genres: Vec<Option<String>>,
    pub countries: Vec<Option<String>>,
    pub languages: Vec<Option<String>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub tmdb_id: Option<i32>,
    pub imdb_id: Option<String>,
    pub letterboxd_uri: Option<String>,
    /// `false`: made by an import for a film the catalog lacked, until an admin merges it.
    pub verified: bool,
    pub wikipedia_page: Option<String>,
    pub alternative_titles: Vec<Option<String>>,
    pub sources: Vec<Option<String>>,
}

/// What lists show of a film.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = films, check_for_backend(diesel::pg::Pg))]
pub struct FilmSummaryRow {
    #[diesel(deserialize_as = i64)]
    pub id: FilmId,
    pub slug: String,
    pub title: String,
    pub year: Option<i32>,
    pub poster_url: Option<String>,
}

#[derive(Debug, Clone, Copy, Queryable, Selectable, QueryableByName, PartialEq, Eq)]
#[diesel(table_name = film_stats, check_for_backend(diesel::pg::Pg))]
pub struct FilmStatsRow {
    #[diesel(deserialize_as = i64)]
    pub film_id: FilmId,
    pub watch_count: i32,
    pub like_count: i32,
    pub rating_count: i32,
    pub rating_sum: i64,
    pub review_count: i32,
    pub r1: i32,
    pub r2: i32,
    pub r3: i32,
    pub r4: i32,
    pub r5: i32,
    pub r6: i32,
    pub r7: i32,
    pub r8: i32,
    pub r9: i32,
    pub r10: i32,
    /// Lists that hold the film.
    pub list_count: i32,
}

impl FilmStatsRow {
    /// Members per rating, 0.5 stars to 5.0 stars; `None` below
    /// [`filmlog_domain::film::RATINGS_DISCLOSED_FROM`] ratings.
    pub fn histogram(&self) -> Option<[i32; 10]> {
        filmlog_domain::film::discloses_ratings(self.rating_count).then_some([
            self.r1, self.r2, self.r3, self.r4, self.r5, self.r6, self.r7, self.r8, self.r9,
            self.r10,
        ])
    }

    /// Average in stars; `None` below [`filmlog_domain::film::RATINGS_DISCLOSED_FROM`] ratings.
    pub fn average_stars(&self) -> Option<f64> {
        filmlog_domain::film::discloses_ratings(self.rating_count)
            .then(|| self.rating_sum as f64 / f64::from(self.rating_count) / 2.0)
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = films)]
pub struct NewFilm {
    pub slug: String,
    pub title: String,
    pub original_title: Option<String>,
    pub year: Option<i32>,
    pub release_date: Option<NaiveDate>,
    pub runtime_minutes: Option<i32>,
    pub synopsis: Option<String>,
    pub poster_url: Option<String>,
    pub genres: Vec<String>,
    pub countries: Vec<String>,
    pub languages: Vec<String>,
}

/// `None` leaves a column; `Some(None)` clears it.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = films)]
pub struct FilmChanges {
    pub title: Option<String>,
    pub original_title: Option<Option<String>>,
    pub year: Option<Option<i32>>,
    pub release_date: Option<Option<NaiveDate>>,
    pub runtime_minutes: Option<Option<i32>>,
    pub synopsis: Option<Option<String>>,
    pub poster_url: Option<Option<String>>,
    pub genres: Option<Vec<String>>,
    pub countries: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
    pub tmdb_id: Option<Option<i32>>,
    pub imdb_id: Option<Option<String>>,
    pub letterboxd_uri: Option<Option<String>>,
    pub verified: Option<bool>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A credit to add.
#[derive(Debug, Clone)]
pub struct NewCredit {
    pub name: String,
    pub role: CreditRole,
    pub character: Option<String>,
    pub billing_order: i32,
}

#[derive(Debug, Clone, Queryable)]
pub struct CreditRow {
    #[diesel(deserialize_as = i64)]
    pub person_id: PersonId,
    pub name: String,
    pub slug: String,
    #[diesel(deserialize_as = DbName<CreditRole>)]
    pub role: CreditRole,
    pub character: Option<String>,
    pub billing_order: i32,
}

/// Inserts a film (its statistics row is created by a trigger) and its credits. Fails with a unique
/// violation of [`SLUG_KEY`] when the slug is taken.
pub async fn insert_film(
    conn: &mut AsyncPgConnection,
    film: &NewFilm,
    credits: &[NewCredit],
) -> Result<FilmRow> {
    let row = diesel::insert_into(films::table)
        .values(film)
        .returning(FilmRow::as_returning())
        .get_result(conn)
        .await?;
    replace_credits(conn, row.id, credits).await?;
    Ok(row)
}

/// Inserts a film unless its slug exists; `None` when it existed.
pub async fn insert_film_if_new(
    conn: &mut AsyncPgConnection,
    film: &NewFilm,
) -> Result<Option<FilmRow>> {
    Ok(diesel::insert_into(films::table)
        .values(film)
        .on_conflict(films::slug)
        .do_nothing()
        .returning(FilmRow::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// The person of this name (the oldest, when an admin split a name in two), made when there is
/// none.
pub async fn person_named(conn: &mut AsyncPgConnection, name: &str) -> Result<i64> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let found: Id = diesel::sql_query(
        "WITH found AS (SELECT id FROM people WHERE name = $1 ORDER BY id LIMIT 1 FOR SHARE), \
              made AS (INSERT INTO people (name, slug) \
                       SELECT $1, free_person_slug($1) WHERE NOT EXISTS (SELECT 1 FROM found) \
                       RETURNING id) \
         SELECT id FROM found UNION ALL SELECT id FROM made",
    )
    .bind::<Text, _>(name)
    .get_result(conn)
    .await?;
    Ok(found.id)
}

/// Replaces a film's credits with `credits`.
pub async fn replace_credits(
    conn: &mut AsyncPgConnection,
    film: FilmId,
    credits: &[NewCredit],
) -> Result<()> {
    diesel::delete(film_credits::table.filter(film_credits::film_id.eq(film.get())))
        .execute(conn)
        .await?;
    for credit in credits {
        let person = person_named(conn, &credit.name).await?;
        diesel::insert_into(film_credits::table)
            .values((
                film_credits::film_id.eq(film.get()),
                film_credits::person_id.eq(person),
                film_credits::role.eq(credit.role.as_str()),
                film_credits::character.eq(&credit.character),
                film_credits::billing_order.eq(credit.billing_order),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
    }
    Ok(())
}

pub async fn update_film(
    conn: &mut AsyncPgConnection,
    id: FilmId,
    changes: &FilmChanges,
) -> Result<FilmRow> {
    let row = diesel::update(films::table.find(id.get()))
        .set(changes)
        .returning(FilmRow::as_returning())
        .get_result(conn)
        .await?;
    belongs_to_catalog(conn, id).await?;
    Ok(row)
}

/// A verified film is the catalog's, no longer its importer's (their account's deletion must not
/// take it, and everyone's entries of it, away).
async fn belongs_to_catalog(conn: &mut AsyncPgConnection, id: FilmId) -> Result<()> {
    diesel::update(
        films::table
            .find(id.get())
            .filter(films::verified.eq(true))
            .filter(films::added_by.is_not_null()),
    )
    .set(films::added_by.eq(None::<i64>))
    .execute(conn)
    .await?;
    Ok(())
}

/// A film with its statistics, in one query.
/// What a film page shows: the film, its statistics, the viewer's relationship with it and its
/// credits.
pub type FilmPage = (FilmRow, FilmStatsRow, ViewerFilmRow, Vec<CreditRow>);

/// A film page: the film with its statistics, and its credits (directors first, then cast in billing
/// order). The two statements are pipelined (sent together, answered in one round trip), so the
/// credits are selected by slug rather than by the id the first one returns.
pub async fn film_page(
    conn: &AsyncPgConnection,
    slug: &str,
    viewer: Option<MemberId>,
    see_all: bool,
) -> Result<Option<FilmPage>> {
    let (page, _) = film_page_probed(conn, slug, viewer, see_all, None).await?;
    Ok(page)
}

/// The film page's first statement, with `$live` as its last column.
macro_rules! film_with_stats {
    ($slug:expr, $viewer:expr, $see_all:expr, $live:expr) => {
        films::table
            .inner_join(film_stats::table)
            .left_join(crate::viewer_film_on(viewer_id($viewer), films::id))
            .filter(films::slug.eq($slug))
            .filter(crate::film_in_scope(viewer_id($viewer), $see_all))
            .select((
                FilmRow::as_select(),
                FilmStatsRow::as_select(),
                crate::viewer_film_columns(),
                $live,
            ))
    };
}

/// [`film_page`] with a session checked in the film's own statement ([`Probe`]): whether it is live
/// when the film was found (`None` when it was not, or without a probe: the caller checks the
/// session on its own). Without a probe the statement does not read `sessions` at all.
pub async fn film_page_probed(
    conn: &AsyncPgConnection,
    slug: &str,
    viewer: Option<MemberId>,
    see_all: bool,
    probe: Option<Probe>,
) -> Result<(Option<FilmPage>, Option<bool>)> {
    type Row = (FilmRow, FilmStatsRow, ViewerFilmRow, bool);
    let film = async {
        let mut conn = conn;
        match probe {
            Some(probe) => film_with_stats!(slug, viewer, see_all, probe.live())
                .first::<Row>(&mut conn)
                .await
                .optional(),
            None => film_with_stats!(slug, viewer, see_all, false.into_sql::<Bool>())
                .first::<Row>(&mut conn)
                .await
                .optional(),
        }
    };
    let credits = async {
        let mut conn = conn;
        film_credits::table
            .inner_join(people::table)
            .inner_join(films::table)
            .filter(films::slug.eq(slug))
            .order((
                film_credits::role.asc(),
                film_credits::billing_order.asc(),
                film_credits::id.asc(),
            ))
            .select(CREDIT_COLUMNS)
            .load::<CreditRow>(&mut conn)
            .await
    };
    let (film, credits) = futures_util::future::try_join(film, credits).await?;
    Ok(match film {
        Some((film, stats, viewer, live)) => {
            (Some((film, stats, viewer, credits)), probe.map(|_| live))
        }
        None => (None, None),
    })
}

/// What lists show of a film, by slug.
pub async fn summary_by_slug(
    conn: &mut AsyncPgConnection,
    slug: &str,
) -> Result<Option<FilmSummaryRow>> {
    Ok(films::table
        .filter(films::slug.eq(slug))
        .select(FilmSummaryRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The film `slug` names, if `viewer` may see it (`see_all`: an admin's look-up, which sees every
/// film).
pub async fn id_by_slug(
    mut conn: &AsyncPgConnection,
    slug: &str,
    viewer: Option<MemberId>,
    see_all: bool,
) -> Result<Option<FilmId>> {
    let id: Option<i64> = films::table
        .filter(films::slug.eq(slug))
        .filter(crate::film_in_scope(viewer_id(viewer), see_all))
        .select(films::id)
        .first(&mut conn)
        .await
        .optional()?;
    Ok(id.map(FilmId::new))
}

pub async fn stats(conn: &mut AsyncPgConnection, film: FilmId) -> Result<FilmStatsRow> {
    Ok(film_stats::table
        .find(film.get())
        .select(FilmStatsRow::as_select())
        .first(conn)
        .await?)
}

/// The columns of a [`CreditRow`].
const CREDIT_COLUMNS: (
    people::id,
    people::name,
    people::slug,
    film_credits::role,
    film_credits::character,
    film_credits::billing_order,
) = (
    people::id,
    people::name,
    people::slug,
    film_credits::role,
    film_credits::character,
    film_credits::billing_order,
);

/// The weighted average of `filmlog_domain::weighted_rating` in SQL, in half stars; -1 for unrated
/// films.
fn weighted_rating_sql() -> String {
    use filmlog_domain::film::RATINGS_DISCLOSED_FROM;
    use filmlog_domain::weighted_rating::{PRIOR_MEAN_HALVES, PRIOR_WEIGHT};
    // Below the ratings a film needs to show its average, it sorts as unrated.
    format!(
        "(CASE WHEN s.rating_count < {RATINGS_DISCLOSED_FROM} THEN -1 \
          ELSE (s.rating_sum + {PRIOR_WEIGHT} * {PRIOR_MEAN_HALVES})::float8 / (s.rating_count + {PRIOR_WEIGHT}) END)"
    )
}

/// How a film list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilmSort {
    /// Most watched first.
    Popular,
    /// Highest weighted (Bayesian) average rating first (`filmlog_domain::weighted_rating`); unrated
    /// films last.
    Rating,
    /// Newest release first; undated films last.
    Release,
    /// A–Z by title.
    Title,
}

/// The position after which a page starts: the sort key of the last row and its id.
#[derive(Debug, Clone, PartialEq)]
pub enum FilmKey {
    Count(i64),
    Average(f64),
    Date(NaiveDate),
    Text(String),
}

#[derive(Debug, Clone, Default)]
pub struct FilmFilter {
    pub year: Option<i32>,
    /// First year of a decade, e.g. 1990.
    pub decade: Option<i32>,
    pub genre: Option<String>,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct FilmListRow {
    #[diesel(embed)]
    pub film: FilmRow,
    #[diesel(embed)]
    pub stats: FilmStatsRow,
    #[diesel(sql_type = BigInt)]
    pub key_count: i64,
    #[diesel(sql_type = Double)]
    pub key_average: f64,
    #[diesel(sql_type = Date)]
    pub key_date: NaiveDate,
    #[diesel(sql_type = Text)]
    pub key_text: String,
    #[diesel(sql_type = Double)]
    pub rank: f64,
    /// The reader's relationship with the film (see [`crate::viewer`]).
    #[diesel(embed)]
    pub viewer: ViewerFilmRow,
}

impl FilmListRow {
    pub fn key(&self, sort: FilmSort) -> FilmKey {
        match sort {
            FilmSort::Popular => FilmKey::Count(self.key_count),
            FilmSort::Rating => FilmKey::Average(self.key_average),
            FilmSort::Release => FilmKey::Date(self.key_date),
            FilmSort::Title => FilmKey::Text(self.key_text.clone()),
        }
    }
}

/// Browses the catalog: filters, one of four orders, keyset pages of `limit` rows.
///
/// Written as SQL (with the keys as computed columns) because each order compares a different
/// expression as a row value `(key, id)`, which the DSL cannot express; only fixed fragments are ever
/// concatenated, every value is bound.
pub async fn browse(
    conn: &mut AsyncPgConnection,
    viewer: Option<MemberId>,
    filter: &FilmFilter,
    sort: FilmSort,
    after: Option<(FilmKey, i64)>,
    limit: i64,
) -> Result<Vec<FilmListRow>> {
    let weighted = weighted_rating_sql();
    let (key, dir) = match sort {
        FilmSort::Popular => ("s.watch_count::bigint", "DESC"),
        FilmSort::Rating => (weighted.as_str(), "DESC"),
        FilmSort::Release => ("COALESCE(f.release_date, DATE '0001-01-01')", "DESC"),
        FilmSort::Title => ("(lower(f.title) COLLATE \"C\")", "ASC"),
    };
    let cmp = if dir == "DESC" { "<" } else { ">" };
    let cursor = match after {
        None => String::new(),
        Some(_) => format!("AND ({key}, f.id) {cmp} ($4, $5)"),
    };
    let sql_text = format!(
        "{} \
         WHERE ($1::int IS NULL OR f.year = $1) \
           AND ($2::int IS NULL OR f.year BETWEEN $2 AND $2 + 9) \
           AND ($3::text IS NULL OR f.genres @> ARRAY[$3::text]) AND {visible} {cursor} \
         ORDER BY {key} {dir}, f.id {dir} LIMIT $6",
        film_list_rows("$7"),
        visible = crate::film_visible_sql("f", "$7"),
    );
    let query = diesel::sql_query(sql_text)
        .into_boxed::<diesel::pg::Pg>()
        .bind::<Nullable<Integer>, _>(filter.year)
        .bind::<Nullable<Integer>, _>(filter.decade)
        .bind::<Nullable<Text>, _>(filter.genre.clone());
    let (id, key_value) = match after {
        None => (0, None),
        Some((k, id)) => (id, Some(k)),
    };
    // The key's SQL type depends on the sort; the id and the limit follow it.
    let query = match key_value {
        None => query.bind::<Nullable<Integer>, _>(None::<i32>),
        Some(FilmKey::Count(c)) => query.bind::<BigInt, _>(c),
        Some(FilmKey::Average(a)) => query.bind::<Double, _>(a),
        Some(FilmKey::Date(d)) => query.bind::<Date, _>(d),
        Some(FilmKey::Text(t)) => query.bind::<Text, _>(t),
    };
    Ok(query
        .bind::<BigInt, _>(id)
        .bind::<BigInt, _>(limit)
        .bind::<BigInt, _>(viewer_id(viewer))
        .load(conn)
        .await?)
}

/// The search statement; see the comment at its top for its parameters.
pub const SEARCH_SQL: &str = include_str!("search.sql");

/// Searches titles: prefix matches first, then by trigram similarity, then popularity. Uses the
/// trigram GIN index for contains/fuzzy matching and the byte-order btree for the prefix range.
/// Paged by `(rank, id)` where rank folds prefix match, similarity and popularity into one number.
pub async fn search(
    conn: &mut AsyncPgConnection,
    viewer: Option<MemberId>,
    q: &str,
    filter: &FilmFilter,
    after: Option<(f64, i64)>,
    limit: i64,
) -> Result<Vec<FilmListRow>> {
    let needle = q.to_lowercase();
    let (lo, hi) = prefix_range(&needle);
    let (after_rank, after_id) = after.unwrap_or((f64::INFINITY, i64::MAX));
    let escaped = like_escape(&needle);
    let rows = Search {
        needle: &needle,
        escaped: &escaped,
        lo: &lo,
        hi: &hi,
        filter,
        after_rank,
        after_id,
        limit,
        viewer: viewer_id(viewer),
    }
    .load(conn)
    .await?;
    Ok(rows)
}

/// [`SEARCH_SQL`] with its binds, as a statement diesel prepares once per connection and caches (a
/// `sql_query` is parsed and planned again on every call: on the medium data the endpoint went from
/// 76 % to 88 % of the throughput of the same statement prepared once by pgbench).
struct Search<'a> {
    needle: &'a str,
    escaped: &'a str,
    lo: &'a str,
    hi: &'a str,
    filter: &'a FilmFilter,
    after_rank: f64,
    after_id: i64,
    limit: i64,
    viewer: i64,
}

cached_statement!(Search, SEARCH_SQL, |s| {
    "1" => Text: s.needle,
    "2" => Text: s.escaped,
    "3" => Text: s.lo,
    "4" => Text: s.hi,
    "5" => Nullable<Integer>: &s.filter.year,
    "6" => Nullable<Integer>: &s.filter.decade,
    "7" => Nullable<Text>: &s.filter.genre,
    "8" => Double: &s.after_rank,
    "9" => BigInt: &s.after_id,
    "10" => BigInt: &s.limit,
    "11" => BigInt: &s.viewer,
});

/// The select list of [`ViewerFilmRow`] from `member_films v` (statements written as SQL).
pub const VIEWER_FILM_COLUMNS: &str = "v.watched AS viewer_watched, v.liked AS viewer_liked, \
    v.in_watchlist AS viewer_in_watchlist, v.rating AS viewer_rating";

/// `[lo, hi)` covering every string that starts with `prefix`, in byte order.
pub fn prefix_range(prefix: &str) -> (String, String) {
    let mut hi: Vec<char> = prefix.chars().collect();
    while let Some(last) = hi.pop() {
        if let Some(next) = char::from_u32(u32::from(last) + 1) {
            hi.push(next);
            return (prefix.to_owned(), hi.into_iter().collect());
        }
    }
    (prefix.to_owned(), char::MAX.to_string())
}

/// Escapes LIKE's wildcards so a query for `100%` matches the text `100%`.
pub fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// How many films the catalog holds.
pub async fn count_films(conn: &mut AsyncPgConnection) -> Result<i64> {
    Ok(films::table.count().get_result(conn).await?)
}

/// The integrity check: one row per maintained counter that differs from its base table.
pub const DRIFT_SQL: &str = include_str!("drift.sql");

/// A film no admin has verified, waiting in their queue (see [`unverified`]).
#[derive(Debug, Clone, Queryable)]
pub struct UnverifiedRow {
    #[diesel(deserialize_as = i64)]
    pub id: FilmId,
    pub slug: String,
    pub title: String,
    pub year: Option<i32>,
    /// The username of the member whose import added it; `None` for a film that was in the
    /// catalog before imports recorded who added one.
    pub added_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub watchers: Option<i32>,
}

/// The films no admin has verified or merged yet (imports add them), oldest first, after the
/// `(created_at, id)` key `after`: the admins' queue, read by its partial index.
pub async fn unverified(
    conn: &mut AsyncPgConnection,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<UnverifiedRow>> {
    use crate::schema::members;
    use diesel::NullableExpressionMethods;

    let mut query = films::table
        .left_join(members::table)
        .left_join(film_stats::table)
        .filter(films::verified.eq(false))
        .select((
            films::id,
            films::slug,
            films::title,
            films::year,
            members::username.nullable(),
            films::created_at,
            film_stats::watch_count.nullable(),
        ))
        .order((films::created_at.asc(), films::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(crate::after((films::created_at, films::id), (at, id)));
    }
    Ok(query.load(conn).await?)
}

/// Ids of films whose maintained statistics differ from a recomputation from the base tables.
pub async fn drifted_films(conn: &mut AsyncPgConnection) -> Result<Vec<FilmId>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt, deserialize_as = i64)]
        film_id: FilmId,
    }
    let rows: Vec<Id> = diesel::sql_query(include_str!("drift.sql"))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.film_id).collect())
}

/// The ids of the films `slugs` name, by slug (those that exist).
pub async fn ids_by_slug(
    conn: &mut AsyncPgConnection,
    viewer: MemberId,
    slugs: &[String],
) -> Result<HashMap<String, FilmId>> {
    // A string with a NUL byte names no film (PostgreSQL text cannot hold one, and refuses it as a
    // parameter): left out rather than sent.
    let slugs: Vec<&str> = slugs
        .iter()
        .map(String::as_str)
        .filter(|s| !s.contains('\0'))
        .collect();
    let rows: Vec<(String, i64)> = films::table
        .filter(films::slug.eq_any(slugs))
        .filter(crate::film_visible(viewer.get()))
        .select((films::slug, films::id))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(slug, id)| (slug, FilmId::new(id)))
        .collect())
}

/// The viewer's relationship with each film `slugs` names that exists (by slug).
pub async fn viewer_states(
    conn: &mut AsyncPgConnection,
    viewer: MemberId,
    slugs: &[String],
) -> Result<Vec<(String, ViewerFilmRow)>> {
    Ok(films::table
        .left_join(crate::viewer_film_on(viewer.get(), films::id))
        .filter(films::slug.eq_any(slugs))
        .filter(crate::film_visible(viewer.get()))
        .select((films::slug, crate::viewer_film_columns()))
        .load(conn)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ranges_cover_exactly_the_prefix() {
        assert_eq!(prefix_range("abc"), ("abc".to_owned(), "abd".to_owned()));
        assert_eq!(prefix_range("a"), ("a".to_owned(), "b".to_owned()));
        assert_eq!(like_escape("100%_x\\"), "100\\%\\_x\\\\");
    }
}

/// The unique constraints on the films' external ids.
pub const EXTERNAL_ID_KEYS: [&str; 3] = [
    "films_tmdb_id_key",
    "films_imdb_id_key",
    "films_letterboxd_uri_key",
];

/// An external id a film can be looked up by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalId {
    Tmdb(i32),
    Imdb(String),
    Letterboxd(String),
}

/// The film with that external id, as lists show films, with the viewer's relationship.
pub async fn by_external_id(
    conn: &mut AsyncPgConnection,
    viewer: Option<MemberId>,
    id: &ExternalId,
) -> Result<Vec<FilmListRow>> {
    let rows = film_list_rows("$2");
    let visible = crate::film_visible_sql("f", "$2");
    let viewer = viewer_id(viewer);
    // Each bound as its column's type, so the column's unique index finds the film.
    let rows = match id {
        ExternalId::Tmdb(n) => {
            diesel::sql_query(format!("{rows} WHERE f.tmdb_id = $1 AND {visible}"))
                .bind::<Integer, _>(*n)
                .bind::<BigInt, _>(viewer)
                .load(conn)
                .await?
        }
        ExternalId::Imdb(s) | ExternalId::Letterboxd(s) => {
            let column = if matches!(id, ExternalId::Imdb(_)) {
                "imdb_id"
            } else {
                "letterboxd_uri"
            };
            diesel::sql_query(format!("{rows} WHERE f.{column} = $1 AND {visible}"))
                .bind::<Text, _>(s)
                .bind::<BigInt, _>(viewer)
                .load(conn)
                .await?
        }
    };
    Ok(rows)
}

/// The select list and joins of [`FilmListRow`]s (the list keys computed, the viewer's relationship
/// joined on the member id bound as `viewer_param`), for [`browse`] and [`by_external_id`].
fn film_list_rows(viewer_param: &str) -> String {
    let weighted = weighted_rating_sql();
    format!(
        "SELECT f.*, s.*, s.watch_count::bigint AS key_count, {weighted} AS key_average, \
                COALESCE(f.release_date, DATE '0001-01-01') AS key_date, lower(f.title) AS key_text, \
                0::float8 AS rank, {VIEWER_FILM_COLUMNS} \
         FROM films f JOIN film_stats s ON s.film_id = f.id \
         LEFT JOIN member_films v ON v.member_id = {viewer_param} AND v.film_id = f.id"
    )
}

/// Adds a film an import found nowhere in the catalog, unverified and `member`'s: only they (and
/// admins) see it until an admin verifies or merges it. Its slug is made from the title and year
/// with `-imported` (numbered when taken), so it never takes the slug the catalog's own film will
/// have; it holds no external id (another member's import could otherwise be matched to it).
pub async fn insert_unverified(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    title: &str,
    year: Option<i32>,
    base_slug: &str,
) -> Result<FilmRow> {
    for n in 1.. {
        let slug = if n == 1 {
            format!("{base_slug}-imported")
        } else {
            format!("{base_slug}-imported-{n}")
        };
        let row = diesel::insert_into(films::table)
            .values((
                films::slug.eq(&slug),
                films::title.eq(title),
                films::year.eq(year),
                films::verified.eq(false),
                films::added_by.eq(member.get()),
            ))
            .on_conflict(films::slug)
            .do_nothing()
            .returning(FilmRow::as_returning())
            .get_result(conn)
            .await
            .optional()?;
        if let Some(row) = row {
            return Ok(row);
        }
    }
    unreachable!("the slugs tried are unbounded")
}

/// What merging moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Merged {
    pub members: usize,
    pub log_entries: usize,
    pub list_entries: usize,
}

/// Merges the film `source` into `target` inside the caller's transaction: every member's state with
/// it (watched, liked, on the watchlist: either; a rating: the target's when both have one), their
/// log entries, activities, list entries (a list holding both keeps the target's) and imports move to
/// `target`, the external ids `target` lacks are taken from `source`, `source` is deleted, and the
/// target's maintained counters are recomputed from their base tables.
pub async fn merge(conn: &mut AsyncPgConnection, source: FilmId, target: FilmId) -> Result<Merged> {
    let (s, t) = (source.get(), target.get());
    let bind = |sql: &'static str| {
        diesel::sql_query(sql)
            .bind::<BigInt, _>(s)
            .bind::<BigInt, _>(t)
    };
    let members = bind(
        "INSERT INTO member_films (member_id, film_id, watched, liked, in_watchlist, rating, liked_at, \
             watchlisted_at, updated_at, explicit_rating, explicit_rated_at) \
         SELECT member_id, $2, watched, liked, in_watchlist, rating, liked_at, watchlisted_at, now(), \
                explicit_rating, explicit_rated_at \
         FROM member_films WHERE film_id = $1 \
         ON CONFLICT (member_id, film_id) DO UPDATE SET \
             watched = member_films.watched OR excluded.watched, \
             liked = member_films.liked OR excluded.liked, \
             in_watchlist = (member_films.in_watchlist OR excluded.in_watchlist) \
                 AND NOT (member_films.watched OR excluded.watched), \
             rating = COALESCE(member_films.rating, excluded.rating), \
             liked_at = COALESCE(member_films.liked_at, excluded.liked_at), \
             watchlisted_at = COALESCE(member_films.watchlisted_at, excluded.watchlisted_at), \
             explicit_rating = COALESCE(member_films.explicit_rating, excluded.explicit_rating), \
             explicit_rated_at = COALESCE(member_films.explicit_rated_at, excluded.explicit_rated_at), \
             updated_at = now()",
    )
    .execute(conn)
    .await?;
    diesel::delete(member_films::table.filter(member_films::film_id.eq(s)))
        .execute(conn)
        .await?;
    let log_entries = bind("UPDATE log_entries SET film_id = $2 WHERE film_id = $1")
        .execute(conn)
        .await?;
    bind("UPDATE activities SET film_id = $2 WHERE film_id = $1")
        .execute(conn)
        .await?;
    bind(
        "DELETE FROM list_entries e WHERE e.film_id = $1 AND EXISTS \
             (SELECT 1 FROM list_entries o WHERE o.list_id = e.list_id AND o.film_id = $2)",
    )
    .execute(conn)
    .await?;
    let list_entries = bind("UPDATE list_entries SET film_id = $2 WHERE film_id = $1")
        .execute(conn)
        .await?;
    bind("UPDATE import_sources SET film_id = $2 WHERE film_id = $1")
        .execute(conn)
        .await?;
    bind("UPDATE import_rows SET film_id = $2 WHERE film_id = $1")
        .execute(conn)
        .await?;
    // The external ids move: read, cleared on the source, then given to the target where it has
    // none (each is unique, so the source lets go first). Its Wikipedia page moves alike, its
    // titles join the target's other titles and its sources the target's (a later catalog import
    // then finds the merged film in the target, not as a film to add again).
    #[allow(clippy::type_complexity)]
    let (tmdb, imdb, uri, page, titles, sources): (
        Option<i32>,
        Option<String>,
        Option<String>,
        Option<String>,
        Vec<Option<String>>,
        Vec<Option<String>>,
    ) = films::table
        .find(s)
        .select((
            films::tmdb_id,
            films::imdb_id,
            films::letterboxd_uri,
            films::wikipedia_page,
            films::alternative_titles,
            films::sources,
        ))
        .first(conn)
        .await?;
    let title: String = films::table
        .find(s)
        .select(films::title)
        .first(conn)
        .await?;
    let titles: Vec<String> = std::iter::once(title)
        .chain(titles.into_iter().flatten())
        .collect();
    let sources: Vec<String> = sources.into_iter().flatten().collect();
    diesel::delete(films::table.find(s)).execute(conn).await?;
    diesel::sql_query(
        "UPDATE films SET tmdb_id = COALESCE(tmdb_id, $2), imdb_id = COALESCE(imdb_id, $3), \
             letterboxd_uri = COALESCE(letterboxd_uri, $4), wikipedia_page = COALESCE(wikipedia_page, $5), \
             alternative_titles = ARRAY(SELECT DISTINCT t FROM unnest(alternative_titles || $6::text[]) t \
                                        WHERE t IS NOT NULL AND t <> title ORDER BY t LIMIT 20), \
             sources = ARRAY(SELECT DISTINCT x FROM unnest(sources || $7::text[]) x WHERE x IS NOT NULL ORDER BY x), \
             updated_at = now() WHERE id = $1",
    )
    .bind::<BigInt, _>(t)
    .bind::<Nullable<Integer>, _>(tmdb)
    .bind::<Nullable<Text>, _>(imdb)
    .bind::<Nullable<Text>, _>(uri)
    .bind::<Nullable<Text>, _>(page)
    .bind::<diesel::sql_types::Array<Text>, _>(titles)
    .bind::<diesel::sql_types::Array<Text>, _>(sources)
    .execute(conn)
    .await?;
    // Moving rows by UPDATE is not counted by the counting triggers (they count inserts and
    // deletes), so the target's review and list counts are recounted.
    diesel::sql_query(
        "UPDATE film_stats SET \
             review_count = (SELECT count(*) FROM log_entries e \
                             WHERE e.film_id = $1 AND e.review_text IS NOT NULL), \
             list_count = (SELECT count(*) FROM list_entries e WHERE e.film_id = $1) \
         WHERE film_id = $1",
    )
    .bind::<BigInt, _>(t)
    .execute(conn)
    .await?;
    belongs_to_catalog(conn, target).await?;
    Ok(Merged {
        members,
        log_entries,
        list_entries,
    })
}
