//! The catalog's value types.

use chrono::NaiveDate;

use crate::text::{self, TextError};

/// A film's stable address: lowercase ASCII words joined by single hyphens, e.g.
/// `children-of-heaven-1997`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a slug is lowercase letters and digits in words joined by single hyphens, at most 160 characters"
)]
pub struct SlugError;

impl Slug {
    pub const MAX: usize = 160;

    pub fn parse(raw: &str) -> Result<Self, SlugError> {
        let ok = !raw.is_empty()
            && raw.len() <= Self::MAX
            && raw.split('-').all(|w| {
                !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(SlugError)
        }
    }

    /// The slug of a title and year: ASCII-folded, lowercase, non-alphanumerics collapsed to hyphens,
    /// the year appended. `None` when the title has no letter or digit to keep.
    pub fn from_title(title: &str, year: Option<i32>) -> Option<Self> {
        let mut out = String::new();
        let mut pending_hyphen = false;
        for c in title.chars().flat_map(fold) {
            if c.is_ascii_alphanumeric() {
                if pending_hyphen && !out.is_empty() {
                    out.push('-');
                }
                pending_hyphen = false;
                out.push(c.to_ascii_lowercase());
            } else if c != '\'' {
                pending_hyphen = true;
            }
        }
        if out.is_empty() {
            return None;
        }
        out.truncate(140);
        let out = out.trim_end_matches('-').to_owned();
        let slug = match year {
            Some(y) => format!("{out}-{y}"),
            None => out,
        };
        Self::parse(&slug).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Folds common Latin letters with diacritics to ASCII so slugs stay readable.
pub(crate) fn fold(c: char) -> Vec<char> {
    let mapped = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        'ß' => return vec!['s', 's'],
        'æ' | 'Æ' => return vec!['a', 'e'],
        '&' => return vec![' ', 'a', 'n', 'd', ' '],
        other => other,
    };
    vec![mapped]
}

/// A film title: 1–300 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub const MAX: usize = 300;

    pub fn parse(raw: &str) -> Result<Self, TextError> {
        text::clean_required(raw, Self::MAX, false).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The catalog's rating order: a Bayesian average that pulls a film's mean towards a prior of
/// [`PRIOR_MEAN_HALVES`] (3.0 stars) with the weight of [`PRIOR_WEIGHT`] ratings, so a film needs about
/// that many ratings before its own mean dominates: one 5-star vote scores 3.18, not 5.0.
pub mod weighted_rating {
    /// The prior mean, in half stars (3.0 stars).
    pub const PRIOR_MEAN_HALVES: i64 = 6;
    /// The prior's weight: the minimum count of ratings at which a film's own mean counts as much as
    /// the prior.
    pub const PRIOR_WEIGHT: i64 = 10;

    /// The weighted average in stars from the sum of half-star ratings and their count; `None` when no
    /// one rated the film (such films sort last).
    pub fn stars(sum_halves: i64, count: i64) -> Option<f64> {
        (count > 0).then(|| {
            (sum_halves + PRIOR_WEIGHT * PRIOR_MEAN_HALVES) as f64
                / (count + PRIOR_WEIGHT) as f64
                / 2.0
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn few_votes_do_not_top_many() {
            let one_perfect = stars(10, 1).unwrap_or_default();
            let many_good = stars(9 * 200, 200).unwrap_or_default();
            assert!(one_perfect < many_good, "{one_perfect} vs {many_good}");
            assert!((one_perfect - 70.0 / 11.0 / 2.0).abs() < 1e-9);
            assert_eq!(stars(0, 0), None);
            // With many ratings the weighted mean approaches the plain mean.
            let plain = 8.0 / 2.0;
            assert!((stars(8 * 100_000, 100_000).unwrap_or_default() - plain).abs() < 0.001);
        }
    }
}

/// What a person did on a film: acted in it (`Cast`), or a crew job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CreditRole {
    Director,
    Writer,
    Cast,
    Producer,
    Composer,
    Cinematographer,
    Editor,
}

crate::names::named!("credit role", CreditRole {
    Director => "director",
    Writer => "writer",
    Cast => "cast",
    Producer => "producer",
    Composer => "composer",
    Cinematographer => "cinematographer",
    Editor => "editor",
});

/// The longest synopsis, in characters.
pub const MAX_SYNOPSIS_CHARS: usize = 5000;
/// The longest person's name or character name in a credit, in characters.
pub const MAX_CREDIT_CHARS: usize = 200;
/// The most credits a film may be given at once.
pub const MAX_CREDITS: usize = 200;

/// Ratings a film needs before its average and its histogram are shown: with fewer, they would
/// tell one member's rating (a private account's too) to anyone who watches them change.
pub const RATINGS_DISCLOSED_FROM: i32 = 5;

/// Whether a film with `rating_count` ratings shows its average and histogram.
pub fn discloses_ratings(rating_count: i32) -> bool {
    rating_count >= RATINGS_DISCLOSED_FROM
}

/// A release year the catalog accepts.
pub fn valid_year(year: i32) -> bool {
    (1870..=2100).contains(&year)
}

/// A release date is not more than a year ahead of `today` (announced films are fine; the 2040s are a
/// data error).
pub fn plausible_release(date: NaiveDate, today: NaiveDate) -> bool {
    date <= today + chrono::Duration::days(366) && valid_year(chrono::Datelike::year(&date))
}

/// A genre, country or language label: 1–50 characters, one line.
pub fn label(raw: &str) -> Result<String, TextError> {
    text::clean_required(raw, 50, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slugs_of_titles() {
        assert_eq!(
            Slug::from_title("Children of Heaven", Some(1997)).map(Slug::into_inner),
            Some("children-of-heaven-1997".to_owned())
        );
        assert_eq!(
            Slug::from_title("Amélie", Some(2001)).map(Slug::into_inner),
            Some("amelie-2001".to_owned())
        );
        assert_eq!(
            Slug::from_title("Schindler's List", Some(1993)).map(Slug::into_inner),
            Some("schindlers-list-1993".to_owned())
        );
        assert_eq!(
            Slug::from_title("  Rock & Roll: Part II!! ", None).map(Slug::into_inner),
            Some("rock-and-roll-part-ii".to_owned())
        );
        assert_eq!(Slug::from_title("???", Some(2000)), None);
        assert!(Slug::parse("a--b").is_err());
        assert!(Slug::parse("-a").is_err());
        assert!(Slug::parse("A").is_err());
    }

    proptest! {
        #[test]
        fn every_generated_slug_is_lowercase_words_and_its_year(title in "\\PC{0,80}", year in proptest::option::of(1870i32..2100)) {
            if let Some(slug) = Slug::from_title(&title, year) {
                // The grammar checked on its own, not by `Slug::parse`.
                let s = slug.as_str();
                prop_assert!(!s.starts_with('-') && !s.ends_with('-') && !s.contains("--"), "{}", s);
                prop_assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{}", s);
                if let Some(y) = year {
                    prop_assert!(s.ends_with(&format!("-{y}")), "{}", s);
                }
            }
        }

        #[test]
        fn an_ascii_titles_slug_is_its_words_lowercased(title in "[ -~]{0,300}", year in proptest::option::of(1870i32..2100)) {
            // The model: `&` is the word "and", apostrophes are dropped, every other run of
            // non-alphanumerics is one hyphen.
            let words: Vec<String> = title
                .replace('&', " and ")
                .replace('\'', "")
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_ascii_lowercase)
                .collect();
            // At most 140 characters before the year, never ending in a hyphen.
            let expected = (!words.is_empty()).then(|| {
                let mut slug = words.join("-");
                slug.truncate(140);
                let mut slug = slug.trim_end_matches('-').to_owned();
                if let Some(y) = year {
                    slug.push_str(&format!("-{y}"));
                }
                slug
            });
            prop_assert_eq!(Slug::from_title(&title, year).map(Slug::into_inner), expected);
        }

        #[test]
        fn slugs_parse_only_in_their_alphabet(s in "[a-z0-9]{1,10}(-[a-z0-9]{1,10}){0,4}", bad in "[A-Z _/.]") {
            let with_bad = format!("{s}{bad}");
            prop_assert!(Slug::parse(&s).is_ok());
            prop_assert!(Slug::parse(&with_bad).is_err());
        }

        #[test]
        fn titles_are_one_line(a in "[a-zA-Z]{1,20}", b in "[a-zA-Z]{1,20}") {
            let one_line = format!("{a} {b}");
            let two_lines = format!("{a}\n{b}");
            prop_assert!(Title::parse(&one_line).is_ok());
            prop_assert_eq!(Title::parse(&two_lines), Err(TextError::ControlCharacter));
        }
    }

    #[test]
    fn release_dates_far_in_the_future_are_implausible() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default();
        assert!(plausible_release(
            NaiveDate::from_ymd_opt(1997, 1, 1).unwrap_or_default(),
            today
        ));
        assert!(plausible_release(
            NaiveDate::from_ymd_opt(2027, 6, 1).unwrap_or_default(),
            today
        ));
        assert!(!plausible_release(
            NaiveDate::from_ymd_opt(2043, 6, 1).unwrap_or_default(),
            today
        ));
    }
}

/// Why an external id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExternalIdError {
    #[error("tmdb_id must be a positive whole number")]
    Tmdb,
    #[error("imdb_id must be `tt` and 7–10 digits")]
    Imdb,
    #[error("letterboxd_uri must be a https://letterboxd.com/… or https://boxd.it/… address")]
    Letterboxd,
}

/// A TMDB id (as the database checks it).
pub fn tmdb_id(id: i64) -> Result<i32, ExternalIdError> {
    i32::try_from(id)
        .ok()
        .filter(|i| *i > 0)
        .ok_or(ExternalIdError::Tmdb)
}

/// An IMDb title id, `tt0133093`.
pub fn imdb_id(raw: &str) -> Result<String, ExternalIdError> {
    let raw = raw.trim();
    let digits = raw.strip_prefix("tt").ok_or(ExternalIdError::Imdb)?;
    if (7..=10).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(raw.to_owned())
    } else {
        Err(ExternalIdError::Imdb)
    }
}

/// A Letterboxd address of a film (`https://letterboxd.com/film/…/` or a `https://boxd.it/…` short
/// link), as the database checks it.
pub fn letterboxd_uri(raw: &str) -> Result<String, ExternalIdError> {
    let raw = raw.trim();
    let rest = raw
        .strip_prefix("https://letterboxd.com/")
        .or_else(|| raw.strip_prefix("https://boxd.it/"))
        .ok_or(ExternalIdError::Letterboxd)?;
    let ok = !rest.is_empty()
        && raw.len() <= 300
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_.-".contains(&b));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(ExternalIdError::Letterboxd)
    }
}

#[cfg(test)]
mod external_id_tests {
    use super::*;

    #[test]
    fn external_ids_are_checked_as_the_database_does() {
        assert_eq!(tmdb_id(603), Ok(603));
        assert!(tmdb_id(0).is_err() && tmdb_id(i64::MAX).is_err());
        assert_eq!(imdb_id(" tt0133093 "), Ok("tt0133093".into()));
        assert!(imdb_id("tt123").is_err() && imdb_id("nm0000206").is_err());
        assert!(letterboxd_uri("https://letterboxd.com/film/the-matrix/").is_ok());
        assert!(letterboxd_uri("https://boxd.it/2a1m").is_ok());
        assert!(letterboxd_uri("http://letterboxd.com/film/x/").is_err());
        assert!(letterboxd_uri("https://letterboxd.com/film/x?y=<script>").is_err());
    }
}
