//! Notifications, thread subscriptions and delta sync: what happened to the caller's things, and
//! what changed of them.

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, SecondsFormat, Utc};
use filmlog_persistence::{changes, notifications};
use serde::{Deserialize, Serialize, Serializer};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{
    ApiError, ApiResult, BadPageQuery, EntryNotFound, ListNotFound, MalformedJson, NotJson,
    Problem, ServiceUnavailable, Unauthenticated,
};
use crate::extract::{EntryPath, JsonBody, ListPath, Query};
use crate::pagination::{self, Page, Paging};
use crate::state::AppState;
use filmlog_app::ops;

/// A time with all its precision (a client sends it back as `up_to`, so seconds would not do).
fn exact<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true))
}

fn exact_opt<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => exact(t, s),
        None => s.serialize_none(),
    }
}

/// What a notification is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationSubject {
    /// `log_entry` (a review), `list`, or `webhook` (an endpoint disabled).
    #[schema(example = "log_entry")]
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[schema(example = "17")]
    pub id: String,
    /// The film's title, or the list's name.
    #[schema(example = "Parasite")]
    pub title: Option<String>,
    /// The film's slug, for a log entry.
    #[schema(example = "parasite-2019")]
    pub film: Option<String>,
}

impl NotificationSubject {
    /// The endpoint a `webhook_disabled` notification is about.
    fn webhook(id: Option<i64>) -> Option<Self> {
        id.map(|id| NotificationSubject {
            kind: "webhook",
            id: id.to_string(),
            title: None,
            film: None,
        })
    }

    /// A log entry's or a list's (`None` for notifications about you: follows, requests).
    fn of(
        entry: Option<i64>,
        list: Option<i64>,
        title: Option<String>,
        film: Option<String>,
    ) -> Option<Self> {
        let (kind, id) = match (entry, list) {
            (Some(id), _) => ("log_entry", id),
            (None, Some(id)) => ("list", id),
            (None, None) => return None,
        };
        Some(NotificationSubject {
            kind,
            id: id.to_string(),
            title,
            film,
        })
    }
}

/// One item of your notifications: everything of one kind about one subject ("amara and 12 others
/// liked your review"), read and unread apart.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationItem {
    /// `follow`, `follow_request`, `follow_approved`, `review_like`, `list_like`,
    /// `review_comment`, `list_comment`, `reply`, `mention`, `webhook_disabled` (one of your
    /// webhook endpoints kept failing and was disabled; its `actors` are empty).
    #[schema(example = "review_like")]
    pub kind: String,
    /// `null` for follows and follow requests (they are about you).
    pub subject: Option<NotificationSubject>,
    /// The newest comment of a comment, reply or mention.
    #[schema(example = "88")]
    pub comment_id: Option<String>,
    /// The newest actors, newest first (at most 3).
    #[schema(example = json!(["amara", "bo"]))]
    pub actors: Vec<String>,
    /// Everyone who did it.
    #[schema(example = 13)]
    pub actor_count: i64,
    #[serde(serialize_with = "exact")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-30T21:04:05.123456Z")]
    pub latest_at: DateTime<Utc>,
    pub read: bool,
}

impl From<notifications::Group> for NotificationItem {
    fn from(g: notifications::Group) -> Self {
        NotificationItem {
            kind: g.kind,
            subject: NotificationSubject::of(
                g.log_entry_id,
                g.list_id,
                g.subject_title,
                g.film_slug,
            )
            .or_else(|| NotificationSubject::webhook(g.webhook_id)),
            comment_id: g.comment_id.or(g.list_comment_id).map(|c| c.to_string()),
            actors: g.actors,
            actor_count: g.actor_count,
            latest_at: g.latest_at,
            read: g.read,
        }
    }
}

