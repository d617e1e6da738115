//! Reads an export ZIP into staged rows, on a blocking thread: one file at a time, one row at a
//! time (a 100,000-row file never sits in memory), every limit checked as bytes are inflated, and
//! every broken file or row turned into a problem row instead of an error.

use std::fs::File;
use std::io::{self, Read};

use chrono::NaiveDate;
use filmlog_domain::portability::{
    self as rules, FilmRef, Item, MAX_CELL_BYTES, MAX_FILES, MAX_RATIO, MAX_ROWS_PER_FILE,
    MAX_UNCOMPRESSED_BYTES, RowProblem, SourceFile,
};
use filmlog_persistence::portability::NewImportRow;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::json;
use tokio::sync::mpsc::Sender;

use super::bounds::{CellBound, JsonBound};
use super::document::{
    self, ExportedEntry, ExportedFilm, ExportedFilmState, ExportedList, ExportedMember,
};

/// The columns whose cells may be up to [`MAX_CELL_BYTES`] long.
const LONG_COLUMNS: [&str; 3] = ["Review", "Description", "Bio"];

/// The longest cell read from any other column (a title has at most 300 characters).
const MAX_SHORT_CELL_BYTES: usize = 4096;

/// What the reader sends the job.
#[derive(Debug)]
pub enum Staged {
    /// A file starts: its name and how many rows it has.
    File {
        name: String,
        rows: u64,
    },
    Row(NewImportRow),
    /// Rows read of the current file.
    Progress(u64),
    /// The export's kind: `letterboxd` or `filmlog`.
    Source(&'static str),
}

/// Why an archive cannot be read at all (problems of single files or rows are rows).
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("the upload is not a ZIP archive ({0})")]
    NotZip(String),
    #[error("the archive holds {0} files; at most {MAX_FILES} are read")]
    TooManyFiles(usize),
    #[error("the archive would inflate to more than {} MiB", MAX_UNCOMPRESSED_BYTES >> 20)]
    TooLarge,
    #[error("the archive holds no file of a Letterboxd or Filmlog export")]
    Empty,
    #[error("the import was stopped")]
    Stopped,
    #[error("reading the archive failed: {0}")]
    Io(#[from] io::Error),
}

