//! Public member profiles.

use actix_web::{HttpResponse, get, web};
use filmlog_domain::{MemberId, Username};
use filmlog_persistence::{AsyncPgConnection, members};

use crate::auth::Viewing;
use crate::dto::MemberProfile;
use crate::error::{ApiError, ApiResult, MemberNotFound, ServiceUnavailable};
use crate::extract::MemberName;
use crate::middleware::conditional::json_with_etag;
use crate::state::AppState;
use filmlog_app::visibility;

/// A member's public profile
#[utoipa::path(
    operation_id = "get_member",
    tag = "members",
    params(("username" = String, Path, description = "The member's username (any case)", example = "ana_lima")),
    responses(
        (status = 200, description = "The profile, with an `ETag`", body = MemberProfile),
        (status = 304, description = "Unchanged since the ETag in `If-None-Match`"),
        (status = 404, response = MemberNotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/members/{username}")]
pub async fn get_member(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    Viewing(viewer): Viewing,
    MemberName(username): MemberName,
) -> ApiResult<HttpResponse> {
    let app = crate::auth::is_app(&req, &state.tokens);
    let mut conn = state.read_conn().await?;
    let (member, member_state) = visibility::member(&mut conn, viewer, &username).await?;
    let mut profile = MemberProfile::seen_by(member, viewer, member_state);
    // No scope reaches the address: an app reading its member's own page does not see it.
    if app {
        profile.email = None;
    }
    json_with_etag(&profile)
}

/// The member a username names, or 404.
pub async fn member_id(conn: &mut AsyncPgConnection, username: &Username) -> ApiResult<MemberId> {
    members::id_by_username(conn, username.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found("that member"))
}
