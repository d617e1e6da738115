//! The job tables (`import_jobs`, `export_jobs`), one lifecycle for both: a job is a row a member
//! opens; a worker claims the oldest due one for [`CLAIM_SECS`] with `FOR UPDATE SKIP LOCKED` (so two
//! workers never take the same job), renews the claim while it works, and finishes it. A job whose
//! worker stopped is due again once its claim lapses.

use diesel::pg::Pg;
use diesel::sql_types::{BigInt, Bytea, Integer, Nullable};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::MemberId;

use crate::Result;

/// How long a worker holds a claimed job before another may take it over (it renews while it works).
pub const CLAIM_SECS: i32 = 60;

/// A table of jobs and how its rows differ (implemented beside each row type, in
/// [`crate::portability`]).
pub trait JobTable: QueryableByName<Pg> + Send + 'static {
    /// The table's name (a constant, never from input).
    const TABLE: &'static str;
    /// The statuses of a job that is not finished (a constant SQL list).
    const OPEN: &'static str;
    /// The claims after which a job is no longer claimed (it is given up).
    const MAX_ATTEMPTS: i32;
    /// What else a claim sets (a constant SQL fragment).
    const ON_CLAIM: &'static str;
    /// The table of the job's archive, in chunks numbered from 0 (a constant, never from input).
    const CHUNKS: &'static str;
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The member's job of this kind that is not finished, if any.
pub async fn open<J: JobTable>(
    conn: &mut AsyncPgConnection,
    member: MemberId,
) -> Result<Option<i64>> {
    let sql = format!(
        "SELECT id FROM {} WHERE member_id = $1 AND status IN {} LIMIT 1",
        J::TABLE,
        J::OPEN
    );
    let found: Option<Id> = diesel::sql_query(sql)
        .bind::<BigInt, _>(member.get())
        .get_result(conn)
        .await
        .optional()?;
    Ok(found.map(|r| r.id))
}

/// The job `id`; `owner`: only when it is theirs.
pub async fn of<J: JobTable>(
    conn: &mut AsyncPgConnection,
    owner: Option<MemberId>,
    id: i64,
) -> Result<Option<J>> {
    let sql = format!(
        "SELECT * FROM {} WHERE id = $1 AND ($2::bigint IS NULL OR member_id = $2)",
        J::TABLE
    );
    diesel::sql_query(sql)
        .bind::<BigInt, _>(id)
        .bind::<Nullable<BigInt>, _>(owner.map(MemberId::get))
        .get_result(conn)
        .await
        .optional()
        .map_err(Into::into)
}

/// Claims the oldest due job (queued, or running with its claim lapsed), fewer than
/// [`JobTable::MAX_ATTEMPTS`] times claimed; `only` claims that job or none.
pub async fn claim<J: JobTable>(
    conn: &mut AsyncPgConnection,
    only: Option<i64>,
) -> Result<Option<J>> {
    let sql = format!(
        "WITH due AS ( \
             SELECT id FROM {table} \
             WHERE status IN ('queued', 'running') \
               AND (claimed_until IS NULL OR claimed_until < now()) \
               AND attempts < $3 \
               AND ($2::bigint IS NULL OR id = $2) \
             ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) \
         UPDATE {table} j SET status = 'running', attempts = j.attempts + 1, \
             claimed_until = now() + make_interval(secs => $1){on_claim} \
         FROM due WHERE j.id = due.id \
         RETURNING j.*",
        table = J::TABLE,
        on_claim = J::ON_CLAIM,
    );
    diesel::sql_query(sql)
        .bind::<Integer, _>(CLAIM_SECS)
        .bind::<Nullable<BigInt>, _>(only)
        .bind::<Integer, _>(J::MAX_ATTEMPTS)
        .get_result(conn)
        .await
        .optional()
        .map_err(Into::into)
}

/// Stores chunk `n` of job `job`'s archive (an uploaded import, a written export).
pub async fn add_chunk<J: JobTable>(
    conn: &mut AsyncPgConnection,
    job: i64,
    n: i32,
    bytes: &[u8],
) -> Result<()> {
    let sql = format!(
        "INSERT INTO {} (job_id, n, bytes) VALUES ($1, $2, $3)",
        J::CHUNKS
    );
    diesel::sql_query(sql)
        .bind::<BigInt, _>(job)
        .bind::<Integer, _>(n)
        .bind::<Bytea, _>(bytes)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(QueryableByName)]
struct Chunk {
    #[diesel(sql_type = Bytea)]
    bytes: Vec<u8>,
}

/// Chunk `n` (from 0) of job `job`'s archive; `None` past the last.
pub async fn chunk<J: JobTable>(
    conn: &mut AsyncPgConnection,
    job: i64,
    n: i32,
) -> Result<Option<Vec<u8>>> {
    let sql = format!(
        "SELECT bytes FROM {} WHERE job_id = $1 AND n = $2",
        J::CHUNKS
    );
    let found: Option<Chunk> = diesel::sql_query(sql)
        .bind::<BigInt, _>(job)
        .bind::<Integer, _>(n)
        .get_result(conn)
        .await
        .optional()?;
    Ok(found.map(|c| c.bytes))
}

/// Forgets job `job`'s archive (a finished import's upload; an interrupted export, written again
/// from the start).
pub async fn clear_chunks<J: JobTable>(conn: &mut AsyncPgConnection, job: i64) -> Result<()> {
    let sql = format!("DELETE FROM {} WHERE job_id = $1", J::CHUNKS);
    diesel::sql_query(sql)
        .bind::<BigInt, _>(job)
        .execute(conn)
        .await?;
    Ok(())
}
