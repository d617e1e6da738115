//! Comments on log entries.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use filmlog_domain::CommentBody;
use filmlog_persistence::social::{self, CommentView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::auth::Viewing;
use crate::dto::{MemberSummary, rfc3339};
use crate::error::{
    ApiError, ApiResult, BadPageQuery, EntryNotFound, MalformedJson, MalformedJsonOrKey, NotJson,
    ServiceUnavailable, Unauthenticated,
};
use crate::extract::{CommentPath, EntryPath, JsonBody};
use crate::handlers::log_entries::entry_page_conn;
use crate::middleware::idempotency::{IdempotencyKey, created, into_response};
use crate::pagination::{self, Page, PageQuery, Paging};
use crate::state::AppState;
use filmlog_app::ops;

#[derive(Debug, Serialize, ToSchema)]
pub struct Comment {
    #[schema(example = "5")]
    pub id: String,
    #[schema(example = "17")]
    pub log_entry_id: String,
    pub author: MemberSummary,
    pub body: String,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl From<CommentView> for Comment {
    fn from(v: CommentView) -> Self {
        Comment {
            id: v.comment.id.to_string(),
            log_entry_id: v.comment.log_entry_id.to_string(),
            author: v.author.into(),
            body: v.comment.body,
            created_at: v.comment.created_at,
            updated_at: v.comment.updated_at,
        }
    }
}

/// Why a comment of a thread is not shown.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HiddenReason {
    /// Its author and the reader are on the two sides of a block.
    Blocked,
    /// A moderator removed it.
    Removed,
    /// Its author is suspended.
    Suspended,
}

/// A comment of a thread that the reader may not see, in its place so the thread keeps its shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct HiddenComment {
    #[schema(example = "5")]
    pub id: String,
    pub hidden: HiddenReason,
}

/// A comment of a thread: shown, or its tombstone.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ThreadComment {
    Shown(Comment),
    Hidden(HiddenComment),
}

impl HiddenReason {
    /// Why a comment is not shown to a reader, if it is not: removed by a moderator, by a suspended
    /// author, or by an author on the other side of a block with the reader (in that order). Every
    /// thread (of reviews and of lists) asks this.
    pub fn of(removed: bool, suspended: bool, blocked: bool) -> Option<Self> {
        if removed {
            Some(HiddenReason::Removed)
        } else if suspended {
            Some(HiddenReason::Suspended)
        } else if blocked {
            Some(HiddenReason::Blocked)
        } else {
            None
        }
    }
}

impl ThreadComment {
    fn of((view, blocked, suspended): (CommentView, bool, bool)) -> Self {
        let hidden = HiddenReason::of(view.comment.removed_at.is_some(), suspended, blocked);
        match hidden {
            Some(hidden) => ThreadComment::Hidden(HiddenComment {
                id: view.comment.id.to_string(),
                hidden,
            }),
            None => ThreadComment::Shown(view.into()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    /// 1–10,000 characters.
    #[schema(example = "The race at the end!")]
    pub body: String,
}

pub(crate) fn parse_body(raw: &str) -> ApiResult<String> {
    CommentBody::parse(raw)
        .map(CommentBody::into_inner)
        .map_err(|e| ApiError::invalid_field("/body", "invalid_comment", e))
}

/// A log entry's comments
#[utoipa::path(
    operation_id = "list_comments",
    tag = "comments",
    params(("id" = String, Path, example = "17"), PageQuery),
    responses(
        (status = 200, description = "Oldest first. A comment whose author and the reader are on the two sides of a block, that a moderator removed, or whose author is suspended, comes as a tombstone, `{\"id\": …, \"hidden\": \"blocked\" | \"removed\" | \"suspended\"}`, so the thread keeps its shape", body = Page<ThreadComment>),
        (status = 400, response = BadPageQuery),
        (status = 404, response = EntryNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/log-entries/{id}/comments")]
pub async fn list_comments(
    state: web::Data<AppState>,
    Viewing(viewer): Viewing,
    EntryPath(id): EntryPath,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    let mut conn = entry_page_conn(&state, viewer, id).await?;
    let rows =
        social::comments_of(&mut conn, id, viewer.member(), paging.after, paging.fetch()).await?;
    let page = pagination::page(
        rows,
        paging.limit,
        |(c, _, _)| (c.comment.created_at, c.comment.id),
        ThreadComment::of,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Comment on a log entry
#[utoipa::path(
    operation_id = "create_comment",
    tag = "comments",
    params(("id" = String, Path, example = "17"), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body replay the original response; the same key with another body is 422 `idempotency_key_reused`")),
    request_body = CommentRequest,
    responses(
        (status = 201, description = "Created; `Location` names it", body = Comment),
        (status = 400, response = MalformedJsonOrKey),
        (status = 401, response = Unauthenticated),
        (status = 404, response = EntryNotFound),
        (status = 409, response = crate::error::BlockedYouBlockedItsAuthorUnblock),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedInvalidCommentNot),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/log-entries/{id}/comments")]
pub async fn create_comment(
    state: web::Data<AppState>,
    auth: Caller,
    EntryPath(id): EntryPath,
    key: IdempotencyKey,
    body: JsonBody<CommentRequest>,
) -> ApiResult<HttpResponse> {
    let idempotency = key.for_body(body.digest());
    let text = parse_body(&body.0.body)?;
    let author = auth.id();
    let mut conn = state.conn().await?;
    let render = |view: CommentView| {
        let cid = view.comment.id;
        created(format!("/api/v1/comments/{cid}"), &Comment::from(view))
    };
    let outcome =
        ops::social::comment_once(&mut conn, &idempotency, id, author, text, render).await?;
    Ok(into_response(outcome))
}

/// Edit your comment
#[utoipa::path(
    operation_id = "update_comment",
    tag = "comments",
    params(("id" = String, Path, example = "5")),
    request_body = CommentRequest,
    responses(
        (status = 200, description = "The edited comment", body = Comment),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NoSuchCommentYoursNot),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedInvalidComment),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[patch("/comments/{id}")]
pub async fn update_comment(
    state: web::Data<AppState>,
    auth: Caller,
    CommentPath(id): CommentPath,
    body: JsonBody<CommentRequest>,
) -> ApiResult<HttpResponse> {
    let text = parse_body(&body.0.body)?;
    let mut conn = state.conn().await?;
    let edited = ops::social::edit_comment(&mut conn, auth.id(), id, &text).await?;
    Ok(HttpResponse::Ok().json(Comment::from(edited)))
}

/// Delete a comment (its author, or the owner of the log entry)
#[utoipa::path(
    operation_id = "delete_comment",
    tag = "comments",
    params(("id" = String, Path, example = "5")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NoSuchCommentYouMay),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/comments/{id}")]
pub async fn delete_comment(
    state: web::Data<AppState>,
    auth: Caller,
    CommentPath(id): CommentPath,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    ops::social::delete_comment(&mut conn, auth.id(), id).await?;
    Ok(HttpResponse::NoContent().finish())
}
