//! Log entries (diary entries and reviews) with their read models.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::{AsSelect, IntoBoxed};
use diesel::pg::Pg;
use diesel::query_source::Alias;
use diesel::sql_types::{Array, BigInt, Bool, Date, Integer, Nullable, SmallInt, Text};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, JoinOnDsl, NullableExpressionMethods,
    OptionalExtension, QueryDsl, Queryable, QueryableByName, Selectable, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::relationship::EntryFacts;
use filmlog_domain::{ActivityKind, Audience, FilmId, LogEntryId, MemberId, Rating};

use crate::Result;
use crate::catalog::FilmSummaryRow;
use crate::filters::Before;
use crate::members::MemberSummaryRow;
use crate::schema::{films, follows, log_entries, member_films, members, review_likes};
use crate::types::{DbName, DbRating, NullAsFalse};
use crate::viewer::{ViewerFilmRow, ViewerLikes, viewer_id, viewer_likes};

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = log_entries, check_for_backend(diesel::pg::Pg))]
pub struct LogEntryRow {
    #[diesel(deserialize_as = i64)]
    pub id: LogEntryId,
    #[diesel(deserialize_as = i64)]
    pub member_id: MemberId,
    #[diesel(deserialize_as = i64)]
    pub film_id: FilmId,
    pub watched_on: Option<NaiveDate>,
    pub rewatch: bool,
    #[diesel(deserialize_as = DbRating)]
    pub rating: Option<Rating>,
    pub review_text: Option<String>,
    pub contains_spoilers: bool,
    pub tags: Vec<Option<String>>,
    pub like_count: i32,
    pub comment_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub popularity_week: i32,
    pub popularity_month: i32,
    pub popularity_all: i32,
    /// When a moderator removed the review (its text stays stored, shown as a tombstone).
    pub review_removed_at: Option<DateTime<Utc>>,
    /// Who may read it.
    #[diesel(deserialize_as = DbName<Audience>)]
    pub visibility: Audience,
}

impl LogEntryRow {
    /// The popularity score of `period` (the popular reviews' ranking key).
    pub fn popularity(&self, period: Period) -> i32 {
        match period {
            Period::Week => self.popularity_week,
            Period::Month => self.popularity_month,
            Period::AllTime => self.popularity_all,
        }
    }

    /// What the relationship rules need of this entry.
    pub fn facts(&self) -> EntryFacts {
        EntryFacts {
            id: self.id,
            rating: self.rating,
            has_review: self.review_text.is_some(),
            created_at: self.created_at,
        }
    }
}

/// Log entries with their author and their film, and the viewer's own state (`viewer`, an `i64`, 0
/// for nobody): their relationship with each entry's film and their like of its review, each a left
/// join on a primary key. The FROM clause of every entry read model; all DSL, so diesel caches the
/// prepared statements.
#[diesel::dsl::auto_type]
fn entry_views(viewer: i64) -> _ {
    let likes: Alias<ViewerLikes> = viewer_likes;
    let film_state: crate::viewer_film_on<log_entries::film_id> =
        crate::viewer_film_on(viewer, log_entries::film_id);
    log_entries::table
        .inner_join(members::table)
        .inner_join(films::table)
        .left_join(film_state)
        .left_join(
            likes.on(likes
                .field(review_likes::log_entry_id)
                .eq(log_entries::id)
                .and(likes.field(review_likes::member_id).eq(viewer))),
        )
}

/// The select list of [`ViewedEntry`].
#[diesel::dsl::auto_type]
fn viewed_entry() -> _ {
    let likes: Alias<ViewerLikes> = viewer_likes;
    let entry: AsSelect<LogEntryView, Pg> = LogEntryView::as_select();
    let film_state: crate::viewer_film_columns = crate::viewer_film_columns();
    (
        entry,
        film_state,
        likes.field(review_likes::member_id).nullable(),
    )
}

/// The entries the viewer (an `i64`, 0 for nobody) may read, as [`ViewedEntry`]: the visibility
/// rule ([`crate::visible`]) over [`entry_views`]. (Blocks and suspensions are filtered beside it.)
#[diesel::dsl::auto_type]
fn visible_entries(viewer: i64) -> _ {
    let from: entry_views = entry_views(viewer);
    let visible: crate::visible<log_entries::member_id, log_entries::visibility> =
        crate::visible(viewer, log_entries::member_id, log_entries::visibility);
    let select: viewed_entry = viewed_entry();
    from.filter(visible).select(select)
}