/// Reads the archive at `file`, sending what it finds to `tx` (a bounded channel: the reader waits
/// for the job to store rows, so memory stays constant).
pub fn read(file: File, today: NaiveDate, tx: &Sender<Staged>) -> Result<(), ArchiveError> {
    let mut zip = zip::ZipArchive::new(file).map_err(|e| ArchiveError::NotZip(e.to_string()))?;
    if zip.len() > MAX_FILES {
        return Err(ArchiveError::TooManyFiles(zip.len()));
    }
    let mut found = Vec::new();
    let mut declared: u64 = 0;
    let mut reader = Reader {
        tx,
        today,
        budget: MAX_UNCOMPRESSED_BYTES,
    };
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| ArchiveError::NotZip(e.to_string()))?;
        if entry.is_dir() {
            continue;
        }
        let Ok(name) = entry.name().map(|n| n.into_owned()) else {
            reader.file_problem(
                &format!("file {}", i + 1),
                "a file name that is not text; not read".into(),
            )?;
            continue;
        };
        declared = declared.saturating_add(entry.size());
        match rules::classify(&name) {
            Ok(SourceFile::Other) => {}
            Ok(kind) => {
                let ratio = entry.size() / entry.compressed_size().max(1);
                if ratio > MAX_RATIO {
                    reader.file_problem(
                        &name,
                        format!(
                            "inflates {ratio}:1 (at most {MAX_RATIO}:1 is read; a ZIP bomb?); not imported"
                        ),
                    )?;
                } else {
                    found.push((i, name, kind));
                }
            }
            Err(problem) => {
                let shown: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
                reader.file_problem(&shown, format!("{problem}; not read"))?;
            }
        }
    }
    if declared > MAX_UNCOMPRESSED_BYTES {
        return Err(ArchiveError::TooLarge);
    }
    let filmlog = found.iter().any(|(_, _, k)| *k == SourceFile::FilmlogJson);
    if filmlog {
        // A Filmlog export: its Letterboxd-format CSVs are for going back to Letterboxd.
        found.retain(|(_, _, k)| *k == SourceFile::FilmlogJson);
    }
    if found.is_empty() {
        return Err(ArchiveError::Empty);
    }
    found.sort_by_key(|(i, _, kind)| (rank(kind), *i));
    send(
        tx,
        Staged::Source(if filmlog { "filmlog" } else { "letterboxd" }),
    )?;
    for (i, name, kind) in found {
        if kind == SourceFile::FilmlogJson {
            let entry = zip
                .by_index(i)
                .map_err(|e| ArchiveError::NotZip(e.to_string()))?;
            let declared = entry.size();
            send(
                tx,
                Staged::File {
                    name: name.clone(),
                    rows: 0,
                },
            )?;
            let mut budget = reader.budget;
            reader.filmlog(&name, Limited::new(entry, declared, &mut budget))?;
            reader.budget = budget;
            continue;
        }
        // Two passes: the first counts rows (for progress), the second reads them.
        let rows = {
            let entry = zip
                .by_index(i)
                .map_err(|e| ArchiveError::NotZip(e.to_string()))?;
            let declared = entry.size();
            let mut budget = reader.budget;
            count_rows(Limited::new(entry, declared, &mut budget))
        };
        send(
            tx,
            Staged::File {
                name: name.clone(),
                rows: rows.unwrap_or(0),
            },
        )?;
        let entry = zip
            .by_index(i)
            .map_err(|e| ArchiveError::NotZip(e.to_string()))?;
        let declared = entry.size();
        let mut budget = reader.budget;
        let result = reader.csv(&name, &kind, Limited::new(entry, declared, &mut budget));
        reader.budget = budget;
        match result {
            Ok(()) => {}
            Err(FileError::Archive(e)) => return Err(e),
            Err(FileError::Problem(p)) => reader.file_problem(&name, p)?,
        }
    }
    Ok(())
}

/// The order files are read in: diary before reviews (a review joins its diary row), lists after
/// the films.
fn rank(kind: &SourceFile) -> u8 {
    match kind {
        SourceFile::Diary => 0,
        SourceFile::Reviews => 1,
        SourceFile::Watched => 2,
        SourceFile::Ratings => 3,
        SourceFile::LikedFilms => 4,
        SourceFile::Watchlist => 5,
        SourceFile::List(_) => 6,
        SourceFile::Profile => 7,
        SourceFile::FilmlogJson => 8,
        SourceFile::NotImported(_) => 9,
        SourceFile::Removed => 10,
        SourceFile::Other => 11,
    }
}

fn send(tx: &Sender<Staged>, staged: Staged) -> Result<(), ArchiveError> {
    tx.blocking_send(staged).map_err(|_| ArchiveError::Stopped)
}

/// A file's reader that refuses to inflate past what the file declared or what the archive has
/// left (the declared sizes of a ZIP can lie).
struct Limited<'b, R> {
    inner: R,
    left: u64,
    budget: &'b mut u64,
}

impl<'b, R: Read> Limited<'b, R> {
    fn new(inner: R, declared: u64, budget: &'b mut u64) -> Self {
        Self {
            inner,
            left: declared,
            budget,
        }
    }
}

impl<R: Read> Read for Limited<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let n64 = n as u64;
        if n64 > self.left || n64 > *self.budget {
            return Err(io::Error::other(
                "the file inflates past its declared size or the archive's limit (a ZIP bomb?)",
            ));
        }
        self.left -= n64;
        *self.budget -= n64;
        Ok(n)
    }
}

fn count_rows(r: impl Read) -> Option<u64> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(CellBound::new(r));
    let mut record = csv::ByteRecord::new();
    let mut n: u64 = 0;
    while csv.read_byte_record(&mut record).ok()? {
        n += 1;
    }
    Some(n.saturating_sub(1))
}

enum FileError {
    Archive(ArchiveError),
    Problem(String),
}

impl From<ArchiveError> for FileError {
    fn from(e: ArchiveError) -> Self {
        FileError::Archive(e)
    }
}

