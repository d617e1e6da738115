//! Imports of a Letterboxd (or Filmlog) export and exports of everything a member owns: jobs the
//! member starts, watches and (for an import) reviews, confirms or cancels.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use filmlog_domain::portability::MAX_ARCHIVE_BYTES;
use filmlog_persistence::portability::{self as store, ExportJobRow, ImportJobRow, RowView};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::AsyncSeekExt;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::dto::rfc3339;
use crate::error::{
    ApiError, ApiResult, BadPageQuery, Problem, ServiceUnavailable, Unauthenticated,
};
use crate::extract::{ExportPath, ImportPath, Query};
use crate::pagination::{self, Page, Paging};
use crate::routes::API_PREFIX;
use crate::state::AppState;
use filmlog_app::ops;
use filmlog_jobs::portability::export::CHUNK;

/// Rows shown in a job's `unmatched` and `problems` (all of them: `GET …/rows`).
const SHOWN: i64 = 100;

/// Counts of what an import did (or, in a dry run, would do).
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ImportCounts {
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub skipped: i64,
}

/// One file's share.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportFile {
    #[schema(example = "letterboxd-ana-2026-11-30-10-00-utc/diary.csv")]
    pub file: String,
    pub rows: i64,
    #[serde(flatten)]
    pub counts: ImportCounts,
}

/// Where a running job is.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportProgress {
    /// `stage` (reading the archive), `plan` (matching films), `apply`.
    pub phase: Option<String>,
    pub file: Option<String>,
    pub rows_done: i64,
    pub rows_total: i64,
}

/// A row of the import and what became of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRowView {
    /// The row's place in the job (the `rows` cursor orders by it).
    pub seq: i32,
    pub file: String,
    /// The line in the file (for `filmlog.json`, the element's number).
    pub line: i32,
    /// `entry`, `review` (a review not yet joined), `joined_review`, `rating`, `watched`,
    /// `watchlist`, `like`, `list`, `list_entry`, `profile`; `repeat` for a row repeating an earlier
    /// one; `file`/`row` for a problem.
    pub kind: String,
    /// `create`, `update`, `unchanged`, `skip`; absent before it is applied.
    pub action: Option<String>,
    /// The film as the export names it.
    pub name: Option<String>,
    pub year: Option<i32>,
    /// The catalog film it is about.
    pub film: Option<String>,
    /// How the film was found: `tmdb_id`, `imdb_id`, `letterboxd_uri`, `slug`, `title_year`,
    /// `title_near_year`, or `created` (a new unverified film, yours until an admin verifies it).
    pub matched_by: Option<String>,
    /// Why it was skipped, or what else is worth knowing.
    pub note: Option<String>,
}

impl From<RowView> for ImportRowView {
    fn from(r: RowView) -> Self {
        let film = r.item.as_ref().and_then(|i| i.get("film"));
        ImportRowView {
            seq: r.seq,
            file: r.file,
            line: r.line,
            kind: r.kind,
            action: r.action,
            name: film
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            year: film
                .and_then(|f| f.get("year"))
                .and_then(Value::as_i64)
                .and_then(|y| i32::try_from(y).ok()),
            film: r.film,
            matched_by: r.matched_by,
            note: r.note,
        }
    }
}

/// An import job.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportJob {
    #[schema(example = "12")]
    pub id: String,
    /// `queued`, `running`, `needs_review` (a dry run, waiting for `confirm`), `done`, `failed`,
    /// `cancelled`.
    pub status: String,
    pub dry_run: bool,
    /// `letterboxd` or `filmlog`, once the archive is read.
    pub source: Option<String>,
    pub archive_bytes: i64,
    pub progress: ImportProgress,
    /// Totals over every file (for a dry run: what applying would do).
    pub counts: ImportCounts,
    pub files: Vec<ImportFile>,
    /// The first 100 rows whose film the catalog lacked (each made a new unverified film); on
    /// `GET /me/imports/{import_id}` (a list shows the counts only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unmatched: Option<Vec<ImportRowView>>,
    pub unmatched_count: i64,
    /// The first 100 rows skipped, with why; on `GET /me/imports/{import_id}`. (`problem_count` is
    /// `counts.skipped`.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<ImportRowView>>,
    pub problem_count: i64,
    /// Why the job failed.
    pub error: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<DateTime<Utc>>,
}

