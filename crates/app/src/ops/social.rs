//! Likes of reviews, comments, follows, blocks and mutes, with the rules of `filmlog_domain::rules`.

use diesel_async::AsyncConnection;
use filmlog_domain::notification::NotificationKind;
use filmlog_domain::rules::{self, Barred, EntryReaction};
use filmlog_domain::visibility::{Sight, Subject, Viewer, sight};
use filmlog_domain::{
    ActivityKind, Audience, CommentId, FilmId, ListCommentId, ListId, LogEntryId, MemberId,
};
use filmlog_persistence::activity::{self, NewActivity};
use filmlog_persistence::notifications::{self, About, Thread};
use filmlog_persistence::social::{self, CommentView, NewComment};
use filmlog_persistence::{
    AsyncPgConnection, PersistenceError, blocks, lists, log_entries, members,
};

use super::idempotency::{Idempotency, Outcome};
use super::notify::{self, Place};
use super::{OpError, OpResult, step};

/// The entry's author, film and audience, once `actor` may react to it that way (and may read it:
/// an entry hidden from them by its audience or its author's private account is answered as if it
/// did not exist).
async fn reactable(
    conn: &mut AsyncPgConnection,
    entry: LogEntryId,
    actor: MemberId,
    reaction: EntryReaction,
) -> OpResult<(MemberId, FilmId, Audience)> {
    let head = entry_with_standing(conn, entry, actor).await?;
    rules::check_reaction(reaction, actor, head.author, head.has_review)?;
    Ok((head.author, head.film, head.visibility))
}

/// `Ok` unless a block stands between `actor` and the subject's owner or the owner is suspended, or
/// the visibility rule hides the subject from `actor`: the blocked side, and anyone acting on what
/// they may not see, is answered as if it (`what`) did not exist, the blocking side with `blocked`.
/// The same standing the reads' visibility rule is given.
async fn unbarred(
    conn: &mut AsyncPgConnection,
    actor: MemberId,
    subject: Subject,
    what: &'static str,
) -> OpResult<members::Standing> {
    let standing = members::standing(conn, Some(actor), subject.owner())
        .await?
        .ok_or(OpError::NotFound(what))?;
    admit(actor, subject, standing, what)
}

/// [`unbarred`]'s rule over a standing already read.
fn admit(
    actor: MemberId,
    subject: Subject,
    standing: members::Standing,
    what: &'static str,
) -> OpResult<members::Standing> {
    if standing.suspended {
        return Err(OpError::NotFound(what));
    }
    match rules::check_interaction(standing.blocks()) {
        Ok(()) => {}
        Err(Barred::Hidden) => return Err(OpError::NotFound(what)),
        Err(Barred::Rule(rule)) => return Err(rule.into()),
    }
    match sight(Viewer::Member(actor), subject, standing.relation()) {
        Sight::Visible => Ok(standing),
        Sight::Hidden => Err(OpError::NotFound(what)),
    }
}

/// Likes a review (idempotent), with its activity and its author's notification. Two round trips
/// and no explicit transaction: the entry and its author's standing are read together, then the
/// like, its activity and the notification are one statement (atomic on its own). A block or a
/// change of the entry's audience committed between the two is as if it came just after the like,
/// as it could inside a transaction at read committed.
pub async fn like_review(
    conn: &mut AsyncPgConnection,
    entry: LogEntryId,
    member: MemberId,
) -> OpResult<()> {
    let (author, film, _) = reactable(conn, entry, member, EntryReaction::Like).await?;
    let like = social::ReviewLike { film, author };
    let liked = match social::like_review(conn, entry, member, like).await {
        // The entry was deleted since it was read (no transaction holds it).
        Err(PersistenceError::ForeignKeyViolation { .. }) => {
            return Err(OpError::NotFound("that log entry"));
        }
        liked => liked?,
    };
    if liked == social::Liked::AndTold {
        notifications::wake(conn, author).await?;
    }
    Ok(())
}

