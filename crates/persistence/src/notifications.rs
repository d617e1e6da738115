//! Notifications, thread subscriptions, and what deciding them needs to know.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use diesel::{ExpressionMethods, QueryDsl, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::notification::NotificationKind;
use filmlog_domain::{
    CommentId, ListCommentId, ListId, LogEntryId, MemberId, NotificationId, Relation, WebhookId,
};

use crate::Result;
use crate::schema::{entry_subscriptions, list_subscriptions, members};
use crate::types::{DbName, NullableId};

/// What a notification is about: a log entry (its review) or a list, and the comment in question.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct About {
    pub log_entry: Option<LogEntryId>,
    pub list: Option<ListId>,
    pub comment: Option<CommentId>,
    pub list_comment: Option<ListCommentId>,
}

/// A thread one can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thread {
    Entry(LogEntryId),
    List(ListId),
}

/// Writes what `actor` did to each `(recipient, kind)`, in the caller's transaction. The
/// recipient's own settings are applied here, as the row is written: nothing is written for a
/// recipient who turned the kind off, who mutes the actor, or across a block; a cause already
/// notified (liked, unliked, liked again after it was read) is not written twice. When any was
/// written, the recipients' live streams are woken (after the request: [`collect_wakes`]; a wake
/// that finds nothing new costs a stream one read). Returns the number written.
pub async fn notify(
    conn: &mut AsyncPgConnection,
    actor: MemberId,
    recipients: &[(MemberId, NotificationKind)],
    about: About,
) -> Result<usize> {
    if recipients.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = recipients.iter().map(|(m, _)| m.get()).collect();
    let statement = Notify {
        actor: actor.get(),
        recipients: ids.clone(),
        kinds: recipients.iter().map(|(_, k)| k.as_str()).collect(),
        about: About::binds(about),
    };
    let written: Count = statement.get_result(conn).await?;
    if written.n > 0 {
        wake_all_of(conn, &ids).await?;
    }
    Ok(usize::try_from(written.n).unwrap_or(0))
}

/// [`notify`]'s statement (`notify_members` in sql/notifications.sql), prepared once per connection.
const NOTIFY_SQL: &str = "SELECT notify_members($1, $2, $3, $4, $5, $6, $7)::bigint AS n";

struct Notify<'a> {
    actor: i64,
    recipients: Vec<i64>,
    kinds: Vec<&'a str>,
    about: [Option<i64>; 4],
}

cached_statement!(Notify, NOTIFY_SQL, |s| {
    "1" => BigInt: &s.actor,
    "2" => Array<BigInt>: &s.recipients,
    "3" => Array<Text>: &s.kinds,
    "4" => Nullable<BigInt>: &s.about[0],
    "5" => Nullable<BigInt>: &s.about[1],
    "6" => Nullable<BigInt>: &s.about[2],
    "7" => Nullable<BigInt>: &s.about[3],
});

impl About {
    /// The entry, list, comment and list comment as bound: `$4` to `$7` of [`NOTIFY_SQL`].
    fn binds(self) -> [Option<i64>; 4] {
        [
            self.log_entry.map(LogEntryId::get),
            self.list.map(ListId::get),
            self.comment.map(CommentId::get),
            self.list_comment.map(ListCommentId::get),
        ]
    }
}

/// Withdraws what `actor` caused of `kind` about `about` for `recipient`, if it is still unread
/// (an unlike, an unfollow, a withdrawn request). A read notification stays as history.
pub async fn withdraw(
    conn: &mut AsyncPgConnection,
    actor: MemberId,
    recipient: MemberId,
    kind: NotificationKind,
    about: About,
) -> Result<usize> {
    let [entry, list, _, _] = About::binds(about);
    let statement = Withdraw {
        actor: actor.get(),
        recipient: recipient.get(),
        kind: kind.as_str(),
        entry,
        list,
    };
    Ok(statement.execute(conn).await?)
}

