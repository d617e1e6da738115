//! Blocks and mutes between members. Lists of other members' things leave out, for a signed-in
//! viewer, whatever comes from a member on the other side of a block ([`crate::unblocked`]).

use chrono::{DateTime, Utc};
use diesel::sql_types::BigInt;
use diesel::{ExpressionMethods, JoinOnDsl, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::MemberId;

use crate::Result;
use crate::members::MemberSummaryRow;
use crate::schema::{blocks, members, mutes};

/// Serialises, until the transaction ends, what changes the relationship of two members (a follow, a
/// block): a transaction-scoped advisory lock on the pair, whichever order they come in.
pub async fn lock_pair(conn: &mut AsyncPgConnection, a: MemberId, b: MemberId) -> Result<()> {
    let (lo, hi) = if a.get() <= b.get() { (a, b) } else { (b, a) };
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock(hashtextextended('member pair ' || $1 || ':' || $2, 0))",
    )
    .bind::<BigInt, _>(lo.get())
    .bind::<BigInt, _>(hi.get())
    .execute(conn)
    .await?;
    Ok(())
}

/// Blocks; `true` when the block is new.
pub async fn block(
    conn: &mut AsyncPgConnection,
    blocker: MemberId,
    blocked: MemberId,
) -> Result<bool> {
    let n = diesel::insert_into(blocks::table)
        .values((
            blocks::blocker_id.eq(blocker.get()),
            blocks::blocked_id.eq(blocked.get()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Lifts a block; `true` when there was one.
pub async fn unblock(
    conn: &mut AsyncPgConnection,
    blocker: MemberId,
    blocked: MemberId,
) -> Result<bool> {
    let n = diesel::delete(blocks::table.find((blocker.get(), blocked.get())))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Mutes; `true` when the mute is new.
pub async fn mute(conn: &mut AsyncPgConnection, muter: MemberId, muted: MemberId) -> Result<bool> {
    let n = diesel::insert_into(mutes::table)
        .values((
            mutes::muter_id.eq(muter.get()),
            mutes::muted_id.eq(muted.get()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Lifts a mute; `true` when there was one.
pub async fn unmute(
    conn: &mut AsyncPgConnection,
    muter: MemberId,
    muted: MemberId,
) -> Result<bool> {
    let n = diesel::delete(mutes::table.find((muter.get(), muted.get())))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// The members in `$table` whose `$owner` is `member`, newest first, keyed on `(created_at, $other)`.
macro_rules! members_of {
    ($conn:expr, $table:ident, $owner:ident, $other:ident, $member:expr, $after:expr, $limit:expr) => {{
        let mut query = $table::table
            .inner_join(members::table.on(members::id.eq($table::$other)))
            .filter($table::$owner.eq($member.get()))
            .select((MemberSummaryRow::as_select(), $table::created_at))
            .order(($table::created_at.desc(), $table::$other.desc()))
            .limit($limit)
            .into_boxed();
        if let Some((at, id)) = $after {
            query = query.filter(crate::before(
                ($table::created_at, $table::$other),
                (at, id),
            ));
        }
        Ok(query.load($conn).await?)
    }};
}

/// The members `blocker` blocked, newest block first.
pub async fn blocked_by(
    conn: &mut AsyncPgConnection,
    blocker: MemberId,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<(MemberSummaryRow, DateTime<Utc>)>> {
    members_of!(conn, blocks, blocker_id, blocked_id, blocker, after, limit)
}

/// The members `muter` muted, newest mute first.
pub async fn muted_by(
    conn: &mut AsyncPgConnection,
    muter: MemberId,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<(MemberSummaryRow, DateTime<Utc>)>> {
    members_of!(conn, mutes, muter_id, muted_id, muter, after, limit)
}