/// The entry's head once `actor` may read it, across no block (else as if it did not exist, or
/// `blocked` for the blocking side). The entry and its author's standing for `actor` are sent
/// together (the standing found by the entry, not by an author read first): one round trip.
async fn entry_with_standing(
    conn: &AsyncPgConnection,
    entry: LogEntryId,
    actor: MemberId,
) -> OpResult<log_entries::EntryHead> {
    let (head, standing) = futures_util::future::try_join(
        log_entries::owner_and_review(conn, entry),
        members::standing_of_entry_author(conn, Some(actor), entry),
    )
    .await?;
    let head = head.ok_or(OpError::NotFound("that log entry"))?;
    if actor != head.author {
        let standing = standing.ok_or(OpError::NotFound("that log entry"))?;
        let subject = Subject::Entry(head.author, head.visibility);
        admit(actor, subject, standing, "that log entry")?;
    }
    Ok(head)
}

fn entry_about(entry: LogEntryId) -> About {
    About {
        log_entry: Some(entry),
        ..About::default()
    }
}

/// Takes a like back (idempotent), with its activity.
pub async fn unlike_review(
    conn: &mut AsyncPgConnection,
    entry: LogEntryId,
    member: MemberId,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        let head = log_entries::owner_and_review(conn, entry)
            .await?
            .ok_or(OpError::NotFound("that log entry"))?;
        if social::unlike_review(conn, entry, member).await? {
            let what = NewActivity {
                log_entry: Some(entry),
                ..Default::default()
            };
            activity::retract(conn, member, ActivityKind::ReviewLike, what).await?;
            let (kind, about) = (NotificationKind::ReviewLike, entry_about(entry));
            notify::withdraw(conn, member, head.author, kind, about).await?;
        }
        Ok(())
    })
    .await
}

/// Comments on a review, with its activity. A step, inside the caller's unit ([`comment_once`],
/// the seed's).
pub async fn add_comment(
    conn: &mut AsyncPgConnection,
    entry: LogEntryId,
    author: MemberId,
    body: String,
) -> OpResult<CommentId> {
    let (entry_author, film, audience) =
        reactable(conn, entry, author, EntryReaction::Comment).await?;
    let new = NewComment {
        log_entry_id: entry,
        author_id: author,
        body,
    };
    let row = social::insert_comment(conn, &new).await?;
    let id = row.id;
    let place = Place {
        owner: entry_author,
        audience,
        about: About {
            log_entry: Some(entry),
            comment: Some(id),
            ..About::default()
        },
    };
    let (thread, kind) = (Thread::Entry(entry), NotificationKind::ReviewComment);
    notify::comment(conn, author, thread, kind, &new.body, place).await?;
    let what = NewActivity {
        film: Some(film),
        log_entry: Some(entry),
        comment: Some(id),
        subject: Some(entry_author),
        ..Default::default()
    };
    activity::record(conn, author, ActivityKind::Comment, what).await?;
    Ok(id)
}

/// What asking to follow did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Followed {
    /// Following (now or already).
    Following,
    /// Their account is private: a request waits for their answer (now or already).
    Requested,
}

/// Follows (idempotent), with its activity; refused across a block. A private account's new
/// followers become requests ([`approve`], [`deny`]).
pub async fn follow(
    conn: &mut AsyncPgConnection,
    me: MemberId,
    them: MemberId,
) -> OpResult<Followed> {
    conn.transaction(async |conn| {
        rules::check_follow(me, them)?;
        // A follow and a block of the same pair are serialised, so none slips in beside a new block.
        blocks::lock_pair(conn, me, them).await?;
        let standing = unbarred(conn, me, Subject::Profile(them), "that member").await?;
        if standing.private_account && !standing.viewer.following {
            if social::request_follow(conn, me, them).await? {
                let kind = NotificationKind::FollowRequest;
                notify::owner(conn, me, them, kind, About::default()).await?;
            }
            return Ok(Followed::Requested);
        }
        if start_following(conn, me, them).await? {
            notify::owner(conn, me, them, NotificationKind::Follow, About::default()).await?;
        }
        Ok(Followed::Following)
    })
    .await
}

/// The follow itself, with its activity (idempotent); `true` when it is new.
async fn start_following(
    conn: &mut AsyncPgConnection,
    follower: MemberId,
    followee: MemberId,
) -> OpResult<bool> {
    let new = social::follow(conn, follower, followee).await?;
    if new {
        let what = NewActivity {
            subject: Some(followee),
            ..Default::default()
        };
        activity::record(conn, follower, ActivityKind::Follow, what).await?;
    }
    Ok(new)
}

