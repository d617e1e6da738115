//! The member–film relationship as a state machine: every change a member makes to their state with
//! a film (watch, like, watchlist, rate, log entries) is a [`FilmCommand`] applied to a [`MemberFilm`],
//! giving the new state and its [`Effect`]s (activities to record, retract or restate) and the
//! [`StatsDelta`] of the film's counters. The application layer persists them in one transaction.
//!
//! The rules, in one place:
//! - Logging a film marks it watched and takes it off the watchlist. So do watching and rating it.
//! - A rating implies watched; un-watching is refused while the member has log entries for the film,
//!   and clears the rating.
//! - A log entry shows the member's like of the film (derived, never a copy): logging with
//!   `liked: true` likes the film; editing an entry's `liked` likes or unlikes the film.
//! - The member's rating of a film is that of their latest rating action: `PUT …/rating` or
//!   `DELETE …/rating` at the time it was sent, or a rated log entry at the time it was created. Editing
//!   an entry's rating counts only while it is the latest; deleting that entry or clearing its rating
//!   falls back to the next latest action.
//! - One action is one activity: logging a film records the entry's activity only (a like given with
//!   it is shown by the entry); leaving the watchlist for any reason retracts the watchlist activity.

use chrono::{DateTime, Utc};

use crate::activity::ActivityKind;
use crate::rules::RuleError;
use crate::{LogEntryId, Rating};

/// The member's own rating action (`PUT` or `DELETE …/rating`): the rating it set (none for a
/// removal) and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExplicitRating {
    pub rating: Option<Rating>,
    pub at: DateTime<Utc>,
}

/// The stored state of one member with one film. A missing row is the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relationship {
    pub watched: bool,
    pub liked: bool,
    pub in_watchlist: bool,
    /// The current rating, derived by [`current_rating`] and stored for statistics and reads.
    pub rating: Option<Rating>,
    pub explicit: Option<ExplicitRating>,
}

impl Relationship {
    /// Nothing left worth a row.
    pub fn is_empty(&self) -> bool {
        *self == Relationship::default()
    }
}

/// What the rules need of one of the member's log entries of the film.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryFacts {
    pub id: LogEntryId,
    pub rating: Option<Rating>,
    pub has_review: bool,
    pub created_at: DateTime<Utc>,
}

impl EntryFacts {
    pub fn activity_kind(&self) -> ActivityKind {
        ActivityKind::of_entry(self.has_review)
    }
}

/// The relationship with the member's log entries of the film.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberFilm {
    pub relationship: Relationship,
    pub entries: Vec<EntryFacts>,
}

/// A change a member asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilmCommand {
    Watch,
    Unwatch,
    Like,
    Unlike,
    AddToWatchlist,
    RemoveFromWatchlist,
    Rate(Rating),
    Unrate,
    /// A new log entry; `liked` likes the film.
    LogEntryCreated {
        entry: EntryFacts,
        liked: bool,
    },
    /// The entry now reads `entry`; `liked` (when sent) likes or unlikes the film.
    LogEntryEdited {
        entry: EntryFacts,
        liked: Option<bool>,
    },
    LogEntryDeleted(LogEntryId),
}

/// An activity of the member about the film.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilmActivity {
    pub kind: ActivityKind,
    pub entry: Option<LogEntryId>,
    pub rating: Option<Rating>,
}

impl FilmActivity {
    fn plain(kind: ActivityKind) -> Self {
        Self {
            kind,
            entry: None,
            rating: None,
        }
    }

    fn of_entry(e: &EntryFacts) -> Self {
        Self {
            kind: e.activity_kind(),
            entry: Some(e.id),
            rating: e.rating,
        }
    }
}

/// What a transition asks the application layer to do besides saving the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Record(FilmActivity),
    /// Remove the member's activities of this kind about the film (for an entry's kinds, the entry's).
    Retract {
        kind: ActivityKind,
        entry: Option<LogEntryId>,
    },
    /// The entry's activity now reads as this (its kind follows the review text, its rating the entry).
    Restate(FilmActivity),
}

/// How the film's counters change (the database applies the same through its triggers; the drift
/// checks and the differential tests compare the two).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsDelta {
    pub watches: i32,
    pub likes: i32,
    pub reviews: i32,
    /// Members whose current rating is n half stars, n = 1..10 at index n - 1.
    pub ratings: [i32; 10],
}

