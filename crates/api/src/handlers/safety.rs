//! Member safety: blocks and mutes, and the lists of them.
//!
//! A block hides each side from the other (see `filmlog_domain::visibility`): the blocked member gets
//! 404 for the blocker's page and everything of theirs, as if the blocker did not exist; the blocker
//! still opens the blocked member's page (to unblock) but sees none of their content. Neither can
//! follow the other or like or comment on the other's reviews; comments already written by one side
//! on threads the other reads come back as tombstones. A mute only takes the muted member's activity
//! out of my feed.

use actix_web::{HttpResponse, delete, get, put, web};
use chrono::{DateTime, Utc};
use filmlog_domain::MemberId;
use filmlog_persistence::blocks;

use crate::auth::Caller;
use crate::dto::MemberAt;
use crate::error::{ApiResult, BadPageQuery, MemberNotFound, ServiceUnavailable, Unauthenticated};
use crate::extract::MemberName;
use crate::handlers::members::member_id;
use crate::pagination::{Page, PageQuery, Paging};
use crate::state::AppState;
use filmlog_app::ops;

/// What the caller does to another member.
#[derive(Debug, Clone, Copy)]
enum Act {
    Block,
    Unblock,
    Mute,
    Unmute,
}

/// The member `username` names, and `act` done by the caller to them in one transaction.
async fn between(
    state: &AppState,
    me: MemberId,
    username: &filmlog_domain::Username,
    act: Act,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    // Any member can be blocked or muted, even one whose page hides itself from the caller (who
    // may block back a member that blocked them).
    let them = member_id(&mut conn, username).await?;
    match act {
        Act::Block => ops::social::block(&mut conn, me, them).await?,
        Act::Unblock => ops::social::unblock(&mut conn, me, them).await?,
        Act::Mute => ops::social::mute(&mut conn, me, them).await?,
        Act::Unmute => ops::social::unmute(&mut conn, me, them).await?,
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Block a member
///
/// Ends the follows between you, both ways; while it stands neither of you can follow the other or
/// like or comment on the other's reviews, and each disappears from what the other reads.
#[utoipa::path(
    operation_id = "block_member",
    tag = "safety",
    params(("username" = String, Path, example = "shirin")),
    responses(
        (status = 204, description = "Blocked (also when you already had)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = MemberNotFound),
        (status = 422, response = crate::error::BlockYourself),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[put("/members/{username}/block")]
pub async fn block(
    state: web::Data<AppState>,
    auth: Caller,
    MemberName(username): MemberName,
) -> ApiResult<HttpResponse> {
    between(&state, auth.id(), &username, Act::Block).await
}

/// Unblock a member
///
/// The follows the block ended stay ended.
#[utoipa::path(
    operation_id = "unblock_member",
    tag = "safety",
    params(("username" = String, Path, example = "shirin")),
    responses(
        (status = 204, description = "Not blocked (also when you had not)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = MemberNotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/members/{username}/block")]
pub async fn unblock(
    state: web::Data<AppState>,
    auth: Caller,
    MemberName(username): MemberName,
) -> ApiResult<HttpResponse> {
    between(&state, auth.id(), &username, Act::Unblock).await
}

/// Mute a member
///
/// Their activity leaves your feed; nothing else changes and they are not told.
#[utoipa::path(
    operation_id = "mute_member",
    tag = "safety",
    params(("username" = String, Path, example = "shirin")),
    responses(
        (status = 204, description = "Muted (also when you already had)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = MemberNotFound),
        (status = 422, response = crate::error::MuteYourself),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[put("/members/{username}/mute")]
pub async fn mute(
    state: web::Data<AppState>,
    auth: Caller,
    MemberName(username): MemberName,
) -> ApiResult<HttpResponse> {
    between(&state, auth.id(), &username, Act::Mute).await
}

/// Unmute a member
#[utoipa::path(
    operation_id = "unmute_member",
    tag = "safety",
    params(("username" = String, Path, example = "shirin")),
    responses(
        (status = 204, description = "Not muted (also when you had not)"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = MemberNotFound),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/members/{username}/mute")]
pub async fn unmute(
    state: web::Data<AppState>,
    auth: Caller,
    MemberName(username): MemberName,
) -> ApiResult<HttpResponse> {
    between(&state, auth.id(), &username, Act::Unmute).await
}

/// The members you blocked
#[utoipa::path(
    operation_id = "list_blocks",
    tag = "safety",
    params(PageQuery),
    responses(
        (status = 200, description = "Newest block first", body = Page<MemberAt>),
        (status = 400, response = BadPageQuery),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/blocks")]
pub async fn list_blocks(
    state: web::Data<AppState>,
    auth: Caller,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.read_conn().await?;
    let rows = blocks::blocked_by(&mut conn, auth.id(), paging.after, paging.fetch()).await?;
    Ok(HttpResponse::Ok().json(MemberAt::page(rows, paging.limit)))
}

/// The members you muted
#[utoipa::path(
    operation_id = "list_mutes",
    tag = "safety",
    params(PageQuery),
    responses(
        (status = 200, description = "Newest mute first", body = Page<MemberAt>),
        (status = 400, response = BadPageQuery),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/mutes")]
pub async fn list_mutes(
    state: web::Data<AppState>,
    auth: Caller,
    paging: Paging<(DateTime<Utc>, i64)>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.read_conn().await?;
    let rows = blocks::muted_by(&mut conn, auth.id(), paging.after, paging.fetch()).await?;
    Ok(HttpResponse::Ok().json(MemberAt::page(rows, paging.limit)))
}
