//! A member's lists: diary, reviews, watchlist and liked films.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, NaiveDate, Utc};
use filmlog_app::ErrorCode;
use filmlog_domain::{Username, Viewer};
use filmlog_persistence::log_entries;
use filmlog_persistence::relationships;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Viewing;
use crate::dto::{FilmSummary, rfc3339, stars};
use crate::error::{ApiError, ApiResult, BadPageQuery, MemberNotFound, ServiceUnavailable};
use crate::extract::{MemberName, Query};
use crate::handlers::log_entries::LogEntry;
use crate::pagination::{self, Page, PageQuery, Paging};
use crate::state::AppState;
use filmlog_app::visibility;

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
    let bad = |m: &str| ApiError::bad_request(ErrorCode::InvalidQueryParameter, m.to_owned());
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
    Viewing(viewer): Viewing,
    MemberName(username): MemberName,
    query: Query<DiaryQuery>,
) -> ApiResult<HttpResponse> {
    let Paging { limit, after } =
        Paging::<(NaiveDate, i64)>::parse(query.limit, query.cursor.as_deref())?;
    let range = diary_range(query.year, query.month)?;
    let mut conn = state.read_conn().await?;
    let member = visibility::content_owner(&mut conn, viewer, &username).await?;
    let rows =
        log_entries::diary(&mut conn, member, viewer.member(), range, after, limit + 1).await?;
    let page = pagination::page(
        rows,
        limit,
        |(v, _, _)| (v.entry.watched_on, v.entry.id),
        |row| LogEntry::seen_by(row, viewer),
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
    Viewing(viewer): Viewing,
    MemberName(username): MemberName,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    let Paging { limit, after } = paging;
    let mut conn = state.read_conn().await?;
    let member = visibility::content_owner(&mut conn, viewer, &username).await?;
    let rows =
        log_entries::member_reviews(&mut conn, member, viewer.member(), after, limit + 1).await?;
    let page = pagination::page(
        rows,
        limit,
        |(v, _, _)| (v.entry.created_at, v.entry.id),
        |row| LogEntry::seen_by(row, viewer),
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
    viewer: Viewer,
    username: &Username,
    paging: Paging<(DateTime<Utc>, i64)>,
    want_watchlist: bool,
) -> ApiResult<HttpResponse> {
    let Paging { limit, after } = paging;
    let mut conn = state.read_conn().await?;
    let member = if want_watchlist {
        visibility::watchlist_owner(&mut conn, viewer, username).await?
    } else {
        visibility::content_owner(&mut conn, viewer, username).await?
    };
    let rows = relationships::list(
        &mut conn,
        member,
        viewer.member(),
        want_watchlist,
        after,
        limit + 1,
    )
    .await?;
    let page = pagination::page(
        rows,
        limit,
        |(f, at, _, _)| (*at, f.id),
        |(f, at, rating, state)| ListedFilm {
            film: FilmSummary::from(f).seen_by(viewer, state),
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
    Viewing(viewer): Viewing,
    MemberName(username): MemberName,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    film_list(&state, viewer, &username, paging, true).await
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
    Viewing(viewer): Viewing,
    MemberName(username): MemberName,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    film_list(&state, viewer, &username, paging, false).await
}
