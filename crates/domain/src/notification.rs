//! Notifications: who is told about what. Pure rules; the application layer loads the facts
//! (subscribers, mentioned members, their relation to the subject) and writes what these decide in
//! the transaction of the cause.

use std::collections::BTreeSet;

use crate::ids::MemberId;
use crate::username::Username;
use crate::visibility::{Relation, Sight, Subject, Viewer, sight};

/// What a notification tells its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NotificationKind {
    /// Someone follows you.
    Follow,
    /// Someone asks to follow your private account.
    FollowRequest,
    /// Your request to follow someone was approved.
    FollowApproved,
    /// Someone liked your review.
    ReviewLike,
    /// Someone liked your list.
    ListLike,
    /// Someone commented on your review.
    ReviewComment,
    /// Someone commented on your list.
    ListComment,
    /// Someone replied in a thread you take part in (or subscribed to).
    Reply,
    /// Someone mentioned you (`@username`) in a comment or a review.
    Mention,
    /// One of your webhook endpoints was disabled (it kept failing, or your webhooks were paused
    /// when your password changed). Always sent: not a preference.
    WebhookDisabled,
}

crate::names::named!("notification kind", NotificationKind {
    Follow => "follow",
    FollowRequest => "follow_request",
    FollowApproved => "follow_approved",
    ReviewLike => "review_like",
    ListLike => "list_like",
    ReviewComment => "review_comment",
    ListComment => "list_comment",
    Reply => "reply",
    Mention => "mention",
    WebhookDisabled => "webhook_disabled",
});

impl NotificationKind {
    /// Kinds that group all their causes on one subject into one item ("amara and 12 others liked
    /// your review"); a mention is about its own words and stands alone, as does each disabled
    /// endpoint (`notification_groups` in notifications.sql applies the same rule).
    pub fn groups(self) -> bool {
        !matches!(
            self,
            NotificationKind::Mention | NotificationKind::WebhookDisabled
        )
    }
}

/// The kinds a member turned off (`PATCH /me` `notifications: {kind: false}`); everything else is on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    off: BTreeSet<NotificationKind>,
}

impl Preferences {
    /// From the stored names of the kinds turned off (unknown names, from a kind since retired,
    /// are dropped).
    pub fn from_off<S: AsRef<str>>(names: &[S]) -> Self {
        Self {
            off: names
                .iter()
                .filter_map(|n| NotificationKind::parse(n.as_ref()))
                .collect(),
        }
    }

    pub fn wants(&self, kind: NotificationKind) -> bool {
        !self.off.contains(&kind)
    }

    pub fn set(&mut self, kind: NotificationKind, on: bool) {
        if on {
            self.off.remove(&kind);
        } else {
            self.off.insert(kind);
        }
    }

    /// The names of the kinds turned off, for storage.
    pub fn off_names(&self) -> Vec<String> {
        self.off.iter().map(|k| k.as_str().to_owned()).collect()
    }
}

/// At most this many members are told of one text's mentions (the rest are ignored, so a comment
/// cannot be used to page a crowd).
pub const MENTIONS_MAX: usize = 10;

/// The usernames `@`-mentioned in `text`, each once (compared case-insensitively, lower-cased), in
/// order of first mention, at most [`MENTIONS_MAX`]. A mention is `@` not preceded by a username
/// character (so `me@example.com` mentions no one), followed by a valid username.
pub fn mentions(text: &str) -> Vec<String> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut found: Vec<String> = Vec::new();
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        if c == '@' && !prev.is_some_and(is_name) {
            let tail = &text[i + 1..];
            let end = tail.find(|c: char| !is_name(c)).unwrap_or(tail.len());
            let name = &tail[..end];
            // A name running on into other letters (`@zoë`) is not a username.
            let runs_on = tail[end..]
                .chars()
                .next()
                .is_some_and(char::is_alphanumeric);
            if !runs_on && Username::parse(name).is_ok() {
                let lower = name.to_ascii_lowercase();
                if !found.contains(&lower) {
                    found.push(lower);
                    if found.len() == MENTIONS_MAX {
                        break;
                    }
                }
            }
        }
        prev = Some(c);
    }
    found
}

