//! Review likes, comments and follows. Their counters are kept by triggers.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Text};
use diesel::{
    ExpressionMethods, JoinOnDsl, OptionalExtension, QueryDsl, Queryable, QueryableByName,
    Selectable, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::notification::NotificationKind;
use filmlog_domain::{ActivityKind, CommentId, FilmId, LogEntryId, MemberId};

use crate::Result;
use crate::members::MemberSummaryRow;
use crate::schema::{comments, follow_requests, follows, members, review_likes};
use crate::viewer::{ViewerMemberRow, viewer_id};

/// Likes a review and, when the like is new, records its activity and tells the review's author:
/// one statement (so one transaction and one round trip). The notification is written by
/// `notify_members` (the author's settings, mutes and blocks applied there, as for every
/// notification); the caller wakes the author's live streams when it was.
pub async fn like_review(
    conn: &mut AsyncPgConnection,
    entry: LogEntryId,
    member: MemberId,
    like: ReviewLike,
) -> Result<Liked> {
    let outcome: LikeOutcome = LikeReview {
        entry: entry.get(),
        member: member.get(),
        film: like.film.get(),
        author: like.author.get(),
        activity: ActivityKind::ReviewLike.as_str(),
        notification: NotificationKind::ReviewLike.as_str(),
    }
    .get_result(conn)
    .await?;
    Ok(match (outcome.liked, outcome.told) {
        (0, _) => Liked::Already,
        (_, 0) => Liked::Quietly,
        _ => Liked::AndTold,
    })
}

/// What [`like_review`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liked {
    /// The member liked it already: nothing written.
    Already,
    /// A new like, whose author was not told (their settings, a mute or a block).
    Quietly,
    /// A new like, and its author's notification.
    AndTold,
}

/// The review a like is of, as its activity (a `review_like`) and its author's notification (a
/// `review_like`) name it beside the like.
#[derive(Debug, Clone, Copy)]
pub struct ReviewLike {
    pub film: FilmId,
    pub author: MemberId,
}

/// [`like_review`]'s statement, prepared once per connection. Data-modifying sub-statements all run
/// to completion; the activity and the notification only for a like that is new.
const LIKE_REVIEW_SQL: &str = "\
WITH liked AS (
    INSERT INTO review_likes (log_entry_id, member_id) VALUES ($1, $2)
    ON CONFLICT DO NOTHING RETURNING log_entry_id
), activity AS (
    INSERT INTO activities (actor_id, kind, film_id, log_entry_id, subject_member_id)
    SELECT $2, $5, $3, l.log_entry_id, $4 FROM liked l
)
SELECT count(*) AS liked,
       coalesce(sum(notify_members($2, ARRAY[$4::bigint], ARRAY[$6::text], l.log_entry_id, NULL,
                                   NULL, NULL)), 0) AS told
FROM liked l";

struct LikeReview<'a> {
    entry: i64,
    member: i64,
    film: i64,
    author: i64,
    activity: &'a str,
    notification: &'a str,
}

cached_statement!(LikeReview, LIKE_REVIEW_SQL, |s| {
    "1" => BigInt: &s.entry,
    "2" => BigInt: &s.member,
    "3" => BigInt: &s.film,
    "4" => BigInt: &s.author,
    "5" => Text: s.activity,
    "6" => Text: s.notification,
});

#[derive(QueryableByName)]
struct LikeOutcome {
    #[diesel(sql_type = BigInt)]
    liked: i64,
    #[diesel(sql_type = BigInt)]
    told: i64,
}

