//! `filmlog import-films FILE…`: loads catalog datasets, in the format of vega-datasets'
//! movies.json or of the Wikipedia film dataset (`title`, `year`, `cast`, `href`; gzip or not), in
//! one transaction.
//!
//! Good rows are imported; every bad row is reported with its reason (no title, numeric title,
//! unreadable or future release date, duplicate title + year, ...). The same film in two datasets
//! (same title and year, one on each side) becomes one film that keeps both sources; where a title
//! and year name several films on one side the importer cannot tell which, says so, and keeps them
//! apart. A film the catalog already has (by Wikipedia page, then by slug) only gains what it lacks
//! from a source it did not have (credits only in a role it has none in, so an admin's edits
//! stay), so a second run changes nothing.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use chrono::{Datelike, NaiveDate};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use filmlog_domain::{CreditRole, Slug, Title, label, latest_today};
use filmlog_persistence::catalog::NewFilm;
use filmlog_persistence::catalog_import::{self, Enrichment, ExistingFilm, LoadCredit, LoadFilm};
use serde_json::Value;

use crate::wikipedia::{self, CastRepairs};
use crate::{BoxError, Settings};

pub use crate::source::{Rejection, SourceCredit, SourceFilm, VEGA, WIKIPEDIA};

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

impl Candidate {
    fn into_source(self, row: usize) -> SourceFilm {
        SourceFilm {
            source: VEGA,
            row,
            title: self.film.title,
            year: self.film.year,
            release_date: self.film.release_date,
            runtime_minutes: self.film.runtime_minutes,
            synopsis: None,
            genres: self.film.genres,
            wikipedia_page: None,
            credits: self
                .director
                .into_iter()
                .map(|name| SourceCredit {
                    name,
                    role: CreditRole::Director,
                    billing_order: 0,
                })
                .collect(),
        }
    }
}

/// One film as every dataset that has it says: the first source's title, the others' titles as
/// alternatives, each field from the first source that has it, genres joined, each role's credits
/// from the first source that has any in that role.
#[derive(Debug, Clone)]
struct Incoming {
    title: String,
    alternative_titles: Vec<String>,
    year: Option<i32>,
    release_date: Option<NaiveDate>,
    runtime_minutes: Option<i32>,
    synopsis: Option<String>,
    genres: Vec<String>,
    wikipedia_page: Option<String>,
    sources: Vec<&'static str>,
    /// With the source each came from.
    credits: Vec<(&'static str, SourceCredit)>,
}

impl Incoming {
    fn new(f: SourceFilm) -> Self {
        let source = f.source;
        Incoming {
            title: f.title,
            alternative_titles: Vec::new(),
            year: f.year,
            release_date: f.release_date,
            runtime_minutes: f.runtime_minutes,
            synopsis: f.synopsis,
            genres: f.genres,
            wikipedia_page: f.wikipedia_page,
            sources: vec![source],
            credits: f.credits.into_iter().map(|c| (source, c)).collect(),
        }
    }

    /// Takes in what `other` (the same film, from another row or dataset) adds.
    fn absorb(&mut self, other: Incoming) {
        for title in std::iter::once(other.title).chain(other.alternative_titles) {
            if title != self.title && !self.alternative_titles.contains(&title) {
                self.alternative_titles.push(title);
            }
        }
        self.release_date = self.release_date.or(other.release_date);
        self.runtime_minutes = self.runtime_minutes.or(other.runtime_minutes);
        self.synopsis = self.synopsis.take().or(other.synopsis);
        self.wikipedia_page = self.wikipedia_page.take().or(other.wikipedia_page);
        for genre in other.genres {
            if !self.genres.contains(&genre) {
                self.genres.push(genre);
            }
        }
        for source in other.sources {
            if !self.sources.contains(&source) {
                self.sources.push(source);
            }
        }
        let had: HashSet<CreditRole> = self.credits.iter().map(|(_, c)| c.role).collect();
        self.credits.extend(
            other
                .credits
                .into_iter()
                .filter(|(_, c)| !had.contains(&c.role)),
        );
    }

