//! Data portability: the rules of bringing a member's history in from a Letterboxd export (or a
//! Filmlog export) and of taking it out, independent of files and storage.
//!
//! - [`classify`] names what a file of an export ZIP holds (and refuses unsafe names);
//! - the `parse_*` functions turn one cell into a value or a problem a member can act on;
//! - [`review_text`] turns Letterboxd's review HTML into Filmlog's plain review text;
//! - [`title_key`] and [`best_match`] match a film of the export to the catalog.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::log::{Rating, Tag, WatchedOn};

/// An upload's limits: a ZIP larger than this is refused before it is read.
pub const MAX_ARCHIVE_BYTES: u64 = 50 * 1024 * 1024;
/// What all files of an archive may decompress to together (a ZIP bomb stops here).
pub const MAX_UNCOMPRESSED_BYTES: u64 = 1024 * 1024 * 1024;
/// The largest compression ratio accepted for one file (text compresses about 5–20×).
pub const MAX_RATIO: u64 = 200;
/// Files in an archive.
pub const MAX_FILES: usize = 5_000;
/// Rows of one file.
pub const MAX_ROWS_PER_FILE: u64 = 1_000_000;
/// Whether `head` (an upload's first bytes) starts a ZIP archive: a local file header, or the end
/// record of an empty archive.
pub fn looks_like_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")
}

/// The longest cell read from a CSV file: room for the longest review Filmlog takes (100,000
/// characters) with its markup. A row with a longer cell is a problem row, never converted.
pub const MAX_CELL_BYTES: usize = 1024 * 1024;

/// What a file of an export holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceFile {
    Diary,
    Reviews,
    Ratings,
    Watched,
    Watchlist,
    LikedFilms,
    /// `lists/<name>.csv`.
    List(String),
    Profile,
    /// Files Filmlog reads but has nothing to import from (comments on others' things, liked reviews and
    /// lists of the Letterboxd site): reported, not imported.
    NotImported(&'static str),
    /// In `deleted/` or `orphaned/`: what the member removed; reported, not imported.
    Removed,
    /// A Filmlog export's `filmlog.json`.
    FilmlogJson,
    /// Anything else (a Filmlog export's Letterboxd-format CSVs beside its `filmlog.json`, a
    /// `README`): ignored.
    Other,
}

/// Why an archive member's name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameProblem {
    #[error("an absolute path, a drive letter or `..` in a file name (path traversal)")]
    Traversal,
    #[error("a control character in a file name")]
    ControlCharacter,
}

/// Checks an archive member's name and names what it holds. A top folder (as Letterboxd's own ZIP
/// has, `letterboxd-name-2024-01-01-12-00-utc/`) is optional.
pub fn classify(name: &str) -> Result<SourceFile, NameProblem> {
    if name.chars().any(char::is_control) {
        return Err(NameProblem::ControlCharacter);
    }
    let name = name.replace('\\', "/");
    let parts: Vec<&str> = name.split('/').collect();
    let drive = name.len() >= 2 && name.as_bytes()[1] == b':';
    if name.starts_with('/') || drive || parts.iter().any(|p| *p == ".." || *p == ".") {
        return Err(NameProblem::Traversal);
    }
    let parts: Vec<&str> = parts.into_iter().filter(|p| !p.is_empty()).collect();
    let lower: Vec<String> = parts.iter().map(|p| p.to_lowercase()).collect();
    if lower.iter().any(|p| p == "deleted" || p == "orphaned") {
        return Ok(SourceFile::Removed);
    }
    // The path inside the export: without a top folder when there is one.
    let inner: &[String] = match lower.first() {
        Some(first) if lower.len() > 1 && first != "lists" && first != "likes" => &lower[1..],
        _ => &lower[..],
    };
    let file = match inner {
        [f] => match f.as_str() {
            "diary.csv" => SourceFile::Diary,
            "reviews.csv" => SourceFile::Reviews,
            "ratings.csv" => SourceFile::Ratings,
            "watched.csv" => SourceFile::Watched,
            "watchlist.csv" => SourceFile::Watchlist,
            "profile.csv" => SourceFile::Profile,
            "comments.csv" => SourceFile::NotImported("comments on Letterboxd"),
            "filmlog.json" => SourceFile::FilmlogJson,
            _ => SourceFile::Other,
        },
        [dir, f] if dir == "likes" => match f.as_str() {
            "films.csv" => SourceFile::LikedFilms,
            "reviews.csv" => SourceFile::NotImported("liked reviews on Letterboxd"),
            "lists.csv" => SourceFile::NotImported("liked lists on Letterboxd"),
            _ => SourceFile::Other,
        },
        [dir, f] if dir == "lists" && f.ends_with(".csv") => {
            let original = parts[parts.len() - 1];
            SourceFile::List(original[..original.len() - 4].to_owned())
        }
        _ => SourceFile::Other,
    };
    Ok(file)
}