/// Your notifications
///
/// Newest first, grouped: one item per kind and subject, read and unread apart. Never about your
/// own actions, never from members you block, who block you, or whom you mute.
#[utoipa::path(
    operation_id = "list_notifications",
    tag = "me",
    params(pagination::PageQuery),
    responses(
        (status = 200, description = "A page of notifications", body = Page<NotificationItem>),
        (status = 400, response = BadPageQuery),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/notifications")]
pub async fn list_notifications(
    state: web::Data<AppState>,
    auth: Caller,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let rows = notifications::groups(&mut conn, auth.id(), paging.after, paging.fetch()).await?;
    let page = pagination::page(
        rows,
        paging.limit,
        |g| (g.latest_at, g.latest_id),
        NotificationItem::from,
    );
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    /// Unread items of `GET /me/notifications`.
    #[schema(example = 3)]
    pub unread: i64,
}

/// How many notifications are unread
#[utoipa::path(
    operation_id = "unread_notification_count",
    tag = "me",
    responses(
        (status = 200, description = "The unread count", body = UnreadCount),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/notifications/unread-count")]
pub async fn unread_count(state: web::Data<AppState>, auth: Caller) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let unread = notifications::unread_count(&mut conn, auth.id()).await?;
    Ok(HttpResponse::Ok().json(UnreadCount { unread }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkReadRequest {
    /// Everything up to this time is read: send the `latest_at` of the newest item you showed.
    /// A time in the future counts as now.
    #[schema(value_type = String, format = DateTime, example = "2026-11-30T21:04:05.123456Z")]
    pub up_to: DateTime<Utc>,
}

/// Mark notifications read
#[utoipa::path(
    operation_id = "mark_notifications_read",
    tag = "me",
    request_body = MarkReadRequest,
    responses(
        (status = 204, description = "Read up to that time"),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 415, response = NotJson),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/me/notifications/read")]
pub async fn mark_read(
    state: web::Data<AppState>,
    auth: Caller,
    body: JsonBody<MarkReadRequest>,
) -> ApiResult<HttpResponse> {
    let up_to = body.0.up_to.min(Utc::now());
    let me = auth.id();
    let mut conn = state.conn().await?;
    ops::notify::mark_read(&mut conn, me, up_to).await?;
    Ok(HttpResponse::NoContent().finish())
}

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
        (status = 409, description = "`blocked`: you blocked its author", body = Problem, content_type = "application/problem+json"),
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
        (status = 409, description = "`blocked`: you blocked its author", body = Problem, content_type = "application/problem+json"),
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

async fn entry_subscription(
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
        (status = 409, description = "`blocked`: you blocked its owner", body = Problem, content_type = "application/problem+json"),
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
        (status = 409, description = "`blocked`: you blocked its owner", body = Problem, content_type = "application/problem+json"),
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

async fn list_subscription(
    state: &AppState,
    auth: Caller,
    id: i64,
    on: bool,
) -> ApiResult<HttpResponse> {
    let me = auth.id();
    let mut conn = state.conn().await?;
    ops::social::subscribe_list(&mut conn, id, me, on).await?;
    Ok(HttpResponse::NoContent().finish())
}

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
struct SyncCursor(char, i64);

fn sync_cursor(seq: i64) -> String {
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
        (status = 400, description = "`invalid_cursor`, `invalid_limit`, `invalid_query_parameter`", body = Problem, content_type = "application/problem+json"),
        (status = 401, response = Unauthenticated),
        (status = 410, description = "`resync_required`: the cursor is older than the tombstones kept", body = Problem, content_type = "application/problem+json"),
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
    let limit = match query.limit {
        None => 500,
        Some(n) if (1..=1000).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_limit",
                "limit must be between 1 and 1000",
            ));
        }
    };
    let invalid =
        || ApiError::bad_request("invalid_cursor", "the cursor is not one this API issued");
    let since = match pagination::decode::<SyncCursor>(Some(&query.since))? {
        Some(SyncCursor('s', seq)) if seq >= 0 => seq,
        _ => return Err(invalid()),
    };
    let me = auth.id();
    let mut conn = state.conn().await?;
    let now = changes::last_activities(&mut conn, me).await?;
    if since > now.seq {
        return Err(invalid());
    }
    if since < now.pruned_through {
        return Err(ApiError::new(
            actix_web::http::StatusCode::GONE,
            "resync_required",
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

/// One notification as the live stream sends it (`event: notification`, `id:` its id).
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveNotification {
    #[schema(example = "901")]
    pub id: String,
    #[schema(example = "review_like")]
    pub kind: String,
    /// `null` for what the system tells (`webhook_disabled`).
    #[schema(example = "amara")]
    pub actor: Option<String>,
    pub subject: Option<NotificationSubject>,
    pub comment_id: Option<String>,
    #[serde(serialize_with = "exact")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<notifications::Single> for LiveNotification {
    fn from(n: notifications::Single) -> Self {
        LiveNotification {
            id: n.id.to_string(),
            kind: n.kind,
            actor: n.actor,
            subject: NotificationSubject::of(n.log_entry_id, n.list_id, None, None),
            comment_id: n.comment_id.or(n.list_comment_id).map(|c| c.to_string()),
            created_at: n.created_at,
        }
    }
}

/// Live events
///
/// Server-Sent Events: `event: notification` (its `id:` is the notification's) for each new
/// notification, and `event: unread_count` (`{"unread": n}`) when it changes, first on
/// connecting. Send `Last-Event-ID` (or let the browser's `EventSource` do it) to get what came
/// after that id; without it the stream starts now. A comment line every 15 s keeps it open; the
/// stream ends (`event: closing`) when the server stops (reconnect) or its session ends (logout,
/// password change). At most 5 streams per member per instance.
#[utoipa::path(
    operation_id = "live_events",
    tag = "me",
    params(("Last-Event-ID" = Option<String>, Header, description = "The id of the last event you received")),
    responses(
        (status = 200, description = "The event stream", content_type = "text/event-stream", body = String),
        (status = 400, description = "`invalid_last_event_id`", body = Problem, content_type = "application/problem+json"),
        (status = 401, response = Unauthenticated),
        (status = 429, description = "`too_many_streams`: you hold 5 streams already", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/events")]
pub async fn live_events(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    auth: Caller,
) -> ApiResult<HttpResponse> {
    let me = auth.id();
    let resume = match req.headers().get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .filter(|id| *id >= 0)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_last_event_id",
                        "Last-Event-ID must be the id of an event this stream sent",
                    )
                })?,
        ),
    };
    let registration = state.events.register(me.get()).ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            "Too many streams",
            "you hold the most live streams one member may; close one first",
        )
    })?;
    let start = match resume {
        Some(id) => id,
        None => {
            let mut conn = state.conn().await?;
            notifications::newest_id(&mut conn, me).await?
        }
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<web::Bytes>(16);
    let state = state.into_inner();
    let stream = stream_events(state, (me, auth.session), start, registration, tx);
    actix_web::rt::spawn(stream);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, actix_web::Error>(bytes), rx))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-store"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}

