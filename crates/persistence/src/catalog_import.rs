//! Loading catalog datasets in bulk: what the catalog already holds (films by slug and Wikipedia
//! page, people by name), then set-based writes of a few thousand rows per statement (a JSON array
//! read by `jsonb_to_recordset`, so one statement carries rows with array columns).
//!
//! Which film is which is decided by the caller (the importer's rules); this module only reads the
//! catalog's side and writes what it is given.

use chrono::NaiveDate;
use diesel::sql_types::{Array, BigInt, Jsonb, Nullable, Text};
use diesel::{ExpressionMethods, QueryDsl, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::CreditRole;
use serde_json::{Value, json};

use crate::Result;
use crate::schema::{films, people};

/// Rows per statement: keeps each JSON parameter to a few MB.
const BATCH: usize = 4000;

/// A film the catalog already has, as the importer matches against it.
#[derive(Debug, Clone, QueryableByName)]
pub struct ExistingFilm {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub slug: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub wikipedia_page: Option<String>,
    #[diesel(sql_type = Array<Nullable<Text>>)]
    pub sources: Vec<Option<String>>,
}

/// Every film in the catalog (ids, slugs, pages, sources: a few MB for the demo catalog).
pub async fn existing_films(conn: &mut AsyncPgConnection) -> Result<Vec<ExistingFilm>> {
    Ok(
        diesel::sql_query("SELECT id, slug, wikipedia_page, sources FROM films ORDER BY id")
            .load(conn)
            .await?,
    )
}

/// Every person as (id, name, slug), oldest first.
pub async fn existing_people(conn: &mut AsyncPgConnection) -> Result<Vec<(i64, String, String)>> {
    Ok(people::table
        .select((people::id, people::name, people::slug))
        .order(people::id)
        .load(conn)
        .await?)
}

/// A film to insert.
#[derive(Debug, Clone)]
pub struct LoadFilm {
    pub slug: String,
    pub title: String,
    pub year: Option<i32>,
    pub release_date: Option<NaiveDate>,
    pub runtime_minutes: Option<i32>,
    pub synopsis: Option<String>,
    pub genres: Vec<String>,
    pub alternative_titles: Vec<String>,
    pub wikipedia_page: Option<String>,
    pub sources: Vec<String>,
}

/// What a new source adds to a film the catalog has: only what the film lacks (an admin's
/// corrections stay), genres and titles joined, the source recorded.
#[derive(Debug, Clone)]
pub struct Enrichment {
    pub id: i64,
    pub runtime_minutes: Option<i32>,
    pub synopsis: Option<String>,
    pub release_date: Option<NaiveDate>,
    pub genres: Vec<String>,
    pub alternative_titles: Vec<String>,
    pub wikipedia_page: Option<String>,
    pub sources: Vec<String>,
}

/// A credit to add, by ids.
#[derive(Debug, Clone, Copy)]
pub struct LoadCredit {
    pub film: i64,
    pub person: i64,
    pub role: CreditRole,
    pub billing_order: i32,
}

fn date(d: Option<NaiveDate>) -> Value {
    d.map_or(Value::Null, |d| Value::String(d.to_string()))
}

impl LoadFilm {
    fn json(&self) -> Value {
        json!({
            "slug": self.slug, "title": self.title, "year": self.year,
            "release_date": date(self.release_date), "runtime_minutes": self.runtime_minutes,
            "synopsis": self.synopsis, "genres": self.genres,
            "alternative_titles": self.alternative_titles, "wikipedia_page": self.wikipedia_page,
            "sources": self.sources,
        })
    }
}

impl Enrichment {
    fn json(&self) -> Value {
        json!({
            "id": self.id, "runtime_minutes": self.runtime_minutes, "synopsis": self.synopsis,
            "release_date": date(self.release_date), "genres": self.genres,
            "alternative_titles": self.alternative_titles, "wikipedia_page": self.wikipedia_page,
            "sources": self.sources,
        })
    }
}

#[derive(QueryableByName)]
struct IdSlug {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    slug: String,
}

/// Inserts `rows` (their slugs are free: the caller checked), returning (id, slug) of each.
pub async fn insert_films(
    conn: &mut AsyncPgConnection,
    rows: &[LoadFilm],
) -> Result<Vec<(i64, String)>> {
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(BATCH) {
        let inserted: Vec<IdSlug> = diesel::sql_query(
            "INSERT INTO films (slug, title, year, release_date, runtime_minutes, synopsis, genres, \
                                alternative_titles, wikipedia_page, sources) \
             SELECT slug, title, year, release_date, runtime_minutes, synopsis, genres, \
                    alternative_titles, wikipedia_page, sources \
             FROM jsonb_to_recordset($1) AS r(slug text, title text, year int, release_date date, \
                  runtime_minutes int, synopsis text, genres text[], alternative_titles text[], \
                  wikipedia_page text, sources text[]) \
             RETURNING id, slug",
        )
        .bind::<Jsonb, _>(Value::Array(chunk.iter().map(LoadFilm::json).collect()))
        .load(conn)
        .await?;
        out.extend(inserted.into_iter().map(|r| (r.id, r.slug)));
    }
    Ok(out)
}

/// Applies `rows` to the films they name.
pub async fn enrich_films(conn: &mut AsyncPgConnection, rows: &[Enrichment]) -> Result<usize> {
    let mut changed = 0;
    for chunk in rows.chunks(BATCH) {
        changed += diesel::sql_query(
            "UPDATE films f SET \
                 runtime_minutes = coalesce(f.runtime_minutes, r.runtime_minutes), \
                 synopsis = coalesce(f.synopsis, r.synopsis), \
                 release_date = coalesce(f.release_date, r.release_date), \
                 genres = ARRAY(SELECT DISTINCT g FROM unnest(f.genres || r.genres) g WHERE g IS NOT NULL ORDER BY g), \
                 alternative_titles = ARRAY(SELECT DISTINCT t FROM unnest(f.alternative_titles || r.alternative_titles) t \
                                            WHERE t IS NOT NULL AND t <> f.title ORDER BY t LIMIT 20), \
                 wikipedia_page = coalesce(f.wikipedia_page, r.wikipedia_page), \
                 sources = ARRAY(SELECT DISTINCT s FROM unnest(f.sources || r.sources) s WHERE s IS NOT NULL ORDER BY s), \
                 updated_at = now() \
             FROM jsonb_to_recordset($1) AS r(id bigint, runtime_minutes int, synopsis text, \
                  release_date date, genres text[], alternative_titles text[], wikipedia_page text, \
                  sources text[]) \
             WHERE f.id = r.id",
        )
        .bind::<Jsonb, _>(Value::Array(chunk.iter().map(Enrichment::json).collect()))
        .execute(conn)
        .await?;
    }
    Ok(changed)
}

/// Inserts people as (name, slug) pairs (slugs free), returning their ids in order.
pub async fn insert_people(
    conn: &mut AsyncPgConnection,
    rows: &[(String, String)],
) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(BATCH) {
        let (names, slugs): (Vec<&str>, Vec<&str>) =
            chunk.iter().map(|(n, s)| (n.as_str(), s.as_str())).unzip();
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = BigInt)]
            id: i64,
        }
        let inserted: Vec<Id> = diesel::sql_query(
            "INSERT INTO people (name, slug) \
             SELECT name, slug FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(name, slug, n) \
             ORDER BY n RETURNING id",
        )
        .bind::<Array<Text>, _>(names)
        .bind::<Array<Text>, _>(slugs)
        .load(conn)
        .await?;
        ids.extend(inserted.into_iter().map(|r| r.id));
    }
    Ok(ids)
}