struct Reader<'t> {
    tx: &'t Sender<Staged>,
    today: NaiveDate,
    budget: u64,
}

/// The cells of one CSV row by column name.
struct Row<'a> {
    columns: &'a [String],
    cells: Vec<String>,
}

impl Row<'_> {
    fn get(&self, name: &str) -> &str {
        self.columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| self.cells.get(i))
            .map_or("", |s| s.as_str())
    }
}

impl Reader<'_> {
    fn row(&self, row: NewImportRow) -> Result<(), ArchiveError> {
        send(self.tx, Staged::Row(row))
    }

    fn file_problem(&self, file: &str, problem: String) -> Result<(), ArchiveError> {
        self.row(problem_row(file, 0, "file", problem))
    }

    fn csv(&mut self, name: &str, kind: &SourceFile, r: impl Read) -> Result<(), FileError> {
        let mut r = io::BufReader::new(CellBound::new(r));
        let head = io::BufRead::fill_buf(&mut r).map_err(|e| FileError::Problem(e.to_string()))?;
        if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
            return Err(FileError::Problem(
                "the file is UTF-16; Letterboxd exports are UTF-8 (save it as UTF-8 and import again)"
                    .into(),
            ));
        }
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(r);
        let mut record = csv::ByteRecord::new();
        let mut columns: Vec<String> = Vec::new();
        let mut list: Option<ListHead> = None;
        let mut rows: u64 = 0;
        let required: &[&'static str] = match kind {
            SourceFile::Diary => &["Name", "Watched Date"],
            SourceFile::Reviews => &["Name", "Review"],
            SourceFile::Ratings => &["Name", "Rating"],
            SourceFile::Profile => &["Username"],
            SourceFile::NotImported(_) | SourceFile::Removed => &[],
            _ => &["Name"],
        };
        // A list's file: a header block (format line, list header, list row), then the entries.
        let mut list_block = matches!(kind, SourceFile::List(_)).then_some(0u8);
        loop {
            match csv.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    if let csv::ErrorKind::Io(io) = e.kind() {
                        return Err(FileError::Problem(format!(
                            "{io}; the rest of the file is not read"
                        )));
                    }
                    let line = e.position().map_or(0, |p| p.line());
                    self.row(problem_row(
                        name,
                        line_of(line),
                        "row",
                        format!("unreadable CSV: {e}"),
                    ))?;
                    continue;
                }
            }
            let line = line_of(record.position().map_or(0, |p| p.line()));
            if let Some(longest) = record.iter().map(<[u8]>::len).max()
                && longest > MAX_CELL_BYTES
            {
                self.row(problem_row(
                    name,
                    line,
                    "row",
                    format!(
                        "a cell of more than {MAX_CELL_BYTES} bytes: longer ones are not read (a review may have 100,000 characters)"
                    ),
                ))?;
                continue;
            }
            let cells: Result<Vec<String>, _> = record
                .iter()
                .map(|c| {
                    std::str::from_utf8(c).map(|s| s.trim_start_matches('\u{feff}').to_owned())
                })
                .collect();
            let Ok(cells) = cells else {
                self.row(problem_row(
                    name,
                    line,
                    "row",
                    "not UTF-8 text (Letterboxd exports are UTF-8; was the file re-saved in another encoding?)".into(),
                ))?;
                if columns.is_empty() {
                    return Err(FileError::Problem("its header is not UTF-8 text".into()));
                }
                continue;
            };
            if let Some(step) = list_block {
                match step {
                    0 => {
                        // Real exports may pad the file with blank lines (or blank cells) before
                        // the format line.
                        if cells.iter().all(|c| c.trim().is_empty()) {
                            continue;
                        }
                        if !cells
                            .first()
                            .is_some_and(|c| c.trim_start().starts_with("Letterboxd list export"))
                        {
                            return Err(FileError::Problem(
                                "not a Letterboxd list export (its first line names the format)"
                                    .into(),
                            ));
                        }
                    }
                    1 => columns = cells,
                    2 => {
                        let head = Row {
                            columns: &columns,
                            cells,
                        };
                        let (tags, _) = rules::parse_tags(head.get("Tags"));
                        let url = head.get("URL").trim().to_owned();
                        let SourceFile::List(file_name) = kind else {
                            return Ok(());
                        };
                        let list_name = Some(head.get("Name").trim())
                            .filter(|n| !n.is_empty())
                            .unwrap_or(file_name);
                        let key =
                            format!("lb:list:{}", if url.is_empty() { file_name } else { &url });
                        let description = Some(rules::review_text(head.get("Description")))
                            .filter(|d| !d.is_empty());
                        let item = Item::List {
                            name: list_name.to_owned(),
                            description,
                            ranked: false,
                            tags,
                            visibility: None,
                        };
                        self.row(item_row(name, line, &key, None, &item))?;
                        list = Some(ListHead { key });
                    }
                    _ => columns = cells,
                }
                list_block = if step < 3 { Some(step + 1) } else { None };
                continue;
            }
            if columns.is_empty() {
                columns = cells.iter().map(|c| c.trim().to_owned()).collect();
                if let Some(missing) = required.iter().find(|c| !columns.iter().any(|h| h == *c)) {
                    return Err(FileError::Problem(
                        RowProblem::MissingColumn(missing).to_string()
                            + "; the file is not imported",
                    ));
                }
                continue;
            }
            rows += 1;
            if rows > MAX_ROWS_PER_FILE {
                return Err(FileError::Problem(format!(
                    "more than {MAX_ROWS_PER_FILE} rows; the rest is not read"
                )));
            }
            if rows.is_multiple_of(1000) {
                send(self.tx, Staged::Progress(rows))?;
            }
            // Only a review, a description and a bio are long; a longer name, URI or tag list is
            // not read (it would be copied into the row's key and item).
            if let Some((column, cell)) = columns.iter().zip(&cells).find(|(c, v)| {
                v.len() > MAX_SHORT_CELL_BYTES && !LONG_COLUMNS.contains(&c.as_str())
            }) {
                self.row(problem_row(
                    name,
                    line,
                    "row",
                    format!(
                        "a {column} of {} bytes: longer than {MAX_SHORT_CELL_BYTES} are not read",
                        cell.len()
                    ),
                ))?;
                continue;
            }
            let row = Row {
                columns: &columns,
                cells,
            };
            let staged = match self.letterboxd_row(kind, &row, list.as_ref()) {
                Ok(Some((key, film, item, note))) => {
                    let mut staged = item_row(name, line, &key, film.as_ref(), &item);
                    staged.note = note;
                    staged
                }
                Ok(None) => continue,
                Err(problem) => problem_row(name, line, "row", problem.to_string()),
            };
            self.row(staged)?;
        }
        if matches!(kind, SourceFile::Removed | SourceFile::NotImported(_)) {
            let why = match kind {
                SourceFile::NotImported(what) => {
                    format!("{what}: {rows} rows; Filmlog has nothing to import them into")
                }
                _ => format!(
                    "{rows} rows the member removed on Letterboxd (deleted/ or orphaned/); not imported"
                ),
            };
            self.file_problem(name, why)?;
        }
        send(self.tx, Staged::Progress(rows))?;
        Ok(())
    }

    /// One row of a Letterboxd CSV: its key, film and item (and a note), `None` for rows that are not
    /// imported one by one (removed files are counted whole).
    fn letterboxd_row(
        &self,
        kind: &SourceFile,
        row: &Row<'_>,
        list: Option<&ListHead>,
    ) -> Result<Option<Parsed>, RowProblem> {
        let uri = row.get("Letterboxd URI").trim().to_owned();
        let film = || -> Result<FilmRef, RowProblem> {
            let name = row.get("Name").trim();
            if name.is_empty() {
                return Err(RowProblem::NoName);
            }
            Ok(FilmRef {
                name: name.to_owned(),
                year: rules::parse_year(row.get("Year"))?,
                ..FilmRef::default()
            })
        };
        let film_key = |f: &FilmRef, uri: &str| {
            if uri.is_empty() {
                format!(
                    "{}|{}",
                    f.name,
                    f.year.map(|y| y.to_string()).unwrap_or_default()
                )
            } else {
                uri.to_owned()
            }
        };
        let lb_film = |uri: &str| -> Result<FilmRef, RowProblem> {
            let mut f = film()?;
            f.letterboxd_uri = filmlog_domain::letterboxd_uri(uri).ok();
            Ok(f)
        };
        let (key, film, item, note) = match kind {
            SourceFile::Diary | SourceFile::Reviews => {
                let f = film()?;
                let watched_on =
                    rules::parse_date(row.get("Watched Date"), "Watched Date", self.today)?;
                rules::parse_date(row.get("Date"), "Date", self.today)?;
                let rating = rules::parse_rating(row.get("Rating"))?.map(|r| r.halves());
                let (tags, dropped) = rules::parse_tags(row.get("Tags"));
                let review = if *kind == SourceFile::Reviews {
                    Some(rules::review_text(row.get("Review"))).filter(|r| !r.is_empty())
                } else {
                    None
                };
                let key = if uri.is_empty() {
                    format!(
                        "lb:entry:{}|{}",
                        film_key(&f, ""),
                        watched_on.map(|d| d.to_string()).unwrap_or_default()
                    )
                } else {
                    format!("lb:entry:{uri}")
                };
                let item = Item::Entry {
                    watched_on,
                    rewatch: rules::parse_yes(row.get("Rewatch")),
                    rating,
                    review,
                    spoilers: rules::parse_yes(row.get("Spoilers")),
                    tags,
                    visibility: None,
                };
                let note = (!dropped.is_empty())
                    .then(|| format!("tags not kept (not Filmlog tags): {}", dropped.join(", ")));
                (key, Some(f), item, note)
            }
            SourceFile::Ratings => {
                let f = lb_film(&uri)?;
                let Some(rating) = rules::parse_rating(row.get("Rating"))? else {
                    return Err(RowProblem::NoRating);
                };
                (
                    format!("lb:rating:{}", film_key(&f, &uri)),
                    Some(f),
                    Item::Rating {
                        rating: rating.halves(),
                    },
                    None,
                )
            }
            SourceFile::Watched | SourceFile::Watchlist | SourceFile::LikedFilms => {
                let f = lb_film(&uri)?;
                let (prefix, item) = match kind {
                    SourceFile::Watched => ("watched", Item::Watched),
                    SourceFile::Watchlist => ("watchlist", Item::Watchlist),
                    _ => ("like", Item::Like),
                };
                (
                    format!("lb:{prefix}:{}", film_key(&f, &uri)),
                    Some(f),
                    item,
                    None,
                )
            }
            SourceFile::List(_) => {
                let Some(list) = list else { return Ok(None) };
                let url = row.get("URL").trim().to_owned();
                let mut f = film()?;
                f.letterboxd_uri = filmlog_domain::letterboxd_uri(&url).ok();
                let position = row
                    .get("Position")
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|p| *p >= 1);
                let notes =
                    Some(rules::review_text(row.get("Description"))).filter(|d| !d.is_empty());
                let key = format!(
                    "{}|{}",
                    list.key.replacen("lb:list:", "lb:list_entry:", 1),
                    film_key(&f, &url)
                );
                let item = Item::ListEntry {
                    list: list.key.clone(),
                    position: position.unwrap_or(usize::MAX),
                    notes,
                    spoilers: false,
                };
                (key, Some(f), item, None)
            }
            SourceFile::Profile => {
                let given = row.get("Given Name").trim();
                let family = row.get("Family Name").trim();
                let display = format!("{given} {family}").trim().to_owned();
                let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
                let item = Item::Profile {
                    display_name: opt(&display),
                    bio: opt(&rules::review_text(row.get("Bio"))),
                    location: opt(row.get("Location")),
                    website: opt(row.get("Website")),
                    pronouns: opt(row.get("Pronoun")),
                };
                ("lb:profile".to_owned(), None, item, None)
            }
            SourceFile::Removed
            | SourceFile::NotImported(_)
            | SourceFile::FilmlogJson
            | SourceFile::Other => return Ok(None),
        };
        Ok(Some((key, film, item, note)))
    }

    /// A Filmlog export's `filmlog.json`, read as a stream: each array element is staged as it is
    /// parsed.
    fn filmlog(&mut self, name: &str, r: impl Read) -> Result<(), ArchiveError> {
        let mut de = serde_json::Deserializer::from_reader(io::BufReader::new(JsonBound::new(r)));
        let mut sink = JsonSink {
            reader: self,
            file: name,
            n: 0,
            error: None,
        };
        let result = DocumentSeed(&mut sink).deserialize(&mut de);
        if let Some(e) = sink.error.take() {
            return Err(e);
        }
        if let Err(e) = result {
            let line = i32::try_from(e.line()).unwrap_or(i32::MAX);
            self.row(problem_row(
                name,
                line,
                "file",
                format!("unreadable JSON: {e}; the rest is not read"),
            ))?;
        }
        Ok(())
    }
}

