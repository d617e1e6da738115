//! Rows of the Wikipedia film dataset (`title`, `year`, `cast` in billing order, `genres`, `href`,
//! `extract`): checked and cleaned, with the dataset's known problems repaired or reported.
//!
//! Cast lists carry scraping debris ("and", ".", "[a]", a sentence, an award's name) and names
//! split at a suffix ("Robert Downey", "Jr."); directors and writers are not a field, but most
//! synopses say "directed by …" / "written by …", which is where they are read from.

use std::collections::HashMap;

use filmlog_domain::{CreditRole, Title, label, valid_year};
use serde_json::Value;

use crate::source::{Rejection, SourceCredit, SourceFilm, WIKIPEDIA};

/// What cleaning a row's cast did, for the report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CastRepairs {
    /// Entries that were not a name (debris), dropped.
    pub dropped: usize,
    /// Suffixes ("Jr.") joined back to the name before them.
    pub rejoined: usize,
}

impl std::ops::AddAssign for CastRepairs {
    fn add_assign(&mut self, other: Self) {
        self.dropped += other.dropped;
        self.rejoined += other.rejoined;
    }
}

const SUFFIXES: &[&str] = &["Jr.", "Jr", "Sr.", "Sr", "II", "III", "IV"];
/// The longest name kept, in words: longer entries are sentences.
const MAX_NAME_WORDS: usize = 6;

/// The cast as names: debris dropped, split suffixes rejoined, footnote marks removed, each name
/// once (first billing kept).
pub fn clean_cast(raw: &[Value]) -> (Vec<String>, CastRepairs) {
    let mut repairs = CastRepairs::default();
    let mut names: Vec<String> = Vec::new();
    for entry in raw {
        let Some(text) = entry.as_str() else {
            repairs.dropped += 1;
            continue;
        };
        let text = strip_footnotes(text);
        let text = text.trim().trim_end_matches(',').trim();
        if SUFFIXES.contains(&text) {
            match names.last_mut() {
                Some(last) => {
                    last.push(' ');
                    last.push_str(text);
                    repairs.rejoined += 1;
                }
                None => repairs.dropped += 1,
            }
            continue;
        }
        if !is_name(text) {
            repairs.dropped += 1;
            continue;
        }
        if names.iter().any(|n| n == text) {
            continue;
        }
        names.push(text.to_owned());
    }
    (names, repairs)
}

/// Removes footnote marks such as "[a]" or "[12]".
fn strip_footnotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']') else {
            break;
        };
        out.push_str(&rest[..open]);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether `text` reads as a person's name: it has a letter, no brackets or sentence marks, at
/// most six words, and is not one lowercase word ("and", "with", "kids").
fn is_name(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    !words.is_empty()
        && words.len() <= MAX_NAME_WORDS
        && text.chars().count() <= filmlog_domain::MAX_CREDIT_CHARS
        && text.chars().any(char::is_alphabetic)
        && !text.contains(['(', ')', '[', ']', '?', ':', ';', '"'])
        && !(words.len() == 1 && text.chars().all(|c| !c.is_uppercase()))
        && !text.contains("Academy Award")
}

/// The people a synopsis names after `phrase` ("directed by"): one name, or several joined by
/// commas and "and", each of two to five capitalised words (initials, particles and suffixes
/// allowed), read up to the first word that is not part of a name.
pub fn people_after(extract: &str, phrase: &str) -> Vec<String> {
    let Some(at) = extract.find(phrase) else {
        return Vec::new();
    };
    let rest = &extract[at + phrase.len()..];
    let mut names = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for raw in rest.split_whitespace() {
        let (word, ends) = match raw.strip_suffix([',', ';', ')']) {
            Some(w) => (w, true),
            None => (raw, false),
        };
        let (word, sentence_end) = match word.strip_suffix('.') {
            // An initial ("H.") or a suffix ("Jr.") keeps its dot and the name goes on.
            Some(w) if w.chars().count() == 1 || w == "Jr" || w == "Sr" => (word, false),
            Some(w) => (w, true),
            None => (word, false),
        };
        if word == "and" && !current.is_empty() {
            push_name(&mut names, &mut current);
            continue;
        }
        let capital = word.chars().next().is_some_and(char::is_uppercase);
        let particle = matches!(
            word,
            "de" | "del" | "della" | "van" | "von" | "der" | "da" | "di" | "le" | "la"
        );
        if !(capital || (particle && !current.is_empty())) || word.contains(['(', '"', '\'']) {
            break;
        }
        current.push(word);
        if ends || sentence_end {
            push_name(&mut names, &mut current);
            if sentence_end || raw.ends_with([';', ')']) {
                break;
            }
        }
    }
    push_name(&mut names, &mut current);
    names
}