/// [`withdraw`]'s statement, prepared once per connection.
const WITHDRAW_SQL: &str = "
DELETE FROM notifications n USING members m
WHERE n.actor_id = $1 AND n.recipient_id = $2 AND n.kind = $3
  AND n.log_entry_id IS NOT DISTINCT FROM $4 AND n.list_id IS NOT DISTINCT FROM $5
  AND m.id = n.recipient_id AND n.created_at > m.notifications_read_at";

struct Withdraw<'a> {
    actor: i64,
    recipient: i64,
    kind: &'a str,
    entry: Option<i64>,
    list: Option<i64>,
}

cached_statement!(Withdraw, WITHDRAW_SQL, |s| {
    "1" => BigInt: &s.actor,
    "2" => BigInt: &s.recipient,
    "3" => Text: s.kind,
    "4" => Nullable<BigInt>: &s.entry,
    "5" => Nullable<BigInt>: &s.list,
});

/// What a notification row is about, as it is read: the entry (its review) or the list, and the
/// comment in question.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct Refs {
    #[diesel(sql_type = Nullable<BigInt>, deserialize_as = NullableId<LogEntryId>)]
    pub log_entry_id: Option<LogEntryId>,
    #[diesel(sql_type = Nullable<BigInt>, deserialize_as = NullableId<ListId>)]
    pub list_id: Option<ListId>,
    #[diesel(sql_type = Nullable<BigInt>, deserialize_as = NullableId<CommentId>)]
    pub comment_id: Option<CommentId>,
    #[diesel(sql_type = Nullable<BigInt>, deserialize_as = NullableId<ListCommentId>)]
    pub list_comment_id: Option<ListCommentId>,
}

/// One item of `GET /me/notifications`: the notifications of one kind on one subject.
#[derive(Debug, Clone, QueryableByName)]
pub struct Group {
    #[diesel(sql_type = Text, deserialize_as = DbName<NotificationKind>)]
    pub kind: NotificationKind,
    #[diesel(embed)]
    pub about: Refs,
    /// The webhook endpoint a `webhook_disabled` notification is about.
    #[diesel(sql_type = Nullable<BigInt>, deserialize_as = NullableId<WebhookId>)]
    pub webhook_id: Option<WebhookId>,
    /// The film's title (for an entry) or the list's name.
    #[diesel(sql_type = Nullable<Text>)]
    pub subject_title: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub film_slug: Option<String>,
    #[diesel(sql_type = Bool)]
    pub read: bool,
    #[diesel(sql_type = Timestamptz)]
    pub latest_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt, deserialize_as = i64)]
    pub latest_id: NotificationId,
    #[diesel(sql_type = BigInt)]
    pub actor_count: i64,
    /// The newest actors' usernames, newest first, each once (at most three).
    #[diesel(sql_type = Array<Text>)]
    pub actors: Vec<String>,
}

