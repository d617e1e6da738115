//! Starting an import (the multipart upload spooled to disk within its bounds), confirming a dry
//! run and cancelling.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpResponse, delete, post, web};
use filmlog_app::ErrorCode;
use filmlog_domain::portability::MAX_ARCHIVE_BYTES;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::io::AsyncSeekExt;
use utoipa::{IntoParams, ToSchema};

use super::{ImportJob, import_view};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ServiceUnavailable, Unauthenticated};
use crate::extract::{ImportPath, Query};
use crate::routes::API_PREFIX;
use crate::state::AppState;
use filmlog_app::ops;
use filmlog_jobs::portability::export::CHUNK;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Stop at `needs_review` with what would change; `POST …/confirm` applies it.
    #[serde(default)]
    pub dry_run: bool,
}

/// The upload: a Letterboxd export ZIP (or a Filmlog export's), up to 50 MiB.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ImportUpload {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Import a Letterboxd export
///
/// A multipart upload with the ZIP as the field `file`: Letterboxd's own export (Settings → Import
/// & Export), the same CSVs zipped without the top folder, or a Filmlog export. Answers `202` with
/// `Location` of the job; it runs in the background and reports progress at least every second.
/// `diary.csv` rows become log entries (diary date, rating, rewatch, tags, the review of the same
/// viewing from `reviews.csv`); reviews without a diary row become entries without a date;
/// `ratings.csv` sets your current rating; `watched.csv` marks films watched; `watchlist.csv`,
/// `likes/films.csv` and `lists/*.csv` (positions and notes kept) follow; `profile.csv` fills profile
/// fields you left empty. `deleted/` and `orphaned/` are reported, not imported. Films are matched by
/// external id, then by title and year (±1; case, accents, punctuation and a leading article
/// ignored); a film the catalog lacks becomes an unverified film that only you see (it takes no
/// external id) until an admin verifies it or merges it into the catalog's.
/// Importing the same export again changes nothing; a newer one adds what is new and updates what
/// changed; what you made in Filmlog is never touched. Review HTML becomes plain text: paragraphs
/// separated by a blank line, `> ` before quoted lines, `_emphasis_`, `**bold**`, links as
/// `text (url)`.
#[utoipa::path(
    operation_id = "create_import",
    tag = "portability",
    params(ImportQuery),
    request_body(content = ImportUpload, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "Queued; `Location` is the job", body = ImportJob),
        (status = 400, response = crate::error::MalformedMultipartMissingFileInvalid),
        (status = 401, response = Unauthenticated),
        (status = 403, response = crate::error::EmailUnverifiedLargeImport),
        (status = 408, response = crate::error::UploadTimeout),
        (status = 409, response = crate::error::ImportInProgress),
        (status = 413, response = crate::error::ArchiveTooLarge),
        (status = 415, response = crate::error::NotMultipart),
        (status = 422, response = crate::error::ValidationFailedNotZip),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/me/imports")]
pub async fn create_import(
    state: web::Data<AppState>,
    auth: Caller,
    req: actix_web::HttpRequest,
    query: Query<ImportQuery>,
    form: Multipart,
) -> ApiResult<HttpResponse> {
    let me = auth.id();
    // Refused before a byte of the body is read: a second open import.
    let verified = {
        let mut conn = state.conn().await?;
        ops::portability::check_no_open_import(&mut conn, me).await?;
        ops::recovery::is_verified(&mut conn, me).await?
    };
    // Until the address is verified, only a small archive.
    let max = if verified {
        MAX_ARCHIVE_BYTES
    } else {
        UNVERIFIED_ARCHIVE_BYTES
    };
    let (mut file, total) = receive_zip(&state, &req, form, max).await.map_err(|e| {
        if !verified && e.code() == ErrorCode::ArchiveTooLarge.as_str() {
            ApiError::from(ops::OpError::from(ops::Denied::EmailUnverified))
        } else {
            e
        }
    })?;
    let mut conn = state.conn().await?;
    let dry_run = query.dry_run;
    let job =
        ops::portability::start_import(&mut conn, me, dry_run, total, &mut file, CHUNK).await?;
    state.portability.wake.notify_waiters();
    let id = job.id;
    let view = import_view(&mut conn, job).await?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("{API_PREFIX}/me/imports/{id}")))
        .json(view))
}

/// The uploaded archive, spooled to a temporary file (never held in memory) within the upload
/// timeout, checked to be a ZIP and rewound; a body announced larger than `max` (and its form) is
/// refused before a byte of it is read.
async fn receive_zip(
    state: &AppState,
    req: &actix_web::HttpRequest,
    form: Multipart,
    max: u64,
) -> ApiResult<(tokio::fs::File, u64)> {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > max + MAX_FORM_EXTRA) {
        return Err(archive_too_large());
    }
    let limit = state.limits.upload_timeout;
    let (mut file, total) = tokio::time::timeout(limit, spool(form, max))
        .await
        .map_err(|_| ApiError::request_timeout(limit))??;
    let mut head = [0u8; 4];
    let got = ops::portability::read_full(&mut file, &mut head).await?;
    if !filmlog_domain::portability::looks_like_zip(&head[..got]) {
        return Err(ApiError::invalid_field(
            "/file",
            "not_a_zip",
            "the upload is not a ZIP archive",
        ));
    }
    file.rewind()
        .await
        .map_err(|e| ApiError::internal(format!("temporary file: {e}")))?;
    Ok((file, total))
}

