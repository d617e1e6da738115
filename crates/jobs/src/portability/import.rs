//! An import job's phases. `stage`: the archive is read into rows (a problem row for whatever
//! cannot be read). `plan`: repeated rows are skipped, reviews joined to their diary rows, films
//! matched. `apply`: rows are applied in batches, each batch one transaction that also records its
//! rows' decisions, so a job resumed after a restart goes on from the first row not applied. A dry
//! run rehearses `apply` in one transaction that is rolled back, recording every decision through
//! a second connection: what it reports is exactly what applying would have done then.

use std::collections::HashMap;
use std::io::{Seek, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel_async::AsyncConnection;
use filmlog_domain::portability::ImportPhase::{self, Apply, Finished, Plan, Stage};
use filmlog_domain::portability::JobStatus::{Done, Failed, NeedsReview};
use filmlog_domain::portability::{
    APPLY_ORDER, Action, Candidate, best_match, page_title, title_key,
};
use filmlog_domain::{FilmId, ImportJobId, MemberId, latest_today};
use filmlog_persistence::portability::{self as store, ImportJobRow, ImportRow, Lease, SourceRow};
use filmlog_persistence::{AsyncPgConnection, DbPool, PersistenceError};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::PortabilitySettings;
use super::reader::{self, Staged};
use filmlog_app::ops::OpError;
use filmlog_app::ops::imports::{self as ops, Decision, Run};

/// How often progress is written while a job runs (the issue asks for at least once a second).
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// Attempts before a job that keeps failing on the database is given up.
const MAX_ATTEMPTS: i32 = store::MAX_ATTEMPTS;

/// Why a job's turn ended early.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// The job was cancelled (or is no longer this worker's).
    #[error("the job was stopped")]
    Stopped,
    /// The archive cannot be read: the job fails with this message.
    #[error("{0}")]
    Archive(String),
    /// A row of a batch applied without savepoints was refused: apply the batch again, carefully.
    #[error("a row was refused")]
    Careful,
    /// A rehearsal's end: its transaction is rolled back.
    #[error("rehearsed")]
    Rehearsed,
    /// The database failed: the job is tried again after its claim lapses.
    #[error("database: {0}")]
    Db(String),
}

impl From<PersistenceError> for JobError {
    fn from(e: PersistenceError) -> Self {
        JobError::Db(e.to_string())
    }
}

impl From<diesel::result::Error> for JobError {
    fn from(e: diesel::result::Error) -> Self {
        JobError::Db(e.to_string())
    }
}

impl From<OpError> for JobError {
    fn from(e: OpError) -> Self {
        JobError::Db(e.to_string())
    }
}

/// A callback told each progress record as it is written (the command line's progress bar).
pub type OnProgress<'a> = &'a mut (dyn FnMut(&Value) + Send);

/// Claims and runs the next due import (`only`: that one, if it is due); whether there was one.
pub async fn run_next(
    pool: &DbPool,
    settings: &PortabilitySettings,
    only: Option<ImportJobId>,
    on_progress: OnProgress<'_>,
) -> Result<bool, JobError> {
    let job = {
        let mut conn = pool.get().await.map_err(PersistenceError::from)?;
        store::give_up_abandoned_imports(&mut conn).await?;
        filmlog_persistence::jobs::claim::<store::ImportJobRow>(&mut conn, only).await?
    };
    let Some(job) = job else {
        return Ok(false);
    };
    run(pool, settings, job, on_progress).await?;
    Ok(true)
}