/// A parsed row: its key, its film, its item and a note on what was not kept.
type Parsed = (String, Option<FilmRef>, Item, Option<String>);

struct ListHead {
    key: String,
}

fn line_of(line: u64) -> i32 {
    i32::try_from(line).unwrap_or(i32::MAX)
}

fn item_row(file: &str, line: i32, key: &str, film: Option<&FilmRef>, item: &Item) -> NewImportRow {
    let kind = match item {
        Item::Entry { .. } if file.ends_with("reviews.csv") => "review",
        other => other.kind(),
    };
    NewImportRow {
        file: file.to_owned(),
        line,
        kind: kind.to_owned(),
        source_key: Some(key.to_owned()),
        item: Some(json!({ "film": film, "item": item })),
        action: None,
        note: None,
    }
}

fn problem_row(file: &str, line: i32, kind: &str, problem: String) -> NewImportRow {
    NewImportRow {
        file: file.to_owned(),
        line,
        kind: kind.to_owned(),
        source_key: None,
        item: None,
        action: Some(filmlog_domain::portability::Action::Skip),
        note: Some(problem),
    }
}

/// A Filmlog export's film, its ids checked as the catalog checks them (a bad one is not used).
fn film_ref(f: &ExportedFilm) -> FilmRef {
    FilmRef {
        name: f.title.clone(),
        year: f.year.filter(|y| filmlog_domain::valid_year(*y)),
        letterboxd_uri: f
            .letterboxd_uri
            .as_deref()
            .and_then(|u| filmlog_domain::letterboxd_uri(u).ok()),
        tmdb_id: f
            .tmdb_id
            .and_then(|i| filmlog_domain::tmdb_id(i64::from(i)).ok()),
        imdb_id: f
            .imdb_id
            .as_deref()
            .and_then(|i| filmlog_domain::imdb_id(i).ok()),
        slug: filmlog_domain::Slug::parse(&f.slug)
            .ok()
            .map(filmlog_domain::Slug::into_inner),
    }
}

