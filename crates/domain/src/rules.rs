//! The business rules that refuse an action, as one enum with stable codes. The API maps each to a
//! status in one place and lists the codes in its OpenAPI document from [`RuleError::ALL`].

use crate::visibility::Blocks;
use crate::{FilmId, MemberId, PersonId};

/// How a rule failure answers: a conflict with the current state (409), or a request that can never
/// succeed as sent (422).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    Conflict,
    Unprocessable,
}

/// A business rule the action would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum RuleError {
    #[error("you have log entries for this film; delete them to mark it unwatched")]
    UnableToRemoveWatch,
    #[error("you cannot like your own review")]
    LikeOwnReview,
    #[error("only log entries with review text can be liked or commented on")]
    NotAReview,
    #[error("you cannot follow yourself")]
    FollowYourself,
    #[error("a log entry needs a watched_on date or review text, or both")]
    LogEntryNeedsDateOrReview,
    #[error("you cannot block yourself")]
    BlockYourself,
    #[error("you cannot mute yourself")]
    MuteYourself,
    #[error("you have blocked this member; unblock them first")]
    Blocked,
    #[error("you cannot report your own content or yourself")]
    ReportOwnContent,
    #[error("you reported this yourself; another moderator must act on it")]
    OwnReport,
    #[error("this has no open reports")]
    NoOpenReports,
    #[error("this action does not apply to that kind of subject")]
    ActionNotApplicable,
    #[error("this review is already marked as containing spoilers")]
    AlreadyMarkedSpoilers,
    #[error("a moderator already removed this")]
    AlreadyRemoved,
    #[error("admins cannot suspend another admin")]
    SuspendAdmin,
    #[error("this member is already suspended; lift the suspension first")]
    AlreadySuspended,
    #[error("this member is not suspended")]
    NotSuspended,
    #[error("you cannot like your own list")]
    LikeOwnList,
    #[error("a moderator removed this list: it stays private to you")]
    ListRemoved,
    #[error("this Idempotency-Key was used for a different request; use a new key")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is in progress")]
    IdempotencyKeyInUse,
    #[error("your last import is not finished: confirm or cancel it first")]
    ImportInProgress,
    #[error("your last export is not finished")]
    ExportInProgress,
    #[error("a film cannot be merged into itself")]
    SameFilm,
    #[error("a person cannot be merged into themselves")]
    SamePerson,
    #[error("a member may register at most {max} webhook endpoints", max = crate::webhook::ENDPOINTS_MAX)]
    WebhookLimit,
    #[error("a member may register at most {max} apps", max = crate::oauth::APPS_MAX)]
    AppLimit,
    #[error("too many devices are waiting to sign in to this app; retry in a few minutes")]
    DevicesPending,
    #[error("a public app has no client secret; register a confidential app for one")]
    PublicApp,
    #[error("the endpoint is disabled; enable it with PATCH first")]
    WebhookDisabled,
    #[error("a test delivery to this endpoint has not been delivered yet")]
    WebhookTestPending,
    #[error("only a dry run at needs_review can be confirmed")]
    NotAwaitingReview,
    #[error("the import is done, failed or cancelled")]
    ImportFinished,
}

impl RuleError {
    /// Every rule, for documentation and tests.
    pub const ALL: [RuleError; 33] = [
        RuleError::UnableToRemoveWatch,
        RuleError::LikeOwnReview,
        RuleError::NotAReview,
        RuleError::FollowYourself,
        RuleError::LogEntryNeedsDateOrReview,
        RuleError::BlockYourself,
        RuleError::MuteYourself,
        RuleError::Blocked,
        RuleError::ReportOwnContent,
        RuleError::OwnReport,
        RuleError::NoOpenReports,
        RuleError::ActionNotApplicable,
        RuleError::AlreadyMarkedSpoilers,
        RuleError::AlreadyRemoved,
        RuleError::SuspendAdmin,
        RuleError::AlreadySuspended,
        RuleError::NotSuspended,
        RuleError::LikeOwnList,
        RuleError::ListRemoved,
        RuleError::IdempotencyKeyReused,
        RuleError::IdempotencyKeyInUse,
        RuleError::ImportInProgress,
        RuleError::ExportInProgress,
        RuleError::SameFilm,
        RuleError::SamePerson,
        RuleError::WebhookLimit,
        RuleError::AppLimit,
        RuleError::DevicesPending,
        RuleError::PublicApp,
        RuleError::WebhookDisabled,
        RuleError::WebhookTestPending,
        RuleError::NotAwaitingReview,
        RuleError::ImportFinished,
    ];

