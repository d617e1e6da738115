//! The activity stream: what members did, and the feed of the members one follows.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{BigInt, Bool, Date, Int2, Integer, Nullable, Text, Timestamptz};
use diesel::{ExpressionMethods, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::{
    ActivityId, ActivityKind, CommentId, FilmId, ListId, LogEntryId, MemberId, Rating,
};

use crate::Result;
use crate::schema::activities;
use crate::types::{DbName, DbRating, NullableId};
use crate::viewer::ViewerFilmRow;

/// One thing a member did and what it was about.
#[derive(Debug, Clone, Default)]
pub struct NewActivity {
    pub film: Option<FilmId>,
    pub log_entry: Option<LogEntryId>,
    pub comment: Option<CommentId>,
    pub subject: Option<MemberId>,
    pub rating: Option<Rating>,
    pub list: Option<ListId>,
    /// For a list's activity: the films it counts.
    pub film_count: Option<i32>,
}

pub async fn record(
    conn: &mut AsyncPgConnection,
    actor: MemberId,
    kind: ActivityKind,
    what: NewActivity,
) -> Result<()> {
    diesel::insert_into(activities::table)
        .values((
            activities::actor_id.eq(actor.get()),
            activities::kind.eq(kind.as_str()),
            activities::film_id.eq(what.film.map(FilmId::get)),
            activities::log_entry_id.eq(what.log_entry.map(LogEntryId::get)),
            activities::comment_id.eq(what.comment.map(CommentId::get)),
            activities::subject_member_id.eq(what.subject.map(MemberId::get)),
            activities::rating.eq(what.rating.map(Rating::halves)),
            activities::list_id.eq(what.list.map(ListId::get)),
            activities::film_count.eq(what.film_count),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes the activity of something undone (an unlike, an unfollow, a removal from the watchlist, a
/// rating taken back), so feeds never show what is no longer true.
pub async fn retract(
    conn: &mut AsyncPgConnection,
    actor: MemberId,
    kind: ActivityKind,
    what: NewActivity,
) -> Result<()> {
    let mut query = diesel::delete(activities::table)
        .filter(activities::actor_id.eq(actor.get()))
        .filter(activities::kind.eq(kind.as_str()))
        .into_boxed();
    if let Some(f) = what.film {
        query = query.filter(activities::film_id.eq(f.get()));
    }
    if let Some(e) = what.log_entry {
        query = query.filter(activities::log_entry_id.eq(e.get()));
    }
    if let Some(s) = what.subject {
        query = query.filter(activities::subject_member_id.eq(s.get()));
    }
    if let Some(l) = what.list {
        query = query.filter(activities::list_id.eq(l.get()));
    }
    query.execute(conn).await?;
    Ok(())
}

/// The newest activity by `actor` about adding films to `list` (its creation or an addition): id
/// and time, for the collapse rule of `filmlog_domain::activity::ListAddition`.
pub async fn newest_list_addition(
    conn: &mut AsyncPgConnection,
    actor: MemberId,
    list: ListId,
) -> Result<Option<(ActivityId, DateTime<Utc>)>> {
    use diesel::{OptionalExtension, QueryDsl};
    let newest: Option<(i64, DateTime<Utc>)> = activities::table
        .filter(activities::list_id.eq(list.get()))
        .filter(activities::actor_id.eq(actor.get()))
        .filter(activities::kind.eq_any([
            ActivityKind::ListCreated.as_str(),
            ActivityKind::ListFilmsAdded.as_str(),
        ]))
        .order(activities::created_at.desc())
        .select((activities::id, activities::created_at))
        .first(conn)
        .await
        .optional()?;
    Ok(newest.map(|(id, at)| (ActivityId::new(id), at)))
}

/// Counts `films` more into a list activity (edits collapsed into it).
pub async fn count_films_into(
    conn: &mut AsyncPgConnection,
    id: ActivityId,
    films: i32,
) -> Result<()> {
    use diesel::QueryDsl;
    diesel::update(activities::table.find(id.get()))
        .set(activities::film_count.eq(activities::film_count + films))
        .execute(conn)
        .await?;
    Ok(())
}

/// The activity of a log entry now reads as `kind` with `rating` (the entry gained or lost its review
/// text, or its rating changed).
pub async fn restate(
    conn: &mut AsyncPgConnection,
    entry: LogEntryId,
    kind: ActivityKind,
    rating: Option<Rating>,
) -> Result<()> {
    diesel::update(activities::table)
        .filter(activities::log_entry_id.eq(entry.get()))
        .filter(activities::kind.eq_any([
            ActivityKind::DiaryEntry.as_str(),
            ActivityKind::Review.as_str(),
        ]))
        .set((
            activities::kind.eq(kind.as_str()),
            activities::rating.eq(rating.map(Rating::halves)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// An activity with everything a client needs to render it.
#[derive(Debug, Clone, QueryableByName)]
pub struct ActivityView {
    #[diesel(sql_type = BigInt, deserialize_as = i64)]
    pub id: ActivityId,
    /// An unknown kind in the table (its CHECK constraint lists the same names) is an error, never a
    /// silent fallback.
    #[diesel(sql_type = Text, deserialize_as = DbName<ActivityKind>)]
    pub kind: ActivityKind,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Int2>, deserialize_as = DbRating)]
    pub rating: Option<Rating>,
    #[diesel(sql_type = Text)]
    pub actor_username: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub actor_display_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub film_slug: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub film_title: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub film_year: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    pub film_poster_url: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>, deserialize_as = NullableId<LogEntryId>)]
    pub log_entry_id: Option<LogEntryId>,
    #[diesel(sql_type = Nullable<Date>)]
    pub watched_on: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub rewatch: Option<bool>,
    #[diesel(sql_type = Nullable<Text>)]
    pub review_head: Option<String>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub contains_spoilers: Option<bool>,
    #[diesel(sql_type = Nullable<Text>)]
    pub subject_username: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>, deserialize_as = NullableId<CommentId>)]
    pub comment_id: Option<CommentId>,
    #[diesel(sql_type = Nullable<Text>)]
    pub comment_head: Option<String>,
    /// The reader's relationship with the film (see [`crate::viewer`]).
    #[diesel(embed)]
    pub viewer_film: ViewerFilmRow,
    /// Whether the reader likes the log entry's review.
    #[diesel(sql_type = Bool)]
    pub viewer_liked_entry: bool,
    /// The log entry's author, whether it has review text and whether a moderator removed it (for
    /// what the reader may do with it).
    #[diesel(sql_type = Nullable<BigInt>, deserialize_as = NullableId<MemberId>)]
    pub entry_author_id: Option<MemberId>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub entry_has_review: Option<bool>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub entry_removed: Option<bool>,
    /// For activity about a list: the list, and the films the activity counts.
    #[diesel(sql_type = Nullable<BigInt>, deserialize_as = NullableId<ListId>)]
    pub list_id: Option<ListId>,
    #[diesel(sql_type = Nullable<Text>)]
    pub list_name: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub list_film_count: Option<i32>,
}

/// The start of the next page: activities strictly older than this `(created_at, id)`.
pub type ActivityKey = (DateTime<Utc>, i64);

const FAR_FUTURE: &str = "9999-12-31T00:00:00Z";

fn start(after: Option<ActivityKey>) -> ActivityKey {
    after.unwrap_or_else(|| (FAR_FUTURE.parse().unwrap_or_else(|_| Utc::now()), i64::MAX))
}

/// Which activity function a page calls (see the migration `activity_functions`: the statements
/// live in PL/pgSQL functions so their plans are cached generically).
pub trait PageStatement: Send + Sync + 'static {
    fn sql() -> &'static str;
}

#[derive(Debug, Clone, Copy)]
pub struct FeedStatement;
#[derive(Debug, Clone, Copy)]
pub struct MemberActivityStatement;

impl PageStatement for FeedStatement {
    fn sql() -> &'static str {
        "SELECT * FROM home_feed($1, $2, $3, $4)"
    }
}

impl PageStatement for MemberActivityStatement {
    fn sql() -> &'static str {
        "SELECT * FROM member_activity($1, $2, $3, $4, $5)"
    }
}