/// Where `filmlog.json`'s elements go as they are parsed.
struct JsonSink<'r, 't> {
    reader: &'r mut Reader<'t>,
    file: &'r str,
    n: u64,
    error: Option<ArchiveError>,
}

impl JsonSink<'_, '_> {
    fn stage(&mut self, key: String, film: Option<FilmRef>, item: Item) {
        self.n += 1;
        let line = i32::try_from(self.n).unwrap_or(i32::MAX);
        let row = item_row(self.file, line, &key, film.as_ref(), &item);
        let sent = self.reader.row(row).and_then(|()| {
            if self.n.is_multiple_of(1000) {
                send(self.reader.tx, Staged::Progress(self.n))
            } else {
                Ok(())
            }
        });
        if let Err(e) = sent {
            self.error.get_or_insert(e);
        }
    }

    fn problem(&mut self, what: &str, e: impl std::fmt::Display) {
        self.n += 1;
        let line = i32::try_from(self.n).unwrap_or(i32::MAX);
        if let Err(e) = self
            .reader
            .row(problem_row(self.file, line, what, e.to_string()))
        {
            self.error.get_or_insert(e);
        }
    }

    fn entry(&mut self, e: ExportedEntry) {
        let rating = match e.rating.map(filmlog_domain::Rating::from_stars).transpose() {
            Ok(r) => r.map(|r| r.halves()),
            Err(err) => return self.problem("entry", err),
        };
        if let Some(d) = e.watched_on
            && let Err(p) = rules::parse_date(&d.to_string(), "watched_on", self.reader.today)
        {
            return self.problem("entry", p);
        }
        let item = Item::Entry {
            watched_on: e.watched_on,
            rewatch: e.rewatch,
            rating,
            review: e.review,
            spoilers: e.contains_spoilers,
            // As Letterboxd's tags: what is not a Filmlog tag is dropped.
            tags: rules::parse_tags(&e.tags.join(",")).0,
            visibility: e.visibility,
        };
        self.stage(
            format!("filmlog:entry:{}", e.id),
            Some(film_ref(&e.film)),
            item,
        );
    }

