//! Who is reading, and what they may see: the one decision every read passes through.
//!
//! A read names its subject (whose thing it is and what kind of thing); [`sight`] answers whether the
//! viewer sees it. Reads of one subject (a member page, an entry, a comment, a member's diary) ask
//! before answering and say 404 when the answer is [`Sight::Hidden`], as if the subject did not
//! exist. Everything is public but a member's account (email, settings), which only its owner reads,
//! and what a block hides: a blocked member does not see the blocker at all, as if they did not
//! exist; the blocker still sees the blocked member's profile (to unblock them) but none of their
//! content. Reads of many members' things (a film's reviews, a thread, likers, follower lists, the
//! feed) apply the same rule in their query (`blocked_between`). The catalog belongs to nobody and is
//! not a subject: catalog reads take the viewer only to refuse a bad token.

use crate::MemberId;

/// The reader of a request: nobody in particular, or a signed-in member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Viewer {
    Anonymous,
    Member(MemberId),
}

impl Viewer {
    /// The member reading, if one is signed in.
    pub fn member(self) -> Option<MemberId> {
        match self {
            Viewer::Anonymous => None,
            Viewer::Member(id) => Some(id),
        }
    }

    /// Whether the viewer is this member.
    pub fn is(self, member: MemberId) -> bool {
        self.member() == Some(member)
    }
}

/// What a read shows, named by whose it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A member's public profile header.
    Profile(MemberId),
    /// A member's account: email and settings.
    Account(MemberId),
    /// Something a member made or did: log entries and reviews, comments, likes, follows, the
    /// diary, the watchlist, activity.
    Content(MemberId),
}

impl Subject {
    /// Whose it is.
    pub fn owner(self) -> MemberId {
        match self {
            Subject::Profile(m) | Subject::Account(m) | Subject::Content(m) => m,
        }
    }
}

/// The blocks between the viewer and a subject's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Blocks {
    /// The viewer blocked the owner.
    pub by_viewer: bool,
    /// The owner blocked the viewer.
    pub of_viewer: bool,
}

impl Blocks {
    pub const NONE: Blocks = Blocks {
        by_viewer: false,
        of_viewer: false,
    };

    /// A block in either direction.
    pub fn any(self) -> bool {
        self.by_viewer || self.of_viewer
    }
}

/// Whether a viewer sees a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight {
    Visible,
    /// Answered as if it did not exist.
    Hidden,
}

/// The visibility rule, given the blocks between the viewer and the subject's owner and whether a
/// moderator has the owner suspended now (a suspended member's profile and content are hidden from
/// everyone else while it lasts).
pub fn sight(viewer: Viewer, subject: Subject, blocks: Blocks, owner_suspended: bool) -> Sight {
    match subject {
        Subject::Account(owner) if viewer.is(owner) => Sight::Visible,
        Subject::Account(_) => Sight::Hidden,
        Subject::Profile(owner) | Subject::Content(owner) if viewer.is(owner) => Sight::Visible,
        Subject::Profile(_) | Subject::Content(_) if owner_suspended => Sight::Hidden,
        Subject::Profile(_) if blocks.of_viewer => Sight::Hidden,
        Subject::Profile(_) => Sight::Visible,
        Subject::Content(_) if blocks.any() => Sight::Hidden,
        Subject::Content(_) => Sight::Visible,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_seen_by_its_owner_only_and_the_rest_by_everyone() {
        let ana = MemberId::new(1);
        let ben = MemberId::new(2);
        let viewers = [Viewer::Anonymous, Viewer::Member(ana), Viewer::Member(ben)];
        for viewer in viewers {
            for subject in [Subject::Profile(ana), Subject::Content(ana)] {
                assert_eq!(
                    sight(viewer, subject, Blocks::NONE, false),
                    Sight::Visible,
                    "{viewer:?} {subject:?}"
                );
            }
            let expected = if viewer.is(ana) {
                Sight::Visible
            } else {
                Sight::Hidden
            };
            assert_eq!(
                sight(viewer, Subject::Account(ana), Blocks::NONE, false),
                expected,
                "{viewer:?}"
            );
        }
    }

    #[test]
    fn a_block_hides_everything_from_the_blocked_and_content_from_the_blocker() {
        let (ana, ben) = (MemberId::new(1), MemberId::new(2));
        let blocked_by_owner = Blocks {
            by_viewer: false,
            of_viewer: true,
        };
        let blocking_owner = Blocks {
            by_viewer: true,
            of_viewer: false,
        };
        let viewer = Viewer::Member(ben);
        for subject in [Subject::Profile(ana), Subject::Content(ana)] {
            assert_eq!(
                sight(viewer, subject, blocked_by_owner, false),
                Sight::Hidden
            );
        }
        assert_eq!(
            sight(viewer, Subject::Profile(ana), blocking_owner, false),
            Sight::Visible,
            "the blocker opens the page to unblock"
        );
        assert_eq!(
            sight(viewer, Subject::Content(ana), blocking_owner, false),
            Sight::Hidden
        );
    }

    #[test]
    fn a_suspended_member_is_hidden_from_everyone_else() {
        let (ana, ben) = (MemberId::new(1), MemberId::new(2));
        for subject in [Subject::Profile(ana), Subject::Content(ana)] {
            for viewer in [Viewer::Anonymous, Viewer::Member(ben)] {
                assert_eq!(sight(viewer, subject, Blocks::NONE, true), Sight::Hidden);
            }
            assert_eq!(
                sight(Viewer::Member(ana), subject, Blocks::NONE, true),
                Sight::Visible
            );
        }
    }
}