/// Runs a claimed job to its next resting state (needs_review, done, failed), or until it is
/// cancelled, or until the database fails (then another turn resumes it).
pub async fn run(
    pool: &DbPool,
    settings: &PortabilitySettings,
    job: ImportJobRow,
    on_progress: OnProgress<'_>,
) -> Result<(), JobError> {
    let started = Instant::now();
    let lease = job.lease();
    // The claim is kept alive by a heartbeat of its own, whatever the job is doing; the heartbeat
    // tells the job to stop when the job is no longer this worker's.
    let stop = Arc::new(AtomicBool::new(false));
    let heartbeat = AbortOnDrop(tokio::spawn(keep_claim(
        pool.clone(),
        lease,
        settings.heartbeat,
        stop.clone(),
    )));
    let result = tokio::time::timeout(
        settings.job_budget,
        phases(pool, settings, &job, stop, on_progress),
    )
    .await
    .unwrap_or_else(|_| {
        Err(JobError::Archive(format!(
            "the import did not finish within its time budget of {} minutes: split the export into smaller ones",
            settings.job_budget.as_secs().div_ceil(60)
        )))
    });
    drop(heartbeat);
    crate::metrics::job_run("import", result.is_ok(), started.elapsed());
    let mut conn = pool.get().await.map_err(PersistenceError::from)?;
    match result {
        Ok(()) | Err(JobError::Stopped | JobError::Rehearsed | JobError::Careful) => Ok(()),
        Err(JobError::Archive(message)) => {
            store::finish_import(&mut conn, lease, Failed, Finished, Some(&message)).await?;
            Ok(())
        }
        Err(JobError::Db(message)) if job.attempts >= MAX_ATTEMPTS => {
            let why = format!("gave up after {MAX_ATTEMPTS} attempts: {message}");
            store::finish_import(&mut conn, lease, Failed, Finished, Some(&why)).await?;
            Err(JobError::Db(message))
        }
        Err(JobError::Db(message)) => {
            // Shown on the job while it waits for its next attempt.
            let shown = format!("attempt {} failed, will retry: {message}", job.attempts);
            store::note_error(&mut conn, lease, &shown).await?;
            Err(JobError::Db(message))
        }
    }
}

/// Aborts its task when dropped (also when the job's future is dropped mid-way).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Renews `lease` every `every` until aborted; raises `stop` once the job is no longer this
/// worker's. A failed renewal is tried again at the next beat (if the claim lapses meanwhile,
/// another worker takes the job over and this one's writes stop applying).
pub async fn keep_claim(pool: DbPool, lease: Lease, every: Duration, stop: Arc<AtomicBool>) {
    loop {
        tokio::time::sleep(every).await;
        let renewed = match pool.get().await {
            Ok(mut conn) => store::renew_import(&mut conn, lease).await,
            Err(e) => Err(PersistenceError::from(e)),
        };
        match renewed {
            Ok(true) => {}
            Ok(false) => {
                stop.store(true, Ordering::Relaxed);
                return;
            }
            Err(error) => tracing::warn!(job = lease.job.get(), %error, "import claim not renewed"),
        }
    }
}

/// Runs `$body` (on the connection `$c`, answering `Result<_, JobError>`) in a transaction on
/// `$conn` while `$lease` holds its job: the claim is renewed first, which locks the job's row
/// against a takeover until the transaction ends (the heartbeat and a member's cancel wait for it
/// too), so a worker whose claim was taken over writes nothing more.
macro_rules! fenced {
    ($conn:expr, $lease:expr, |$c:ident| $body:expr) => {
        $conn
            .transaction(async |$c| {
                if !store::renew_import($c, $lease).await? {
                    return Err(JobError::Stopped);
                }
                $body
            })
            .await
    };
}

async fn phases(
    pool: &DbPool,
    settings: &PortabilitySettings,
    job: &ImportJobRow,
    stop: Arc<AtomicBool>,
    on_progress: OnProgress<'_>,
) -> Result<(), JobError> {
    let lease = job.lease();
    let mut tracker = Tracker::new(lease, stop, on_progress);
    let mut phase = job.phase;
    if phase == Stage {
        stage(pool, job, &mut tracker).await?;
        next_phase(pool, lease, Plan).await?;
        phase = Plan;
    }
    if phase == Plan {
        plan(pool, job.id, job.member_id, &mut tracker).await?;
        next_phase(pool, lease, Apply).await?;
        phase = Apply;
    }
    if phase == Apply {
        let member = job.member_id;
        let mut conn = conn(pool).await?;
        if job.dry_run {
            rehearse(pool, settings, job.id, member, &mut tracker).await?;
            store::finish_import(&mut conn, lease, NeedsReview, Apply, None).await?;
        } else {
            apply(pool, settings, job.id, member, &mut tracker).await?;
            store::finish_import(&mut conn, lease, Done, Finished, None).await?;
        }
    }
    Ok(())
}

