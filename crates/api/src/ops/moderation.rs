//! Reports and moderation actions, with the rules of `filmlog_domain::moderation`.

use filmlog_domain::MemberId;
use filmlog_domain::moderation::{self, Case, ModerationAction, ReportReason, SubjectType};
use filmlog_persistence::AsyncPgConnection;
use filmlog_persistence::moderation::{self as store, Action, LogRow};

use super::{OpError, OpResult};

/// Files `reporter`'s report of a subject whose owner is `owner` (idempotent while it is open).
pub async fn report(
    conn: &mut AsyncPgConnection,
    reporter: MemberId,
    owner: MemberId,
    (subject, id): (SubjectType, i64),
    reason: ReportReason,
    message: Option<&str>,
) -> OpResult<()> {
    moderation::check_report(owner == reporter)?;
    store::report(conn, reporter, subject, id, reason, message).await?;
    Ok(())
}

/// Takes `action` on a reported subject, writes it to the moderation log and resolves the subject's
/// open reports; the log line, with how many it resolved.
pub async fn act(
    conn: &mut AsyncPgConnection,
    (moderator, moderator_username): (MemberId, &str),
    action: ModerationAction,
    (subject, id): (SubjectType, i64),
    reason: &str,
) -> OpResult<LogRow> {
    store::subject_owner(conn, subject, id)
        .await?
        .ok_or(OpError::NotFound("that subject"))?;
    let (open_reports, moderator_reported) =
        store::open_reports(conn, subject, id, moderator).await?;
    let (marked_spoilers, removed) = match subject {
        SubjectType::Review => store::review_state(conn, id).await?,
        SubjectType::Comment => (false, store::comment_removed(conn, id).await?),
        SubjectType::Member => (false, false),
    };
    moderation::check_action(
        action,
        Case {
            subject,
            open_reports,
            moderator_reported,
            marked_spoilers,
            removed,
        },
    )?;
    match action {
        ModerationAction::Dismiss => {}
        ModerationAction::MarkSpoilers => store::mark_spoilers(conn, id).await?,
        ModerationAction::Remove => store::remove(conn, subject, id).await?,
    }
    let row = store::record(
        conn,
        Action {
            moderator,
            moderator_username,
            action,
            subject,
            subject_id: id,
            reason,
        },
    )
    .await?;
    Ok(row)
}
