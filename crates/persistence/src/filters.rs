//! The query fragments the reads share, as typed functions (`#[diesel::dsl::auto_type]` names each
//! one's type, as Lemmy's `filters.rs` and crates.io's `by_name` do): the visibility rule, blocks,
//! suspensions, the films a viewer may see, the viewer's relationship with a film or a member, and
//! keyset comparisons. All of it DSL, not SQL literals, so that diesel keeps the statements
//! prepared (a literal made every call parse and plan again: popular reviews fell to 15 % of their
//! twin in a bench run).
//!
//! A fragment about "a member" takes the column that holds the member's id ([`IdColumn`]), so one
//! function serves a list's owner, an entry's author and a joined member alike. One rule is also
//! named as text, by the statements written as SQL: [`film_visible_sql`] (the rule itself is one SQL
//! function, `film_visible_to` in `sql/visibility.sql`).

use diesel::dsl::{AsExprOf, exists, not};
use diesel::expression::{
    AppearsOnTable, AsExpression, Expression, SelectableExpression, TypedExpressionType,
    ValidGrouping, is_aggregate,
};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::query_dsl::methods;
use diesel::query_source::Alias;
use diesel::sql_types::{BigInt, Bool, Nullable, SqlType, Text};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, JoinOnDsl, NullableExpressionMethods, QueryDsl,
    QueryResult,
};

use filmlog_domain::MemberId;

use crate::schema::{blocks, films, follow_requests, follows, member_films, members, mutes};
use crate::viewer::{ViewerFilms, ViewerFollows, viewer_films, viewer_follows};

/// A non-aggregate expression holding an id: a column such as `lists::owner_id` or `films::id`.
pub(crate) trait IdColumn:
    Expression<SqlType = BigInt> + ValidGrouping<(), IsAggregate = is_aggregate::No> + Copy
{
}

impl<T> IdColumn for T where
    T: Expression<SqlType = BigInt> + ValidGrouping<(), IsAggregate = is_aggregate::No> + Copy
{
}

/// A non-aggregate text expression: a visibility column such as `lists::visibility`.
pub(crate) trait TextColumn:
    Expression<SqlType = Text> + ValidGrouping<(), IsAggregate = is_aggregate::No> + Copy
{
}

impl<T> TextColumn for T where
    T: Expression<SqlType = Text> + ValidGrouping<(), IsAggregate = is_aggregate::No> + Copy
{
}

diesel::define_sql_function! {
    /// The visibility rule's one SQL form (`sql/visibility.sql`), which PostgreSQL inlines.
    fn visible_to(
        viewer: BigInt,
        owner: BigInt,
        visibility: Text,
        owner_private: Bool,
        follows_owner: Bool,
    ) -> Bool;
}

/// Whether the viewer (an `i64`, 0 for nobody) follows the member in `member`.
#[diesel::dsl::auto_type]
pub(crate) fn follows_member<M: IdColumn>(viewer: i64, member: M) -> _ {
    exists(
        follows::table
            .filter(follows::follower_id.eq(viewer))
            .filter(follows::followee_id.eq(member)),
    )
}

/// The things (an `owner` column and a `visibility` column; the owner joined as `members`) that the
/// viewer (an `i64`, 0 for nobody) may read, as `filmlog_domain::visibility::sight` decides for an
/// entry or a list: [`visible_to`]. Blocks and suspensions are filtered beside it ([`unblocked`],
/// [`active_member`]).
#[diesel::dsl::auto_type]
pub(crate) fn visible<O: IdColumn, V: TextColumn>(viewer: i64, owner: O, visibility: V) -> _ {
    let follows_owner: follows_member<O> = follows_member(viewer, owner);
    visible_to(
        viewer,
        owner,
        visibility,
        members::private_account,
        follows_owner,
    )
}

