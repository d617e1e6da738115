//! Logging a film, editing and deleting log entries.

use actix_web::{HttpRequest, HttpResponse, delete, patch, post, web};
use chrono::NaiveDate;
use filmlog_domain::rules::check_date_or_review;
use filmlog_domain::{
    Audience, LogEntryId, MemberId, Rating, ReviewText, Slug, WatchedOn, latest_today,
};
use filmlog_persistence::AsyncPgConnection;
use filmlog_persistence::log_entries::{LogEntryView, NewLogEntry};
use filmlog_persistence::members::MemberSummaryRow;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{LogEntry, view};
use crate::auth::{AuthMember, Caller};
use crate::dto::Visibility;
use crate::error::{
    ApiError, ApiResult, FieldError, MalformedJson, MalformedJsonOrKey, NotJson,
    ServiceUnavailable, Unauthenticated,
};
use crate::extract::parse_tags;
use crate::extract::{EntryPath, JsonBody, double_option};
use crate::handlers::relationship::parse_rating;
use crate::middleware::conditional::{check_if_match, if_match, json_with_etag};
use crate::middleware::idempotency::{IdempotencyKey, created, into_response};
use crate::state::AppState;
use filmlog_app::ops::{self, FieldIssue, OpError, Step, step};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// Up to 100,000 characters.
    pub text: String,
    #[serde(default)]
    pub contains_spoilers: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLogEntryRequest {
    /// The film's slug.
    #[schema(example = "children-of-heaven-1997")]
    pub film: String,
    /// Not in the future.
    #[schema(example = "2026-11-20")]
    pub watched_on: Option<NaiveDate>,
    #[serde(default)]
    pub rewatch: bool,
    /// Half stars, 0.5–5.0.
    #[schema(example = 4.5)]
    pub rating: Option<f64>,
    #[serde(default)]
    pub liked: bool,
    pub review: Option<ReviewInput>,
    /// Up to 20 tags of letters, digits, spaces and hyphens.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Who may read it; your `default_visibility` when absent.
    pub visibility: Option<Visibility>,
}

pub(crate) fn parse_watched_on(
    date: Option<NaiveDate>,
    errors: &mut Vec<FieldError>,
) -> Option<WatchedOn> {
    date.and_then(|d| {
        WatchedOn::parse(d, latest_today())
            .map_err(|e| errors.push(FieldError::new("/watched_on", "invalid_watched_on", e)))
            .ok()
    })
}

pub(crate) fn parse_review(
    review: Option<&ReviewInput>,
    errors: &mut Vec<FieldError>,
) -> Option<ReviewText> {
    review.and_then(|r| {
        ReviewText::parse(&r.text)
            .map_err(|e| errors.push(FieldError::new("/review/text", "invalid_review", e)))
            .ok()
            .flatten()
    })
}

pub(crate) fn parse_rating_field(
    rating: Option<f64>,
    errors: &mut Vec<FieldError>,
) -> Option<Rating> {
    rating.and_then(|r| {
        parse_rating(r, "/rating")
            .map_err(|e| errors.extend(e.problem().errors))
            .ok()
    })
}

pub(crate) fn unknown_film_issue() -> OpError {
    OpError::Invalid(vec![FieldIssue::new(
        "/film",
        "unknown_film",
        "no film has that slug",
    )])
}

/// Log a film
///
/// Records a viewing (`watched_on`) and/or a review. The film becomes watched and leaves your
/// watchlist; a rating becomes your current rating (the newest rating action); `liked` likes the film.
/// One activity is recorded: the entry's (a like given with it is shown by the entry).
#[utoipa::path(
    operation_id = "create_log_entry",
    tag = "log entries",
    request_body = CreateLogEntryRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body replay the original response (with `Idempotent-Replayed: true`); the same key with another body is 422 `idempotency_key_reused`")),
    responses(
        (status = 201, description = "Logged; `Location` names the entry", body = LogEntry),
        (status = 400, response = MalformedJsonOrKey),
        (status = 401, response = Unauthenticated),
        (status = 413, response = crate::error::PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedUnknownFilmInvalid),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/log-entries")]
pub async fn create_log_entry(
    state: web::Data<AppState>,
    auth: AuthMember,
    key: IdempotencyKey,
    body: JsonBody<CreateLogEntryRequest>,
) -> ApiResult<HttpResponse> {
    let idempotency = key.for_body(body.digest());
    let req = body.0;
    let liked = req.liked;
    let (slug, new) = new_entry(req)?;
    let member = auth.id();
    let author = MemberSummaryRow {
        id: member,
        username: auth.member.username.clone(),
        display_name: auth.member.display_name.clone(),
    };
    // The response is built from what was written; no read-back query.
    let render = move |logged: Option<filmlog_persistence::log_entries::LoggedEntry>| {
        let logged = logged.ok_or_else(unknown_film_issue)?;
        let id = logged.entry.id;
        let film = logged.film();
        let entry = LogEntry::from(LogEntryView {
            entry: logged.entry,
            liked: logged.liked,
            member: author,
            film,
        });
        created(format!("/api/v1/log-entries/{id}"), &entry)
    };
    let mut conn = state.conn().await?;
    let outcome = ops::films::log_once(
        &mut conn,
        &idempotency,
        member,
        slug.as_str(),
        &new,
        liked,
        render,
    )
    .await?;
    Ok(into_response(outcome))
}

/// The film and the entry a request describes, every field checked (all the broken ones reported
/// together), then the rule that an entry needs a date or a review.
fn new_entry(req: CreateLogEntryRequest) -> ApiResult<(Slug, NewLogEntry)> {
    let mut errors = Vec::new();
    let slug = Slug::parse(&req.film)
        .map_err(|_| {
            errors.push(FieldError::new(
                "/film",
                "unknown_film",
                "no film has that slug",
            ))
        })
        .ok();
    let watched_on = parse_watched_on(req.watched_on, &mut errors);
    let rating = parse_rating_field(req.rating, &mut errors);
    let review = parse_review(req.review.as_ref(), &mut errors);
    let tags = parse_tags(&req.tags, &mut errors);
    // (A slug that is no slug is one of the errors.)
    let Some(slug) = slug.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    check_date_or_review(watched_on.is_some(), review.is_some())?;
    let has_review = review.is_some();
    let new = NewLogEntry {
        watched_on: watched_on.map(WatchedOn::date),
        rewatch: req.rewatch,
        rating,
        review_text: review.map(ReviewText::into_inner),
        contains_spoilers: req.review.as_ref().is_some_and(|r| r.contains_spoilers) && has_review,
        tags,
        visibility: req.visibility.map(Audience::from),
    };
    Ok((slug, new))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLogEntryRequest {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub watched_on: Option<Option<NaiveDate>>,
    pub rewatch: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>)]
    pub rating: Option<Option<f64>>,
    pub liked: Option<bool>,
    /// `null` removes the review.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<ReviewInput>)]
    pub review: Option<Option<ReviewInput>>,
    pub tags: Option<Vec<String>>,
    pub visibility: Option<Visibility>,
}

