//! The catalog: browse and search, a film with credits and statistics, admin create/update.

use actix_web::{HttpResponse, get, web};
use chrono::NaiveDate;
use filmlog_domain::visibility::FilmState;
use filmlog_domain::{FilmId, Slug, Viewer, label, valid_year};
use filmlog_persistence::AsyncPgConnection;
use filmlog_persistence::catalog::{
    self, CreditRow, ExternalId, FilmFilter, FilmKey, FilmListRow, FilmRow, FilmSort, FilmStatsRow,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Viewing;
use crate::dto::{FilmSummary, ViewerFilm};
use crate::error::{ApiError, ApiResult, BadPageQuery, FilmNotFound, ServiceUnavailable};
use crate::extract::{FilmSlug, Query};
use crate::middleware::conditional::json_with_etag;
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
    /// Lists that hold it.
    pub list_count: i32,
    /// Mean of the members' current ratings, in stars; `null` below 5 ratings (so that no one
    /// member's rating can be told from it).
    #[schema(example = 4.25)]
    pub average_rating: Option<f64>,
    /// Members per rating, from 0.5 to 5.0 stars; empty below 5 ratings.
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
            list_count: s.list_count,
            average_rating: s.average_stars().map(|a| (a * 100.0).round() / 100.0),
            histogram: s
                .histogram()
                .map(|h| {
                    h.iter()
                        .zip(1u8..)
                        .map(|(count, halves)| RatingBucket {
                            rating: f64::from(halves) / 2.0,
                            count: *count,
                        })
                        .collect()
                })
                .unwrap_or_default(),
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
    #[schema(example = 603)]
    pub tmdb_id: Option<i32>,
    #[schema(example = "tt0133093")]
    pub imdb_id: Option<String>,
    #[schema(example = "https://letterboxd.com/film/the-matrix/")]
    pub letterboxd_uri: Option<String>,
    /// `false` for a film an import added because the catalog lacked it, until an admin checks or
    /// merges it.
    pub verified: bool,
    /// Your own state with the film: present when the request carries a token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub viewer: Option<ViewerFilm>,
}