/// Whether the viewer (an `i64`) blocks the member in `member`.
#[diesel::dsl::auto_type]
pub(crate) fn viewer_blocks<M: IdColumn>(viewer: i64, member: M) -> _ {
    exists(
        blocks::table
            .filter(blocks::blocker_id.eq(viewer))
            .filter(blocks::blocked_id.eq(member)),
    )
}

/// Whether the member in `member` blocks the viewer (an `i64`).
#[diesel::dsl::auto_type]
pub(crate) fn blocks_viewer<M: IdColumn>(viewer: i64, member: M) -> _ {
    exists(
        blocks::table
            .filter(blocks::blocked_id.eq(viewer))
            .filter(blocks::blocker_id.eq(member)),
    )
}

/// Whether there is a block, in either direction, between the viewer and the member in `member`, as
/// a value (a comment's tombstone).
#[diesel::dsl::auto_type]
pub(crate) fn blocked<M: IdColumn>(viewer: i64, member: M) -> _ {
    let by_viewer: viewer_blocks<M> = viewer_blocks(viewer, member);
    let of_viewer: blocks_viewer<M> = blocks_viewer(viewer, member);
    by_viewer.or(of_viewer)
}

/// No block in either direction: the filter every list of other members' things applies for a
/// signed-in viewer (two NOT EXISTS, which PostgreSQL runs as anti-joins on the blocks' two
/// indexes).
#[diesel::dsl::auto_type]
pub(crate) fn unblocked<M: IdColumn>(viewer: i64, member: M) -> _ {
    let by_viewer: viewer_blocks<M> = viewer_blocks(viewer, member);
    let of_viewer: blocks_viewer<M> = blocks_viewer(viewer, member);
    not(by_viewer).and(not(of_viewer))
}

/// Whether the member joined as `members` is not suspended now: the filter of every list of members'
/// things (a suspended member's content is hidden while it lasts).
#[diesel::dsl::auto_type]
pub(crate) fn active_member() -> _ {
    members::suspended_until
        .is_null()
        .or(members::suspended_until.le(diesel::dsl::now))
}

/// A page of other members (joined as `members`) as `viewer` may see it: never suspended members,
/// and for a signed-in viewer none on the other side of a block.
pub(crate) fn others_page<Q>(query: Q, viewer: Option<MemberId>) -> Q
where
    Q: methods::FilterDsl<active_member, Output = Q>
        + methods::FilterDsl<unblocked<members::id>, Output = Q>,
{
    let query = methods::FilterDsl::filter(query, active_member());
    match viewer {
        Some(viewer) => methods::FilterDsl::filter(query, unblocked(viewer.get(), members::id)),
        None => query,
    }
}

/// The viewer's relationship (an `i64` viewer, 0 for nobody) with the member of each row
/// (`members.id`), as [`crate::viewer::ViewerMemberRow`]: following, followed by, requested,
/// blocking, muting, each an index probe. (`follows` through an alias: a list of follows has the
/// table in its FROM clause.)
#[diesel::dsl::auto_type]
pub(crate) fn viewer_member_columns(viewer: i64) -> _ {
    let vf: Alias<ViewerFollows> = viewer_follows;
    let blocking: viewer_blocks<members::id> = viewer_blocks(viewer, members::id);
    (
        exists(
            vf.filter(vf.field(follows::follower_id).eq(viewer))
                .filter(vf.field(follows::followee_id).eq(members::id)),
        ),
        exists(
            vf.filter(vf.field(follows::follower_id).eq(members::id))
                .filter(vf.field(follows::followee_id).eq(viewer)),
        ),
        exists(
            follow_requests::table
                .filter(follow_requests::requester_id.eq(viewer))
                .filter(follow_requests::target_id.eq(members::id)),
        ),
        blocking,
        exists(
            mutes::table
                .filter(mutes::muter_id.eq(viewer))
                .filter(mutes::muted_id.eq(members::id)),
        ),
    )
}

