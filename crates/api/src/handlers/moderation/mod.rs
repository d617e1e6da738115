//! Reports by members, and the moderation queue, actions and log for admins.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use filmlog_domain::ModerationEventId;
use filmlog_domain::moderation::ModerationAction;
use filmlog_persistence::moderation::{self as store, LogRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AuthMember;
use crate::dto::rfc3339;
use crate::error::{
    AdminOnly, ApiError, ApiResult, BadPageQuery, FieldError, MalformedJson, NotJson,
    ServiceUnavailable, Unauthenticated,
};
use crate::extract::JsonBody;
use crate::pagination::{self, Page, PageQuery, Paging};
use crate::state::AppState;
use filmlog_app::ops;

mod reports;

pub use reports::*;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModerationRequest {
    /// `dismiss` (closes the subject's open reports), `mark_spoilers` (a review), `remove` (a review,
    /// comment or list comment: it becomes a tombstone "removed by a moderator" everywhere; a list:
    /// it becomes private to its owner for good, and leaves every feed), `suspend` (a member,
    /// `until` a time or `forever`: their sessions end at once, login is refused and their content is
    /// hidden while it lasts) or `lift_suspension` (a member). Suspensions need no report; the other
    /// actions act on open reports.
    #[schema(example = "mark_spoilers")]
    pub action: String,
    /// `review`, `comment`, `member`, `list` or `list_comment`.
    #[schema(example = "review")]
    pub subject_type: String,
    #[schema(example = "17")]
    pub subject_id: String,
    /// Why, for the moderation log (1–2,000 characters).
    #[schema(example = "reveals the ending in the first line")]
    pub reason: String,
    /// For `suspend` only, and required there: an RFC 3339 time in the future, or `forever`.
    #[schema(example = "2026-12-31T00:00:00Z")]
    pub until: Option<String>,
}

/// A line of the moderation log.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModerationEntry {
    #[schema(example = "3")]
    pub id: String,
    /// The admin who acted.
    pub moderator: String,
    #[schema(example = "mark_spoilers")]
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub reason: String,
    /// How many open reports the action resolved.
    pub reports_resolved: i64,
    /// For a suspension: until when (`null` with `for_good`).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub suspended_until: Option<String>,
    /// For a suspension: whether it is for good.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub for_good: bool,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: DateTime<Utc>,
}

impl From<LogRow> for ModerationEntry {
    fn from(r: LogRow) -> Self {
        ModerationEntry {
            id: r.id.to_string(),
            moderator: r.moderator_username,
            action: r.action.as_str().to_owned(),
            subject_type: r.subject.kind().as_str().to_owned(),
            subject_id: r.subject.raw_id().to_string(),
            reason: r.reason,
            reports_resolved: r.reports_resolved,
            suspended_until: r
                .suspended_until
                .filter(|u| !filmlog_domain::moderation::is_forever(*u))
                .map(|u| u.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            for_good: r
                .suspended_until
                .is_some_and(filmlog_domain::moderation::is_forever),
            at: r.created_at,
        }
    }
}

/// Act on a reported subject
///
/// Resolves the subject's open reports and writes the action to the append-only moderation log.
/// Admins cannot act on a subject they reported themselves.
#[utoipa::path(
    operation_id = "moderate",
    tag = "moderation",
    request_body = ModerationRequest,
    responses(
        (status = 200, description = "Done; the log line", body = ModerationEntry),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 403, response = AdminOnly),
        (status = 404, response = crate::error::NoSuchSubjectNotFound),
        (status = 409, response = crate::error::NoOpenReportsOwnReport),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedInvalidActionInvalid),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/admin/moderation-actions")]
pub async fn moderate(
    state: web::Data<AppState>,
    auth: AuthMember,
    body: JsonBody<ModerationRequest>,
) -> ApiResult<HttpResponse> {
    auth.require_admin("only admins moderate")?;
    let req = body.0;
    let mut errors = Vec::new();
    let action = ModerationAction::parse(&req.action);
    if action.is_none() {
        errors.push(FieldError::new(
            "/action",
            "invalid_action",
            "dismiss, mark_spoilers, remove, suspend or lift_suspension",
        ));
    }
    let subject = subject_fields(&mut errors, &req.subject_type, &req.subject_id);
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        errors.push(FieldError::new(
            "/reason",
            "invalid_reason",
            "why, for the log: 1 to 2,000 characters",
        ));
    }
    // `until`: a future time or `forever` for a suspension (None: for good), nothing otherwise.
    let until = match (action, req.until.as_deref()) {
        (Some(ModerationAction::Suspend), Some("forever")) => Ok(None),
        (Some(ModerationAction::Suspend), Some(at)) => at
            .parse::<DateTime<Utc>>()
            .ok()
            .filter(|t| *t > Utc::now() && !filmlog_domain::moderation::is_forever(*t))
            .map(Some)
            .ok_or("an RFC 3339 time in the future (before year 10000), or forever"),
        (Some(ModerationAction::Suspend), None) => Err("required for suspend: a time, or forever"),
        (_, Some(_)) => Err("only suspend takes until"),
        (_, None) => Ok(None),
    };
    let until = until.unwrap_or_else(|message| {
        errors.push(FieldError::new("/until", "invalid_until", message));
        None
    });
    let (Some(action), Some(subject), true) = (action, subject, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let moderator = (auth.id(), auth.member.username.as_str());
    let mut conn = state.conn().await?;
    let row = ops::moderation::act(&mut conn, moderator, action, subject, reason, until).await?;
    Ok(HttpResponse::Ok().json(ModerationEntry::from(row)))
}

/// The moderation log
///
/// Every moderation action, newest first: who, what, to which subject, when and why. Append-only.
#[utoipa::path(
    operation_id = "moderation_log",
    tag = "moderation",
    params(PageQuery),
    responses(
        (status = 200, description = "Newest first", body = Page<ModerationEntry>),
        (status = 400, response = BadPageQuery),
        (status = 401, response = Unauthenticated),
        (status = 403, response = AdminOnly),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/admin/moderation-log")]
pub async fn moderation_log(
    state: web::Data<AppState>,
    auth: AuthMember,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    auth.require_admin("only admins moderate")?;
    let mut conn = state.conn().await?;
    let after = paging
        .after
        .map(|(at, id)| (at, ModerationEventId::new(id)));
    let rows = store::log_page(&mut conn, after, paging.fetch()).await?;
    let page = pagination::page(
        rows,
        paging.limit,
        |r| (r.created_at, r.id.get()),
        ModerationEntry::from,
    );
    Ok(HttpResponse::Ok().json(page))
}