/// Approves `requester`'s request to follow `me`: it becomes a follow (the counters follow); 404
/// when there is no such request.
pub async fn approve(
    conn: &mut AsyncPgConnection,
    me: MemberId,
    requester: MemberId,
) -> OpResult<()> {
    conn.transaction(async |conn| approve_in(conn, me, requester).await)
        .await
}

async fn approve_in(
    conn: &mut AsyncPgConnection,
    me: MemberId,
    requester: MemberId,
) -> OpResult<()> {
    blocks::lock_pair(conn, me, requester).await?;
    if !social::remove_request(conn, requester, me).await? {
        return Err(OpError::NotFound("that follow request"));
    }
    // The requester is told; the approver, who asked for nothing, is not told of a new follower.
    if start_following(conn, requester, me).await? {
        let kind = NotificationKind::FollowApproved;
        notify::owner(conn, me, requester, kind, About::default()).await?;
    }
    Ok(())
}

/// Denies `requester`'s request to follow `me`; 404 when there is no such request.
pub async fn deny(conn: &mut AsyncPgConnection, me: MemberId, requester: MemberId) -> OpResult<()> {
    conn.transaction(async |conn| {
        if !social::remove_request(conn, requester, me).await? {
            return Err(OpError::NotFound("that follow request"));
        }
        Ok(())
    })
    .await
}

/// When an account turns public, its pending requests are approved: each requester asked to
/// follow, and a public account takes followers without asking. A step, inside the caller's unit
/// ([`super::accounts::update_profile`]).
pub async fn approve_all(conn: &mut AsyncPgConnection, me: MemberId) -> OpResult<usize> {
    let requesters = social::requesters(conn, me).await?;
    for requester in &requesters {
        // Inside the caller's unit: no savepoint per request (an account may have thousands).
        approve_in(conn, me, *requester).await?;
    }
    Ok(requesters.len())
}

/// Unfollows, or withdraws a request to follow (idempotent), taking the follow's activity back.
pub async fn unfollow(conn: &mut AsyncPgConnection, me: MemberId, them: MemberId) -> OpResult<()> {
    conn.transaction(async |conn| unfollow_in(conn, me, them).await)
        .await
}

/// [`unfollow`] inside the caller's unit (a block ends both follows in its own transaction).
async fn unfollow_in(conn: &mut AsyncPgConnection, me: MemberId, them: MemberId) -> OpResult<()> {
    let none = About::default();
    if social::remove_request(conn, me, them).await? {
        notify::withdraw(conn, me, them, NotificationKind::FollowRequest, none).await?;
    }
    if social::unfollow(conn, me, them).await? {
        let what = NewActivity {
            subject: Some(them),
            ..Default::default()
        };
        activity::retract(conn, me, ActivityKind::Follow, what).await?;
        notify::withdraw(conn, me, them, NotificationKind::Follow, none).await?;
    }
    Ok(())
}

/// Blocks (idempotent). A new block ends the follows between the two, both ways (with their
/// activity; the counters follow), and undoes nothing else.
pub async fn block(conn: &mut AsyncPgConnection, me: MemberId, them: MemberId) -> OpResult<()> {
    conn.transaction(async |conn| {
        rules::check_block(me, them)?;
        blocks::lock_pair(conn, me, them).await?;
        if blocks::block(conn, me, them).await? {
            // (Also withdraws the follow requests between them.)
            unfollow_in(conn, me, them).await?;
            unfollow_in(conn, them, me).await?;
        }
        Ok(())
    })
    .await
}

/// Lifts a block (idempotent); the follows it ended stay ended.
pub async fn unblock(conn: &mut AsyncPgConnection, me: MemberId, them: MemberId) -> OpResult<()> {
    conn.transaction(async |conn| {
        blocks::unblock(conn, me, them).await?;
        Ok(())
    })
    .await
}

/// Mutes (idempotent): their activity leaves my feed; nothing else changes and they are not told.
pub async fn mute(conn: &mut AsyncPgConnection, me: MemberId, them: MemberId) -> OpResult<()> {
    conn.transaction(async |conn| {
        rules::check_mute(me, them)?;
        blocks::mute(conn, me, them).await?;
        Ok(())
    })
    .await
}

