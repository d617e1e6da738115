//! Reads of one subject ask the domain's visibility rule ([`filmlog_domain::visibility::sight`])
//! here, before they answer: a hidden subject is 404, the same answer as one that does not exist.
//! For a signed-in viewer the rule is given the blocks between them and the subject's owner.

use filmlog_domain::visibility::{Blocks, Sight, Subject, Viewer, sight};
use filmlog_domain::{Member, MemberId, Username};
use filmlog_persistence::{AsyncPgConnection, blocks, members};

use crate::error::{ApiError, ApiResult};

/// The blocks between the viewer and `owner`: none for nobody signed in, or for the owner.
pub async fn blocks_with(
    conn: &mut AsyncPgConnection,
    viewer: Viewer,
    owner: MemberId,
) -> ApiResult<Blocks> {
    match viewer.member() {
        Some(me) if me != owner => Ok(blocks::between(conn, me, owner).await?),
        _ => Ok(Blocks::NONE),
    }
}

/// `Ok` when the viewer sees the subject, given the blocks between them; otherwise 404 naming `what`.
pub fn require(
    viewer: Viewer,
    subject: Subject,
    blocks: Blocks,
    what: &'static str,
) -> ApiResult<()> {
    match sight(viewer, subject, blocks) {
        Sight::Visible => Ok(()),
        Sight::Hidden => Err(ApiError::not_found(what)),
    }
}

/// `Ok` when the viewer sees the subject (its owner's blocks looked up); otherwise 404 naming `what`.
pub async fn check(
    conn: &mut AsyncPgConnection,
    viewer: Viewer,
    subject: Subject,
    what: &'static str,
) -> ApiResult<()> {
    let blocks = blocks_with(conn, viewer, subject.owner()).await?;
    require(viewer, subject, blocks, what)
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
    check(conn, viewer, Subject::Profile(member.id), "that member").await?;
    Ok(member)
}

/// The member whose content (diary, reviews, watchlist, likes, follows, activity) the viewer reads.
pub async fn content_owner(
    conn: &mut AsyncPgConnection,
    viewer: Viewer,
    username: &Username,
) -> ApiResult<MemberId> {
    let id = crate::handlers::members::member_id(conn, username).await?;
    check(conn, viewer, Subject::Content(id), "that member").await?;
    Ok(id)
}