/// Feeds one stream until the client goes, the server stops or the session ends: on each wake-up
/// what is new after the last id sent, then the unread count; a heartbeat when idle.
async fn stream_events(
    state: std::sync::Arc<AppState>,
    (me, session): (filmlog_domain::MemberId, filmlog_domain::SessionId),
    mut last: i64,
    mut registration: filmlog_jobs::events::Registration,
    tx: tokio::sync::mpsc::Sender<web::Bytes>,
) {
    let mut unread: Option<i64> = None;
    let mut catch_up = true;
    loop {
        match next_events(&state, (me, session), catch_up, &mut last, &mut unread).await {
            Ok(Some(frames)) => {
                for frame in frames {
                    if tx.send(frame).await.is_err() {
                        return;
                    }
                }
            }
            Ok(None) => {
                let ended = b"event: closing\ndata: {\"reason\":\"session_ended\"}\n\n";
                let _ = tx.send(web::Bytes::from_static(ended)).await;
                return;
            }
            // A database that cannot answer now ends nothing: the next wake-up tries again.
            Err(error) => {
                tracing::warn!(%error, "live events: could not read new notifications");
            }
        }
        tokio::select! {
            () = registration.wake.notified() => catch_up = true,
            () = tokio::time::sleep(state.events.heartbeat) => {
                catch_up = false;
                if tx.send(web::Bytes::from_static(b": heartbeat\n\n")).await.is_err() {
                    return;
                }
            }
            _ = registration.closing.changed() => {
                let _ = tx.send(web::Bytes::from_static(b"event: closing\ndata: {}\n\n")).await;
                return;
            }
            () = tx.closed() => return,
        }
    }
}

/// On one connection: `None` when the stream's session has ended (a stream lives no longer than
/// its session: logout, a password change, a deleted account; checked on every wake-up and
/// heartbeat); else, when `catch_up`, the frames for what is new: each notification after `last`,
/// then the unread count when it changed.
async fn next_events(
    state: &AppState,
    (me, session): (filmlog_domain::MemberId, filmlog_domain::SessionId),
    catch_up: bool,
    last: &mut i64,
    unread: &mut Option<i64>,
) -> ApiResult<Option<Vec<web::Bytes>>> {
    let mut conn = state.conn().await?;
    if !filmlog_persistence::sessions::is_live(&conn, me, session).await? {
        return Ok(None);
    }
    let mut frames = Vec::new();
    if !catch_up {
        return Ok(Some(frames));
    }
    loop {
        let batch = notifications::newer_than(&mut conn, me, *last, 100).await?;
        let more = batch.len() == 100;
        for n in batch {
            *last = n.id;
            let id = n.id;
            let data = serde_json::to_string(&LiveNotification::from(n)).unwrap_or_default();
            frames.push(web::Bytes::from(format!(
                "id: {id}\nevent: notification\ndata: {data}\n\n"
            )));
        }
        if !more {
            break;
        }
    }
    let count = notifications::unread_count(&mut conn, me).await?;
    if *unread != Some(count) {
        *unread = Some(count);
        frames.push(web::Bytes::from(format!(
            "event: unread_count\ndata: {{\"unread\":{count}}}\n\n"
        )));
    }
    Ok(Some(frames))
}
