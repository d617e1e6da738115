//! Liking lists, and who liked one.

use actix_web::{HttpResponse, delete, get, put, web};
use chrono::{DateTime, Utc};
use filmlog_domain::{ListId, MemberId};
use filmlog_persistence::lists::{self as store};

use super::readable;
use crate::auth::{Caller, Viewing};
use crate::dto::MemberAt;
use crate::error::{ApiResult, BadPageQuery, ListNotFound, ServiceUnavailable, Unauthenticated};
use crate::extract::ListPath;
use crate::pagination::{Page, PageQuery, Paging};
use crate::state::AppState;
use filmlog_app::ops;

/// Like a list
///
/// Idempotent; not your own list.
#[utoipa::path(
    operation_id = "like_list",
    tag = "lists",
    params(("list_id" = String, Path, example = "7")),
    responses(
        (status = 204, description = "Liked (also when it already was)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = ListNotFound),
        (status = 409, response = crate::error::BlockedYouBlockedItsOwnerUnblock),
        (status = 422, response = crate::error::LikeOwnList),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[put("/lists/{list_id}/like")]
pub async fn like_list(
    state: web::Data<AppState>,
    auth: Caller,
    ListPath(id): ListPath,
) -> ApiResult<HttpResponse> {
    toggle_like(&state, auth.id(), id, true).await
}

/// Likes or unlikes a list in one transaction; 204.
pub(crate) async fn toggle_like(
    state: &AppState,
    me: MemberId,
    id: ListId,
    like: bool,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    if like {
        ops::social::like_list(&mut conn, id, me).await?;
    } else {
        ops::social::unlike_list(&mut conn, id, me).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Unlike a list
#[utoipa::path(
    operation_id = "unlike_list",
    tag = "lists",
    params(("list_id" = String, Path, example = "7")),
    responses(
        (status = 204, description = "Not liked (also when it was not)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = ListNotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/lists/{list_id}/like")]
pub async fn unlike_list(
    state: web::Data<AppState>,
    auth: Caller,
    ListPath(id): ListPath,
) -> ApiResult<HttpResponse> {
    toggle_like(&state, auth.id(), id, false).await
}

/// Who liked a list
#[utoipa::path(
    operation_id = "list_likes",
    tag = "lists",
    params(("list_id" = String, Path, example = "7"), PageQuery),
    responses(
        (status = 200, description = "Newest like first", body = Page<MemberAt>),
        (status = 400, response = BadPageQuery),
        (status = 404, response = ListNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/lists/{list_id}/likes")]
pub async fn list_likes(
    state: web::Data<AppState>,
    Viewing(viewer): Viewing,
    ListPath(id): ListPath,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    let Paging { limit, after } = paging;
    let mut conn = state.read_conn().await?;
    readable(&mut conn, viewer, id).await?;
    let rows = store::likers(&mut conn, id, viewer.member(), after, limit + 1).await?;
    Ok(HttpResponse::Ok().json(MemberAt::page_seen_by(rows, limit, viewer)))
}
