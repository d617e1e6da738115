//! Log entries and their parts: ratings, diary dates, reviews, tags, comments.

use chrono::NaiveDate;

use crate::text::{self, TextError};

/// A rating in half stars: 0.5–5.0 on the wire, 1–10 stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rating(u8);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rating must be a multiple of 0.5 between 0.5 and 5.0")]
pub struct RatingError;

impl Rating {
    /// From stars as sent by clients (`4.5`).
    pub fn from_stars(stars: f64) -> Result<Self, RatingError> {
        let halves = stars * 2.0;
        if !halves.is_finite() || halves.fract() != 0.0 || !(1.0..=10.0).contains(&halves) {
            return Err(RatingError);
        }
        // In 1..=10 and integral, so the cast is exact.
        Ok(Self(halves as u8))
    }

    /// From the stored half-star count.
    pub fn from_halves(halves: i16) -> Result<Self, RatingError> {
        u8::try_from(halves)
            .ok()
            .filter(|h| (1..=10).contains(h))
            .map(Self)
            .ok_or(RatingError)
    }

    pub fn halves(self) -> i16 {
        i16::from(self.0)
    }

    /// 0 for half a star … 9 for five stars (the histogram bucket).
    pub fn index(self) -> usize {
        usize::from(self.0) - 1
    }

    pub fn stars(self) -> f64 {
        f64::from(self.0) / 2.0
    }
}

/// A diary date: a calendar date not after `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WatchedOn(NaiveDate);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WatchedOnError {
    #[error("watched_on cannot be in the future")]
    InFuture,
    #[error("watched_on must be after 1870")]
    TooEarly,
}

impl WatchedOn {
    /// `today` is the latest calendar date anywhere on Earth (UTC+14), so no member is told their
    /// today is in the future.
    pub fn parse(date: NaiveDate, today: NaiveDate) -> Result<Self, WatchedOnError> {
        if date > today {
            return Err(WatchedOnError::InFuture);
        }
        if chrono::Datelike::year(&date) < 1870 {
            return Err(WatchedOnError::TooEarly);
        }
        Ok(Self(date))
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }
}

/// The latest date it is anywhere right now.
pub fn latest_today() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(14)).date_naive()
}

/// Review text: 1–100,000 characters, newlines allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewText(String);

impl ReviewText {
    pub const MAX: usize = 100_000;

    /// `Ok(None)` for blank text (no review).
    pub fn parse(raw: &str) -> Result<Option<Self>, TextError> {
        Ok(text::clean(raw, Self::MAX, true)?.map(Self))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    /// The first `max` characters, cut at a word boundary when one is near, with an ellipsis.
    pub fn excerpt(text: &str, max: usize) -> String {
        // The byte offset where the `max + 1`-th character starts, if the text is longer than that.
        let Some((end, _)) = text.char_indices().nth(max) else {
            return text.to_owned();
        };
        let cut = &text[..end];
        let at = cut
            .rfind(char::is_whitespace)
            .filter(|i| *i > max / 2)
            .unwrap_or(cut.len());
        let head = cut[..at].trim_end();
        let mut out = String::with_capacity(head.len() + '…'.len_utf8());
        out.push_str(head);
        out.push('…');
        out
    }
}

/// A tag: 1–50 characters of lowercase letters, digits, spaces and hyphens, starting with a letter or
/// digit. Input is trimmed and lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("a tag is 1–50 letters, digits, spaces or hyphens, starting with a letter or digit")]
    Format,
    #[error("at most 20 tags")]
    TooMany,
}

impl Tag {
    pub const MAX: usize = 50;
    pub const MAX_PER_ENTRY: usize = 20;

    pub fn parse(raw: &str) -> Result<Self, TagError> {
        let tag = raw.trim().to_lowercase();
        let ok = tag.chars().count() <= Self::MAX
            && tag.chars().next().is_some_and(char::is_alphanumeric)
            && tag
                .chars()
                .all(|c| c.is_alphanumeric() || c == ' ' || c == '-')
            && !tag.contains("  ");
        if ok {
            Ok(Self(tag))
        } else {
            Err(TagError::Format)
        }
    }

