//! The notification inbox: grouped notifications, the unread count, marking read.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use filmlog_domain::{CommentId, ListCommentId, ListId, LogEntryId, NotificationId, WebhookId};
use filmlog_persistence::notifications;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::exact;
use crate::auth::Caller;
use crate::error::{
    ApiResult, BadPageQuery, MalformedJson, NotJson, ServiceUnavailable, Unauthenticated,
};
use crate::extract::JsonBody;
use crate::pagination::{self, Page, Paging};
use crate::state::AppState;
use filmlog_app::ops;

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

/// The comment a notification is about, a review's or a list's, as the API names it.
pub(crate) fn comment_id(about: &notifications::Refs) -> Option<String> {
    about
        .comment_id
        .map(CommentId::get)
        .or(about.list_comment_id.map(ListCommentId::get))
        .map(|c| c.to_string())
}

impl NotificationSubject {
    /// The endpoint a `webhook_disabled` notification is about.
    fn webhook(id: Option<WebhookId>) -> Option<Self> {
        id.map(|id| NotificationSubject {
            kind: "webhook",
            id: id.to_string(),
            title: None,
            film: None,
        })
    }

    /// A log entry's or a list's (`None` for notifications about you: follows, requests).
    pub(crate) fn of(
        entry: Option<LogEntryId>,
        list: Option<ListId>,
        title: Option<String>,
        film: Option<String>,
    ) -> Option<Self> {
        let (kind, id) = match (entry, list) {
            (Some(id), _) => ("log_entry", id.get()),
            (None, Some(id)) => ("list", id.get()),
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
            kind: g.kind.as_str().to_owned(),
            subject: NotificationSubject::of(
                g.about.log_entry_id,
                g.about.list_id,
                g.subject_title,
                g.film_slug,
            )
            .or_else(|| NotificationSubject::webhook(g.webhook_id)),
            comment_id: comment_id(&g.about),
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
    let after = paging.after.map(|(at, id)| (at, NotificationId::new(id)));
    let mut conn = state.conn().await?;
    let rows = notifications::groups(&mut conn, auth.id(), after, paging.fetch()).await?;
    let page = pagination::page(
        rows,
        paging.limit,
        |g| (g.latest_at, g.latest_id.get()),
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