/// A page of [`visible_entries`], boxed so that its filters and order can be chosen at run time.
type EntriesPage = IntoBoxed<'static, visible_entries, Pg>;

/// An entry as a viewer reads it: the entry, the viewer's relationship with its film, and (when
/// they like its review) the viewer's id.
pub type ViewedEntry = (LogEntryView, ViewerFilmRow, Option<i64>);

/// Whether an entry's author likes its film (`NULL`: no relationship): a correlated scalar subquery
/// in the select list, one primary-key probe for each row of the page. Two plainer forms plan badly
/// for a film with many entries: a left join let PostgreSQL carry the page's `film_id = $1` over to
/// `member_films` and, in the prepared statement's generic plan, scan every relationship with the
/// film (70 ms instead of 1 ms for 19,000 of them); an `EXISTS` was turned into a hashed subplan over
/// every liked relationship (209,000 rows, 550 ms) for a page of 21.
#[diesel::dsl::auto_type]
fn author_likes_film() -> _ {
    member_films::table
        .filter(member_films::member_id.eq(log_entries::member_id))
        .filter(member_films::film_id.eq(log_entries::film_id))
        .select(member_films::liked)
        .single_value()
}

/// A log entry with its author and film, as every endpoint shows it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct LogEntryView {
    #[diesel(embed)]
    pub entry: LogEntryRow,
    /// Whether the author likes the film: an entry shows the member's like of the film (derived, never
    /// stored on the entry).
    #[diesel(select_expression = author_likes_film())]
    #[diesel(select_expression_type = author_likes_film)]
    #[diesel(deserialize_as = NullAsFalse)]
    pub liked: bool,
    #[diesel(embed)]
    pub member: MemberSummaryRow,
    #[diesel(embed)]
    pub film: FilmSummaryRow,
}

/// What a member writes when logging a film (the member and the film are given beside it).
#[derive(Debug, Clone)]
pub struct NewLogEntry {
    pub watched_on: Option<NaiveDate>,
    pub rewatch: bool,
    pub rating: Option<Rating>,
    pub review_text: Option<String>,
    pub contains_spoilers: bool,
    pub tags: Vec<String>,
    /// Who may read it; `None`: the member's default.
    pub visibility: Option<Audience>,
}