/// Lifts a mute (idempotent).
pub async fn unmute(conn: &mut AsyncPgConnection, me: MemberId, them: MemberId) -> OpResult<()> {
    conn.transaction(async |conn| {
        blocks::unmute(conn, me, them).await?;
        Ok(())
    })
    .await
}

/// The owner of a list `actor` may react to (like, comment on): one they may read, across no block
/// (the rule [`unbarred`] applies to entries).
async fn reactable_list(
    conn: &mut AsyncPgConnection,
    list: ListId,
    actor: MemberId,
) -> OpResult<(MemberId, Audience)> {
    let (owner, audience) = lists::audience(conn, list)
        .await?
        .ok_or(OpError::NotFound("that list"))?;
    if actor != owner {
        unbarred(conn, actor, Subject::Entry(owner, audience), "that list").await?;
    }
    Ok((owner, audience))
}

fn list_about(list: ListId) -> About {
    About {
        list: Some(list),
        ..About::default()
    }
}

/// Likes a list (idempotent): not one's own, and only a list one may read, across no block.
pub async fn like_list(
    conn: &mut AsyncPgConnection,
    list: ListId,
    member: MemberId,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        let (owner, _) = reactable_list(conn, list, member).await?;
        rules::check_list_like(member, owner)?;
        if lists::like(conn, list, member).await? {
            let what = NewActivity {
                list: Some(list),
                subject: Some(owner),
                ..Default::default()
            };
            activity::record(conn, member, ActivityKind::ListLike, what).await?;
            let kind = NotificationKind::ListLike;
            notify::owner(conn, member, owner, kind, list_about(list)).await?;
        }
        Ok(())
    })
    .await
}

/// Takes a like of a list back (idempotent).
pub async fn unlike_list(
    conn: &mut AsyncPgConnection,
    list: ListId,
    member: MemberId,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        let (owner, _) = lists::audience(conn, list)
            .await?
            .ok_or(OpError::NotFound("that list"))?;
        if lists::unlike(conn, list, member).await? {
            let what = NewActivity {
                list: Some(list),
                ..Default::default()
            };
            activity::retract(conn, member, ActivityKind::ListLike, what).await?;
            let kind = NotificationKind::ListLike;
            notify::withdraw(conn, member, owner, kind, list_about(list)).await?;
        }
        Ok(())
    })
    .await
}

/// Comments on a list: one the commenter may read, across no block.
pub async fn add_list_comment(
    conn: &mut AsyncPgConnection,
    list: ListId,
    author: MemberId,
    body: &str,
) -> OpResult<lists::ListCommentView> {
    conn.transaction(async |conn| {
        let (owner, audience) = reactable_list(conn, list, author).await?;
        let view = lists::insert_comment(conn, list, author, body).await?;
        let place = Place {
            owner,
            audience,
            about: About {
                list: Some(list),
                list_comment: Some(view.comment.id),
                ..About::default()
            },
        };
        let (thread, kind) = (Thread::List(list), NotificationKind::ListComment);
        notify::comment(conn, author, thread, kind, body, place).await?;
        Ok(view)
    })
    .await
}

/// Subscribes to a review's thread (`on`) or unsubscribes for good: only a thread one may read.
pub async fn subscribe_entry(
    conn: &mut AsyncPgConnection,
    entry: LogEntryId,
    member: MemberId,
    on: bool,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        entry_with_standing(conn, entry, member).await?;
        let thread = Thread::Entry(entry);
        filmlog_persistence::notifications::set_subscription(conn, member, thread, on).await?;
        Ok(())
    })
    .await
}

/// Subscribes to a list's thread (`on`) or unsubscribes for good: only a list one may read.
pub async fn subscribe_list(
    conn: &mut AsyncPgConnection,
    list: ListId,
    member: MemberId,
    on: bool,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        reactable_list(conn, list, member).await?;
        let thread = Thread::List(list);
        filmlog_persistence::notifications::set_subscription(conn, member, thread, on).await?;
        Ok(())
    })
    .await
}