/// The join condition of the viewer's relationship (the [`viewer_films`] alias) with the film in
/// `film`: `query.left_join(viewer_film_on(viewer, films::id))`.
#[diesel::dsl::auto_type]
pub(crate) fn viewer_film_on<F: IdColumn>(viewer: i64, film: F) -> _ {
    let vf: Alias<ViewerFilms> = viewer_films;
    vf.on(vf
        .field(member_films::film_id)
        .eq(film)
        .and(vf.field(member_films::member_id).eq(viewer)))
}

/// The select list of [`crate::viewer::ViewerFilmRow`] over the [`viewer_films`] alias.
#[diesel::dsl::auto_type]
pub(crate) fn viewer_film_columns() -> _ {
    let vf: Alias<ViewerFilms> = viewer_films;
    (
        vf.field(member_films::watched).nullable(),
        vf.field(member_films::liked).nullable(),
        vf.field(member_films::in_watchlist).nullable(),
        vf.field(member_films::rating).nullable(),
    )
}

diesel::define_sql_function! {
    /// `sql/visibility.sql`: whether the viewer may see a film (inlined by PostgreSQL).
    fn film_visible_to(viewer: BigInt, verified: Bool, added_by: Nullable<BigInt>) -> Bool;
}

/// The films the viewer (an `i64`, 0 for nobody) may see: the catalog, and the unverified films
/// their own imports made (security review M5: an import's film is its importer's until an admin
/// verifies or merges it): [`film_visible_to`], which the statements written as SQL call through
/// [`film_visible_sql`].
#[diesel::dsl::auto_type]
pub(crate) fn film_visible(viewer: i64) -> _ {
    film_visible_to(viewer, films::verified, films::added_by)
}

/// [`film_visible`] for the films aliased [`NamedFilm`]: for a statement that already joins
/// `films` and also looks a film up by slug (a film's reviews).
pub(crate) fn named_film_visible(
    viewer: i64,
) -> film_visible_to<
    i64,
    diesel::query_source::AliasedField<NamedFilm, films::verified>,
    diesel::query_source::AliasedField<NamedFilm, films::added_by>,
> {
    film_visible_to(
        viewer,
        NAMED_FILM.field(films::verified),
        NAMED_FILM.field(films::added_by),
    )
}

diesel::alias!(crate::schema::films as NAMED_FILM: NamedFilm);

/// [`film_visible`], or every film when `see_all` (an admin's look-up); bound, so one cached
/// statement serves both.
#[diesel::dsl::auto_type]
pub(crate) fn film_in_scope(viewer: i64, see_all: bool) -> _ {
    let all: AsExprOf<bool, Bool> = diesel::IntoSql::into_sql::<Bool>(see_all);
    let visible: film_visible = film_visible(viewer);
    visible.or(all)
}

/// The call of [`film_visible_to`] for the films aliased `alias` and the viewer bound as `viewer`,
/// for statements written as SQL.
pub(crate) fn film_visible_sql(alias: &str, viewer: &str) -> String {
    format!("film_visible_to({viewer}, {alias}.verified, {alias}.added_by)")
}

/// A row comparison for keyset pagination, `(first, second) < (a, b)` (or `>` when `AFTER`): what
/// lets PostgreSQL seek a `(key, id)` index, which diesel's DSL has no operator for. Both values are
/// bound with their columns' SQL types; the columns are types, so the statement keeps a static
/// query id and stays prepared.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowCompare<C1, C2, V1, V2, const AFTER: bool> {
    columns: (C1, C2),
    values: (V1, V2),
}

/// Value bound with the SQL type of column `C`.
type BoundTo<T, C> = AsExprOf<T, <C as Expression>::SqlType>;

/// What [`before`] returns: rows before `(T1, T2)` values in `(C1, C2)` order.
pub(crate) type Before<C1, C2, T1, T2> =
    RowCompare<C1, C2, BoundTo<T1, C1>, BoundTo<T2, C2>, false>;