    fn slug(&self) -> Option<String> {
        Slug::from_title(&self.title, self.year).map(Slug::into_inner)
    }
}

/// The key two datasets' rows are the same film by: the title folded as a slug is, and the year.
fn same_film_key(f: &SourceFilm) -> Option<(String, Option<i32>)> {
    Slug::from_title(&f.title, None).map(|s| (s.into_inner(), f.year))
}

/// Joins rows of different datasets that are the same film (one row on each side of a title and
/// year). Where one side has several rows for a title and year, the other side's row could be any
/// of them: it is left out and reported as undecided (the several, told apart by their pages, are
/// imported), so that it can never be joined to the wrong one, now or on a later run.
fn merge_datasets(films: Vec<SourceFilm>, undecided: &mut Vec<String>) -> Vec<Incoming> {
    let mut by_key: HashMap<(String, Option<i32>), Vec<usize>> = HashMap::new();
    for (i, f) in films.iter().enumerate() {
        if let Some(key) = same_film_key(f) {
            by_key.entry(key).or_default().push(i);
        }
    }
    // For each row, the row it joins (the first of its key's group), when the key has exactly
    // one row per dataset.
    let mut joins: HashMap<usize, usize> = HashMap::new();
    let mut left_out: HashSet<usize> = HashSet::new();
    let mut keys: Vec<_> = by_key.into_iter().collect();
    keys.sort_by_key(|(_, rows)| rows[0]);
    for ((_, year), rows) in keys {
        let sources: HashSet<&str> = rows.iter().map(|&i| films[i].source).collect();
        if sources.len() < 2 {
            continue;
        }
        if sources.len() == rows.len() {
            for &i in &rows[1..] {
                joins.insert(i, rows[0]);
            }
        } else {
            let first = &films[rows[0]];
            let year = year.map_or_else(|| "no year".to_owned(), |y| y.to_string());
            let per_source: Vec<String> = sources
                .iter()
                .map(|s| {
                    format!(
                        "{} in {s}",
                        rows.iter().filter(|&&i| films[i].source == *s).count()
                    )
                })
                .collect();
            undecided.push(format!(
                "{:?} ({year}): {} films; the one of a source with a single row is not imported",
                first.title,
                per_source.join(", ")
            ));
            for s in &sources {
                let of_source: Vec<usize> = rows
                    .iter()
                    .copied()
                    .filter(|&i| films[i].source == *s)
                    .collect();
                if of_source.len() == 1 {
                    left_out.extend(of_source);
                }
            }
        }
    }
    let mut incoming: Vec<Option<Incoming>> = Vec::with_capacity(films.len());
    let mut slot_of: HashMap<usize, usize> = HashMap::new();
    for (i, f) in films.into_iter().enumerate() {
        if left_out.contains(&i) {
            continue;
        }
        match joins.get(&i).and_then(|first| slot_of.get(first)) {
            Some(&slot) => {
                if let Some(Some(into)) = incoming.get_mut(slot) {
                    into.absorb(Incoming::new(f));
                }
            }
            None => {
                slot_of.insert(i, incoming.len());
                incoming.push(Some(Incoming::new(f)));
            }
        }
    }
    incoming.into_iter().flatten().collect()
}

/// Where an incoming film goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Existing(usize),
    New(usize),
}

/// What the load writes, decided against the catalog's films.
#[derive(Debug, Default)]
struct Plan {
    new: Vec<Incoming>,
    new_slugs: Vec<String>,
    /// Existing films that gain a source, with what it brings (and the sources it brings).
    enrich: Vec<(usize, Incoming)>,
    already_present: usize,
    /// Rows that were the same film as an earlier row of this import (same slug or page).
    joined: usize,
}

