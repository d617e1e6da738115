//! An export job: the member's data read in pages and written as a ZIP on a blocking thread (into a
//! temporary file: memory stays constant however much there is), then stored in chunks for download.
//!
//! The ZIP holds `filmlog.json` ([`super::document::ExportDocument`]), and Letterboxd's import
//! format for going back: `letterboxd/diary.csv`, `letterboxd/ratings.csv`,
//! `letterboxd/watchlist.csv` and `letterboxd/lists/<name>.csv`, with a `README.txt`.

use std::io::{Read, Seek, Write};
use std::time::Instant;

use chrono::Utc;
use filmlog_domain::MemberId;
use filmlog_persistence::portability::{self as store, ExportJobRow, ExportPart};
use filmlog_persistence::{DbPool, PersistenceError};
use serde_json::Value;
use tokio::sync::mpsc;

use super::PortabilitySettings;
use super::document::{self, ExportedEntry, ExportedFilm, ExportedFilmState, ExportedList};

/// Rows read per page.
const PAGE: i64 = 500;
/// Bytes per stored chunk (and per piece of a download).
pub const CHUNK: usize = 1 << 20;

const README: &str = "A Filmlog export.\n\n\
filmlog.json: everything you own on Filmlog (schema `ExportDocument` in the API's OpenAPI document,\n\
version 1). Import this ZIP into Filmlog (POST /api/v1/me/imports) to restore it.\n\n\
letterboxd/: your diary, ratings, watchlist and lists in Letterboxd's import format\n\
(letterboxd.com/import): films are named by Letterboxd URI, TMDB and IMDb ids where Filmlog has them,\n\
else by title and year.\n";

/// Why an export's attempt failed: the database (the job is tried again after its claim lapses),
/// or writing the archive.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Db(#[from] PersistenceError),
    #[error("{0}")]
    Archive(String),
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ExportError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        ExportError::Db(e.into())
    }
}

macro_rules! archive_errors {
    ($($t:ty),*) => {
        $(impl From<$t> for ExportError {
            fn from(e: $t) -> Self {
                ExportError::Archive(e.to_string())
            }
        })*
    };
}

archive_errors!(
    std::io::Error,
    zip::result::ZipError,
    csv::Error,
    csv::IntoInnerError<csv::Writer<Vec<u8>>>,
    tokio::task::JoinError,
    serde_json::Error
);

enum Piece {
    File(String),
    Bytes(Vec<u8>),
}

/// The ZIP being written: pieces go to the writing thread through a bounded channel.
struct Zip {
    tx: mpsc::Sender<Piece>,
    buf: Vec<u8>,
}

impl Zip {
    async fn file(&mut self, name: &str) -> Result<(), ExportError> {
        self.flush().await?;
        self.send(Piece::File(name.to_owned())).await
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), ExportError> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= 64 * 1024 {
            self.flush().await?;
        }
        Ok(())
    }

    async fn csv(&mut self, fields: &[String]) -> Result<(), ExportError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(
            fields
                .iter()
                .map(|f| filmlog_domain::portability::spreadsheet_safe(f).into_owned()),
        )
        .map_err(ExportError::from)?;
        let line = w.into_inner().map_err(ExportError::from)?;
        self.write(&line).await
    }

    async fn flush(&mut self) -> Result<(), ExportError> {
        if !self.buf.is_empty() {
            let bytes = std::mem::take(&mut self.buf);
            self.send(Piece::Bytes(bytes)).await?;
        }
        Ok(())
    }

    async fn send(&mut self, piece: Piece) -> Result<(), ExportError> {
        self.tx
            .send(piece)
            .await
            .map_err(|_| ExportError::Archive("the ZIP writer stopped".to_owned()))
    }
}

/// Claims and runs the next due export; whether there was one.
pub async fn run_next(pool: &DbPool, settings: &PortabilitySettings) -> Result<bool, ExportError> {
    let job = {
        let mut conn = pool.get().await.map_err(ExportError::from)?;
        filmlog_persistence::jobs::claim::<store::ExportJobRow>(&mut conn, None)
            .await
            .map_err(ExportError::from)?
    };
    let Some(job) = job else {
        return Ok(false);
    };
    let started = Instant::now();
    let result = run(pool, settings, &job).await;
    crate::metrics::job_run("export", result.is_ok(), started.elapsed());
    if let Err(message) = result {
        if job.attempts >= 3 {
            let mut conn = pool.get().await.map_err(ExportError::from)?;
            let message = message.to_string();
            store::finish_export(&mut conn, job.id, None, Some(&message), settings.keep_days)
                .await
                .map_err(ExportError::from)?;
        }
        return Err(message);
    }
    Ok(true)
}

