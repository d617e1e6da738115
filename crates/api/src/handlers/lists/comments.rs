//! Comments on lists.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use filmlog_persistence::lists::{self as store};
use serde::Serialize;
use utoipa::ToSchema;

use super::readable;
use crate::auth::{Caller, Viewing};
use crate::dto::{MemberSummary, rfc3339};
use crate::error::{
    ApiResult, BadPageQuery, ListNotFound, MalformedJson, NotJson, ServiceUnavailable,
    Unauthenticated,
};
use crate::extract::{JsonBody, ListCommentPath, ListPath};
use crate::handlers::comments::{CommentRequest, HiddenComment, HiddenReason, parse_body};
use crate::pagination::{self, Page, PageQuery, Paging};
use crate::state::AppState;
use filmlog_app::ops;

/// A comment on a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListComment {
    #[schema(example = "5")]
    pub id: String,
    #[schema(example = "7")]
    pub list_id: String,
    pub author: MemberSummary,
    pub body: String,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<store::ListCommentView> for ListComment {
    fn from(v: store::ListCommentView) -> Self {
        ListComment {
            id: v.comment.id.to_string(),
            list_id: v.comment.list_id.to_string(),
            author: v.author.into(),
            body: v.comment.body,
            created_at: v.comment.created_at,
        }
    }
}

/// A comment of a list's thread: shown, or its tombstone (as in review threads).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ListThreadComment {
    Shown(ListComment),
    Hidden(HiddenComment),
}

impl ListThreadComment {
    fn of((view, blocked, suspended): (store::ListCommentView, bool, bool)) -> Self {
        match HiddenReason::of(view.comment.removed_at.is_some(), suspended, blocked) {
            Some(hidden) => ListThreadComment::Hidden(HiddenComment {
                id: view.comment.id.to_string(),
                hidden,
            }),
            None => ListThreadComment::Shown(view.into()),
        }
    }
}

/// A list's comments
///
/// Oldest first. A comment a moderator removed, or whose author is suspended or on the other side
/// of a block with you, is a tombstone in its place.
#[utoipa::path(
    operation_id = "list_thread",
    tag = "lists",
    params(("list_id" = String, Path, example = "7"), PageQuery),
    responses(
        (status = 200, description = "Oldest first", body = Page<ListThreadComment>),
        (status = 400, response = BadPageQuery),
        (status = 404, response = ListNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/lists/{list_id}/comments")]
pub async fn list_comments(
    state: web::Data<AppState>,
    Viewing(viewer): Viewing,
    ListPath(id): ListPath,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    let Paging { limit, after } = paging;
    let mut conn = state.read_conn().await?;
    readable(&mut conn, viewer, id).await?;
    let rows = store::comments(&mut conn, id, viewer.member(), after, limit + 1).await?;
    let page = pagination::page(
        rows,
        limit,
        |(c, _, _)| (c.comment.created_at, c.comment.id),
        ListThreadComment::of,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Comment on a list
#[utoipa::path(
    operation_id = "comment_on_list",
    tag = "lists",
    params(("list_id" = String, Path, example = "7")),
    request_body = CommentRequest,
    responses(
        (status = 201, description = "Created; `Location` names it", body = ListComment),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 404, response = ListNotFound),
        (status = 409, response = crate::error::BlockedYouBlockedItsOwnerUnblock),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedInvalidComment),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/lists/{list_id}/comments")]
pub async fn comment_on_list(
    state: web::Data<AppState>,
    auth: Caller,
    ListPath(id): ListPath,
    body: JsonBody<CommentRequest>,
) -> ApiResult<HttpResponse> {
    let text = parse_body(&body.0.body)?;
    let me = auth.id();
    let mut conn = state.conn().await?;
    let comment = ops::social::add_list_comment(&mut conn, id, me, &text).await?;
    let location = format!("/api/v1/list-comments/{}", comment.comment.id);
    Ok(HttpResponse::Created()
        .insert_header(("Location", location))
        .json(ListComment::from(comment)))
}

/// Delete a comment on a list (its author, or the list's owner)
#[utoipa::path(
    operation_id = "delete_list_comment",
    tag = "lists",
    params(("id" = String, Path, example = "5")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NoSuchCommentYouMay),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/list-comments/{id}")]
pub async fn delete_list_comment(
    state: web::Data<AppState>,
    auth: Caller,
    ListCommentPath(id): ListCommentPath,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    ops::social::delete_list_comment(&mut conn, auth.id(), id).await?;
    Ok(HttpResponse::NoContent().finish())
}