/// Why one row (or one cell) cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    #[error("column {0:?} is missing")]
    MissingColumn(&'static str),
    #[error("{column}: {value:?} is not a date (YYYY-MM-DD)")]
    Date { column: &'static str, value: String },
    #[error("{column}: {date} is in the future")]
    FutureDate {
        column: &'static str,
        date: NaiveDate,
    },
    #[error("{column}: {date} is before 1870")]
    EarlyDate {
        column: &'static str,
        date: NaiveDate,
    },
    #[error("rating {0:?} is not 0.5–5 in half stars")]
    Rating(String),
    #[error("no rating (Letterboxd writes 0 or nothing for a film not rated)")]
    NoRating,
    #[error("year {0:?} is not a year")]
    Year(String),
    #[error("the film has no name")]
    NoName,
    #[error("{0}")]
    Text(String),
}

/// A rating cell: empty or `0` is no rating (Letterboxd writes both), `0.5`–`5` in half stars.
pub fn parse_rating(raw: &str) -> Result<Option<Rating>, RowProblem> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let stars: f64 = raw
        .parse()
        .map_err(|_| RowProblem::Rating(raw.to_owned()))?;
    if stars == 0.0 {
        return Ok(None);
    }
    Rating::from_stars(stars)
        .map(Some)
        .map_err(|_| RowProblem::Rating(raw.to_owned()))
}

/// A date cell (`YYYY-MM-DD`); empty is none. A diary date may not be after `today` nor before 1870.
pub fn parse_date(
    raw: &str,
    column: &'static str,
    today: NaiveDate,
) -> Result<Option<NaiveDate>, RowProblem> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| RowProblem::Date {
        column,
        value: raw.to_owned(),
    })?;
    WatchedOn::parse(date, today).map_err(|e| match e {
        crate::log::WatchedOnError::InFuture => RowProblem::FutureDate { column, date },
        crate::log::WatchedOnError::TooEarly => RowProblem::EarlyDate { column, date },
    })?;
    Ok(Some(date))
}

/// A year cell; empty is none.
pub fn parse_year(raw: &str) -> Result<Option<i32>, RowProblem> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<i32>()
        .ok()
        .filter(|y| crate::film::valid_year(*y))
        .map(Some)
        .ok_or_else(|| RowProblem::Year(raw.to_owned()))
}

/// `Yes` (any case) is a rewatch; anything else is not.
pub fn parse_yes(raw: &str) -> bool {
    matches!(raw.trim().to_lowercase().as_str(), "yes" | "true" | "1")
}

/// Letterboxd's tag cell (`"sci-fi, Cannes 2019, #fave"`) as Filmlog tags: each lowercased, with what
/// a Filmlog tag cannot hold turned into spaces; tags that are still not tags, and any past the
/// twentieth, are returned apart so the job can say so.
pub fn parse_tags(raw: &str) -> (Vec<String>, Vec<String>) {
    let mut tags: Vec<String> = Vec::new();
    let mut dropped = Vec::new();
    for part in raw.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let folded: String = part
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' {
                    c
                } else {
                    ' '
                }
            })
            .collect();
        let folded = folded.split_whitespace().collect::<Vec<_>>().join(" ");
        match Tag::parse(&folded) {
            Ok(tag) if tags.len() < Tag::MAX_PER_ENTRY => {
                if !tags.iter().any(|t| t == tag.as_str()) {
                    tags.push(tag.into_inner());
                }
            }
            _ => dropped.push(part.to_owned()),
        }
    }
    (tags, dropped)
}