/// The jobs as the API shows them: their per-file counts read in one query; the first unmatched
/// and skipped rows read too when `detail` (one job).
async fn import_views(
    conn: &mut filmlog_persistence::AsyncPgConnection,
    jobs: Vec<ImportJobRow>,
    detail: bool,
) -> ApiResult<Vec<ImportJob>> {
    let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
    let mut files = store::counts(conn, &ids).await?;
    let mut views = Vec::with_capacity(jobs.len());
    for job in jobs {
        let mine: Vec<_> = files.extract_if(.., |f| f.job_id == job.id).collect();
        let mut counts = ImportCounts::default();
        let mut unmatched_count = 0;
        let files: Vec<ImportFile> = mine
            .into_iter()
            .map(|f| {
                counts.created += f.created;
                counts.updated += f.updated;
                counts.unchanged += f.unchanged;
                counts.skipped += f.skipped;
                unmatched_count += f.unmatched;
                ImportFile {
                    file: f.file,
                    rows: f.rows,
                    counts: ImportCounts {
                        created: f.created,
                        updated: f.updated,
                        unchanged: f.unchanged,
                        skipped: f.skipped,
                    },
                }
            })
            .collect();
        let (unmatched, problems) = if detail {
            let first = |rows: Vec<RowView>| rows.into_iter().map(Into::into).collect();
            (
                Some(first(
                    store::rows(conn, job.id, 0, SHOWN, Some("unmatched")).await?,
                )),
                Some(first(
                    store::rows(conn, job.id, 0, SHOWN, Some("problems")).await?,
                )),
            )
        } else {
            (None, None)
        };
        let p = &job.progress;
        let number = |k: &str| p.get(k).and_then(Value::as_i64).unwrap_or(0);
        let text = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_owned);
        views.push(ImportJob {
            id: job.id.to_string(),
            status: job.status,
            dry_run: job.dry_run,
            source: job.source,
            archive_bytes: job.archive_bytes,
            progress: ImportProgress {
                phase: text("phase"),
                file: text("file"),
                rows_done: number("rows_done"),
                rows_total: number("rows_total"),
            },
            problem_count: counts.skipped,
            counts,
            files,
            unmatched,
            unmatched_count,
            problems,
            error: job.error,
            created_at: job.created_at,
            updated_at: job.updated_at,
            finished_at: job.finished_at,
        });
    }
    Ok(views)
}

/// One job, with its first unmatched and skipped rows.
async fn import_view(
    conn: &mut filmlog_persistence::AsyncPgConnection,
    job: ImportJobRow,
) -> ApiResult<ImportJob> {
    import_views(conn, vec![job], true)
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("a job without its view"))
}

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

fn not_found() -> ApiError {
    ApiError::not_found("that import")
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
        (status = 400, description = "`malformed_multipart`, `missing_file`, `invalid_query_parameter`", body = Problem, content_type = "application/problem+json"),
        (status = 401, response = Unauthenticated),
        (status = 408, description = "`request_timeout`: the upload did not arrive within the upload timeout", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`import_in_progress`: finish, confirm or cancel your open import first (checked before the upload is read)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`archive_too_large`: more than 50 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`not_multipart`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `not_a_zip`", body = Problem, content_type = "application/problem+json"),
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
    // Refused before a byte of the body is read: a second open import, and a body announced
    // larger than any upload accepted.
    {
        let mut conn = state.conn().await?;
        ops::portability::check_no_open_import(&mut conn, me).await?;
    }
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_ARCHIVE_BYTES + MAX_FORM_EXTRA) {
        return Err(archive_too_large());
    }
    // The upload is spooled to a temporary file (never held in memory) within the upload timeout.
    let limit = state.limits.upload_timeout;
    let (mut file, total) = tokio::time::timeout(limit, spool(form))
        .await
        .map_err(|_| ApiError::request_timeout(limit))??;
    let mut head = [0u8; 4];
    let got = read_full(&mut file, &mut head).await?;
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

/// What a form may carry besides the ZIP (other fields, part headers, boundaries).
const MAX_FORM_EXTRA: u64 = 64 * 1024;

fn archive_too_large() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        "archive_too_large",
        "Archive too large",
        "an export ZIP may be at most 50 MiB",
    )
}