/// Who is told about a new comment, and how: the owner of what was commented on (`ReviewComment`
/// or `ListComment` as `owner_kind` says), members it mentions (`Mention`), and the thread's
/// subscribers (`Reply`). Each member once, by that precedence; never the commenter.
pub fn comment_recipients(
    commenter: MemberId,
    owner: MemberId,
    owner_kind: NotificationKind,
    mentioned: &[MemberId],
    subscribers: &[MemberId],
) -> Vec<(MemberId, NotificationKind)> {
    let mut out: Vec<(MemberId, NotificationKind)> = Vec::new();
    let candidates = std::iter::once((owner, owner_kind))
        .chain(mentioned.iter().map(|m| (*m, NotificationKind::Mention)))
        .chain(subscribers.iter().map(|m| (*m, NotificationKind::Reply)));
    for (member, kind) in candidates {
        if member != commenter && !out.iter().any(|(m, _)| *m == member) {
            out.push((member, kind));
        }
    }
    out
}

/// Whether a third party (a subscriber, a mentioned member) may be told about something that
/// happened on `subject`: only when the visibility rule lets them read it, given their relation to
/// its owner. (The subject's owner always may; blocks, mutes and the recipient's preferences are
/// applied to every notification when it is written.)
pub fn may_learn_of(recipient: MemberId, subject: Subject, relation: Relation) -> bool {
    sight(Viewer::Member(recipient), subject, relation) == Sight::Visible
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::visibility::{Audience, Blocks};

    fn m(id: i64) -> MemberId {
        MemberId::new(id)
    }

    #[test]
    fn mentions_are_usernames_after_a_free_standing_at() {
        assert_eq!(
            mentions("@amara loved it, cc @Bo_b and @amara again; mail me@example.com @x"),
            vec!["amara".to_owned(), "bo_b".to_owned()]
        );
        assert_eq!(mentions("(@kim) said: @kim!"), vec!["kim".to_owned()]);
        assert!(mentions("@ alone, @@, @a, @waytoolongusername_here").is_empty());
        assert_eq!(mentions("née @zoë"), Vec::<String>::new());
    }

    #[test]
    fn mentions_stop_at_the_cap() {
        let text: String = (0..30).map(|i| format!("@user{i} ")).collect();
        let found = mentions(&text);
        assert_eq!(found.len(), MENTIONS_MAX);
        assert_eq!(found[0], "user0");
    }

    #[test]
    fn each_member_is_told_once_by_precedence_and_never_the_commenter() {
        let got = comment_recipients(
            m(1),
            m(2),
            NotificationKind::ReviewComment,
            &[m(2), m(3), m(1)],
            &[m(3), m(4), m(1), m(2)],
        );
        assert_eq!(
            got,
            vec![
                (m(2), NotificationKind::ReviewComment),
                (m(3), NotificationKind::Mention),
                (m(4), NotificationKind::Reply),
            ]
        );
        // Commenting on one's own list tells only the others.
        let got = comment_recipients(m(2), m(2), NotificationKind::ListComment, &[], &[m(5)]);
        assert_eq!(got, vec![(m(5), NotificationKind::Reply)]);
    }

    #[test]
    fn preferences_turn_kinds_off_and_on() {
        let mut p = Preferences::from_off(&["mention", "retired_kind"]);
        assert!(!p.wants(NotificationKind::Mention));
        assert!(p.wants(NotificationKind::Reply));
        p.set(NotificationKind::Reply, false);
        p.set(NotificationKind::Mention, true);
        assert_eq!(p.off_names(), vec!["reply".to_owned()]);
    }

    #[test]
    fn third_parties_learn_only_of_what_they_may_read() {
        let stranger = Relation::default();
        let follower = Relation {
            follows_owner: true,
            ..Relation::default()
        };
        let followers_only = Subject::Entry(m(9), Audience::Followers);
        assert!(!may_learn_of(m(1), followers_only, stranger));
        assert!(may_learn_of(m(1), followers_only, follower));
        let blocked = Relation {
            blocks: Blocks {
                by_viewer: false,
                of_viewer: true,
            },
            ..follower
        };
        assert!(!may_learn_of(
            m(1),
            Subject::Entry(m(9), Audience::Public),
            blocked
        ));
    }

    #[test]
    fn kinds_round_trip_and_only_mentions_stand_alone() {
        for k in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(k.as_str()), Some(k));
            let alone = [NotificationKind::Mention, NotificationKind::WebhookDisabled];
            assert_eq!(k.groups(), !alone.contains(&k));
        }
    }
}
