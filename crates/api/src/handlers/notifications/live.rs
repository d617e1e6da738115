//! Live events over server-sent events.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use filmlog_app::ErrorCode;
use filmlog_persistence::notifications;
use serde::Serialize;
use utoipa::ToSchema;

use super::{NotificationSubject, exact};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ServiceUnavailable, Unauthenticated};
use crate::state::AppState;

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
            kind: n.kind.as_str().to_owned(),
            actor: n.actor,
            subject: NotificationSubject::of(n.about.log_entry_id, n.about.list_id, None, None),
            comment_id: super::inbox::comment_id(&n.about),
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
        (status = 400, response = crate::error::InvalidLastEventId),
        (status = 401, response = Unauthenticated),
        (status = 429, response = crate::error::TooManyStreams),
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
                        ErrorCode::InvalidLastEventId,
                        "Last-Event-ID must be the id of an event this stream sent",
                    )
                })?,
        ),
    };
    let registration = state.events.register(me.get()).ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyStreams,
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
pub(crate) async fn stream_events(
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
pub(crate) async fn next_events(
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
            *last = n.id.get();
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