/// Change a log entry (its owner)
///
/// Send `If-Match` with the entry's ETag to refuse the change when it changed meanwhile.
#[utoipa::path(
    operation_id = "update_log_entry",
    tag = "log entries",
    params(("id" = String, Path, example = "17"), ("If-Match" = Option<String>, Header, description = "ETag; 412 when stale")),
    request_body = UpdateLogEntryRequest,
    responses(
        (status = 200, description = "The updated entry", body = LogEntry),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NoSuchEntryYoursNot),
        (status = 412, response = crate::error::PreconditionFailed),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedLogEntryNeeds),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[patch("/log-entries/{id}")]
pub async fn update_log_entry(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Caller,
    EntryPath(id): EntryPath,
    body: JsonBody<UpdateLogEntryRequest>,
) -> ApiResult<HttpResponse> {
    let patch = body.0;
    let mut errors = Vec::new();
    let watched_on = patch.watched_on.map(|d| parse_watched_on(d, &mut errors));
    let rating = patch.rating.map(|r| parse_rating_field(r, &mut errors));
    // A review with its spoiler mark; a blank one clears it.
    let review = patch.review.as_ref().map(|r| {
        r.as_ref().and_then(|input| {
            parse_review(Some(input), &mut errors).map(|text| (text, input.contains_spoilers))
        })
    });
    let tags = patch.tags.as_ref().map(|t| parse_tags(t, &mut errors));
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let member = auth.id();
    let precondition = entry_precondition(id, member, if_match(&req));
    let patch = ops::films::EntryPatch {
        watched_on: watched_on.map(|d| d.map(WatchedOn::date)),
        rewatch: patch.rewatch,
        rating,
        review,
        tags,
        visibility: patch.visibility.map(Audience::from),
        liked: patch.liked,
    };
    let mut conn = state.conn().await?;
    ops::films::edit_own_entry(&mut conn, member, id, precondition, patch).await?;
    let entry = view(&mut conn, id, member).await?;
    json_with_etag(&entry)
}

/// The check of an `If-Match` against the member's entry, with it locked. The representation is
/// loaded only when there is an ETag to compare it with.
pub(crate) fn entry_precondition(
    id: LogEntryId,
    member: MemberId,
    if_match: Option<String>,
) -> impl for<'c> FnOnce(&'c mut AsyncPgConnection) -> Step<'c, ()> + Send {
    step(move |conn| {
        Box::pin(async move {
            if if_match.is_none() {
                return Ok(());
            }
            let current = view(conn, id, member).await?;
            check_if_match(if_match.as_deref(), &current)
        })
    })
}

/// Delete a log entry (its owner)
///
/// Its likes, comments and activity go with it; the film stays watched.
#[utoipa::path(
    operation_id = "delete_log_entry",
    tag = "log entries",
    params(("id" = String, Path, example = "17"), ("If-Match" = Option<String>, Header, description = "ETag; 412 when stale")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NoSuchEntryYoursNot),
        (status = 412, response = crate::error::PreconditionFailed),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/log-entries/{id}")]
pub async fn delete_log_entry(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Caller,
    EntryPath(id): EntryPath,
) -> ApiResult<HttpResponse> {
    let member = auth.id();
    let precondition = if_match(&req);
    let mut conn = state.conn().await?;
    let precondition = entry_precondition(id, member, precondition);
    ops::films::delete_own_entry(&mut conn, member, id, precondition).await?;
    Ok(HttpResponse::NoContent().finish())
}