/// Changes to an entry: `None` leaves a field, `Some(None)` clears a nullable one.
#[derive(Debug, Default)]
pub struct LogEntryChanges {
    pub watched_on: Option<Option<NaiveDate>>,
    pub rewatch: Option<bool>,
    pub rating: Option<Option<Rating>>,
    pub review_text: Option<Option<String>>,
    pub contains_spoilers: Option<bool>,
    pub tags: Option<Vec<String>>,
    pub visibility: Option<Audience>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The stored form of a rating: its half-star count.
fn halves(rating: Option<Rating>) -> Option<i16> {
    rating.map(Rating::halves)
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    film: FilmId,
    new: &NewLogEntry,
) -> Result<LogEntryRow> {
    let visibility = match new.visibility {
        Some(v) => v.as_str().to_owned(),
        None => {
            members::table
                .filter(members::id.eq(member.get()))
                .select(members::default_visibility)
                .first::<String>(conn)
                .await?
        }
    };
    Ok(diesel::insert_into(log_entries::table)
        .values((
            log_entries::member_id.eq(member.get()),
            log_entries::film_id.eq(film.get()),
            log_entries::watched_on.eq(new.watched_on),
            log_entries::rewatch.eq(new.rewatch),
            log_entries::rating.eq(halves(new.rating)),
            log_entries::review_text.eq(new.review_text.as_deref()),
            log_entries::contains_spoilers.eq(new.contains_spoilers),
            log_entries::tags.eq(&new.tags),
            log_entries::visibility.eq(visibility),
        ))
        .returning(LogEntryRow::as_returning())
        .get_result(conn)
        .await?)
}

/// A new log entry with its film and whether the member now likes the film, as [`log_film`] returns
/// it.
#[derive(Debug, QueryableByName)]
pub struct LoggedEntry {
    #[diesel(embed)]
    pub entry: LogEntryRow,
    #[diesel(sql_type = Bool)]
    pub liked: bool,
    #[diesel(sql_type = Text)]
    pub film_slug: String,
    #[diesel(sql_type = Text)]
    pub film_title: String,
    #[diesel(sql_type = Nullable<Integer>)]
    pub film_year: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    pub film_poster_url: Option<String>,
}

impl LoggedEntry {
    pub fn film(&self) -> FilmSummaryRow {
        FilmSummaryRow {
            id: self.entry.film_id,
            slug: self.film_slug.clone(),
            title: self.film_title.clone(),
            year: self.film_year,
            poster_url: self.film_poster_url.clone(),
        }
    }
}

/// Logging a film in one statement (atomic without a transaction): the fast path of the rules in
/// `filmlog_domain::relationship` for `LogEntryCreated`, which a differential test holds to the rule
/// code. The film by its slug; the relationship upserted (watched, off the watchlist, liked when the
/// entry likes it, the entry's rating becomes the current one as the newest rating action, an earlier
/// rating stays when it has none); the watchlist activity retracted when the film was in the watchlist;
/// the entry (its visibility $11, or the member's default); its activity, of the kind the domain
/// chose ($10), `restricted` set here (the trigger that sets it cannot see the entry a sibling of
/// its statement inserts). The triggers keep the counters.
const LOG_FILM_SQL: &str = "\
WITH film AS (
    SELECT f.id, f.slug, f.title, f.year, f.poster_url FROM films f WHERE f.slug = $1
      AND film_visible_to($2, f.verified, f.added_by)
), old AS (
    SELECT mf.in_watchlist FROM member_films mf JOIN film ON mf.film_id = film.id
    WHERE mf.member_id = $2
), relationship AS (
    INSERT INTO member_films (member_id, film_id, watched, liked, liked_at, rating, updated_at)
    SELECT $2, film.id, true, $9, CASE WHEN $9 THEN now() END, $5, now() FROM film
    ON CONFLICT (member_id, film_id) DO UPDATE
    SET watched = true, in_watchlist = false, watchlisted_at = NULL,
        liked = member_films.liked OR excluded.liked,
        liked_at = CASE WHEN member_films.liked THEN member_films.liked_at ELSE excluded.liked_at END,
        rating = COALESCE(excluded.rating, member_films.rating), updated_at = excluded.updated_at
    RETURNING member_films.liked
), unlisted AS (
    DELETE FROM activities a USING film
    WHERE a.actor_id = $2 AND a.kind = 'watchlist' AND a.film_id = film.id
      AND EXISTS (SELECT 1 FROM old WHERE old.in_watchlist)
), entry AS (
    INSERT INTO log_entries (member_id, film_id, watched_on, rewatch, rating, review_text,
                             contains_spoilers, tags, visibility)
    SELECT $2, film.id, $3, $4, $5, $6, $7, $8,
           COALESCE($11, (SELECT m.default_visibility FROM members m WHERE m.id = $2)) FROM film
    RETURNING log_entries.*
), activity AS (
    INSERT INTO activities (actor_id, kind, film_id, log_entry_id, rating, restricted)
    SELECT entry.member_id, $10, entry.film_id, entry.id, entry.rating,
           restricted(entry.visibility, (SELECT m.private_account FROM members m WHERE m.id = $2))
    FROM entry
)
SELECT entry.*, relationship.liked, film.slug AS film_slug, film.title AS film_title,
       film.year AS film_year, film.poster_url AS film_poster_url
FROM entry CROSS JOIN film CROSS JOIN relationship";

/// The statement of [`log_film`] with its binds; prepared once per connection and cached.
struct LogFilm<'a> {
    slug: &'a str,
    member: i64,
    new: &'a NewLogEntry,
    rating: Option<i16>,
    liked: bool,
    kind: &'static str,
    visibility: Option<&'static str>,
}

cached_statement!(LogFilm, LOG_FILM_SQL, |s| {
    "1" => Text: s.slug,
    "2" => BigInt: &s.member,
    "3" => Nullable<Date>: &s.new.watched_on,
    "4" => Bool: &s.new.rewatch,
    "5" => Nullable<SmallInt>: &s.rating,
    "6" => Nullable<Text>: &s.new.review_text,
    "7" => Bool: &s.new.contains_spoilers,
    "8" => Array<Text>: &s.new.tags,
    "9" => Bool: &s.liked,
    "10" => Text: s.kind,
    "11" => Nullable<Text>: &s.visibility,
});

/// Logs the film `slug` names for `member` in one statement (see [`LOG_FILM_SQL`]); `liked` likes
/// the film, `activity` is the kind of activity recorded. `None` when no film has that slug.
pub async fn log_film(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    slug: &str,
    new: &NewLogEntry,
    liked: bool,
    activity: ActivityKind,
) -> Result<Option<LoggedEntry>> {
    Ok(LogFilm {
        slug,
        member: member.get(),
        new,
        rating: halves(new.rating),
        liked,
        kind: activity.as_str(),
        visibility: new.visibility.map(Audience::as_str),
    }
    .get_result(conn)
    .await
    .optional()?)
}

