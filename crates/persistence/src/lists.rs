//! Lists of films and their entries (see `filmlog_domain::list` for how entries keep their order).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::dsl::{AsSelect, IntoBoxed};
use diesel::pg::Pg;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use diesel::{
    AsChangeset, ExpressionMethods, OptionalExtension, QueryDsl, Queryable, QueryableByName,
    Selectable, SelectableHelper, TextExpressionMethods,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::list::{Plan, Slot};
use filmlog_domain::{Audience, FilmId, ListCommentId, ListId, MemberId};

use crate::Result;
use crate::catalog::FilmSummaryRow;
use crate::members::MemberSummaryRow;
use crate::schema::{follows, list_comments, list_entries, list_likes, lists, members};
use crate::types::{DbName, NullableId};
use crate::viewer::{ViewerFilmRow, ViewerMemberRow, viewer_id};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lists, check_for_backend(diesel::pg::Pg))]
pub struct ListRow {
    #[diesel(deserialize_as = i64)]
    pub id: ListId,
    #[diesel(deserialize_as = i64)]
    pub owner_id: MemberId,
    pub name: String,
    pub description: Option<String>,
    pub ranked: bool,
    #[diesel(deserialize_as = DbName<Audience>)]
    pub visibility: Audience,
    pub tags: Vec<Option<String>>,
    pub entry_count: i32,
    pub like_count: i32,
    pub comment_count: i32,
    #[diesel(deserialize_as = NullableId<ListId>)]
    pub cloned_from_id: Option<ListId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When a moderator removed it (it is then private to its owner for good).
    pub removed_at: Option<DateTime<Utc>>,
}

/// A list with its owner.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct ListView {
    #[diesel(embed)]
    pub list: ListRow,
    #[diesel(embed)]
    pub owner: MemberSummaryRow,
}

/// An entry of a list, without its film.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = list_entries, check_for_backend(diesel::pg::Pg))]
pub struct ListEntryRow {
    #[diesel(deserialize_as = i64)]
    pub film_id: FilmId,
    pub sort_key: i64,
    pub notes: Option<String>,
    pub contains_spoilers: bool,
    pub added_at: DateTime<Utc>,
}

/// An entry as a viewer reads it: the entry, its film, and the viewer's relationship with the film.
pub type ViewedListEntry = (ListEntryRow, FilmSummaryRow, ViewerFilmRow);

#[derive(Debug)]
pub struct NewList<'a> {
    pub owner: MemberId,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub ranked: bool,
    pub visibility: Audience,
    pub tags: &'a [String],
}

/// A change to a list's header: `None` leaves a column.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = lists)]
pub struct ListChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub ranked: Option<bool>,
    pub visibility: Option<&'static str>,
    pub tags: Option<Vec<String>>,
}

/// An entry's notes and spoiler flag as a batch leaves them (`None`: unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryText {
    pub notes: Option<Option<String>>,
    pub contains_spoilers: Option<bool>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewList<'_>) -> Result<ListId> {
    let id: i64 = diesel::insert_into(lists::table)
        .values((
            lists::owner_id.eq(new.owner.get()),
            lists::name.eq(new.name),
            lists::description.eq(new.description),
            lists::ranked.eq(new.ranked),
            lists::visibility.eq(new.visibility.as_str()),
            lists::tags.eq(new.tags),
        ))
        .returning(lists::id)
        .get_result(conn)
        .await?;
    Ok(ListId::new(id))
}

/// The list with its owner, and whether `viewer` likes it.
pub async fn view(
    mut conn: &AsyncPgConnection,
    id: ListId,
    viewer: Option<MemberId>,
) -> Result<Option<(ListView, bool)>> {
    let liked = diesel::dsl::exists(
        list_likes::table
            .filter(list_likes::list_id.eq(lists::id))
            .filter(list_likes::member_id.eq(viewer_id(viewer))),
    );
    Ok(lists::table
        .inner_join(members::table)
        .filter(lists::id.eq(id.get()))
        .select((ListView::as_select(), liked))
        .first(&mut conn)
        .await
        .optional()?)
}

/// The list's owner and audience, what the visibility rule needs of it.
pub async fn audience(
    conn: &mut AsyncPgConnection,
    id: ListId,
) -> Result<Option<(MemberId, Audience)>> {
    let row: Option<(i64, DbName<Audience>)> = lists::table
        .find(id.get())
        .select((lists::owner_id, lists::visibility))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(owner, audience)| (MemberId::new(owner), audience.0)))
}