fn push_name(names: &mut Vec<String>, current: &mut Vec<&str>) {
    if (2..=5).contains(&current.len())
        && current
            .last()
            .is_some_and(|w| !w.ends_with('.') || w.len() > 2)
    {
        let name = current.join(" ");
        if !names.contains(&name) {
            names.push(name);
        }
    }
    current.clear();
}

/// The crew a synopsis names: directors and writers.
pub fn crew_from_extract(extract: &str) -> Vec<(String, CreditRole)> {
    let mut crew = Vec::new();
    let both = people_after(extract, "written and directed by ");
    for name in &both {
        crew.push((name.clone(), CreditRole::Director));
        crew.push((name.clone(), CreditRole::Writer));
    }
    if both.is_empty() {
        crew.extend(
            people_after(extract, "directed by ")
                .into_iter()
                .map(|n| (n, CreditRole::Director)),
        );
        crew.extend(
            people_after(extract, "written by ")
                .into_iter()
                .map(|n| (n, CreditRole::Writer)),
        );
    }
    crew
}

/// Whether a Wikipedia page name is well formed (no spaces, no characters a page name cannot hold).
pub fn page_name(raw: &str) -> Option<String> {
    let ok = !raw.is_empty()
        && raw.chars().count() <= 300
        && !raw.contains(|c: char| c.is_whitespace() || "#<>[]{}|".contains(c) || c.is_control());
    ok.then(|| raw.to_owned())
}