/// Words dropped from the front of a title when matching ("The Matrix" matches "Matrix").
const ARTICLES: &[&str] = &[
    "the", "a", "an", "le", "la", "les", "l", "el", "los", "las", "il", "lo", "gli", "der", "die",
    "das",
];

/// A title folded for matching: Unicode compatibility-decomposed, accents and case dropped, `&` read
/// as "and", punctuation as spaces, a leading article dropped. "(500) Days of Summer" and "500 Days
/// of Summer", "Amélie" and "Amelie", "Red, White & Royal Blue" and "Red White and Royal Blue" fold
/// alike.
pub fn title_key(title: &str) -> String {
    let folded: String = title
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c == '&' { '\u{1}' } else { c })
        .map(|c| {
            if c.is_alphanumeric() || c == '\u{1}' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let mut words: Vec<&str> = folded
        .split_whitespace()
        .map(|w| if w == "\u{1}" { "and" } else { w })
        .collect();
    // "Matrix, The": a trailing article moved to the front by some catalogues.
    if words.len() > 1 && words.last().is_some_and(|w| ARTICLES.contains(w)) {
        words.pop();
    }
    if words.len() > 1 && ARTICLES.contains(&words[0]) {
        words.remove(0);
    }
    words.join(" ").replace('\u{1}', "and")
}

/// The title a Wikipedia page name gives a film: underscores as spaces, less the trailing
/// disambiguation ("Heat_(1995_film)" is "Heat", "Gone_with_the_Wind_(film)" "Gone with the Wind").
pub fn page_title(page: &str) -> String {
    let spaced = page.replace('_', " ");
    let trimmed = spaced.trim();
    match trimmed.rsplit_once(" (") {
        Some((title, tail))
            if tail.ends_with(')')
                && (tail.contains("film")
                    || tail.contains("movie")
                    || tail[..tail.len() - 1].parse::<u16>().is_ok())
                && !title.trim().is_empty() =>
        {
            title.trim().to_owned()
        }
        _ => trimmed.to_owned(),
    }
}

/// A catalog film that may be the one an export names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: crate::FilmId,
    pub year: Option<i32>,
    pub verified: bool,
}

/// How a film of an export was found in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    TmdbId,
    ImdbId,
    LetterboxdUri,
    Slug,
    /// Same folded title, same year.
    TitleYear,
    /// Same folded title, a year apart (release years differ between catalogues).
    TitleNearYear,
    /// Nothing matched: a new unverified catalog entry holds it.
    Created,
}

crate::names::named!("match", MatchedBy {
    TmdbId => "tmdb_id",
    ImdbId => "imdb_id",
    LetterboxdUri => "letterboxd_uri",
    Slug => "slug",
    TitleYear => "title_year",
    TitleNearYear => "title_near_year",
    Created => "created",
});

/// The best of `candidates` (films whose [`title_key`] equals the export's) for a film of `year`: the
/// same year before a year apart (further is not the same film), verified before unverified, then the
/// oldest entry. A title without a year matches only films without one, or exactly one film.
pub fn best_match(
    candidates: &[Candidate],
    year: Option<i32>,
) -> Option<(crate::FilmId, MatchedBy)> {
    let distance = |c: &Candidate| match (year, c.year) {
        (Some(a), Some(b)) => (a - b).abs(),
        (None, None) => 0,
        _ if candidates.len() == 1 => 1,
        _ => i32::MAX,
    };
    candidates
        .iter()
        .filter(|c| distance(c) <= 1)
        .min_by_key(|c| (distance(c), !c.verified, c.id))
        .map(|c| {
            let by = if distance(c) == 0 {
                MatchedBy::TitleYear
            } else {
                MatchedBy::TitleNearYear
            };
            (c.id, by)
        })
}

