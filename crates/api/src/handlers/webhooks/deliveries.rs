//! Test deliveries and the delivery log of an endpoint.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use filmlog_domain::DeliveryId;
use filmlog_persistence::webhooks::{self as store, DeliveryRow};
use serde::Serialize;
use utoipa::ToSchema;

use super::not_found;
use crate::auth::Caller;
use crate::dto::rfc3339;
use crate::error::{ApiResult, BadPageQuery, ServiceUnavailable, Unauthenticated};
use crate::extract::WebhookPath;
use crate::pagination::{self, Page, Paging};
use crate::state::AppState;
use filmlog_app::ops;

/// A queued delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDelivery {
    #[schema(example = "41")]
    pub id: String,
    /// The `webhook-id` header: the same on every attempt.
    #[schema(example = "msg_6f1c2b8e9d0a4c3b8e7f6a5d4c3b2a19")]
    pub message_id: String,
    #[schema(example = "log_entry.changed")]
    pub event_type: String,
    /// `pending`, `delivered` or `failed` (given up after 24 hours).
    #[schema(example = "delivered")]
    pub status: String,
    pub attempts: i32,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: DateTime<Utc>,
    /// The receiver's last HTTP status.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    /// At most 256 characters of the receiver's last answer.
    pub response_excerpt: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<DeliveryRow> for WebhookDelivery {
    fn from(d: DeliveryRow) -> Self {
        WebhookDelivery {
            id: d.id.to_string(),
            message_id: d.message_id,
            event_type: d.event_type,
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error,
            response_excerpt: d.response_excerpt,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        }
    }
}

/// Send a test event
///
/// Queues a `webhook.test` delivery now; one at a time per endpoint.
#[utoipa::path(
    operation_id = "test_webhook",
    tag = "webhooks",
    params(("webhook_id" = String, Path, example = "3")),
    responses(
        (status = 202, description = "Queued; follow it in the deliveries", body = WebhookDelivery),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NotFoundNotOneYours),
        (status = 409, response = crate::error::WebhookDisabled),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/me/webhooks/{webhook_id}/test")]
pub async fn test_webhook(
    state: web::Data<AppState>,
    auth: Caller,
    WebhookPath(id): WebhookPath,
) -> ApiResult<HttpResponse> {
    let me = auth.id();
    let mut conn = state.conn().await?;
    let row = ops::webhooks::test(&mut conn, me, id).await?;
    Ok(HttpResponse::Accepted().json(WebhookDelivery::from(row)))
}

/// A webhook endpoint's deliveries
#[utoipa::path(
    operation_id = "list_webhook_deliveries",
    tag = "webhooks",
    params(("webhook_id" = String, Path, example = "3"), pagination::PageQuery),
    responses(
        (status = 200, description = "Newest first", body = Page<WebhookDelivery>),
        (status = 400, response = BadPageQuery),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NotFoundNotOneYours),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/webhooks/{webhook_id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    auth: Caller,
    WebhookPath(id): WebhookPath,
    paging: Paging<i64>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    store::own(&mut conn, auth.id(), id)
        .await?
        .ok_or_else(not_found)?;
    let after = paging.after.map(DeliveryId::new);
    let rows = store::deliveries(&mut conn, id, after, paging.fetch()).await?;
    let page = pagination::page(rows, paging.limit, |d| d.id.get(), WebhookDelivery::from);
    Ok(HttpResponse::Ok().json(page))
}