async fn run(
    pool: &DbPool,
    settings: &PortabilitySettings,
    job: &ExportJobRow,
) -> Result<(), ExportError> {
    let member = job.member_id;
    let mut conn = pool.get().await.map_err(ExportError::from)?;
    filmlog_persistence::jobs::clear_chunks::<ExportJobRow>(&mut conn, job.id)
        .await
        .map_err(ExportError::from)?;
    let file = tempfile::tempfile()
        .map_err(|e| ExportError::Archive(format!("no temporary file: {e}")))?;
    let (tx, mut rx) = mpsc::channel::<Piece>(16);
    let writer = tokio::task::spawn_blocking(move || -> Result<std::fs::File, ExportError> {
        let mut zip = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        while let Some(piece) = rx.blocking_recv() {
            match piece {
                Piece::File(name) => zip.start_file(name, options).map_err(ExportError::from)?,
                Piece::Bytes(b) => zip.write_all(&b).map_err(ExportError::from)?,
            }
        }
        zip.finish().map_err(ExportError::from)
    });
    let mut out = Zip {
        tx,
        buf: Vec::new(),
    };
    let written = write_all(&mut conn, member, &mut out).await;
    drop(out);
    let file = writer.await.map_err(ExportError::from)?;
    written?;
    let mut file = file?;
    // Stored in chunks, each renewing the claim.
    let total = file.stream_position().map_err(ExportError::from)?;
    file.rewind().map_err(ExportError::from)?;
    let mut chunk = vec![0u8; CHUNK];
    for n in 0.. {
        let mut filled = 0;
        while filled < CHUNK {
            let read = file.read(&mut chunk[filled..]).map_err(ExportError::from)?;
            if read == 0 {
                break;
            }
            filled += read;
        }
        if filled == 0 {
            break;
        }
        store::export_chunk(&mut conn, job.id, n, &chunk[..filled])
            .await
            .map_err(ExportError::from)?;
    }
    let bytes = i64::try_from(total).unwrap_or(i64::MAX);
    store::finish_export(&mut conn, job.id, Some(bytes), None, settings.keep_days)
        .await
        .map_err(ExportError::from)
}

/// Every page of `part`, each element handed to `each`.
async fn pages<F>(
    conn: &mut filmlog_persistence::AsyncPgConnection,
    member: MemberId,
    part: ExportPart,
    mut each: F,
) -> Result<(), ExportError>
where
    F: AsyncFnMut(Value) -> Result<(), ExportError>,
{
    let mut after = 0;
    loop {
        let page = store::export_page(conn, member, part, after, PAGE)
            .await
            .map_err(ExportError::from)?;
        let Some(last) = page.last() else { break };
        after = last.key;
        let full = page.len() as i64 == PAGE;
        for item in page {
            each(item.data).await?;
        }
        if !full {
            break;
        }
    }
    Ok(())
}

fn typed<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, ExportError> {
    serde_json::from_value(v)
        .map_err(|e| ExportError::Archive(format!("an exported row does not fit the schema: {e}")))
}

/// Letterboxd's columns naming a film.
fn film_columns(f: &ExportedFilm) -> Vec<String> {
    vec![
        f.letterboxd_uri.clone().unwrap_or_default(),
        f.tmdb_id.map(|i| i.to_string()).unwrap_or_default(),
        f.imdb_id.clone().unwrap_or_default(),
        f.title.clone(),
        f.year.map(|y| y.to_string()).unwrap_or_default(),
    ]
}

fn stars(r: Option<f64>) -> (String, String) {
    match r {
        Some(s) => (format!("{s}"), format!("{}", (s * 2.0).round() as i64)),
        None => (String::new(), String::new()),
    }
}

