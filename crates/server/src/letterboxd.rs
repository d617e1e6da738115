//! `filmlog import-letterboxd USERNAME ZIP`: imports a member's Letterboxd export (or Filmlog
//! export) as the API's import job does, in this process, with a progress bar: for operators moving
//! a community.

use std::path::Path;

use filmlog_domain::portability::MAX_ARCHIVE_BYTES;
use filmlog_jobs::portability::{PortabilitySettings, import};
use filmlog_persistence::portability as store;
use filmlog_persistence::{build_pool, members};

use crate::failure::InputError;
use crate::{BoxError, Settings};

pub async fn run(
    settings: &Settings,
    username: &str,
    zip: &Path,
    dry_run: bool,
) -> Result<(), BoxError> {
    let path = zip.display();
    let bytes = std::fs::read(zip).map_err(|e| InputError(format!("cannot read {path}: {e}")))?;
    if bytes.len() as u64 > MAX_ARCHIVE_BYTES {
        return Err(InputError(format!("{path} is larger than 50 MiB")).into());
    }
    if !filmlog_domain::portability::looks_like_zip(&bytes) {
        return Err(InputError(format!("{path} is not a ZIP archive")).into());
    }
    let pool = build_pool(settings.database_url()?, &settings.pool)?;
    let mut conn = pool
        .get()
        .await
        .map_err(filmlog_persistence::PersistenceError::from)?;
    let member = members::find_by_username(&mut conn, username)
        .await?
        .ok_or_else(|| format!("no member is called {username}"))?;
    if let Some(open) =
        filmlog_persistence::jobs::open::<store::ImportJobRow>(&mut conn, member.id).await?
    {
        return Err(
            format!("{username} has an unfinished import ({open}); cancel it first").into(),
        );
    }
    // One transaction: no worker sees the job before its whole archive is stored.
    let job = diesel_async::AsyncConnection::transaction(&mut conn, async |conn| {
        let job = store::create_import(conn, member.id, dry_run, bytes.len() as u64).await?;
        for (n, chunk) in (0..).zip(bytes.chunks(filmlog_jobs::portability::export::CHUNK)) {
            filmlog_persistence::jobs::add_chunk::<store::ImportJobRow>(conn, job.id, n, chunk)
                .await?;
        }
        Ok::<_, filmlog_persistence::PersistenceError>(job)
    })
    .await?;
    drop(conn);
    println!("import {} of {path} for {username}", job.id);
    let bar = crate::progress_bar("reading", 0);
    let portability = PortabilitySettings::new(&[]);
    let mut on_progress = |p: &serde_json::Value| {
        let number = |k: &str| p.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
        let phase = p.get("phase").and_then(|v| v.as_str()).unwrap_or("");
        let file = p.get("file").and_then(|v| v.as_str()).unwrap_or("");
        let name = file.rsplit('/').next().unwrap_or(file);
        bar.set_message(format!("{phase} {name}"));
        bar.set_length(number("rows_total"));
        bar.set_position(number("rows_done"));
    };
    let ran = import::run_next(&pool, &portability, Some(job.id), &mut on_progress).await?;
    bar.finish_and_clear();
    if !ran {
        return Err(
            "the job was taken by a running server's worker; follow it with GET /me/imports".into(),
        );
    }
    let mut conn = pool
        .get()
        .await
        .map_err(filmlog_persistence::PersistenceError::from)?;
    let job = filmlog_persistence::jobs::of::<store::ImportJobRow>(&mut conn, None, job.id)
        .await?
        .ok_or("the import job is gone")?;
    println!("status: {}", job.status);
    let (mut unmatched, mut problems) = (0, 0);
    for f in store::counts(&mut conn, &[job.id]).await? {
        println!(
            "  {}: {} rows; created {}, updated {}, unchanged {}, skipped {}",
            f.file, f.rows, f.created, f.updated, f.unchanged, f.skipped
        );
        unmatched += f.unmatched;
        problems += f.skipped;
    }
    println!(
        "films the catalog lacked (created unverified): {unmatched} rows; skipped rows: {problems}"
    );
    for row in store::rows(&mut conn, job.id, 0, 20, Some("problems")).await? {
        println!(
            "  {} line {}: {}",
            row.file,
            row.line,
            row.note.unwrap_or_default()
        );
    }
    if let Some(error) = job.error {
        return Err(InputError(error).into());
    }
    Ok(())
}