async fn conn(pool: &DbPool) -> Result<filmlog_persistence::DbConn, JobError> {
    pool.get()
        .await
        .map_err(|e| JobError::Db(PersistenceError::from(e).to_string()))
}

async fn next_phase(pool: &DbPool, lease: Lease, phase: ImportPhase) -> Result<(), JobError> {
    let mut conn = conn(pool).await?;
    if store::import_phase(&mut conn, lease, phase).await? {
        Ok(())
    } else {
        Err(JobError::Stopped)
    }
}

/// Writes progress at most every [`PROGRESS_EVERY`] (and when forced), renewing the claim; stops
/// the job when it was cancelled or is no longer this worker's.
struct Tracker<'b> {
    lease: Lease,
    stop: Arc<AtomicBool>,
    on_progress: OnProgress<'b>,
    phase: ImportPhase,
    file: Option<String>,
    rows_done: u64,
    rows_total: u64,
    written: Option<Instant>,
}

impl<'b> Tracker<'b> {
    fn new(lease: Lease, stop: Arc<AtomicBool>, on_progress: OnProgress<'b>) -> Self {
        Tracker {
            lease,
            stop,
            on_progress,
            phase: Stage,
            file: None,
            rows_done: 0,
            rows_total: 0,
            written: None,
        }
    }

    async fn tick(&mut self, conn: &mut AsyncPgConnection, force: bool) -> Result<(), JobError> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(JobError::Stopped);
        }
        if !force && self.written.is_some_and(|w| w.elapsed() < PROGRESS_EVERY) {
            return Ok(());
        }
        let progress = json!({
            "phase": self.phase.as_str(),
            "file": self.file,
            "rows_done": self.rows_done,
            "rows_total": self.rows_total.max(self.rows_done),
        });
        self.written = Some(Instant::now());
        (self.on_progress)(&progress);
        if store::import_progress(conn, self.lease, &progress).await? {
            Ok(())
        } else {
            Err(JobError::Stopped)
        }
    }
}

/// Reads the archive into rows (an interrupted staging starts again from the first file).
async fn stage(
    pool: &DbPool,
    job: &ImportJobRow,
    tracker: &mut Tracker<'_>,
) -> Result<(), JobError> {
    let mut conn = conn(pool).await?;
    let lease = tracker.lease;
    fenced!(conn, lease, |c| Ok(store::clear_rows(c, job.id).await?))?;
    tracker.phase = Stage;
    tracker.tick(&mut conn, true).await?;
    let mut file =
        tempfile::tempfile().map_err(|e| JobError::Db(format!("no temporary file: {e}")))?;
    for n in 0.. {
        let Some(bytes) =
            filmlog_persistence::jobs::chunk::<ImportJobRow>(&mut conn, job.id, n).await?
        else {
            break;
        };
        file.write_all(&bytes)
            .map_err(|e| JobError::Db(format!("temporary file: {e}")))?;
    }
    file.rewind()
        .map_err(|e| JobError::Db(format!("temporary file: {e}")))?;
    // Rows in flight: the channel's 64 and a batch of at most 500 rows or BATCH_BYTES; a row
    // holds at most a cell of 1 MiB, so an import holds some tens of MiB at worst.
    let (tx, mut rx) = mpsc::channel(64);
    let mut batch_bytes = 0;
    let today = latest_today();
    let reading = tokio::task::spawn_blocking(move || reader::read(file, today, &tx));
    let mut batch = Vec::new();
    let mut seq: i32 = 1;
    let mut stopped = None;
    while let Some(message) = rx.recv().await {
        let result = async {
            match message {
                Staged::Row(row) => {
                    batch_bytes += weight(&row);
                    batch.push(row);
                    if batch.len() >= 500 || batch_bytes >= BATCH_BYTES {
                        batch_bytes = 0;
                        fenced!(conn, lease, |c| Ok(store::stage_rows(
                            c, job.id, seq, &batch
                        )
                        .await?))?;
                        seq += i32::try_from(batch.len()).unwrap_or(0);
                        batch.clear();
                        tracker.tick(&mut conn, false).await?;
                    }
                }
                Staged::File { name, rows } => {
                    tracker.file = Some(name);
                    tracker.rows_done = 0;
                    tracker.rows_total = rows;
                    tracker.tick(&mut conn, true).await?;
                }
                Staged::Progress(n) => {
                    tracker.rows_done = n;
                    tracker.tick(&mut conn, false).await?;
                }
                Staged::Source(source) => store::set_source(&mut conn, lease, source).await?,
            }
            Ok::<_, JobError>(())
        }
        .await;
        if let Err(e) = result {
            stopped = Some(e);
            break;
        }
    }
    drop(rx);
    let read = reading
        .await
        .map_err(|e| JobError::Db(format!("the archive reader stopped: {e}")))?;
    if let Some(e) = stopped {
        return Err(e);
    }
    read.map_err(|e| JobError::Archive(e.to_string()))?;
    fenced!(conn, lease, |c| Ok(store::stage_rows(
        c, job.id, seq, &batch
    )
    .await?))?;
    Ok(())
}

