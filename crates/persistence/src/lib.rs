//! Filmlog's persistence: the Diesel schema, row and form types, queries that take
//! `&mut AsyncPgConnection` (so callers compose them in one transaction), the pool and the embedded
//! migrations.

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

/// A comment thread, oldest first: the rows of `$table` whose `$subject` column is `$id` as `$view`
/// (the comment with its author), with whether each author and the viewer are on the two sides of a
/// block and whether the author is suspended now (threads show those as tombstones). Review threads
/// and list threads alike.
macro_rules! thread {
    ($conn:expr, $table:ident, $view:ty, $subject:ident, $id:expr, $viewer:expr, $after:expr, $limit:expr) => {{
        use crate::schema::{members, $table};
        use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
        let viewer: Option<MemberId> = $viewer;
        let mut query = $table::table
            .inner_join(members::table)
            .filter($table::$subject.eq($id))
            .select((
                <$view>::as_select(),
                crate::blocked(crate::viewer::viewer_id(viewer), $table::author_id),
                members::suspended_until.gt(diesel::dsl::now),
            ))
            .order(($table::created_at.asc(), $table::id.asc()))
            .limit($limit)
            .into_boxed();
        if let Some((at, id)) = $after {
            query = query.filter(crate::after(($table::created_at, $table::id), (at, id)));
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
        use crate::schema::{members, $table};
        use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
        let viewer: Option<MemberId> = $viewer;
        let mut query = $table::table
            .inner_join(members::table)
            .filter($table::$subject.eq($id))
            .select((
                MemberSummaryRow::as_select(),
                $table::created_at,
                crate::viewer_member_columns(crate::viewer::viewer_id(viewer)),
            ))
            .order(($table::created_at.desc(), $table::member_id.desc()))
            .limit($limit)
            .into_boxed();
        query = crate::others_page(query, viewer);
        if let Some((at, id)) = $after {
            query = query.filter(crate::before(
                ($table::created_at, $table::member_id),
                (at, id),
            ));
        }
        let rows: Vec<(
            MemberSummaryRow,
            DateTime<Utc>,
            crate::viewer::ViewerMemberRow,
        )> = query.load($conn).await?;
        Ok(rows)
    }};
}

pub mod account_tokens;
pub mod activity;
pub mod blocks;
pub mod catalog;
pub mod catalog_import;
pub mod changes;
pub mod error;
mod filters;
pub mod idempotency;
pub mod jobs;
pub mod lists;
pub mod log_entries;
pub mod mail;
pub mod members;
pub mod moderation;
pub mod notifications;
pub mod oauth;
pub mod people;
pub mod pool;
pub mod portability;
pub mod queues;
pub mod relationships;
pub mod replaceable;
pub mod replication;
pub mod schema;
pub mod search;
pub mod sessions;
pub mod social;
pub mod spans;
pub mod timelines;
pub mod two_factor;
pub mod types;
pub mod viewer;
pub mod webhooks;

pub use diesel_async::AsyncPgConnection;
pub use error::{PersistenceError, Taken};
pub(crate) use filters::{
    active_member, after, before, blocked, film_in_scope, film_visible, film_visible_sql,
    others_page, unblocked, viewer_film_columns, viewer_film_on, viewer_member_columns, visible,
};
pub use pool::{ConnectionObserver, DbConn, DbPool, PoolSettings, build_pool, run_migrations};

pub type Result<T, E = PersistenceError> = std::result::Result<T, E>;

diesel::define_sql_function! {
    /// SQL `lower(text)`.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}
