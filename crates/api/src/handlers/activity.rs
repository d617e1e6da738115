//! Activity: your feed and a member's activity.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, NaiveDate, Utc};
use filmlog_domain::rules::EntryState;
use filmlog_domain::visibility::Viewer;
use filmlog_domain::{ActivityKind, Rating, ReviewText};
use filmlog_persistence::activity::{self, ActivityView};
use filmlog_persistence::timelines::{self, TimelineState};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::PipelinedCaller;
use crate::auth::Viewing;
use crate::dto::{FilmSummary, MemberSummary, ViewerEntry, rfc3339};
use crate::error::{ApiResult, BadPageQuery, MemberNotFound, ServiceUnavailable, Unauthenticated};
use crate::extract::MemberName;
use crate::pagination::{self, Page, PageQuery, Paging};
use crate::state::AppState;
use filmlog_app::ops::social;
use filmlog_app::visibility;

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityLogEntry {
    #[schema(example = "17")]
    pub id: String,
    pub watched_on: Option<NaiveDate>,
    pub rewatch: bool,
    /// The first 280 characters of the review, when there is one.
    pub review_excerpt: Option<String>,
    /// Clients should hide the excerpt behind a warning when true.
    pub contains_spoilers: bool,
    /// Your own state with the entry: present when the request carries a token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub viewer: Option<ViewerEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityComment {
    #[schema(example = "5")]
    pub id: String,
    pub excerpt: String,
}

/// The list an activity is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityList {
    #[schema(example = "7")]
    pub id: String,
    #[schema(example = "Top 10 Iranian films")]
    pub name: String,
    /// `list_created`: the films it was made with; `list_films_added`: the films added (edits of one
    /// list within 30 minutes count into one activity); absent for `list_like`.
    #[schema(example = 5)]
    pub films: Option<i32>,
}

/// The OpenAPI schema of the domain's `ActivityKind`, whose names it lists.
pub struct ActivityKindSchema;

impl utoipa::PartialSchema for ActivityKindSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(ActivityKind::ALL.iter().map(|k| k.as_str())))
            .description(Some(
                "The kind of an activity, by the name the database stores",
            ))
            .into()
    }
}

impl utoipa::ToSchema for ActivityKindSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "ActivityKind".into()
    }
}

/// Something a member did, with all a client needs to render it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityItem {
    #[schema(example = "301")]
    pub id: String,
    #[schema(value_type = ActivityKindSchema)]
    pub kind: ActivityKind,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    pub actor: MemberSummary,
    pub film: Option<FilmSummary>,
    /// Stars: the rating given, or the rating of the log entry.
    pub rating: Option<f64>,
    pub log_entry: Option<ActivityLogEntry>,
    /// For follows: who was followed; for review likes and comments: whose review.
    pub member: Option<String>,
    pub comment: Option<ActivityComment>,
    /// For `list_created`, `list_films_added` and `list_like`: the list.
    pub list: Option<ActivityList>,
}

const EXCERPT: usize = 280;

fn activity_item(a: ActivityView, viewer: Viewer) -> ActivityItem {
    let film = match (a.film_slug, a.film_title) {
        (Some(slug), Some(title)) => Some(
            FilmSummary {
                slug,
                title,
                year: a.film_year,
                poster_url: a.film_poster_url,
                viewer: None,
            }
            .seen_by(viewer, a.viewer_film),
        ),
        _ => None,
    };
    let entry_state = match (viewer.member(), a.entry_author_id) {
        (Some(me), Some(author)) => Some(ViewerEntry::from(EntryState::of(
            me,
            author,
            a.entry_has_review.unwrap_or(false),
            a.entry_removed.unwrap_or(false),
            a.viewer_liked_entry,
        ))),
        _ => None,
    };
    ActivityItem {
        id: a.id.to_string(),
        kind: a.kind,
        created_at: a.created_at,
        actor: MemberSummary {
            username: a.actor_username,
            display_name: a.actor_display_name,
        },
        film,
        rating: a.rating.map(Rating::stars),
        log_entry: a.log_entry_id.map(|id| ActivityLogEntry {
            id: id.to_string(),
            watched_on: a.watched_on,
            rewatch: a.rewatch.unwrap_or(false),
            review_excerpt: a.review_head.map(|t| ReviewText::excerpt(&t, EXCERPT)),
            contains_spoilers: a.contains_spoilers.unwrap_or(false),
            viewer: entry_state,
        }),
        member: a.subject_username,
        comment: match (a.comment_id, a.comment_head) {
            (Some(id), Some(body)) => Some(ActivityComment {
                id: id.to_string(),
                excerpt: ReviewText::excerpt(&body, EXCERPT),
            }),
            _ => None,
        },
        list: match (a.list_id, a.list_name) {
            (Some(id), Some(name)) => Some(ActivityList {
                id: id.to_string(),
                name,
                films: a.list_film_count,
            }),
            _ => None,
        },
    }
}