/// Comments on a log entry once per idempotency key (see [`Idempotency::once`]); `render` turns the
/// new comment into the response stored under the key.
pub async fn comment_once(
    conn: &mut AsyncPgConnection,
    idempotency: &Idempotency,
    entry: LogEntryId,
    author: MemberId,
    text: String,
    render: impl FnOnce(CommentView) -> OpResult<Outcome> + Send,
) -> OpResult<Outcome> {
    let create = step(move |conn| {
        Box::pin(async move {
            let id = add_comment(conn, entry, author, text).await?;
            social::comment_view(conn, id)
                .await?
                .ok_or(OpError::NotFound("that comment"))
        })
    });
    idempotency.once(conn, author, create, render).await
}

/// Edits a comment: only its author, and not once a moderator removed it (404 otherwise, as if it
/// did not exist).
pub async fn edit_comment(
    conn: &mut AsyncPgConnection,
    me: MemberId,
    id: CommentId,
    body: &str,
) -> OpResult<CommentView> {
    conn.transaction(async |conn| {
        let current = social::comment_view(conn, id)
            .await?
            .ok_or(OpError::NotFound("that comment"))?;
        let removed = current.comment.removed_at.is_some();
        if !rules::may_edit_comment(me, current.comment.author_id, removed) {
            return Err(OpError::NotFound("that comment"));
        }
        social::update_comment(conn, id, body).await?;
        social::comment_view(conn, id)
            .await?
            .ok_or(OpError::NotFound("that comment"))
    })
    .await
}

/// Deletes a comment on a log entry: its author, or the entry's owner (404 for anyone else).
pub async fn delete_comment(
    conn: &mut AsyncPgConnection,
    me: MemberId,
    id: CommentId,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        let current = social::comment_view(conn, id)
            .await?
            .ok_or(OpError::NotFound("that comment"))?;
        let author = current.comment.author_id;
        // The entry's owner is looked up only for someone else's comment.
        let owner = if author == me {
            None
        } else {
            let entry = current.comment.log_entry_id;
            log_entries::owner_and_review(conn, entry)
                .await?
                .map(|head| head.author)
        };
        if !rules::may_delete_comment(me, author, owner) {
            return Err(OpError::NotFound("that comment"));
        }
        social::delete_comment(conn, id).await?;
        Ok(())
    })
    .await
}

/// Deletes a comment on a list: its author, or the list's owner (404 for anyone else).
pub async fn delete_list_comment(
    conn: &mut AsyncPgConnection,
    me: MemberId,
    id: ListCommentId,
) -> OpResult<()> {
    conn.transaction(async |conn| match lists::comment_owners(conn, id).await? {
        Some((author, owner)) if rules::may_delete_comment(me, author, Some(owner)) => {
            lists::delete_comment(conn, id).await?;
            Ok(())
        }
        _ => Err(OpError::NotFound("that comment")),
    })
    .await
}

