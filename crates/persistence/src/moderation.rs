//! Reports, the moderation queue and the append-only moderation log.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, Queryable, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::moderation::{
    ModerationAction, ModerationSubject, ReportReason, ReportStatus, SubjectType,
};
use filmlog_domain::{Audience, LogEntryId, MemberId, ModerationEventId, Role};

use crate::Result;
use crate::schema::{
    comments, list_comments, lists, log_entries, members, moderation_log, reports,
};
use crate::types::{DbName, DbNames, DbRole};

/// Whose a subject is (the review's or comment's author, the member themselves), if it exists. A
/// log entry without review text is not a review.
pub async fn subject_owner(
    conn: &mut AsyncPgConnection,
    subject: ModerationSubject,
) -> Result<Option<MemberId>> {
    let owner: Option<i64> = match subject {
        ModerationSubject::Review(id) => log_entries::table
            .filter(log_entries::id.eq(id.get()))
            .filter(log_entries::review_text.is_not_null())
            .select(log_entries::member_id)
            .first(conn)
            .await
            .optional()?,
        ModerationSubject::Comment(id) => comments::table
            .find(id.get())
            .select(comments::author_id)
            .first(conn)
            .await
            .optional()?,
        ModerationSubject::Member(id) => members::table
            .find(id.get())
            .select(members::id)
            .first(conn)
            .await
            .optional()?,
        ModerationSubject::List(id) => lists::table
            .find(id.get())
            .select(lists::owner_id)
            .first(conn)
            .await
            .optional()?,
        ModerationSubject::ListComment(id) => list_comments::table
            .find(id.get())
            .select(list_comments::author_id)
            .first(conn)
            .await
            .optional()?,
    };
    Ok(owner.map(MemberId::new))
}

/// The owner and audience of the thread a comment belongs to: the review a comment answers, or the
/// list a list comment is on (none for other subjects).
pub async fn thread_of(
    conn: &mut AsyncPgConnection,
    subject: ModerationSubject,
) -> Result<Option<(MemberId, Audience)>> {
    let owner: Option<(i64, DbName<Audience>)> = match subject {
        ModerationSubject::Comment(id) => comments::table
            .inner_join(log_entries::table)
            .filter(comments::id.eq(id.get()))
            .select((log_entries::member_id, log_entries::visibility))
            .first(conn)
            .await
            .optional()?,
        ModerationSubject::ListComment(id) => list_comments::table
            .inner_join(lists::table)
            .filter(list_comments::id.eq(id.get()))
            .select((lists::owner_id, lists::visibility))
            .first(conn)
            .await
            .optional()?,
        ModerationSubject::Review(_)
        | ModerationSubject::Member(_)
        | ModerationSubject::List(_) => None,
    };
    Ok(owner.map(|(m, a)| (MemberId::new(m), a.0)))
}