/// Reads until `buf` is full or the file ends; how much was read.
async fn read_full(file: &mut tokio::fs::File, buf: &mut [u8]) -> Result<usize, ApiError> {
    use tokio::io::AsyncReadExt;
    let mut got = 0;
    while got < buf.len() {
        let n = file
            .read(&mut buf[got..])
            .await
            .map_err(|e| ApiError::internal(format!("temporary file: {e}")))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

/// The form's field `file` written to a temporary file (at most 50 MiB; other fields at most
/// [`MAX_FORM_EXTRA`] together, read past); the file, rewound, and its length.
async fn spool(mut form: Multipart) -> Result<(tokio::fs::File, u64), ApiError> {
    use tokio::io::AsyncWriteExt;
    let malformed = |e: actix_multipart::MultipartError| match e {
        actix_multipart::MultipartError::ContentTypeMissing
        | actix_multipart::MultipartError::ContentTypeParse
        | actix_multipart::MultipartError::ContentTypeIncompatible
        | actix_multipart::MultipartError::BoundaryMissing => ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not_multipart",
            "Unsupported media type",
            "send the ZIP as multipart/form-data, in the field `file`",
        ),
        other => ApiError::bad_request("malformed_multipart", other.to_string()),
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
                        "malformed_multipart",
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
            if total > MAX_ARCHIVE_BYTES {
                return Err(archive_too_large());
            }
            file.write_all(&part).await.map_err(temporary)?;
        }
        file.flush().await.map_err(temporary)?;
        file.rewind().await.map_err(temporary)?;
        spooled = Some((file, total));
    }
    spooled.ok_or_else(|| {
        ApiError::bad_request("missing_file", "the ZIP goes in the multipart field `file`")
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportList {
    /// Your 20 newest imports, newest first (counts, without the first unmatched and skipped rows).
    pub items: Vec<ImportJob>,
}

/// Your imports
#[utoipa::path(
    operation_id = "list_imports",
    tag = "portability",
    responses(
        (status = 200, description = "Newest first", body = ImportList),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/imports")]
pub async fn list_imports(state: web::Data<AppState>, auth: Caller) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let jobs = store::imports_of(&mut conn, auth.id(), 20).await?;
    let items = import_views(&mut conn, jobs, false).await?;
    Ok(HttpResponse::Ok().json(ImportList { items }))
}

/// One of your imports
#[utoipa::path(
    operation_id = "get_import",
    tag = "portability",
    params(("import_id" = String, Path, example = "12")),
    responses(
        (status = 200, description = "The job", body = ImportJob),
        (status = 401, response = Unauthenticated),
        (status = 404, description = "`not_found`: not one of yours", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/imports/{import_id}")]
pub async fn get_import(
    state: web::Data<AppState>,
    auth: Caller,
    ImportPath(id): ImportPath,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let job = store::import_of(&mut conn, Some(auth.id()), id)
        .await?
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(import_view(&mut conn, job).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportRowsQuery {
    /// `problems` (skipped rows), `unmatched` (films the catalog lacked), `create`, `update`,
    /// `unchanged`; all rows when absent.
    pub only: Option<String>,
    /// 1–100, default 20.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Every row of an import and its decision
#[utoipa::path(
    operation_id = "list_import_rows",
    tag = "portability",
    params(("import_id" = String, Path, example = "12"), ImportRowsQuery),
    responses(
        (status = 200, description = "In the order they apply", body = Page<ImportRowView>),
        (status = 400, response = BadPageQuery),
        (status = 401, response = Unauthenticated),
        (status = 404, description = "`not_found`: not one of yours", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/imports/{import_id}/rows")]
pub async fn list_import_rows(
    state: web::Data<AppState>,
    auth: Caller,
    ImportPath(id): ImportPath,
    query: Query<ImportRowsQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let only = match q.only.as_deref() {
        None => None,
        Some(o @ ("problems" | "unmatched" | "create" | "update" | "unchanged")) => Some(o),
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_query_parameter",
                format!(
                    "only {other:?} is not one of problems, unmatched, create, update, unchanged"
                ),
            ));
        }
    };
    let paging = Paging::<i32>::parse(q.limit, q.cursor.as_deref())?;
    let mut conn = state.conn().await?;
    store::import_of(&mut conn, Some(auth.id()), id)
        .await?
        .ok_or_else(not_found)?;
    let rows = store::rows(
        &mut conn,
        id,
        paging.after.unwrap_or(0),
        paging.fetch(),
        only,
    )
    .await?;
    let page = pagination::page(rows, paging.limit, |r| r.seq, ImportRowView::from);
    Ok(HttpResponse::Ok().json(page))
}

/// Apply a reviewed dry run
#[utoipa::path(
    operation_id = "confirm_import",
    tag = "portability",
    params(("import_id" = String, Path, example = "12")),
    responses(
        (status = 202, description = "Queued to apply", body = ImportJob),
        (status = 401, response = Unauthenticated),
        (status = 404, description = "`not_found`: not one of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_awaiting_review`: only a dry run at `needs_review` can be confirmed", body = Problem, content_type = "application/problem+json"),
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
        (status = 404, description = "`not_found`: not one of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`import_finished`: it is done, failed or cancelled", body = Problem, content_type = "application/problem+json"),
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
fn kept(job: &ExportJobRow) -> bool {
    job.expires_at.is_none_or(|e| e > Utc::now())
}

fn export_view(state: &AppState, job: ExportJobRow) -> ExportJob {
    let settings = &state.portability;
    let link = (job.status == "done").then(|| {
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
        status: job.status,
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
        (status = 409, description = "`export_in_progress`", body = Problem, content_type = "application/problem+json"),
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
        (status = 404, description = "`not_found`: not one of yours, or expired", body = Problem, content_type = "application/problem+json"),
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
    let job = store::export_of(&mut conn, Some(auth.id()), id)
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
        (status = 400, description = "`invalid_query_parameter`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`invalid_link`: the signature does not match", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such export, or not finished", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "`link_expired`: ask `GET /me/exports/{export_id}` for a new link", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/me/exports/{export_id}/download")]
pub async fn download_export(
    state: web::Data<AppState>,
    ExportPath(id): ExportPath,
    query: Query<DownloadQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    if !state.portability.verify(id, q.expires, &q.signature) {
        return Err(ApiError::forbidden(
            "invalid_link",
            "the link's signature does not match",
        ));
    }
    if q.expires < Utc::now().timestamp() {
        return Err(ApiError::new(
            actix_web::http::StatusCode::GONE,
            "link_expired",
            "Link expired",
            "the download link expired: ask for the export again for a new one",
        ));
    }
    let (job, username) = {
        let mut conn = state.conn().await?;
        let job = store::export_of(&mut conn, None, id)
            .await?
            .filter(|j| j.status == "done" && kept(j))
            .ok_or_else(|| ApiError::not_found("that export"))?;
        let member = filmlog_domain::MemberId::new(job.member_id);
        let username = filmlog_persistence::members::find(&mut conn, member)
            .await?
            .map(|m| m.username.as_str().to_owned())
            .unwrap_or_else(|| "member".into());
        (job, username)
    };
    let date = job.finished_at.unwrap_or_else(Utc::now).format("%Y-%m-%d");
    // One chunk at a time from the database, each on a connection taken for that chunk alone: a
    // download never holds the whole ZIP, nor a connection while the client reads (a client that
    // stops reading is cut off by the server's stall timeout).
    let chunks = state.clone();
    let body = futures_util::stream::unfold(Some(0i32), move |next| {
        let state = chunks.clone();
        async move {
            let n = next?;
            let chunk = async {
                let mut conn = state.conn().await?;
                Ok::<_, ApiError>(store::export_chunk_at(&mut conn, id, n).await?)
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
    });
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
