//! A film's reviews: popular (by period), recent, or by members you follow.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use filmlog_app::ErrorCode;
use filmlog_domain::{MemberId, Viewer};
use filmlog_persistence::log_entries::{self, Period, ReviewKey, ReviewSort};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Viewing;
use crate::error::{ApiError, ApiResult, BadPageQuery, FilmNotFound, ServiceUnavailable};
use crate::extract::{FilmSlug, Query};
use crate::handlers::films::film_id;
use crate::handlers::log_entries::LogEntry;
use crate::pagination::{self, Page};
use crate::state::AppState;

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
        (status = 401, response = crate::error::SortFollowingWithoutTokenMissing),
        (status = 404, response = FilmNotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security((), ("bearer" = []))
)]
#[get("/films/{slug}/reviews")]
pub async fn film_reviews(
    state: web::Data<AppState>,
    Viewing(viewer): Viewing,
    FilmSlug(slug): FilmSlug,
    query: Query<FilmReviewsQuery>,
) -> ApiResult<HttpResponse> {
    let limit = pagination::limit(query.limit)?;
    let (sort, followed_by) = review_order(&query, viewer)?;
    let mut conn = state.read_conn().await?;
    let film = film_id(&mut conn, &slug, viewer.member()).await?;
    let page = if sort == ReviewSortParam::Popular {
        let period = Period::from(query.period.unwrap_or(PeriodParam::AllTime));
        let after = pagination::decode::<(i32, i64)>(query.cursor.as_deref())?
            .map(|(score, id)| ReviewKey::Score(score, id));
        let sort = ReviewSort::Popular(period);
        let rows = log_entries::film_reviews(
            &mut conn,
            film,
            sort,
            viewer.member(),
            None,
            after,
            limit + 1,
        )
        .await?;
        pagination::page(
            rows,
            limit,
            |(v, _, _)| (v.entry.popularity(period), v.entry.id),
            |row| LogEntry::seen_by(row, viewer),
        )
    } else {
        let after = pagination::decode::<(DateTime<Utc>, i64)>(query.cursor.as_deref())?
            .map(|(at, id)| ReviewKey::Created(at, id));
        let rows = log_entries::film_reviews(
            &mut conn,
            film,
            ReviewSort::Recent,
            viewer.member(),
            followed_by,
            after,
            limit + 1,
        )
        .await?;
        pagination::page(
            rows,
            limit,
            |(v, _, _)| (v.entry.created_at, v.entry.id),
            |row| LogEntry::seen_by(row, viewer),
        )
    };
    Ok(HttpResponse::Ok().json(page))
}

/// The order asked for and, for `sort=following`, the member whose follows it keeps (which needs
/// a token); `period` goes with `sort=popular` only.
fn review_order(
    query: &FilmReviewsQuery,
    viewer: Viewer,
) -> ApiResult<(ReviewSortParam, Option<MemberId>)> {
    let sort = query.sort.unwrap_or(ReviewSortParam::Popular);
    if query.period.is_some() && sort != ReviewSortParam::Popular {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidQueryParameter,
            "period applies to sort=popular only",
        ));
    }
    let followed_by = match (sort, viewer.member()) {
        (ReviewSortParam::Following, Some(me)) => Some(me),
        (ReviewSortParam::Following, None) => {
            return Err(ApiError::unauthorized(
                ErrorCode::MissingToken,
                "sort=following needs Authorization: Bearer <access token>",
            ));
        }
        _ => None,
    };
    Ok((sort, followed_by))
}