/// Checks one row; `seen` maps a Wikipedia page to the row that had it first.
pub fn check_row(
    row: usize,
    value: &Value,
    this_year: i32,
    seen: &mut HashMap<String, usize>,
    repairs: &mut CastRepairs,
) -> Result<SourceFilm, Rejection> {
    let obj = value.as_object().ok_or(Rejection::NotAnObject)?;
    let title = match obj.get("title") {
        None | Some(Value::Null) => return Err(Rejection::NoTitle),
        Some(Value::String(s)) => Title::parse(s).map_err(|e| match e {
            filmlog_domain::TextError::Empty => Rejection::NoTitle,
            other => Rejection::BadTitle(other.to_string()),
        })?,
        Some(other) => return Err(Rejection::BadTitle(format!("not text: {other}"))),
    };
    let year = obj
        .get("year")
        .and_then(Value::as_i64)
        .and_then(|y| i32::try_from(y).ok())
        .filter(|y| valid_year(*y) && *y <= this_year)
        .ok_or_else(|| {
            Rejection::BadYear(obj.get("year").cloned().unwrap_or(Value::Null).to_string())
        })?;
    let page = match obj.get("href") {
        Some(Value::String(s)) => Some(page_name(s).ok_or_else(|| Rejection::BadPage(s.clone()))?),
        _ => None,
    };
    if let Some(page) = &page {
        if let Some(first_row) = seen.get(page) {
            return Err(Rejection::Duplicate {
                first_row: *first_row,
            });
        }
        seen.insert(page.clone(), row);
    }
    let (cast, repaired) = clean_cast(
        obj.get("cast")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice),
    );
    *repairs += repaired;
    let extract = obj.get("extract").and_then(Value::as_str).unwrap_or("");
    let synopsis = filmlog_domain::text::clean(extract, filmlog_domain::MAX_SYNOPSIS_CHARS, true)
        .ok()
        .flatten();
    let mut credits: Vec<SourceCredit> = crew_from_extract(extract)
        .into_iter()
        .map(|(name, role)| SourceCredit {
            name,
            role,
            billing_order: 0,
        })
        .collect();
    credits.extend(cast.into_iter().zip(0..).map(|(name, order)| SourceCredit {
        name,
        role: CreditRole::Cast,
        billing_order: order,
    }));
    let genres = obj
        .get("genres")
        .and_then(Value::as_array)
        .map(|g| {
            g.iter()
                .filter_map(Value::as_str)
                .filter_map(|s| label(s).ok())
                .collect()
        })
        .unwrap_or_default();
    Ok(SourceFilm {
        source: WIKIPEDIA,
        row,
        title: title.into_inner(),
        year: Some(year),
        release_date: None,
        runtime_minutes: None,
        synopsis,
        genres,
        wikipedia_page: page,
        credits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn debris_is_dropped_and_split_suffixes_rejoined() {
        let raw = json!([
            "Robert Downey",
            "Jr.",
            "and",
            ".",
            "[a]",
            "Gwyneth Paltrow[b]",
            "kids",
            "Academy Award for Best Supporting Actor",
            "Cher",
            "Gwyneth Paltrow",
            "A year in the life of Susan Tom and her 11 children with disabilities",
            7,
            "(",
            "Sr."
        ]);
        let (names, repairs) = clean_cast(raw.as_array().map_or(&[][..], Vec::as_slice));
        assert_eq!(names, ["Robert Downey Jr.", "Gwyneth Paltrow", "Cher Sr."]);
        assert_eq!(
            repairs,
            CastRepairs {
                dropped: 8,
                rejoined: 2
            }
        );
    }

    #[test]
    fn directors_and_writers_are_read_from_the_synopsis() {
        let noir = "City That Never Sleeps is a 1953 American film noir crime film directed by John H. Auer and starring Gig Young.";
        assert_eq!(people_after(noir, "directed by "), ["John H. Auer"]);
        let two =
            "a 1998 comedy film directed by Joel Coen and Ethan Coen, written by the brothers.";
        assert_eq!(
            people_after(two, "directed by "),
            ["Joel Coen", "Ethan Coen"]
        );
        assert_eq!(people_after(two, "written by "), Vec::<String>::new());
        let both = "is a 2004 film written and directed by Wes Anderson. It stars Bill Murray.";
        assert_eq!(
            crew_from_extract(both),
            [
                ("Wes Anderson".to_owned(), CreditRole::Director),
                ("Wes Anderson".to_owned(), CreditRole::Writer)
            ]
        );
        let particle = "a film directed by Erich von Stroheim, starring";
        assert_eq!(
            people_after(particle, "directed by "),
            ["Erich von Stroheim"]
        );
        // One word is not a name; a lowercase word ends it.
        assert!(people_after("directed by Madonna in her debut", "directed by ").is_empty());
        assert!(people_after("no director here", "directed by ").is_empty());
    }

    #[test]
    fn rows_are_checked() {
        let mut seen = HashMap::new();
        let mut repairs = CastRepairs::default();
        let mut check = |v: Value| check_row(1, &v, 2023, &mut seen, &mut repairs);
        let good = check(json!({"title": "City That Never Sleeps", "year": 1953,
            "cast": ["Gig Young", "Mala Powers"], "genres": ["Noir", "Crime"],
            "href": "City_That_Never_Sleeps",
            "extract": "City That Never Sleeps is a 1953 American film noir directed by John H. Auer."}));
        let good = good.map(|f| (f.wikipedia_page, f.credits.len(), f.genres));
        assert_eq!(
            good.ok(),
            Some((
                Some("City_That_Never_Sleeps".to_owned()),
                3,
                vec!["Noir".to_owned(), "Crime".to_owned()]
            ))
        );
        assert!(matches!(
            check(json!({"title": "Again", "year": 1953, "href": "City_That_Never_Sleeps"})),
            Err(Rejection::Duplicate { first_row: 1 })
        ));
        assert!(matches!(
            check(json!({"title": "Later", "year": 2031})),
            Err(Rejection::BadYear(_))
        ));
        assert!(matches!(
            check(json!({"title": 12, "year": 2000})),
            Err(Rejection::BadTitle(_))
        ));
        assert!(matches!(
            check(json!({"year": 2000})),
            Err(Rejection::NoTitle)
        ));
        assert!(matches!(
            check(json!({"title": "Spaced", "year": 2000, "href": "a b"})),
            Err(Rejection::BadPage(_))
        ));
    }
}