/// The columns the relationship rules read of a log entry (not its text).
#[derive(Queryable, Selectable)]
#[diesel(table_name = log_entries, check_for_backend(diesel::pg::Pg))]
struct FactsRow {
    #[diesel(deserialize_as = i64)]
    id: LogEntryId,
    #[diesel(deserialize_as = DbRating)]
    rating: Option<Rating>,
    #[diesel(select_expression = log_entries::review_text.is_not_null())]
    has_review: bool,
    created_at: DateTime<Utc>,
}

impl From<FactsRow> for EntryFacts {
    fn from(r: FactsRow) -> Self {
        EntryFacts {
            id: r.id,
            rating: r.rating,
            has_review: r.has_review,
            created_at: r.created_at,
        }
    }
}

/// The rules' view of the member's log entries of the film.
pub async fn facts(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    film: FilmId,
) -> Result<Vec<EntryFacts>> {
    let rows: Vec<FactsRow> = log_entries::table
        .filter(log_entries::member_id.eq(member.get()))
        .filter(log_entries::film_id.eq(film.get()))
        .select(FactsRow::as_select())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(EntryFacts::from).collect())
}

pub async fn view(
    conn: &mut AsyncPgConnection,
    id: LogEntryId,
    viewer: Option<MemberId>,
) -> Result<Option<ViewedEntry>> {
    Ok(entry_views(viewer_id(viewer))
        .filter(log_entries::id.eq(id.get()))
        .select(viewed_entry())
        .first(conn)
        .await
        .optional()?)
}

