//! Who is reading, and what they may see: the one decision every read passes through.
//!
//! A read names its subject (whose thing it is and what kind of thing); [`sight`] answers whether the
//! viewer sees it. Reads of one subject (a member page, an entry, a comment, a member's diary) ask
//! before answering and say 404 when the answer is [`Sight::Hidden`], as if the subject did not
//! exist. What is hidden, from whom:
//!
//! - a member's account (email, settings): from everyone but its owner;
//! - a block: a blocked member does not see the blocker at all, as if they did not exist; the
//!   blocker still sees the blocked member's profile (to unblock them) but none of their content;
//! - a suspension: the member and everything of theirs, from everyone else while it lasts;
//! - a private account: everything but the profile header, from everyone but the owner and their
//!   (approved) followers;
//! - a private watchlist: from everyone but its owner;
//! - a log entry's [`Audience`]: `followers` entries from non-followers, `private` ones from everyone
//!   but their author.
//!
//! Reads of many members' things (a film's reviews, a diary, a thread, likers, the feed, activity)
//! apply the same rule in their query (its one SQL form, `visible_to` in the persistence crate's
//! `sql/visibility.sql`, with blocks and suspensions filtered beside it), and the
//! visibility matrix test checks every read endpoint against this function. The catalog belongs to
//! nobody and is not a subject; its statistics count every entry, hidden or not, as anonymous totals.

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
    /// Something a member made or did: comments, likes, follows, the diary, reviews, activity.
    Content(MemberId),
    /// A member's watchlist (which its owner may make private).
    Watchlist(MemberId),
    /// A log entry (and what hangs off it: its likes and comments) or a list, with its audience.
    Entry(MemberId, Audience),
}

impl Subject {
    /// Whose it is.
    pub fn owner(self) -> MemberId {
        match self {
            Subject::Profile(m)
            | Subject::Account(m)
            | Subject::Content(m)
            | Subject::Watchlist(m)
            | Subject::Entry(m, _) => m,
        }
    }
}

/// Who may read a log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Audience {
    #[default]
    Public,
    /// The author's (approved) followers.
    Followers,
    /// The author alone.
    Private,
}

impl Audience {
    pub const ALL: [Audience; 3] = [Audience::Public, Audience::Followers, Audience::Private];

    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Public => "public",
            Audience::Followers => "followers",
            Audience::Private => "private",
        }
    }
}

impl std::str::FromStr for Audience {
    type Err = UnknownAudience;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Audience::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or(UnknownAudience)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("visibility must be public, followers or private")]
pub struct UnknownAudience;

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

/// What the rule needs of the viewer and the subject's owner besides who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Relation {
    pub blocks: Blocks,
    /// A moderator has the owner suspended now.
    pub owner_suspended: bool,
    /// The owner's account is private.
    pub owner_private: bool,
    /// The owner's watchlist is private.
    pub watchlist_private: bool,
    /// The viewer follows the owner (an approved follow, not a request).
    pub follows_owner: bool,
}

/// Whether a viewer sees a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight {
    Visible,
    /// Answered as if it did not exist.
    Hidden,
}

/// The visibility rule (see the module's documentation).
pub fn sight(viewer: Viewer, subject: Subject, relation: Relation) -> Sight {
    let hidden_unless = |visible: bool| {
        if visible {
            Sight::Visible
        } else {
            Sight::Hidden
        }
    };
    if viewer.is(subject.owner()) {
        return Sight::Visible;
    }
    if matches!(subject, Subject::Account(_)) || relation.owner_suspended {
        return Sight::Hidden;
    }
    if let Subject::Profile(_) = subject {
        return hidden_unless(!relation.blocks.of_viewer);
    }
    if relation.blocks.any() || (relation.owner_private && !relation.follows_owner) {
        return Sight::Hidden;
    }
    match subject {
        Subject::Watchlist(_) => hidden_unless(!relation.watchlist_private),
        Subject::Entry(_, Audience::Followers) => hidden_unless(relation.follows_owner),
        Subject::Entry(_, Audience::Private) => Sight::Hidden,
        _ => Sight::Visible,
    }
}

/// The viewer's own state with a film, shown on every film a signed-in member reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FilmState {
    pub watched: bool,
    pub liked: bool,
    pub in_watchlist: bool,
    pub rating: Option<crate::Rating>,
}

