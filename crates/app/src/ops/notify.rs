//! Telling members what others did to their things, in the transaction of the cause (so a
//! notification never exists without its cause, nor the reverse). Who is told is the domain's rule
//! (`filmlog_domain::notification`); each recipient's own settings (kinds turned off, mutes, blocks)
//! are applied as the row is written.

use diesel_async::AsyncConnection;
use filmlog_domain::notification::{self, NotificationKind};
use filmlog_domain::{Audience, MemberId, Subject};
use filmlog_persistence::AsyncPgConnection;
use filmlog_persistence::notifications::{self, About, Thread};

use super::OpResult;

/// Tells `owner` (one notification row, however many follow them).
pub async fn owner(
    conn: &mut AsyncPgConnection,
    actor: MemberId,
    owner: MemberId,
    kind: NotificationKind,
    about: About,
) -> OpResult<()> {
    if actor != owner {
        notifications::notify(conn, actor, &[(owner, kind)], about).await?;
    }
    Ok(())
}

/// Withdraws what [`owner`] wrote, if it is still unread (the cause was undone).
pub async fn withdraw(
    conn: &mut AsyncPgConnection,
    actor: MemberId,
    owner: MemberId,
    kind: NotificationKind,
    about: About,
) -> OpResult<()> {
    notifications::withdraw(conn, actor, owner, kind, about).await?;
    Ok(())
}

/// Whatever is written where the members `text` mentions can be told of, with the owner's
/// audience: only those who may read it.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub owner: MemberId,
    pub audience: Audience,
    pub about: About,
}

impl Place {
    fn subject(&self) -> Subject {
        Subject::Entry(self.owner, self.audience)
    }
}

/// A new comment by `commenter` in `thread`: its owner, the members it mentions and the thread's
/// subscribers are told (each once; third parties only when they may read the thread); the
/// commenter now takes part in the thread.
pub async fn comment(
    conn: &mut AsyncPgConnection,
    commenter: MemberId,
    thread: Thread,
    owner_kind: NotificationKind,
    body: &str,
    place: Place,
) -> OpResult<()> {
    let mentioned = mentioned(conn, body).await?;
    let (subscribers, unsubscribed) = notifications::subscriptions(conn, thread).await?;
    let candidates = notification::comment_recipients(
        commenter,
        place.owner,
        owner_kind,
        &mentioned,
        &subscribers,
    );
    // One who unsubscribed hears of the thread only when mentioned by name.
    let candidates: Vec<_> = candidates
        .into_iter()
        .filter(|(m, k)| *k == NotificationKind::Mention || !unsubscribed.contains(m))
        .collect();
    let recipients = readable_by(conn, place, candidates).await?;
    notifications::notify(conn, commenter, &recipients, place.about).await?;
    notifications::take_part(conn, commenter, thread).await?;
    Ok(())
}

/// `@`-mentions in a review: the members named are told, when they may read it (a mention already
/// told, as when the review is edited, is not told again).
pub async fn mentions_in_review(
    conn: &mut AsyncPgConnection,
    author: MemberId,
    review: Option<&str>,
    place: Place,
) -> OpResult<()> {
    let Some(text) = review else { return Ok(()) };
    let mentioned = mentioned(conn, text).await?;
    let candidates: Vec<_> = mentioned
        .into_iter()
        .filter(|m| *m != author)
        .map(|m| (m, NotificationKind::Mention))
        .collect();
    let recipients = readable_by(conn, place, candidates).await?;
    notifications::notify(conn, author, &recipients, place.about).await?;
    Ok(())
}

/// The members `text` mentions who exist.
async fn mentioned(conn: &mut AsyncPgConnection, text: &str) -> OpResult<Vec<MemberId>> {
    let names = notification::mentions(text);
    Ok(notifications::ids_by_usernames(conn, &names).await?)
}

/// The candidates who may learn of what happened at `place`: its owner always, anyone else only
/// when the visibility rule lets them read it.
async fn readable_by(
    conn: &mut AsyncPgConnection,
    place: Place,
    candidates: Vec<(MemberId, NotificationKind)>,
) -> OpResult<Vec<(MemberId, NotificationKind)>> {
    let third: Vec<MemberId> = candidates
        .iter()
        .map(|(m, _)| *m)
        .filter(|m| *m != place.owner)
        .collect();
    let relations = notifications::relations_to(conn, place.owner, &third).await?;
    Ok(candidates
        .into_iter()
        .filter(|(m, _)| {
            *m == place.owner
                || relations.iter().any(|(who, relation)| {
                    who == m && notification::may_learn_of(*m, place.subject(), *relation)
                })
        })
        .collect())
}

/// Marks the member's notifications read up to `up_to` (never back) and wakes their live streams.
pub async fn mark_read(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    up_to: chrono::DateTime<chrono::Utc>,
) -> OpResult<()> {
    conn.transaction(async |conn| Ok(notifications::mark_read(conn, member, up_to).await?))
        .await
}
