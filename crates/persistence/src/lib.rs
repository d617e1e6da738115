//! Filmlog's persistence: the Diesel schema, row and form types, queries that take
//! `&mut AsyncPgConnection` (so callers compose them in one transaction), the pool and the embedded
//! migrations.

/// A row comparison for keyset pagination: `head` is the left side and the operator, e.g.
/// `"(comments.created_at, comments.id) >"`; the two values are bound with their SQL types. (diesel's
/// DSL has no row-value comparison, which is what lets PostgreSQL seek the `(key, id)` index.)
macro_rules! keyset {
    ($head:expr, $t1:ty => $v1:expr, $t2:ty => $v2:expr) => {
        diesel::dsl::sql::<diesel::sql_types::Bool>(&format!("{} (", $head))
            .bind::<$t1, _>($v1)
            .sql(", ")
            .bind::<$t2, _>($v2)
            .sql(")")
    };
}

/// Whether there is a block, in either direction, between the member `$viewer` (an id) and the member
/// whose id is the column `$member`, as a DSL expression: `blocked!` is the test as a value (a
/// comment's tombstone), `unblocked!` the filter every list of other members' things applies for a
/// signed-in viewer (two NOT EXISTS, which PostgreSQL runs as anti-joins on the blocks' two indexes).
/// In the DSL, not SQL literals, so that diesel keeps the statements prepared (a literal made every
/// call parse and plan again: popular reviews fell to 15 % of their twin in a bench run).
macro_rules! blocked {
    ($viewer:expr, $member:expr) => {{
        use diesel::{BoolExpressionMethods, ExpressionMethods, QueryDsl};
        let viewer: i64 = $viewer;
        diesel::dsl::exists(
            crate::schema::blocks::table
                .filter(crate::schema::blocks::blocker_id.eq(viewer))
                .filter(crate::schema::blocks::blocked_id.eq($member)),
        )
        .or(diesel::dsl::exists(
            crate::schema::blocks::table
                .filter(crate::schema::blocks::blocked_id.eq(viewer))
                .filter(crate::schema::blocks::blocker_id.eq($member)),
        ))
    }};
}

/// See [`blocked!`].
macro_rules! unblocked {
    ($viewer:expr, $member:expr) => {{
        use diesel::{BoolExpressionMethods, ExpressionMethods, QueryDsl};
        let viewer: i64 = $viewer;
        diesel::dsl::not(diesel::dsl::exists(
            crate::schema::blocks::table
                .filter(crate::schema::blocks::blocker_id.eq(viewer))
                .filter(crate::schema::blocks::blocked_id.eq($member)),
        ))
        .and(diesel::dsl::not(diesel::dsl::exists(
            crate::schema::blocks::table
                .filter(crate::schema::blocks::blocked_id.eq(viewer))
                .filter(crate::schema::blocks::blocker_id.eq($member)),
        )))
    }};
}

/// Whether the member joined as `members` is not suspended now: the filter of every list of members'
/// things (a suspended member's content is hidden while it lasts).
#[diesel::dsl::auto_type]
pub(crate) fn active_member() -> _ {
    use diesel::{BoolExpressionMethods, ExpressionMethods};
    schema::members::suspended_until
        .is_null()
        .or(schema::members::suspended_until.le(diesel::dsl::now))
}

/// Writes `sql`, a fixed statement with `$1`, `$2`, … placeholders, binding each placeholder through
/// `bind` (given its number) where it appears, so the statement text alone fixes the parameter order.
/// `--` comments are left out (the statements hold no `--` inside string literals), so a `$n` in a
/// comment binds nothing. Used by the hand-written statements that diesel caches as prepared
/// statements (their `QueryId` is static; a `sql_query` is re-parsed and re-planned on every call).
pub(crate) fn walk_numbered<'b>(
    sql: &str,
    mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    mut bind: impl FnMut(
        &str,
        diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()>,
) -> diesel::QueryResult<()> {
    for line in sql.lines() {
        let mut rest = line.split_once("--").map_or(line, |(code, _)| code);
        if rest.trim().is_empty() {
            continue;
        }
        while let Some(pos) = rest.find('$') {
            out.push_sql(&rest[..pos]);
            let digits = rest[pos + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            bind(&rest[pos + 1..pos + 1 + digits], out.reborrow())?;
            rest = &rest[pos + 1 + digits..];
        }
        out.push_sql(rest);
        out.push_sql("\n");
    }
    Ok(())
}

/// The error for a placeholder a statement does not bind.
pub(crate) fn unknown_placeholder(n: &str) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(format!("unknown parameter ${n}").into())
}