    /// The stable machine code clients match on.
    pub fn code(self) -> &'static str {
        match self {
            RuleError::UnableToRemoveWatch => "unable_to_remove_watch",
            RuleError::LikeOwnReview => "like_own_review",
            RuleError::NotAReview => "not_a_review",
            RuleError::FollowYourself => "follow_yourself",
            RuleError::LogEntryNeedsDateOrReview => "log_entry_needs_date_or_review",
            RuleError::BlockYourself => "block_yourself",
            RuleError::MuteYourself => "mute_yourself",
            RuleError::Blocked => "blocked",
            RuleError::ReportOwnContent => "report_own_content",
            RuleError::OwnReport => "own_report",
            RuleError::NoOpenReports => "no_open_reports",
            RuleError::ActionNotApplicable => "action_not_applicable",
            RuleError::AlreadyMarkedSpoilers => "already_marked_spoilers",
            RuleError::AlreadyRemoved => "already_removed",
            RuleError::SuspendAdmin => "suspend_admin",
            RuleError::AlreadySuspended => "already_suspended",
            RuleError::NotSuspended => "not_suspended",
            RuleError::LikeOwnList => "like_own_list",
            RuleError::ListRemoved => "list_removed",
            RuleError::IdempotencyKeyReused => "idempotency_key_reused",
            RuleError::IdempotencyKeyInUse => "idempotency_key_in_use",
            RuleError::ImportInProgress => "import_in_progress",
            RuleError::ExportInProgress => "export_in_progress",
            RuleError::SameFilm => "same_film",
            RuleError::SamePerson => "same_person",
            RuleError::WebhookLimit => "webhook_limit",
            RuleError::AppLimit => "app_limit",
            RuleError::DevicesPending => "devices_pending",
            RuleError::PublicApp => "public_app",
            RuleError::WebhookDisabled => "webhook_disabled",
            RuleError::WebhookTestPending => "webhook_test_pending",
            RuleError::NotAwaitingReview => "not_awaiting_review",
            RuleError::ImportFinished => "import_finished",
        }
    }

    pub fn kind(self) -> RuleKind {
        match self {
            RuleError::UnableToRemoveWatch
            | RuleError::Blocked
            | RuleError::OwnReport
            | RuleError::NoOpenReports
            | RuleError::AlreadyMarkedSpoilers
            | RuleError::AlreadyRemoved
            | RuleError::SuspendAdmin
            | RuleError::AlreadySuspended
            | RuleError::NotSuspended
            | RuleError::ListRemoved
            | RuleError::IdempotencyKeyInUse
            | RuleError::ImportInProgress
            | RuleError::ExportInProgress
            | RuleError::SameFilm
            | RuleError::SamePerson
            | RuleError::WebhookLimit
            | RuleError::AppLimit
            | RuleError::DevicesPending
            | RuleError::PublicApp
            | RuleError::WebhookDisabled
            | RuleError::WebhookTestPending
            | RuleError::NotAwaitingReview
            | RuleError::ImportFinished => RuleKind::Conflict,
            RuleError::LikeOwnReview
            | RuleError::LikeOwnList
            | RuleError::NotAReview
            | RuleError::FollowYourself
            | RuleError::LogEntryNeedsDateOrReview
            | RuleError::BlockYourself
            | RuleError::MuteYourself
            | RuleError::ReportOwnContent
            | RuleError::ActionNotApplicable
            | RuleError::IdempotencyKeyReused => RuleKind::Unprocessable,
        }
    }
}