async fn write_all(
    conn: &mut filmlog_persistence::AsyncPgConnection,
    member: MemberId,
    out: &mut Zip,
) -> Result<(), ExportError> {
    out.file("README.txt").await?;
    out.write(README.as_bytes()).await?;
    // filmlog.json, written as it is read.
    out.file("filmlog.json").await?;
    let profile = store::export_member(conn, member)
        .await
        .map_err(ExportError::from)?
        .ok_or_else(|| ExportError::Archive("the member is gone".to_owned()))?;
    let head = serde_json::json!({
        "format": document::FORMAT,
        "version": document::VERSION,
        "exported_at": Utc::now(),
        "member": typed::<document::ExportedMember>(profile)?,
    })
    .to_string();
    // The object stays open: the arrays follow.
    out.write(head.strip_suffix('}').unwrap_or(&head).as_bytes())
        .await?;
    for (name, part) in [
        ("log_entries", ExportPart::Entries),
        ("films", ExportPart::Films),
        ("lists", ExportPart::Lists),
        ("following", ExportPart::Following),
        ("comments", ExportPart::Comments),
    ] {
        out.write(format!(",\"{name}\":[").as_bytes()).await?;
        let mut first = true;
        pages(conn, member, part, async |v| {
            // Checked against the schema, so the document is what the spec says.
            let v = match part {
                ExportPart::Entries => serde_json::to_value(typed::<ExportedEntry>(v)?),
                ExportPart::Films => serde_json::to_value(typed::<ExportedFilmState>(v)?),
                ExportPart::Lists => serde_json::to_value(typed::<ExportedList>(v)?),
                ExportPart::Following => serde_json::to_value(typed::<String>(v)?),
                ExportPart::Comments => {
                    serde_json::to_value(typed::<document::ExportedComment>(v)?)
                }
            }
            .map_err(ExportError::from)?;
            if !first {
                out.write(b",").await?;
            }
            first = false;
            out.write(v.to_string().as_bytes()).await
        })
        .await?;
        out.write(b"]").await?;
    }
    out.write(b"}").await?;

    out.file("letterboxd/diary.csv").await?;
    out.csv(
        &[
            "LetterboxdURI",
            "tmdbID",
            "imdbID",
            "Title",
            "Year",
            "WatchedDate",
            "Rating",
            "Rating10",
            "Rewatch",
            "Tags",
            "Review",
        ]
        .map(String::from),
    )
    .await?;
    pages(conn, member, ExportPart::Entries, async |v| {
        let e: ExportedEntry = typed(v)?;
        let (rating, rating10) = stars(e.rating);
        let mut row = film_columns(&e.film);
        row.extend([
            e.watched_on.map(|d| d.to_string()).unwrap_or_default(),
            rating,
            rating10,
            if e.rewatch {
                "Yes".into()
            } else {
                String::new()
            },
            e.tags.join(", "),
            e.review.unwrap_or_default(),
        ]);
        out.csv(&row).await
    })
    .await?;

    out.file("letterboxd/ratings.csv").await?;
    out.csv(
        &[
            "LetterboxdURI",
            "tmdbID",
            "imdbID",
            "Title",
            "Year",
            "Rating",
            "Rating10",
        ]
        .map(String::from),
    )
    .await?;
    pages(conn, member, ExportPart::Films, async |v| {
        let s: ExportedFilmState = typed(v)?;
        if s.rating.is_none() {
            return Ok(());
        }
        let (rating, rating10) = stars(s.rating);
        let mut row = film_columns(&s.film);
        row.extend([rating, rating10]);
        out.csv(&row).await
    })
    .await?;

    out.file("letterboxd/watchlist.csv").await?;
    out.csv(&["LetterboxdURI", "tmdbID", "imdbID", "Title", "Year"].map(String::from))
        .await?;
    pages(conn, member, ExportPart::Films, async |v| {
        let s: ExportedFilmState = typed(v)?;
        if !s.in_watchlist {
            return Ok(());
        }
        out.csv(&film_columns(&s.film)).await
    })
    .await?;

    let mut lists = Vec::new();
    pages(conn, member, ExportPart::Lists, async |v| {
        lists.push(typed::<ExportedList>(v)?);
        if lists.len() >= 20 {
            for l in lists.drain(..) {
                list_csv(out, l).await?;
            }
        }
        Ok(())
    })
    .await?;
    for l in lists {
        list_csv(out, l).await?;
    }
    out.flush().await
}

async fn list_csv(out: &mut Zip, l: ExportedList) -> Result<(), ExportError> {
    let safe: String = l
        .name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == ' ' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    out.file(&format!("letterboxd/lists/{}-{}.csv", safe.trim(), l.id))
        .await?;
    out.csv(
        &[
            "Position",
            "LetterboxdURI",
            "tmdbID",
            "imdbID",
            "Title",
            "Year",
            "Description",
        ]
        .map(String::from),
    )
    .await?;
    for e in l.entries {
        let mut row = vec![e.position.to_string()];
        row.extend(film_columns(&e.film));
        row.push(e.notes.unwrap_or_default());
        out.csv(&row).await?;
    }
    Ok(())
}