/// A hand-written statement as a type that diesel prepares once per connection and caches (its
/// `QueryId` is the type; a `sql_query` is parsed and planned again on every call). `$t<'_>` runs
/// `$sql`, binding each placeholder `$n` as `"n" => SqlType: value`, where `$s` is the statement.
macro_rules! cached_statement {
    ($t:ident, $sql:expr, |$s:ident| { $($n:literal => $ty:ty : $v:expr),* $(,)? }) => {
        impl diesel::query_builder::QueryId for $t<'_> {
            type QueryId = $t<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl diesel::query_builder::Query for $t<'_> {
            type SqlType = diesel::sql_types::Untyped;
        }

        impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for $t<'_> {
            fn walk_ast<'b>(
                &'b self,
                out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
            ) -> diesel::QueryResult<()> {
                let $s = self;
                $crate::walk_numbered($sql, out, |n, mut out| match n {
                    $($n => out.push_bind_param::<$ty, _>($v),)*
                    other => Err($crate::unknown_placeholder(other)),
                })
            }
        }
    };
}

/// The select list of [`ViewerFilmRow`] over the [`viewer_films`] alias.
macro_rules! viewer_film_columns {
    () => {{
        use crate::schema::member_films as mf;
        use crate::viewer::viewer_films as vf;
        use diesel::NullableExpressionMethods;
        (
            vf.field(mf::watched).nullable(),
            vf.field(mf::liked).nullable(),
            vf.field(mf::in_watchlist).nullable(),
            vf.field(mf::rating).nullable(),
        )
    }};
}

/// `query` left-joined with the viewer's relationship with the film in `film_column`.
macro_rules! join_viewer_film {
    ($query:expr, $film_column:expr, $viewer:expr) => {{
        use crate::schema::member_films as mf;
        use crate::viewer::viewer_films as vf;
        use diesel::{BoolExpressionMethods, ExpressionMethods, JoinOnDsl};
        $query.left_join(
            vf.on(vf
                .field(mf::film_id)
                .eq($film_column)
                .and(vf.field(mf::member_id).eq($viewer))),
        )
    }};
}

/// The films the viewer (an `i64`, 0 for nobody) may see: the catalog, and the unverified films
/// their own imports made (security review M5: an import's film is its importer's until an admin
/// verifies or merges it). [`film_visible_sql`] is the same rule for statements written as SQL.
#[diesel::dsl::auto_type]
pub(crate) fn film_visible(viewer: i64) -> _ {
    use diesel::{BoolExpressionMethods, ExpressionMethods};
    schema::films::verified
        .or(schema::films::added_by.is_null())
        .or(schema::films::added_by.eq(viewer))
}

/// [`film_visible`], or every film when `see_all` (an admin's look-up); bound, so one cached
/// statement serves both.
#[diesel::dsl::auto_type]
pub(crate) fn film_in_scope(viewer: i64, see_all: bool) -> _ {
    use diesel::BoolExpressionMethods;
    let all: diesel::dsl::AsExprOf<bool, diesel::sql_types::Bool> =
        diesel::IntoSql::into_sql::<diesel::sql_types::Bool>(see_all);
    let visible: film_visible = film_visible(viewer);
    visible.or(all)
}

/// [`film_visible`] as SQL, for the films aliased `alias` and the viewer bound as `viewer`.
pub(crate) fn film_visible_sql(alias: &str, viewer: &str) -> String {
    format!("({alias}.verified OR {alias}.added_by IS NULL OR {alias}.added_by = {viewer})")
}

/// The log entries (their authors joined as `members`) that the viewer (an `i64`, 0 for nobody) may
/// read, as `filmlog_domain::visibility::sight` decides for `Subject::Entry`: their own; public
/// entries of an account that is not private; and, for a follower of the author, public and
/// followers entries. (Blocks and suspensions are filtered beside it: `unblocked!`,
/// `active_member`.)
macro_rules! entry_visible {
    ($viewer:expr) => {{
        use crate::schema::log_entries;
        visible_to!($viewer, log_entries::member_id, log_entries::visibility)
    }};
}

/// [`entry_visible!`] for anything with an owner column and a visibility column (log entries,
/// lists), its owner joined as `members`.
macro_rules! visible_to {
    ($viewer:expr, $owner:expr, $visibility:expr) => {{
        use crate::schema::{follows, members};
        use diesel::{BoolExpressionMethods, ExpressionMethods};
        let viewer: i64 = $viewer;
        let follows_owner = diesel::dsl::exists(
            follows::table
                .filter(follows::follower_id.eq(viewer))
                .filter(follows::followee_id.eq($owner)),
        );
        $owner
            .eq(viewer)
            .or($visibility
                .eq("public")
                .and(members::private_account.eq(false)))
            .or($visibility.ne("private").and(follows_owner))
    }};
}

