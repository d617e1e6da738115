//! The caller's sessions: where they are logged in, and ending them.

use actix_web::{HttpResponse, delete, get, web};
use chrono::{DateTime, Utc};
use filmlog_persistence::sessions::{self, SessionRow};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::dto::rfc3339;
use crate::error::{ApiResult, ServiceUnavailable, Unauthenticated};
use crate::extract::SessionPath;
use crate::state::AppState;

/// At most this many sessions are listed (the most recently used).
const LISTED: i64 = 100;

/// A live login session.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    #[schema(example = "12")]
    pub id: String,
    /// Whether this is the session of the token making the request.
    pub current: bool,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    /// The last login or token refresh (a client refreshes every 15 minutes while in use).
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_used_at: DateTime<Utc>,
    /// The client's `User-Agent` when the session started (at most 200 characters).
    #[schema(example = "Filmlog/2.3 (iPhone; iOS 18.1)")]
    pub user_agent: Option<String>,
    /// The network the session started from: an IPv4 /24 or IPv6 /48, never the whole address.
    #[schema(example = "203.0.113.0/24")]
    pub network: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Sessions {
    pub items: Vec<Session>,
}

/// Your sessions
///
/// Where you are logged in: every live session of Filmlog's own sign-in, most recently used first
/// (at most 100). The grants you gave third-party apps are under `GET /me/authorized-apps`.
#[utoipa::path(
    operation_id = "list_sessions",
    tag = "me",
    responses(
        (status = 200, description = "Live sessions", body = Sessions),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/sessions")]
pub async fn list_sessions(state: web::Data<AppState>, auth: Caller) -> ApiResult<HttpResponse> {
    let mut conn = state.read_conn().await?;
    let rows = sessions::live_sessions(&mut conn, auth.id(), LISTED).await?;
    let items = rows
        .into_iter()
        .map(|r: SessionRow| Session {
            id: r.id.to_string(),
            current: r.id == auth.session,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            user_agent: r.user_agent,
            network: r.network,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Sessions { items }))
}

/// End a session
///
/// Logs that session out: its refresh and access tokens stop working at once. Ending the current
/// session is logging out.
#[utoipa::path(
    operation_id = "end_session",
    tag = "me",
    params(("id" = String, Path, example = "12")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NoLiveSessionYoursHasThatId),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/me/sessions/{id}")]
pub async fn end_session(
    state: web::Data<AppState>,
    auth: Caller,
    SessionPath(id): SessionPath,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    filmlog_app::ops::accounts::end_session(&mut conn, auth.id(), id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// End every other session
///
/// Logs out everywhere but here. Your webhooks are paused (a `webhook_disabled` notification each)
/// until you turn them on again with your password, in case one was made with a stolen token.
#[utoipa::path(
    operation_id = "end_other_sessions",
    tag = "me",
    responses(
        (status = 204, description = "Every other session ended"),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/me/sessions")]
pub async fn end_other_sessions(
    state: web::Data<AppState>,
    auth: Caller,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    filmlog_app::ops::accounts::end_other_sessions(&mut conn, auth.id(), auth.session).await?;
    Ok(HttpResponse::NoContent().finish())
}