    /// A set of tags: each valid, duplicates dropped (first spelling kept), at most 20.
    pub fn parse_all<S: AsRef<str>>(raw: &[S]) -> Result<Vec<Self>, (usize, TagError)> {
        let mut out: Vec<Self> = Vec::new();
        for (i, r) in raw.iter().enumerate() {
            let tag = Self::parse(r.as_ref()).map_err(|e| (i, e))?;
            if !out.contains(&tag) {
                out.push(tag);
            }
        }
        if out.len() > Self::MAX_PER_ENTRY {
            return Err((Self::MAX_PER_ENTRY, TagError::TooMany));
        }
        Ok(out)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A comment: 1–10,000 characters, newlines allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentBody(String);

impl CommentBody {
    pub const MAX: usize = 10_000;

    pub fn parse(raw: &str) -> Result<Self, TextError> {
        text::clean_required(raw, Self::MAX, true).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_half_star_round_trips(h in 1u8..=10) {
            let stars = f64::from(h) / 2.0;
            let r = Rating::from_stars(stars).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(r.halves(), i16::from(h));
            prop_assert_eq!(r.stars(), stars);
            prop_assert_eq!(Rating::from_halves(i16::from(h)), Ok(r));
        }

        #[test]
        fn other_numbers_are_not_ratings(x in -100.0f64..100.0) {
            let valid = (x * 2.0).fract() == 0.0 && (1.0..=10.0).contains(&(x * 2.0));
            prop_assert_eq!(Rating::from_stars(x).is_ok(), valid);
        }

        #[test]
        fn dates_after_today_are_refused(days in 1i64..5000) {
            let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default();
            prop_assert_eq!(WatchedOn::parse(today + chrono::Duration::days(days), today), Err(WatchedOnError::InFuture));
            prop_assert!(WatchedOn::parse(today - chrono::Duration::days(days), today).is_ok());
        }

        #[test]
        fn tags_are_normalised(t in "[a-zA-Z0-9][a-zA-Z0-9-]{0,20}") {
            let padded = format!("  {t} ");
            let tag = Tag::parse(&padded).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(tag.as_str(), t.to_lowercase());
        }

        #[test]
        fn tags_with_other_characters_are_refused(a in "[a-z]{1,5}", bad in "[#@!/.,;:\\x00]", b in "[a-z]{0,5}") {
            let raw = format!("{a}{bad}{b}");
            prop_assert_eq!(Tag::parse(&raw), Err(TagError::Format));
        }

        #[test]
        fn excerpts_are_bounded(s in "\\PC{0,400}", max in 10usize..200) {
            let e = ReviewText::excerpt(&s, max);
            prop_assert!(e.chars().count() <= max + 1);
            if s.chars().count() <= max {
                prop_assert_eq!(&e, &s);
            } else {
                let head = e.strip_suffix('…');
                prop_assert!(head.is_some_and(|h| s.starts_with(h)), "{:?} of {:?}", e, s);
            }
        }
    }

    #[test]
    fn specific_cases() {
        assert_eq!(Rating::from_stars(4.7), Err(RatingError));
        assert_eq!(Rating::from_stars(0.0), Err(RatingError));
        assert_eq!(Rating::from_stars(5.5), Err(RatingError));
        assert_eq!(Rating::from_stars(f64::NAN), Err(RatingError));
        assert_eq!(Rating::from_stars(0.5).map(Rating::halves), Ok(1));
        assert_eq!(Rating::from_halves(0), Err(RatingError));
        assert_eq!(Tag::parse_all(&["A", "a", "b"]).map(|v| v.len()), Ok(2));
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert_eq!(Tag::parse_all(&many), Err((20, TagError::TooMany)));
        assert_eq!(Tag::parse(""), Err(TagError::Format));
        assert!(ReviewText::parse(&"x".repeat(100_000)).is_ok());
        assert_eq!(
            ReviewText::parse(&"x".repeat(100_001)),
            Err(TextError::TooLong { max: 100_000 })
        );
        assert_eq!(ReviewText::parse(" \n "), Ok(None));
        assert_eq!(CommentBody::parse(""), Err(TextError::Empty));
        assert_eq!(ReviewText::excerpt("one two three four", 9), "one two…");
    }
}