/// The viewer's relationship with another member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemberState {
    /// The viewer follows them.
    pub following: bool,
    /// They follow the viewer.
    pub followed_by: bool,
    /// The viewer asked to follow them (a private account) and they have not answered.
    pub follow_requested: bool,
    /// The viewer blocked them.
    pub blocking: bool,
    /// The viewer muted them.
    pub muting: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::EntryState;

    fn suspended() -> Relation {
        Relation {
            owner_suspended: true,
            ..Relation::default()
        }
    }

    fn blocked(blocks: Blocks) -> Relation {
        Relation {
            blocks,
            ..Relation::default()
        }
    }

    #[test]
    fn a_private_account_shows_only_its_header_to_non_followers() {
        let (ana, ben) = (MemberId::new(1), MemberId::new(2));
        let private = Relation {
            owner_private: true,
            ..Relation::default()
        };
        let follower = Relation {
            follows_owner: true,
            ..private
        };
        let everything = [
            Subject::Content(ana),
            Subject::Watchlist(ana),
            Subject::Entry(ana, Audience::Public),
        ];
        for viewer in [Viewer::Anonymous, Viewer::Member(ben)] {
            assert_eq!(
                sight(viewer, Subject::Profile(ana), private),
                Sight::Visible
            );
            for subject in everything {
                assert_eq!(
                    sight(viewer, subject, private),
                    Sight::Hidden,
                    "{subject:?}"
                );
            }
        }
        for subject in everything {
            assert_eq!(
                sight(Viewer::Member(ben), subject, follower),
                Sight::Visible
            );
            assert_eq!(sight(Viewer::Member(ana), subject, private), Sight::Visible);
        }
    }

    #[test]
    fn an_entry_is_seen_by_its_audience() {
        let (ana, ben) = (MemberId::new(1), MemberId::new(2));
        let stranger = Relation::default();
        let follower = Relation {
            follows_owner: true,
            ..stranger
        };
        let expect =
            |audience, relation, viewer| sight(viewer, Subject::Entry(ana, audience), relation);
        for viewer in [Viewer::Anonymous, Viewer::Member(ben)] {
            assert_eq!(expect(Audience::Public, stranger, viewer), Sight::Visible);
            assert_eq!(expect(Audience::Followers, stranger, viewer), Sight::Hidden);
            assert_eq!(expect(Audience::Private, stranger, viewer), Sight::Hidden);
        }
        let ben = Viewer::Member(ben);
        assert_eq!(expect(Audience::Followers, follower, ben), Sight::Visible);
        assert_eq!(expect(Audience::Private, follower, ben), Sight::Hidden);
        for audience in Audience::ALL {
            assert_eq!(
                expect(audience, stranger, Viewer::Member(ana)),
                Sight::Visible
            );
            assert_eq!(audience.as_str().parse(), Ok(audience));
        }
        assert!("friends".parse::<Audience>().is_err());
    }

    #[test]
    fn a_private_watchlist_is_its_owners_alone() {
        let (ana, ben) = (MemberId::new(1), MemberId::new(2));
        let private = Relation {
            watchlist_private: true,
            follows_owner: true,
            ..Relation::default()
        };
        let watchlist = Subject::Watchlist(ana);
        assert_eq!(
            sight(Viewer::Member(ben), watchlist, private),
            Sight::Hidden
        );
        assert_eq!(
            sight(Viewer::Member(ana), watchlist, private),
            Sight::Visible
        );
        assert_eq!(
            sight(Viewer::Member(ben), Subject::Content(ana), private),
            Sight::Visible
        );
    }

    #[test]
    fn an_account_is_seen_by_its_owner_only_and_the_rest_by_everyone() {
        let ana = MemberId::new(1);
        let ben = MemberId::new(2);
        let viewers = [Viewer::Anonymous, Viewer::Member(ana), Viewer::Member(ben)];
        for viewer in viewers {
            for subject in [Subject::Profile(ana), Subject::Content(ana)] {
                assert_eq!(
                    sight(viewer, subject, Relation::default()),
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
                sight(viewer, Subject::Account(ana), Relation::default()),
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
                sight(viewer, subject, blocked(blocked_by_owner)),
                Sight::Hidden
            );
        }
        assert_eq!(
            sight(viewer, Subject::Profile(ana), blocked(blocking_owner)),
            Sight::Visible,
            "the blocker opens the page to unblock"
        );
        assert_eq!(
            sight(viewer, Subject::Content(ana), blocked(blocking_owner)),
            Sight::Hidden
        );
    }

    #[test]
    fn the_viewer_may_like_others_reviews_and_comment_on_any_review() {
        let (ana, ben) = (MemberId::new(1), MemberId::new(2));
        let others = EntryState::of(ben, ana, true, false, true);
        assert_eq!(
            others,
            EntryState {
                liked: true,
                can_like: true,
                can_comment: true
            }
        );
        let own = EntryState::of(ana, ana, true, false, false);
        assert!(!own.can_like && own.can_comment);
        let diary_only = EntryState::of(ben, ana, false, false, false);
        assert!(!diary_only.can_like && !diary_only.can_comment);
        let removed = EntryState::of(ben, ana, true, true, false);
        assert!(!removed.can_like && !removed.can_comment);
    }

    #[test]
    fn a_suspended_member_is_hidden_from_everyone_else() {
        let (ana, ben) = (MemberId::new(1), MemberId::new(2));
        for subject in [Subject::Profile(ana), Subject::Content(ana)] {
            for viewer in [Viewer::Anonymous, Viewer::Member(ben)] {
                assert_eq!(sight(viewer, subject, suspended()), Sight::Hidden);
            }
            assert_eq!(
                sight(Viewer::Member(ana), subject, suspended()),
                Sight::Visible
            );
        }
    }
}
