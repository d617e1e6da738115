//! The caller's relationship with a film: watched, liked, in the watchlist, rated.

use actix_web::{HttpResponse, delete, get, put, web};
use filmlog_domain::relationship::FilmCommand;
use filmlog_domain::{MemberId, Rating, Slug};
use filmlog_persistence::{log_entries, relationships};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{
    ApiError, ApiResult, FilmNotFound, MalformedJson, NotJson, ServiceUnavailable, Unauthenticated,
};
use crate::extract::{FilmSlug, JsonBody};
use crate::handlers::films::film_id;
use crate::state::AppState;
use filmlog_app::ops;

/// The caller's current state with a film.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilmRelationship {
    pub watched: bool,
    pub liked: bool,
    pub in_watchlist: bool,
    /// The caller's current rating in stars.
    #[schema(example = 4.5)]
    pub rating: Option<f64>,
    /// How many log entries the caller has for the film.
    pub log_entry_count: i64,
}

/// Your relationship with a film
#[utoipa::path(
    operation_id = "get_film_relationship",
    tag = "relationships",
    params(("slug" = String, Path, example = "children-of-heaven-1997")),
    responses(
        (status = 200, description = "Watched, liked, watchlist, rating", body = FilmRelationship),
        (status = 401, response = Unauthenticated),
        (status = 404, response = FilmNotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/films/{slug}/me")]
pub async fn get_relationship(
    state: web::Data<AppState>,
    auth: Caller,
    FilmSlug(slug): FilmSlug,
) -> ApiResult<HttpResponse> {
    let mut conn = state.read_conn().await?;
    let film = film_id(&conn, &slug, Some(auth.id())).await?;
    let r = relationships::get(&mut conn, auth.id(), film).await?;
    let log_entry_count = log_entries::count_for(&mut conn, auth.id(), film).await?;
    Ok(HttpResponse::Ok().json(FilmRelationship {
        watched: r.watched,
        liked: r.liked,
        in_watchlist: r.in_watchlist,
        rating: r.rating.map(Rating::stars),
        log_entry_count,
    }))
}

/// Applies `command` to the caller's relationship with the film in one transaction; 204.
async fn change(
    state: &AppState,
    member: MemberId,
    slug: &Slug,
    command: FilmCommand,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let film = film_id(&conn, slug, Some(member)).await?;
    ops::films::change(&mut conn, member, film, command).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mark a film watched
///
/// Also takes it off your watchlist.
#[utoipa::path(
    operation_id = "mark_watched",
    tag = "relationships",
    params(("slug" = String, Path, example = "children-of-heaven-1997")),
    responses(
        (status = 204, description = "Watched (also when it already was)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = FilmNotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[put("/films/{slug}/watched")]
pub async fn put_watched(
    state: web::Data<AppState>,
    auth: Caller,
    FilmSlug(slug): FilmSlug,
) -> ApiResult<HttpResponse> {
    change(&state, auth.id(), &slug, FilmCommand::Watch).await
}

/// Unmark a film watched
///
/// Also clears the rating (a rating implies watched). Refused while the film has log entries of yours.
#[utoipa::path(
    operation_id = "unmark_watched",
    tag = "relationships",
    params(("slug" = String, Path, example = "children-of-heaven-1997")),
    responses(
        (status = 204, description = "Not watched (also when it already was not)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = FilmNotFound),
        (status = 409, response = crate::error::UnableToRemoveWatch),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/films/{slug}/watched")]
pub async fn delete_watched(
    state: web::Data<AppState>,
    auth: Caller,
    FilmSlug(slug): FilmSlug,
) -> ApiResult<HttpResponse> {
    change(&state, auth.id(), &slug, FilmCommand::Unwatch).await
}

/// Like a film
#[utoipa::path(
    operation_id = "like_film",
    tag = "relationships",
    params(("slug" = String, Path, example = "children-of-heaven-1997")),
    responses(
        (status = 204, description = "Liked (also when it already was)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = FilmNotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[put("/films/{slug}/like")]
pub async fn put_like(
    state: web::Data<AppState>,
    auth: Caller,
    FilmSlug(slug): FilmSlug,
) -> ApiResult<HttpResponse> {
    change(&state, auth.id(), &slug, FilmCommand::Like).await
}

/// Unlike a film
#[utoipa::path(
    operation_id = "unlike_film",
    tag = "relationships",
    params(("slug" = String, Path, example = "children-of-heaven-1997")),
    responses(
        (status = 204, description = "Not liked (also when it already was not)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = FilmNotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/films/{slug}/like")]
pub async fn delete_like(
    state: web::Data<AppState>,
    auth: Caller,
    FilmSlug(slug): FilmSlug,
) -> ApiResult<HttpResponse> {
    change(&state, auth.id(), &slug, FilmCommand::Unlike).await
}

/// Add a film to your watchlist
#[utoipa::path(
    operation_id = "add_to_watchlist",
    tag = "relationships",
    params(("slug" = String, Path, example = "children-of-heaven-1997")),
    responses(
        (status = 204, description = "In the watchlist (also when it already was)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = FilmNotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[put("/films/{slug}/watchlist")]
pub async fn put_watchlist(
    state: web::Data<AppState>,
    auth: Caller,
    FilmSlug(slug): FilmSlug,
) -> ApiResult<HttpResponse> {
    change(&state, auth.id(), &slug, FilmCommand::AddToWatchlist).await
}

/// Remove a film from your watchlist
#[utoipa::path(
    operation_id = "remove_from_watchlist",
    tag = "relationships",
    params(("slug" = String, Path, example = "children-of-heaven-1997")),
    responses(
        (status = 204, description = "Not in the watchlist (also when it already was not)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = FilmNotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/films/{slug}/watchlist")]
pub async fn delete_watchlist(
    state: web::Data<AppState>,
    auth: Caller,
    FilmSlug(slug): FilmSlug,
) -> ApiResult<HttpResponse> {
    change(&state, auth.id(), &slug, FilmCommand::RemoveFromWatchlist).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// Half stars: 0.5, 1.0, … 5.0.
    #[schema(example = 4.5)]
    pub rating: f64,
}

/// Parses a rating sent as stars into a [`Rating`], or a 422 `invalid_rating` at `pointer`.
pub fn parse_rating(stars: f64, pointer: &str) -> ApiResult<Rating> {
    Rating::from_stars(stars).map_err(|e| ApiError::invalid_field(pointer, "invalid_rating", e))
}

/// Rate a film
///
/// Sets your current rating, marks the film watched and takes it off your watchlist. Your current
/// rating of a film is that of your latest rating action: this one (or its removal) when sent, or a
/// rated log entry when it was created. Editing an entry's rating changes your rating only while that
/// entry is the latest action; deleting it, or clearing its rating, falls back to the one before.
#[utoipa::path(
    operation_id = "rate_film",
    tag = "relationships",
    params(("slug" = String, Path, example = "children-of-heaven-1997")),
    request_body = RatingRequest,
    responses(
        (status = 204, description = "Rated"),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 404, response = FilmNotFound),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedWithInvalidRating),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[put("/films/{slug}/rating")]
pub async fn put_rating(
    state: web::Data<AppState>,
    auth: Caller,
    FilmSlug(slug): FilmSlug,
    body: JsonBody<RatingRequest>,
) -> ApiResult<HttpResponse> {
    let rating = parse_rating(body.0.rating, "/rating")?;
    change(&state, auth.id(), &slug, FilmCommand::Rate(rating)).await
}

/// Remove your rating of a film
///
/// A removal is a rating action too: older rated log entries no longer count, a new rated entry does.
#[utoipa::path(
    operation_id = "unrate_film",
    tag = "relationships",
    params(("slug" = String, Path, example = "children-of-heaven-1997")),
    responses(
        (status = 204, description = "Not rated (also when it was not)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = FilmNotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/films/{slug}/rating")]
pub async fn delete_rating(
    state: web::Data<AppState>,
    auth: Caller,
    FilmSlug(slug): FilmSlug,
) -> ApiResult<HttpResponse> {
    change(&state, auth.id(), &slug, FilmCommand::Unrate).await
}
