//! Who is reading, and what they may see: the one decision every read passes through.
//!
//! A read names its subject (whose thing it is and what kind of thing); [`sight`] answers whether the
//! viewer sees it. Reads of one subject (a member page, an entry, a comment, a member's diary) ask
//! before answering and say 404 when the answer is [`Sight::Hidden`], as if the subject did not
//! exist. Today everything is public but a member's account (email, settings), which only its owner
//! reads; blocks, mutes and privacy add their cases here. The catalog belongs to nobody and is not a
//! subject: catalog reads take the viewer only to refuse a bad token.

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

/// Whether a viewer sees a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight {
    Visible,
    /// Answered as if it did not exist.
    Hidden,
}

/// The visibility rule.
pub fn sight(viewer: Viewer, subject: Subject) -> Sight {
    match subject {
        Subject::Profile(_) | Subject::Content(_) => Sight::Visible,
        Subject::Account(owner) if viewer.is(owner) => Sight::Visible,
        Subject::Account(_) => Sight::Hidden,
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
                    sight(viewer, subject),
                    Sight::Visible,
                    "{viewer:?} {subject:?}"
                );
            }
            let expected = if viewer.is(ana) {
                Sight::Visible
            } else {
                Sight::Hidden
            };
            assert_eq!(sight(viewer, Subject::Account(ana)), expected, "{viewer:?}");
        }
    }
}