/// A cell as an exported CSV file carries it: one that a spreadsheet would run as a formula (it
/// starts with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, as OWASP's CSV
/// injection guidance says. Other cells are unchanged.
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Letterboxd's review HTML as Filmlog review text, in this documented plain form:
/// paragraphs (`<p>`, blank lines) are separated by one blank line; `<br>` is a line break;
/// `<blockquote>` lines start with `> `; `<i>`/`<em>` become `_text_` and `<b>`/`<strong>` `**text**`;
/// a link becomes `text (url)` (just `url` when the text is the url); `<script>` and `<style>` are
/// dropped with their content, every other tag is dropped and its text kept; character references
/// (`&amp;`, `&#8217;`, …) are decoded. Nothing of the result is markup a client would execute.
pub fn review_text(html: &str) -> String {
    let mut stack: Vec<(Open, String)> = vec![(Open::Root, String::new())];
    let src = html.replace("\r\n", "\n");
    // Everything before `at` has been read: each search starts there, so the whole pass is linear.
    let mut at = 0;
    let mut skip_until: Option<&'static str> = None;
    loop {
        let rest = &src[at..];
        // A tag starts with `<` and a letter, `/` or `!`; any other `<` is text.
        let starts_tag = |i: usize| {
            rest[i + 1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!')
        };
        let Some(lt) = rest
            .match_indices('<')
            .map(|(i, _)| i)
            .find(|i| starts_tag(*i))
        else {
            if skip_until.is_none() {
                push_text(&mut stack, rest);
            }
            break;
        };
        let Some(gt) = rest[lt..].find('>').map(|g| lt + g) else {
            if skip_until.is_none() {
                push_text(&mut stack, rest);
            }
            break;
        };
        if skip_until.is_none() {
            push_text(&mut stack, &rest[..lt]);
        }
        let tag = rest[lt + 1..gt].trim();
        at += gt + 1;
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if let Some(end) = skip_until {
            if closing && name == end {
                skip_until = None;
            }
            continue;
        }
        // Quotes and links nest at most MAX_NESTING deep; deeper ones keep their text only (each
        // level rewrites what it holds when it closes).
        let room = stack.len() <= MAX_NESTING;
        match (name.as_str(), closing) {
            ("script", false) => skip_until = Some("script"),
            ("style", false) => skip_until = Some("style"),
            ("br", _) => top(&mut stack).push('\n'),
            ("p", _) => top(&mut stack).push_str("\n\n"),
            ("i" | "em", _) => top(&mut stack).push('_'),
            ("b" | "strong", _) => top(&mut stack).push_str("**"),
            ("blockquote", false) if room => stack.push((Open::Quote, String::new())),
            ("a", false) if room => {
                stack.push((Open::Link(attribute(tag, "href")), String::new()));
            }
            ("blockquote", true) => close(&mut stack, |o| matches!(o, Open::Quote)),
            ("a", true) => close(&mut stack, |o| matches!(o, Open::Link(_))),
            _ => {}
        }
    }
    while stack.len() > 1 {
        close(&mut stack, |_| true);
    }
    let text = stack.pop().map(|(_, t)| t).unwrap_or_default();
    tidy(&text)
}

/// How deep quotes and links nest in [`review_text`].
const MAX_NESTING: usize = 8;

enum Open {
    Root,
    Quote,
    Link(Option<String>),
}

fn top(stack: &mut [(Open, String)]) -> &mut String {
    // The root is never popped, so the stack is never empty.
    &mut stack[stack.len() - 1].1
}

fn push_text(stack: &mut [(Open, String)], raw: &str) {
    let decoded = decode_entities(raw);
    top(stack).push_str(&decoded);
}

/// Closes the innermost open element `is` accepts (and any opened inside it), writing it into its
/// parent; a stray closing tag closes nothing.
fn close(stack: &mut Vec<(Open, String)>, is: impl Fn(&Open) -> bool) {
    let Some(at) = (1..stack.len()).rev().find(|i| is(&stack[*i].0)) else {
        return;
    };
    while stack.len() > at {
        let Some((open, inner)) = stack.pop() else {
            return;
        };
        let written = match open {
            Open::Root => inner,
            Open::Quote => {
                let body = tidy(&inner);
                let quoted: Vec<String> = body
                    .lines()
                    .map(|l| {
                        if l.is_empty() {
                            ">".to_owned()
                        } else {
                            format!("> {l}")
                        }
                    })
                    .collect();
                format!("\n\n{}\n\n", quoted.join("\n"))
            }
            Open::Link(href) => {
                let text = inner.trim().to_owned();
                match href {
                    Some(url) if !url.is_empty() && url != text && !text.is_empty() => {
                        format!("{text} ({url})")
                    }
                    Some(url) if text.is_empty() => url,
                    _ => text,
                }
            }
        };
        top(stack).push_str(&written);
    }
}

/// An attribute's value in a start tag (`href="…"` or `href='…'`), decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let at = lower.find(&format!("{name}="))? + name.len() + 1;
    let rest = &tag[at..];
    let value = match rest.chars().next()? {
        q @ ('"' | '\'') => rest[1..].split(q).next()?,
        _ => rest.split(char::is_whitespace).next()?,
    };
    Some(decode_entities(value))
}