/// What [`after`] returns: rows after `(T1, T2)` values in `(C1, C2)` order.
pub(crate) type After<C1, C2, T1, T2> = RowCompare<C1, C2, BoundTo<T1, C1>, BoundTo<T2, C2>, true>;

/// Rows before `(a, b)` in `(first, second)` order: the next page of a descending sort.
pub(crate) fn before<C1, C2, T1, T2>(columns: (C1, C2), (a, b): (T1, T2)) -> Before<C1, C2, T1, T2>
where
    C1: Expression,
    C2: Expression,
    C1::SqlType: SqlType + TypedExpressionType,
    C2::SqlType: SqlType + TypedExpressionType,
    T1: AsExpression<C1::SqlType>,
    T2: AsExpression<C2::SqlType>,
{
    RowCompare {
        columns,
        values: (a.as_expression(), b.as_expression()),
    }
}

/// Rows after `(a, b)` in `(first, second)` order: the next page of an ascending sort.
pub(crate) fn after<C1, C2, T1, T2>(columns: (C1, C2), (a, b): (T1, T2)) -> After<C1, C2, T1, T2>
where
    C1: Expression,
    C2: Expression,
    C1::SqlType: SqlType + TypedExpressionType,
    C2::SqlType: SqlType + TypedExpressionType,
    T1: AsExpression<C1::SqlType>,
    T2: AsExpression<C2::SqlType>,
{
    RowCompare {
        columns,
        values: (a.as_expression(), b.as_expression()),
    }
}

impl<C1, C2, V1, V2, const AFTER: bool> Expression for RowCompare<C1, C2, V1, V2, AFTER> {
    type SqlType = Bool;
}

impl<C1, C2, V1, V2, const AFTER: bool> QueryId for RowCompare<C1, C2, V1, V2, AFTER>
where
    C1: QueryId,
    C2: QueryId,
    V1: QueryId,
    V2: QueryId,
{
    type QueryId = RowCompare<C1::QueryId, C2::QueryId, V1::QueryId, V2::QueryId, AFTER>;
    const HAS_STATIC_QUERY_ID: bool = C1::HAS_STATIC_QUERY_ID
        && C2::HAS_STATIC_QUERY_ID
        && V1::HAS_STATIC_QUERY_ID
        && V2::HAS_STATIC_QUERY_ID;
}

impl<C1, C2, V1, V2, const AFTER: bool> QueryFragment<Pg> for RowCompare<C1, C2, V1, V2, AFTER>
where
    C1: QueryFragment<Pg>,
    C2: QueryFragment<Pg>,
    V1: QueryFragment<Pg>,
    V2: QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("(");
        self.columns.0.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.columns.1.walk_ast(out.reborrow())?;
        out.push_sql(if AFTER { ") > (" } else { ") < (" });
        self.values.0.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.values.1.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}

impl<QS, C1, C2, V1, V2, const AFTER: bool> AppearsOnTable<QS> for RowCompare<C1, C2, V1, V2, AFTER>
where
    C1: AppearsOnTable<QS>,
    C2: AppearsOnTable<QS>,
    V1: AppearsOnTable<QS>,
    V2: AppearsOnTable<QS>,
{
}

impl<QS, C1, C2, V1, V2, const AFTER: bool> SelectableExpression<QS>
    for RowCompare<C1, C2, V1, V2, AFTER>
where
    C1: SelectableExpression<QS>,
    C2: SelectableExpression<QS>,
    V1: SelectableExpression<QS>,
    V2: SelectableExpression<QS>,
{
}

impl<C1, C2, V1, V2, const AFTER: bool> ValidGrouping<()> for RowCompare<C1, C2, V1, V2, AFTER>
where
    C1: ValidGrouping<(), IsAggregate = is_aggregate::No>,
    C2: ValidGrouping<(), IsAggregate = is_aggregate::No>,
{
    type IsAggregate = is_aggregate::No;
}
