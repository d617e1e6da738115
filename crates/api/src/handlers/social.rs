//! Follows, a member's lists (diary, reviews, watchlist, liked films, activity) and the feed.

use actix_web::{HttpResponse, delete, get, put, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncConnection;
use filmlog_domain::{MemberId, Rating, ReviewText, Username};
use filmlog_persistence::activity::{self, ActivityView};
use filmlog_persistence::log_entries::{self, Period, ReviewKey, ReviewSort};
use filmlog_persistence::{AsyncPgConnection, members, relationships, social};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{AuthMember, MaybeMember};
use crate::dto::{FilmSummary, MemberSummary, rfc3339, stars};
use crate::error::{
    ApiError, ApiResult, BadPageQuery, FilmNotFound, MemberNotFound, Problem, ServiceUnavailable,
    Unauthenticated,
};
use crate::handlers::films::film_id;
use crate::handlers::log_entries::{LogEntry, MemberAt, PageQuery};
use crate::ops;
use crate::pagination::{self, Page};
use crate::state::AppState;

async fn member_id(conn: &mut AsyncPgConnection, username: &str) -> ApiResult<MemberId> {
    let not_found = || ApiError::not_found("that member");
    let username = Username::parse(username).map_err(|_| not_found())?;
    members::id_by_username(conn, username.as_str())
        .await?
        .ok_or_else(not_found)
}

/// Follow a member
#[utoipa::path(
    operation_id = "follow_member",
    tag = "members",
    params(("username" = String, Path, example = "shirin")),
    responses(
        (status = 204, description = "Following (also when you already were)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = MemberNotFound),
        (status = 422, description = "`follow_yourself`", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[put("/members/{username}/follow")]
pub async fn follow(
    state: web::Data<AppState>,
    auth: AuthMember,
    username: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let me = auth.id();
    let mut conn = state.conn().await?;
    let them = member_id(&mut conn, &username).await?;
    conn.transaction(async |conn| ops::social::follow(conn, me, them).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Unfollow a member
#[utoipa::path(
    operation_id = "unfollow_member",
    tag = "members",
    params(("username" = String, Path, example = "shirin")),
    responses(
        (status = 204, description = "Not following (also when you were not)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = MemberNotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/members/{username}/follow")]
pub async fn unfollow(
    state: web::Data<AppState>,
    auth: AuthMember,
    username: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let me = auth.id();
    let mut conn = state.conn().await?;
    let them = member_id(&mut conn, &username).await?;
    conn.transaction(async |conn| ops::social::unfollow(conn, me, them).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn follow_page(
    state: &AppState,
    username: &str,
    query: &PageQuery,
    want_followers: bool,
) -> ApiResult<HttpResponse> {
    let limit = pagination::limit(query.limit)?;
    let after = pagination::decode::<(DateTime<Utc>, i64)>(query.cursor.as_deref())?;
    let mut conn = state.conn().await?;
    let member = member_id(&mut conn, username).await?;
    let rows = social::follow_list(&mut conn, member, want_followers, after, limit + 1).await?;
    let page = pagination::page(
        rows,
        limit,
        |(m, at)| (*at, m.id),
        |(m, at)| MemberAt {
            member: m.into(),
            at,
        },
    );
    Ok(HttpResponse::Ok().json(page))
}

/// A member's followers
#[utoipa::path(
    operation_id = "list_followers",
    tag = "members",
    params(("username" = String, Path, example = "shirin"), PageQuery),
    responses(
        (status = 200, description = "Newest follower first", body = Page<MemberAt>),
        (status = 400, response = BadPageQuery),
        (status = 404, response = MemberNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/members/{username}/followers")]
pub async fn followers(
    state: web::Data<AppState>,
    username: web::Path<String>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    follow_page(&state, &username, &query, true).await
}

/// Who a member follows
#[utoipa::path(
    operation_id = "list_following",
    tag = "members",
    params(("username" = String, Path, example = "shirin"), PageQuery),
    responses(
        (status = 200, description = "Newest follow first", body = Page<MemberAt>),
        (status = 400, response = BadPageQuery),
        (status = 404, response = MemberNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/members/{username}/following")]
pub async fn following(
    state: web::Data<AppState>,
    username: web::Path<String>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    follow_page(&state, &username, &query, false).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiaryQuery {
    /// Only entries watched in this year.
    pub year: Option<i32>,
    /// With `year`: only this month (1–12).
    pub month: Option<u32>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn diary_range(year: Option<i32>, month: Option<u32>) -> ApiResult<Option<(NaiveDate, NaiveDate)>> {
    let bad = |m: &str| ApiError::bad_request("invalid_query_parameter", m.to_owned());
    match (year, month) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(bad("month needs year")),
        (Some(y), None) => {
            let from = NaiveDate::from_ymd_opt(y, 1, 1)
                .filter(|_| (1870..=2100).contains(&y))
                .ok_or_else(|| bad("year is out of range"))?;
            let to =
                NaiveDate::from_ymd_opt(y + 1, 1, 1).ok_or_else(|| bad("year is out of range"))?;
            Ok(Some((from, to)))
        }
        (Some(y), Some(m)) => {
            let from = NaiveDate::from_ymd_opt(y, m, 1)
                .filter(|_| (1870..=2100).contains(&y))
                .ok_or_else(|| bad("year or month is out of range"))?;
            let to = if m == 12 {
                NaiveDate::from_ymd_opt(y + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(y, m + 1, 1)
            }
            .ok_or_else(|| bad("year or month is out of range"))?;
            Ok(Some((from, to)))
        }
    }
}

/// A member's diary
#[utoipa::path(
    operation_id = "member_diary",
    tag = "members",
    params(("username" = String, Path, example = "shirin"), DiaryQuery),
    responses(
        (status = 200, description = "Dated entries, newest date first", body = Page<LogEntry>),
        (status = 400, response = BadPageQuery),
        (status = 404, response = MemberNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/members/{username}/diary")]
pub async fn diary(
    state: web::Data<AppState>,
    username: web::Path<String>,
    query: web::Query<DiaryQuery>,
) -> ApiResult<HttpResponse> {
    let limit = pagination::limit(query.limit)?;
    let range = diary_range(query.year, query.month)?;
    let after = pagination::decode::<(NaiveDate, i64)>(query.cursor.as_deref())?;
    let mut conn = state.conn().await?;
    let member = member_id(&mut conn, &username).await?;
    let rows = log_entries::diary(&mut conn, member, range, after, limit + 1).await?;
    let page = pagination::page(
        rows,
        limit,
        |v| (v.entry.watched_on, v.entry.id),
        LogEntry::from,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// A member's reviews
#[utoipa::path(
    operation_id = "member_reviews",
    tag = "members",
    params(("username" = String, Path, example = "shirin"), PageQuery),
    responses(
        (status = 200, description = "Newest first", body = Page<LogEntry>),
        (status = 400, response = BadPageQuery),
        (status = 404, response = MemberNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/members/{username}/reviews")]
pub async fn member_reviews(
    state: web::Data<AppState>,
    username: web::Path<String>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let limit = pagination::limit(query.limit)?;
    let after = pagination::decode::<(DateTime<Utc>, i64)>(query.cursor.as_deref())?;
    let mut conn = state.conn().await?;
    let member = member_id(&mut conn, &username).await?;
    let rows = log_entries::member_reviews(&mut conn, member, after, limit + 1).await?;
    let page = pagination::page(
        rows,
        limit,
        |v| (v.entry.created_at, v.entry.id),
        LogEntry::from,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// A film in a member's list, with when it was added and their rating.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListedFilm {
    pub film: FilmSummary,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub added_at: DateTime<Utc>,
    pub rating: Option<f64>,
}

async fn film_list(
    state: &AppState,
    username: &str,
    query: &PageQuery,
    want_watchlist: bool,
) -> ApiResult<HttpResponse> {
    let limit = pagination::limit(query.limit)?;
    let after = pagination::decode::<(DateTime<Utc>, i64)>(query.cursor.as_deref())?;
    let mut conn = state.conn().await?;
    let member = member_id(&mut conn, username).await?;
    let rows = relationships::list(&mut conn, member, want_watchlist, after, limit + 1).await?;
    let page = pagination::page(
        rows,
        limit,
        |(f, at, _)| (*at, f.id),
        |(f, at, rating)| ListedFilm {
            film: f.into(),
            added_at: at,
            rating: stars(rating),
        },
    );
    Ok(HttpResponse::Ok().json(page))
}

/// A member's watchlist
#[utoipa::path(
    operation_id = "member_watchlist",
    tag = "members",
    params(("username" = String, Path, example = "shirin"), PageQuery),
    responses(
        (status = 200, description = "Most recently added first", body = Page<ListedFilm>),
        (status = 400, response = BadPageQuery),
        (status = 404, response = MemberNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/members/{username}/watchlist")]
pub async fn watchlist(
    state: web::Data<AppState>,
    username: web::Path<String>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    film_list(&state, &username, &query, true).await
}

/// Films a member likes
#[utoipa::path(
    operation_id = "member_liked_films",
    tag = "members",
    params(("username" = String, Path, example = "shirin"), PageQuery),
    responses(
        (status = 200, description = "Most recently liked first", body = Page<ListedFilm>),
        (status = 400, response = BadPageQuery),
        (status = 404, response = MemberNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/members/{username}/likes/films")]
pub async fn liked_films(
    state: web::Data<AppState>,
    username: web::Path<String>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    film_list(&state, &username, &query, false).await
}

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
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityComment {
    #[schema(example = "5")]
    pub id: String,
    pub excerpt: String,
}

/// The kind of an activity (the domain's `ActivityKind`, by the same names).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    DiaryEntry,
    Review,
    Rating,
    FilmLike,
    ReviewLike,
    Comment,
    Follow,
    Watchlist,
}

/// Something a member did, with all a client needs to render it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityItem {
    #[schema(example = "301")]
    pub id: String,
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
}

impl From<filmlog_domain::ActivityKind> for ActivityKind {
    fn from(k: filmlog_domain::ActivityKind) -> Self {
        use filmlog_domain::ActivityKind as K;
        match k {
            K::DiaryEntry => ActivityKind::DiaryEntry,
            K::Review => ActivityKind::Review,
            K::Rating => ActivityKind::Rating,
            K::FilmLike => ActivityKind::FilmLike,
            K::ReviewLike => ActivityKind::ReviewLike,
            K::Comment => ActivityKind::Comment,
            K::Follow => ActivityKind::Follow,
            K::Watchlist => ActivityKind::Watchlist,
        }
    }
}

const EXCERPT: usize = 280;

fn activity_item(a: ActivityView) -> ActivityItem {
    let film = match (a.film_slug, a.film_title) {
        (Some(slug), Some(title)) => Some(FilmSummary {
            slug,
            title,
            year: a.film_year,
            poster_url: a.film_poster_url,
        }),
        _ => None,
    };
    ActivityItem {
        id: a.id.to_string(),
        kind: a.kind.into(),
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
        }),
        member: a.subject_username,
        comment: match (a.comment_id, a.comment_head) {
            (Some(id), Some(body)) => Some(ActivityComment {
                id: id.to_string(),
                excerpt: ReviewText::excerpt(&body, EXCERPT),
            }),
            _ => None,
        },
    }
}

fn activity_page(rows: Vec<ActivityView>, limit: i64) -> Page<ActivityItem> {
    pagination::page(rows, limit, |a| (a.created_at, a.id), activity_item)
}

/// Your feed
///
/// What the members you follow did, newest first: diary entries, reviews, ratings, likes, comments,
/// follows and watchlist additions. Each item carries what a client needs to render it.
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
    auth: AuthMember,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let limit = pagination::limit(query.limit)?;
    let after = pagination::decode::<(DateTime<Utc>, i64)>(query.cursor.as_deref())?;
    let mut conn = state.conn().await?;
    let rows = activity::feed(&mut conn, auth.id(), after, limit + 1).await?;
    Ok(HttpResponse::Ok().json(activity_page(rows, limit)))
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
    username: web::Path<String>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let limit = pagination::limit(query.limit)?;
    let after = pagination::decode::<(DateTime<Utc>, i64)>(query.cursor.as_deref())?;
    let mut conn = state.conn().await?;
    let member = member_id(&mut conn, &username).await?;
    let rows = activity::of_member(&mut conn, member, after, limit + 1).await?;
    Ok(HttpResponse::Ok().json(activity_page(rows, limit)))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReviewSortParam {
    Popular,
    Recent,
    Following,
}

/// The period popular reviews are ranked over.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PeriodParam {
    Week,
    Month,
    AllTime,
}

impl From<PeriodParam> for Period {
    fn from(p: PeriodParam) -> Self {
        match p {
            PeriodParam::Week => Period::Week,
            PeriodParam::Month => Period::Month,
            PeriodParam::AllTime => Period::AllTime,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FilmReviewsQuery {
    /// `popular` (default), `recent`, or `following` (recent reviews by members you follow; needs
    /// authentication).
    #[param(inline)]
    pub sort: Option<ReviewSortParam>,
    /// With `sort=popular`: rank by likes received in the last `week`, the last `month` (30 days), or
    /// over `all_time` (default). Scores are recomputed periodically (every 15 minutes by default), not
    /// on every like, so a cursor never repeats or skips a review between two recomputations.
    #[param(inline)]
    pub period: Option<PeriodParam>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A film's reviews
#[utoipa::path(
    operation_id = "film_reviews",
    tag = "films",
    params(("slug" = String, Path, example = "children-of-heaven-1997"), FilmReviewsQuery),
    responses(
        (status = 200, description = "A page of reviews", body = Page<LogEntry>),
        (status = 400, response = BadPageQuery),
        (status = 401, description = "`sort=following` without a token (`missing_token`), or a bad token", body = Problem, content_type = "application/problem+json"),
        (status = 404, response = FilmNotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security((), ("bearer" = []))
)]
#[get("/films/{slug}/reviews")]
pub async fn film_reviews(
    state: web::Data<AppState>,
    viewer: MaybeMember,
    slug: web::Path<String>,
    query: web::Query<FilmReviewsQuery>,
) -> ApiResult<HttpResponse> {
    let limit = pagination::limit(query.limit)?;
    let sort = query.sort.unwrap_or(ReviewSortParam::Popular);
    if query.period.is_some() && sort != ReviewSortParam::Popular {
        return Err(ApiError::bad_request(
            "invalid_query_parameter",
            "period applies to sort=popular only",
        ));
    }
    let followed_by = match (sort, &viewer.0) {
        (ReviewSortParam::Following, Some(me)) => Some(me.id()),
        (ReviewSortParam::Following, None) => {
            return Err(ApiError::unauthorized(
                "missing_token",
                "sort=following needs Authorization: Bearer <access token>",
            ));
        }
        _ => None,
    };
    let mut conn = state.conn().await?;
    let film = film_id(&mut conn, &slug).await?;
    let page = if sort == ReviewSortParam::Popular {
        let period = Period::from(query.period.unwrap_or(PeriodParam::AllTime));
        let after = pagination::decode::<(i32, i64)>(query.cursor.as_deref())?
            .map(|(score, id)| ReviewKey::Score(score, id));
        let sort = ReviewSort::Popular(period);
        let rows = log_entries::film_reviews(&mut conn, film, sort, None, after, limit + 1).await?;
        pagination::page(
            rows,
            limit,
            |v| (v.entry.popularity(period), v.entry.id),
            LogEntry::from,
        )
    } else {
        let after = pagination::decode::<(DateTime<Utc>, i64)>(query.cursor.as_deref())?
            .map(|(at, id)| ReviewKey::Created(at, id));
        let rows = log_entries::film_reviews(
            &mut conn,
            film,
            ReviewSort::Recent,
            followed_by,
            after,
            limit + 1,
        )
        .await?;
        pagination::page(
            rows,
            limit,
            |v| (v.entry.created_at, v.entry.id),
            LogEntry::from,
        )
    };
    Ok(HttpResponse::Ok().json(page))
}