/// `me` read their feed and [`TimelineState::needs_touch`](filmlog_persistence::timelines::TimelineState::needs_touch)
/// said so (the caller decides, before spending a connection): the first read requests the
/// timeline (the jobs' feed worker builds it; until then pages come from the followees), later ones
/// keep it from being dropped as inactive.
pub async fn read_feed(conn: &mut AsyncPgConnection, me: MemberId) -> OpResult<()> {
    filmlog_persistence::timelines::touch(conn, me).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

    use super::*;
    use crate::ops::fixture::Fixture;

    #[tokio::test]
    async fn a_review_deleted_while_it_is_liked_is_not_found_and_nothing_is_written() {
        // A like reads the entry, then writes without a transaction: a deletion committed between
        // the two is a 404, not the foreign key's error.
        let mut f = Fixture::new().await;
        let (ana, bo) = (f.member("ana").await, f.member("bo").await);
        f.film("children-of-heaven-1997").await;
        let review = f.review(bo, "children-of-heaven-1997").await;
        let (mut deleter, mut watcher) = (f.connect().await, f.connect().await);
        let delete = format!("BEGIN; DELETE FROM log_entries WHERE id = {}", review.get());
        deleter
            .batch_execute(&delete)
            .await
            .unwrap_or_else(|e| panic!("delete: {e}"));
        // The like reads the entry (the deletion is not committed yet) and its insert waits on the
        // deleted row; then the deletion commits.
        let commit = async {
            let mut waited = false;
            let waiting = "SELECT 1 FROM pg_stat_activity \
                           WHERE datname = current_database() AND wait_event_type = 'Lock'";
            for _ in 0..500 {
                let n = diesel::sql_query(waiting)
                    .execute(&mut watcher)
                    .await
                    .unwrap_or_else(|e| panic!("watch: {e}"));
                if n > 0 {
                    waited = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            deleter
                .batch_execute("COMMIT")
                .await
                .unwrap_or_else(|e| panic!("commit: {e}"));
            waited
        };
        let (liked, waited) = tokio::join!(like_review(&mut f.conn, review, ana), commit);
        assert!(waited, "the like's write never waited on the deleted row");
        assert!(matches!(liked, Err(OpError::NotFound(_))), "{liked:?}");
        assert_eq!(f.count("review_likes").await, 0);
        assert_eq!(f.count("notifications").await, 0);
    }

    #[tokio::test]
    async fn only_the_author_edits_a_comment_and_the_author_or_the_reviewer_deletes_it() {
        let mut f = Fixture::new().await;
        let (ana, bo, cy) = (
            f.member("ana").await,
            f.member("bo").await,
            f.member("cy").await,
        );
        f.film("children-of-heaven-1997").await;
        let review = f.review(bo, "children-of-heaven-1997").await;
        let comment = add_comment(&mut f.conn, review, ana, "so good".to_owned())
            .await
            .unwrap_or_else(|e| panic!("{e}"));

        let by_reviewer = edit_comment(&mut f.conn, bo, comment, "mine now").await;
        assert!(
            matches!(by_reviewer, Err(OpError::NotFound(_))),
            "{by_reviewer:?}"
        );
        let edited = edit_comment(&mut f.conn, ana, comment, "so, so good")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(edited.comment.body, "so, so good");

        let by_stranger = delete_comment(&mut f.conn, cy, comment).await;
        assert!(
            matches!(by_stranger, Err(OpError::NotFound(_))),
            "{by_stranger:?}"
        );
        assert_eq!(f.count("comments").await, 1);
        delete_comment(&mut f.conn, bo, comment)
            .await
            .unwrap_or_else(|e| panic!("the reviewer deletes: {e}"));
        assert_eq!(f.count("comments").await, 0);
    }

    #[tokio::test]
    async fn a_removed_comment_stays_removed_even_for_its_author() {
        let mut f = Fixture::new().await;
        let (ana, bo) = (f.member("ana").await, f.member("bo").await);
        f.film("children-of-heaven-1997").await;
        let review = f.review(bo, "children-of-heaven-1997").await;
        let comment = add_comment(&mut f.conn, review, ana, "spam".to_owned())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let removed = filmlog_domain::moderation::ModerationSubject::Comment(comment);
        filmlog_persistence::moderation::remove(&mut f.conn, removed)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let edited = edit_comment(&mut f.conn, ana, comment, "not spam").await;
        assert!(matches!(edited, Err(OpError::NotFound(_))), "{edited:?}");
    }

    #[tokio::test]
    async fn an_idempotent_comment_is_made_once_and_a_reused_key_is_refused() {
        let mut f = Fixture::new().await;
        let (ana, bo) = (f.member("ana").await, f.member("bo").await);
        f.film("children-of-heaven-1997").await;
        let review = f.review(bo, "children-of-heaven-1997").await;
        let keyed = |hash: u8| Idempotency {
            key: Some("k1".to_owned()),
            request_hash: [hash; 32],
        };
        let render = |view: CommentView| {
            Ok(Outcome {
                status: 201,
                location: Some(format!("/comments/{}", view.comment.id)),
                body: view.comment.body.into_bytes(),
                replayed: false,
            })
        };
        let text = || "first".to_owned();
        let first = comment_once(&mut f.conn, &keyed(1), review, ana, text(), render)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let again = comment_once(&mut f.conn, &keyed(1), review, ana, text(), render)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!first.replayed && again.replayed);
        assert_eq!((first.location, first.body), (again.location, again.body));
        assert_eq!(f.count("comments").await, 1);

        let other = comment_once(&mut f.conn, &keyed(2), review, ana, text(), render).await;
        assert!(
            matches!(
                other,
                Err(OpError::Rule(
                    filmlog_domain::RuleError::IdempotencyKeyReused
                ))
            ),
            "{other:?}"
        );
        assert_eq!(f.count("comments").await, 1);
    }
}
