//! A film's reviews: popular (by period), recent, or by members you follow.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use filmlog_app::ErrorCode;
use filmlog_domain::{MemberId, Viewer};
use filmlog_persistence::log_entries::{
    self, Period, ReviewKey, ReviewReader, ReviewSort, ReviewedFilm,
};
use filmlog_persistence::{AsyncPgConnection, sessions};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::PipelinedViewing;
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
    viewing: PipelinedViewing,
    FilmSlug(slug): FilmSlug,
    query: Query<FilmReviewsQuery>,
) -> ApiResult<HttpResponse> {
    let pooled = state.read_conn().await?;
    let conn: &AsyncPgConnection = &pooled;
    // The session is checked inside the reviews' statement (an ended one reads none). A review
    // proves the session live and the film there for the viewer (the statement names it by slug,
    // as the viewer may see it); only an empty page asks whether the film exists, and the session
    // on its own. Every refusal is answered inside, so that an ended session is told 401 first
    // whatever else is wrong, then the query, the film, the cursor.
    let (viewer, (rows, limit, sort)) = viewing
        .read_probed(conn, |viewer, probe| async move {
            let limit = pagination::limit(query.limit)?;
            let sort = review_sort(&query)?;
            let followed_by = followed_by(query.sort == Some(ReviewSortParam::Following), viewer)?;
            let me = viewer.member();
            let after = match review_cursor(sort, query.cursor.as_deref()) {
                Ok(after) => after,
                Err(bad) => {
                    film_id(conn, &slug, me).await?;
                    return Err(bad);
                }
            };
            let of = ReviewedFilm::Slug(slug.as_str().to_owned());
            let reader = ReviewReader { member: me, probe };
            let rows =
                log_entries::film_reviews(conn, of, sort, reader, followed_by, after, limit + 1)
                    .await?;
            let mut live = reader.proven_live(&rows);
            if rows.is_empty() {
                // The film's look-up and the session check together: one round trip.
                let (film, checked) = futures_util::future::join(
                    film_id(conn, &slug, me),
                    sessions::probe_is_live(conn, reader.probe),
                )
                .await;
                live = checked?;
                if live == Some(false) {
                    return Ok(((rows, limit, sort), live));
                }
                film?;
            }
            Ok(((rows, limit, sort), live))
        })
        .await?;
    // Back to the pool before the page is built and serialised.
    drop(pooled);
    let page = match sort {
        ReviewSort::Popular(period) => pagination::page(
            rows,
            limit,
            |(v, _, _)| (v.entry.popularity(period), v.entry.id),
            |row| LogEntry::seen_by(row, viewer),
        ),
        ReviewSort::Recent => pagination::page(
            rows,
            limit,
            |(v, _, _)| (v.entry.created_at, v.entry.id),
            |row| LogEntry::seen_by(row, viewer),
        ),
    };
    Ok(HttpResponse::Ok().json(page))
}

/// The order asked for; `period` goes with `sort=popular` only.
fn review_sort(query: &FilmReviewsQuery) -> ApiResult<ReviewSort> {
    let sort = query.sort.unwrap_or(ReviewSortParam::Popular);
    if query.period.is_some() && sort != ReviewSortParam::Popular {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidQueryParameter,
            "period applies to sort=popular only",
        ));
    }
    Ok(match sort {
        ReviewSortParam::Popular => {
            ReviewSort::Popular(Period::from(query.period.unwrap_or(PeriodParam::AllTime)))
        }
        ReviewSortParam::Recent | ReviewSortParam::Following => ReviewSort::Recent,
    })
}

/// Where the page starts, read as the order's key.
fn review_cursor(sort: ReviewSort, cursor: Option<&str>) -> ApiResult<Option<ReviewKey>> {
    Ok(match sort {
        ReviewSort::Popular(_) => {
            pagination::decode::<(i32, i64)>(cursor)?.map(|(score, id)| ReviewKey::Score(score, id))
        }
        ReviewSort::Recent => pagination::decode::<(DateTime<Utc>, i64)>(cursor)?
            .map(|(at, id)| ReviewKey::Created(at, id)),
    })
}

/// For `sort=following`, the member whose follows it keeps, which needs a token.
fn followed_by(following: bool, viewer: Viewer) -> ApiResult<Option<MemberId>> {
    match (following, viewer.member()) {
        (false, _) => Ok(None),
        (true, Some(me)) => Ok(Some(me)),
        (true, None) => Err(ApiError::unauthorized(
            ErrorCode::MissingToken,
            "sort=following needs Authorization: Bearer <access token>",
        )),
    }
}