impl StatsDelta {
    fn of(state: &MemberFilm, sign: i32) -> Self {
        let r = &state.relationship;
        let mut ratings = [0; 10];
        if let Some(rating) = r.rating {
            ratings[rating.index()] = sign;
        }
        Self {
            watches: sign * i32::from(r.watched),
            likes: sign * i32::from(r.liked),
            reviews: sign * state.entries.iter().filter(|e| e.has_review).count() as i32,
            ratings,
        }
    }

    /// The change from `old` to `new`.
    pub fn between(old: &MemberFilm, new: &MemberFilm) -> Self {
        Self::of(new, 1).plus(Self::of(old, -1))
    }

    pub fn plus(self, other: Self) -> Self {
        let mut ratings = self.ratings;
        for (r, o) in ratings.iter_mut().zip(other.ratings) {
            *r += o;
        }
        Self {
            watches: self.watches + other.watches,
            likes: self.likes + other.likes,
            reviews: self.reviews + other.reviews,
            ratings,
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

/// The result of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub state: MemberFilm,
    pub effects: Vec<Effect>,
    pub stats: StatsDelta,
}

impl Transition {
    /// Whether the stored relationship row changes.
    pub fn relationship_changed(&self, before: &MemberFilm) -> bool {
        self.state.relationship != before.relationship
    }
}

/// The rating of the latest rating action: the explicit one at its time, or a rated entry at its
/// creation (ties go to the entry with the higher id; an entry and an explicit action at the same
/// instant: the explicit one).
pub fn current_rating(explicit: Option<ExplicitRating>, entries: &[EntryFacts]) -> Option<Rating> {
    let newest = entries
        .iter()
        .filter(|e| e.rating.is_some())
        .max_by_key(|e| (e.created_at, e.id));
    match (explicit, newest) {
        (Some(x), Some(e)) if e.created_at > x.at => e.rating,
        (Some(x), _) => x.rating,
        (None, Some(e)) => e.rating,
        (None, None) => None,
    }
}

impl MemberFilm {
    /// Applies `command` at `now`: the new state, its effects and the counters' change, or the rule
    /// it would break (the state is then unchanged).
    pub fn apply(&self, command: FilmCommand, now: DateTime<Utc>) -> Result<Transition, RuleError> {
        let old = self.relationship;
        let mut next = self.clone();
        let mut effects = Vec::new();
        let r = &mut next.relationship;
        match command {
            FilmCommand::Watch => {
                r.watched = true;
                r.in_watchlist = false;
            }
            FilmCommand::Unwatch => {
                if !self.entries.is_empty() {
                    return Err(RuleError::UnableToRemoveWatch);
                }
                r.watched = false;
                r.explicit = None;
            }
            FilmCommand::Like => r.liked = true,
            FilmCommand::Unlike => r.liked = false,
            FilmCommand::AddToWatchlist => r.in_watchlist = true,
            FilmCommand::RemoveFromWatchlist => r.in_watchlist = false,
            FilmCommand::Rate(rating) => {
                r.explicit = Some(ExplicitRating {
                    rating: Some(rating),
                    at: now,
                });
                r.watched = true;
                r.in_watchlist = false;
            }
            FilmCommand::Unrate => {
                // Without rated entries there is nothing for a removal to outrank.
                r.explicit =
                    self.entries
                        .iter()
                        .any(|e| e.rating.is_some())
                        .then_some(ExplicitRating {
                            rating: None,
                            at: now,
                        });
            }
            FilmCommand::LogEntryCreated { entry, liked } => {
                next.entries.push(entry);
                r.watched = true;
                r.in_watchlist = false;
                r.liked |= liked;
                effects.push(Effect::Record(FilmActivity::of_entry(&entry)));
            }
            FilmCommand::LogEntryEdited { entry, liked } => {
                let Some(slot) = next.entries.iter_mut().find(|e| e.id == entry.id) else {
                    // Not an entry of this member and film: nothing the rules know changes.
                    return Ok(Transition {
                        state: self.clone(),
                        effects,
                        stats: StatsDelta::default(),
                    });
                };
                let before = *slot;
                *slot = EntryFacts {
                    created_at: before.created_at,
                    ..entry
                };
                if let Some(liked) = liked {
                    r.liked = liked;
                }
                if FilmActivity::of_entry(&before) != FilmActivity::of_entry(&entry) {
                    effects.push(Effect::Restate(FilmActivity::of_entry(&entry)));
                }
            }
            FilmCommand::LogEntryDeleted(id) => {
                if let Some(gone) = self.entries.iter().find(|e| e.id == id) {
                    effects.push(Effect::Retract {
                        kind: gone.activity_kind(),
                        entry: Some(id),
                    });
                }
                next.entries.retain(|e| e.id != id);
            }
        }
        let r = &mut next.relationship;
        r.rating = current_rating(r.explicit, &next.entries);
        let new = *r;
        // The activities of the relationship itself follow its flags, except that a like given with a
        // new log entry is shown by the entry: one action, one activity.
        let liked_with_entry = matches!(command, FilmCommand::LogEntryCreated { .. });
        if new.liked != old.liked && !liked_with_entry {
            effects.push(flag_effect(ActivityKind::FilmLike, new.liked));
        }
        if new.in_watchlist != old.in_watchlist {
            effects.push(flag_effect(ActivityKind::Watchlist, new.in_watchlist));
        }
        // A rating given on its own is an activity; removing it (or un-watching) takes it back.
        match command {
            FilmCommand::Rate(rating) if explicit_rating(old) != Some(rating) => {
                effects.push(Effect::Retract {
                    kind: ActivityKind::Rating,
                    entry: None,
                });
                effects.push(Effect::Record(FilmActivity {
                    rating: Some(rating),
                    ..FilmActivity::plain(ActivityKind::Rating)
                }));
            }
            FilmCommand::Unrate | FilmCommand::Unwatch if explicit_rating(old).is_some() => {
                effects.push(Effect::Retract {
                    kind: ActivityKind::Rating,
                    entry: None,
                });
            }
            _ => {}
        }
        let stats = StatsDelta::between(self, &next);
        Ok(Transition {
            state: next,
            effects,
            stats,
        })
    }
}

fn explicit_rating(r: Relationship) -> Option<Rating> {
    r.explicit.and_then(|x| x.rating)
}

fn flag_effect(kind: ActivityKind, on: bool) -> Effect {
    if on {
        Effect::Record(FilmActivity::plain(kind))
    } else {
        Effect::Retract { kind, entry: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(t: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + t, 0).unwrap_or_default()
    }

    fn rating(h: u8) -> Option<Rating> {
        Rating::from_halves(i16::from(h)).ok()
    }

    /// A command in a generated sequence; entry ids are picked among those that exist.
    #[derive(Debug, Clone)]
    enum Op {
        Plain(u8),
        Rate(u8),
        Log {
            rating: Option<u8>,
            review: bool,
            liked: bool,
        },
        Edit {
            pick: usize,
            rating: Option<u8>,
            review: bool,
            liked: Option<bool>,
        },
        Delete(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..7).prop_map(Op::Plain),
            (1u8..=10).prop_map(Op::Rate),
            (proptest::option::of(1u8..=10), any::<bool>(), any::<bool>()).prop_map(
                |(rating, review, liked)| Op::Log {
                    rating,
                    review,
                    liked
                }
            ),
            (
                any::<usize>(),
                proptest::option::of(1u8..=10),
                any::<bool>(),
                proptest::option::of(any::<bool>())
            )
                .prop_map(|(pick, rating, review, liked)| Op::Edit {
                    pick,
                    rating,
                    review,
                    liked
                }),
            any::<usize>().prop_map(Op::Delete),
        ]
    }

    fn command(op: &Op, state: &MemberFilm, next_id: i64, now: DateTime<Utc>) -> FilmCommand {
        let pick = |i: usize| state.entries.get(i % state.entries.len().max(1)).copied();
        match *op {
            Op::Plain(n) => [
                FilmCommand::Watch,
                FilmCommand::Unwatch,
                FilmCommand::Like,
                FilmCommand::Unlike,
                FilmCommand::AddToWatchlist,
                FilmCommand::RemoveFromWatchlist,
                FilmCommand::Unrate,
            ][usize::from(n)],
            Op::Rate(h) => rating(h).map_or(FilmCommand::Unrate, FilmCommand::Rate),
            Op::Log {
                rating: r,
                review,
                liked,
            } => FilmCommand::LogEntryCreated {
                entry: EntryFacts {
                    id: LogEntryId::new(next_id),
                    rating: r.and_then(rating),
                    has_review: review,
                    created_at: now,
                },
                liked,
            },
            Op::Edit {
                pick: i,
                rating: r,
                review,
                liked,
            } => match pick(i) {
                Some(e) => FilmCommand::LogEntryEdited {
                    entry: EntryFacts {
                        rating: r.and_then(rating),
                        has_review: review,
                        ..e
                    },
                    liked,
                },
                None => FilmCommand::Watch,
            },
            Op::Delete(i) => match pick(i) {
                Some(e) => FilmCommand::LogEntryDeleted(e.id),
                None => FilmCommand::Unlike,
            },
        }
    }

    /// The activities the effects leave behind, as a model of the table.
    fn apply_effects(activities: &mut Vec<FilmActivity>, effects: &[Effect]) {
        for e in effects {
            match *e {
                Effect::Record(a) => activities.push(a),
                Effect::Retract { kind, entry } => activities
                    .retain(|a| !(a.kind == kind && (entry.is_none() || a.entry == entry))),
                Effect::Restate(a) => {
                    for x in activities.iter_mut().filter(|x| x.entry == a.entry) {
                        *x = a;
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn invariants_hold_over_random_sequences(ops in proptest::collection::vec(op(), 1..40)) {
            let mut state = MemberFilm::default();
            let mut stats = StatsDelta::default();
            let mut activities: Vec<FilmActivity> = Vec::new();
            for (i, op) in ops.iter().enumerate() {
                let now = at(i as i64 * 10);
                let cmd = command(op, &state, i as i64 + 1, now);
                match state.apply(cmd, now) {
                    Err(RuleError::UnableToRemoveWatch) => {
                        // Un-watching is refused exactly while entries exist.
                        prop_assert_eq!(cmd, FilmCommand::Unwatch);
                        prop_assert!(!state.entries.is_empty());
                        continue;
                    }
                    Err(other) => return Err(TestCaseError::fail(format!("{other:?}"))),
                    Ok(t) => {
                        // The transition's delta moves each counter by what its rows changed.
                        let (before, after) = (recount(&state), recount(&t.state));
                        prop_assert_eq!(t.stats.watches, after.watches - before.watches);
                        prop_assert_eq!(t.stats.likes, after.likes - before.likes);
                        prop_assert_eq!(t.stats.reviews, after.reviews - before.reviews);
                        for n in 0..10 {
                            prop_assert_eq!(t.stats.ratings[n], after.ratings[n] - before.ratings[n]);
                        }
                        stats = stats.plus(t.stats);
                        apply_effects(&mut activities, &t.effects);
                        if let FilmCommand::LogEntryCreated { liked, .. } = cmd {
                            // A logged film is watched and off the watchlist; a like given with it is one.
                            prop_assert!(t.state.relationship.watched && !t.state.relationship.in_watchlist);
                            prop_assert!(!liked || t.state.relationship.liked);
                            prop_assert_eq!(t.effects.iter().filter(|e| matches!(e, Effect::Record(_))).count(), 1);
                        }
                        if let FilmCommand::Unwatch = cmd {
                            prop_assert!(state.entries.is_empty());
                        }
                        state = t.state;
                    }
                }
                let r = state.relationship;
                // A rating implies watched; entries imply watched.
                prop_assert!(r.rating.is_none() || r.watched);
                prop_assert!(state.entries.is_empty() || r.watched);
                prop_assert_eq!(r.rating, current_rating(r.explicit, &state.entries));
                // Every counter equals its rows: the summed deltas are the final state's counts,
                // recounted from the rows the state stands for (not by `StatsDelta`).
                prop_assert_eq!(stats, recount(&state));
                // Each entry has exactly one activity, of its kind and rating.
                for e in &state.entries {
                    let of_entry: Vec<FilmActivity> = activities.iter().filter(|a| a.entry == Some(e.id)).copied().collect();
                    prop_assert_eq!(of_entry, vec![FilmActivity::of_entry(e)]);
                }
                let count = |k| activities.iter().filter(|a| a.kind == k).count();
                prop_assert_eq!(count(ActivityKind::Watchlist), usize::from(r.in_watchlist));
                prop_assert!(count(ActivityKind::FilmLike) <= usize::from(r.liked));
                prop_assert_eq!(count(ActivityKind::Rating), usize::from(explicit_rating(r).is_some()));
                prop_assert!(activities.iter().filter(|a| a.kind == ActivityKind::Rating).all(|a| a.rating == explicit_rating(r)));
                prop_assert_eq!(
                    count(ActivityKind::DiaryEntry) + count(ActivityKind::Review),
                    state.entries.len()
                );
            }
        }
    }

    /// The film's counters as the recount query computes them from the member's rows: a
    /// `member_films` row (watched, liked, current rating) and the log entries with a review.
    fn recount(state: &MemberFilm) -> StatsDelta {
        let row = state.relationship;
        let mut ratings = [0; 10];
        for halves in 1..=10i16 {
            let bucket = usize::try_from(halves - 1).unwrap_or(0);
            ratings[bucket] = i32::from(row.rating.map(Rating::halves) == Some(halves));
        }
        StatsDelta {
            watches: if row.watched { 1 } else { 0 },
            likes: if row.liked { 1 } else { 0 },
            reviews: state.entries.iter().map(|e| i32::from(e.has_review)).sum(),
            ratings,
        }
    }

    fn entry(id: i64, r: Option<u8>, t: i64) -> EntryFacts {
        EntryFacts {
            id: LogEntryId::new(id),
            rating: r.and_then(rating),
            has_review: false,
            created_at: at(t),
        }
    }

    fn run(cmds: &[(FilmCommand, i64)]) -> MemberFilm {
        let mut s = MemberFilm::default();
        for (c, t) in cmds {
            if let Ok(next) = s.apply(*c, at(*t)) {
                s = next.state;
            }
        }
        s
    }

    #[test]
    fn the_latest_rating_action_wins() {
        let log = |id, r, t| {
            (
                FilmCommand::LogEntryCreated {
                    entry: entry(id, r, t),
                    liked: false,
                },
                t,
            )
        };
        let edit = |id, r, t, created| {
            (
                FilmCommand::LogEntryEdited {
                    entry: entry(id, r, created),
                    liked: None,
                },
                t,
            )
        };
        // Editing an older entry does not outrank a newer rated one.
        let s = run(&[
            log(1, Some(6), 1),
            log(2, Some(8), 2),
            edit(1, Some(2), 3, 1),
        ]);
        assert_eq!(s.relationship.rating, rating(8));
        // Clearing the newest entry's rating falls back to the older one; deleting it too.
        let s = run(&[log(1, Some(6), 1), log(2, Some(8), 2), edit(2, None, 3, 2)]);
        assert_eq!(s.relationship.rating, rating(6));
        let s = run(&[
            log(1, Some(6), 1),
            log(2, Some(8), 2),
            (FilmCommand::LogEntryDeleted(LogEntryId::new(2)), 3),
        ]);
        assert_eq!(s.relationship.rating, rating(6));
        // An explicit rating after the entries outranks them; an entry logged later outranks it.
        let r3 = rating(3).map_or(FilmCommand::Unrate, FilmCommand::Rate);
        let s = run(&[log(1, Some(6), 1), (r3, 2)]);
        assert_eq!(s.relationship.rating, rating(3));
        let s = run(&[log(1, Some(6), 1), (r3, 2), log(2, Some(9), 3)]);
        assert_eq!(s.relationship.rating, rating(9));
        // Removing the rating outranks older entries until a new rated entry comes.
        let s = run(&[log(1, Some(6), 1), (FilmCommand::Unrate, 2)]);
        assert_eq!(s.relationship.rating, None);
        let s = run(&[
            log(1, Some(6), 1),
            (FilmCommand::Unrate, 2),
            log(2, None, 3),
        ]);
        assert_eq!(s.relationship.rating, None);
    }

    #[test]
    fn watching_or_rating_takes_the_film_off_the_watchlist() {
        for cmd in [
            FilmCommand::Watch,
            rating(7).map_or(FilmCommand::Watch, FilmCommand::Rate),
        ] {
            let s = run(&[(FilmCommand::AddToWatchlist, 1)]);
            let t = s.apply(cmd, at(2)).map_err(|e| e.to_string());
            let Ok(t) = t else { panic!("{t:?}") };
            assert!(!t.state.relationship.in_watchlist);
            assert!(t.effects.contains(&Effect::Retract {
                kind: ActivityKind::Watchlist,
                entry: None
            }));
        }
    }

    #[test]
    fn logging_with_a_like_is_one_activity() {
        let t = MemberFilm::default().apply(
            FilmCommand::LogEntryCreated {
                entry: entry(1, Some(9), 1),
                liked: true,
            },
            at(1),
        );
        let Ok(t) = t else { panic!("{t:?}") };
        assert!(t.state.relationship.liked);
        assert_eq!(
            t.effects,
            vec![Effect::Record(FilmActivity {
                kind: ActivityKind::DiaryEntry,
                entry: Some(LogEntryId::new(1)),
                rating: rating(9)
            })]
        );
        assert_eq!(t.stats.likes, 1);
        assert_eq!(t.stats.watches, 1);
    }
}
