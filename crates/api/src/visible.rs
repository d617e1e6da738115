//! Reads of one subject ask the domain's visibility rule ([`filmlog_domain::visibility::sight`])
//! here, before they answer: a hidden subject is 404, the same answer as one that does not exist.

use filmlog_domain::visibility::{Sight, Subject, Viewer, sight};
use filmlog_domain::{Member, MemberId, Username};
use filmlog_persistence::{AsyncPgConnection, members};

use crate::error::{ApiError, ApiResult};

/// `Ok` when the viewer sees the subject; otherwise 404 naming `what`.
pub fn require(viewer: Viewer, subject: Subject, what: &'static str) -> ApiResult<()> {
    match sight(viewer, subject) {
        Sight::Visible => Ok(()),
        Sight::Hidden => Err(ApiError::not_found(what)),
    }
}

/// The member a username names, when the viewer may see their profile.
pub async fn member(
    conn: &mut AsyncPgConnection,
    viewer: Viewer,
    username: &Username,
) -> ApiResult<Member> {
    let member = members::find_by_username(conn, username.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found("that member"))?;
    require(viewer, Subject::Profile(member.id), "that member")?;
    Ok(member)
}

/// The member whose content (diary, reviews, watchlist, likes, follows, activity) the viewer reads.
pub async fn content_owner(
    conn: &mut AsyncPgConnection,
    viewer: Viewer,
    username: &Username,
) -> ApiResult<MemberId> {
    let id = crate::handlers::members::member_id(conn, username).await?;
    require(viewer, Subject::Content(id), "that member")?;
    Ok(id)
}
