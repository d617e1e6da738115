//! `filmlog import-films FILE`: loads a catalog in the format of vega-datasets' movies.json.
//!
//! Good rows are imported; every bad row is reported with its reason (no title, numeric title,
//! unreadable or future release date, duplicate title + year, ...). Films already present (same
//! slug) are left alone, so a second run changes nothing.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use filmlog_domain::{Slug, Title, label, latest_today};
use filmlog_persistence::catalog::{self, NewCredit, NewFilm};
use serde_json::Value;

use crate::{BoxError, Settings};

/// Why a row was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    NotAnObject,
    NoTitle,
    NumericTitle(String),
    BadTitle(String),
    UnreadableDate(String),
    FutureRelease(NaiveDate),
    Duplicate { first_row: usize },
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::NotAnObject => write!(f, "not an object"),
            Rejection::NoTitle => write!(f, "no title"),
            Rejection::NumericTitle(t) => write!(f, "numeric title ({t})"),
            Rejection::BadTitle(e) => write!(f, "invalid title: {e}"),
            Rejection::UnreadableDate(d) => write!(f, "unreadable release date {d:?}"),
            Rejection::FutureRelease(d) => write!(f, "release date {d} is in the future"),
            Rejection::Duplicate { first_row } => {
                write!(f, "duplicate of row {first_row} (same title and year)")
            }
        }
    }
}

impl Rejection {
    fn category(&self) -> &'static str {
        match self {
            Rejection::NotAnObject => "not an object",
            Rejection::NoTitle => "no title",
            Rejection::NumericTitle(_) => "numeric title",
            Rejection::BadTitle(_) => "invalid title",
            Rejection::UnreadableDate(_) => "unreadable release date",
            Rejection::FutureRelease(_) => "release date in the future",
            Rejection::Duplicate { .. } => "duplicate title + year",
        }
    }
}

/// A row that passed every check, ready to insert.
#[derive(Debug)]
pub struct Candidate {
    pub film: NewFilm,
    pub director: Option<String>,
}

/// Checks one row (1-based `row` for messages; `seen` maps lowered title + year to its first row).
pub fn check_row(
    row: usize,
    value: &Value,
    today: NaiveDate,
    seen: &mut HashMap<(String, Option<i32>), usize>,
) -> Result<Candidate, Rejection> {
    let obj = value.as_object().ok_or(Rejection::NotAnObject)?;
    let title = match obj.get("Title") {
        None | Some(Value::Null) => return Err(Rejection::NoTitle),
        Some(Value::Number(n)) => return Err(Rejection::NumericTitle(n.to_string())),
        Some(Value::String(s)) => Title::parse(s).map_err(|e| match e {
            filmlog_domain::TextError::Empty => Rejection::NoTitle,
            other => Rejection::BadTitle(other.to_string()),
        })?,
        Some(other) => return Err(Rejection::BadTitle(format!("not text: {other}"))),
    };
    let release = match obj.get("Release Date") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            NaiveDate::parse_from_str(s.trim(), "%b %d %Y")
                .map_err(|_| Rejection::UnreadableDate(s.clone()))?,
        ),
        Some(other) => return Err(Rejection::UnreadableDate(other.to_string())),
    };
    if let Some(date) =
        release.filter(|d| *d > today || !filmlog_domain::valid_year(chrono::Datelike::year(d)))
    {
        return Err(Rejection::FutureRelease(date));
    }
    let year = release.map(|d| chrono::Datelike::year(&d));
    let key = (title.as_str().to_lowercase(), year);
    if let Some(first_row) = seen.get(&key) {
        return Err(Rejection::Duplicate {
            first_row: *first_row,
        });
    }
    seen.insert(key, row);
    let slug = Slug::from_title(title.as_str(), year)
        .ok_or_else(|| Rejection::BadTitle("nothing to make a slug of".to_owned()))?;
    let text = |name: &str| {
        obj.get(name)
            .and_then(Value::as_str)
            .and_then(|s| label(s).ok())
    };
    let runtime = obj
        .get("Running Time min")
        .and_then(Value::as_i64)
        .and_then(|m| i32::try_from(m).ok())
        .filter(|m| (1..=1500).contains(m));
    let director = obj
        .get("Director")
        .and_then(Value::as_str)
        .and_then(|d| filmlog_domain::text::clean(d, 200, false).ok().flatten());
    Ok(Candidate {
        film: NewFilm {
            slug: slug.into_inner(),
            title: title.into_inner(),
            original_title: None,
            year,
            release_date: release,
            runtime_minutes: runtime,
            synopsis: None,
            poster_url: None,
            genres: text("Major Genre").into_iter().collect(),
            countries: Vec::new(),
            languages: Vec::new(),
        },
        director,
    })
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub rows: usize,
    pub imported: usize,
    pub already_present: usize,
    pub rejected: Vec<(usize, String)>,
    pub by_reason: Vec<(String, usize)>,
}

