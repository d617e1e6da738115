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
fn fold(c: char) -> Vec<char> {
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

/// A release year the catalog accepts.
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
        fn every_generated_slug_parses(title in "\\PC{0,80}", year in proptest::option::of(1870i32..2100)) {
            if let Some(slug) = Slug::from_title(&title, year) {
                prop_assert_eq!(Slug::parse(slug.as_str()), Ok(slug.clone()));
            }
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