/// Decodes named (`&amp;` `&lt;` `&gt;` `&quot;` `&apos;` `&nbsp;` and a few typographic ones) and
/// numeric character references; anything else is left as written.
pub fn decode_entities(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        // A reference is at most 10 bytes to its `;`: look no further (a search to the next `;`
        // from every `&` would be quadratic).
        let end = rest.as_bytes()[1..rest.len().min(11)]
            .iter()
            .position(|b| *b == b';')
            .map(|e| e + 1);
        let decoded = end.and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                "hellip" => Some('…'),
                "mdash" => Some('—'),
                "ndash" => Some('–'),
                "lsquo" => Some('‘'),
                "rsquo" => Some('’'),
                "ldquo" => Some('“'),
                "rdquo" => Some('”'),
                _ => {
                    let number = name.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code).filter(|c| !c.is_control() || *c == '\n')
                }
            }?;
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Trailing spaces off each line, at most one blank line in a row, no blank lines at either end.
fn tidy(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() && out.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        out.push(line);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

/// A film as an export names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilmRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    /// The film's Letterboxd URI (only where the export's URI names the film, not a viewing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub letterboxd_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmdb_id: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imdb_id: Option<String>,
    /// A Filmlog slug (Filmlog exports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
}

/// What one source row asks for. The item (without its film) is kept with the row's key after it
/// is applied: an identical item next time is `unchanged`, a different one an `update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    /// A diary row (with the review of the same viewing joined), or a review on its own.
    Entry {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        watched_on: Option<NaiveDate>,
        #[serde(default)]
        rewatch: bool,
        /// Half stars.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rating: Option<i16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        review: Option<String>,
        #[serde(default)]
        spoilers: bool,
        #[serde(default)]
        tags: Vec<String>,
        /// `public`, `followers` or `private` (Filmlog exports); the member's default when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        visibility: Option<String>,
    },
    /// The member's current rating of the film, in half stars.
    Rating {
        rating: i16,
    },
    Watched,
    Watchlist,
    Like,
    List {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(default)]
        ranked: bool,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        visibility: Option<String>,
    },
    /// A film of the list `list` (the list row's source key), 1-based.
    ListEntry {
        list: String,
        position: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notes: Option<String>,
        #[serde(default)]
        spoilers: bool,
    },
    Profile {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        display_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bio: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        website: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pronouns: Option<String>,
    },
}

