//! Delta sync: when each kind of a member's things last changed, and what changed since a cursor.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use filmlog_app::ErrorCode;
use filmlog_persistence::changes;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::exact_opt;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ServiceUnavailable, Unauthenticated};
use crate::extract::Query;
use crate::pagination;
use crate::state::AppState;

/// When each kind of your things last changed (`null`: never since change tracking began).
#[derive(Debug, Serialize, ToSchema)]
pub struct LastActivities {
    /// Where `GET /me/changes?since=` starts: after a full download, keep this and ask for what
    /// changed since.
    #[schema(example = "WyJzIiw0Ml0")]
    pub cursor: String,
    #[serde(serialize_with = "exact_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub log_entries: Option<DateTime<Utc>>,
    #[serde(serialize_with = "exact_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ratings: Option<DateTime<Utc>>,
    #[serde(serialize_with = "exact_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub likes: Option<DateTime<Utc>>,
    #[serde(serialize_with = "exact_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub watchlist: Option<DateTime<Utc>>,
    #[serde(serialize_with = "exact_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub follows: Option<DateTime<Utc>>,
    #[serde(serialize_with = "exact_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub comments: Option<DateTime<Utc>>,
    #[serde(serialize_with = "exact_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub lists: Option<DateTime<Utc>>,
    #[serde(serialize_with = "exact_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub profile: Option<DateTime<Utc>>,
    #[serde(serialize_with = "exact_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub notifications: Option<DateTime<Utc>>,
}

/// A `GET /me/changes` cursor: the number of the newest change the client has.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SyncCursor(char, i64);

pub(crate) fn sync_cursor(seq: i64) -> String {
    pagination::encode(&SyncCursor('s', seq))
}

/// When your things last changed
///
/// One time per category, each moved in the transaction of the write that changed it; compare
/// with the times you kept to know what to fetch again.
#[utoipa::path(
    operation_id = "last_activities",
    tag = "me",
    responses(
        (status = 200, description = "The times, and a cursor for `GET /me/changes`", body = LastActivities),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/last-activities")]
pub async fn last_activities(state: web::Data<AppState>, auth: Caller) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let a = changes::last_activities(&mut conn, auth.id()).await?;
    Ok(HttpResponse::Ok().json(LastActivities {
        cursor: sync_cursor(a.seq),
        log_entries: a.log_entries_at,
        ratings: a.ratings_at,
        likes: a.likes_at,
        watchlist: a.watchlist_at,
        follows: a.follows_at,
        comments: a.comments_at,
        lists: a.lists_at,
        profile: a.profile_at,
        notifications: a.notifications_at,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The `cursor` of your last `GET /me/changes` or `GET /me/last-activities`.
    #[param(example = "WyJzIiwwXQ")]
    pub since: String,
    /// 1–1000, default 500.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// One change of one of your things: the thing as it is now, or (with `deleted_at`) its tombstone.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeItem {
    /// `log_entry`, `film` (your state with a film: watched, liked, watchlist, rating),
    /// `review_like`, `list_like`, `follow`, `follow_request`, `comment`, `list_comment`, `list`,
    /// `profile`.
    #[serde(rename = "type")]
    #[schema(example = "log_entry")]
    pub kind: String,
    /// The thing's id (a film's slug, a followed member's username).
    #[schema(example = "17")]
    pub id: String,
    #[serde(serialize_with = "exact_opt", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub changed_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "exact_opt", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<DateTime<Utc>>,
    /// The thing now (absent from a tombstone).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Changes {
    /// In the order they were committed; each thing once, at its newest change.
    pub changes: Vec<ChangeItem>,
    /// Pass as `since` next time.
    pub cursor: String,
    /// More changes wait: ask again with `cursor` now.
    pub has_more: bool,
}

/// What changed of your things
///
/// Everything of yours that changed after `since`, in commit order, with tombstones for what was
/// deleted. Tombstones are kept 30 days: an older cursor gets `410 resync_required` (download
/// everything again and start from `GET /me/last-activities`).
#[utoipa::path(
    operation_id = "my_changes",
    tag = "me",
    params(ChangesQuery),
    responses(
        (status = 200, description = "Changes and the next cursor", body = Changes),
        (status = 400, response = crate::error::BadPageQuery),
        (status = 401, response = Unauthenticated),
        (status = 410, response = crate::error::ResyncRequired),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/changes")]
pub async fn my_changes(
    state: web::Data<AppState>,
    auth: Caller,
    query: Query<ChangesQuery>,
) -> ApiResult<HttpResponse> {
    let (limit, since) = changes_query(&query)?;
    let me = auth.id();
    let mut conn = state.conn().await?;
    let now = changes::last_activities(&mut conn, me).await?;
    if since > now.seq {
        return Err(foreign_cursor());
    }
    if since < now.pruned_through {
        return Err(ApiError::new(
            actix_web::http::StatusCode::GONE,
            ErrorCode::ResyncRequired,
            "Resync required",
            "changes this old are no longer kept: download everything again and start from GET /me/last-activities",
        ));
    }
    let mut rows = changes::since(&mut conn, me, since, limit + 1).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let cursor = sync_cursor(rows.last().map_or(since, |c| c.seq));
    let changes = rows
        .into_iter()
        .map(|c| ChangeItem {
            kind: c.object_type,
            id: c.object_key,
            changed_at: (!c.deleted).then_some(c.changed_at),
            deleted_at: c.deleted.then_some(c.changed_at),
            data: c.data,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Changes {
        changes,
        cursor,
        has_more,
    }))
}

/// How many changes a page may hold (1–1000, 500 by default) and the sequence number the cursor
/// starts after.
fn changes_query(query: &ChangesQuery) -> ApiResult<(i64, i64)> {
    let limit = match query.limit {
        None => 500,
        Some(n) if (1..=1000).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidLimit,
                "limit must be between 1 and 1000",
            ));
        }
    };
    let since = match pagination::decode::<SyncCursor>(Some(&query.since))? {
        Some(SyncCursor('s', seq)) if seq >= 0 => seq,
        _ => return Err(foreign_cursor()),
    };
    Ok((limit, since))
}

fn foreign_cursor() -> ApiError {
    ApiError::bad_request(
        ErrorCode::InvalidCursor,
        "the cursor is not one this API issued",
    )
}