/// The largest archive a member whose address is not verified may import.
pub(crate) const UNVERIFIED_ARCHIVE_BYTES: u64 = 1024 * 1024;

/// What a form may carry besides the ZIP (other fields, part headers, boundaries).
pub(crate) const MAX_FORM_EXTRA: u64 = 64 * 1024;

pub(crate) fn archive_too_large() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::ArchiveTooLarge,
        "Archive too large",
        "an export ZIP may be at most 50 MiB",
    )
}

/// The form's field `file` written to a temporary file (at most `max` bytes; other fields at most
/// [`MAX_FORM_EXTRA`] together, read past); the file, rewound, and its length.
pub(crate) async fn spool(
    mut form: Multipart,
    max: u64,
) -> Result<(tokio::fs::File, u64), ApiError> {
    use tokio::io::AsyncWriteExt;
    let malformed = |e: actix_multipart::MultipartError| match e {
        actix_multipart::MultipartError::ContentTypeMissing
        | actix_multipart::MultipartError::ContentTypeParse
        | actix_multipart::MultipartError::ContentTypeIncompatible
        | actix_multipart::MultipartError::BoundaryMissing => ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::NotMultipart,
            "Unsupported media type",
            "send the ZIP as multipart/form-data, in the field `file`",
        ),
        other => ApiError::bad_request(ErrorCode::MalformedMultipart, other.to_string()),
    };
    let temporary = |e: std::io::Error| ApiError::internal(format!("temporary file: {e}"));
    let mut spooled: Option<(tokio::fs::File, u64)> = None;
    let mut extra: u64 = 0;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(malformed)?;
        if field.name() != Some("file") || spooled.is_some() {
            // Other fields are read past, within their allowance.
            while let Some(part) = field.next().await {
                extra += part.map_err(malformed)?.len() as u64;
                if extra > MAX_FORM_EXTRA {
                    return Err(ApiError::bad_request(
                        ErrorCode::MalformedMultipart,
                        "fields other than `file` may hold 64 KiB together",
                    ));
                }
            }
            continue;
        }
        let mut file = tokio::fs::File::from_std(tempfile::tempfile().map_err(temporary)?);
        let mut total: u64 = 0;
        while let Some(part) = field.next().await {
            let part = part.map_err(malformed)?;
            total += part.len() as u64;
            if total > max {
                return Err(archive_too_large());
            }
            file.write_all(&part).await.map_err(temporary)?;
        }
        file.flush().await.map_err(temporary)?;
        file.rewind().await.map_err(temporary)?;
        spooled = Some((file, total));
    }
    spooled.ok_or_else(|| {
        ApiError::bad_request(
            ErrorCode::MissingFile,
            "the ZIP goes in the multipart field `file`",
        )
    })
}

/// Apply a reviewed dry run
#[utoipa::path(
    operation_id = "confirm_import",
    tag = "portability",
    params(("import_id" = String, Path, example = "12")),
    responses(
        (status = 202, description = "Queued to apply", body = ImportJob),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NotFoundNotOneYours),
        (status = 409, response = crate::error::NotAwaitingReview),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/me/imports/{import_id}/confirm")]
pub async fn confirm_import(
    state: web::Data<AppState>,
    auth: Caller,
    ImportPath(id): ImportPath,
) -> ApiResult<HttpResponse> {
    let me = auth.id();
    let mut conn = state.conn().await?;
    let job = ops::portability::confirm_import(&mut conn, me, id).await?;
    state.portability.wake.notify_waiters();
    Ok(HttpResponse::Accepted().json(import_view(&mut conn, job).await?))
}

/// Cancel an import
///
/// A queued job or a dry run waiting for review is dropped; a running one stops after the batch in
/// hand (what it applied before stays, and importing again goes on from there).
#[utoipa::path(
    operation_id = "cancel_import",
    tag = "portability",
    params(("import_id" = String, Path, example = "12")),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NotFoundNotOneYours),
        (status = 409, response = crate::error::ImportFinished),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/me/imports/{import_id}")]
pub async fn cancel_import(
    state: web::Data<AppState>,
    auth: Caller,
    ImportPath(id): ImportPath,
) -> ApiResult<HttpResponse> {
    let me = auth.id();
    let mut conn = state.conn().await?;
    ops::portability::cancel_import(&mut conn, me, id).await?;
    Ok(HttpResponse::NoContent().finish())
}
