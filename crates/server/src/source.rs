//! A catalog dataset's rows as the importer reads them, whichever dataset they come from: the
//! film a row gives, or why it gives none.

use chrono::NaiveDate;
use filmlog_domain::CreditRole;

/// The vega-datasets catalog's attribution, as films record it.
pub const VEGA: &str = "vega-datasets";
/// The Wikipedia dataset's.
pub const WIKIPEDIA: &str = "wikipedia";

/// Why a row was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    NotAnObject,
    NoTitle,
    NumericTitle(String),
    BadTitle(String),
    UnreadableDate(String),
    FutureRelease(NaiveDate),
    BadYear(String),
    BadPage(String),
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
            Rejection::BadYear(y) => write!(f, "year {y} is missing, impossible or in the future"),
            Rejection::BadPage(p) => write!(f, "malformed Wikipedia page name {p:?}"),
            Rejection::Duplicate { first_row } => {
                write!(f, "duplicate of row {first_row} (same film)")
            }
        }
    }
}

impl Rejection {
    pub fn category(&self) -> &'static str {
        match self {
            Rejection::NotAnObject => "not an object",
            Rejection::NoTitle => "no title",
            Rejection::NumericTitle(_) => "numeric title",
            Rejection::BadTitle(_) => "invalid title",
            Rejection::UnreadableDate(_) => "unreadable release date",
            Rejection::FutureRelease(_) => "release date in the future",
            Rejection::BadYear(_) => "bad year",
            Rejection::BadPage(_) => "malformed Wikipedia page",
            Rejection::Duplicate { .. } => "duplicate",
        }
    }
}

/// A credit as a dataset gives it: by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCredit {
    pub name: String,
    pub role: CreditRole,
    pub billing_order: i32,
}

/// A film as one dataset's row gives it, checked.
#[derive(Debug, Clone)]
pub struct SourceFilm {
    pub source: &'static str,
    /// 1-based, in its file.
    pub row: usize,
    pub title: String,
    pub year: Option<i32>,
    pub release_date: Option<NaiveDate>,
    pub runtime_minutes: Option<i32>,
    pub synopsis: Option<String>,
    pub genres: Vec<String>,
    pub wikipedia_page: Option<String>,
    pub credits: Vec<SourceCredit>,
}
