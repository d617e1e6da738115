//! Reports and what moderators may do about them, as pure rules.

use crate::ids::{CommentId, ListCommentId, ListId, LogEntryId, MemberId};
use crate::rules::RuleError;

/// What a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectType {
    Review,
    Comment,
    Member,
    List,
    ListComment,
}

crate::names::named!("subject type", SubjectType {
    Review => "review",
    Comment => "comment",
    Member => "member",
    List => "list",
    ListComment => "list_comment",
});

/// One reportable thing, by its kind and typed id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModerationSubject {
    Review(LogEntryId),
    Comment(CommentId),
    Member(MemberId),
    List(ListId),
    ListComment(ListCommentId),
}

impl ModerationSubject {
    /// The subject a stored `(subject_type, subject_id)` pair names.
    pub fn new(kind: SubjectType, id: i64) -> Self {
        match kind {
            SubjectType::Review => ModerationSubject::Review(LogEntryId::new(id)),
            SubjectType::Comment => ModerationSubject::Comment(CommentId::new(id)),
            SubjectType::Member => ModerationSubject::Member(MemberId::new(id)),
            SubjectType::List => ModerationSubject::List(ListId::new(id)),
            SubjectType::ListComment => ModerationSubject::ListComment(ListCommentId::new(id)),
        }
    }

    pub fn kind(self) -> SubjectType {
        match self {
            ModerationSubject::Review(_) => SubjectType::Review,
            ModerationSubject::Comment(_) => SubjectType::Comment,
            ModerationSubject::Member(_) => SubjectType::Member,
            ModerationSubject::List(_) => SubjectType::List,
            ModerationSubject::ListComment(_) => SubjectType::ListComment,
        }
    }

    /// The id as stored beside the kind.
    pub fn raw_id(self) -> i64 {
        match self {
            ModerationSubject::Review(id) => id.get(),
            ModerationSubject::Comment(id) => id.get(),
            ModerationSubject::Member(id) => id.get(),
            ModerationSubject::List(id) => id.get(),
            ModerationSubject::ListComment(id) => id.get(),
        }
    }
}

/// Where a report stands: open until a moderator's action on its subject resolves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportStatus {
    Open,
    Resolved,
}

crate::names::named!("report status", ReportStatus {
    Open => "open",
    Resolved => "resolved",
});

/// Why a member reports something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportReason {
    Spam,
    Abuse,
    Harassment,
    Spoilers,
    Plagiarism,
    Other,
}

crate::names::named!("report reason", ReportReason {
    Spam => "spam",
    Abuse => "abuse",
    Harassment => "harassment",
    Spoilers => "spoilers",
    Plagiarism => "plagiarism",
    Other => "other",
});

/// What a moderator does about a reported subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModerationAction {
    /// Closes the subject's open reports; nothing else changes.
    Dismiss,
    /// Marks a review as containing spoilers, and closes its open reports.
    MarkSpoilers,
    /// Removes a review's text or a comment (of a review or a list): it stays in place as a
    /// tombstone "removed by a moderator" (counters and statistics stay exact); a list becomes
    /// private to its owner, who cannot make it visible again. Closes its open reports.
    Remove,
    /// Suspends a member, for a period or for good: their sessions end at once, login is refused
    /// and their content is hidden while it lasts. Closes their open reports.
    Suspend,
    /// Ends a member's suspension.
    LiftSuspension,
}

crate::names::named!("moderation action", ModerationAction {
    Dismiss => "dismiss",
    MarkSpoilers => "mark_spoilers",
    Remove => "remove",
    Suspend => "suspend",
    LiftSuspension => "lift_suspension",
});

/// The end of a suspension "for good": the last second of year 9999 (every client and PostgreSQL
/// can hold it; `infinity` is not a time chrono reads).
pub fn forever() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::from_timestamp(253_402_300_799, 0)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

/// Whether a suspension ending at `until` is for good.
pub fn is_forever(until: chrono::DateTime<chrono::Utc>) -> bool {
    until >= forever()
}

/// A suspension that stops a member signing in, until when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suspended(pub chrono::DateTime<chrono::Utc>);

impl std::fmt::Display for Suspended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if is_forever(self.0) {
            f.write_str("this account is suspended for good")
        } else {
            let until = self.0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            write!(f, "this account is suspended until {until}")
        }
    }
}

/// Whether a member suspended until `suspended_until` may sign in at `now`: not while the suspension
/// runs. (Told only to whoever knows the password.)
pub fn check_sign_in(
    suspended_until: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Suspended> {
    match suspended_until {
        Some(until) if until > now => Err(Suspended(until)),
        _ => Ok(()),
    }
}

/// A member may report anything they can see but their own content or themselves.
pub fn check_report(own: bool) -> Result<(), RuleError> {
    if own {
        Err(RuleError::ReportOwnContent)
    } else {
        Ok(())
    }
}

/// What a moderation action needs to know about its subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    pub subject: SubjectType,
    /// Open reports of the subject.
    pub open_reports: i64,
    /// Whether the moderator filed one of them.
    pub moderator_reported: bool,
    /// For a review: whether it is already marked as containing spoilers.
    pub marked_spoilers: bool,
    /// For a review or comment: whether a moderator already removed it.
    pub removed: bool,
    /// For a member: whether they are an admin, and whether they are suspended now.
    pub admin: bool,
    pub suspended: bool,
}