/// A comment thread, oldest first: the rows of `$table` whose `$subject` column is `$id` as `$view`
/// (the comment with its author), with whether each author and the viewer are on the two sides of a
/// block and whether the author is suspended now (threads show those as tombstones). Review threads
/// and list threads alike.
macro_rules! thread {
    ($conn:expr, $table:ident, $view:ty, $subject:ident, $id:expr, $viewer:expr, $after:expr, $limit:expr) => {{
        use crate::schema::{$table, members};
        use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
        let viewer: Option<MemberId> = $viewer;
        let mut query = $table::table
            .inner_join(members::table)
            .filter($table::$subject.eq($id))
            .select((
                <$view>::as_select(),
                blocked!(crate::viewer::viewer_id(viewer), $table::author_id),
                members::suspended_until.gt(diesel::dsl::now),
            ))
            .order(($table::created_at.asc(), $table::id.asc()))
            .limit($limit)
            .into_boxed();
        if let Some((at, id)) = $after {
            query = query.filter(keyset!(
                concat!("(", stringify!($table), ".created_at, ", stringify!($table), ".id) >"),
                diesel::sql_types::Timestamptz => at,
                diesel::sql_types::BigInt => id
            ));
        }
        let rows: Vec<($view, bool, Option<bool>)> = query.load($conn).await?;
        Ok(rows
            .into_iter()
            .map(|(comment, blocked, suspended)| (comment, blocked, suspended.unwrap_or(false)))
            .collect())
    }};
}

/// Who liked something, newest first: the rows of the likes table `$table` whose `$subject` column is
/// `$id`, with each liker, when, and the viewer's relationship with them; for a signed-in viewer,
/// without the members on the other side of a block; never suspended members. (Review likes and
/// list likes alike.)
macro_rules! likers {
    ($conn:expr, $table:ident, $subject:ident, $id:expr, $viewer:expr, $after:expr, $limit:expr) => {{
        use crate::members::MemberSummaryRow;
        use crate::schema::{$table, members};
        use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
        let viewer: Option<MemberId> = $viewer;
        let mut query = $table::table
            .inner_join(members::table)
            .filter($table::$subject.eq($id))
            .filter(crate::active_member())
            .select((
                MemberSummaryRow::as_select(),
                $table::created_at,
                viewer_member_columns!(crate::viewer::viewer_id(viewer)),
            ))
            .order(($table::created_at.desc(), $table::member_id.desc()))
            .limit($limit)
            .into_boxed();
        if let Some(viewer) = viewer {
            query = query.filter(unblocked!(viewer.get(), members::id));
        }
        if let Some((at, id)) = $after {
            query = query.filter(keyset!(
                concat!("(", stringify!($table), ".created_at, ", stringify!($table), ".member_id) <"),
                diesel::sql_types::Timestamptz => at,
                diesel::sql_types::BigInt => id
            ));
        }
        let rows: Vec<(MemberSummaryRow, DateTime<Utc>, crate::viewer::ViewerMemberRow)> =
            query.load($conn).await?;
        Ok(rows)
    }};
}

/// The viewer's relationship (an `i64` viewer, 0 for nobody) with the member of each row
/// (`members.id`), as [`crate::viewer::ViewerMemberRow`]: following, followed by, requested,
/// blocking, muting, each an index probe.
macro_rules! viewer_member_columns {
    ($viewer:expr) => {{
        use crate::schema::{blocks, follow_requests, follows, members, mutes};
        use crate::viewer::viewer_follows as vf;
        use diesel::{ExpressionMethods, QueryDsl};
        let viewer: i64 = $viewer;
        // (`follows` through an alias: a list of follows has the table in its FROM clause.)
        (
            diesel::dsl::exists(
                vf.filter(vf.field(follows::follower_id).eq(viewer))
                    .filter(vf.field(follows::followee_id).eq(members::id)),
            ),
            diesel::dsl::exists(
                vf.filter(vf.field(follows::follower_id).eq(members::id))
                    .filter(vf.field(follows::followee_id).eq(viewer)),
            ),
            diesel::dsl::exists(
                follow_requests::table
                    .filter(follow_requests::requester_id.eq(viewer))
                    .filter(follow_requests::target_id.eq(members::id)),
            ),
            diesel::dsl::exists(
                blocks::table
                    .filter(blocks::blocker_id.eq(viewer))
                    .filter(blocks::blocked_id.eq(members::id)),
            ),
            diesel::dsl::exists(
                mutes::table
                    .filter(mutes::muter_id.eq(viewer))
                    .filter(mutes::muted_id.eq(members::id)),
            ),
        )
    }};
}

pub mod activity;
pub mod blocks;
pub mod catalog;
pub mod changes;
pub mod error;
pub mod idempotency;
pub mod jobs;
pub mod lists;
pub mod log_entries;
pub mod members;
pub mod moderation;
pub mod notifications;
pub mod pool;
pub mod portability;
pub mod queues;
pub mod relationships;
pub mod replaceable;
pub mod replication;
pub mod schema;
pub mod sessions;
pub mod social;
pub mod spans;
pub mod types;
pub mod viewer;
pub mod webhooks;

pub use diesel_async::AsyncPgConnection;
pub use error::{PersistenceError, Taken};
pub use pool::{ConnectionObserver, DbConn, DbPool, PoolSettings, build_pool, run_migrations};

pub type Result<T, E = PersistenceError> = std::result::Result<T, E>;

diesel::define_sql_function! {
    /// SQL `lower(text)`.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}