/// Removes a like; `true` when there was one.
pub async fn unlike_review(
    conn: &mut AsyncPgConnection,
    entry: LogEntryId,
    member: MemberId,
) -> Result<bool> {
    let n = diesel::delete(review_likes::table.find((entry.get(), member.get())))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Who liked a review, newest first; for a signed-in `viewer`, without the members on the other side
/// of a block.
pub async fn review_likers(
    conn: &mut AsyncPgConnection,
    entry: LogEntryId,
    viewer: Option<MemberId>,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<(MemberSummaryRow, DateTime<Utc>, ViewerMemberRow)>> {
    likers!(
        conn,
        review_likes,
        log_entry_id,
        entry.get(),
        viewer,
        after,
        limit
    )
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = comments, check_for_backend(diesel::pg::Pg))]
pub struct CommentRow {
    #[diesel(deserialize_as = i64)]
    pub id: CommentId,
    #[diesel(deserialize_as = i64)]
    pub log_entry_id: LogEntryId,
    #[diesel(deserialize_as = i64)]
    pub author_id: MemberId,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When a moderator removed it (shown as a tombstone).
    pub removed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct CommentView {
    #[diesel(embed)]
    pub comment: CommentRow,
    #[diesel(embed)]
    pub author: MemberSummaryRow,
}

#[derive(Debug)]
pub struct NewComment {
    pub log_entry_id: LogEntryId,
    pub author_id: MemberId,
    pub body: String,
}

pub async fn insert_comment(conn: &mut AsyncPgConnection, new: &NewComment) -> Result<CommentRow> {
    Ok(diesel::insert_into(comments::table)
        .values((
            comments::log_entry_id.eq(new.log_entry_id.get()),
            comments::author_id.eq(new.author_id.get()),
            comments::body.eq(&new.body),
        ))
        .returning(CommentRow::as_returning())
        .get_result(conn)
        .await?)
}

pub async fn comment_view(
    conn: &mut AsyncPgConnection,
    id: CommentId,
) -> Result<Option<CommentView>> {
    Ok(comments::table
        .inner_join(members::table)
        .filter(comments::id.eq(id.get()))
        .select(CommentView::as_select())
        .first(conn)
        .await
        .optional()?)
}

pub async fn update_comment(conn: &mut AsyncPgConnection, id: CommentId, body: &str) -> Result<()> {
    diesel::update(comments::table.find(id.get()))
        .set((comments::body.eq(body), comments::updated_at.eq(Utc::now())))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_comment(conn: &mut AsyncPgConnection, id: CommentId) -> Result<()> {
    diesel::delete(comments::table.find(id.get()))
        .execute(conn)
        .await?;
    Ok(())
}

/// A thread, oldest first, each comment with whether its author and the signed-in `viewer` are on
/// the two sides of a block, and whether its author is suspended now (the thread keeps its shape;
/// the API shows such comments as tombstones).
pub async fn comments_of(
    conn: &mut AsyncPgConnection,
    entry: LogEntryId,
    viewer: Option<MemberId>,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<(CommentView, bool, bool)>> {
    thread!(
        conn,
        comments,
        CommentView,
        log_entry_id,
        entry.get(),
        viewer,
        after,
        limit
    )
}

/// Follows; `true` when the follow is new.
pub async fn follow(
    conn: &mut AsyncPgConnection,
    follower: MemberId,
    followee: MemberId,
) -> Result<bool> {
    let n = diesel::insert_into(follows::table)
        .values((
            follows::follower_id.eq(follower.get()),
            follows::followee_id.eq(followee.get()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(n == 1)
}

pub async fn unfollow(
    conn: &mut AsyncPgConnection,
    follower: MemberId,
    followee: MemberId,
) -> Result<bool> {
    let n = diesel::delete(follows::table.find((follower.get(), followee.get())))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

pub async fn is_following(
    conn: &mut AsyncPgConnection,
    follower: MemberId,
    followee: MemberId,
) -> Result<bool> {
    Ok(follows::table
        .find((follower.get(), followee.get()))
        .select(follows::created_at)
        .first::<DateTime<Utc>>(conn)
        .await
        .optional()?
        .is_some())
}

/// Followers (`followers = true`) or followees of `member`, newest follow first; for a signed-in
/// `viewer`, without the members on the other side of a block.
pub async fn follow_list(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    viewer: Option<MemberId>,
    followers: bool,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<(MemberSummaryRow, DateTime<Utc>, ViewerMemberRow)>> {
    let viewing = viewer_id(viewer);
    // The same page from either side of the follow (its FROM clause differs, so two statements).
    let rows = if followers {
        let query = follows::table
            .inner_join(members::table.on(members::id.eq(follows::follower_id)))
            .filter(follows::followee_id.eq(member.get()))
            .select((
                MemberSummaryRow::as_select(),
                follows::created_at,
                crate::viewer_member_columns(viewing),
            ))
            .order((follows::created_at.desc(), follows::follower_id.desc()))
            .limit(limit)
            .into_boxed();
        let query = match after {
            Some(key) => query.filter(crate::before(
                (follows::created_at, follows::follower_id),
                key,
            )),
            None => query,
        };
        crate::others_page(query, viewer).load(conn).await?
    } else {
        let query = follows::table
            .inner_join(members::table.on(members::id.eq(follows::followee_id)))
            .filter(follows::follower_id.eq(member.get()))
            .select((
                MemberSummaryRow::as_select(),
                follows::created_at,
                crate::viewer_member_columns(viewing),
            ))
            .order((follows::created_at.desc(), follows::followee_id.desc()))
            .limit(limit)
            .into_boxed();
        let query = match after {
            Some(key) => query.filter(crate::before(
                (follows::created_at, follows::followee_id),
                key,
            )),
            None => query,
        };
        crate::others_page(query, viewer).load(conn).await?
    };
    Ok(rows)
}

/// Asks to follow a private account (idempotent); `true` when the request is new.
pub async fn request_follow(
    conn: &mut AsyncPgConnection,
    requester: MemberId,
    target: MemberId,
) -> Result<bool> {
    let n = diesel::insert_into(follow_requests::table)
        .values((
            follow_requests::requester_id.eq(requester.get()),
            follow_requests::target_id.eq(target.get()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Takes a follow request away (withdrawn, approved or denied); `true` when there was one.
pub async fn remove_request(
    conn: &mut AsyncPgConnection,
    requester: MemberId,
    target: MemberId,
) -> Result<bool> {
    let n = diesel::delete(follow_requests::table.find((requester.get(), target.get())))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Everyone waiting for `target` to answer, oldest first.
pub async fn requesters(conn: &mut AsyncPgConnection, target: MemberId) -> Result<Vec<MemberId>> {
    let ids: Vec<i64> = follow_requests::table
        .filter(follow_requests::target_id.eq(target.get()))
        .order((
            follow_requests::created_at.asc(),
            follow_requests::requester_id.asc(),
        ))
        .select(follow_requests::requester_id)
        .load(conn)
        .await?;
    Ok(ids.into_iter().map(MemberId::new).collect())
}

/// The requests to follow `target`, newest first, after `(at, requester id)`.
pub async fn follow_requests(
    conn: &mut AsyncPgConnection,
    target: MemberId,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<(MemberSummaryRow, DateTime<Utc>)>> {
    let mut query = follow_requests::table
        .inner_join(members::table.on(members::id.eq(follow_requests::requester_id)))
        .filter(follow_requests::target_id.eq(target.get()))
        .select((MemberSummaryRow::as_select(), follow_requests::created_at))
        .order((
            follow_requests::created_at.desc(),
            follow_requests::requester_id.desc(),
        ))
        .limit(limit)
        .into_boxed();
    query = query.filter(crate::active_member());
    if let Some((at, id)) = after {
        query = query.filter(crate::before(
            (follow_requests::created_at, follow_requests::requester_id),
            (at, id),
        ));
    }
    Ok(query.load(conn).await?)
}