fn plan(incoming: Vec<Incoming>, existing: &[ExistingFilm], unsluggable: &mut usize) -> Plan {
    let mut by_page: HashMap<String, Target> = HashMap::new();
    let mut by_slug: HashMap<String, Target> = HashMap::new();
    for (i, e) in existing.iter().enumerate() {
        by_slug.insert(e.slug.clone(), Target::Existing(i));
        if let Some(page) = &e.wikipedia_page {
            by_page.insert(page.clone(), Target::Existing(i));
        }
    }
    let page_of = |t: Target, plan: &Plan| match t {
        Target::Existing(i) => existing[i].wikipedia_page.clone(),
        Target::New(j) => plan.new[j].wikipedia_page.clone(),
    };
    let mut plan = Plan::default();
    let mut enrich_slot: HashMap<usize, usize> = HashMap::new();
    for film in incoming {
        let Some(base) = film.slug() else {
            *unsluggable += 1;
            continue;
        };
        let compatible = |t: Target, plan: &Plan| {
            film.wikipedia_page.is_none()
                || page_of(t, plan).is_none()
                || page_of(t, plan) == film.wikipedia_page
        };
        let by_page_target = film
            .wikipedia_page
            .as_ref()
            .and_then(|p| by_page.get(p))
            .copied();
        let target = by_page_target.or_else(|| {
            by_slug
                .get(&base)
                .copied()
                .filter(|&t| compatible(t, &plan))
        });
        match target {
            Some(Target::Existing(i)) => {
                let known: Vec<&str> = existing[i]
                    .sources
                    .iter()
                    .flatten()
                    .map(String::as_str)
                    .collect();
                if film.sources.iter().all(|s| known.contains(s)) {
                    plan.already_present += 1;
                    continue;
                }
                if let Some(page) = &film.wikipedia_page {
                    by_page.insert(page.clone(), Target::Existing(i));
                }
                match enrich_slot.get(&i) {
                    Some(&slot) => {
                        plan.joined += 1;
                        plan.enrich[slot].1.absorb(film);
                    }
                    None => {
                        enrich_slot.insert(i, plan.enrich.len());
                        plan.enrich.push((i, film));
                    }
                }
            }
            Some(Target::New(j)) => {
                plan.joined += 1;
                if let Some(page) = &film.wikipedia_page {
                    by_page.insert(page.clone(), Target::New(j));
                }
                plan.new[j].absorb(film);
            }
            None => {
                let slug = (1..)
                    .map(|n: usize| {
                        if n == 1 {
                            base.clone()
                        } else {
                            format!("{base}-{n}")
                        }
                    })
                    .find(|s| !by_slug.contains_key(s) && Slug::parse(s).is_ok())
                    .unwrap_or_default();
                let j = plan.new.len();
                by_slug.insert(slug.clone(), Target::New(j));
                if let Some(page) = &film.wikipedia_page {
                    by_page.insert(page.clone(), Target::New(j));
                }
                plan.new_slugs.push(slug);
                plan.new.push(film);
            }
        }
    }
    plan
}

/// Person ids by name (the oldest person of a name), minting people for names the catalog lacks
/// with slugs no one has.
struct People {
    by_name: HashMap<String, i64>,
    taken: HashSet<String>,
}

impl People {
    fn new(existing: Vec<(i64, String, String)>) -> Self {
        let mut by_name = HashMap::new();
        let mut taken = HashSet::new();
        for (id, name, slug) in existing {
            by_name.entry(name).or_insert(id);
            taken.insert(slug);
        }
        People { by_name, taken }
    }

    /// Slugs for the names not known yet, each new name once, in first-seen order.
    fn new_names<'a>(&mut self, names: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for name in names {
            if self.by_name.contains_key(name) || !seen.insert(name) {
                continue;
            }
            let base =
                Slug::from_title(name, None).map_or_else(|| "person".to_owned(), Slug::into_inner);
            let slug = (1..)
                .map(|n: usize| {
                    if n == 1 {
                        base.clone()
                    } else {
                        format!("{base}-{n}")
                    }
                })
                .find(|s| !self.taken.contains(s))
                .unwrap_or_default();
            self.taken.insert(slug.clone());
            out.push((name.to_owned(), slug));
        }
        out
    }
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub rows: usize,
    pub imported: usize,
    pub already_present: usize,
    /// Films the catalog had that a new source added to.
    pub enriched: usize,
    /// Rows that joined a film of another dataset or an earlier row of this import.
    pub merged: usize,
    pub people_added: usize,
    pub credits_added: usize,
    pub cast_repairs: (usize, usize),
    pub rejected: Vec<(usize, String)>,
    pub by_reason: Vec<(String, usize)>,
    /// Titles and years the importer could not decide between, kept apart.
    pub undecided: Vec<String>,
}

/// A dataset: its rows, and which format they are in.
#[derive(Debug, Clone, Copy)]
pub enum Dataset<'a> {
    Vega(&'a [Value]),
    Wikipedia(&'a [Value]),
}

impl<'a> Dataset<'a> {
    /// The format rows are in: the Wikipedia dataset's rows have `title` and `year`.
    pub fn detect(rows: &'a [Value]) -> Self {
        let wikipedia = rows
            .iter()
            .take(20)
            .any(|r| r.get("title").is_some() && r.get("year").is_some());
        if wikipedia {
            Dataset::Wikipedia(rows)
        } else {
            Dataset::Vega(rows)
        }
    }

    fn rows(self) -> &'a [Value] {
        match self {
            Dataset::Vega(rows) | Dataset::Wikipedia(rows) => rows,
        }
    }
}

