//! Reads of one subject ask the domain's visibility rule ([`filmlog_domain::visibility::sight`])
//! here, before they answer: a hidden subject is 404, the same answer as one that does not exist.
//! The rule is given the blocks between the viewer and the subject's owner and whether the owner is
//! suspended, looked up together in one statement.

use filmlog_domain::moderation::ModerationSubject;
use filmlog_domain::visibility::{MemberState, Sight, Subject, Viewer, sight};
use filmlog_domain::{Member, MemberId, Username};
use filmlog_persistence::{AsyncPgConnection, lists, log_entries, members, moderation};

use crate::ops::{OpError, OpResult};

/// `Ok` when the viewer sees the subject; otherwise 404 naming `what`.
pub fn require(
    viewer: Viewer,
    subject: Subject,
    standing: Option<members::Standing>,
    what: &'static str,
) -> OpResult<()> {
    let standing = standing.ok_or_else(|| OpError::NotFound(what))?;
    match sight(viewer, subject, standing.relation()) {
        Sight::Visible => Ok(()),
        Sight::Hidden => Err(OpError::NotFound(what)),
    }
}

/// `Ok` when the viewer sees the subject (its owner's standing looked up); otherwise 404 naming
/// `what`.
pub async fn check(
    conn: &mut AsyncPgConnection,
    viewer: Viewer,
    subject: Subject,
    what: &'static str,
) -> OpResult<()> {
    let standing = members::standing(conn, viewer.member(), subject.owner()).await?;
    require(viewer, subject, standing, what)
}

/// The member a username names, when the viewer may see their profile, with the viewer's
/// relationship with them.
pub async fn member(
    conn: &mut AsyncPgConnection,
    viewer: Viewer,
    username: &Username,
) -> OpResult<(Member, MemberState)> {
    let member = members::find_by_username(conn, username.as_str())
        .await?
        .ok_or_else(|| OpError::NotFound("that member"))?;
    let standing = members::standing(conn, viewer.member(), member.id).await?;
    let state = standing.map(|s| s.viewer).unwrap_or_default();
    require(viewer, Subject::Profile(member.id), standing, "that member")?;
    Ok((member, state))
}

/// The member whose content (diary, reviews, likes, follows, activity) the viewer reads: one
/// statement finds them and their standing.
pub async fn content_owner(
    conn: &mut AsyncPgConnection,
    viewer: Viewer,
    username: &Username,
) -> OpResult<MemberId> {
    owner_of(conn, viewer, username, Subject::Content).await
}

/// [`content_owner`] for a member's watchlist, which they may keep private.
pub async fn watchlist_owner(
    conn: &mut AsyncPgConnection,
    viewer: Viewer,
    username: &Username,
) -> OpResult<MemberId> {
    owner_of(conn, viewer, username, Subject::Watchlist).await
}

async fn owner_of(
    conn: &mut AsyncPgConnection,
    viewer: Viewer,
    username: &Username,
    subject: fn(MemberId) -> Subject,
) -> OpResult<MemberId> {
    let standing = members::standing_by_username(conn, viewer.member(), username.as_str()).await?;
    let id = standing.map(|s| s.id);
    match id {
        Some(id) => require(viewer, subject(id), standing, "that member").map(|()| id),
        None => Err(OpError::NotFound("that member")),
    }
}

/// The owner of a subject a member reports, when the member may see it: its owner's content,
/// entry or profile by the usual rule, and a comment only when the thread it is on is visible too
/// (404, as for a subject that does not exist, otherwise).
pub async fn reportable(
    conn: &mut AsyncPgConnection,
    viewer: Viewer,
    subject: ModerationSubject,
) -> OpResult<MemberId> {
    let gone = || OpError::NotFound("that subject");
    let owner = moderation::subject_owner(conn, subject)
        .await?
        .ok_or_else(gone)?;
    let seen = match subject {
        ModerationSubject::Member(_) => Subject::Profile(owner),
        ModerationSubject::Review(id) => {
            let head = log_entries::owner_and_review(conn, id)
                .await?
                .ok_or_else(gone)?;
            Subject::Entry(owner, head.visibility)
        }
        ModerationSubject::List(id) => {
            let (_, audience) = lists::audience(conn, id).await?.ok_or_else(gone)?;
            Subject::Entry(owner, audience)
        }
        ModerationSubject::Comment(_) | ModerationSubject::ListComment(_) => {
            Subject::Content(owner)
        }
    };
    check(conn, viewer, seen, "that subject").await?;
    if let Some((thread_owner, audience)) = moderation::thread_of(conn, subject).await? {
        check(
            conn,
            viewer,
            Subject::Entry(thread_owner, audience),
            "that subject",
        )
        .await?;
    }
    Ok(owner)
}
