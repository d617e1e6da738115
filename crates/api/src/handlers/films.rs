//! The catalog: browse and search, a film with credits and statistics, admin create/update.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::NaiveDate;
use diesel_async::AsyncConnection;
use filmlog_domain::{FilmId, Role, Slug, Title, label, plausible_release, valid_year};
use filmlog_persistence::catalog::{
    self, CreditRow, FilmChanges, FilmFilter, FilmKey, FilmListRow, FilmRow, FilmSort,
    FilmStatsRow, NewCredit, NewFilm, SLUG_KEY,
};
use filmlog_persistence::{AsyncPgConnection, PersistenceError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthMember;
use crate::conditional::json_with_etag;
use crate::dto::FilmSummary;
use crate::error::{
    ApiError, ApiResult, BadPageQuery, FieldError, FilmNotFound, MalformedJson, MalformedJsonOrKey,
    NotJson, Problem, ServiceUnavailable, Unauthenticated,
};
use crate::extract::{JsonBody, double_option};
use crate::idempotency::{IdempotencyKey, Outcome};
use crate::pagination::{self, Page};
use crate::state::AppState;

/// A film's counts, kept up to date with every write.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FilmStatistics {
    /// Members who have watched it.
    pub watch_count: i32,
    /// Members who like it.
    pub like_count: i32,
    /// Members who rate it.
    pub rating_count: i32,
    /// Log entries with review text.
    pub review_count: i32,
    /// Mean of the members' current ratings, in stars; `null` when no one rated it.
    #[schema(example = 4.25)]
    pub average_rating: Option<f64>,
    /// Members per rating, from 0.5 to 5.0 stars.
    pub histogram: Vec<RatingBucket>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RatingBucket {
    #[schema(example = 4.5)]
    pub rating: f64,
    pub count: i32,
}

impl From<FilmStatsRow> for FilmStatistics {
    fn from(s: FilmStatsRow) -> Self {
        FilmStatistics {
            watch_count: s.watch_count,
            like_count: s.like_count,
            rating_count: s.rating_count,
            review_count: s.review_count,
            average_rating: s.average_stars().map(|a| (a * 100.0).round() / 100.0),
            histogram: s
                .histogram()
                .iter()
                .zip(1u8..)
                .map(|(count, halves)| RatingBucket {
                    rating: f64::from(halves) / 2.0,
                    count: *count,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Person {
    #[schema(example = "Majid Majidi")]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CastMember {
    #[schema(example = "Amir Farrokh Hashemian")]
    pub name: String,
    #[schema(example = "Ali")]
    pub character: Option<String>,
    pub billing_order: i32,
}

/// A film with its credits and statistics.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Film {
    #[schema(example = "children-of-heaven-1997")]
    pub slug: String,
    #[schema(example = "Children of Heaven")]
    pub title: String,
    #[schema(example = "Bacheha-Ye aseman")]
    pub original_title: Option<String>,
    #[schema(example = 1997)]
    pub year: Option<i32>,
    #[schema(example = "1997-02-01")]
    pub release_date: Option<NaiveDate>,
    #[schema(example = 89)]
    pub runtime_minutes: Option<i32>,
    pub synopsis: Option<String>,
    pub poster_url: Option<String>,
    pub genres: Vec<String>,
    pub countries: Vec<String>,
    pub languages: Vec<String>,
    pub directors: Vec<Person>,
    pub cast: Vec<CastMember>,
    pub statistics: FilmStatistics,
}

impl Film {
    fn build(film: FilmRow, stats: FilmStatsRow, credits: Vec<CreditRow>) -> Self {
        let (directors, cast): (Vec<_>, Vec<_>) =
            credits.into_iter().partition(|c| c.role == "director");
        Film {
            slug: film.slug,
            title: film.title,
            original_title: film.original_title,
            year: film.year,
            release_date: film.release_date,
            runtime_minutes: film.runtime_minutes,
            synopsis: film.synopsis,
            poster_url: film.poster_url,
            genres: film.genres.into_iter().flatten().collect(),
            countries: film.countries.into_iter().flatten().collect(),
            languages: film.languages.into_iter().flatten().collect(),
            directors: directors
                .into_iter()
                .map(|c| Person { name: c.name })
                .collect(),
            cast: cast
                .into_iter()
                .map(|c| CastMember {
                    name: c.name,
                    character: c.character,
                    billing_order: c.billing_order,
                })
                .collect(),
            statistics: stats.into(),
        }
    }
}

/// A film in a list, with its headline numbers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FilmListItem {
    #[serde(flatten)]
    pub film: FilmSummary,
    pub genres: Vec<String>,
    pub watch_count: i32,
    pub average_rating: Option<f64>,
    /// The `sort=rating` key: the average pulled towards a prior of 3.0 stars with the weight of 10
    /// ratings, `(sum + 10 × 3.0) / (count + 10)`, so a film with one 5-star rating scores 3.18;
    /// `null` when no one rated it (such films sort last).
    pub weighted_rating: Option<f64>,
}

impl From<FilmListRow> for FilmListItem {
    fn from(r: FilmListRow) -> Self {
        FilmListItem {
            film: FilmSummary {
                slug: r.film.slug,
                title: r.film.title,
                year: r.film.year,
                poster_url: r.film.poster_url,
            },
            genres: r.film.genres.into_iter().flatten().collect(),
            watch_count: r.stats.watch_count,
            average_rating: r.stats.average_stars().map(|a| (a * 100.0).round() / 100.0),
            weighted_rating: filmlog_domain::weighted_rating::stars(
                r.stats.rating_sum,
                i64::from(r.stats.rating_count),
            )
            .map(|a| (a * 100.0).round() / 100.0),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FilmSortParam {
    Popular,
    Rating,
    Release,
    Title,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FilmListQuery {
    /// Title search: prefix and fuzzy matches, best first (then `sort` is not used).
    pub q: Option<String>,
    /// Release year.
    pub year: Option<i32>,
    /// First year of a decade, e.g. 1990.
    pub decade: Option<i32>,
    /// A genre, e.g. `Drama`.
    pub genre: Option<String>,
    /// Order when there is no `q`; default `popular` (most watched). `rating` orders by
    /// `weighted_rating`, a Bayesian average (prior 3.0 stars, weight 10 ratings).
    #[param(inline)]
    pub sort: Option<FilmSortParam>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum KeyValue {
    Count(i64),
    Average(f64),
    Text(String),
}

fn filter_of(q: &FilmListQuery) -> ApiResult<FilmFilter> {
    if let Some(y) = q.year.filter(|y| !valid_year(*y)) {
        return Err(ApiError::bad_request(
            "invalid_query_parameter",
            format!("year {y} is out of range"),
        ));
    }
    if let Some(d) = q.decade.filter(|d| d % 10 != 0 || !valid_year(*d)) {
        return Err(ApiError::bad_request(
            "invalid_query_parameter",
            format!("decade {d} must be a year ending in 0"),
        ));
    }
    let genre =
        match q.genre.as_deref() {
            Some(g) => Some(label(g).map_err(|e| {
                ApiError::bad_request("invalid_query_parameter", format!("genre {e}"))
            })?),
            None => None,
        };
    Ok(FilmFilter {
        year: q.year,
        decade: q.decade,
        genre,
    })
}

/// Browse and search films
///
/// Without `q`: the catalog filtered by `year`, `decade` and `genre`, ordered by `sort`. With `q`:
/// films whose title starts with, contains or resembles `q` (trigram similarity), best match first.
#[utoipa::path(
    operation_id = "list_films",
    tag = "films",
    params(FilmListQuery),
    responses(
        (status = 200, description = "A page of films", body = Page<FilmListItem>),
        (status = 400, response = BadPageQuery),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/films")]
pub async fn list_films(
    state: web::Data<AppState>,
    query: web::Query<FilmListQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    let filter = filter_of(&q)?;
    let mut conn = state.conn().await?;
    let search = match q.q.as_deref().map(str::trim) {
        Some(text) if text.chars().any(char::is_control) || text.chars().count() > 200 => {
            return Err(ApiError::bad_request(
                "invalid_query_parameter",
                "q must be one line of at most 200 characters",
            ));
        }
        Some(text) if !text.is_empty() => Some(text.to_owned()),
        _ => None,
    };
    if let Some(text) = search {
        if q.sort.is_some() {
            return Err(ApiError::bad_request(
                "invalid_query_parameter",
                "sort cannot be combined with q (results are ranked by relevance)",
            ));
        }
        let after = pagination::decode::<(f64, i64)>(q.cursor.as_deref())?;
        let rows = catalog::search(&mut conn, &text, &filter, after, limit + 1).await?;
        let page = pagination::page(rows, limit, |r| (r.rank, r.film.id), FilmListItem::from);
        return Ok(HttpResponse::Ok().json(page));
    }
    let sort = match q.sort.unwrap_or(FilmSortParam::Popular) {
        FilmSortParam::Popular => FilmSort::Popular,
        FilmSortParam::Rating => FilmSort::Rating,
        FilmSortParam::Release => FilmSort::Release,
        FilmSortParam::Title => FilmSort::Title,
    };
    let after = match pagination::decode::<(KeyValue, i64)>(q.cursor.as_deref())? {
        None => None,
        Some((value, id)) => {
            let key = match (sort, value) {
                (FilmSort::Popular, KeyValue::Count(c)) => FilmKey::Count(c),
                (FilmSort::Rating, KeyValue::Average(a)) => FilmKey::Average(a),
                (FilmSort::Rating, KeyValue::Count(c)) => FilmKey::Average(c as f64),
                (FilmSort::Release, KeyValue::Text(t)) => {
                    FilmKey::Date(t.parse().map_err(|_| {
                        ApiError::bad_request(
                            "invalid_cursor",
                            "the cursor is not one this list issued",
                        )
                    })?)
                }
                (FilmSort::Title, KeyValue::Text(t)) => FilmKey::Text(t),
                _ => {
                    return Err(ApiError::bad_request(
                        "invalid_cursor",
                        "the cursor is not one this list issued",
                    ));
                }
            };
            Some((key, id))
        }
    };
    let rows = catalog::browse(&mut conn, &filter, sort, after, limit + 1).await?;
    let page = pagination::page(
        rows,
        limit,
        |r| {
            let key = match r.key(sort) {
                FilmKey::Count(c) => KeyValue::Count(c),
                FilmKey::Average(a) => KeyValue::Average(a),
                FilmKey::Date(d) => KeyValue::Text(d.to_string()),
                FilmKey::Text(t) => KeyValue::Text(t),
            };
            (key, r.film.id)
        },
        FilmListItem::from,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// The film a slug names, or 404.
pub async fn film_id(conn: &mut AsyncPgConnection, slug: &str) -> ApiResult<FilmId> {
    let not_found = || ApiError::not_found("that film");
    let slug = Slug::parse(slug).map_err(|_| not_found())?;
    catalog::id_by_slug(conn, slug.as_str())
        .await?
        .ok_or_else(not_found)
}

async fn load_film(conn: &mut AsyncPgConnection, slug: &str) -> ApiResult<Film> {
    let not_found = || ApiError::not_found("that film");
    let slug = Slug::parse(slug).map_err(|_| not_found())?;
    let (film, stats) = catalog::find_by_slug(conn, slug.as_str())
        .await?
        .ok_or_else(not_found)?;
    let credits = catalog::credits(conn, FilmId::new(film.id)).await?;
    Ok(Film::build(film, stats, credits))
}

/// A film
///
/// The film with its directors, cast and statistics, in one response (two queries).
#[utoipa::path(
    operation_id = "get_film",
    tag = "films",
    params(("slug" = String, Path, example = "children-of-heaven-1997")),
    responses(
        (status = 200, description = "The film, with an `ETag`", body = Film),
        (status = 304, description = "Unchanged since the ETag in `If-None-Match`"),
        (status = 404, response = FilmNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/films/{slug}")]
pub async fn get_film(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let film = load_film(&mut conn, &slug).await?;
    json_with_etag(&req, &film)
}

/// A film's statistics
#[utoipa::path(
    operation_id = "get_film_statistics",
    tag = "films",
    params(("slug" = String, Path, example = "children-of-heaven-1997")),
    responses(
        (status = 200, description = "Counts, average and histogram", body = FilmStatistics),
        (status = 404, response = FilmNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/films/{slug}/statistics")]
pub async fn get_film_statistics(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let id = film_id(&mut conn, &slug).await?;
    let stats = catalog::stats(&mut conn, id).await?;
    Ok(HttpResponse::Ok().json(FilmStatistics::from(stats)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CastInput {
    pub name: String,
    pub character: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFilmRequest {
    #[schema(example = "Children of Heaven")]
    pub title: String,
    pub original_title: Option<String>,
    #[schema(example = 1997)]
    pub year: Option<i32>,
    pub release_date: Option<NaiveDate>,
    pub runtime_minutes: Option<i32>,
    pub synopsis: Option<String>,
    pub poster_url: Option<String>,
    #[serde(default)]
    pub genres: Vec<String>,
    #[serde(default)]
    pub countries: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub directors: Vec<String>,
    /// In billing order.
    #[serde(default)]
    pub cast: Vec<CastInput>,
    /// Defaults to the title and year, e.g. `children-of-heaven-1997`.
    pub slug: Option<String>,
}

fn require_admin(auth: &AuthMember) -> ApiResult<()> {
    if auth.member.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "admin_only",
            "only admins may change the catalog",
        ))
    }
}

/// Collects field errors while parsing a film's fields.
struct Fields(Vec<FieldError>);

impl Fields {
    fn text(
        &mut self,
        pointer: &str,
        raw: Option<String>,
        max: usize,
        multiline: bool,
    ) -> Option<String> {
        match raw
            .as_deref()
            .map(|r| filmlog_domain::text::clean(r, max, multiline))
        {
            None | Some(Ok(None)) => None,
            Some(Ok(Some(v))) => Some(v),
            Some(Err(e)) => {
                self.0.push(FieldError::new(pointer, "invalid_text", e));
                None
            }
        }
    }

    fn labels(&mut self, pointer: &str, raw: Vec<String>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (i, r) in raw.iter().enumerate() {
            match label(r) {
                Ok(l) if !out.contains(&l) => out.push(l),
                Ok(_) => {}
                Err(e) => self.0.push(FieldError::new(
                    format!("{pointer}/{i}"),
                    "invalid_label",
                    e,
                )),
            }
        }
        if out.len() > 20 {
            self.0
                .push(FieldError::new(pointer, "too_many", "at most 20 values"));
        }
        out
    }

    fn year(&mut self, year: Option<i32>) -> Option<i32> {
        if let Some(y) = year.filter(|y| !valid_year(*y)) {
            self.0.push(FieldError::new(
                "/year",
                "invalid_year",
                format!("year {y} must be between 1870 and 2100"),
            ));
        }
        year
    }

    fn release(&mut self, date: Option<NaiveDate>) -> Option<NaiveDate> {
        if let Some(d) = date.filter(|d| !plausible_release(*d, filmlog_domain::latest_today())) {
            self.0.push(FieldError::new(
                "/release_date",
                "invalid_release_date",
                format!("{d} is too far in the future or past"),
            ));
        }
        date
    }

    fn runtime(&mut self, runtime: Option<i32>) -> Option<i32> {
        if let Some(r) = runtime.filter(|r| !(1..=1500).contains(r)) {
            self.0.push(FieldError::new(
                "/runtime_minutes",
                "invalid_runtime",
                format!("{r} must be 1–1500 minutes"),
            ));
        }
        runtime
    }

    fn poster(&mut self, raw: Option<String>) -> Option<String> {
        match raw.as_deref().map(filmlog_domain::Website::parse) {
            None | Some(Ok(None)) => None,
            Some(Ok(Some(url))) => Some(url.into_inner()),
            Some(Err(e)) => {
                self.0
                    .push(FieldError::new("/poster_url", "invalid_url", e));
                None
            }
        }
    }

    fn finish(self) -> ApiResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.0))
        }
    }
}

/// Add a film (admins)
#[utoipa::path(
    operation_id = "create_film",
    tag = "films",
    request_body = CreateFilmRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body replay the original response; the same key with another body is 422 `idempotency_key_reused`")),
    responses(
        (status = 201, description = "Created; `Location` names it", body = Film),
        (status = 400, response = MalformedJsonOrKey),
        (status = 401, response = Unauthenticated),
        (status = 403, description = "Not an admin (`admin_only`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken (`slug_taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, response = NotJson),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/films")]
pub async fn create_film(
    state: web::Data<AppState>,
    auth: AuthMember,
    key: IdempotencyKey,
    body: JsonBody<CreateFilmRequest>,
) -> ApiResult<HttpResponse> {
    require_admin(&auth)?;
    let idempotency = key.for_body(body.digest());
    let req = body.0;
    let mut f = Fields(Vec::new());
    let title = Title::parse(&req.title)
        .map_err(|e| f.0.push(FieldError::new("/title", "invalid_title", e)))
        .ok();
    let year = f.year(req.year);
    let slug = match req.slug.as_deref() {
        Some(s) => Slug::parse(s)
            .map_err(|e| f.0.push(FieldError::new("/slug", "invalid_slug", e)))
            .ok(),
        None => title
            .as_ref()
            .and_then(|t| Slug::from_title(t.as_str(), year)),
    };
    if slug.is_none() && title.is_some() && req.slug.is_none() {
        f.0.push(FieldError::new(
            "/slug",
            "invalid_slug",
            "the title has no letters or digits to make a slug of; give a slug",
        ));
    }
    let new = NewFilm {
        slug: slug.map(Slug::into_inner).unwrap_or_default(),
        title: title.map(Title::into_inner).unwrap_or_default(),
        original_title: f.text("/original_title", req.original_title, 300, false),
        year,
        release_date: f.release(req.release_date),
        runtime_minutes: f.runtime(req.runtime_minutes),
        synopsis: f.text("/synopsis", req.synopsis, 5000, true),
        poster_url: f.poster(req.poster_url),
        genres: f.labels("/genres", req.genres),
        countries: f.labels("/countries", req.countries),
        languages: f.labels("/languages", req.languages),
    };
    let mut credits = Vec::new();
    for (i, name) in req.directors.into_iter().enumerate() {
        if let Some(name) = f.text(&format!("/directors/{i}"), Some(name), 200, false) {
            credits.push(NewCredit {
                name,
                role: "director",
                character: None,
                billing_order: i32::try_from(i).unwrap_or(0),
            });
        }
    }
    for (i, c) in req.cast.into_iter().enumerate() {
        let character = f.text(&format!("/cast/{i}/character"), c.character, 200, false);
        if let Some(name) = f.text(&format!("/cast/{i}/name"), Some(c.name), 200, false) {
            credits.push(NewCredit {
                name,
                role: "cast",
                character,
                billing_order: i32::try_from(i).unwrap_or(0),
            });
        }
    }
    if credits.len() > 200 {
        f.0.push(FieldError::new("/cast", "too_many", "at most 200 credits"));
    }
    f.finish()?;
    let mut conn = state.conn().await?;
    let member = auth.id();
    let outcome = conn
        .transaction(async |conn| {
            if let Some(replay) = idempotency.replay(conn, member).await? {
                return Ok(replay);
            }
            let film = catalog::insert_film(conn, &new, &credits)
                .await
                .map_err(slug_conflict)?;
            let film = load_film(conn, &film.slug).await?;
            let outcome = Outcome::created(format!("/api/v1/films/{}", film.slug), &film)?;
            idempotency.record(conn, member, outcome).await
        })
        .await?;
    Ok(outcome.into_response())
}

fn slug_conflict(err: PersistenceError) -> ApiError {
    if err.is_unique_violation_of(SLUG_KEY) {
        ApiError::conflict("slug_taken", "a film with that slug exists")
    } else {
        err.into()
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFilmRequest {
    pub title: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub original_title: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub year: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub release_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub runtime_minutes: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub synopsis: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub poster_url: Option<Option<String>>,
    pub genres: Option<Vec<String>>,
    pub countries: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
}

/// Change a film (admins)
///
/// The slug never changes (it is the film's address).
#[utoipa::path(
    operation_id = "update_film",
    tag = "films",
    params(("slug" = String, Path, example = "children-of-heaven-1997")),
    request_body = UpdateFilmRequest,
    responses(
        (status = 200, description = "The updated film", body = Film),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 403, description = "Not an admin (`admin_only`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, response = FilmNotFound),
        (status = 415, response = NotJson),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[patch("/films/{slug}")]
pub async fn update_film(
    state: web::Data<AppState>,
    auth: AuthMember,
    slug: web::Path<String>,
    body: JsonBody<UpdateFilmRequest>,
) -> ApiResult<HttpResponse> {
    require_admin(&auth)?;
    let req = body.0;
    let mut f = Fields(Vec::new());
    let title = match req.title.as_deref().map(Title::parse) {
        None => None,
        Some(Ok(t)) => Some(t.into_inner()),
        Some(Err(e)) => {
            f.0.push(FieldError::new("/title", "invalid_title", e));
            None
        }
    };
    let changes = FilmChanges {
        title,
        original_title: req
            .original_title
            .map(|v| f.text("/original_title", v, 300, false)),
        year: req.year.map(|v| f.year(v)),
        release_date: req.release_date.map(|v| f.release(v)),
        runtime_minutes: req.runtime_minutes.map(|v| f.runtime(v)),
        synopsis: req.synopsis.map(|v| f.text("/synopsis", v, 5000, true)),
        poster_url: req.poster_url.map(|v| f.poster(v)),
        genres: req.genres.map(|v| f.labels("/genres", v)),
        countries: req.countries.map(|v| f.labels("/countries", v)),
        languages: req.languages.map(|v| f.labels("/languages", v)),
        updated_at: Some(chrono::Utc::now()),
    };
    f.finish()?;
    let mut conn = state.conn().await?;
    let id = film_id(&mut conn, &slug).await?;
    let film = conn
        .transaction(async |conn| {
            let row = catalog::update_film(conn, id, &changes).await?;
            load_film(conn, &row.slug).await
        })
        .await?;
    Ok(HttpResponse::Ok().json(film))
}
