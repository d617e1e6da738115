//! Liveness and readiness probes.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use diesel_async::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process is up. Does not touch the database.
#[utoipa::path(
    operation_id = "health_live",
    tag = "health",
    responses((status = 200, description = "The process is serving", body = Health))
)]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The service can answer requests: the database answers a ping within a second.
#[utoipa::path(
    operation_id = "health_ready",
    tag = "health",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, response = crate::error::ServiceUnavailable),
    )
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let ping = async {
        let mut conn = state.read_conn().await?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await?;
        Ok::<_, ApiError>(())
    };
    match tokio::time::timeout(Duration::from_secs(1), ping).await {
        Ok(Ok(())) => Ok(HttpResponse::Ok().json(Health { status: "ok" })),
        Ok(Err(e)) if e.status().is_server_error() => Err(ApiError::unavailable(e)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ApiError::unavailable("database ping timed out")),
    }
}