/// A list a moderator removed is private to its owner and stays so: its visibility cannot change
/// (the rest of it can, and it can be deleted).
pub fn check_list_visibility_change(
    removed: bool,
    changes_visibility: bool,
) -> Result<(), RuleError> {
    if removed && changes_visibility {
        Err(RuleError::ListRemoved)
    } else {
        Ok(())
    }
}

/// A log entry must say when the film was watched, or review it, or both (checked on the entry as it
/// will be: as sent on creation, or the current one with an edit applied).
pub fn check_date_or_review(has_date: bool, has_review: bool) -> Result<(), RuleError> {
    if !has_date && !has_review {
        Err(RuleError::LogEntryNeedsDateOrReview)
    } else {
        Ok(())
    }
}

/// What a member may do to someone else's log entry. One rule for likes and comments: both are
/// about a review, so an entry without review text takes neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryReaction {
    Like,
    Comment,
}

/// Whether `actor` may react to an entry by `author` that has (or has no) review text.
pub fn check_reaction(
    reaction: EntryReaction,
    actor: MemberId,
    author: MemberId,
    has_review: bool,
) -> Result<(), RuleError> {
    if reaction == EntryReaction::Like && actor == author {
        return Err(RuleError::LikeOwnReview);
    }
    if !has_review {
        return Err(RuleError::NotAReview);
    }
    Ok(())
}

/// No member likes their own list.
pub fn check_list_like(actor: MemberId, owner: MemberId) -> Result<(), RuleError> {
    if actor == owner {
        Err(RuleError::LikeOwnList)
    } else {
        Ok(())
    }
}

/// No member follows themselves.
pub fn check_follow(follower: MemberId, followee: MemberId) -> Result<(), RuleError> {
    if follower == followee {
        Err(RuleError::FollowYourself)
    } else {
        Ok(())
    }
}

/// No member blocks or mutes themselves.
pub fn check_block(blocker: MemberId, blocked: MemberId) -> Result<(), RuleError> {
    if blocker == blocked {
        Err(RuleError::BlockYourself)
    } else {
        Ok(())
    }
}

/// See [`check_block`].
pub fn check_mute(muter: MemberId, muted: MemberId) -> Result<(), RuleError> {
    if muter == muted {
        Err(RuleError::MuteYourself)
    } else {
        Ok(())
    }
}

/// Why a member may not act on another's content (follow them, like or comment on their review).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Barred {
    /// The other member blocked the actor: answered as if the other did not exist (404).
    Hidden,
    /// The actor blocked the other: told so, to unblock first.
    Rule(RuleError),
}

/// Whether a block between two members stops one acting on the other's content: either direction
/// does.
pub fn check_interaction(blocks: Blocks) -> Result<(), Barred> {
    if blocks.of_viewer {
        Err(Barred::Hidden)
    } else if blocks.by_viewer {
        Err(Barred::Rule(RuleError::Blocked))
    } else {
        Ok(())
    }
}

/// The viewer's own state with a log entry: whether they like its review and what they may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EntryState {
    pub liked: bool,
    pub can_like: bool,
    pub can_comment: bool,
}

impl EntryState {
    /// The state of `viewer` with an entry by `author`, from the same rules the like and comment
    /// writes apply ([`check_reaction`]); a removed review takes neither. (A block
    /// never gets here: the entry is hidden.)
    pub fn of(
        viewer: MemberId,
        author: MemberId,
        has_review: bool,
        removed: bool,
        liked: bool,
    ) -> Self {
        let may =
            |reaction| !removed && check_reaction(reaction, viewer, author, has_review).is_ok();
        EntryState {
            liked,
            can_like: may(EntryReaction::Like),
            can_comment: may(EntryReaction::Comment),
        }
    }
}