impl Item {
    pub fn kind(&self) -> &'static str {
        match self {
            Item::Entry { .. } => "entry",
            Item::Rating { .. } => "rating",
            Item::Watched => "watched",
            Item::Watchlist => "watchlist",
            Item::Like => "like",
            Item::List { .. } => "list",
            Item::ListEntry { .. } => "list_entry",
            Item::Profile { .. } => "profile",
        }
    }

    pub fn needs_film(&self) -> bool {
        !matches!(self, Item::List { .. } | Item::Profile { .. })
    }
}

/// The order the kinds of [`Item::kind`] apply in: entries first (logging takes a film off the
/// watchlist, so the watchlist comes after, and a rating given apart from the entries is applied
/// over the one they derive), a list before its films.
pub const APPLY_ORDER: [&str; 8] = [
    "entry",
    "watched",
    "rating",
    "like",
    "watchlist",
    "list",
    "list_entry",
    "profile",
];

/// What applying a row does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Unchanged,
    Skip,
}

crate::names::named!("import action", Action {
    Create => "create",
    Update => "update",
    Unchanged => "unchanged",
    Skip => "skip",
});

/// Where an import or an export job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker holds it.
    Running,
    /// An import planned and waits for its member to confirm or cancel (imports only).
    NeedsReview,
    Done,
    Failed,
    /// Its member cancelled it (imports only).
    Cancelled,
}

crate::names::named!("job status", JobStatus {
    Queued => "queued",
    Running => "running",
    NeedsReview => "needs_review",
    Done => "done",
    Failed => "failed",
    Cancelled => "cancelled",
});

impl JobStatus {
    /// Whether it will change no more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Done | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

/// The step an import is at: staging the archive's rows, planning (matching films, deciding each
/// row), applying, or finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportPhase {
    Stage,
    Plan,
    Apply,
    Finished,
}

crate::names::named!("import phase", ImportPhase {
    Stage => "stage",
    Plan => "plan",
    Apply => "apply",
    Finished => "finished",
});

