//! A member's webhook endpoints and their deliveries.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use filmlog_domain::webhook;
use filmlog_persistence::webhooks::{self as store, EndpointChanges, EndpointRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::dto::rfc3339;
use crate::error::{
    ApiError, ApiResult, FieldError, MalformedJson, NotJson, ServiceUnavailable, Unauthenticated,
};
use crate::extract::{JsonBody, WebhookPath};
use crate::guards::confirm_password;
use crate::state::AppState;
use filmlog_app::ops;

mod deliveries;

pub use deliveries::*;

/// A webhook endpoint. Its signing secret is shown once, when it is made or rotated.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpoint {
    #[schema(example = "3")]
    pub id: String,
    #[schema(example = "https://hooks.example.com/filmlog")]
    pub url: String,
    /// `*` or any of `notification`, `log_entry`, `film`, `review_like`, `list_like`, `follow`,
    /// `follow_request`, `comment`, `list_comment`, `list`, `profile`.
    #[schema(example = json!(["notification", "log_entry"]))]
    pub events: Vec<String>,
    pub enabled: bool,
    /// Why it was disabled (it kept failing).
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i32,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    /// `whsec_…`: only in the answer that made or rotated it. Verify `webhook-signature` with it
    /// (HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, Standard Webhooks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl WebhookEndpoint {
    fn of(row: EndpointRow, secret: Option<String>) -> Self {
        WebhookEndpoint {
            id: row.id.to_string(),
            url: row.url,
            events: row.events.into_iter().flatten().collect(),
            enabled: row.enabled,
            disabled_reason: row.disabled_reason,
            consecutive_failures: row.consecutive_failures,
            created_at: row.created_at,
            secret,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// `https` (plain `http` only to hosts the server allows); no private, loopback or link-local
    /// targets.
    #[schema(example = "https://hooks.example.com/filmlog")]
    pub url: String,
    #[schema(example = json!(["notification", "log_entry"]))]
    pub events: Vec<String>,
    /// Your password: a stolen access token alone cannot send your private things elsewhere.
    pub current_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// Turn it back on (its failures in a row start again from 0) or off.
    pub enabled: Option<bool>,
    /// A new secret, shown in this answer only; the old one signs beside it for 24 hours (each
    /// delivery carries both signatures), so a receiver can switch without losing deliveries.
    #[serde(default)]
    pub rotate_secret: bool,
    /// Your password: needed to change the URL, turn the endpoint on, or rotate its secret.
    pub current_password: Option<String>,
}

/// The URL and events checked, errors by field.
fn checked(
    state: &AppState,
    url: Option<&str>,
    events: Option<&[String]>,
) -> ApiResult<(Option<String>, Option<Vec<String>>)> {
    let mut errors = Vec::new();
    let url =
        url.and_then(
            |u| match filmlog_jobs::webhooks::check_url(u, &state.webhooks.targets) {
                Ok(url) => Some(url.to_string()),
                Err(e) => {
                    errors.push(FieldError::new("/url", "invalid_webhook_url", e));
                    None
                }
            },
        );
    let events = events.and_then(|e| match webhook::parse_events(e) {
        Ok(events) => Some(events),
        Err(e) => {
            errors.push(FieldError::new("/events", "invalid_events", e));
            None
        }
    });
    if errors.is_empty() {
        Ok((url, events))
    } else {
        Err(ApiError::validation(errors))
    }
}

/// `secret` sealed for storage (see [`filmlog_jobs::webhooks::SecretBox`]).
fn sealed(state: &AppState, secret: &str) -> ApiResult<String> {
    state
        .webhooks
        .secrets
        .as_ref()
        .and_then(|b| b.seal(secret))
        .ok_or_else(|| ApiError::internal("no key to seal webhook secrets with"))
}

fn not_found() -> ApiError {
    ApiError::not_found("that webhook")
}

/// Register a webhook endpoint
///
/// Deliveries are signed as the Standard Webhooks specification says (`webhook-id`,
/// `webhook-timestamp`, `webhook-signature`); the body is `{type, timestamp, data}`. Events:
/// `notification.created`, and `<kind>.changed` / `<kind>.deleted` for your things (as
/// `GET /me/changes` lists them), plus `webhook.test`. Delivered at least once (deduplicate by
/// `webhook-id`), retried with exponential back-off and jitter for 24 hours; an endpoint that keeps
/// failing is disabled and you get a `webhook_disabled` notification. At most 10 endpoints. Needs
/// a verified email address, a recent sign-in and your password; a password change or "log out everywhere" pauses every endpoint until you turn it
/// on again (with your password).
#[utoipa::path(
    operation_id = "create_webhook",
    tag = "webhooks",
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Registered; the secret is in this answer only", body = WebhookEndpoint),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 403, response = crate::error::EmailUnverifiedOrReauthenticationRequired),
        (status = 409, response = crate::error::WebhookLimit),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedInvalidWebhookUrl),
        (status = 429, response = crate::error::PasswordLocked),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/me/webhooks")]
pub async fn create_webhook(
    http: HttpRequest,
    state: web::Data<AppState>,
    auth: Caller,
    body: JsonBody<CreateWebhookRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    let (url, events) = checked(&state, Some(&req.url), Some(&req.events))?;
    crate::guards::require_recent(&state, &auth).await?;
    confirm_password(
        &http,
        &state,
        auth.id(),
        &req.current_password,
        "/current_password",
    )
    .await?;
    let (url, events) = (url.unwrap_or_default(), events.unwrap_or_default());
    let me = auth.id();
    let secret = filmlog_jobs::webhooks::new_secret();
    let sealed = sealed(&state, &secret)?;
    let mut conn = state.conn().await?;
    let row = ops::webhooks::register(&mut conn, me, &url, &events, &sealed).await?;
    let location = format!("/api/v1/me/webhooks/{}", row.id);
    Ok(HttpResponse::Created()
        .insert_header(("location", location))
        .json(WebhookEndpoint::of(row, Some(secret))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<WebhookEndpoint>,
}

/// Your webhook endpoints
#[utoipa::path(
    operation_id = "list_webhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "Oldest first", body = WebhookList),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/webhooks")]
pub async fn list_webhooks(state: web::Data<AppState>, auth: Caller) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let rows = store::of_owner(&mut conn, auth.id()).await?;
    let items = rows
        .into_iter()
        .map(|r| WebhookEndpoint::of(r, None))
        .collect();
    Ok(HttpResponse::Ok().json(WebhookList { items }))
}

