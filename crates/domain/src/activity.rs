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
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 8] = [
        ActivityKind::DiaryEntry,
        ActivityKind::Review,
        ActivityKind::Rating,
        ActivityKind::FilmLike,
        ActivityKind::ReviewLike,
        ActivityKind::Comment,
        ActivityKind::Follow,
        ActivityKind::Watchlist,
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
}