/// Only its author edits a comment, and not once a moderator removed it (it stays removed).
pub fn may_edit_comment(me: MemberId, author: MemberId, removed: bool) -> bool {
    me == author && !removed
}

/// A comment may be deleted by its author or by the owner of what it is on (the review's author, the
/// list's owner).
pub fn may_delete_comment(me: MemberId, author: MemberId, thread_owner: Option<MemberId>) -> bool {
    me == author || thread_owner == Some(me)
}

/// One import at a time per member: a new one waits until the open one is confirmed, cancelled or
/// finished.
pub fn check_no_open_import(open: Option<crate::ImportJobId>) -> Result<(), RuleError> {
    match open {
        Some(_) => Err(RuleError::ImportInProgress),
        None => Ok(()),
    }
}

/// One export at a time per member.
pub fn check_no_open_export(open: Option<crate::ExportJobId>) -> Result<(), RuleError> {
    match open {
        Some(_) => Err(RuleError::ExportInProgress),
        None => Ok(()),
    }
}

/// A person merges into another person only.
pub fn check_person_merge(source: PersonId, target: PersonId) -> Result<(), RuleError> {
    if source == target {
        Err(RuleError::SamePerson)
    } else {
        Ok(())
    }
}

/// A film merges into another film only.
pub fn check_merge(source: FilmId, target: FilmId) -> Result<(), RuleError> {
    if source == target {
        Err(RuleError::SameFilm)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_snake_case() {
        let mut codes: Vec<_> = RuleError::ALL.iter().map(|e| e.code()).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'))
        );
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), RuleError::ALL.len());
    }

    #[test]
    fn a_removed_list_keeps_its_visibility() {
        assert_eq!(
            check_list_visibility_change(true, true),
            Err(RuleError::ListRemoved)
        );
        assert_eq!(check_list_visibility_change(true, false), Ok(()));
        assert_eq!(check_list_visibility_change(false, true), Ok(()));
    }

    #[test]
    fn a_block_bars_both_sides_the_blocked_one_without_being_told() {
        assert_eq!(check_interaction(Blocks::NONE), Ok(()));
        let both = Blocks {
            by_viewer: true,
            of_viewer: true,
        };
        assert_eq!(check_interaction(both), Err(Barred::Hidden));
        let mine = Blocks {
            by_viewer: true,
            of_viewer: false,
        };
        assert_eq!(
            check_interaction(mine),
            Err(Barred::Rule(RuleError::Blocked))
        );
    }

    #[test]
    fn reactions() {
        let (a, b) = (MemberId::new(1), MemberId::new(2));
        assert_eq!(
            check_reaction(EntryReaction::Like, a, a, true),
            Err(RuleError::LikeOwnReview)
        );
        assert_eq!(check_reaction(EntryReaction::Comment, a, a, true), Ok(()));
        for reaction in [EntryReaction::Like, EntryReaction::Comment] {
            assert_eq!(
                check_reaction(reaction, a, b, false),
                Err(RuleError::NotAReview)
            );
            assert_eq!(check_reaction(reaction, a, b, true), Ok(()));
        }
        assert_eq!(check_follow(a, a), Err(RuleError::FollowYourself));
        assert_eq!(check_block(a, a), Err(RuleError::BlockYourself));
        assert_eq!(check_mute(a, a), Err(RuleError::MuteYourself));
        assert_eq!(check_block(a, b), Ok(()));
        assert_eq!(check_mute(a, b), Ok(()));
        assert_eq!(check_follow(a, b), Ok(()));
        assert_eq!(
            check_date_or_review(false, false),
            Err(RuleError::LogEntryNeedsDateOrReview)
        );
        assert_eq!(check_date_or_review(true, false), Ok(()));
        assert_eq!(check_date_or_review(false, true), Ok(()));
    }
}