    fn film(&mut self, s: ExportedFilmState) {
        let film = film_ref(&s.film);
        let key = |what: &str| format!("filmlog:{what}:{}", s.film.slug);
        if s.watched {
            self.stage(key("watched"), Some(film.clone()), Item::Watched);
        }
        match s.rating.map(filmlog_domain::Rating::from_stars).transpose() {
            Ok(Some(r)) => self.stage(
                key("rating"),
                Some(film.clone()),
                Item::Rating { rating: r.halves() },
            ),
            Ok(None) => {}
            Err(err) => self.problem("rating", err),
        }
        if s.liked {
            self.stage(key("like"), Some(film.clone()), Item::Like);
        }
        if s.in_watchlist {
            self.stage(key("watchlist"), Some(film), Item::Watchlist);
        }
    }

    fn list(&mut self, l: ExportedList) {
        let key = format!("filmlog:list:{}", l.id);
        let item = Item::List {
            name: l.name,
            description: l.description,
            ranked: l.ranked,
            tags: l.tags,
            visibility: l.visibility,
        };
        self.stage(key.clone(), None, item);
        for e in l.entries {
            let item = Item::ListEntry {
                list: key.clone(),
                position: e.position,
                notes: e.notes,
                spoilers: e.contains_spoilers,
            };
            self.stage(
                format!("filmlog:list_entry:{}|{}", l.id, e.film.slug),
                Some(film_ref(&e.film)),
                item,
            );
        }
    }