/// Imports `rows` into the database at `conn`, in one transaction.
pub async fn import(
    conn: &mut AsyncPgConnection,
    rows: &[Value],
    show_progress: bool,
) -> Result<Summary, BoxError> {
    let today = latest_today();
    let mut seen = HashMap::new();
    let mut summary = Summary {
        rows: rows.len(),
        ..Default::default()
    };
    let mut reasons: Vec<(String, usize)> = Vec::new();
    let mut candidates = Vec::new();
    for (i, value) in rows.iter().enumerate() {
        match check_row(i + 1, value, today, &mut seen) {
            Ok(c) => candidates.push(c),
            Err(r) => {
                match reasons.iter_mut().find(|(k, _)| k == r.category()) {
                    Some((_, n)) => *n += 1,
                    None => reasons.push((r.category().to_owned(), 1)),
                }
                summary.rejected.push((i + 1, r.to_string()));
            }
        }
    }
    summary.by_reason = reasons;
    let bar = show_progress.then(|| crate::progress_bar("films", candidates.len() as u64));
    let (imported, present) = conn
        .transaction(async |conn| {
            let (mut imported, mut present) = (0usize, 0usize);
            for c in &candidates {
                match catalog::insert_film_if_new(conn, &c.film).await? {
                    Some(film) => {
                        imported += 1;
                        if let Some(name) = &c.director {
                            let credit = NewCredit {
                                name: name.clone(),
                                role: filmlog_domain::CreditRole::Director,
                                character: None,
                                billing_order: 0,
                            };
                            catalog::replace_credits(conn, film.id, &[credit]).await?;
                        }
                    }
                    None => present += 1,
                }
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
            }
            Ok::<_, filmlog_persistence::PersistenceError>((imported, present))
        })
        .await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    summary.imported = imported;
    summary.already_present = present;
    Ok(summary)
}

pub async fn run(settings: &Settings, file: &std::path::Path) -> Result<(), BoxError> {
    let path = file.display();
    let bad = |message: String| crate::failure::InputError(message);
    let text =
        std::fs::read_to_string(file).map_err(|e| bad(format!("cannot read {path}: {e}")))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("{path} is not JSON: {e}")))?;
    let rows = value
        .as_array()
        .ok_or_else(|| bad(format!("{path} must hold a JSON array of films")))?;
    let mut conn = AsyncPgConnection::establish(settings.database_url()?).await?;
    println!("importing {} rows from {path}", rows.len());
    let summary = import(&mut conn, rows, true).await?;
    for (row, reason) in &summary.rejected {
        println!("  row {row}: {reason}");
    }
    println!(
        "rows: {}, imported: {}, already present: {}, rejected: {}",
        summary.rows,
        summary.imported,
        summary.already_present,
        summary.rejected.len()
    );
    for (reason, n) in &summary.by_reason {
        println!("  {reason}: {n}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default()
    }

    #[test]
    fn every_known_problem_is_reported() {
        let mut seen = HashMap::new();
        let rows = [
            json!({"Title": "The Land Girls", "Release Date": "Jun 12 1998", "Major Genre": "Drama", "Director": "David Leland", "Running Time min": 111}),
            json!({"Title": null, "Release Date": "Jun 12 1998"}),
            json!({"Title": 1776, "Release Date": "Jun 12 1998"}),
            json!({"Title": "Late", "Release Date": "Jan 01 2043"}),
            json!({"Title": "the land girls", "Release Date": "Dec 01 1998"}),
            json!({"Title": "The Land Girls", "Release Date": "Jun 12 2010"}),
            json!({"Title": "Odd date", "Release Date": "sometime"}),
            json!("nope"),
            json!({"Title": "No date"}),
        ];
        let results: Vec<_> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| check_row(i + 1, r, today(), &mut seen))
            .collect();
        let first = results[0].as_ref().map(|c| {
            (
                c.film.slug.clone(),
                c.film.runtime_minutes,
                c.director.clone(),
            )
        });
        assert_eq!(
            first.ok(),
            Some((
                "the-land-girls-1998".to_owned(),
                Some(111),
                Some("David Leland".to_owned())
            ))
        );
        assert_eq!(results[1].as_ref().err(), Some(&Rejection::NoTitle));
        assert_eq!(
            results[2].as_ref().err(),
            Some(&Rejection::NumericTitle("1776".to_owned()))
        );
        assert!(matches!(results[3], Err(Rejection::FutureRelease(_))));
        assert_eq!(
            results[4].as_ref().err(),
            Some(&Rejection::Duplicate { first_row: 1 })
        );
        assert!(
            results[5].is_ok(),
            "a remake in another year is another film"
        );
        assert!(matches!(results[6], Err(Rejection::UnreadableDate(_))));
        assert_eq!(results[7].as_ref().err(), Some(&Rejection::NotAnObject));
        assert_eq!(
            results[8].as_ref().map(|c| c.film.slug.clone()).ok(),
            Some("no-date".to_owned())
        );
    }
}