/// Whether a moderator may take `action` on a case: never on a subject they reported themselves;
/// the actions on reported content only while it has open reports; each action only on the kind of
/// subject and in the state it applies to; never a suspension of another admin.
pub fn check_action(action: ModerationAction, case: Case) -> Result<(), RuleError> {
    use ModerationAction::*;
    if case.moderator_reported {
        return Err(RuleError::OwnReport);
    }
    let applies = match action {
        Dismiss => true,
        MarkSpoilers => case.subject == SubjectType::Review,
        Remove => case.subject != SubjectType::Member,
        Suspend | LiftSuspension => case.subject == SubjectType::Member,
    };
    if matches!(action, Dismiss | MarkSpoilers | Remove) && case.open_reports == 0 {
        return Err(RuleError::NoOpenReports);
    }
    if !applies {
        return Err(RuleError::ActionNotApplicable);
    }
    match action {
        MarkSpoilers if case.marked_spoilers => Err(RuleError::AlreadyMarkedSpoilers),
        Remove if case.removed => Err(RuleError::AlreadyRemoved),
        Suspend if case.admin => Err(RuleError::SuspendAdmin),
        Suspend if case.suspended => Err(RuleError::AlreadySuspended),
        LiftSuspension if !case.suspended => Err(RuleError::NotSuspended),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suspension_stops_sign_in_only_while_it_runs() {
        let now = chrono::Utc::now();
        let later = now + chrono::Duration::hours(1);
        let earlier = now - chrono::Duration::hours(1);
        assert!(check_sign_in(None, now).is_ok());
        assert!(check_sign_in(Some(earlier), now).is_ok());
        assert_eq!(check_sign_in(Some(later), now), Err(Suspended(later)));
    }

    fn case(subject: SubjectType) -> Case {
        Case {
            subject,
            open_reports: 2,
            moderator_reported: false,
            marked_spoilers: false,
            removed: false,
            admin: false,
            suspended: false,
        }
    }

    #[test]
    fn names_round_trip() {
        for t in SubjectType::ALL {
            assert_eq!(SubjectType::parse(t.as_str()), Some(t));
        }
        for r in ReportReason::ALL {
            assert_eq!(ReportReason::parse(r.as_str()), Some(r));
        }
        for a in ModerationAction::ALL {
            assert_eq!(ModerationAction::parse(a.as_str()), Some(a));
        }
        // Every variant is listed (a match that stops compiling when one is added).
        let listed = |a: ModerationAction| match a {
            ModerationAction::Dismiss
            | ModerationAction::MarkSpoilers
            | ModerationAction::Remove
            | ModerationAction::Suspend
            | ModerationAction::LiftSuspension => ModerationAction::ALL.contains(&a),
        };
        use ModerationAction::*;
        assert!(
            [Dismiss, MarkSpoilers, Remove, Suspend, LiftSuspension]
                .into_iter()
                .all(listed)
        );
        assert_eq!(ReportReason::parse("rude"), None);
    }

    #[test]
    fn moderation_refusals() {
        use ModerationAction::*;
        assert_eq!(check_report(true), Err(RuleError::ReportOwnContent));
        assert_eq!(check_report(false), Ok(()));
        for action in [Dismiss, MarkSpoilers, Remove] {
            let own = Case {
                moderator_reported: true,
                ..case(SubjectType::Review)
            };
            assert_eq!(check_action(action, own), Err(RuleError::OwnReport));
            let closed = Case {
                open_reports: 0,
                ..case(SubjectType::Review)
            };
            assert_eq!(check_action(action, closed), Err(RuleError::NoOpenReports));
            assert_eq!(check_action(action, case(SubjectType::Review)), Ok(()));
        }
        // Suspensions need no report, but never of another admin, nor twice, nor of content.
        let member = case(SubjectType::Member);
        let unreported = Case {
            open_reports: 0,
            ..member
        };
        assert_eq!(check_action(Suspend, unreported), Ok(()));
        let own = Case {
            moderator_reported: true,
            ..member
        };
        assert_eq!(check_action(Suspend, own), Err(RuleError::OwnReport));
        let admin = Case {
            admin: true,
            ..member
        };
        assert_eq!(check_action(Suspend, admin), Err(RuleError::SuspendAdmin));
        let suspended = Case {
            suspended: true,
            ..unreported
        };
        assert_eq!(
            check_action(Suspend, suspended),
            Err(RuleError::AlreadySuspended)
        );
        assert_eq!(check_action(LiftSuspension, suspended), Ok(()));
        assert_eq!(
            check_action(LiftSuspension, unreported),
            Err(RuleError::NotSuspended)
        );
        for action in [Suspend, LiftSuspension] {
            assert_eq!(
                check_action(action, case(SubjectType::Review)),
                Err(RuleError::ActionNotApplicable)
            );
        }
        assert_eq!(check_action(Dismiss, case(SubjectType::Member)), Ok(()));
        // Lists and list comments are removed like comments: once, and only while reported.
        for subject in [SubjectType::List, SubjectType::ListComment] {
            assert_eq!(check_action(Remove, case(subject)), Ok(()));
            assert_eq!(check_action(Dismiss, case(subject)), Ok(()));
            let removed = Case {
                removed: true,
                ..case(subject)
            };
            assert_eq!(
                check_action(Remove, removed),
                Err(RuleError::AlreadyRemoved)
            );
            assert_eq!(
                check_action(Suspend, case(subject)),
                Err(RuleError::ActionNotApplicable)
            );
        }
        assert_eq!(
            check_action(Remove, case(SubjectType::Member)),
            Err(RuleError::ActionNotApplicable)
        );
        for subject in [
            SubjectType::Comment,
            SubjectType::Member,
            SubjectType::List,
            SubjectType::ListComment,
        ] {
            assert_eq!(
                check_action(MarkSpoilers, case(subject)),
                Err(RuleError::ActionNotApplicable)
            );
        }
        let marked = Case {
            marked_spoilers: true,
            ..case(SubjectType::Review)
        };
        assert_eq!(
            check_action(MarkSpoilers, marked),
            Err(RuleError::AlreadyMarkedSpoilers)
        );
    }
}
