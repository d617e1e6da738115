//! Follows: follow and unfollow a member, and a member's followers and following.

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Utc};
use filmlog_domain::{Username, Viewer};
use filmlog_persistence::social;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::auth::Viewing;
use crate::dto::MemberAt;
use crate::error::{ApiResult, BadPageQuery, MemberNotFound, ServiceUnavailable, Unauthenticated};
use crate::extract::MemberName;
use crate::handlers::members::member_id;
use crate::pagination::{Page, PageQuery, Paging};
use crate::state::AppState;
use filmlog_app::ops;
use filmlog_app::ops::social::Followed;
use filmlog_app::visibility;

/// Follow a member
#[utoipa::path(
    operation_id = "follow_member",
    tag = "members",
    params(("username" = String, Path, example = "shirin")),
    responses(
        (status = 204, description = "Following (also when you already were)"),
        (status = 202, description = "Their account is private: your request waits for their answer (also when it already did)", body = FollowRequested),
        (status = 401, response = Unauthenticated),
        (status = 404, response = MemberNotFound),
        (status = 409, response = crate::error::BlockedYouBlockedThisMember),
        (status = 422, response = crate::error::FollowYourself),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[put("/members/{username}/follow")]
pub async fn follow(
    state: web::Data<AppState>,
    auth: Caller,
    MemberName(username): MemberName,
) -> ApiResult<HttpResponse> {
    let me = auth.id();
    let mut conn = state.conn().await?;
    let them = member_id(&mut conn, &username).await?;
    let followed = ops::social::follow(&mut conn, me, them).await?;
    Ok(match followed {
        Followed::Following => HttpResponse::NoContent().finish(),
        Followed::Requested => HttpResponse::Accepted().json(FollowRequested {
            status: "requested",
        }),
    })
}

/// The answer to following a private account.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowRequested {
    #[schema(example = "requested")]
    pub status: &'static str,
}

/// Requests to follow you
///
/// While your account is private, new followers ask first; newest first.
#[utoipa::path(
    operation_id = "list_follow_requests",
    tag = "me",
    params(PageQuery),
    responses(
        (status = 200, description = "Newest request first", body = Page<MemberAt>),
        (status = 400, response = BadPageQuery),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/follow-requests")]
pub async fn follow_requests(
    state: web::Data<AppState>,
    auth: Caller,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    let Paging { limit, after } = paging;
    let mut conn = state.read_conn().await?;
    let rows = social::follow_requests(&mut conn, auth.id(), after, limit + 1).await?;
    Ok(HttpResponse::Ok().json(MemberAt::page(rows, limit)))
}

/// Approve a follow request
///
/// The requester follows you from now on (counted in your followers).
#[utoipa::path(
    operation_id = "approve_follow_request",
    tag = "me",
    params(("username" = String, Path, description = "Who asked", example = "shirin")),
    responses(
        (status = 204, description = "They follow you now"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NotFoundNoSuchMember),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/me/follow-requests/{username}/approve")]
pub async fn approve_follow_request(
    state: web::Data<AppState>,
    auth: Caller,
    MemberName(username): MemberName,
) -> ApiResult<HttpResponse> {
    answer_request(&state, auth, &username, true).await
}

/// Deny a follow request
///
/// The request goes; they are not told, and may ask again.
#[utoipa::path(
    operation_id = "deny_follow_request",
    tag = "me",
    params(("username" = String, Path, description = "Who asked", example = "shirin")),
    responses(
        (status = 204, description = "The request is gone"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NotFoundNoSuchMember),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/me/follow-requests/{username}/deny")]
pub async fn deny_follow_request(
    state: web::Data<AppState>,
    auth: Caller,
    MemberName(username): MemberName,
) -> ApiResult<HttpResponse> {
    answer_request(&state, auth, &username, false).await
}

async fn answer_request(
    state: &AppState,
    auth: Caller,
    username: &Username,
    approve: bool,
) -> ApiResult<HttpResponse> {
    let me = auth.id();
    let mut conn = state.conn().await?;
    let requester = member_id(&mut conn, username).await?;
    if approve {
        ops::social::approve(&mut conn, me, requester).await?;
    } else {
        ops::social::deny(&mut conn, me, requester).await?;
    }
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
    auth: Caller,
    MemberName(username): MemberName,
) -> ApiResult<HttpResponse> {
    let me = auth.id();
    let mut conn = state.conn().await?;
    let them = member_id(&mut conn, &username).await?;
    ops::social::unfollow(&mut conn, me, them).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn follow_page(
    state: &AppState,
    viewer: Viewer,
    username: &Username,
    paging: Paging<(DateTime<Utc>, i64)>,
    want_followers: bool,
) -> ApiResult<HttpResponse> {
    let Paging { limit, after } = paging;
    let mut conn = state.read_conn().await?;
    let member = visibility::content_owner(&mut conn, viewer, username).await?;
    let rows = social::follow_list(
        &mut conn,
        member,
        viewer.member(),
        want_followers,
        after,
        limit + 1,
    )
    .await?;
    let page = MemberAt::page_seen_by(rows, limit, viewer);
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
    Viewing(viewer): Viewing,
    MemberName(username): MemberName,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    follow_page(&state, viewer, &username, paging, true).await
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
    Viewing(viewer): Viewing,
    MemberName(username): MemberName,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    follow_page(&state, viewer, &username, paging, false).await
}
