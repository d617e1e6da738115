//! Likes of reviews: like, unlike, and who liked a review.

use actix_web::{HttpResponse, delete, get, put, web};
use chrono::{DateTime, Utc};
use filmlog_persistence::social;

use crate::auth::Caller;
use crate::auth::Viewing;
use crate::dto::MemberAt;
use crate::error::{ApiResult, BadPageQuery, EntryNotFound, ServiceUnavailable, Unauthenticated};
use crate::extract::EntryPath;
use crate::handlers::log_entries::entry_page_conn;
use crate::pagination::{Page, PageQuery, Paging};
use crate::state::AppState;
use filmlog_app::ops;

/// Like a review
#[utoipa::path(
    operation_id = "like_review",
    tag = "log entries",
    params(("id" = String, Path, example = "17")),
    responses(
        (status = 204, description = "Liked (also when it already was)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = EntryNotFound),
        (status = 409, response = crate::error::BlockedYouBlockedItsAuthorUnblock),
        (status = 422, response = crate::error::LikeOwnReviewOrNotAReview),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[put("/log-entries/{id}/like")]
pub async fn like_review(
    state: web::Data<AppState>,
    auth: Caller,
    EntryPath(id): EntryPath,
) -> ApiResult<HttpResponse> {
    let member = auth.id();
    let mut conn = state.conn().await?;
    ops::social::like_review(&mut conn, id, member).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Unlike a review
#[utoipa::path(
    operation_id = "unlike_review",
    tag = "log entries",
    params(("id" = String, Path, example = "17")),
    responses(
        (status = 204, description = "Not liked (also when it was not)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = EntryNotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/log-entries/{id}/like")]
pub async fn unlike_review(
    state: web::Data<AppState>,
    auth: Caller,
    EntryPath(id): EntryPath,
) -> ApiResult<HttpResponse> {
    let member = auth.id();
    let mut conn = state.conn().await?;
    ops::social::unlike_review(&mut conn, id, member).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Who liked a review
#[utoipa::path(
    operation_id = "list_review_likes",
    tag = "log entries",
    params(("id" = String, Path, example = "17"), PageQuery),
    responses(
        (status = 200, description = "Members who liked it, newest first", body = Page<MemberAt>),
        (status = 400, response = BadPageQuery),
        (status = 404, response = EntryNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/log-entries/{id}/likes")]
pub async fn list_review_likes(
    state: web::Data<AppState>,
    Viewing(viewer): Viewing,
    EntryPath(id): EntryPath,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    let mut conn = entry_page_conn(&state, viewer, id).await?;
    let rows =
        social::review_likers(&mut conn, id, viewer.member(), paging.after, paging.fetch()).await?;
    let page = MemberAt::page_seen_by(rows, paging.limit, viewer);
    Ok(HttpResponse::Ok().json(page))
}
