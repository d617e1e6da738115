//! Log entries: a viewing and/or review of a film. Review likes.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, NaiveDate, Utc};
use filmlog_domain::rules::EntryState;
use filmlog_domain::{LogEntryId, MemberId, Rating, Subject, Viewer};
use filmlog_persistence::AsyncPgConnection;
use filmlog_persistence::log_entries::{self, LogEntryView, ViewedEntry};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Viewing;
use crate::dto::{FilmSummary, MemberSummary, ViewerEntry, Visibility, flatten_tags, rfc3339};
use crate::error::{ApiError, ApiResult, EntryNotFound, ServiceUnavailable};
use crate::extract::EntryPath;
use crate::middleware::conditional::json_with_etag;
use crate::state::AppState;
use filmlog_app::ops::{OpError, OpResult};
use filmlog_app::visibility;
use filmlog_persistence::DbConn;

mod write;

pub use write::*;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Review {
    pub text: String,
    pub contains_spoilers: bool,
}

/// Who removed a review.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RemovedBy {
    Moderator,
}

/// A review a moderator removed, in its place: the entry (date, rating, likes) stays.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemovedReview {
    pub removed: RemovedBy,
}

/// A review, or the tombstone of one a moderator removed.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ReviewOrRemoved {
    Review(Review),
    Removed(RemovedReview),
}

/// One viewing and/or review of a film.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LogEntry {
    #[schema(example = "17")]
    pub id: String,
    pub member: MemberSummary,
    pub film: FilmSummary,
    /// The diary date.
    #[schema(example = "2026-11-20")]
    pub watched_on: Option<NaiveDate>,
    pub rewatch: bool,
    #[schema(example = 4.5)]
    pub rating: Option<f64>,
    /// Whether the member likes the film: the member's like of the film, shown on each of their
    /// entries (not a copy kept per entry). Setting it on an entry likes or unlikes the film.
    pub liked: bool,
    /// `{"removed": "moderator"}` when a moderator removed it.
    pub review: Option<ReviewOrRemoved>,
    #[schema(example = json!(["cinema", "with family"]))]
    pub tags: Vec<String>,
    pub like_count: i32,
    pub comment_count: i32,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
    /// Who may read it.
    pub visibility: Visibility,
    /// Your own state with the entry: present when the request carries a token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub viewer: Option<ViewerEntry>,
}

impl LogEntry {
    /// An entry as `viewer` reads it: with their own state with it and its film when signed in.
    pub fn seen_by((view, film, liked): ViewedEntry, viewer: Viewer) -> Self {
        let state = viewer.member().map(|me| {
            let e = &view.entry;
            EntryState::of(
                me,
                e.member_id,
                e.review_text.is_some(),
                e.review_removed_at.is_some(),
                liked.is_some(),
            )
        });
        let mut entry = LogEntry::from(view);
        entry.film = entry.film.seen_by(viewer, film);
        entry.viewer = state.map(ViewerEntry::from);
        entry
    }
}

impl From<LogEntryView> for LogEntry {
    fn from(v: LogEntryView) -> Self {
        let e = v.entry;
        LogEntry {
            id: e.id.to_string(),
            member: v.member.into(),
            film: v.film.into(),
            watched_on: e.watched_on,
            rewatch: e.rewatch,
            rating: e.rating.map(Rating::stars),
            liked: v.liked,
            review: e.review_text.map(|text| match e.review_removed_at {
                Some(_) => ReviewOrRemoved::Removed(RemovedReview {
                    removed: RemovedBy::Moderator,
                }),
                None => ReviewOrRemoved::Review(Review {
                    text,
                    contains_spoilers: e.contains_spoilers,
                }),
            }),
            tags: flatten_tags(e.tags),
            like_count: e.like_count,
            comment_count: e.comment_count,
            created_at: e.created_at,
            updated_at: e.updated_at,
            visibility: e.visibility.into(),
            viewer: None,
        }
    }
}

/// The entry as its owner reads it (the representation whose ETag `If-Match` names).
async fn view(conn: &mut AsyncPgConnection, id: LogEntryId, owner: MemberId) -> OpResult<LogEntry> {
    let row = log_entries::view(conn, id, Some(owner))
        .await?
        .ok_or(OpError::NotFound("that log entry"))?;
    Ok(LogEntry::seen_by(row, Viewer::Member(owner)))
}

/// A connection for a page of what hangs off a log entry (its likes, its comments), once the entry
/// is known to exist and the viewer may see it (404 otherwise).
pub async fn entry_page_conn(
    state: &AppState,
    viewer: Viewer,
    id: LogEntryId,
) -> ApiResult<DbConn> {
    let mut conn = state.read_conn().await?;
    let head = log_entries::owner_and_review(&conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("that log entry"))?;
    visibility::check(
        &mut conn,
        viewer,
        Subject::Entry(head.author, head.visibility),
        "that log entry",
    )
    .await?;
    Ok(conn)
}

/// A log entry
#[utoipa::path(
    operation_id = "get_log_entry",
    tag = "log entries",
    params(("id" = String, Path, example = "17")),
    responses(
        (status = 200, description = "The entry, with an `ETag`", body = LogEntry),
        (status = 304, description = "Unchanged since the ETag in `If-None-Match`"),
        (status = 404, response = EntryNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/log-entries/{id}")]
pub async fn get_log_entry(
    state: web::Data<AppState>,
    Viewing(viewer): Viewing,
    EntryPath(id): EntryPath,
) -> ApiResult<HttpResponse> {
    let mut conn = state.read_conn().await?;
    let row = log_entries::view(&mut conn, id, viewer.member())
        .await?
        .ok_or_else(|| ApiError::not_found("that log entry"))?;
    visibility::check(
        &mut conn,
        viewer,
        Subject::Entry(row.0.entry.member_id, row.0.entry.visibility),
        "that log entry",
    )
    .await?;
    json_with_etag(&LogEntry::seen_by(row, viewer))
}
