//! Browsing and searching the catalog.

use actix_web::{HttpResponse, get, web};
use filmlog_app::ErrorCode;
use filmlog_domain::{Viewer, label, valid_year};
use filmlog_persistence::catalog::{self, ExternalId, FilmFilter, FilmKey, FilmListRow, FilmSort};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Viewing;
use crate::dto::FilmSummary;
use crate::error::{ApiError, ApiResult, BadPageQuery, ServiceUnavailable};
use crate::extract::Query;
use crate::pagination::{self, Page};
use crate::state::AppState;

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
pub(crate) fn external_id_of(q: &FilmListQuery) -> ApiResult<Option<ExternalId>> {
    let bad = |e: filmlog_domain::ExternalIdError| {
        ApiError::bad_request(ErrorCode::InvalidQueryParameter, e.to_string())
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
                    ErrorCode::InvalidQueryParameter,
                    "an external id look-up takes no other parameter but limit",
                ));
            }
            given.into_iter().next().transpose().map_err(bad)
        }
        _ => Err(ApiError::bad_request(
            ErrorCode::InvalidQueryParameter,
            "look up by one external id at a time",
        )),
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum KeyValue {
    Count(i64),
    Average(f64),
    Text(String),
}

pub(crate) fn filter_of(q: &FilmListQuery) -> ApiResult<FilmFilter> {
    if let Some(y) = q.year.filter(|y| !valid_year(*y)) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidQueryParameter,
            format!("year {y} is out of range"),
        ));
    }
    if let Some(d) = q.decade.filter(|d| d % 10 != 0 || !valid_year(*d)) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidQueryParameter,
            format!("decade {d} must be a year ending in 0"),
        ));
    }
    let genre = match q.genre.as_deref() {
        Some(g) => Some(label(g).map_err(|e| {
            ApiError::bad_request(ErrorCode::InvalidQueryParameter, format!("genre {e}"))
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
        drop(conn);
        let page = pagination::page(
            rows,
            limit,
            |r| r.film.id,
            |r| FilmListItem::seen_by(r, viewer),
        );
        return Ok(HttpResponse::Ok().json(page));
    }
    let filter = filter_of(&q)?;
    // (Everything parsed before a connection is taken: a 400 never waits for one.)
    if let Some(text) = search_text(&q)? {
        let after = pagination::decode::<(f64, i64)>(q.cursor.as_deref())?;
        let mut conn = state.read_conn().await?;
        let rows =
            catalog::search(&mut conn, viewer.member(), &text, &filter, after, limit + 1).await?;
        drop(conn);
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
    let after = browse_after(sort, q.cursor.as_deref())?;
    let mut conn = state.read_conn().await?;
    let rows = catalog::browse(&mut conn, viewer.member(), &filter, sort, after, limit + 1).await?;
    drop(conn);
    let page = pagination::page(
        rows,
        limit,
        |r| (key_value(r.key(sort)), r.film.id),
        |r| FilmListItem::seen_by(r, viewer),
    );
    Ok(HttpResponse::Ok().json(page))
}

/// The search text of `q`, trimmed (`None` when there is none); one line of at most 200 characters,
/// never with `sort` (results are ranked by relevance).
fn search_text(q: &FilmListQuery) -> ApiResult<Option<String>> {
    let bad = |detail| ApiError::bad_request(ErrorCode::InvalidQueryParameter, detail);
    match q.q.as_deref().map(str::trim) {
        Some(text) if text.chars().any(char::is_control) || text.chars().count() > 200 => {
            Err(bad("q must be one line of at most 200 characters"))
        }
        Some(text) if !text.is_empty() && q.sort.is_some() => Err(bad(
            "sort cannot be combined with q (results are ranked by relevance)",
        )),
        Some(text) if !text.is_empty() => Ok(Some(text.to_owned())),
        _ => Ok(None),
    }
}

/// Where a browse page starts: the cursor's key, which must be of the kind `sort` orders by.
fn browse_after(sort: FilmSort, cursor: Option<&str>) -> ApiResult<Option<(FilmKey, i64)>> {
    let foreign = || {
        ApiError::bad_request(
            ErrorCode::InvalidCursor,
            "the cursor is not one this list issued",
        )
    };
    let Some((value, id)) = pagination::decode::<(KeyValue, i64)>(cursor)? else {
        return Ok(None);
    };
    let key = match (sort, value) {
        (FilmSort::Popular, KeyValue::Count(c)) => FilmKey::Count(c),
        (FilmSort::Rating, KeyValue::Average(a)) => FilmKey::Average(a),
        (FilmSort::Rating, KeyValue::Count(c)) => FilmKey::Average(c as f64),
        (FilmSort::Release, KeyValue::Text(t)) => FilmKey::Date(t.parse().map_err(|_| foreign())?),
        (FilmSort::Title, KeyValue::Text(t)) => FilmKey::Text(t),
        _ => return Err(foreign()),
    };
    Ok(Some((key, id)))
}

/// A browse key as a cursor carries it.
fn key_value(key: FilmKey) -> KeyValue {
    match key {
        FilmKey::Count(c) => KeyValue::Count(c),
        FilmKey::Average(a) => KeyValue::Average(a),
        FilmKey::Date(d) => KeyValue::Text(d.to_string()),
        FilmKey::Text(t) => KeyValue::Text(t),
    }
}
