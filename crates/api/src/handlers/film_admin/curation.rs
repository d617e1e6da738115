//! Merging duplicates and the queue of films no admin has verified.

use actix_web::{HttpResponse, get, post, web};
use filmlog_domain::{Slug, Viewer};
use filmlog_persistence::catalog;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AuthMember;
use crate::error::{
    AdminOnly, ApiError, ApiResult, BadPageQuery, FilmNotFound, MalformedJson, NotJson,
    ServiceUnavailable, Unauthenticated,
};
use crate::extract::{FilmSlug, JsonBody, Query};
use crate::handlers::films::{Film, any_film_id, load_any_film};
use crate::pagination::{self, Page, PageQuery, Paging};
use crate::state::AppState;
use filmlog_app::ops;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeFilmRequest {
    /// The slug of the film that stays.
    #[schema(example = "the-matrix-1999")]
    pub into: String,
}

/// What a merge moved.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergeResult {
    /// The film that stays, with its statistics recounted.
    pub film: Film,
    /// Members whose state with the merged film moved.
    pub members: usize,
    pub log_entries: usize,
    pub list_entries: usize,
}

/// Merge a film into another (admins)
///
/// For a film an import created (`verified: false`) that is the same as one the catalog has: every
/// member's state with it (watched, liked, watchlist: either; a rating: the remaining film's when
/// both have one), their log entries, activity, list entries (a list holding both keeps one) and
/// import records move to `into`, which takes the external ids it lacks; the merged film is deleted
/// and the remaining film's counters are recounted.
#[utoipa::path(
    operation_id = "merge_film",
    tag = "films",
    params(("slug" = String, Path, description = "The film that goes", example = "the-matrix-1999-2")),
    request_body = MergeFilmRequest,
    responses(
        (status = 200, description = "Merged", body = MergeResult),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 403, response = AdminOnly),
        (status = 404, response = FilmNotFound),
        (status = 409, response = crate::error::SameFilm),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedIntoNotSlug),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/admin/films/{slug}/merge")]
pub async fn merge_film(
    state: web::Data<AppState>,
    auth: AuthMember,
    FilmSlug(slug): FilmSlug,
    body: JsonBody<MergeFilmRequest>,
) -> ApiResult<HttpResponse> {
    auth.require_admin("only admins may change the catalog")?;
    let into = Slug::parse(&body.0.into)
        .map_err(|e| ApiError::invalid_field("/into", "invalid_slug", e))?;
    let mut conn = state.conn().await?;
    let source = any_film_id(&mut conn, &slug).await?;
    let target = any_film_id(&mut conn, &into).await?;
    let admin = Viewer::Member(auth.id());
    let merged = ops::catalog::merge(&mut conn, source, target).await?;
    let film = load_any_film(&mut conn, into.as_str(), admin).await?;
    Ok(HttpResponse::Ok().json(MergeResult {
        film,
        members: merged.members,
        log_entries: merged.log_entries,
        list_entries: merged.list_entries,
    }))
}

/// A film no admin has verified: one an import added because the catalog lacked it (seen only by
/// its importer while `added_by` names them) until an admin verifies it (`PATCH /films/{slug}` with
/// `verified: true`) or merges it into the catalog's own.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnverifiedFilm {
    #[schema(example = "the-matrix-1999-imported")]
    pub slug: String,
    pub title: String,
    pub year: Option<i32>,
    /// The member whose import added it; `null` for a film from before imports recorded that.
    pub added_by: Option<String>,
    #[serde(serialize_with = "crate::dto::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub added_at: chrono::DateTime<chrono::Utc>,
    /// Members who have it among their watched films.
    pub watchers: i32,
}

impl From<catalog::UnverifiedRow> for UnverifiedFilm {
    fn from(r: catalog::UnverifiedRow) -> Self {
        UnverifiedFilm {
            slug: r.slug,
            title: r.title,
            year: r.year,
            added_by: r.added_by,
            added_at: r.created_at,
            watchers: r.watchers.unwrap_or(0),
        }
    }
}

/// Films waiting for an admin
///
/// The films no admin has verified or merged yet (imports add them), oldest first. A member sees
/// another member's only when it was in the catalog before imports recorded who added one (or
/// other members already used it); this is how admins find them all.
#[utoipa::path(
    operation_id = "list_unverified_films",
    tag = "films",
    params(PageQuery),
    responses(
        (status = 200, description = "Oldest first", body = Page<UnverifiedFilm>),
        (status = 400, response = BadPageQuery),
        (status = 401, response = Unauthenticated),
        (status = 403, response = AdminOnly),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/admin/films/unverified")]
pub async fn list_unverified_films(
    state: web::Data<AppState>,
    auth: AuthMember,
    query: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    auth.require_admin("only admins verify films")?;
    let paging = Paging::<(chrono::DateTime<chrono::Utc>, i64)>::parse(
        query.limit,
        query.cursor.as_deref(),
    )?;
    let mut conn = state.conn().await?;
    let rows = catalog::unverified(&mut conn, paging.after, paging.fetch()).await?;
    let page = pagination::page(
        rows,
        paging.limit,
        |r| (r.created_at, r.id),
        UnverifiedFilm::from,
    );
    Ok(HttpResponse::Ok().json(page))
}
