//! Export jobs and their signed downloads.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use filmlog_app::ErrorCode;
use filmlog_domain::ExportJobId;
use filmlog_domain::portability::JobStatus;
use filmlog_persistence::portability::{self as store, ExportJobRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::dto::rfc3339;
use crate::error::{ApiError, ApiResult, ServiceUnavailable, Unauthenticated};
use crate::extract::{ExportPath, Query};
use crate::routes::API_PREFIX;
use crate::state::AppState;
use filmlog_app::ops;

/// An export job.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportJob {
    #[schema(example = "5")]
    pub id: String,
    /// `queued`, `running`, `done`, `failed`.
    pub status: String,
    /// The ZIP's size, once done.
    pub bytes: Option<i64>,
    /// A link to the ZIP that needs no token and works for an hour (ask again for a new one).
    pub download_url: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub download_url_expires_at: Option<DateTime<Utc>>,
    /// When the ZIP is deleted.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<DateTime<Utc>>,
}

/// An export not past its keeping time (the daily prune deletes it later).
pub(crate) fn kept(job: &ExportJobRow) -> bool {
    job.expires_at.is_none_or(|e| e > Utc::now())
}

pub(crate) fn export_view(state: &AppState, job: ExportJobRow) -> ExportJob {
    let settings = &state.portability;
    let link = (job.status == JobStatus::Done).then(|| {
        let ttl = chrono::Duration::from_std(settings.link_ttl).unwrap_or_default();
        let until = (Utc::now() + ttl).min(job.expires_at.unwrap_or_else(Utc::now));
        let expires = until.timestamp();
        let signature = settings.sign(job.id, expires);
        (
            format!(
                "{API_PREFIX}/me/exports/{}/download?expires={expires}&signature={signature}",
                job.id
            ),
            until,
        )
    });
    ExportJob {
        id: job.id.to_string(),
        status: job.status.as_str().to_owned(),
        bytes: job.bytes,
        download_url: link.as_ref().map(|l| l.0.clone()),
        download_url_expires_at: link.map(|l| l.1),
        expires_at: job.expires_at,
        error: job.error,
        created_at: job.created_at,
        finished_at: job.finished_at,
    }
}

/// Export everything you own
///
/// Answers `202` with `Location` of the job. The ZIP holds `filmlog.json` (schema
/// `ExportDocument`: profile, log entries with reviews and tags, film states, lists, follows,
/// comments) and `letterboxd/` CSVs in Letterboxd's import format (diary, ratings, watchlist,
/// lists). Kept 7 days.
#[utoipa::path(
    operation_id = "create_export",
    tag = "portability",
    responses(
        (status = 202, description = "Queued; `Location` is the job", body = ExportJob),
        (status = 401, response = Unauthenticated),
        (status = 409, response = crate::error::ExportInProgress),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/me/exports")]
pub async fn create_export(state: web::Data<AppState>, auth: Caller) -> ApiResult<HttpResponse> {
    let me = auth.id();
    let mut conn = state.conn().await?;
    let job = ops::portability::start_export(&mut conn, me).await?;
    state.portability.wake.notify_waiters();
    let id = job.id;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("{API_PREFIX}/me/exports/{id}")))
        .json(export_view(&state, job)))
}

/// One of your exports
#[utoipa::path(
    operation_id = "get_export",
    tag = "portability",
    params(("export_id" = String, Path, example = "5")),
    responses(
        (status = 200, description = "The job, with a fresh download link when done", body = ExportJob),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NotFoundNotOneYoursExpired),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/exports/{export_id}")]
