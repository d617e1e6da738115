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

#[cfg(test)]
mod tests {
    use filmlog_persistence::blocks;

    use super::*;
    use crate::ops::fixture::Fixture;

    #[tokio::test]
    async fn a_comment_tells_the_owner_and_the_mentioned_except_across_a_mute_or_a_block() {
        let mut f = Fixture::new().await;
        let [ana, bo, cy, dee, eve] = [
            f.member("ana").await,
            f.member("bo").await,
            f.member("cy").await,
            f.member("dee").await,
            f.member("eve").await,
        ];
        f.film("children-of-heaven-1997").await;
        let review = f.review(ana, "children-of-heaven-1997").await;
        let place = Place {
            owner: ana,
            audience: Audience::Public,
            about: About {
                log_entry: Some(review),
                ..About::default()
            },
        };
        blocks::mute(&mut f.conn, dee, bo)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        blocks::block(&mut f.conn, eve, bo)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let body = "@cy @dee @eve @bo @nobody see this";
        let thread = Thread::Entry(review);
        let kind = NotificationKind::ReviewComment;
        comment(&mut f.conn, bo, thread, kind, body, place)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.notified(ana).await, ["review_comment"]);
        assert_eq!(f.notified(cy).await, ["mention"]);
        assert!(f.notified(dee).await.is_empty(), "dee mutes bo");
        assert!(f.notified(eve).await.is_empty(), "eve blocks bo");
        assert!(
            f.notified(bo).await.is_empty(),
            "nobody is told of their own words"
        );

        // The commenter now takes part: ana's reply tells bo (a reply), and ana is not told.
        let reply = NotificationKind::ReviewComment;
        comment(&mut f.conn, ana, thread, reply, "thanks", place)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.notified(bo).await, ["reply"]);
        assert_eq!(f.notified(ana).await, ["review_comment"]);
    }

    #[tokio::test]
    async fn a_private_reviews_mentions_reach_only_who_may_read_it_and_are_told_once() {
        let mut f = Fixture::new().await;
        let [ana, bo] = [f.member("ana").await, f.member("bo").await];
        f.film("children-of-heaven-1997").await;
        let review = f.review(ana, "children-of-heaven-1997").await;
        let about = About {
            log_entry: Some(review),
            ..About::default()
        };
        let private = Place {
            owner: ana,
            audience: Audience::Private,
            about,
        };
        mentions_in_review(&mut f.conn, ana, Some("for @bo"), private)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(f.notified(bo).await.is_empty(), "bo may not read it");
        let public = Place {
            audience: Audience::Public,
            ..private
        };
        for _ in 0..2 {
            mentions_in_review(&mut f.conn, ana, Some("for @bo"), public)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(
            f.notified(bo).await,
            ["mention"],
            "told once, however often edited"
        );
    }
}