    fn member(&mut self, m: ExportedMember) {
        let item = Item::Profile {
            display_name: m.display_name,
            bio: m.bio,
            location: m.location,
            website: m.website,
            pronouns: m.pronouns,
        };
        self.stage("filmlog:profile".into(), None, item);
    }
}

/// The document's top level: known arrays are streamed element by element, the rest is skipped.
struct DocumentSeed<'s, 'r, 't>(&'s mut JsonSink<'r, 't>);

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Filmlog export document")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "format" => {
                    let format: String = map.next_value()?;
                    if format != document::FORMAT {
                        return Err(serde::de::Error::custom(format!(
                            "format {format:?} is not {}",
                            document::FORMAT
                        )));
                    }
                }
                "version" => {
                    let version: u32 = map.next_value()?;
                    if version > document::VERSION {
                        return Err(serde::de::Error::custom(format!(
                            "version {version} is newer than this server reads ({})",
                            document::VERSION
                        )));
                    }
                }
                "member" => {
                    let m: ExportedMember = map.next_value()?;
                    self.0.member(m);
                }
                "log_entries" => map.next_value_seed(Elements(&mut *self.0, JsonSink::entry))?,
                "films" => map.next_value_seed(Elements(&mut *self.0, JsonSink::film))?,
                "lists" => map.next_value_seed(Elements(&mut *self.0, JsonSink::list))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            if self.0.error.is_some() {
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// An array whose elements of type `T` are handed to a method of the sink one at a time.
struct Elements<'s, 'r, 't, T>(&'s mut JsonSink<'r, 't>, fn(&mut JsonSink<'r, 't>, T));

impl<'de, T: serde::Deserialize<'de>> DeserializeSeed<'de> for Elements<'_, '_, '_, T> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: serde::Deserialize<'de>> Visitor<'de> for Elements<'_, '_, '_, T> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(element) = seq.next_element::<T>()? {
            (self.1)(self.0, element);
            if self.0.error.is_some() {
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}