/// One of your webhook endpoints
#[utoipa::path(
    operation_id = "get_webhook",
    tag = "webhooks",
    params(("webhook_id" = String, Path, example = "3")),
    responses(
        (status = 200, description = "The endpoint (without its secret)", body = WebhookEndpoint),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NotFoundNotOneYours),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/webhooks/{webhook_id}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    auth: Caller,
    WebhookPath(id): WebhookPath,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let row = store::own(&mut conn, auth.id(), id)
        .await?
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(WebhookEndpoint::of(row, None)))
}

/// Change a webhook endpoint
#[utoipa::path(
    operation_id = "update_webhook",
    tag = "webhooks",
    params(("webhook_id" = String, Path, example = "3")),
    request_body = UpdateWebhookRequest,
    responses(
        (status = 200, description = "Changed (with the new secret when rotated)", body = WebhookEndpoint),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 403, response = crate::error::EmailUnverifiedOrReauthenticationRequired),
        (status = 404, response = crate::error::NotFoundNotOneYours),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedInvalidWebhookUrlInvalid),
        (status = 429, response = crate::error::PasswordLocked),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[patch("/me/webhooks/{webhook_id}")]
pub async fn update_webhook(
    http: HttpRequest,
    state: web::Data<AppState>,
    auth: Caller,
    WebhookPath(id): WebhookPath,
    body: JsonBody<UpdateWebhookRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    let (url, events) = checked(&state, req.url.as_deref(), req.events.as_deref())?;
    // Where deliveries go, whether they flow, and who can sign them need the password.
    if url.is_some() || req.enabled == Some(true) || req.rotate_secret {
        // Asked only for an endpoint of the caller's (others' ids are 404 as everywhere).
        let mut conn = state.conn().await?;
        store::own(&mut conn, auth.id(), id)
            .await?
            .ok_or_else(not_found)?;
        drop(conn);
        crate::guards::require_recent(&state, &auth).await?;
        let Some(password) = req.current_password.as_deref() else {
            return Err(ApiError::invalid_field(
                "/current_password",
                "password_required",
                "changing the URL, turning the endpoint on or rotating its secret needs your password",
            ));
        };
        confirm_password(&http, &state, auth.id(), password, "/current_password").await?;
    }
    let secret = req.rotate_secret.then(filmlog_jobs::webhooks::new_secret);
    let rotated = secret.as_deref().map(|s| sealed(&state, s)).transpose()?;
    let changes = EndpointChanges {
        url,
        events,
        enabled: req.enabled,
        disabled_reason: req.enabled.filter(|on| *on).map(|_| None),
        consecutive_failures: req.enabled.filter(|on| *on).map(|_| 0),
        updated_at: Some(Utc::now()),
    };
    let me = auth.id();
    let mut conn = state.conn().await?;
    let row = ops::webhooks::change(&mut conn, me, id, &changes, rotated.as_deref()).await?;
    Ok(HttpResponse::Ok().json(WebhookEndpoint::of(row, secret)))
}

/// Delete a webhook endpoint
///
/// Its pending deliveries go with it.
#[utoipa::path(
    operation_id = "delete_webhook",
    tag = "webhooks",
    params(("webhook_id" = String, Path, example = "3")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NotFoundNotOneYours),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/me/webhooks/{webhook_id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    auth: Caller,
    WebhookPath(id): WebhookPath,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    ops::webhooks::delete(&mut conn, auth.id(), id).await?;
    Ok(HttpResponse::NoContent().finish())
}