/// What to do with a row given what its key did last time (`previous`: the item then, and whether
/// what it made still exists) — the idempotence rule of re-imports.
pub fn decide(item: &Item, previous: Option<(&Item, bool)>) -> (Action, Option<&'static str>) {
    match previous {
        None => (Action::Create, None),
        Some((_, false)) => (
            Action::Skip,
            Some("imported before and deleted in Filmlog since; not brought back"),
        ),
        Some((before, true)) if before == item => (Action::Unchanged, None),
        Some(_) => (Action::Update, None),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_page_name_gives_the_title_without_its_disambiguation() {
        assert_eq!(super::page_title("Heat_(1995_film)"), "Heat");
        assert_eq!(
            super::page_title("Gone_with_the_Wind_(film)"),
            "Gone with the Wind"
        );
        assert_eq!(super::page_title("Titanic_(1953)"), "Titanic");
        assert_eq!(
            super::page_title("M*A*S*H_(TV_series)"),
            "M*A*S*H (TV series)"
        );
        assert_eq!(
            super::page_title("City_That_Never_Sleeps"),
            "City That Never Sleeps"
        );
    }

    use super::*;

    /// Security review L6: cells a spreadsheet would run as formulas are neutralised.
    #[test]
    fn exported_cells_never_start_a_formula() {
        for bad in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(spreadsheet_safe(bad), format!("'{bad}"));
        }
        for fine in ["Heat", "4.5", "", "2024-01-01", "a = b", "'quoted"] {
            assert_eq!(spreadsheet_safe(fine), fine);
        }
    }

    /// Security review H2: hostile review HTML costs time in proportion to its length (each of
    /// these took hours before the conversion was made linear).
    #[test]
    fn review_text_is_linear_in_hostile_input() {
        let hostile = [
            "<b>x".repeat(500_000),
            "&".repeat(2_000_000),
            "&#".repeat(1_000_000),
            "<blockquote>x".repeat(150_000),
            "<a href=x>y".repeat(150_000),
            "</blockquote>".repeat(150_000),
        ];
        for html in hostile {
            let started = std::time::Instant::now();
            let text = review_text(&html);
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "{} bytes of {:?}… took {:?}",
                html.len(),
                &html[..12],
                started.elapsed()
            );
            assert!(text.len() <= 2 * html.len() + 64);
        }
        // Quotes nest as deep as MAX_NESTING; deeper ones keep their text.
        let deep = format!(
            "{}x{}",
            "<blockquote>".repeat(20),
            "</blockquote>".repeat(20)
        );
        let quoted = review_text(&deep);
        assert_eq!(
            quoted.trim(),
            format!(
                "{} x",
                ">".repeat(MAX_NESTING).replace('>', "> ").trim_end()
            )
        );
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default()
    }

    #[test]
    fn names_files_with_or_without_a_top_folder() {
        assert_eq!(classify("diary.csv"), Ok(SourceFile::Diary));
        assert_eq!(
            classify("letterboxd-ana-2026-11-30-10-00-utc/diary.csv"),
            Ok(SourceFile::Diary)
        );
        assert_eq!(classify("likes/films.csv"), Ok(SourceFile::LikedFilms));
        assert_eq!(classify("top/likes/films.csv"), Ok(SourceFile::LikedFilms));
        assert_eq!(
            classify("lists/Best of 2019.csv"),
            Ok(SourceFile::List("Best of 2019".into()))
        );
        assert_eq!(classify("x/deleted/diary.csv"), Ok(SourceFile::Removed));
        assert_eq!(classify("orphaned/reviews.csv"), Ok(SourceFile::Removed));
        assert_eq!(classify("../etc/passwd"), Err(NameProblem::Traversal));
        assert_eq!(classify("/etc/passwd"), Err(NameProblem::Traversal));
        assert_eq!(classify("C:\\x\\diary.csv"), Err(NameProblem::Traversal));
        assert_eq!(classify("a/../../diary.csv"), Err(NameProblem::Traversal));
        assert_eq!(classify("a\u{0}b"), Err(NameProblem::ControlCharacter));
    }

    #[test]
    fn ratings_dates_and_years() {
        assert_eq!(parse_rating(""), Ok(None));
        assert_eq!(parse_rating("0"), Ok(None));
        assert_eq!(
            parse_rating("3.5").map(|r| r.map(Rating::halves)),
            Ok(Some(7))
        );
        assert!(parse_rating("5.5").is_err());
        assert!(parse_rating("3.3").is_err());
        assert!(parse_rating("great").is_err());
        assert_eq!(
            parse_date("2024-02-29", "Watched Date", today()),
            Ok(NaiveDate::from_ymd_opt(2024, 2, 29))
        );
        assert!(matches!(
            parse_date("2099-01-01", "Watched Date", today()),
            Err(RowProblem::FutureDate { .. })
        ));
        assert!(matches!(
            parse_date("1200-01-01", "Watched Date", today()),
            Err(RowProblem::EarlyDate { .. })
        ));
        assert!(parse_date("31/12/2020", "Date", today()).is_err());
        assert_eq!(parse_year("1999"), Ok(Some(1999)));
        assert!(parse_year("MCMXCIX").is_err());
    }

    #[test]
    fn tags_fold_into_filmlog_tags() {
        let (tags, dropped) = parse_tags("Sci-Fi, Cannes 2019, #fave, sci-fi, ★");
        assert_eq!(tags, vec!["sci-fi", "cannes 2019", "fave"]);
        assert_eq!(dropped, vec!["★"]);
    }

    #[test]
    fn titles_fold_for_matching() {
        assert_eq!(
            title_key("(500) Days of Summer"),
            title_key("500 Days of Summer")
        );
        assert_eq!(title_key("Amélie"), "amelie");
        assert_eq!(title_key("The Matrix"), "matrix");
        assert_eq!(title_key("Matrix, The"), "matrix");
        assert_eq!(
            title_key("Red, White & Royal Blue"),
            "red white and royal blue"
        );
        assert_eq!(title_key("2:37"), "2 37");
        assert_eq!(title_key("The"), "the");
        assert_eq!(title_key("千と千尋の神隠し"), "千と千尋の神隠し");
        assert_eq!(title_key("ＡＫＩＲＡ"), "akira");
    }

    #[test]
    fn the_same_year_beats_a_year_apart_and_verified_beats_unverified() {
        let c = |id, year, verified| Candidate {
            id: crate::FilmId::new(id),
            year: Some(year),
            verified,
        };
        let films = [c(1, 2000, true), c(2, 2001, true), c(3, 2001, false)];
        assert_eq!(
            best_match(&films, Some(2001)),
            Some((crate::FilmId::new(2), MatchedBy::TitleYear))
        );
        assert_eq!(
            best_match(&films, Some(1999)),
            Some((crate::FilmId::new(1), MatchedBy::TitleNearYear))
        );
        assert_eq!(best_match(&films, Some(2005)), None);
        let unverified_first = [c(3, 2001, false), c(4, 2001, true)];
        assert_eq!(
            best_match(&unverified_first, Some(2001)),
            Some((crate::FilmId::new(4), MatchedBy::TitleYear))
        );
        assert_eq!(best_match(&films, None), None);
        assert_eq!(
            best_match(&[c(9, 1990, true)], None),
            Some((crate::FilmId::new(9), MatchedBy::TitleNearYear))
        );
    }

    #[test]
    fn review_html_becomes_plain_text() {
        let html = "First <i>line</i> &amp; <b>bold</b>.<br />Second line.\n\n\
                    <blockquote>Quoted <em>words</em><br>over two lines</blockquote>\
                    See <a href=\"https://example.com/x?a=1&amp;b=2\">this</a> and \
                    <a href=\"https://e.org\">https://e.org</a>.<script>alert(1)</script>\
                    <p>Last &#8217;para&#x2019; &lt;tag&gt;</p>";
        assert_eq!(
            review_text(html),
            "First _line_ & **bold**.\nSecond line.\n\n\
             > Quoted _words_\n> over two lines\n\n\
             See this (https://example.com/x?a=1&b=2) and https://e.org.\n\n\
             Last \u{2019}para\u{2019} <tag>"
        );
        assert_eq!(review_text("a < b and c > d"), "a < b and c > d");
        assert_eq!(review_text("<blockquote>unclosed"), "> unclosed");
        assert_eq!(review_text("stray </a> close"), "stray  close");
        assert_eq!(decode_entities("&bogus; &#0; &"), "&bogus; &#0; &");
    }

    #[test]
    fn every_kind_has_its_place_in_the_apply_order() {
        let items = [
            Item::Entry {
                watched_on: None,
                rewatch: false,
                rating: None,
                review: None,
                spoilers: false,
                tags: Vec::new(),
                visibility: None,
            },
            Item::Rating { rating: 1 },
            Item::Watched,
            Item::Watchlist,
            Item::Like,
            Item::List {
                name: String::new(),
                description: None,
                ranked: false,
                tags: Vec::new(),
                visibility: None,
            },
            Item::ListEntry {
                list: String::new(),
                position: 1,
                notes: None,
                spoilers: false,
            },
            Item::Profile {
                display_name: None,
                bio: None,
                location: None,
                website: None,
                pronouns: None,
            },
        ];
        let place = |k: &str| APPLY_ORDER.iter().position(|o| *o == k);
        for item in &items {
            assert!(place(item.kind()).is_some(), "{}", item.kind());
        }
        assert!(place("entry") < place("watchlist"));
        assert!(place("list") < place("list_entry"));
    }

    #[test]
    fn re_imports_change_only_what_changed() {
        let a = Item::Rating { rating: 7 };
        let b = Item::Rating { rating: 8 };
        assert_eq!(decide(&a, None).0, Action::Create);
        assert_eq!(decide(&a, Some((&a, true))).0, Action::Unchanged);
        assert_eq!(decide(&b, Some((&a, true))).0, Action::Update);
        assert_eq!(decide(&a, Some((&a, false))).0, Action::Skip);
    }
}