/// Imports a vega-datasets catalog into the database at `conn`, in one transaction.
pub async fn import(
    conn: &mut AsyncPgConnection,
    rows: &[Value],
    show_progress: bool,
) -> Result<Summary, BoxError> {
    load(conn, &[Dataset::Vega(rows)], show_progress).await
}

/// Checks every dataset's rows, joins the same film across them, and loads the result in one
/// transaction.
pub async fn load(
    conn: &mut AsyncPgConnection,
    datasets: &[Dataset<'_>],
    show_progress: bool,
) -> Result<Summary, BoxError> {
    let today = latest_today();
    let mut summary = Summary::default();
    let mut reasons: Vec<(String, usize)> = Vec::new();
    let mut films = Vec::new();
    let mut repairs = CastRepairs::default();
    for dataset in datasets {
        summary.rows += dataset.rows().len();
        let mut vega_seen = HashMap::new();
        let mut pages_seen = HashMap::new();
        for (i, value) in dataset.rows().iter().enumerate() {
            let checked = match dataset {
                Dataset::Vega(_) => {
                    check_row(i + 1, value, today, &mut vega_seen).map(|c| c.into_source(i + 1))
                }
                Dataset::Wikipedia(_) => {
                    wikipedia::check_row(i + 1, value, today.year(), &mut pages_seen, &mut repairs)
                }
            };
            match checked {
                Ok(f) => films.push(f),
                Err(r) => {
                    match reasons.iter_mut().find(|(k, _)| k == r.category()) {
                        Some((_, n)) => *n += 1,
                        None => reasons.push((r.category().to_owned(), 1)),
                    }
                    summary.rejected.push((i + 1, r.to_string()));
                }
            }
        }
    }
    summary.cast_repairs = (repairs.dropped, repairs.rejoined);
    let rows_checked = films.len();
    let incoming = merge_datasets(films, &mut summary.undecided);
    summary.merged = rows_checked - incoming.len();
    let bar = show_progress.then(|| crate::progress_bar("catalog steps", 5));
    let step = || {
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    };
    let done = conn
        .transaction(async |conn| {
            let existing = catalog_import::existing_films(conn).await?;
            let mut unsluggable = 0;
            let plan = plan(incoming, &existing, &mut unsluggable);
            step();
            let new_rows: Vec<LoadFilm> = plan
                .new
                .iter()
                .zip(&plan.new_slugs)
                .map(|(f, slug)| LoadFilm {
                    slug: slug.clone(),
                    title: f.title.clone(),
                    year: f.year,
                    release_date: f.release_date,
                    runtime_minutes: f.runtime_minutes,
                    synopsis: f.synopsis.clone(),
                    genres: f.genres.clone(),
                    alternative_titles: f.alternative_titles.clone(),
                    wikipedia_page: f.wikipedia_page.clone(),
                    sources: f.sources.iter().map(|s| (*s).to_owned()).collect(),
                })
                .collect();
            let inserted = catalog_import::insert_films(conn, &new_rows).await?;
            step();
            let enrichments: Vec<Enrichment> = plan
                .enrich
                .iter()
                .map(|(i, f)| Enrichment {
                    id: existing[*i].id,
                    runtime_minutes: f.runtime_minutes,
                    synopsis: f.synopsis.clone(),
                    release_date: f.release_date,
                    genres: f.genres.clone(),
                    alternative_titles: std::iter::once(f.title.clone())
                        .chain(f.alternative_titles.iter().cloned())
                        .collect(),
                    wikipedia_page: f.wikipedia_page.clone(),
                    sources: f.sources.iter().map(|s| (*s).to_owned()).collect(),
                })
                .collect();
            let enriched = catalog_import::enrich_films(conn, &enrichments).await?;
            step();
            // Credits: every source's for a new film; for a film the catalog had, only the new
            // sources' and only in roles it has none in.
            let mut wanted: Vec<(i64, &SourceCredit)> = Vec::new();
            // By slug: INSERT … RETURNING promises no order.
            let id_of: HashMap<&str, i64> = inserted
                .iter()
                .map(|(id, slug)| (slug.as_str(), *id))
                .collect();
            for (f, slug) in plan.new.iter().zip(&plan.new_slugs) {
                if let Some(id) = id_of.get(slug.as_str()) {
                    wanted.extend(f.credits.iter().map(|(_, c)| (*id, c)));
                }
            }
            let enriched_ids: Vec<i64> = plan.enrich.iter().map(|(i, _)| existing[*i].id).collect();
            let mut has_role: HashSet<(i64, CreditRole)> = HashSet::new();
            for role in CreditRole::ALL {
                for id in catalog_import::films_with_role(conn, &enriched_ids, role).await? {
                    has_role.insert((id, role));
                }
            }
            for (i, f) in &plan.enrich {
                let e = &existing[*i];
                let known: Vec<&str> = e.sources.iter().flatten().map(String::as_str).collect();
                wanted.extend(
                    f.credits
                        .iter()
                        .filter(|(source, c)| {
                            !known.contains(source) && !has_role.contains(&(e.id, c.role))
                        })
                        .map(|(_, c)| (e.id, c)),
                );
            }
            let mut people = People::new(catalog_import::existing_people(conn).await?);
            let fresh = people.new_names(wanted.iter().map(|(_, c)| c.name.as_str()));
            let ids = catalog_import::insert_people(conn, &fresh).await?;
            for ((name, _), id) in fresh.iter().zip(ids) {
                people.by_name.insert(name.clone(), id);
            }
            step();
            let credits: Vec<LoadCredit> = wanted
                .iter()
                .filter_map(|(film, c)| {
                    people.by_name.get(&c.name).map(|&person| LoadCredit {
                        film: *film,
                        person,
                        role: c.role,
                        billing_order: c.billing_order,
                    })
                })
                .collect();
            let credits_added = catalog_import::insert_credits(conn, &credits).await?;
            step();
            Ok::<_, filmlog_persistence::PersistenceError>((
                inserted.len(),
                plan.already_present,
                enriched,
                plan.joined,
                fresh.len(),
                credits_added,
                unsluggable,
            ))
        })
        .await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let (imported, present, enriched, joined, people_added, credits_added, unsluggable) = done;
    if unsluggable > 0 {
        reasons.push(("nothing to make a slug of".to_owned(), unsluggable));
    }
    summary.by_reason = reasons;
    summary.imported = imported;
    summary.already_present = present;
    summary.enriched = enriched;
    summary.merged += joined;
    summary.people_added = people_added;
    summary.credits_added = credits_added;
    Ok(summary)
}

/// Reads a JSON array of rows from `file` (gzip-compressed when its name ends in `.gz`).
fn read_rows(file: &std::path::Path) -> Result<Vec<Value>, BoxError> {
    let path = file.display();
    let bad = |message: String| crate::failure::InputError(message);
    let raw = std::fs::read(file).map_err(|e| bad(format!("cannot read {path}: {e}")))?;
    let text = if file.extension().is_some_and(|e| e == "gz") {
        let mut out = String::new();
        flate2::read::GzDecoder::new(&raw[..])
            .take(512 << 20)
            .read_to_string(&mut out)
            .map_err(|e| bad(format!("{path} is not gzip-compressed text: {e}")))?;
        out
    } else {
        String::from_utf8(raw).map_err(|e| bad(format!("{path} is not UTF-8: {e}")))?
    };
    let value: Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("{path} is not JSON: {e}")))?;
    match value {
        Value::Array(rows) => Ok(rows),
        _ => Err(bad(format!("{path} must hold a JSON array of films")).into()),
    }
}