/// The text a staged batch may hold before it is written (one statement carries it).
const BATCH_BYTES: usize = 8 << 20;

/// About how many bytes of text a staged row holds.
fn weight(row: &store::NewImportRow) -> usize {
    fn text(v: &Value) -> usize {
        match v {
            Value::String(s) => s.len(),
            Value::Array(a) => a.iter().map(text).sum(),
            Value::Object(o) => o.iter().map(|(k, v)| k.len() + text(v)).sum(),
            _ => 8,
        }
    }
    row.file.len()
        + row.source_key.as_ref().map_or(0, String::len)
        + row.note.as_ref().map_or(0, String::len)
        + row.item.as_ref().map_or(0, text)
}

/// Skips repeated rows, joins reviews to their diary rows and matches films.
async fn plan(
    pool: &DbPool,
    job: ImportJobId,
    member: MemberId,
    tracker: &mut Tracker<'_>,
) -> Result<(), JobError> {
    let mut conn = conn(pool).await?;
    tracker.phase = Plan;
    tracker.file = None;
    tracker.rows_done = 0;
    tracker.rows_total = 0;
    tracker.tick(&mut conn, true).await?;
    let lease = tracker.lease;
    store::analyze_rows(&mut conn).await?;
    fenced!(conn, lease, |c| {
        store::skip_repeats(c, job).await?;
        store::join_reviews(c, job).await?;
        Ok(store::match_by_ids(c, job, member).await?)
    })?;
    let mut wanted = store::unmatched(&mut conn, job).await?;
    wanted.sort_by_key(|w| w.year);
    tracker.rows_total = wanted.len() as u64;
    // The catalog's films by year, read once per year, folded once and kept by folded title (a
    // year of the catalog can hold tens of thousands of films); years behind the one being matched
    // are dropped (the wanted titles come in year order).
    type Folded = HashMap<String, Vec<Candidate>>;
    let mut by_year: HashMap<Option<i32>, Folded> = HashMap::new();
    let mut found = Vec::new();
    for w in &wanted {
        let years: Vec<Option<i32>> = match w.year {
            Some(y) => vec![Some(y - 1), Some(y), Some(y + 1)],
            None => vec![None],
        };
        for y in &years {
            if !by_year.contains_key(y) {
                let mut folded: Folded = HashMap::new();
                for f in store::films_of_year(&mut conn, member, *y).await? {
                    let c = Candidate {
                        id: f.id,
                        year: f.year,
                        verified: f.verified,
                    };
                    // Every title it is known by, and the title its Wikipedia page names.
                    let page = f.wikipedia_page.as_deref().map(page_title);
                    let mut keys: Vec<String> = std::iter::once(f.title.as_str())
                        .chain(f.original_title.as_deref())
                        .chain(f.alternative_titles.iter().flatten().map(String::as_str))
                        .chain(page.as_deref())
                        .map(title_key)
                        .collect();
                    keys.sort();
                    keys.dedup();
                    for key in keys {
                        folded.entry(key).or_default().push(c.clone());
                    }
                }
                by_year.insert(*y, folded);
            }
        }
        if let Some(y) = w.year {
            by_year.retain(|k, _| k.is_none_or(|k| k >= y - 1));
        }
        let key = title_key(&w.name);
        let mut candidates: Vec<Candidate> = years
            .iter()
            .filter_map(|y| by_year.get(y)?.get(&key))
            .flatten()
            .cloned()
            .collect();
        candidates.sort_by_key(|c| c.id);
        candidates.dedup_by_key(|c| c.id);
        if let Some((id, by)) = best_match(&candidates, w.year) {
            found.push((w.name.clone(), w.year, id, by));
        }
        tracker.rows_done += 1;
        if found.len() >= 1000 {
            fenced!(conn, lease, |c| Ok(store::set_films(c, job, &found).await?))?;
            found.clear();
        }
        tracker.tick(&mut conn, false).await?;
    }
    fenced!(conn, lease, |c| {
        store::set_films(c, job, &found).await?;
        store::mark_unmatched(c, job).await?;
        Ok(store::order_rows(c, job, &APPLY_ORDER).await?)
    })
}