/// Adds credits; one a film already has (same person and role) is left as it is.
pub async fn insert_credits(conn: &mut AsyncPgConnection, rows: &[LoadCredit]) -> Result<usize> {
    let mut added = 0;
    for chunk in rows.chunks(BATCH * 4) {
        let films: Vec<i64> = chunk.iter().map(|c| c.film).collect();
        let people: Vec<i64> = chunk.iter().map(|c| c.person).collect();
        let roles: Vec<&str> = chunk.iter().map(|c| c.role.as_str()).collect();
        let orders: Vec<i32> = chunk.iter().map(|c| c.billing_order).collect();
        added += diesel::sql_query(
            "INSERT INTO film_credits (film_id, person_id, role, billing_order) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::int[]) \
             ON CONFLICT ON CONSTRAINT film_credits_unique DO NOTHING",
        )
        .bind::<Array<BigInt>, _>(films)
        .bind::<Array<BigInt>, _>(people)
        .bind::<Array<Text>, _>(roles)
        .bind::<Array<diesel::sql_types::Integer>, _>(orders)
        .execute(conn)
        .await?;
    }
    Ok(added)
}

/// The films among `ids` that already have credits in `role`.
pub async fn films_with_role(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    role: CreditRole,
) -> Result<Vec<i64>> {
    use crate::schema::film_credits;
    Ok(film_credits::table
        .filter(film_credits::film_id.eq_any(ids))
        .filter(film_credits::role.eq(role.as_str()))
        .select(film_credits::film_id)
        .distinct()
        .load(conn)
        .await?)
}

/// Films the catalog has in total.
pub async fn film_count(conn: &mut AsyncPgConnection) -> Result<i64> {
    Ok(films::table.count().get_result(conn).await?)
}