pub async fn run(settings: &Settings, files: &[std::path::PathBuf]) -> Result<(), BoxError> {
    let started = std::time::Instant::now();
    let all: Vec<Vec<Value>> = files
        .iter()
        .map(|f| read_rows(f))
        .collect::<Result<_, _>>()?;
    let datasets: Vec<Dataset<'_>> = all.iter().map(|rows| Dataset::detect(rows)).collect();
    for (file, dataset) in files.iter().zip(&datasets) {
        let kind = match dataset {
            Dataset::Vega(_) => "vega-datasets movies.json",
            Dataset::Wikipedia(_) => "Wikipedia films",
        };
        println!(
            "importing {} rows from {} ({kind})",
            dataset.rows().len(),
            file.display()
        );
    }
    let mut conn = AsyncPgConnection::establish(settings.database_url()?).await?;
    let summary = load(&mut conn, &datasets, true).await?;
    for (row, reason) in &summary.rejected {
        println!("  row {row}: {reason}");
    }
    for line in &summary.undecided {
        println!("  undecided: {line}");
    }
    println!(
        "rows: {}, imported: {}, already present: {}, enriched: {}, merged: {}, rejected: {}, undecided: {}",
        summary.rows,
        summary.imported,
        summary.already_present,
        summary.enriched,
        summary.merged,
        summary.rejected.len(),
        summary.undecided.len(),
    );
    println!(
        "people added: {}, credits added: {}, cast entries dropped as debris: {}, split names rejoined: {}",
        summary.people_added, summary.credits_added, summary.cast_repairs.0, summary.cast_repairs.1
    );
    for (reason, n) in &summary.by_reason {
        println!("  {reason}: {n}");
    }
    println!(
        "films in the catalog: {} ({:.1} s)",
        catalog_import::film_count(&mut conn).await?,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default()
    }

    fn film(source: &'static str, title: &str, year: i32, page: Option<&str>) -> SourceFilm {
        SourceFilm {
            source,
            row: 1,
            title: title.to_owned(),
            year: Some(year),
            release_date: None,
            runtime_minutes: None,
            synopsis: None,
            genres: vec!["Drama".to_owned()],
            wikipedia_page: page.map(str::to_owned),
            credits: vec![SourceCredit {
                name: format!("{source} person"),
                role: CreditRole::Director,
                billing_order: 0,
            }],
        }
    }

    #[test]
    fn the_same_film_joins_across_datasets_unless_one_side_has_two() {
        let mut undecided = Vec::new();
        let joined = merge_datasets(
            vec![
                film(VEGA, "Heat", 1995, None),
                film(VEGA, "Carmen", 1915, None),
                film(WIKIPEDIA, "HEAT", 1995, Some("Heat_(1995_film)")),
                film(
                    WIKIPEDIA,
                    "Carmen",
                    1915,
                    Some("Carmen_(1915_Raoul_Walsh_film)"),
                ),
                film(
                    WIKIPEDIA,
                    "Carmen",
                    1915,
                    Some("Carmen_(1915_Cecil_B._DeMille_film)"),
                ),
                film(WIKIPEDIA, "Heat", 1986, Some("Heat_(1986_film)")),
            ],
            &mut undecided,
        );
        assert_eq!(joined.len(), 4, "vega's Carmen could be either: left out");
        let heat = &joined[0];
        assert_eq!(heat.title, "Heat");
        assert_eq!(heat.alternative_titles, ["HEAT"]);
        assert_eq!(heat.sources, [VEGA, WIKIPEDIA]);
        assert_eq!(heat.wikipedia_page.as_deref(), Some("Heat_(1995_film)"));
        // The director from the first source that has one.
        assert_eq!(heat.credits.len(), 1);
        assert_eq!(undecided.len(), 1);
        assert!(undecided[0].contains("Carmen"), "{undecided:?}");

        // Against the catalog: a page already there is that film; a slug held by a film of
        // another page is another film.
        let existing = vec![
            ExistingFilm {
                id: 7,
                slug: "heat-1986".to_owned(),
                wikipedia_page: Some("Heat_(1986_other)".to_owned()),
                sources: vec![Some(WIKIPEDIA.to_owned())],
            },
            ExistingFilm {
                id: 8,
                slug: "heat-1995".to_owned(),
                wikipedia_page: None,
                sources: vec![Some(VEGA.to_owned())],
            },
        ];
        let mut unsluggable = 0;
        let planned = plan(joined, &existing, &mut unsluggable);
        assert_eq!(planned.enrich.len(), 1, "heat-1995 gains Wikipedia");
        assert_eq!(planned.enrich[0].0, 1);
        assert!(
            planned.new_slugs.contains(&"heat-1986-2".to_owned()),
            "{:?}",
            planned.new_slugs
        );
        assert_eq!(
            planned.new_slugs,
            ["carmen-1915", "carmen-1915-2", "heat-1986-2"],
            "the Carmens apart, Heat 1986 beside another page's"
        );
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