/// The entry, locked for a change by its owner; `None` when it does not exist or is not theirs.
pub async fn lock_owned(
    conn: &mut AsyncPgConnection,
    id: LogEntryId,
    owner: MemberId,
) -> Result<Option<LogEntryRow>> {
    Ok(log_entries::table
        .filter(log_entries::id.eq(id.get()))
        .filter(log_entries::member_id.eq(owner.get()))
        .select(LogEntryRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// The owner and whether it has review text to react to (a review a moderator removed has none).
pub async fn owner_and_review(
    mut conn: &AsyncPgConnection,
    id: LogEntryId,
) -> Result<Option<EntryHead>> {
    Ok(log_entries::table
        .find(id.get())
        .select(EntryHead::as_select())
        .first(&mut conn)
        .await
        .optional()?)
}

/// Whose an entry is, of which film, whether it takes likes and comments (it has review text a
/// moderator has not removed), and who may read it.
#[derive(Debug, Clone, Copy, Queryable, Selectable)]
#[diesel(table_name = log_entries, check_for_backend(diesel::pg::Pg))]
pub struct EntryHead {
    #[diesel(column_name = member_id, deserialize_as = i64)]
    pub author: MemberId,
    #[diesel(column_name = film_id, deserialize_as = i64)]
    pub film: FilmId,
    #[diesel(select_expression = log_entries::review_text.is_not_null().and(log_entries::review_removed_at.is_null()))]
    #[diesel(select_expression_type = diesel::dsl::And<diesel::dsl::IsNotNull<log_entries::review_text>, diesel::dsl::IsNull<log_entries::review_removed_at>>)]
    pub has_review: bool,
    #[diesel(deserialize_as = DbName<Audience>)]
    pub visibility: Audience,
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: LogEntryId,
    changes: &LogEntryChanges,
) -> Result<LogEntryRow> {
    let c = changes;
    Ok(diesel::update(log_entries::table.find(id.get()))
        .set((
            c.watched_on.map(|v| log_entries::watched_on.eq(v)),
            c.rewatch.map(|v| log_entries::rewatch.eq(v)),
            c.rating.map(|v| log_entries::rating.eq(halves(v))),
            c.review_text
                .as_ref()
                .map(|v| log_entries::review_text.eq(v.as_deref())),
            c.contains_spoilers
                .map(|v| log_entries::contains_spoilers.eq(v)),
            c.tags.as_ref().map(|v| log_entries::tags.eq(v)),
            c.visibility.map(|v| log_entries::visibility.eq(v.as_str())),
            c.updated_at.map(|v| log_entries::updated_at.eq(v)),
        ))
        .returning(LogEntryRow::as_returning())
        .get_result(conn)
        .await?)
}

pub async fn delete(conn: &mut AsyncPgConnection, id: LogEntryId) -> Result<()> {
    diesel::delete(log_entries::table.find(id.get()))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn count_for(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    film: FilmId,
) -> Result<i64> {
    Ok(log_entries::table
        .filter(log_entries::member_id.eq(member.get()))
        .filter(log_entries::film_id.eq(film.get()))
        .count()
        .get_result(conn)
        .await?)
}

/// A member's diary: entries with a date, newest date first, optionally within a year or month.
pub async fn diary(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    viewer: Option<MemberId>,
    range: Option<(NaiveDate, NaiveDate)>,
    after: Option<(NaiveDate, i64)>,
    limit: i64,
) -> Result<Vec<ViewedEntry>> {
    let mut query = visible_entries(viewer_id(viewer))
        .filter(log_entries::member_id.eq(member.get()))
        .filter(log_entries::watched_on.is_not_null())
        .order((log_entries::watched_on.desc(), log_entries::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some((from, to)) = range {
        query = query
            .filter(log_entries::watched_on.ge(from))
            .filter(log_entries::watched_on.lt(to));
    }
    if let Some((on, id)) = after {
        query = query.filter(crate::before(
            (log_entries::watched_on, log_entries::id),
            (on, id),
        ));
    }
    Ok(query.load(conn).await?)
}

/// A member's reviews, newest first.
pub async fn member_reviews(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    viewer: Option<MemberId>,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<ViewedEntry>> {
    let mut query = visible_entries(viewer_id(viewer))
        .filter(log_entries::member_id.eq(member.get()))
        .filter(log_entries::review_text.is_not_null())
        .order((log_entries::created_at.desc(), log_entries::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(created_before(after));
    }
    Ok(query.load(conn).await?)
}

/// Entries created before `(at, id)`: the next page of a newest-first sort.
fn created_before(
    key: (DateTime<Utc>, i64),
) -> Before<log_entries::created_at, log_entries::id, DateTime<Utc>, i64> {
    crate::before((log_entries::created_at, log_entries::id), key)
}

/// The period a popularity score counts likes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Week,
    Month,
    AllTime,
}

/// How a film's reviews are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewSort {
    /// Highest popularity score of the period first (scores change only when
    /// `recompute_review_popularity()` runs, so pages neither repeat nor skip meanwhile).
    Popular(Period),
    /// Newest first.
    Recent,
}

/// The page position of a review list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReviewKey {
    Score(i32, i64),
    Created(DateTime<Utc>, i64),
}

/// Recomputes every review's popularity scores (see `sql/recompute_review_popularity.sql`); returns
/// how many entries changed.
pub async fn recompute_popularity(conn: &mut AsyncPgConnection) -> Result<i64> {
    #[derive(QueryableByName)]
    struct Changed {
        #[diesel(sql_type = BigInt)]
        changed: i64,
    }
    // A batch job, not a request: the pool's statement timeout is lifted for its transaction only.
    diesel_async::AsyncConnection::transaction(conn, async |conn| {
        diesel::sql_query("SET LOCAL statement_timeout = 0")
            .execute(conn)
            .await?;
        let changed = diesel::sql_query("SELECT recompute_review_popularity() AS changed")
            .get_result::<Changed>(conn)
            .await?
            .changed;
        Ok::<_, crate::PersistenceError>(changed)
    })
    .await
}

/// The query of [`film_reviews`] (one function, so that [`film_reviews_sql`] shows exactly the same
/// statement for plan checks).
fn film_reviews_query(
    film: ReviewedFilm,
    sort: ReviewSort,
    reader: ReviewReader,
    following: Option<MemberId>,
    after: Option<ReviewKey>,
    limit: i64,
) -> EntriesPage {
    let viewer = reader.member;
    let mut query: EntriesPage = visible_entries(viewer_id(viewer))
        .filter(log_entries::review_text.is_not_null())
        .limit(limit)
        .into_boxed();
    query = match film {
        ReviewedFilm::Id(film) => query.filter(log_entries::film_id.eq(film.get())),
        // A scalar subquery, run once before the scan (an InitPlan), so that `film_id = $0` still
        // seeks the ordered `(film_id, popularity…)` index; a join would sort every review instead.
        ReviewedFilm::Slug(slug) => {
            let film = crate::filters::NAMED_FILM;
            let id = film
                .filter(film.field(films::slug).eq(slug))
                .filter(crate::filters::named_film_visible(viewer_id(viewer)))
                .select(film.field(films::id))
                .single_value();
            query.filter(log_entries::film_id.nullable().eq(id))
        }
    };
    query = match sort {
        ReviewSort::Popular(Period::Week) => {
            query.order((log_entries::popularity_week.desc(), log_entries::id.desc()))
        }
        ReviewSort::Popular(Period::Month) => {
            query.order((log_entries::popularity_month.desc(), log_entries::id.desc()))
        }
        ReviewSort::Popular(Period::AllTime) => {
            query.order((log_entries::popularity_all.desc(), log_entries::id.desc()))
        }
        ReviewSort::Recent => query.order((log_entries::created_at.desc(), log_entries::id.desc())),
    };
    query = query.filter(crate::active_member());
    if let Some(viewer) = viewer {
        query = query.filter(crate::unblocked(viewer.get(), log_entries::member_id));
    }
    if let Some(probe) = reader.probe {
        // Uncorrelated: checked once for the statement (an InitPlan), not per row.
        query = query.filter(probe.live());
    }
    if let Some(viewer) = following {
        let followees = follows::table
            .filter(follows::follower_id.eq(viewer.get()))
            .select(follows::followee_id);
        query = query.filter(log_entries::member_id.eq_any(followees));
    }
    match (after, sort) {
        (None, _) => query,
        // A score key belongs to a popular sort; any other sort has no score column.
        (Some(ReviewKey::Score(..)), ReviewSort::Recent) => query,
        (Some(ReviewKey::Score(score, id)), ReviewSort::Popular(Period::Week)) => query.filter(
            crate::before((log_entries::popularity_week, log_entries::id), (score, id)),
        ),
        (Some(ReviewKey::Score(score, id)), ReviewSort::Popular(Period::Month)) => {
            query.filter(crate::before(
                (log_entries::popularity_month, log_entries::id),
                (score, id),
            ))
        }
        (Some(ReviewKey::Score(score, id)), ReviewSort::Popular(Period::AllTime)) => query.filter(
            crate::before((log_entries::popularity_all, log_entries::id), (score, id)),
        ),
        (Some(ReviewKey::Created(at, id)), _) => query.filter(created_before((at, id))),
    }
}

/// Who reads a film's reviews: the member, and the session to check inside the statement (a page
/// with a review proves it live; an ended one reads no reviews).
#[derive(Debug, Clone, Copy, Default)]
pub struct ReviewReader {
    pub member: Option<MemberId>,
    pub probe: Option<crate::sessions::Probe>,
}

impl ReviewReader {
    /// Whether a page of reviews proves the probed session live: a page with a review does (its
    /// statement reads none for an ended session); `None` when it cannot tell (no probe, or an
    /// empty page: the session is checked on its own).
    pub fn proven_live(&self, page: &[ViewedEntry]) -> Option<bool> {
        (self.probe.is_some() && !page.is_empty()).then_some(true)
    }
}

impl From<Option<MemberId>> for ReviewReader {
    fn from(member: Option<MemberId>) -> Self {
        ReviewReader {
            member,
            probe: None,
        }
    }
}

/// The film whose reviews are read: by id, or by the slug of a film the viewer may see (looked up
/// in the reviews' own statement, so that a page needs no look-up of its own; a slug that names no
/// such film reads no reviews).
#[derive(Debug, Clone)]
pub enum ReviewedFilm {
    Id(FilmId),
    Slug(String),
}

/// A film's reviews, popular (indexes `(film_id, popularity_<period> DESC, id DESC)`) or recent; with
/// `following`, only those by members the viewer follows. For a signed-in `viewer`, without the
/// reviews of members on the other side of a block.
pub async fn film_reviews(
    mut conn: &AsyncPgConnection,
    film: ReviewedFilm,
    sort: ReviewSort,
    reader: ReviewReader,
    following: Option<MemberId>,
    after: Option<ReviewKey>,
    limit: i64,
) -> Result<Vec<ViewedEntry>> {
    Ok(
        film_reviews_query(film, sort, reader, following, after, limit)
            .load(&mut conn)
            .await?,
    )
}

/// The SQL [`film_reviews`] sends (with `$n` placeholders) and its bind values, for plan checks.
pub fn film_reviews_sql(
    film: ReviewedFilm,
    sort: ReviewSort,
    viewer: Option<MemberId>,
    after: Option<ReviewKey>,
    limit: i64,
) -> String {
    let query = film_reviews_query(film, sort, viewer.into(), None, after, limit);
    diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string()
}