/// The list, locked for a change by its owner; `None` when it does not exist or is not theirs.
pub async fn lock_owned(
    conn: &mut AsyncPgConnection,
    id: ListId,
    owner: MemberId,
) -> Result<Option<ListRow>> {
    Ok(lists::table
        .filter(lists::id.eq(id.get()))
        .filter(lists::owner_id.eq(owner.get()))
        .select(ListRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

pub async fn update_header(
    conn: &mut AsyncPgConnection,
    id: ListId,
    changes: &ListChanges,
) -> Result<()> {
    // A new version whatever changed (by the database's clock, as every edit of entries does).
    diesel::update(lists::table.find(id.get()))
        .set((changes, lists::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await?;
    Ok(())
}

/// A moderator's removal: the list becomes private to its owner (every read's visibility rule then
/// hides it, and its activity, from everyone else), and a new version.
pub async fn remove(conn: &mut AsyncPgConnection, id: ListId) -> Result<()> {
    diesel::update(lists::table.find(id.get()))
        .set((
            lists::removed_at.eq(diesel::dsl::now),
            lists::visibility.eq(Audience::Private.as_str()),
            lists::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A moderator's removal of a list comment: a tombstone in its thread.
pub async fn remove_comment(conn: &mut AsyncPgConnection, id: ListCommentId) -> Result<()> {
    diesel::update(list_comments::table.find(id.get()))
        .set(list_comments::removed_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut AsyncPgConnection, id: ListId) -> Result<()> {
    diesel::delete(lists::table.find(id.get()))
        .execute(conn)
        .await?;
    Ok(())
}

/// The list's entries as the order rules take them: film and sort key, in order.
pub async fn slots(conn: &mut AsyncPgConnection, list: ListId) -> Result<Vec<Slot>> {
    let rows: Vec<(i64, i64)> = list_entries::table
        .filter(list_entries::list_id.eq(list.get()))
        .order((list_entries::sort_key.asc(), list_entries::film_id.asc()))
        .select((list_entries::film_id, list_entries::sort_key))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(film, key)| Slot {
            film: FilmId::new(film),
            key,
        })
        .collect())
}

/// Applies a planned batch; `text` holds the notes and spoiler flags it sets. Returns how many
/// entry rows it wrote (inserted, updated or deleted).
pub async fn apply(
    conn: &mut AsyncPgConnection,
    list: ListId,
    plan: &Plan,
    text: &HashMap<FilmId, EntryText>,
) -> Result<usize> {
    let mut written = 0;
    if !plan.removed.is_empty() {
        let removed: Vec<i64> = plan.removed.iter().map(|f| f.get()).collect();
        written += diesel::delete(
            list_entries::table
                .filter(list_entries::list_id.eq(list.get()))
                .filter(list_entries::film_id.eq_any(removed)),
        )
        .execute(conn)
        .await?;
    }
    if !plan.rekeyed.is_empty() {
        let films: Vec<i64> = plan.rekeyed.iter().map(|s| s.film.get()).collect();
        let keys: Vec<i64> = plan.rekeyed.iter().map(|s| s.key).collect();
        written += diesel::sql_query(
            "UPDATE list_entries e SET sort_key = u.k \
             FROM unnest($2::bigint[], $3::bigint[]) AS u(f, k) \
             WHERE e.list_id = $1 AND e.film_id = u.f",
        )
        .bind::<BigInt, _>(list.get())
        .bind::<Array<BigInt>, _>(films)
        .bind::<Array<BigInt>, _>(keys)
        .execute(conn)
        .await?;
    }
    if !plan.added.is_empty() {
        let rows: Vec<_> = plan
            .added
            .iter()
            .map(|s| {
                let t = text.get(&s.film).cloned().unwrap_or_default();
                (
                    list_entries::list_id.eq(list.get()),
                    list_entries::film_id.eq(s.film.get()),
                    list_entries::sort_key.eq(s.key),
                    list_entries::notes.eq(t.notes.flatten()),
                    list_entries::contains_spoilers.eq(t.contains_spoilers.unwrap_or(false)),
                )
            })
            .collect();
        written += diesel::insert_into(list_entries::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    // Notes and spoiler flags of entries that stay, in one statement: each column is set only for
    // the films whose batch says so (`set_*`), the others keep theirs.
    let added: HashSet<FilmId> = plan.added.iter().map(|s| s.film).collect();
    let changed: Vec<(FilmId, EntryText)> = plan
        .updated
        .iter()
        .filter(|f| !added.contains(f))
        .map(|f| (*f, text.get(f).cloned().unwrap_or_default()))
        .filter(|(_, t)| t.notes.is_some() || t.contains_spoilers.is_some())
        .collect();
    if !changed.is_empty() {
        let films: Vec<i64> = changed.iter().map(|(f, _)| f.get()).collect();
        let set_notes: Vec<bool> = changed.iter().map(|(_, t)| t.notes.is_some()).collect();
        let notes: Vec<Option<String>> = changed
            .iter()
            .map(|(_, t)| t.notes.clone().flatten())
            .collect();
        let set_spoilers: Vec<bool> = changed
            .iter()
            .map(|(_, t)| t.contains_spoilers.is_some())
            .collect();
        let spoilers: Vec<bool> = changed
            .iter()
            .map(|(_, t)| t.contains_spoilers.unwrap_or(false))
            .collect();
        written += diesel::sql_query(
            "UPDATE list_entries e SET \
               notes = CASE WHEN u.set_notes THEN u.notes ELSE e.notes END, \
               contains_spoilers = CASE WHEN u.set_spoilers THEN u.spoilers ELSE e.contains_spoilers END \
             FROM unnest($2::bigint[], $3::bool[], $4::text[], $5::bool[], $6::bool[]) \
                  AS u(f, set_notes, notes, set_spoilers, spoilers) \
             WHERE e.list_id = $1 AND e.film_id = u.f",
        )
        .bind::<BigInt, _>(list.get())
        .bind::<Array<BigInt>, _>(films)
        .bind::<Array<Bool>, _>(set_notes)
        .bind::<Array<Nullable<Text>>, _>(notes)
        .bind::<Array<Bool>, _>(set_spoilers)
        .bind::<Array<Bool>, _>(spoilers)
        .execute(conn)
        .await?;
    }
    diesel::update(lists::table.find(list.get()))
        .set(lists::updated_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(written)
}

/// The start of the next page of a list's entries: after this `(sort key, film id)`, whose rank was
/// `rank`.
pub type EntryKey = (i64, i64, i64);

/// A page of a list's entries: `$1` list, `$2` viewer (0: nobody), after `($3, $4)` (sort key, film
/// id), at most `$5`. The viewer's relationship with each film is a LATERAL probe, so that it stays one
/// primary-key lookup per entry whatever the plan (as a plain left join, PostgreSQL read all of a busy
/// member's films and filtered them 21 times over: 4 ms instead of 0.2). One statement for every page
/// (the first starts after the smallest key), prepared once per connection.
pub const ENTRIES_PAGE: &str = "
SELECT e.film_id, e.sort_key, e.notes, e.contains_spoilers, e.added_at,
       f.id, f.slug, f.title, f.year, f.poster_url,
       v.watched AS viewer_watched, v.liked AS viewer_liked, v.in_watchlist AS viewer_in_watchlist,
       v.rating AS viewer_rating
FROM list_entries e
JOIN films f ON f.id = e.film_id
LEFT JOIN LATERAL (
    SELECT m.watched, m.liked, m.in_watchlist, m.rating FROM member_films m
    WHERE m.member_id = $2 AND m.film_id = e.film_id
    LIMIT 1
) v ON true
WHERE e.list_id = $1 AND (e.sort_key, e.film_id) > ($3, $4)
ORDER BY e.sort_key, e.film_id
LIMIT $5";

/// [`ENTRIES_PAGE`] as a query diesel prepares once per connection and caches.
#[derive(Debug, Clone, Copy)]
struct EntriesPage {
    list: i64,
    viewer: i64,
    key: i64,
    film: i64,
    limit: i64,
}

impl diesel::query_builder::QueryId for EntriesPage {
    type QueryId = EntriesPage;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for EntriesPage {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for EntriesPage {
    fn walk_ast<'b>(
        &'b self,
        out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        crate::walk_numbered(ENTRIES_PAGE, out, |n, mut out| match n {
            "1" => out.push_bind_param::<BigInt, _>(&self.list),
            "2" => out.push_bind_param::<BigInt, _>(&self.viewer),
            "3" => out.push_bind_param::<BigInt, _>(&self.key),
            "4" => out.push_bind_param::<BigInt, _>(&self.film),
            "5" => out.push_bind_param::<BigInt, _>(&self.limit),
            other => Err(crate::unknown_placeholder(other)),
        })
    }
}

#[derive(QueryableByName)]
struct EntriesPageRow {
    #[diesel(embed)]
    entry: ListEntryRow,
    #[diesel(embed)]
    film: FilmSummaryRow,
    #[diesel(embed)]
    viewer: ViewerFilmRow,
}

/// A page of the list's entries in order, with their films and `viewer`'s relationship with each.
pub async fn entries(
    mut conn: &AsyncPgConnection,
    list: ListId,
    viewer: Option<MemberId>,
    after: Option<EntryKey>,
    limit: i64,
) -> Result<Vec<ViewedListEntry>> {
    let (key, film) = after.map_or((i64::MIN, i64::MIN), |(key, film, _)| (key, film));
    let page = EntriesPage {
        list: list.get(),
        viewer: viewer_id(viewer),
        key,
        film,
        limit,
    };
    let rows: Vec<EntriesPageRow> = page.load(&mut conn).await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.entry, r.film, r.viewer))
        .collect())
}

/// Likes a list (idempotent); `true` when the like is new.
pub async fn like(conn: &mut AsyncPgConnection, list: ListId, member: MemberId) -> Result<bool> {
    let n = diesel::insert_into(list_likes::table)
        .values((
            list_likes::list_id.eq(list.get()),
            list_likes::member_id.eq(member.get()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Takes a like back (idempotent); `true` when there was one.
pub async fn unlike(conn: &mut AsyncPgConnection, list: ListId, member: MemberId) -> Result<bool> {
    let n = diesel::delete(list_likes::table.find((list.get(), member.get())))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Who liked a list, newest first; for a signed-in `viewer`, without the members on the other side
/// of a block, with the viewer's relationship with each.
pub async fn likers(
    conn: &mut AsyncPgConnection,
    list: ListId,
    viewer: Option<MemberId>,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<(MemberSummaryRow, DateTime<Utc>, ViewerMemberRow)>> {
    likers!(conn, list_likes, list_id, list.get(), viewer, after, limit)
}

/// Copies `source`'s entries (order, notes, spoiler flags) into the empty list `target`; how many.
pub async fn copy_entries(
    conn: &mut AsyncPgConnection,
    source: ListId,
    target: ListId,
) -> Result<usize> {
    let copied = diesel::sql_query(
        "INSERT INTO list_entries (list_id, film_id, sort_key, notes, contains_spoilers) \
         SELECT $2, film_id, sort_key, notes, contains_spoilers FROM list_entries WHERE list_id = $1",
    )
    .bind::<BigInt, _>(source.get())
    .bind::<BigInt, _>(target.get())
    .execute(conn)
    .await?;
    diesel::update(lists::table.find(target.get()))
        .set(lists::cloned_from_id.eq(source.get()))
        .execute(conn)
        .await?;
    Ok(copied)
}

/// How a film's lists are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListSort {
    /// Most liked first.
    Popular,
    /// Newest first.
    Recent,
    /// Most recently changed first.
    Updated,
}

/// The page position of a list of lists: `(likes or created_at as text, id)`.
#[derive(Debug, Clone, PartialEq)]
pub enum ListKey {
    Likes(i32, i64),
    Created(DateTime<Utc>, i64),
    Updated(DateTime<Utc>, i64),
}

impl ListKey {
    /// Whether a page in `sort` order can start after this key.
    pub fn orders(&self, sort: ListSort) -> bool {
        matches!(
            (self, sort),
            (ListKey::Likes(..), ListSort::Popular)
                | (ListKey::Created(..), ListSort::Recent)
                | (ListKey::Updated(..), ListSort::Updated)
        )
    }
}

/// The lists (their owners joined as `members`) that the viewer (an `i64`, 0 for nobody) may read,
/// as [`ListView`]s: the visibility rule ([`crate::visible`]), and no suspended owner.
#[diesel::dsl::auto_type]
pub(crate) fn visible_lists(viewer: i64) -> _ {
    let visible: crate::visible<lists::owner_id, lists::visibility> =
        crate::visible(viewer, lists::owner_id, lists::visibility);
    let active: crate::active_member = crate::active_member();
    let select: AsSelect<ListView, Pg> = ListView::as_select();
    lists::table
        .inner_join(members::table)
        .filter(visible)
        .filter(active)
        .select(select)
}

/// A page of lists of many members that `viewer` may read, in `sort` order, for the caller to
/// narrow (a member's, a film's, a search's). One query: visibility, blocks and suspensions are
/// filtered in it.
pub(crate) fn lists_page(
    viewer: Option<MemberId>,
    sort: ListSort,
    after: Option<ListKey>,
    limit: i64,
) -> IntoBoxed<'static, visible_lists, Pg> {
    let mut query = visible_lists(viewer_id(viewer)).limit(limit).into_boxed();
    if let Some(viewer) = viewer {
        query = query.filter(crate::unblocked(viewer.get(), lists::owner_id));
    }
    query = match sort {
        ListSort::Popular => query.order((lists::like_count.desc(), lists::id.desc())),
        ListSort::Recent => query.order((lists::created_at.desc(), lists::id.desc())),
        ListSort::Updated => query.order((lists::updated_at.desc(), lists::id.desc())),
    };
    match after {
        None => query,
        Some(ListKey::Likes(likes, id)) => {
            query.filter(crate::before((lists::like_count, lists::id), (likes, id)))
        }
        Some(ListKey::Created(at, id)) => {
            query.filter(crate::before((lists::created_at, lists::id), (at, id)))
        }
        Some(ListKey::Updated(at, id)) => {
            query.filter(crate::before((lists::updated_at, lists::id), (at, id)))
        }
    }
}

/// A member's lists that `viewer` may read, in `sort` order.
pub async fn of_member(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    viewer: Option<MemberId>,
    sort: ListSort,
    after: Option<ListKey>,
    limit: i64,
) -> Result<Vec<ListView>> {
    Ok(lists_page(viewer, sort, after, limit)
        .filter(lists::owner_id.eq(owner.get()))
        .load(conn)
        .await?)
}

/// The lists that hold a film; with `following`, only those of members that member follows.
pub async fn of_film(
    conn: &mut AsyncPgConnection,
    film: FilmId,
    viewer: Option<MemberId>,
    following: Option<MemberId>,
    sort: ListSort,
    after: Option<ListKey>,
    limit: i64,
) -> Result<Vec<ListView>> {
    let holding = list_entries::table
        .filter(list_entries::film_id.eq(film.get()))
        .select(list_entries::list_id);
    let mut query = lists_page(viewer, sort, after, limit).filter(lists::id.eq_any(holding));
    if let Some(me) = following {
        let followees = follows::table
            .filter(follows::follower_id.eq(me.get()))
            .select(follows::followee_id);
        query = query.filter(lists::owner_id.eq_any(followees));
    }
    Ok(query.load(conn).await?)
}

/// Lists whose name contains `q` (any case), most liked first.
pub async fn search(
    conn: &mut AsyncPgConnection,
    q: &str,
    viewer: Option<MemberId>,
    after: Option<ListKey>,
    limit: i64,
) -> Result<Vec<ListView>> {
    let pattern = format!("%{}%", crate::catalog::like_escape(&q.to_lowercase()));
    Ok(lists_page(viewer, ListSort::Popular, after, limit)
        .filter(crate::lower(lists::name).like(pattern))
        .load(conn)
        .await?)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = list_comments, check_for_backend(diesel::pg::Pg))]
pub struct ListCommentRow {
    #[diesel(deserialize_as = i64)]
    pub id: ListCommentId,
    #[diesel(deserialize_as = i64)]
    pub list_id: ListId,
    #[diesel(deserialize_as = i64)]
    pub author_id: MemberId,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
}

/// A comment on a list with its author.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct ListCommentView {
    #[diesel(embed)]
    pub comment: ListCommentRow,
    #[diesel(embed)]
    pub author: MemberSummaryRow,
}

pub async fn insert_comment(
    conn: &mut AsyncPgConnection,
    list: ListId,
    author: MemberId,
    body: &str,
) -> Result<ListCommentView> {
    let id: i64 = diesel::insert_into(list_comments::table)
        .values((
            list_comments::list_id.eq(list.get()),
            list_comments::author_id.eq(author.get()),
            list_comments::body.eq(body),
        ))
        .returning(list_comments::id)
        .get_result(conn)
        .await?;
    Ok(list_comments::table
        .inner_join(members::table)
        .filter(list_comments::id.eq(id))
        .select(ListCommentView::as_select())
        .first(conn)
        .await?)
}

/// A comment's author and the owner of its list.
pub async fn comment_owners(
    conn: &mut AsyncPgConnection,
    id: ListCommentId,
) -> Result<Option<(MemberId, MemberId)>> {
    let row: Option<(i64, i64)> = list_comments::table
        .inner_join(lists::table)
        .filter(list_comments::id.eq(id.get()))
        .select((list_comments::author_id, lists::owner_id))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(a, o)| (MemberId::new(a), MemberId::new(o))))
}

pub async fn delete_comment(conn: &mut AsyncPgConnection, id: ListCommentId) -> Result<()> {
    diesel::delete(list_comments::table.find(id.get()))
        .execute(conn)
        .await?;
    Ok(())
}

/// A list's thread, oldest first, with whether each author and the viewer are on the two sides of
/// a block and whether the author is suspended (the thread shows those as tombstones).
pub async fn comments(
    conn: &mut AsyncPgConnection,
    list: ListId,
    viewer: Option<MemberId>,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<(ListCommentView, bool, bool)>> {
    thread!(
        conn,
        list_comments,
        ListCommentView,
        list_id,
        list.get(),
        viewer,
        after,
        limit
    )
}