/// A page of activity as a query diesel prepares once per connection and caches (a `sql_query` is
/// parsed and planned on every call). Its `$n` placeholders are bound in order.
#[derive(Debug, Clone)]
pub struct ActivityPage<S> {
    subject: i64,
    at: DateTime<Utc>,
    after_id: i64,
    limit: i64,
    /// The member reading (0: nobody signed in), for statements that take it.
    viewer: i64,
    statement: std::marker::PhantomData<S>,
}

impl<S> ActivityPage<S> {
    fn seen_by(self, viewer: Option<MemberId>) -> Self {
        Self {
            viewer: viewer.map_or(0, MemberId::get),
            ..self
        }
    }
}

impl<S: PageStatement> diesel::query_builder::QueryId for ActivityPage<S> {
    type QueryId = S;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<S: PageStatement> diesel::query_builder::Query for ActivityPage<S> {
    type SqlType = diesel::sql_types::Untyped;
}

impl<S: PageStatement> diesel::query_builder::QueryFragment<diesel::pg::Pg> for ActivityPage<S> {
    fn walk_ast<'b>(
        &'b self,
        out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        crate::walk_numbered(S::sql(), out, |n, mut out| match n {
            "1" => out.push_bind_param::<BigInt, _>(&self.subject),
            "2" => out.push_bind_param::<Timestamptz, _>(&self.at),
            "3" => out.push_bind_param::<BigInt, _>(&self.after_id),
            "4" => out.push_bind_param::<BigInt, _>(&self.limit),
            "5" => out.push_bind_param::<BigInt, _>(&self.viewer),
            other => Err(crate::unknown_placeholder(other)),
        })
    }
}

fn page<S>(subject: MemberId, after: Option<ActivityKey>, limit: i64) -> ActivityPage<S> {
    let (at, after_id) = start(after);
    ActivityPage {
        subject: subject.get(),
        at,
        after_id,
        limit,
        viewer: 0,
        statement: std::marker::PhantomData,
    }
}

/// The feed: activity of the members `viewer` follows, newest first, with details. One query (the
/// `home_feed` function of sql/home_feed.sql): from the member's materialised timeline when it is
/// built, merged with what is still queued and with heavy authors' activity; otherwise, and below
/// the timeline's floor, from the followees themselves (`activity_feed`: for a member following
/// many, the newest activity of everyone filtered by a hash of the followees; otherwise a bound
/// pass and a LATERAL top-N per followee). Either way details are joined for the final page only,
/// muted followees left out, and activity about a member on the other side of a block with the
/// viewer.
pub async fn feed(
    mut conn: &AsyncPgConnection,
    viewer: MemberId,
    after: Option<ActivityKey>,
    limit: i64,
) -> Result<Vec<ActivityView>> {
    Ok(page::<FeedStatement>(viewer, after, limit)
        .load(&mut conn)
        .await?)
}

/// One member's activity, newest first; for a signed-in `viewer`, without what is about a member on
/// the other side of a block with them.
pub async fn of_member(
    conn: &mut AsyncPgConnection,
    actor: MemberId,
    viewer: Option<MemberId>,
    after: Option<ActivityKey>,
    limit: i64,
) -> Result<Vec<ActivityView>> {
    Ok(page::<MemberActivityStatement>(actor, after, limit)
        .seen_by(viewer)
        .load(conn)
        .await?)
}