/// Applies one row in a savepoint: a row refused by a rule or by the database (a value out of a
/// column's range) is rolled back and `skip`ped with the reason, and the batch goes on; a failure of
/// the database itself stops the batch.
async fn apply_one(
    conn: &mut AsyncPgConnection,
    run: &mut Run,
    row: &ImportRow,
    previous: Option<SourceRow>,
) -> Result<Decision, JobError> {
    let result = conn
        .transaction(async |sp| ops::apply(sp, run, row, previous).await)
        .await;
    match result {
        Ok(d) => Ok(d),
        Err(OpError::Persistence(
            e @ (PersistenceError::Unavailable(_) | PersistenceError::SerializationFailure),
        )) => Err(JobError::Db(e.to_string())),
        Err(e) => {
            run.forget_last_created();
            Ok(ops::refused(&e).unwrap_or_else(|| Decision {
                action: filmlog_domain::portability::Action::Skip,
                note: Some(format!("could not be stored: {e}")),
                film: None,
            }))
        }
    }
}

/// Applies a batch of rows inside the caller's transaction: all at once, or (when `careful`) each in
/// a savepoint of its own. Without savepoints a refused row fails the batch with
/// [`JobError::Careful`], and the caller rolls it back and applies it again carefully: savepoints
/// cost two round trips a row, and almost every batch needs none.
async fn apply_batch(
    conn: &mut AsyncPgConnection,
    run: &mut Run,
    rows: &[ImportRow],
    careful: bool,
    rehearsal: bool,
) -> Result<Vec<Decided>, JobError> {
    // What the batch's keys made when imported before, read in one query.
    let keys: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.source_key.as_deref())
        .collect();
    let mut before: HashMap<String, SourceRow> = store::sources(conn, run.member, &keys)
        .await?
        .into_iter()
        .map(|s| (s.source_key.clone(), s))
        .collect();
    let mut decisions = Vec::with_capacity(rows.len());
    for row in rows {
        let previous = row.source_key.as_deref().and_then(|k| before.remove(k));
        let d = if careful {
            apply_one(conn, run, row, previous).await?
        } else {
            match ops::apply(conn, run, row, previous).await {
                Ok(d) => d,
                Err(OpError::Persistence(
                    e @ (PersistenceError::Unavailable(_) | PersistenceError::SerializationFailure),
                )) => return Err(JobError::Db(e.to_string())),
                Err(_) => return Err(JobError::Careful),
            }
        };
        decisions.push(decided(row, d, rehearsal));
    }
    Ok(decisions)
}

type Decided = (i32, Action, Option<String>, Option<FilmId>);