/// A page of `recipient`'s notification groups, newest first, after `(latest_at, latest_id)`. A
/// list's name is shown only while the recipient may read the list (the rule of
/// `filmlog_domain::visibility::sight` for a list, and no block between them): a list that went
/// private, was removed (removal makes it private) or whose owner blocked the reader keeps its
/// notifications, nameless.
pub async fn groups(
    conn: &mut AsyncPgConnection,
    recipient: MemberId,
    after: Option<(DateTime<Utc>, NotificationId)>,
    limit: i64,
) -> Result<Vec<Group>> {
    Ok(diesel::sql_query(
        "SELECT g.kind, g.log_entry_id, g.list_id, g.comment_id, g.list_comment_id, g.webhook_id, \
                g.read, \
                g.latest_at, g.latest_id, g.actor_count, \
                coalesce(f.title, CASE WHEN l.owner_id = $1 OR ( \
                    visible_to($1, l.owner_id, l.visibility, lo.private_account, \
                        EXISTS (SELECT 1 FROM follows fo \
                                WHERE fo.follower_id = $1 AND fo.followee_id = l.owner_id)) \
                    AND NOT EXISTS (SELECT 1 FROM blocks b \
                         WHERE (b.blocker_id = l.owner_id AND b.blocked_id = $1) \
                            OR (b.blocker_id = $1 AND b.blocked_id = l.owner_id))) \
                  THEN l.name END) AS subject_title, f.slug AS film_slug, \
                ARRAY(SELECT a.username FROM ( \
                          SELECT DISTINCT ON (u.id) u.id, u.ord \
                          FROM unnest(g.recent_actors) WITH ORDINALITY AS u(id, ord) \
                          ORDER BY u.id, u.ord) d \
                      JOIN members a ON a.id = d.id ORDER BY d.ord LIMIT 3) AS actors \
         FROM notification_groups($1) g \
         LEFT JOIN log_entries e ON e.id = g.log_entry_id \
         LEFT JOIN films f ON f.id = e.film_id \
         LEFT JOIN lists l ON l.id = g.list_id \
         LEFT JOIN members lo ON lo.id = l.owner_id \
         WHERE $2::timestamptz IS NULL OR (g.latest_at, g.latest_id) < ($2, $3) \
         ORDER BY g.latest_at DESC, g.latest_id DESC LIMIT $4",
    )
    .bind::<BigInt, _>(recipient.get())
    .bind::<Nullable<Timestamptz>, _>(after.map(|a| a.0))
    .bind::<BigInt, _>(after.map_or(0, |a| a.1.get()))
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many of `recipient`'s notification groups are unread.
pub async fn unread_count(conn: &mut AsyncPgConnection, recipient: MemberId) -> Result<i64> {
    let row: Count =
        diesel::sql_query("SELECT count(*) AS n FROM notification_groups($1) WHERE NOT read")
            .bind::<BigInt, _>(recipient.get())
            .get_result(conn)
            .await?;
    Ok(row.n)
}

/// Marks everything up to `up_to` read (never moves the mark back), and wakes the member's live
/// streams so they send the new unread count.
pub async fn mark_read(
    conn: &mut AsyncPgConnection,
    recipient: MemberId,
    up_to: DateTime<Utc>,
) -> Result<()> {
    diesel::sql_query(
        "UPDATE members SET notifications_read_at = greatest(notifications_read_at, $2) \
         WHERE id = $1",
    )
    .bind::<BigInt, _>(recipient.get())
    .bind::<Timestamptz, _>(up_to)
    .execute(conn)
    .await?;
    wake(conn, recipient).await
}

/// Wakes `member`'s live streams on every API instance: after the request (see [`collect_wakes`]),
/// or at commit outside one.
pub async fn wake(conn: &mut AsyncPgConnection, member: MemberId) -> Result<()> {
    wake_all_of(conn, &[member.get()]).await
}

/// [`wake`] for each of `members` (ids).
pub async fn wake_all_of(conn: &mut AsyncPgConnection, members: &[i64]) -> Result<()> {
    if members.is_empty() || defer_wakes(members) {
        return Ok(());
    }
    diesel::sql_query(
        "SELECT count(pg_notify('filmlog_events', m::text)) FROM unnest($1::bigint[]) m",
    )
    .bind::<Array<BigInt>, _>(members)
    .execute(conn)
    .await?;
    Ok(())
}

tokio::task_local! {
    static WAKES: std::rc::Rc<std::cell::RefCell<Vec<i64>>>;
}

/// Runs a request collecting the members whose live streams its writes are to wake, and gives them
/// to `woken` once the request is done (its transactions committed, outside any of them: the
/// live-event hub sends them), or dropped mid-way. A `NOTIFY` inside a writing transaction takes
/// PostgreSQL's one notification-queue lock from its commit until its WAL is flushed, so every
/// notifying commit of the cluster waited for the one before it. A wake for a transaction that then
/// rolled back finds nothing new: harmless.
pub async fn collect_wakes<F: Future>(request: F, woken: impl FnOnce(Vec<i64>)) -> F::Output {
    struct Flush<W: FnOnce(Vec<i64>)> {
        ids: std::rc::Rc<std::cell::RefCell<Vec<i64>>>,
        woken: Option<W>,
    }
    impl<W: FnOnce(Vec<i64>)> Drop for Flush<W> {
        fn drop(&mut self) {
            let ids = std::mem::take(&mut *self.ids.borrow_mut());
            if let Some(woken) = self.woken.take().filter(|_| !ids.is_empty()) {
                woken(ids);
            }
        }
    }
    let ids = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let _flush = Flush {
        ids: ids.clone(),
        woken: Some(woken),
    };
    WAKES.scope(ids, request).await
}

/// Keeps `members` for the request's end; `false` outside a request (the caller wakes at commit).
fn defer_wakes(members: &[i64]) -> bool {
    WAKES
        .try_with(|w| w.borrow_mut().extend_from_slice(members))
        .is_ok()
}

/// One notification as the live stream sends it (not grouped).
#[derive(Debug, Clone, QueryableByName)]
pub struct Single {
    #[diesel(sql_type = BigInt, deserialize_as = i64)]
    pub id: NotificationId,
    #[diesel(sql_type = Text, deserialize_as = DbName<NotificationKind>)]
    pub kind: NotificationKind,
    /// `None` for what the system tells (an endpoint disabled).
    #[diesel(sql_type = Nullable<Text>)]
    pub actor: Option<String>,
    #[diesel(embed)]
    pub about: Refs,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// `recipient`'s notifications newer than `after` (an id), oldest first, at most `limit`: what a
/// live stream has not sent yet. The same members are left out as from the list.
pub async fn newer_than(
    conn: &mut AsyncPgConnection,
    recipient: MemberId,
    after: i64,
    limit: i64,
) -> Result<Vec<Single>> {
    // `(SELECT hidden_from($1))`: once for the statement (an InitPlan), not once per row.
    Ok(diesel::sql_query(
        "SELECT n.id, n.kind, a.username AS actor, n.log_entry_id, n.list_id, n.comment_id, \
                n.list_comment_id, n.created_at \
         FROM notifications n LEFT JOIN members a ON a.id = n.actor_id \
         WHERE n.recipient_id = $1 AND n.id > $2 \
           AND (n.actor_id IS NULL OR NOT (n.actor_id = ANY ((SELECT hidden_from($1))::bigint[]))) \
           AND NOT EXISTS (SELECT 1 FROM mutes u WHERE u.muter_id = $1 AND u.muted_id = n.actor_id) \
         ORDER BY n.id LIMIT $3",
    )
    .bind::<BigInt, _>(recipient.get())
    .bind::<BigInt, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?)
}

/// The id of `recipient`'s newest notification (0 for none): where a new live stream starts.
pub async fn newest_id(conn: &mut AsyncPgConnection, recipient: MemberId) -> Result<i64> {
    let row: Count = diesel::sql_query(
        "SELECT coalesce(max(id), 0) AS n FROM notifications WHERE recipient_id = $1",
    )
    .bind::<BigInt, _>(recipient.get())
    .get_result(conn)
    .await?;
    Ok(row.n)
}

/// Subscribes `member` to a thread (`on`), or unsubscribes them for good (`!on`).
pub async fn set_subscription(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    thread: Thread,
    on: bool,
) -> Result<()> {
    subscribe(conn, member, thread, on, true).await
}

/// Taking part in a thread subscribes to it, unless the member unsubscribed before.
pub async fn take_part(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    thread: Thread,
) -> Result<()> {
    subscribe(conn, member, thread, true, false).await
}

async fn subscribe(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    thread: Thread,
    on: bool,
    overwrite: bool,
) -> Result<()> {
    // Set to `on` when `overwrite`, else only when the member has no row for the thread.
    match thread {
        Thread::Entry(id) => {
            let insert = diesel::insert_into(entry_subscriptions::table).values((
                entry_subscriptions::log_entry_id.eq(id.get()),
                entry_subscriptions::member_id.eq(member.get()),
                entry_subscriptions::subscribed.eq(on),
            ));
            if overwrite {
                insert
                    .on_conflict((
                        entry_subscriptions::log_entry_id,
                        entry_subscriptions::member_id,
                    ))
                    .do_update()
                    .set(entry_subscriptions::subscribed.eq(on))
                    .execute(conn)
                    .await?
            } else {
                insert.on_conflict_do_nothing().execute(conn).await?
            }
        }
        Thread::List(id) => {
            let insert = diesel::insert_into(list_subscriptions::table).values((
                list_subscriptions::list_id.eq(id.get()),
                list_subscriptions::member_id.eq(member.get()),
                list_subscriptions::subscribed.eq(on),
            ));
            if overwrite {
                insert
                    .on_conflict((list_subscriptions::list_id, list_subscriptions::member_id))
                    .do_update()
                    .set(list_subscriptions::subscribed.eq(on))
                    .execute(conn)
                    .await?
            } else {
                insert.on_conflict_do_nothing().execute(conn).await?
            }
        }
    };
    Ok(())
}

/// A thread's subscribers, and the members who unsubscribed from it.
pub async fn subscriptions(
    conn: &mut AsyncPgConnection,
    thread: Thread,
) -> Result<(Vec<MemberId>, Vec<MemberId>)> {
    let rows: Vec<(i64, bool)> = match thread {
        Thread::Entry(id) => {
            entry_subscriptions::table
                .filter(entry_subscriptions::log_entry_id.eq(id.get()))
                .select((
                    entry_subscriptions::member_id,
                    entry_subscriptions::subscribed,
                ))
                .load(conn)
                .await?
        }
        Thread::List(id) => {
            list_subscriptions::table
                .filter(list_subscriptions::list_id.eq(id.get()))
                .select((
                    list_subscriptions::member_id,
                    list_subscriptions::subscribed,
                ))
                .load(conn)
                .await?
        }
    };
    let (on, off): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(_, on)| *on);
    let ids = |v: Vec<(i64, bool)>| v.into_iter().map(|(m, _)| MemberId::new(m)).collect();
    Ok((ids(on), ids(off)))
}

/// The relation of each of `members` to `owner`, as the visibility rule takes it (for telling
/// third parties only of what they may read).
pub async fn relations_to(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    members: &[MemberId],
) -> Result<Vec<(MemberId, Relation)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Bool)]
        by_viewer: bool,
        #[diesel(sql_type = Bool)]
        of_viewer: bool,
        #[diesel(sql_type = Bool)]
        owner_suspended: bool,
        #[diesel(sql_type = Bool)]
        owner_private: bool,
        #[diesel(sql_type = Bool)]
        watchlist_private: bool,
        #[diesel(sql_type = Bool)]
        follows_owner: bool,
    }
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = members.iter().map(|m| m.get()).collect();
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT v.id, \
                EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = v.id AND b.blocked_id = o.id) AS by_viewer, \
                EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = o.id AND b.blocked_id = v.id) AS of_viewer, \
                coalesce(o.suspended_until > now(), false) AS owner_suspended, \
                o.private_account AS owner_private, o.private_watchlist AS watchlist_private, \
                EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = v.id AND f.followee_id = o.id) AS follows_owner \
         FROM unnest($2::bigint[]) AS v(id) JOIN members o ON o.id = $1",
    )
    .bind::<BigInt, _>(owner.get())
    .bind::<Array<BigInt>, _>(ids)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let relation = Relation {
                blocks: filmlog_domain::Blocks {
                    by_viewer: r.by_viewer,
                    of_viewer: r.of_viewer,
                },
                owner_suspended: r.owner_suspended,
                owner_private: r.owner_private,
                watchlist_private: r.watchlist_private,
                follows_owner: r.follows_owner,
            };
            (MemberId::new(r.id), relation)
        })
        .collect())
}

/// The ids of the members `usernames` (lower-cased) name.
pub async fn ids_by_usernames(
    conn: &mut AsyncPgConnection,
    usernames: &[String],
) -> Result<Vec<MemberId>> {
    if usernames.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = members::table
        .filter(crate::lower(members::username).eq_any(usernames))
        .select(members::id)
        .load(conn)
        .await?;
    Ok(ids.into_iter().map(MemberId::new).collect())
}
