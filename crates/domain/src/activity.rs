//! What members did, as feeds show it.

use std::fmt;
use std::str::FromStr;

/// The kind of an activity: stored as its snake_case name, shown to clients by the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActivityKind {
    /// A log entry without review text.
    DiaryEntry,
    /// A log entry with review text.
    Review,
    /// A rating given on its own (`PUT /films/{slug}/rating`).
    Rating,
    FilmLike,
    ReviewLike,
    Comment,
    Follow,
    Watchlist,
    /// A list made, with the films it was made with.
    ListCreated,
    /// Films added to a list: edits of one list within [`LIST_EDIT_WINDOW`] count into one.
    ListFilmsAdded,
    ListLike,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 11] = [
        ActivityKind::DiaryEntry,
        ActivityKind::Review,
        ActivityKind::Rating,
        ActivityKind::FilmLike,
        ActivityKind::ReviewLike,
        ActivityKind::Comment,
        ActivityKind::Follow,
        ActivityKind::Watchlist,
        ActivityKind::ListCreated,
        ActivityKind::ListFilmsAdded,
        ActivityKind::ListLike,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::DiaryEntry => "diary_entry",
            ActivityKind::Review => "review",
            ActivityKind::Rating => "rating",
            ActivityKind::FilmLike => "film_like",
            ActivityKind::ReviewLike => "review_like",
            ActivityKind::Comment => "comment",
            ActivityKind::Follow => "follow",
            ActivityKind::Watchlist => "watchlist",
            ActivityKind::ListCreated => "list_created",
            ActivityKind::ListFilmsAdded => "list_films_added",
            ActivityKind::ListLike => "list_like",
        }
    }

    /// The activity a log entry stands for: a review when it has review text, else a diary entry.
    pub fn of_entry(has_review: bool) -> Self {
        if has_review {
            ActivityKind::Review
        } else {
            ActivityKind::DiaryEntry
        }
    }
}

/// Edits of one list by its owner within this window of the list's newest activity (its creation or
/// an earlier addition) read as one activity in feeds: "added 5 films to …", not five lines.
pub const LIST_EDIT_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(30);

/// What adding films to a list does to the feed, given the list's newest activity as `A` (its id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListAddition<A> {
    /// Nothing was added (moves, notes, removals): no activity.
    Silent,
    /// Count the films into the list's newest activity, `A`.
    CountInto(A),
    /// A new activity.
    New,
}

impl<A> ListAddition<A> {
    /// `added` films at `now`; the list's newest activity (if any) and its time as `newest`.
    pub fn of(
        added: usize,
        newest: Option<(A, chrono::DateTime<chrono::Utc>)>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        match newest {
            _ if added == 0 => ListAddition::Silent,
            Some((activity, at)) if now - at <= LIST_EDIT_WINDOW => {
                ListAddition::CountInto(activity)
            }
            _ => ListAddition::New,
        }
    }
}

impl serde::Serialize for ActivityKind {
    /// By its stored name, the one name a kind has from the database to the JSON.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for ActivityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown activity kind {0:?}")]
pub struct UnknownActivityKind(pub String);

impl FromStr for ActivityKind {
    type Err = UnknownActivityKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownActivityKind(s.to_owned()))
    }
}

impl TryFrom<String> for ActivityKind {
    type Error = UnknownActivityKind;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_nothing_else_parses() {
        for k in ActivityKind::ALL {
            assert_eq!(k.as_str().parse::<ActivityKind>(), Ok(k));
        }
        assert!("diary".parse::<ActivityKind>().is_err());
        assert!("".parse::<ActivityKind>().is_err());
    }

    #[test]
    fn list_additions_collapse_within_the_window_only() {
        let now =
            chrono::DateTime::<chrono::Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let minutes = |m| Some((7, now - chrono::TimeDelta::minutes(m)));
        assert_eq!(ListAddition::of(0, minutes(1), now), ListAddition::Silent);
        assert_eq!(ListAddition::<i64>::of(0, None, now), ListAddition::Silent);
        assert_eq!(ListAddition::<i64>::of(3, None, now), ListAddition::New);
        assert_eq!(
            ListAddition::of(3, minutes(1), now),
            ListAddition::CountInto(7)
        );
        assert_eq!(
            ListAddition::of(1, minutes(30), now),
            ListAddition::CountInto(7)
        );
        assert_eq!(ListAddition::of(1, minutes(31), now), ListAddition::New);
    }
}
