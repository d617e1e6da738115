//! Reports by members and the moderators' queue of them.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use filmlog_app::ErrorCode;
use filmlog_domain::moderation::{self, ModerationSubject, ReportReason, SubjectType};
use filmlog_persistence::moderation::{self as store, QueueRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{AuthMember, Caller};
use crate::dto::rfc3339;
use crate::error::{
    AdminOnly, ApiError, ApiResult, BadPageQuery, FieldError, MalformedJson, NotJson,
    ServiceUnavailable, Unauthenticated,
};
use crate::extract::{JsonBody, Query};
use crate::pagination::{self, Page, Paging};
use crate::state::AppState;
use filmlog_app::ops;
use filmlog_app::visibility;

pub(crate) const MAX_MESSAGE: usize = 2000;
pub(crate) const MAX_REASON: usize = 2000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// `review`, `comment`, `member`, `list` or `list_comment`.
    #[schema(example = "review")]
    pub subject_type: String,
    /// The review's (log entry's), comment's, member's, list's or list comment's id.
    #[schema(example = "17")]
    pub subject_id: String,
    /// `spam`, `abuse`, `harassment`, `spoilers`, `plagiarism` or `other`.
    #[schema(example = "spoilers")]
    pub reason: String,
    /// Up to 2,000 characters for the moderators.
    pub message: Option<String>,
}

/// A report as received.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportReceipt {
    #[schema(example = "review")]
    pub subject_type: String,
    #[schema(example = "17")]
    pub subject_id: String,
    /// Always `open`: the moderators have it.
    #[schema(example = "open")]
    pub status: &'static str,
}

pub(crate) fn subject_fields(
    errors: &mut Vec<FieldError>,
    subject_type: &str,
    subject_id: &str,
) -> Option<ModerationSubject> {
    let kind = SubjectType::parse(subject_type);
    if kind.is_none() {
        errors.push(FieldError::new(
            "/subject_type",
            "invalid_subject_type",
            "review, comment, member, list or list_comment",
        ));
    }
    let id = subject_id.parse::<i64>().ok().filter(|id| *id > 0);
    if id.is_none() {
        errors.push(FieldError::new(
            "/subject_id",
            "invalid_subject_id",
            "a positive integer id, as a string",
        ));
    }
    kind.zip(id)
        .map(|(kind, id)| ModerationSubject::new(kind, id))
}

/// Report a review, comment, member, list or list comment
///
/// One open report per reporter and subject: repeating it changes nothing and answers 202 again.
/// You can report what you can see, but not your own content or yourself.
#[utoipa::path(
    operation_id = "create_report",
    tag = "safety",
    request_body = ReportRequest,
    responses(
        (status = 202, description = "Received (also when you had already reported it)", body = ReportReceipt),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NoSuchSubjectYouCan),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedInvalidSubjectType),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/reports")]
pub async fn create_report(
    state: web::Data<AppState>,
    auth: Caller,
    body: JsonBody<ReportRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    let (subject, reason, message) = report_of(&req)?;
    let me = auth.id();
    let mut conn = state.conn().await?;
    let viewer = filmlog_domain::Viewer::Member(me);
    let owner = visibility::reportable(&mut conn, viewer, subject).await?;
    ops::moderation::report(&mut conn, me, owner, subject, reason, message).await?;
    Ok(HttpResponse::Accepted().json(ReportReceipt {
        subject_type: subject.kind().as_str().to_owned(),
        subject_id: subject.raw_id().to_string(),
        status: "open",
    }))
}

/// What a report names, why, and the reporter's message, every field checked (all the broken ones
/// reported together).
fn report_of(req: &ReportRequest) -> ApiResult<(ModerationSubject, ReportReason, Option<&str>)> {
    let mut errors = Vec::new();
    let subject = subject_fields(&mut errors, &req.subject_type, &req.subject_id);
    let reason = ReportReason::parse(&req.reason);
    if reason.is_none() {
        errors.push(FieldError::new(
            "/reason",
            "invalid_reason",
            "spam, abuse, harassment, spoilers, plagiarism or other",
        ));
    }
    let message = req
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    if message.is_some_and(|m| {
        m.chars().count() > MAX_MESSAGE || m.chars().any(|c| c.is_control() && c != '\n')
    }) {
        errors.push(FieldError::new(
            "/message",
            "invalid_message",
            "up to 2,000 characters, no control characters but line breaks",
        ));
    }
    match (subject, reason, errors.is_empty()) {
        (Some(subject), Some(reason), true) => Ok((subject, reason, message)),
        _ => Err(ApiError::validation(errors)),
    }
}

/// A reported subject in the moderation queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportedSubject {
    #[schema(example = "review")]
    pub subject_type: String,
    #[schema(example = "17")]
    pub subject_id: String,
    /// Its owner: the member, or the author of the review, comment or list (absent once it is gone).
    pub owner: Option<String>,
    /// The first 280 characters of the review or comment, or of the list's name and description.
    pub excerpt: Option<String>,
    /// How many members reported it.
    pub reporters: i64,
    pub reasons: Vec<String>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub first_reported_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_reported_at: DateTime<Utc>,
}

impl From<QueueRow> for ReportedSubject {
    fn from(r: QueueRow) -> Self {
        ReportedSubject {
            subject_type: r.subject.kind().as_str().to_owned(),
            subject_id: r.subject.raw_id().to_string(),
            owner: r.owner_username,
            excerpt: r.excerpt,
            reporters: r.reporters,
            reasons: r.reasons.iter().map(|r| r.as_str().to_owned()).collect(),
            first_reported_at: r.first_reported_at,
            last_reported_at: r.last_reported_at,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    #[default]
    Open,
    Resolved,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// `open` (default) or `resolved`.
    pub status: Option<ReportStatus>,
    /// 1–100, default 20.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The moderation queue
///
/// Reported subjects, the longest waiting first, each with how many members reported it and why.
#[utoipa::path(
    operation_id = "list_reports",
    tag = "moderation",
    params(QueueQuery),
    responses(
        (status = 200, description = "Oldest first report first", body = Page<ReportedSubject>),
        (status = 400, response = BadPageQuery),
        (status = 401, response = Unauthenticated),
        (status = 403, response = AdminOnly),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/admin/reports")]
pub async fn list_reports(
    state: web::Data<AppState>,
    auth: AuthMember,
    query: Query<QueueQuery>,
) -> ApiResult<HttpResponse> {
    auth.require_admin("only admins moderate")?;
    let Paging { limit, after } =
        Paging::<(DateTime<Utc>, String, i64)>::parse(query.limit, query.cursor.as_deref())?;
    let status = match query.status.unwrap_or_default() {
        ReportStatus::Open => moderation::ReportStatus::Open,
        ReportStatus::Resolved => moderation::ReportStatus::Resolved,
    };
    // The cursor names the last subject by its stored kind; one naming no kind was not issued here.
    let after = match after {
        Some((at, kind, id)) => {
            let kind = SubjectType::parse(&kind).ok_or_else(|| {
                ApiError::bad_request(
                    ErrorCode::InvalidCursor,
                    "the cursor is not one this list issued",
                )
            })?;
            Some((at, ModerationSubject::new(kind, id)))
        }
        None => None,
    };
    let mut conn = state.conn().await?;
    let rows = store::queue(&mut conn, status, after, limit + 1).await?;
    let page = pagination::page(
        rows,
        limit,
        |r| {
            let kind = r.subject.kind().as_str().to_owned();
            (r.first_reported_at, kind, r.subject.raw_id())
        },
        ReportedSubject::from,
    );
    Ok(HttpResponse::Ok().json(page))
}
