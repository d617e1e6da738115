//! The catalog: browse and search, a film with credits and statistics, admin create/update.

use actix_web::{HttpResponse, get, web};
use chrono::NaiveDate;
use filmlog_domain::CreditRole;
use filmlog_domain::visibility::FilmState;
use filmlog_domain::{FilmId, Slug, Viewer};
use filmlog_persistence::AsyncPgConnection;
use filmlog_persistence::catalog::{self, CreditRow, FilmRow, FilmStatsRow};
use filmlog_persistence::sessions::Probe;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{PipelinedViewing, Viewing};
use crate::dto::ViewerFilm;
use crate::error::{ApiError, ApiResult, FilmNotFound, ServiceUnavailable};
use crate::extract::FilmSlug;
use crate::middleware::conditional::json_with_etag;
use crate::state::AppState;
use filmlog_app::ops::{OpError, OpResult};

mod browse;

pub use browse::*;

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

/// A person credited on a film; `GET /people/{person}` has their filmography.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Person {
    #[schema(example = "Majid Majidi")]
    pub name: String,
    #[schema(example = "majid-majidi")]
    pub slug: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CastMember {
    #[schema(example = "Amir Farrokh Hashemian")]
    pub name: String,
    #[schema(example = "amir-farrokh-hashemian")]
    pub slug: String,
    #[schema(example = "Ali")]
    pub character: Option<String>,
    pub billing_order: i32,
}

/// A crew job other than directing.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CrewJob {
    Writer,
    Producer,
    Composer,
    Cinematographer,
    Editor,
}

impl CrewJob {
    pub(crate) fn of(role: CreditRole) -> Option<Self> {
        match role {
            CreditRole::Writer => Some(CrewJob::Writer),
            CreditRole::Producer => Some(CrewJob::Producer),
            CreditRole::Composer => Some(CrewJob::Composer),
            CreditRole::Cinematographer => Some(CrewJob::Cinematographer),
            CreditRole::Editor => Some(CrewJob::Editor),
            CreditRole::Director | CreditRole::Cast => None,
        }
    }
}

/// A person credited on a film's crew (directors are listed apart).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CrewMember {
    #[schema(example = "Majid Majidi")]
    pub name: String,
    #[schema(example = "majid-majidi")]
    pub slug: String,
    pub job: CrewJob,
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
    /// Writers, producers, composers, cinematographers and editors, by job.
    pub crew: Vec<CrewMember>,
    pub statistics: FilmStatistics,
    #[schema(example = 603)]
    pub tmdb_id: Option<i32>,
    #[schema(example = "tt0133093")]
    pub imdb_id: Option<String>,
    #[schema(example = "https://letterboxd.com/film/the-matrix/")]
    pub letterboxd_uri: Option<String>,
    /// Its English Wikipedia page name (`https://en.wikipedia.org/wiki/<page>`).
    #[schema(example = "City_That_Never_Sleeps")]
    pub wikipedia_page: Option<String>,
    /// Other titles it is known by (search finds it by these too).
    pub alternative_titles: Vec<String>,
    /// The datasets the catalog took it from (`vega-datasets`, `wikipedia`), for attribution;
    /// empty for a film added by an admin or an import.
    pub sources: Vec<String>,
    /// `false` for a film an import added because the catalog lacked it, until an admin checks or
    /// merges it.
    pub verified: bool,
    /// Your own state with the film: present when the request carries a token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub viewer: Option<ViewerFilm>,
}

impl Film {
    /// The film page as `viewer` reads it (their state with the film when they are signed in).
    pub(crate) fn seen_by(page: catalog::FilmPage, viewer: Viewer) -> Self {
        let (film, stats, state, credits) = page;
        let state = viewer.member().map(|_| FilmState::from(state).into());
        Film::build(film, stats, credits, state)
    }

    fn build(
        film: FilmRow,
        stats: FilmStatsRow,
        credits: Vec<CreditRow>,
        viewer: Option<ViewerFilm>,
    ) -> Self {
        let mut directors = Vec::new();
        let mut cast = Vec::new();
        let mut crew = Vec::new();
        for c in credits {
            match (c.role, CrewJob::of(c.role)) {
                (CreditRole::Director, _) => directors.push(Person {
                    name: c.name,
                    slug: c.slug,
                }),
                (_, Some(job)) => crew.push(CrewMember {
                    name: c.name,
                    slug: c.slug,
                    job,
                }),
                _ => cast.push(CastMember {
                    name: c.name,
                    slug: c.slug,
                    character: c.character,
                    billing_order: c.billing_order,
                }),
            }
        }
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
            directors,
            cast,
            crew,
            statistics: stats.into(),
            tmdb_id: film.tmdb_id,
            imdb_id: film.imdb_id,
            letterboxd_uri: film.letterboxd_uri,
            wikipedia_page: film.wikipedia_page,
            alternative_titles: film.alternative_titles.into_iter().flatten().collect(),
            sources: film.sources.into_iter().flatten().collect(),
            verified: film.verified,
            viewer,
        }
    }
}

/// The film a slug names, or 404 (also for a film `viewer` may not see: another member's imported,
/// unverified film).
pub async fn film_id(
    conn: &AsyncPgConnection,
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

/// The film page of any film, whoever added it, as an admin reads it (admins verify and merge films).
pub(crate) async fn load_any_film(
    conn: &mut AsyncPgConnection,
    slug: &str,
    viewer: Viewer,
) -> OpResult<Film> {
    let (film, _) = film_page(conn, slug, viewer, true, None).await?;
    Ok(film)
}

/// The film page as `viewer` reads it, or 404 (`see_all`: an admin's look-up), with whether the
/// probed session is live when the film was found.
async fn film_page(
    conn: &AsyncPgConnection,
    slug: &str,
    viewer: Viewer,
    see_all: bool,
    probe: Option<Probe>,
) -> OpResult<(Film, Option<bool>)> {
    let (page, live) =
        catalog::film_page_probed(conn, slug, viewer.member(), see_all, probe).await?;
    let page = page.ok_or(OpError::NotFound("that film"))?;
    Ok((Film::seen_by(page, viewer), live))
}

/// A film
///
/// The film with its directors, cast and statistics, in one response (its two queries pipelined,
/// the session checked inside the film's: one round trip).
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
    viewing: PipelinedViewing,
    FilmSlug(slug): FilmSlug,
) -> ApiResult<HttpResponse> {
    let pooled = state.read_conn().await?;
    let conn: &AsyncPgConnection = &pooled;
    // The session is checked inside the film's statement: two statements, one round trip.
    let (_, film) = viewing
        .read_probed(conn, |viewer, probe| async move {
            Ok(film_page(conn, slug.as_str(), viewer, false, probe).await?)
        })
        .await?;
    // Back to the pool before the body is serialised and hashed.
    drop(pooled);
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
    let id = film_id(&conn, &slug, viewer.member()).await?;
    let stats = catalog::stats(&mut conn, id).await?;
    Ok(HttpResponse::Ok().json(FilmStatistics::from(stats)))
}