impl Film {
    fn build(
        film: FilmRow,
        stats: FilmStatsRow,
        credits: Vec<CreditRow>,
        viewer: Option<ViewerFilm>,
    ) -> Self {
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
            tmdb_id: film.tmdb_id,
            imdb_id: film.imdb_id,
            letterboxd_uri: film.letterboxd_uri,
            verified: film.verified,
            viewer,
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
    /// ratings, `(sum + 10 × 3.0) / (count + 10)`; `null` below 5 ratings (such films sort last, as
    /// unrated ones do).
    pub weighted_rating: Option<f64>,
}

impl FilmListItem {
    fn seen_by(r: FilmListRow, viewer: Viewer) -> Self {
        FilmListItem {
            film: FilmSummary {
                slug: r.film.slug,
                title: r.film.title,
                year: r.film.year,
                poster_url: r.film.poster_url,
                viewer: None,
            }
            .seen_by(viewer, r.viewer),
            genres: r.film.genres.into_iter().flatten().collect(),
            watch_count: r.stats.watch_count,
            average_rating: r.stats.average_stars().map(|a| (a * 100.0).round() / 100.0),
            weighted_rating: filmlog_domain::film::discloses_ratings(r.stats.rating_count)
                .then(|| {
                    filmlog_domain::weighted_rating::stars(
                        r.stats.rating_sum,
                        i64::from(r.stats.rating_count),
                    )
                })
                .flatten()
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
    /// Look a film up by TMDB id (alone: with no other parameter).
    pub tmdb_id: Option<i64>,
    /// Look a film up by IMDb id, `tt0133093` (alone).
    pub imdb_id: Option<String>,
    /// Look a film up by its Letterboxd address (alone).
    pub letterboxd_uri: Option<String>,
}

/// The external id a query looks a film up by, if it names one (and nothing else).
fn external_id_of(q: &FilmListQuery) -> ApiResult<Option<ExternalId>> {
    let bad = |e: filmlog_domain::ExternalIdError| {
        ApiError::bad_request("invalid_query_parameter", e.to_string())
    };
    let ids = [
        q.tmdb_id
            .map(|i| filmlog_domain::tmdb_id(i).map(ExternalId::Tmdb)),
        q.imdb_id
            .as_deref()
            .map(|s| filmlog_domain::imdb_id(s).map(ExternalId::Imdb)),
        q.letterboxd_uri
            .as_deref()
            .map(|s| filmlog_domain::letterboxd_uri(s).map(ExternalId::Letterboxd)),
    ];
    let given: Vec<_> = ids.into_iter().flatten().collect();
    match given.len() {
        0 => Ok(None),
        1 => {
            let others = q.q.is_some()
                || q.year.is_some()
                || q.decade.is_some()
                || q.genre.is_some()
                || q.sort.is_some()
                || q.cursor.is_some();
            if others {
                return Err(ApiError::bad_request(
                    "invalid_query_parameter",
                    "an external id look-up takes no other parameter but limit",
                ));
            }
            given.into_iter().next().transpose().map_err(bad)
        }
        _ => Err(ApiError::bad_request(
            "invalid_query_parameter",
            "look up by one external id at a time",
        )),
    }
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
/// With `tmdb_id`, `imdb_id` or `letterboxd_uri` (alone): the film with that id, or none.
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
    Viewing(viewer): Viewing,
    query: Query<FilmListQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    if let Some(id) = external_id_of(&q)? {
        let mut conn = state.read_conn().await?;
        let rows = catalog::by_external_id(&mut conn, viewer.member(), &id).await?;
        let page = pagination::page(
            rows,
            limit,
            |r| r.film.id,
            |r| FilmListItem::seen_by(r, viewer),
        );
        return Ok(HttpResponse::Ok().json(page));
    }
    let filter = filter_of(&q)?;
    let mut conn = state.read_conn().await?;
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
        let rows =
            catalog::search(&mut conn, viewer.member(), &text, &filter, after, limit + 1).await?;
        let page = pagination::page(
            rows,
            limit,
            |r| (r.rank, r.film.id),
            |r| FilmListItem::seen_by(r, viewer),
        );
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
    let rows = catalog::browse(&mut conn, viewer.member(), &filter, sort, after, limit + 1).await?;
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
        |r| FilmListItem::seen_by(r, viewer),
    );
    Ok(HttpResponse::Ok().json(page))
}

/// The film a slug names, or 404 (also for a film `viewer` may not see: another member's imported,
/// unverified film).
pub async fn film_id(
    conn: &mut AsyncPgConnection,
    slug: &Slug,
    viewer: Option<filmlog_domain::MemberId>,
) -> ApiResult<FilmId> {
    catalog::id_by_slug(conn, slug.as_str(), viewer, false)
        .await?
        .ok_or_else(|| ApiError::not_found("that film"))
}

/// The film a slug names, whoever added it, or 404: for admins, who verify and merge films.
pub async fn any_film_id(conn: &mut AsyncPgConnection, slug: &Slug) -> ApiResult<FilmId> {
    catalog::id_by_slug(conn, slug.as_str(), None, true)
        .await?
        .ok_or_else(|| ApiError::not_found("that film"))
}

/// The film page as `viewer` reads it.
pub(crate) async fn load_film(
    conn: &mut AsyncPgConnection,
    slug: &str,
    viewer: Viewer,
) -> ApiResult<Film> {
    film_page(conn, slug, viewer, false).await
}

/// [`load_film`] of any film, whoever added it: for admins, who verify and merge films.
pub(crate) async fn load_any_film(
    conn: &mut AsyncPgConnection,
    slug: &str,
    viewer: Viewer,
) -> ApiResult<Film> {
    film_page(conn, slug, viewer, true).await
}

async fn film_page(
    conn: &mut AsyncPgConnection,
    slug: &str,
    viewer: Viewer,
    see_all: bool,
) -> ApiResult<Film> {
    let (film, stats, state, credits) = catalog::film_page(conn, slug, viewer.member(), see_all)
        .await?
        .ok_or_else(|| ApiError::not_found("that film"))?;
    let state = viewer.member().map(|_| FilmState::from(state).into());
    Ok(Film::build(film, stats, credits, state))
}

/// A film
///
/// The film with its directors, cast and statistics, in one response (two queries, pipelined).
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
    state: web::Data<AppState>,
    Viewing(viewer): Viewing,
    FilmSlug(slug): FilmSlug,
) -> ApiResult<HttpResponse> {
    let mut conn = state.read_conn().await?;
    let film = load_film(&mut conn, slug.as_str(), viewer).await?;
    json_with_etag(&film)
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
    Viewing(viewer): Viewing,
    FilmSlug(slug): FilmSlug,
) -> ApiResult<HttpResponse> {
    let mut conn = state.read_conn().await?;
    let id = film_id(&mut conn, &slug, viewer.member()).await?;
    let stats = catalog::stats(&mut conn, id).await?;
    Ok(HttpResponse::Ok().json(FilmStatistics::from(stats)))
}
