//! Subscribing to a review's or a list's comments.

use actix_web::{HttpResponse, delete, put, web};
use filmlog_domain::ListId;

use crate::auth::Caller;
use crate::error::{ApiResult, EntryNotFound, ListNotFound, ServiceUnavailable, Unauthenticated};
use crate::extract::{EntryPath, ListPath};
use crate::state::AppState;
use filmlog_app::ops;

/// Subscribe to a review's comments
///
/// You are told of every new comment (`reply`). Commenting subscribes you too, unless you
/// unsubscribed.
#[utoipa::path(
    operation_id = "subscribe_to_entry",
    tag = "comments",
    params(("id" = String, Path, example = "17")),
    responses(
        (status = 204, description = "Subscribed"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = EntryNotFound),
        (status = 409, response = crate::error::BlockedYouBlockedItsAuthorUnblock),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[put("/log-entries/{id}/subscription")]
pub async fn subscribe_entry(
    state: web::Data<AppState>,
    auth: Caller,
    EntryPath(id): EntryPath,
) -> ApiResult<HttpResponse> {
    entry_subscription(&state, auth, id, true).await
}

/// Unsubscribe from a review's comments
///
/// For good: commenting again does not subscribe you; a mention by name still reaches you. On
/// your own review, this also stops `review_comment` notifications for it.
#[utoipa::path(
    operation_id = "unsubscribe_from_entry",
    tag = "comments",
    params(("id" = String, Path, example = "17")),
    responses(
        (status = 204, description = "Unsubscribed"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = EntryNotFound),
        (status = 409, response = crate::error::BlockedYouBlockedItsAuthorUnblock),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/log-entries/{id}/subscription")]
pub async fn unsubscribe_entry(
    state: web::Data<AppState>,
    auth: Caller,
    EntryPath(id): EntryPath,
) -> ApiResult<HttpResponse> {
    entry_subscription(&state, auth, id, false).await
}

pub(crate) async fn entry_subscription(
    state: &AppState,
    auth: Caller,
    id: filmlog_domain::LogEntryId,
    on: bool,
) -> ApiResult<HttpResponse> {
    let me = auth.id();
    let mut conn = state.conn().await?;
    ops::social::subscribe_entry(&mut conn, id, me, on).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Subscribe to a list's comments
#[utoipa::path(
    operation_id = "subscribe_to_list",
    tag = "lists",
    params(("list_id" = String, Path, example = "7")),
    responses(
        (status = 204, description = "Subscribed"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = ListNotFound),
        (status = 409, response = crate::error::BlockedYouBlockedItsOwnerUnblock),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[put("/lists/{list_id}/subscription")]
pub async fn subscribe_list(
    state: web::Data<AppState>,
    auth: Caller,
    ListPath(id): ListPath,
) -> ApiResult<HttpResponse> {
    list_subscription(&state, auth, id, true).await
}

/// Unsubscribe from a list's comments
#[utoipa::path(
    operation_id = "unsubscribe_from_list",
    tag = "lists",
    params(("list_id" = String, Path, example = "7")),
    responses(
        (status = 204, description = "Unsubscribed"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = ListNotFound),
        (status = 409, response = crate::error::BlockedYouBlockedItsOwnerUnblock),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/lists/{list_id}/subscription")]
pub async fn unsubscribe_list(
    state: web::Data<AppState>,
    auth: Caller,
    ListPath(id): ListPath,
) -> ApiResult<HttpResponse> {
    list_subscription(&state, auth, id, false).await
}

pub(crate) async fn list_subscription(
    state: &AppState,
    auth: Caller,
    id: ListId,
    on: bool,
) -> ApiResult<HttpResponse> {
    let me = auth.id();
    let mut conn = state.conn().await?;
    ops::social::subscribe_list(&mut conn, id, me, on).await?;
    Ok(HttpResponse::NoContent().finish())
}
