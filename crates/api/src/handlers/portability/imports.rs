//! Import jobs: their progress and their rows.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use filmlog_app::ErrorCode;
use filmlog_domain::ImportJobId;
use filmlog_persistence::portability::{self as store, ImportJobRow, RowView};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::SHOWN;
use crate::auth::Caller;
use crate::dto::rfc3339;
use crate::error::{ApiError, ApiResult, BadPageQuery, ServiceUnavailable, Unauthenticated};
use crate::extract::{ImportPath, Query};
use crate::pagination::{self, Page, Paging};
use crate::state::AppState;

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
            action: r.action.map(|a| a.as_str().to_owned()),
            name: film
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            year: film
                .and_then(|f| f.get("year"))
                .and_then(Value::as_i64)
                .and_then(|y| i32::try_from(y).ok()),
            film: r.film,
            matched_by: r.matched_by.map(|m| m.as_str().to_owned()),
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
    /// Rows about a film that found it in the catalog (by id, address or title and year).
    pub matched_count: i64,
    /// `matched_count` over the rows about a film (0–1, three decimals); `null` before the films
    /// are matched or when no row names one.
    #[schema(example = 0.974)]
    pub match_rate: Option<f64>,
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
pub(crate) async fn import_views(
    conn: &mut filmlog_persistence::AsyncPgConnection,
    jobs: Vec<ImportJobRow>,
    detail: bool,
) -> ApiResult<Vec<ImportJob>> {
    let ids: Vec<ImportJobId> = jobs.iter().map(|j| j.id).collect();
    let mut files = store::counts(conn, &ids).await?;
    let mut views = Vec::with_capacity(jobs.len());
    for job in jobs {
        let mine: Vec<_> = files.extract_if(.., |f| f.job_id == job.id).collect();
        let mut counts = ImportCounts::default();
        let mut unmatched_count = 0;
        let mut matched_count = 0;
        let files: Vec<ImportFile> = mine
            .into_iter()
            .map(|f| {
                counts.created += f.created;
                counts.updated += f.updated;
                counts.unchanged += f.unchanged;
                counts.skipped += f.skipped;
                unmatched_count += f.unmatched;
                matched_count += f.matched;
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
            status: job.status.as_str().to_owned(),
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
            matched_count,
            match_rate: (matched_count + unmatched_count > 0).then(|| {
                (matched_count as f64 / (matched_count + unmatched_count) as f64 * 1000.0).round()
                    / 1000.0
            }),
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
pub(crate) async fn import_view(
    conn: &mut filmlog_persistence::AsyncPgConnection,
    job: ImportJobRow,
) -> ApiResult<ImportJob> {
    import_views(conn, vec![job], true)
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("a job without its view"))
}

pub(crate) fn not_found() -> ApiError {
    ApiError::not_found("that import")
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
        (status = 404, response = crate::error::NotFoundNotOneYours),
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
    let job = filmlog_persistence::jobs::of::<store::ImportJobRow>(&mut conn, Some(auth.id()), id)
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
        (status = 404, response = crate::error::NotFoundNotOneYours),
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
                ErrorCode::InvalidQueryParameter,
                format!(
                    "only {other:?} is not one of problems, unmatched, create, update, unchanged"
                ),
            ));
        }
    };
    let paging = Paging::<i32>::parse(q.limit, q.cursor.as_deref())?;
    let mut conn = state.conn().await?;
    filmlog_persistence::jobs::of::<store::ImportJobRow>(&mut conn, Some(auth.id()), id)
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
