//! Likes of reviews, comments, follows, blocks and mutes, with the rules of `filmlog_domain::rules`.

use filmlog_domain::rules::{self, Barred, EntryReaction};
use filmlog_domain::{ActivityKind, CommentId, FilmId, LogEntryId, MemberId};
use filmlog_persistence::activity::{self, NewActivity};
use filmlog_persistence::social::{self, NewComment};
use filmlog_persistence::{AsyncPgConnection, blocks, log_entries, members};

use super::{OpError, OpResult};

/// The entry's author and film, once `actor` may react to it that way.
async fn reactable(
    conn: &mut AsyncPgConnection,
    entry: LogEntryId,
    actor: MemberId,
    reaction: EntryReaction,
) -> OpResult<(MemberId, FilmId)> {
    let (author, film, has_review) = log_entries::owner_and_review(conn, entry)
        .await?
        .ok_or(OpError::NotFound("that log entry"))?;
    rules::check_reaction(reaction, actor, author, has_review)?;
    if actor != author {
        unbarred(conn, actor, author, "that log entry").await?;
    }
    Ok((author, film))
}

/// `Ok` unless a block stands between `actor` and `owner` or `owner` is suspended: the blocked side,
/// and anyone acting on a suspended member, is answered as if what it acts on (`what`) did not exist,
/// the blocking side with `blocked`. The same standing the reads' visibility rule is given.
async fn unbarred(
    conn: &mut AsyncPgConnection,
    actor: MemberId,
    owner: MemberId,
    what: &'static str,
) -> OpResult<()> {
    let standing = members::standing(conn, Some(actor), owner)
        .await?
        .filter(|s| !s.suspended)
        .ok_or(OpError::NotFound(what))?;
    match rules::check_interaction(standing.blocks()) {
        Ok(()) => Ok(()),
        Err(Barred::Hidden) => Err(OpError::NotFound(what)),
        Err(Barred::Rule(rule)) => Err(rule.into()),
    }
}

/// Likes a review (idempotent), with its activity.
pub async fn like_review(
    conn: &mut AsyncPgConnection,
    entry: LogEntryId,
    member: MemberId,
) -> OpResult<()> {
    let (author, film) = reactable(conn, entry, member, EntryReaction::Like).await?;
    if social::like_review(conn, entry, member).await? {
        let what = NewActivity {
            film: Some(film),
            log_entry: Some(entry),
            subject: Some(author),
            ..Default::default()
        };
        activity::record(conn, member, ActivityKind::ReviewLike, what).await?;
    }
    Ok(())
}

/// Takes a like back (idempotent), with its activity.
pub async fn unlike_review(
    conn: &mut AsyncPgConnection,
    entry: LogEntryId,
    member: MemberId,
) -> OpResult<()> {
    log_entries::owner_and_review(conn, entry)
        .await?
        .ok_or(OpError::NotFound("that log entry"))?;
    if social::unlike_review(conn, entry, member).await? {
        let what = NewActivity {
            log_entry: Some(entry),
            ..Default::default()
        };
        activity::retract(conn, member, ActivityKind::ReviewLike, what).await?;
    }
    Ok(())
}

/// Comments on a review, with its activity.
pub async fn add_comment(
    conn: &mut AsyncPgConnection,
    entry: LogEntryId,
    author: MemberId,
    body: String,
) -> OpResult<CommentId> {
    let (entry_author, film) = reactable(conn, entry, author, EntryReaction::Comment).await?;
    let row = social::insert_comment(
        conn,
        &NewComment {
            log_entry_id: entry,
            author_id: author,
            body,
        },
    )
    .await?;
    let id = row.id;
    let what = NewActivity {
        film: Some(film),
        log_entry: Some(entry),
        comment: Some(id),
        subject: Some(entry_author),
        rating: None,
    };
    activity::record(conn, author, ActivityKind::Comment, what).await?;
    Ok(id)
}

/// Follows (idempotent), with its activity; refused across a block.
pub async fn follow(conn: &mut AsyncPgConnection, me: MemberId, them: MemberId) -> OpResult<()> {
    rules::check_follow(me, them)?;
    // A follow and a block of the same pair are serialised, so none slips in beside a new block.
    blocks::lock_pair(conn, me, them).await?;
    unbarred(conn, me, them, "that member").await?;
    if social::follow(conn, me, them).await? {
        let what = NewActivity {
            subject: Some(them),
            ..Default::default()
        };
        activity::record(conn, me, ActivityKind::Follow, what).await?;
    }
    Ok(())
}

/// Unfollows (idempotent), taking the follow's activity back.
pub async fn unfollow(conn: &mut AsyncPgConnection, me: MemberId, them: MemberId) -> OpResult<()> {
    if social::unfollow(conn, me, them).await? {
        let what = NewActivity {
            subject: Some(them),
            ..Default::default()
        };
        activity::retract(conn, me, ActivityKind::Follow, what).await?;
    }
    Ok(())
}

/// Blocks (idempotent). A new block ends the follows between the two, both ways (with their
/// activity; the counters follow), and undoes nothing else.
pub async fn block(conn: &mut AsyncPgConnection, me: MemberId, them: MemberId) -> OpResult<()> {
    rules::check_block(me, them)?;
    blocks::lock_pair(conn, me, them).await?;
    if blocks::block(conn, me, them).await? {
        unfollow(conn, me, them).await?;
        unfollow(conn, them, me).await?;
    }
    Ok(())
}

/// Lifts a block (idempotent); the follows it ended stay ended.
pub async fn unblock(conn: &mut AsyncPgConnection, me: MemberId, them: MemberId) -> OpResult<()> {
    blocks::unblock(conn, me, them).await?;
    Ok(())
}

/// Mutes (idempotent): their activity leaves my feed; nothing else changes and they are not told.
pub async fn mute(conn: &mut AsyncPgConnection, me: MemberId, them: MemberId) -> OpResult<()> {
    rules::check_mute(me, them)?;
    blocks::mute(conn, me, them).await?;
    Ok(())
}

/// Lifts a mute (idempotent).
pub async fn unmute(conn: &mut AsyncPgConnection, me: MemberId, them: MemberId) -> OpResult<()> {
    blocks::unmute(conn, me, them).await?;
    Ok(())
}