/// Files a report; `false` when the reporter already has an open one on the subject (nothing changes).
pub async fn report(
    conn: &mut AsyncPgConnection,
    reporter: MemberId,
    subject: ModerationSubject,
    reason: ReportReason,
    message: Option<&str>,
) -> Result<bool> {
    let n = diesel::insert_into(reports::table)
        .values((
            reports::reporter_id.eq(reporter.get()),
            reports::subject_type.eq(subject.kind().as_str()),
            reports::subject_id.eq(subject.raw_id()),
            reports::reason.eq(reason.as_str()),
            reports::message.eq(message),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// A subject's open reports, and whether `moderator` filed one of them.
pub async fn open_reports(
    conn: &mut AsyncPgConnection,
    subject: ModerationSubject,
    moderator: MemberId,
) -> Result<(i64, bool)> {
    let reporters: Vec<i64> = reports::table
        .filter(reports::subject_type.eq(subject.kind().as_str()))
        .filter(reports::subject_id.eq(subject.raw_id()))
        .filter(reports::status.eq(ReportStatus::Open.as_str()))
        .select(reports::reporter_id)
        .for_update()
        .load(conn)
        .await?;
    Ok((reporters.len() as i64, reporters.contains(&moderator.get())))
}

/// The state of a subject that the moderation rules need (whatever does not apply to its kind is
/// false), if it exists: one statement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubjectState {
    /// A review marked as containing spoilers.
    pub marked_spoilers: bool,
    /// A review or comment a moderator removed.
    pub removed: bool,
    /// A member who is an admin.
    pub admin: bool,
    /// A member suspended now.
    pub suspended: bool,
}

pub async fn subject_state(
    conn: &mut AsyncPgConnection,
    subject: ModerationSubject,
) -> Result<Option<SubjectState>> {
    // The state of content that can only be removed, when it exists.
    let removed = |found: Option<bool>| {
        found.map(|removed| SubjectState {
            removed,
            ..SubjectState::default()
        })
    };
    Ok(match subject {
        ModerationSubject::Review(id) => log_entries::table
            .find(id.get())
            .filter(log_entries::review_text.is_not_null())
            .select((
                log_entries::contains_spoilers,
                log_entries::review_removed_at.is_not_null(),
            ))
            .first::<(bool, bool)>(conn)
            .await
            .optional()?
            .map(|(marked_spoilers, removed)| SubjectState {
                marked_spoilers,
                removed,
                ..SubjectState::default()
            }),
        ModerationSubject::Comment(id) => removed(
            comments::table
                .find(id.get())
                .select(comments::removed_at.is_not_null())
                .first(conn)
                .await
                .optional()?,
        ),
        ModerationSubject::List(id) => removed(
            lists::table
                .find(id.get())
                .select(lists::removed_at.is_not_null())
                .first(conn)
                .await
                .optional()?,
        ),
        ModerationSubject::ListComment(id) => removed(
            list_comments::table
                .find(id.get())
                .select(list_comments::removed_at.is_not_null())
                .first(conn)
                .await
                .optional()?,
        ),
        ModerationSubject::Member(id) => members::table
            .find(id.get())
            .select((members::role, members::suspended_until))
            .first::<(DbRole, Option<DateTime<Utc>>)>(conn)
            .await
            .optional()?
            .map(|(role, until)| SubjectState {
                admin: role.0 == Role::Admin,
                suspended: until.is_some_and(|u| u > Utc::now()),
                ..SubjectState::default()
            }),
    })
}

/// Removes a review's text or a comment from view: it stays stored and in place, as a tombstone; a
/// list becomes private to its owner for good.
pub async fn remove(conn: &mut AsyncPgConnection, subject: ModerationSubject) -> Result<()> {
    match subject {
        ModerationSubject::Review(id) => {
            diesel::update(log_entries::table.find(id.get()))
                .set(log_entries::review_removed_at.eq(diesel::dsl::now))
                .execute(conn)
                .await?;
        }
        ModerationSubject::Comment(id) => {
            diesel::update(comments::table.find(id.get()))
                .set(comments::removed_at.eq(diesel::dsl::now))
                .execute(conn)
                .await?;
        }
        ModerationSubject::List(id) => crate::lists::remove(conn, id).await?,
        ModerationSubject::ListComment(id) => crate::lists::remove_comment(conn, id).await?,
        ModerationSubject::Member(_) => {}
    }
    Ok(())
}

/// Marks a review as containing spoilers.
pub async fn mark_spoilers(conn: &mut AsyncPgConnection, entry: LogEntryId) -> Result<()> {
    diesel::update(log_entries::table.find(entry.get()))
        .set(log_entries::contains_spoilers.eq(true))
        .execute(conn)
        .await?;
    Ok(())
}

/// One line of the moderation log, with how many reports the action resolved.
#[derive(Debug, Clone)]
pub struct LogRow {
    pub id: ModerationEventId,
    pub moderator_id: MemberId,
    pub moderator_username: String,
    pub action: ModerationAction,
    pub subject: ModerationSubject,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub suspended_until: Option<DateTime<Utc>>,
    pub reports_resolved: i64,
}

/// [`LogRow`] as [`log_page`] selects it.
type LogColumns = (
    BigInt,
    BigInt,
    Text,
    Text,
    Text,
    BigInt,
    Text,
    Timestamptz,
    Nullable<Timestamptz>,
    BigInt,
);

impl Queryable<LogColumns, diesel::pg::Pg> for LogRow {
    type Row = (
        i64,
        i64,
        String,
        DbName<ModerationAction>,
        DbName<SubjectType>,
        i64,
        String,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        i64,
    );

    fn build(row: Self::Row) -> diesel::deserialize::Result<Self> {
        let (id, moderator, username, action, kind, subject, reason, at, until, resolved) = row;
        Ok(LogRow {
            id: ModerationEventId::new(id),
            moderator_id: MemberId::new(moderator),
            moderator_username: username,
            action: action.0,
            subject: ModerationSubject::new(kind.0, subject),
            reason,
            created_at: at,
            suspended_until: until,
            reports_resolved: resolved,
        })
    }
}

/// What a moderator did, for the log.
#[derive(Debug, Clone, Copy)]
pub struct Action<'a> {
    pub moderator: MemberId,
    pub moderator_username: &'a str,
    pub action: ModerationAction,
    pub subject: ModerationSubject,
    pub reason: &'a str,
    /// For a suspension: until when.
    pub suspended_until: Option<DateTime<Utc>>,
}

/// Writes `action` to the log and resolves the subject's open reports with it.
pub async fn record(conn: &mut AsyncPgConnection, action: Action<'_>) -> Result<LogRow> {
    let (id, created_at): (i64, DateTime<Utc>) = diesel::insert_into(moderation_log::table)
        .values((
            moderation_log::moderator_id.eq(action.moderator.get()),
            moderation_log::moderator_username.eq(action.moderator_username),
            moderation_log::action.eq(action.action.as_str()),
            moderation_log::subject_type.eq(action.subject.kind().as_str()),
            moderation_log::subject_id.eq(action.subject.raw_id()),
            moderation_log::reason.eq(action.reason),
            moderation_log::suspended_until.eq(action.suspended_until),
        ))
        .returning((moderation_log::id, moderation_log::created_at))
        .get_result(conn)
        .await?;
    let resolved = diesel::update(
        reports::table
            .filter(reports::subject_type.eq(action.subject.kind().as_str()))
            .filter(reports::subject_id.eq(action.subject.raw_id()))
            .filter(reports::status.eq(ReportStatus::Open.as_str())),
    )
    .set((
        reports::status.eq(ReportStatus::Resolved.as_str()),
        reports::resolved_at.eq(diesel::dsl::now),
        reports::resolved_by_action.eq(id),
    ))
    .execute(conn)
    .await?;
    Ok(LogRow {
        id: ModerationEventId::new(id),
        moderator_id: action.moderator,
        moderator_username: action.moderator_username.to_owned(),
        action: action.action,
        subject: action.subject,
        reason: action.reason.to_owned(),
        created_at,
        suspended_until: action.suspended_until,
        reports_resolved: resolved as i64,
    })
}

/// The log, newest first.
pub async fn log_page(
    conn: &mut AsyncPgConnection,
    after: Option<(DateTime<Utc>, ModerationEventId)>,
    limit: i64,
) -> Result<Vec<LogRow>> {
    let mut query = moderation_log::table
        .select((
            moderation_log::id,
            moderation_log::moderator_id,
            moderation_log::moderator_username,
            moderation_log::action,
            moderation_log::subject_type,
            moderation_log::subject_id,
            moderation_log::reason,
            moderation_log::created_at,
            moderation_log::suspended_until,
            diesel::dsl::sql::<BigInt>(
                "(SELECT count(*) FROM reports r WHERE r.resolved_by_action = moderation_log.id)",
            ),
        ))
        .order((moderation_log::created_at.desc(), moderation_log::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(crate::before(
            (moderation_log::created_at, moderation_log::id),
            (at, id.get()),
        ));
    }
    Ok(query.load(conn).await?)
}

/// A reported subject in the queue: how many members reported it, why, and what it is.
#[derive(Debug, Clone)]
pub struct QueueRow {
    pub subject: ModerationSubject,
    pub reporters: i64,
    pub reasons: Vec<ReportReason>,
    pub first_reported_at: DateTime<Utc>,
    pub last_reported_at: DateTime<Utc>,
    /// The subject's owner (the member, or the author of the review, comment or list); none once it
    /// is gone.
    pub owner_username: Option<String>,
    /// The first 280 characters of the review or comment, or the list's name and description.
    pub excerpt: Option<String>,
}

/// [`QueueRow`] as `moderation_queue.sql` returns it.
#[derive(QueryableByName)]
struct QueueLine {
    #[diesel(sql_type = Text, deserialize_as = DbName<SubjectType>)]
    subject_type: SubjectType,
    #[diesel(sql_type = BigInt)]
    subject_id: i64,
    #[diesel(sql_type = BigInt)]
    reporters: i64,
    #[diesel(sql_type = Array<Text>, deserialize_as = DbNames<ReportReason>)]
    reasons: Vec<ReportReason>,
    #[diesel(sql_type = Timestamptz)]
    first_reported_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    last_reported_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    owner_username: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    excerpt: Option<String>,
}

/// Reported subjects with reports in `status` (`open` or `resolved`), the longest waiting first.
pub async fn queue(
    conn: &mut AsyncPgConnection,
    status: ReportStatus,
    after: Option<(DateTime<Utc>, ModerationSubject)>,
    limit: i64,
) -> Result<Vec<QueueRow>> {
    let (at, after_type, after_id) = match after {
        Some((at, subject)) => (Some(at), subject.kind().as_str(), subject.raw_id()),
        None => (None, "", 0),
    };
    let lines: Vec<QueueLine> = diesel::sql_query(include_str!("moderation_queue.sql"))
        .bind::<Text, _>(status.as_str())
        .bind::<Nullable<Timestamptz>, _>(at)
        .bind::<Text, _>(after_type)
        .bind::<BigInt, _>(after_id)
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?;
    Ok(lines
        .into_iter()
        .map(|l| QueueRow {
            subject: ModerationSubject::new(l.subject_type, l.subject_id),
            reporters: l.reporters,
            reasons: l.reasons,
            first_reported_at: l.first_reported_at,
            last_reported_at: l.last_reported_at,
            owner_username: l.owner_username,
            excerpt: l.excerpt,
        })
        .collect())
}