pub async fn get_export(
    state: web::Data<AppState>,
    auth: Caller,
    ExportPath(id): ExportPath,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let job = filmlog_persistence::jobs::of::<store::ExportJobRow>(&mut conn, Some(auth.id()), id)
        .await?
        .filter(kept)
        .ok_or_else(|| ApiError::not_found("that export"))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(export_view(&state, job)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DownloadQuery {
    /// Unix seconds, from `download_url`.
    pub expires: i64,
    pub signature: String,
}

/// Download an export
///
/// The link `GET /me/exports/{export_id}` gives; it needs no token, and stops working when it
/// expires.
#[utoipa::path(
    operation_id = "download_export",
    tag = "portability",
    params(("export_id" = String, Path, example = "5"), DownloadQuery),
    responses(
        (status = 200, description = "The ZIP", content_type = "application/zip", body = Vec<u8>),
        (status = 400, response = crate::error::InvalidQueryParameter),
        (status = 403, response = crate::error::InvalidLink),
        (status = 404, response = crate::error::NotFoundNoSuchExport),
        (status = 410, response = crate::error::LinkExpired),
        (status = 503, response = ServiceUnavailable),
    ),
    // The signed link is the credential: a token, an app's too, is not looked at.
    security(())
)]
#[get("/me/exports/{export_id}/download")]
pub async fn download_export(
    state: web::Data<AppState>,
    ExportPath(id): ExportPath,
    query: Query<DownloadQuery>,
) -> ApiResult<HttpResponse> {
    check_link(&state, id, &query.into_inner())?;
    let (job, username) = downloadable(&state, id).await?;
    let date = job.finished_at.unwrap_or_else(Utc::now).format("%Y-%m-%d");
    let body = chunks(state.clone(), id);
    let mut res = HttpResponse::Ok();
    res.content_type("application/zip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"filmlog-{username}-{date}.zip\""),
        ))
        .insert_header((
            header::ETAG,
            format!("\"export-{id}-{}\"", job.bytes.unwrap_or(0)),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"));
    if let Some(len) = job.bytes {
        res.no_chunking(u64::try_from(len).unwrap_or(0));
    }
    Ok(res.streaming(body))
}

/// 403 unless the link's signature is this export's, 410 once the link expired.
fn check_link(state: &AppState, id: ExportJobId, q: &DownloadQuery) -> ApiResult<()> {
    if !state.portability.verify(id, q.expires, &q.signature) {
        return Err(ApiError::forbidden(
            ErrorCode::InvalidLink,
            "the link's signature does not match",
        ));
    }
    if q.expires < Utc::now().timestamp() {
        return Err(ApiError::new(
            actix_web::http::StatusCode::GONE,
            ErrorCode::LinkExpired,
            "Link expired",
            "the download link expired: ask for the export again for a new one",
        ));
    }
    Ok(())
}

/// A finished export still kept, with its owner's username (for the file's name).
async fn downloadable(
    state: &AppState,
    id: ExportJobId,
) -> ApiResult<(store::ExportJobRow, String)> {
    let mut conn = state.conn().await?;
    let job = filmlog_persistence::jobs::of::<store::ExportJobRow>(&mut conn, None, id)
        .await?
        .filter(|j| j.status == JobStatus::Done && kept(j))
        .ok_or_else(|| ApiError::not_found("that export"))?;
    let member = job.member_id;
    let username = filmlog_persistence::members::find(&mut conn, member)
        .await?
        .map(|m| m.username.as_str().to_owned())
        .unwrap_or_else(|| "member".into());
    Ok((job, username))
}

/// The export's chunks as a response body: one chunk at a time from the database, each on a
/// connection taken for that chunk alone, so a download never holds the whole ZIP, nor a connection
/// while the client reads (a client that stops reading is cut off by the server's stall timeout).
fn chunks(
    state: web::Data<AppState>,
    id: ExportJobId,
) -> impl futures_util::Stream<Item = Result<web::Bytes, actix_web::Error>> {
    futures_util::stream::unfold(Some(0i32), move |next| {
        let state = state.clone();
        async move {
            let n = next?;
            let chunk = async {
                let mut conn = state.conn().await?;
                Ok::<_, ApiError>(
                    filmlog_persistence::jobs::chunk::<store::ExportJobRow>(&mut conn, id, n)
                        .await?,
                )
            };
            match chunk.await {
                Ok(Some(bytes)) => Some((
                    Ok::<_, actix_web::Error>(web::Bytes::from(bytes)),
                    n.checked_add(1),
                )),
                Ok(None) => None,
                Err(e) => Some((Err(e.into()), None)),
            }
        }
    })
}
