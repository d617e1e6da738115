//! Imports and exports as durable jobs: the uploaded archive and the export kept in chunks, the
//! staged rows of an import with the decision taken for each, and what each imported source row
//! became (so importing again changes only what changed).

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Integer, Jsonb, Nullable, Text};
use diesel::{
    ExpressionMethods, OptionalExtension, QueryDsl, Queryable, QueryableByName, Selectable,
    SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::portability::{Action, ImportPhase, JobStatus, MatchedBy};
use filmlog_domain::{ExportJobId, FilmId, ImportJobId, ListId, LogEntryId, MemberId};

use crate::types::{DbName, NullableId, NullableName};
use serde_json::Value;

use crate::Result;
use crate::schema::{export_jobs, import_chunks, import_jobs, import_rows, import_sources};

/// A claim's end: [`crate::jobs::CLAIM_SECS`] (60) from now; the interval is written out so the
/// expression stays a literal diesel can use in a `SET`.
fn claim_deadline() -> diesel::expression::SqlLiteral<Nullable<diesel::sql_types::Timestamptz>> {
    diesel::dsl::sql("now() + interval '60 seconds'")
}

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = import_jobs, check_for_backend(diesel::pg::Pg))]
pub struct ImportJobRow {
    #[diesel(deserialize_as = i64)]
    pub id: ImportJobId,
    #[diesel(deserialize_as = i64)]
    pub member_id: MemberId,
    #[diesel(deserialize_as = DbName<JobStatus>)]
    pub status: JobStatus,
    #[diesel(deserialize_as = DbName<ImportPhase>)]
    pub phase: ImportPhase,
    pub dry_run: bool,
    pub source: Option<String>,
    pub archive_bytes: i64,
    pub progress: Value,
    pub error: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Creates a queued import of an archive of `archive_bytes` (stored with
/// [`crate::jobs::add_chunk`]).
pub async fn create_import(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    dry_run: bool,
    archive_bytes: u64,
) -> Result<ImportJobRow> {
    Ok(diesel::insert_into(import_jobs::table)
        .values((
            import_jobs::member_id.eq(member.get()),
            import_jobs::dry_run.eq(dry_run),
            import_jobs::archive_bytes.eq(i64::try_from(archive_bytes).unwrap_or(i64::MAX)),
        ))
        .returning(ImportJobRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The member's imports, newest first.
pub async fn imports_of(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    limit: i64,
) -> Result<Vec<ImportJobRow>> {
    Ok(import_jobs::table
        .filter(import_jobs::member_id.eq(member.get()))
        .order(import_jobs::id.desc())
        .limit(limit)
        .select(ImportJobRow::as_select())
        .load(conn)
        .await?)
}

/// A worker's hold on a claimed job: the job and the attempt it claimed. Every write of a running
/// job names it, so a worker whose claim lapsed and was taken over by another writes nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub job: ImportJobId,
    pub attempt: i32,
}

impl ImportJobRow {
    /// The lease of a job this worker has just claimed.
    pub fn lease(&self) -> Lease {
        Lease {
            job: self.id,
            attempt: self.attempts,
        }
    }
}

/// The running job `lease` holds.
#[diesel::dsl::auto_type]
fn held(job: i64, attempt: i32) -> _ {
    import_jobs::table
        .filter(import_jobs::id.eq(job))
        // `JobStatus::Running` (auto_type takes a literal).
        .filter(import_jobs::status.eq("running"))
        .filter(import_jobs::attempts.eq(attempt))
}

/// Keeps the claim alive (the worker's heartbeat, independent of its progress); `false` when the
/// job is no longer this worker's (cancelled, or taken over after the claim lapsed). In a
/// transaction it also fences the writes after it: the job's row stays locked until the
/// transaction ends (a claim skips locked jobs).
pub async fn renew_import(conn: &mut AsyncPgConnection, lease: Lease) -> Result<bool> {
    let n = diesel::update(held(lease.job.get(), lease.attempt))
        .set(import_jobs::claimed_until.eq(claim_deadline()))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Fails the running jobs whose claim lapsed after [`MAX_ATTEMPTS`] claims: their worker stopped,
/// or ran out of its time budget, every time. Without this a job that kills or pins its worker
/// would move from instance to instance for ever.
pub async fn give_up_abandoned_imports(conn: &mut AsyncPgConnection) -> Result<usize> {
    let ids: Vec<i64> = diesel::update(
        import_jobs::table
            .filter(import_jobs::status.eq(JobStatus::Running.as_str()))
            .filter(import_jobs::claimed_until.lt(diesel::dsl::now))
            .filter(import_jobs::attempts.ge(MAX_ATTEMPTS)),
    )
    .set((
        import_jobs::status.eq(JobStatus::Failed.as_str()),
        import_jobs::phase.eq(ImportPhase::Finished.as_str()),
        import_jobs::error.eq(ABANDONED),
        import_jobs::claimed_until.eq(None::<DateTime<Utc>>),
        import_jobs::updated_at.eq(diesel::dsl::now),
        import_jobs::finished_at.eq(Some(Utc::now())),
    ))
    .returning(import_jobs::id)
    .get_results(conn)
    .await?;
    if !ids.is_empty() {
        diesel::delete(import_chunks::table.filter(import_chunks::job_id.eq_any(&ids)))
            .execute(conn)
            .await?;
    }
    Ok(ids.len())
}

/// Claims of a job before it is given up.
pub const MAX_ATTEMPTS: i32 = 5;

/// The error of a job given up by [`give_up_abandoned_imports`].
pub const ABANDONED: &str =
    "the import was given up: its worker stopped or ran out of time on every attempt it was given";

/// Renews the worker's claim and records progress; `false` when the job is no longer this
/// worker's to run (cancelled, or taken over).
pub async fn import_progress(
    conn: &mut AsyncPgConnection,
    lease: Lease,
    progress: &Value,
) -> Result<bool> {
    let n = diesel::update(held(lease.job.get(), lease.attempt))
        .set((
            import_jobs::progress.eq(progress),
            import_jobs::claimed_until.eq(claim_deadline()),
            import_jobs::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Moves a running job to its next phase (still claimed by this worker).
pub async fn import_phase(
    conn: &mut AsyncPgConnection,
    lease: Lease,
    phase: ImportPhase,
) -> Result<bool> {
    let n = diesel::update(held(lease.job.get(), lease.attempt))
        .set((
            import_jobs::phase.eq(phase.as_str()),
            import_jobs::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Ends a running job's turn: `status` is `needs_review`, `done` or `failed`.
pub async fn finish_import(
    conn: &mut AsyncPgConnection,
    lease: Lease,
    status: JobStatus,
    phase: ImportPhase,
    error: Option<&str>,
) -> Result<bool> {
    let id = lease.job;
    let finished = status.is_final();
    let n = diesel::update(held(lease.job.get(), lease.attempt))
        .set((
            import_jobs::status.eq(status.as_str()),
            import_jobs::phase.eq(phase.as_str()),
            import_jobs::error.eq(error),
            import_jobs::claimed_until.eq(None::<DateTime<Utc>>),
            import_jobs::updated_at.eq(diesel::dsl::now),
            import_jobs::finished_at.eq(finished.then(Utc::now)),
        ))
        .execute(conn)
        .await?;
    // The archive goes with the job's end, and only the holder's: a stale worker must not take it
    // from the one that holds the job now.
    if finished && n == 1 {
        crate::jobs::clear_chunks::<ImportJobRow>(conn, id).await?;
    }
    Ok(n == 1)
}

/// Records what kind of export the archive is (`letterboxd`, `filmlog`), once it is known.
pub async fn set_source(conn: &mut AsyncPgConnection, lease: Lease, source: &str) -> Result<()> {
    diesel::update(held(lease.job.get(), lease.attempt))
        .set(import_jobs::source.eq(source))
        .execute(conn)
        .await?;
    Ok(())
}

/// Records why a job's attempt failed (it is tried again when its claim lapses).
pub async fn note_error(conn: &mut AsyncPgConnection, lease: Lease, error: &str) -> Result<()> {
    diesel::update(held(lease.job.get(), lease.attempt))
        .set(import_jobs::error.eq(error))
        .execute(conn)
        .await?;
    Ok(())
}

/// A reviewed dry run goes back to the queue to be applied (call in a transaction); `false` when
/// it was not waiting.
pub async fn confirm_import(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    id: ImportJobId,
) -> Result<bool> {
    let n = diesel::update(
        import_jobs::table
            .find(id.get())
            .filter(import_jobs::member_id.eq(member.get()))
            .filter(import_jobs::status.eq(JobStatus::NeedsReview.as_str())),
    )
    .set((
        import_jobs::status.eq(JobStatus::Queued.as_str()),
        import_jobs::dry_run.eq(false),
        import_jobs::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await?;
    if n == 1 {
        // The rehearsal's decisions are forgotten: applying decides again.
        reset_decisions(conn, id).await?;
    }
    Ok(n == 1)
}

/// Cancels an import that has not finished; what a running job applied before stays. `false` when
/// it had finished.
pub async fn cancel_import(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    id: ImportJobId,
) -> Result<bool> {
    let open = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::NeedsReview,
    ]
    .map(JobStatus::as_str);
    let n = diesel::update(
        import_jobs::table
            .find(id.get())
            .filter(import_jobs::member_id.eq(member.get()))
            .filter(import_jobs::status.eq_any(open)),
    )
    .set((
        import_jobs::status.eq(JobStatus::Cancelled.as_str()),
        import_jobs::claimed_until.eq(None::<DateTime<Utc>>),
        import_jobs::updated_at.eq(diesel::dsl::now),
        import_jobs::finished_at.eq(Some(Utc::now())),
    ))
    .execute(conn)
    .await?;
    if n == 1 {
        diesel::delete(import_chunks::table.filter(import_chunks::job_id.eq(id.get())))
            .execute(conn)
            .await?;
    }
    Ok(n == 1)
}

/// A staged row: one source row (or one problem) of the archive.
#[derive(Debug, Clone)]
pub struct NewImportRow {
    pub file: String,
    pub line: i32,
    pub kind: String,
    pub source_key: Option<String>,
    /// `{"film": FilmRef, "item": Item}`.
    pub item: Option<Value>,
    pub action: Option<Action>,
    pub note: Option<String>,
}

/// Forgets what an interrupted staging wrote, so staging starts again from the archive's start.
pub async fn clear_rows(conn: &mut AsyncPgConnection, job: ImportJobId) -> Result<()> {
    diesel::delete(import_rows::table.filter(import_rows::job_id.eq(job.get())))
        .execute(conn)
        .await?;
    Ok(())
}

/// Appends `rows` numbered from `first_seq`.
pub async fn stage_rows(
    conn: &mut AsyncPgConnection,
    job: ImportJobId,
    first_seq: i32,
    rows: &[NewImportRow],
) -> Result<()> {
    let values: Vec<_> = rows
        .iter()
        .zip(first_seq..)
        .map(|(r, seq)| {
            let film = r.item.as_ref().and_then(|i| i.get("film"));
            (
                import_rows::job_id.eq(job.get()),
                import_rows::seq.eq(seq),
                import_rows::file.eq(&r.file),
                import_rows::line.eq(r.line),
                import_rows::kind.eq(&r.kind),
                import_rows::source_key.eq(r.source_key.as_deref()),
                import_rows::item.eq(r.item.as_ref()),
                import_rows::action.eq(r.action.map(Action::as_str)),
                import_rows::note.eq(r.note.as_deref()),
                import_rows::done.eq(r.action.is_some()),
                import_rows::film_name.eq(film.and_then(|f| f.get("name")).and_then(Value::as_str)),
                import_rows::film_year.eq(film
                    .and_then(|f| f.get("year"))
                    .and_then(Value::as_i64)
                    .and_then(|y| i32::try_from(y).ok())),
            )
        })
        .collect();
    for chunk in values.chunks(1000) {
        diesel::insert_into(import_rows::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Refreshes the planner's statistics of the staged rows: a job just added (or a finished one
/// removed) thousands of them, and plans made for the old numbers joined them by nested loops.
pub async fn analyze_rows(conn: &mut AsyncPgConnection) -> Result<()> {
    diesel::sql_query("ANALYZE import_rows")
        .execute(conn)
        .await?;
    Ok(())
}

/// A row repeating an earlier row's key in the same file (the same viewing, film or list entry twice)
/// is skipped with a note naming the first.
pub async fn skip_repeats(conn: &mut AsyncPgConnection, job: ImportJobId) -> Result<usize> {
    Ok(diesel::sql_query(
        "UPDATE import_rows r SET action = 'skip', done = true, kind = 'repeat', \
             note = 'the same ' || r.kind || ' as line ' || f.line || ' of ' || f.file \
         FROM (SELECT DISTINCT ON (file, source_key) file, source_key, seq, line FROM import_rows \
               WHERE job_id = $1 AND source_key IS NOT NULL ORDER BY file, source_key, seq) f \
         WHERE r.job_id = $1 AND r.file = f.file AND r.source_key = f.source_key AND r.seq > f.seq",
    )
    .bind::<BigInt, _>(job.get())
    .execute(conn)
    .await?)
}

/// Joins each review to the diary row of the same viewing (same key): the review's text, spoiler flag
/// and tags go into the diary row's item, the review row is kept as a note of where it went. Reviews
/// without a diary row become entries of their own. Returns how many were joined.
pub async fn join_reviews(conn: &mut AsyncPgConnection, job: ImportJobId) -> Result<usize> {
    let joined = diesel::sql_query(
        "WITH pairs AS ( \
             SELECT DISTINCT ON (r.seq) r.seq AS review_seq, d.seq AS diary_seq, d.line AS diary_line, \
                    r.item->'item' AS review \
             FROM import_rows r JOIN import_rows d \
               ON d.job_id = r.job_id AND d.source_key = r.source_key AND d.kind = 'entry' \
             WHERE r.job_id = $1 AND r.kind = 'review' AND NOT r.done AND NOT d.done ORDER BY r.seq, d.seq), \
         merged AS ( \
             UPDATE import_rows d SET item = jsonb_set(d.item, '{item}', d.item->'item' \
                 || jsonb_strip_nulls(jsonb_build_object('review', p.review->'review', \
                        'spoilers', p.review->'spoilers')) \
                 || CASE WHEN d.item->'item'->'rating' IS NULL AND p.review ? 'rating' \
                         THEN jsonb_build_object('rating', p.review->'rating') ELSE '{}' END \
                 || CASE WHEN jsonb_array_length(COALESCE(d.item->'item'->'tags', '[]')) = 0 \
                          AND p.review ? 'tags' \
                         THEN jsonb_build_object('tags', p.review->'tags') ELSE '{}' END) \
             FROM pairs p WHERE d.job_id = $1 AND d.seq = p.diary_seq RETURNING d.seq) \
         UPDATE import_rows r SET kind = 'joined_review', done = true, \
             note = 'joined to the diary row on line ' || p.diary_line \
         FROM pairs p WHERE r.job_id = $1 AND r.seq = p.review_seq",
    )
    .bind::<BigInt, _>(job.get())
    .execute(conn)
    .await?;
    diesel::update(
        import_rows::table
            .filter(import_rows::job_id.eq(job.get()))
            .filter(import_rows::kind.eq("review")),
    )
    .set(import_rows::kind.eq("entry"))
    .execute(conn)
    .await?;
    Ok(joined)
}

/// Matches rows to films by the external ids and slugs they carry, among the films `member` may
/// see (never another member's imported film); then rows without those ids take the film a row of
/// the same name and year matched (a diary row names its film by title only).
pub async fn match_by_ids(
    conn: &mut AsyncPgConnection,
    job: ImportJobId,
    member: MemberId,
) -> Result<()> {
    let visible = crate::film_visible_sql("f", "$2");
    // The ids read out of each row once (a materialized CTE), then found by the films' unique
    // index: compared inside a join, the JSON was read again for every pair of a nested loop.
    // (Each match is named by its column: `MatchedBy`'s names are the films' column names.)
    for (by, value) in [
        (MatchedBy::TmdbId, "(item->'film'->>'tmdb_id')::int"),
        (MatchedBy::ImdbId, "item->'film'->>'imdb_id'"),
        (MatchedBy::LetterboxdUri, "item->'film'->>'letterboxd_uri'"),
        (MatchedBy::Slug, "item->'film'->>'slug'"),
    ] {
        let column = by.as_str();
        diesel::sql_query(format!(
            "WITH wanted AS MATERIALIZED ( \
                 SELECT seq, {value} AS v FROM import_rows \
                 WHERE job_id = $1 AND film_id IS NULL AND item->'film' ? '{column}') \
             UPDATE import_rows r SET film_id = f.id, matched_by = '{column}' \
             FROM wanted w JOIN films f ON f.{column} = w.v AND {visible} \
             WHERE r.job_id = $1 AND r.seq = w.seq"
        ))
        .bind::<BigInt, _>(job.get())
        .bind::<BigInt, _>(member.get())
        .execute(conn)
        .await?;
    }
    diesel::sql_query(
        "UPDATE import_rows r SET film_id = m.film_id, matched_by = m.matched_by \
         FROM (SELECT DISTINCT ON (film_name, film_year) film_name, film_year, film_id, matched_by \
               FROM import_rows WHERE job_id = $1 AND film_id IS NOT NULL \
               ORDER BY film_name, film_year, seq) m \
         WHERE r.job_id = $1 AND r.film_id IS NULL AND r.film_name = m.film_name \
           AND r.film_year IS NOT DISTINCT FROM m.film_year",
    )
    .bind::<BigInt, _>(job.get())
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, QueryableByName)]
pub struct Unmatched {
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Integer>)]
    pub year: Option<i32>,
}

/// The distinct (name, year) of the rows still without a film.
pub async fn unmatched(conn: &mut AsyncPgConnection, job: ImportJobId) -> Result<Vec<Unmatched>> {
    Ok(diesel::sql_query(
        "SELECT DISTINCT film_name AS name, film_year AS year \
         FROM import_rows WHERE job_id = $1 AND film_id IS NULL AND film_name IS NOT NULL AND NOT done",
    )
    .bind::<BigInt, _>(job.get())
    .load(conn)
    .await?)
}

#[derive(Debug, Clone, QueryableByName)]
pub struct CatalogTitle {
    #[diesel(sql_type = BigInt, deserialize_as = i64)]
    pub id: FilmId,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub original_title: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub year: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub verified: bool,
    /// Other titles it is known by.
    #[diesel(sql_type = Array<Nullable<Text>>)]
    pub alternative_titles: Vec<Option<String>>,
    /// Its Wikipedia page name ("Heat_(1995_film)").
    #[diesel(sql_type = Nullable<Text>)]
    pub wikipedia_page: Option<String>,
}

/// The catalog's films of `year` (or without a year, for `None`) that `member` may see, for
/// matching by title.
pub async fn films_of_year(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    year: Option<i32>,
) -> Result<Vec<CatalogTitle>> {
    let visible = crate::film_visible_sql("films", "$1");
    // Two statements, so that a year is found by the films' year index.
    let rows = match year {
        Some(y) => diesel::sql_query(format!(
            "SELECT id, title, original_title, year, verified, alternative_titles, wikipedia_page \
                 FROM films WHERE year = $2 AND {visible}"
        ))
        .bind::<BigInt, _>(member.get())
        .bind::<Integer, _>(y)
        .load(conn)
        .await?,
        None => diesel::sql_query(format!(
            "SELECT id, title, original_title, year, verified, alternative_titles, wikipedia_page \
                 FROM films WHERE year IS NULL AND {visible}"
        ))
        .bind::<BigInt, _>(member.get())
        .load(conn)
        .await?,
    };
    Ok(rows)
}

/// Gives the rows of each (name, year) still without a film the film found for it.
pub async fn set_films(
    conn: &mut AsyncPgConnection,
    job: ImportJobId,
    found: &[(String, Option<i32>, FilmId, MatchedBy)],
) -> Result<()> {
    if found.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
    let years: Vec<Option<i32>> = found.iter().map(|f| f.1).collect();
    let films: Vec<i64> = found.iter().map(|f| f.2.get()).collect();
    let by: Vec<&str> = found.iter().map(|f| f.3.as_str()).collect();
    diesel::sql_query(
        "UPDATE import_rows r SET film_id = u.film, matched_by = u.by \
         FROM unnest($2::text[], $3::int[], $4::bigint[], $5::text[]) AS u(name, year, film, by) \
         WHERE r.job_id = $1 AND r.film_id IS NULL AND r.film_name = u.name \
           AND r.film_year IS NOT DISTINCT FROM u.year",
    )
    .bind::<BigInt, _>(job.get())
    .bind::<Array<Text>, _>(names)
    .bind::<Array<Nullable<Integer>>, _>(years)
    .bind::<Array<BigInt>, _>(films)
    .bind::<Array<Text>, _>(by)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the rows that matched no film as needing a new catalog entry.
pub async fn mark_unmatched(conn: &mut AsyncPgConnection, job: ImportJobId) -> Result<()> {
    diesel::sql_query(
        "UPDATE import_rows SET matched_by = 'created' \
         WHERE job_id = $1 AND film_id IS NULL AND film_name IS NOT NULL AND NOT done",
    )
    .bind::<BigInt, _>(job.get())
    .execute(conn)
    .await?;
    Ok(())
}

/// Numbers the rows in the order they apply: by kind, in the order of `kinds`
/// (`filmlog_domain::portability::APPLY_ORDER`), then as staged.
pub async fn order_rows(
    conn: &mut AsyncPgConnection,
    job: ImportJobId,
    kinds: &[&str],
) -> Result<()> {
    // Two steps through negative numbers, as `seq` is part of the key.
    diesel::sql_query(
        "UPDATE import_rows r SET seq = -o.n FROM ( \
             SELECT seq, row_number() OVER (ORDER BY \
                 COALESCE(array_position($2::text[], kind), 0), seq)::int AS n \
             FROM import_rows WHERE job_id = $1) o \
         WHERE r.job_id = $1 AND r.seq = o.seq",
    )
    .bind::<BigInt, _>(job.get())
    .bind::<Array<Text>, _>(kinds)
    .execute(conn)
    .await?;
    diesel::sql_query("UPDATE import_rows SET seq = -seq WHERE job_id = $1")
        .bind::<BigInt, _>(job.get())
        .execute(conn)
        .await?;
    Ok(())
}

/// Before a rehearsal (a dry run) or after one: every row to apply is pending again (not the rows
/// staging or planning decided: problems, repeats, joined reviews).
pub async fn reset_decisions(conn: &mut AsyncPgConnection, job: ImportJobId) -> Result<()> {
    diesel::sql_query(
        "UPDATE import_rows SET done = false, action = NULL, note = NULL, \
             film_id = CASE WHEN matched_by = 'created' THEN NULL ELSE film_id END \
         WHERE job_id = $1 AND item IS NOT NULL AND kind NOT IN ('joined_review', 'repeat')",
    )
    .bind::<BigInt, _>(job.get())
    .execute(conn)
    .await?;
    Ok(())
}

/// A row to apply, with the slug of the film it matched.
#[derive(Debug, Clone, QueryableByName)]
pub struct ImportRow {
    #[diesel(sql_type = Integer)]
    pub seq: i32,
    #[diesel(sql_type = Text)]
    pub file: String,
    #[diesel(sql_type = Integer)]
    pub line: i32,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub source_key: Option<String>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub item: Option<Value>,
    #[diesel(sql_type = Nullable<BigInt>, deserialize_as = NullableId<FilmId>)]
    pub film_id: Option<FilmId>,
    #[diesel(sql_type = Nullable<Text>)]
    pub film_slug: Option<String>,
    #[diesel(sql_type = Nullable<Text>, deserialize_as = NullableName<MatchedBy>)]
    pub matched_by: Option<MatchedBy>,
    #[diesel(sql_type = Nullable<Text>)]
    pub note: Option<String>,
}

/// The next rows to apply, in order.
pub async fn pending(
    conn: &mut AsyncPgConnection,
    job: ImportJobId,
    after: i32,
    limit: i64,
) -> Result<Vec<ImportRow>> {
    Ok(diesel::sql_query(
        "SELECT r.seq, r.file, r.line, r.kind, r.source_key, r.item, r.film_id, f.slug AS film_slug, \
                r.matched_by, r.note \
         FROM import_rows r LEFT JOIN films f ON f.id = r.film_id \
         WHERE r.job_id = $1 AND NOT r.done AND r.seq > $2 ORDER BY r.seq LIMIT $3",
    )
    .bind::<BigInt, _>(job.get())
    .bind::<Integer, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?)
}

/// Records what applying a row did (or, in a rehearsal, would do).
pub async fn decided(
    conn: &mut AsyncPgConnection,
    job: ImportJobId,
    decisions: &[(i32, Action, Option<String>, Option<FilmId>)],
) -> Result<()> {
    if decisions.is_empty() {
        return Ok(());
    }
    let seqs: Vec<i32> = decisions.iter().map(|d| d.0).collect();
    let actions: Vec<&str> = decisions.iter().map(|d| d.1.as_str()).collect();
    let notes: Vec<Option<&str>> = decisions.iter().map(|d| d.2.as_deref()).collect();
    let films: Vec<Option<i64>> = decisions.iter().map(|d| d.3.map(FilmId::get)).collect();
    diesel::sql_query(
        "UPDATE import_rows r SET action = u.action, note = u.note, done = true, \
             film_id = COALESCE(u.film, r.film_id) \
         FROM unnest($2::int[], $3::text[], $4::text[], $5::bigint[]) AS u(seq, action, note, film) \
         WHERE r.job_id = $1 AND r.seq = u.seq",
    )
    .bind::<BigInt, _>(job.get())
    .bind::<Array<Integer>, _>(seqs)
    .bind::<Array<Text>, _>(actions)
    .bind::<Array<Nullable<Text>>, _>(notes)
    .bind::<Array<Nullable<BigInt>>, _>(films)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, QueryableByName)]
pub struct FileCount {
    #[diesel(sql_type = BigInt, deserialize_as = i64)]
    pub job_id: ImportJobId,
    #[diesel(sql_type = Text)]
    pub file: String,
    #[diesel(sql_type = BigInt)]
    pub rows: i64,
    #[diesel(sql_type = BigInt)]
    pub created: i64,
    #[diesel(sql_type = BigInt)]
    pub updated: i64,
    #[diesel(sql_type = BigInt)]
    pub unchanged: i64,
    #[diesel(sql_type = BigInt)]
    pub skipped: i64,
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    /// Rows whose film the catalog lacked.
    #[diesel(sql_type = BigInt)]
    pub unmatched: i64,
    /// Rows whose film the catalog had.
    #[diesel(sql_type = BigInt)]
    pub matched: i64,
}

/// Counts per file of each of `jobs` (one query for a list of jobs), in the order files were
/// staged.
pub async fn counts(conn: &mut AsyncPgConnection, jobs: &[ImportJobId]) -> Result<Vec<FileCount>> {
    let jobs: Vec<i64> = jobs.iter().map(|j| j.get()).collect();
    Ok(diesel::sql_query(
        "SELECT job_id, file, count(*) AS rows, \
                count(*) FILTER (WHERE action = 'create') AS created, \
                count(*) FILTER (WHERE action = 'update') AS updated, \
                count(*) FILTER (WHERE action = 'unchanged') AS unchanged, \
                count(*) FILTER (WHERE action = 'skip') AS skipped, \
                count(*) FILTER (WHERE NOT done) AS pending, \
                count(*) FILTER (WHERE matched_by = 'created') AS unmatched, \
                count(*) FILTER (WHERE matched_by <> 'created') AS matched \
         FROM import_rows WHERE job_id = ANY($1) GROUP BY job_id, file \
         ORDER BY job_id, min(seq)",
    )
    .bind::<Array<BigInt>, _>(jobs)
    .load(conn)
    .await?)
}

/// A row of a job as its report shows it, with the film it is about.
#[derive(Debug, Clone, QueryableByName)]
pub struct RowView {
    #[diesel(sql_type = Integer)]
    pub seq: i32,
    #[diesel(sql_type = Text)]
    pub file: String,
    #[diesel(sql_type = Integer)]
    pub line: i32,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub item: Option<Value>,
    #[diesel(sql_type = Nullable<Text>, deserialize_as = NullableName<MatchedBy>)]
    pub matched_by: Option<MatchedBy>,
    #[diesel(sql_type = Nullable<Text>, deserialize_as = NullableName<Action>)]
    pub action: Option<Action>,
    #[diesel(sql_type = Nullable<Text>)]
    pub note: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub film: Option<String>,
}

/// Rows of the job in order after `after`; `only`: `problems` (skipped rows), `unmatched` (rows
/// whose film had to be created), or one action.
pub async fn rows(
    conn: &mut AsyncPgConnection,
    job: ImportJobId,
    after: i32,
    limit: i64,
    only: Option<&str>,
) -> Result<Vec<RowView>> {
    let filter = match only {
        Some("problems") => "AND r.action = 'skip'",
        Some("unmatched") => "AND r.matched_by = 'created'",
        Some("create") => "AND r.action = 'create'",
        Some("update") => "AND r.action = 'update'",
        Some("unchanged") => "AND r.action = 'unchanged'",
        _ => "",
    };
    Ok(diesel::sql_query(format!(
        "SELECT r.seq, r.file, r.line, r.kind, r.item, r.matched_by, r.action, r.note, f.slug AS film \
         FROM import_rows r LEFT JOIN films f ON f.id = r.film_id \
         WHERE r.job_id = $1 AND r.seq > $2 {filter} \
         ORDER BY r.seq LIMIT $3"
    ))
    .bind::<BigInt, _>(job.get())
    .bind::<Integer, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?)
}

/// What a source row became when it was last imported.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = import_sources, check_for_backend(diesel::pg::Pg))]
pub struct SourceRow {
    pub source_key: String,
    pub item: Value,
    #[diesel(deserialize_as = NullableId<FilmId>)]
    pub film_id: Option<FilmId>,
    #[diesel(deserialize_as = NullableId<LogEntryId>)]
    pub log_entry_id: Option<LogEntryId>,
    #[diesel(deserialize_as = NullableId<ListId>)]
    pub list_id: Option<ListId>,
    pub imported_at: DateTime<Utc>,
}

pub async fn source(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    key: &str,
) -> Result<Option<SourceRow>> {
    Ok(import_sources::table
        .filter(import_sources::member_id.eq(member.get()))
        .filter(import_sources::source_key.eq(key))
        .select(SourceRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// What each of `keys` became when it was last imported (the keys imported before).
pub async fn sources(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    keys: &[&str],
) -> Result<Vec<SourceRow>> {
    Ok(import_sources::table
        .filter(import_sources::member_id.eq(member.get()))
        .filter(import_sources::source_key.eq_any(keys))
        .select(SourceRow::as_select())
        .load(conn)
        .await?)
}

/// Records (or updates) what a source row became.
pub async fn remember(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    key: &str,
    item: &Value,
    film: Option<FilmId>,
    entry: Option<LogEntryId>,
    list: Option<ListId>,
) -> Result<()> {
    diesel::sql_query(
        "INSERT INTO import_sources (member_id, source_key, item, film_id, log_entry_id, list_id) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (member_id, source_key) DO UPDATE SET item = excluded.item, \
             film_id = excluded.film_id, log_entry_id = COALESCE(excluded.log_entry_id, import_sources.log_entry_id), \
             list_id = COALESCE(excluded.list_id, import_sources.list_id), imported_at = now()",
    )
    .bind::<BigInt, _>(member.get())
    .bind::<Text, _>(key)
    .bind::<Jsonb, _>(item)
    .bind::<Nullable<BigInt>, _>(film.map(FilmId::get))
    .bind::<Nullable<BigInt>, _>(entry.map(LogEntryId::get))
    .bind::<Nullable<BigInt>, _>(list.map(ListId::get))
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = export_jobs, check_for_backend(diesel::pg::Pg))]
pub struct ExportJobRow {
    #[diesel(deserialize_as = i64)]
    pub id: ExportJobId,
    #[diesel(deserialize_as = i64)]
    pub member_id: MemberId,
    #[diesel(deserialize_as = DbName<JobStatus>)]
    pub status: JobStatus,
    pub bytes: Option<i64>,
    pub error: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn create_export(conn: &mut AsyncPgConnection, member: MemberId) -> Result<ExportJobRow> {
    Ok(diesel::insert_into(export_jobs::table)
        .values(export_jobs::member_id.eq(member.get()))
        .returning(ExportJobRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Stores chunk `n` of an export and renews the claim.
pub async fn export_chunk(
    conn: &mut AsyncPgConnection,
    job: ExportJobId,
    n: i32,
    bytes: &[u8],
) -> Result<()> {
    crate::jobs::add_chunk::<ExportJobRow>(conn, job, n, bytes).await?;
    diesel::update(export_jobs::table.find(job.get()))
        .set(export_jobs::claimed_until.eq(claim_deadline()))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn finish_export(
    conn: &mut AsyncPgConnection,
    job: ExportJobId,
    bytes: Option<i64>,
    error: Option<&str>,
    keep_days: i32,
) -> Result<()> {
    let status = if error.is_some() {
        JobStatus::Failed
    } else {
        JobStatus::Done
    };
    diesel::sql_query(
        "UPDATE export_jobs SET status = $2, bytes = $3, error = $4, claimed_until = NULL, \
             finished_at = now(), expires_at = now() + make_interval(days => $5) WHERE id = $1",
    )
    .bind::<BigInt, _>(job.get())
    .bind::<Text, _>(status.as_str())
    .bind::<Nullable<BigInt>, _>(bytes)
    .bind::<Nullable<Text>, _>(error)
    .bind::<Integer, _>(keep_days)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes expired exports and imports finished more than `days` ago (their rows and files).
pub async fn prune(conn: &mut AsyncPgConnection, days: i32) -> Result<usize> {
    let exports = diesel::sql_query("DELETE FROM export_jobs WHERE expires_at < now()")
        .execute(conn)
        .await?;
    let imports = diesel::sql_query(
        "DELETE FROM import_jobs WHERE finished_at < now() - make_interval(days => $1)",
    )
    .bind::<Integer, _>(days)
    .execute(conn)
    .await?;
    Ok(exports + imports)
}

/// One element of an export, with the key the next page starts after.
#[derive(Debug, Clone, QueryableByName)]
pub struct ExportItem {
    #[diesel(sql_type = BigInt)]
    pub key: i64,
    #[diesel(sql_type = Jsonb)]
    pub data: Value,
}

/// A film as exports name it.
const FILM_JSON: &str = "jsonb_build_object('slug', f.slug, 'title', f.title, 'year', f.year, \
     'tmdb_id', f.tmdb_id, 'imdb_id', f.imdb_id, 'letterboxd_uri', f.letterboxd_uri)";

/// What an export holds, each read in pages of `limit` after the key given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportPart {
    Entries,
    Films,
    Lists,
    Following,
    Comments,
}

impl ExportPart {
    fn sql(self) -> String {
        match self {
            ExportPart::Entries => format!(
                "SELECT e.id AS key, jsonb_build_object('id', e.id, 'film', {FILM_JSON}, \
                     'watched_on', e.watched_on, 'rewatch', e.rewatch, 'rating', e.rating / 2.0, \
                     'review', e.review_text, 'contains_spoilers', e.contains_spoilers, \
                     'tags', to_jsonb(e.tags), 'visibility', e.visibility, 'created_at', e.created_at) AS data \
                 FROM log_entries e JOIN films f ON f.id = e.film_id \
                 WHERE e.member_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3"
            ),
            ExportPart::Films => format!(
                "SELECT m.film_id AS key, jsonb_build_object('film', {FILM_JSON}, 'watched', m.watched, \
                     'liked', m.liked, 'in_watchlist', m.in_watchlist, 'rating', m.rating / 2.0) AS data \
                 FROM member_films m JOIN films f ON f.id = m.film_id \
                 WHERE m.member_id = $1 AND m.film_id > $2 \
                   AND (m.watched OR m.liked OR m.in_watchlist OR m.rating IS NOT NULL) \
                 ORDER BY m.film_id LIMIT $3"
            ),
            ExportPart::Lists => format!(
                "SELECT l.id AS key, jsonb_build_object('id', l.id, 'name', l.name, \
                     'description', l.description, 'ranked', l.ranked, 'visibility', l.visibility, \
                     'tags', to_jsonb(l.tags), 'created_at', l.created_at, \
                     'entries', COALESCE((SELECT jsonb_agg(jsonb_build_object('position', x.position, \
                          'film', x.film, 'notes', x.notes, 'contains_spoilers', x.contains_spoilers) \
                          ORDER BY x.position) \
                        FROM (SELECT row_number() OVER (ORDER BY e.sort_key) AS position, \
                                     {FILM_JSON} AS film, e.notes, e.contains_spoilers \
                              FROM list_entries e JOIN films f ON f.id = e.film_id \
                              WHERE e.list_id = l.id) x), '[]'::jsonb)) AS data \
                 FROM lists l WHERE l.owner_id = $1 AND l.id > $2 ORDER BY l.id LIMIT $3"
            ),
            ExportPart::Following => "SELECT m.id AS key, to_jsonb(m.username) AS data \
                 FROM follows f JOIN members m ON m.id = f.followee_id \
                 WHERE f.follower_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3"
                .to_owned(),
            ExportPart::Comments => "SELECT c.key, c.data FROM ( \
                 SELECT c.id * 2 AS key, jsonb_build_object('id', c.id, 'on', 'log_entry', \
                     'target_id', c.log_entry_id, 'body', c.body, 'created_at', c.created_at) AS data \
                 FROM comments c WHERE c.author_id = $1 AND c.id * 2 > $2 \
                 UNION ALL \
                 SELECT c.id * 2 + 1, jsonb_build_object('id', c.id, 'on', 'list', \
                     'target_id', c.list_id, 'body', c.body, 'created_at', c.created_at) \
                 FROM list_comments c WHERE c.author_id = $1 AND c.id * 2 + 1 > $2) c \
                 ORDER BY c.key LIMIT $3"
                .to_owned(),
        }
    }
}

/// A page of `part` of the member's data.
pub async fn export_page(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    part: ExportPart,
    after: i64,
    limit: i64,
) -> Result<Vec<ExportItem>> {
    Ok(diesel::sql_query(part.sql())
        .bind::<BigInt, _>(member.get())
        .bind::<BigInt, _>(after)
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?)
}

/// The member's profile as exports hold it.
pub async fn export_member(
    conn: &mut AsyncPgConnection,
    member: MemberId,
) -> Result<Option<Value>> {
    #[derive(QueryableByName)]
    struct Data {
        #[diesel(sql_type = Jsonb)]
        data: Value,
    }
    let row: Option<Data> = diesel::sql_query(
        "SELECT jsonb_build_object('username', username, 'display_name', display_name, 'bio', bio, \
             'location', location, 'website', website, 'pronouns', pronouns, \
             'private_account', private_account, 'private_watchlist', private_watchlist, \
             'default_visibility', default_visibility, 'joined_at', created_at) AS data \
         FROM members WHERE id = $1",
    )
    .bind::<BigInt, _>(member.get())
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| r.data))
}

impl crate::jobs::JobTable for ImportJobRow {
    type Id = ImportJobId;
    const TABLE: &'static str = "import_jobs";
    const OPEN: &'static [JobStatus] = &[
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::NeedsReview,
    ];
    const MAX_ATTEMPTS: i32 = MAX_ATTEMPTS;
    const ON_CLAIM: &'static str = ", updated_at = now()";
    const CHUNKS: &'static str = "import_chunks";
}

impl crate::jobs::JobTable for ExportJobRow {
    type Id = ExportJobId;
    const TABLE: &'static str = "export_jobs";
    const OPEN: &'static [JobStatus] = &[JobStatus::Queued, JobStatus::Running];
    const MAX_ATTEMPTS: i32 = i32::MAX;
    const ON_CLAIM: &'static str = "";
    const CHUNKS: &'static str = "export_chunks";
}