fn activity_page(rows: Vec<ActivityView>, limit: i64, viewer: Viewer) -> Page<ActivityItem> {
    pagination::page(
        rows,
        limit,
        |a| (a.created_at, a.id),
        |a| activity_item(a, viewer),
    )
}

/// Your feed
///
/// What the members you follow did, newest first: diary entries, reviews, ratings, likes, comments,
/// follows, watchlist additions, and lists (made, films added, liked). Each item carries what a client needs to render it.
#[utoipa::path(
    operation_id = "my_feed",
    tag = "me",
    params(PageQuery),
    responses(
        (status = 200, description = "Newest first", body = Page<ActivityItem>),
        (status = 400, response = BadPageQuery),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/feed")]
pub async fn feed(
    state: web::Data<AppState>,
    caller: PipelinedCaller,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    let Paging { limit, after } = paging;
    let conn = state.read_conn().await?;
    let (me, rows, timeline) = caller
        .read(&conn, |me| {
            let conn = &conn;
            async move {
                // The timeline's state travels with the page, in the same round trip.
                let (rows, timeline) = futures_util::future::try_join(
                    activity::feed(conn, me, after, limit + 1),
                    timelines::state(conn, me),
                )
                .await?;
                Ok((me, rows, timeline))
            }
        })
        .await?;
    drop(conn);
    read_feed(state.pool.clone(), me, timeline);
    Ok(HttpResponse::Ok().json(activity_page(rows, limit, Viewer::Member(me))))
}

/// [`social::read_feed`] in the background, beside the response (it writes on the primary only on
/// a member's first read and then at most daily). Best effort: a failure is logged and the next
/// read tries again.
fn read_feed(
    pool: filmlog_persistence::DbPool,
    member: filmlog_domain::MemberId,
    timeline: Option<TimelineState>,
) {
    if !TimelineState::needs_touch(timeline, Utc::now()) {
        return;
    }
    actix_web::rt::spawn(async move {
        let touched = match pool.get().await {
            Ok(mut conn) => social::read_feed(&mut conn, member)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(error) = touched {
            tracing::warn!(%error, member = member.get(), "home timeline not requested");
        }
    });
}

/// A member's activity
#[utoipa::path(
    operation_id = "member_activity",
    tag = "members",
    params(("username" = String, Path, example = "shirin"), PageQuery),
    responses(
        (status = 200, description = "Newest first", body = Page<ActivityItem>),
        (status = 400, response = BadPageQuery),
        (status = 404, response = MemberNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/members/{username}/activity")]
pub async fn member_activity(
    state: web::Data<AppState>,
    Viewing(viewer): Viewing,
    MemberName(username): MemberName,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    let Paging { limit, after } = paging;
    let mut conn = state.read_conn().await?;
    let member = visibility::content_owner(&mut conn, viewer, &username).await?;
    let rows = activity::of_member(&mut conn, member, viewer.member(), after, limit + 1).await?;
    Ok(HttpResponse::Ok().json(activity_page(rows, limit, viewer)))
}
