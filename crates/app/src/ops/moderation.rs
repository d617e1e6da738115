//! Reports and moderation actions, with the rules of `filmlog_domain::moderation`.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use filmlog_domain::MemberId;
use filmlog_domain::moderation::{self, Case, ModerationAction, ModerationSubject, ReportReason};
use filmlog_persistence::moderation::{self as store, Action, LogRow};
use filmlog_persistence::sessions::{self, RevokeReason};
use filmlog_persistence::{AsyncPgConnection, members};

use super::{OpError, OpResult};

/// Files `reporter`'s report of a subject whose owner is `owner` (idempotent while it is open).
pub async fn report(
    conn: &mut AsyncPgConnection,
    reporter: MemberId,
    owner: MemberId,
    subject: ModerationSubject,
    reason: ReportReason,
    message: Option<&str>,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        moderation::check_report(owner == reporter)?;
        store::report(conn, reporter, subject, reason, message).await?;
        Ok(())
    })
    .await
}

/// Takes `action` on a reported subject, writes it to the moderation log and resolves the subject's
/// open reports; the log line, with how many it resolved.
pub async fn act(
    conn: &mut AsyncPgConnection,
    (moderator, moderator_username): (MemberId, &str),
    action: ModerationAction,
    subject: ModerationSubject,
    reason: &str,
    suspend_until: Option<DateTime<Utc>>,
) -> OpResult<LogRow> {
    conn.transaction(async |conn| {
        let state = store::subject_state(conn, subject)
            .await?
            .ok_or(OpError::NotFound("that subject"))?;
        let (open_reports, moderator_reported) =
            store::open_reports(conn, subject, moderator).await?;
        moderation::check_action(
            action,
            Case {
                subject: subject.kind(),
                open_reports,
                moderator_reported,
                marked_spoilers: state.marked_spoilers,
                removed: state.removed,
                admin: state.admin,
                suspended: state.suspended,
            },
        )?;
        // `check_action` admits each action only for the subjects it applies to.
        match (action, subject) {
            (ModerationAction::MarkSpoilers, ModerationSubject::Review(entry)) => {
                store::mark_spoilers(conn, entry).await?
            }
            (ModerationAction::Remove, _) => store::remove(conn, subject).await?,
            (ModerationAction::Suspend, ModerationSubject::Member(member)) => {
                members::suspend(conn, member, suspend_until).await?;
                sessions::revoke_all(conn, member, RevokeReason::Suspended).await?;
                filmlog_persistence::two_factor::drop_challenges(conn, member).await?;
            }
            (ModerationAction::LiftSuspension, ModerationSubject::Member(member)) => {
                members::lift_suspension(conn, member).await?;
            }
            (ModerationAction::Dismiss, _) => {}
            // `check_action` refused every other pair above; never log an action not taken.
            (ModerationAction::MarkSpoilers | ModerationAction::Suspend, _)
            | (ModerationAction::LiftSuspension, _) => {
                return Err(OpError::Internal(format!(
                    "{action} does not apply to a {}",
                    subject.kind()
                )));
            }
        }
        let row = store::record(
            conn,
            Action {
                moderator,
                moderator_username,
                action,
                subject,
                reason,
                suspended_until: match action {
                    ModerationAction::Suspend => {
                        Some(suspend_until.unwrap_or_else(moderation::forever))
                    }
                    _ => None,
                },
            },
        )
        .await?;
        Ok(row)
    })
    .await
}

#[cfg(test)]
mod tests {
    use filmlog_domain::RuleError;

    use super::*;
    use crate::ops::fixture::Fixture;

    #[tokio::test]
    async fn nobody_reports_their_own_review_and_a_removal_resolves_the_open_reports() {
        let mut f = Fixture::new().await;
        let (ana, bo, mod_) = (
            f.member("ana").await,
            f.member("bo").await,
            f.member("mo").await,
        );
        f.film("children-of-heaven-1997").await;
        let review = f.review(ana, "children-of-heaven-1997").await;
        let subject = ModerationSubject::Review(review);

        let own = report(&mut f.conn, ana, ana, subject, ReportReason::Spam, None).await;
        assert!(
            matches!(own, Err(OpError::Rule(RuleError::ReportOwnContent))),
            "{own:?}"
        );
        for _ in 0..2 {
            report(
                &mut f.conn,
                bo,
                ana,
                subject,
                ReportReason::Spam,
                Some("ads"),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(f.count("reports").await, 1, "one open report per reporter");

        let gone = act(
            &mut f.conn,
            (mod_, "mo"),
            ModerationAction::Remove,
            ModerationSubject::Review(filmlog_domain::LogEntryId::new(i64::MAX)),
            "spam",
            None,
        )
        .await;
        assert!(matches!(gone, Err(OpError::NotFound(_))), "{gone:?}");
        let line = act(
            &mut f.conn,
            (mod_, "mo"),
            ModerationAction::Remove,
            subject,
            "spam",
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((line.moderator_id, line.reports_resolved), (mod_, 1));
        assert_eq!(
            f.count("log_entries WHERE review_removed_at IS NOT NULL")
                .await,
            1
        );
    }
}