fn decided(row: &ImportRow, d: Decision, rehearsal: bool) -> Decided {
    let note = match (&row.note, d.note) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => b.or_else(|| a.clone()),
    };
    // A rehearsal's new films are rolled back: its decisions name only films that stay.
    let film = if rehearsal && row.film_id.is_none() {
        None
    } else {
        d.film
    };
    (row.seq, d.action, note, film)
}

async fn count_pending(conn: &mut AsyncPgConnection, job: ImportJobId) -> Result<u64, JobError> {
    let n: i64 = store::counts(conn, &[job])
        .await?
        .iter()
        .map(|c| c.pending)
        .sum();
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Applies the rows not applied yet, a batch per transaction.
async fn apply(
    pool: &DbPool,
    settings: &PortabilitySettings,
    job: ImportJobId,
    member: MemberId,
    tracker: &mut Tracker<'_>,
) -> Result<(), JobError> {
    let mut conn = conn(pool).await?;
    tracker.phase = Apply;
    tracker.rows_total = count_pending(&mut conn, job).await?;
    tracker.rows_done = 0;
    tracker.tick(&mut conn, true).await?;
    let mut run = Run::new(job, member, true);
    let limit = i64::try_from(settings.batch).unwrap_or(250);
    loop {
        let rows = store::pending(&mut conn, job, 0, limit).await?;
        let Some(last) = rows.last() else { break };
        tracker.file = Some(last.file.clone());
        let mut careful = false;
        loop {
            let saved = run.created_films();
            let lease = tracker.lease;
            let outcome = fenced!(conn, lease, |c| {
                let decisions = apply_batch(c, &mut run, &rows, careful, false).await?;
                Ok(store::decided(c, job, &decisions).await?)
            });
            match outcome {
                Err(JobError::Careful) if !careful => {
                    run.restore_created_films(saved);
                    careful = true;
                }
                other => break other?,
            }
        }
        tracker.rows_done += rows.len() as u64;
        tracker.tick(&mut conn, false).await?;
    }
    tracker.tick(&mut conn, true).await?;
    Ok(())
}

/// Rehearses [`apply`] in one transaction that is rolled back; decisions are recorded through a
/// second connection as they are taken.
async fn rehearse(
    pool: &DbPool,
    settings: &PortabilitySettings,
    job: ImportJobId,
    member: MemberId,
    tracker: &mut Tracker<'_>,
) -> Result<(), JobError> {
    let mut log = conn(pool).await?;
    let lease = tracker.lease;
    fenced!(log, lease, |c| Ok(store::reset_decisions(c, job).await?))?;
    tracker.phase = Apply;
    tracker.rows_total = count_pending(&mut log, job).await?;
    tracker.rows_done = 0;
    tracker.tick(&mut log, true).await?;
    let mut work = conn(pool).await?;
    let mut run = Run::new(job, member, false);
    let limit = i64::try_from(settings.batch).unwrap_or(250);
    let run = &mut run;
    let log = &mut log;
    let result = work
        .transaction(async |c| {
            let mut after = 0;
            loop {
                let rows = store::pending(log, job, after, limit).await?;
                let Some(last) = rows.last() else { break };
                after = last.seq;
                tracker.file = Some(last.file.clone());
                // Each batch in a savepoint: all at once, else row by row (see `apply_batch`).
                let saved = run.created_films();
                let fast = c
                    .transaction(async |sp| apply_batch(sp, run, &rows, false, true).await)
                    .await;
                let decisions = match fast {
                    Err(JobError::Careful) => {
                        run.restore_created_films(saved);
                        apply_batch(c, run, &rows, true, true).await?
                    }
                    other => other?,
                };
                fenced!(
                    log,
                    lease,
                    |l| Ok(store::decided(l, job, &decisions).await?)
                )?;
                tracker.rows_done += rows.len() as u64;
                tracker.tick(log, false).await?;
            }
            // Done: nothing of it may stay.
            Err::<(), _>(JobError::Rehearsed)
        })
        .await;
    match result {
        Err(JobError::Rehearsed) => tracker.tick(log, true).await,
        Err(e) => Err(e),
        Ok(()) => Ok(()),
    }
}
