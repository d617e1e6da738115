//! The job tables (`import_jobs`, `export_jobs`), one lifecycle for both: a job is a row a member
//! opens; a worker claims the oldest due one for [`CLAIM_SECS`] with `FOR UPDATE SKIP LOCKED` (so two
//! workers never take the same job), renews the claim while it works, and finishes it. A job whose
//! worker stopped is due again once its claim lapses.

use std::marker::PhantomData;

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bytea, Integer, Nullable, Untyped};
use diesel::{OptionalExtension, QueryResult, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::MemberId;
use filmlog_domain::portability::JobStatus;

use crate::Result;

/// How long a worker holds a claimed job before another may take it over (it renews while it works).
pub const CLAIM_SECS: i32 = 60;

/// A table of jobs and how its rows differ (implemented beside each row type, in
/// [`crate::portability`]).
pub trait JobTable: QueryableByName<Pg> + Send + 'static {
    /// The typed id of its rows.
    type Id: Copy + From<i64> + Into<i64> + Send;
    /// The table's name (a constant, never from input).
    const TABLE: &'static str;
    /// The statuses of a job that is not finished.
    const OPEN: &'static [JobStatus];
    /// The claims after which a job is no longer claimed (it is given up).
    const MAX_ATTEMPTS: i32;
    /// What else a claim sets (a constant SQL fragment).
    const ON_CLAIM: &'static str;
    /// The table of the job's archive, in chunks numbered from 0 (a constant, never from input).
    const CHUNKS: &'static str;
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// `statuses` as an SQL list of literals (the names are the domain's constants, never input).
fn sql_list(statuses: &[JobStatus]) -> String {
    let names: Vec<String> = statuses.iter().map(|s| format!("'{s}'")).collect();
    format!("({})", names.join(", "))
}

#[derive(QueryableByName)]
struct Chunk {
    #[diesel(sql_type = Bytea)]
    bytes: Vec<u8>,
}

/// A statement over a job table, its text made from the table's constants: a type, so that diesel
/// prepares each (table, statement) pair once per connection and caches it (the table's name is
/// part of the text, which a `sql_query` would have parsed and planned on every call).
trait Statement: Send + Sync + 'static {
    fn sql<J: JobTable>() -> String;
}

/// A value bound to a statement's `$n` (the n-th of [`JobQuery::binds`]).
#[derive(Debug, Clone, Copy)]
enum Bind<'a> {
    Id(i64),
    MaybeId(Option<i64>),
    Int(i32),
    Bytes(&'a [u8]),
}

/// Statement `S` over the job table of `J`, with its binds in placeholder order.
struct JobQuery<'a, J, S> {
    binds: Vec<Bind<'a>>,
    of: PhantomData<fn() -> (J, S)>,
}

fn query<'a, J: JobTable, S: Statement>(binds: Vec<Bind<'a>>) -> JobQuery<'a, J, S> {
    JobQuery {
        binds,
        of: PhantomData,
    }
}

impl<J: JobTable, S: Statement> QueryId for JobQuery<'_, J, S> {
    type QueryId = (J, S);
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<J: JobTable, S: Statement> Query for JobQuery<'_, J, S> {
    type SqlType = Untyped;
}

impl<J: JobTable, S: Statement> QueryFragment<Pg> for JobQuery<'_, J, S> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        crate::walk_numbered(&S::sql::<J>(), out, |n, mut out| {
            let bind = n
                .parse::<usize>()
                .ok()
                .and_then(|i| self.binds.get(i.checked_sub(1)?));
            match bind {
                Some(Bind::Id(v)) => out.push_bind_param::<BigInt, _>(v),
                Some(Bind::MaybeId(v)) => out.push_bind_param::<Nullable<BigInt>, _>(v),
                Some(Bind::Int(v)) => out.push_bind_param::<Integer, _>(v),
                Some(Bind::Bytes(v)) => out.push_bind_param::<Bytea, _>(v),
                None => Err(crate::unknown_placeholder(n)),
            }
        })
    }
}

struct OpenJob;
impl Statement for OpenJob {
    fn sql<J: JobTable>() -> String {
        format!(
            "SELECT id FROM {} WHERE member_id = $1 AND status IN {} LIMIT 1",
            J::TABLE,
            sql_list(J::OPEN)
        )
    }
}

struct JobOf;
impl Statement for JobOf {
    fn sql<J: JobTable>() -> String {
        format!(
            "SELECT * FROM {} WHERE id = $1 AND ($2::bigint IS NULL OR member_id = $2)",
            J::TABLE
        )
    }
}

struct ClaimJob;
impl Statement for ClaimJob {
    fn sql<J: JobTable>() -> String {
        format!(
            "WITH due AS ( \
                 SELECT id FROM {table} \
                 WHERE status IN {due} \
                   AND (claimed_until IS NULL OR claimed_until < now()) \
                   AND attempts < $3 \
                   AND ($2::bigint IS NULL OR id = $2) \
                 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             UPDATE {table} j SET status = '{running}', attempts = j.attempts + 1, \
                 claimed_until = now() + make_interval(secs => $1){on_claim} \
             FROM due WHERE j.id = due.id \
             RETURNING j.*",
            table = J::TABLE,
            // (the partial indexes' predicate: the due jobs' index serves this)
            due = sql_list(&[JobStatus::Queued, JobStatus::Running]),
            running = JobStatus::Running,
            on_claim = J::ON_CLAIM,
        )
    }
}

struct AddChunk;
impl Statement for AddChunk {
    fn sql<J: JobTable>() -> String {
        format!(
            "INSERT INTO {} (job_id, n, bytes) VALUES ($1, $2, $3)",
            J::CHUNKS
        )
    }
}

struct ChunkAt;
impl Statement for ChunkAt {
    fn sql<J: JobTable>() -> String {
        format!(
            "SELECT bytes FROM {} WHERE job_id = $1 AND n = $2",
            J::CHUNKS
        )
    }
}

struct ClearChunks;
impl Statement for ClearChunks {
    fn sql<J: JobTable>() -> String {
        format!("DELETE FROM {} WHERE job_id = $1", J::CHUNKS)
    }
}

/// The member's job of this kind that is not finished, if any.
pub async fn open<J: JobTable>(
    conn: &mut AsyncPgConnection,
    member: MemberId,
) -> Result<Option<J::Id>> {
    let found: Option<IdRow> = query::<J, OpenJob>(vec![Bind::Id(member.get())])
        .get_result(conn)
        .await
        .optional()?;
    Ok(found.map(|r| J::Id::from(r.id)))
}

/// The job `id`; `owner`: only when it is theirs.
pub async fn of<J: JobTable>(
    conn: &mut AsyncPgConnection,
    owner: Option<MemberId>,
    id: J::Id,
) -> Result<Option<J>> {
    let binds = vec![Bind::Id(id.into()), Bind::MaybeId(owner.map(MemberId::get))];
    Ok(query::<J, JobOf>(binds).get_result(conn).await.optional()?)
}

/// Claims the oldest due job (queued, or running with its claim lapsed), fewer than
/// [`JobTable::MAX_ATTEMPTS`] times claimed; `only` claims that job or none.
pub async fn claim<J: JobTable>(
    conn: &mut AsyncPgConnection,
    only: Option<J::Id>,
) -> Result<Option<J>> {
    let binds = vec![
        Bind::Int(CLAIM_SECS),
        Bind::MaybeId(only.map(Into::into)),
        Bind::Int(J::MAX_ATTEMPTS),
    ];
    Ok(query::<J, ClaimJob>(binds)
        .get_result(conn)
        .await
        .optional()?)
}

/// Stores chunk `n` of job `job`'s archive (an uploaded import, a written export).
pub async fn add_chunk<J: JobTable>(
    conn: &mut AsyncPgConnection,
    job: J::Id,
    n: i32,
    bytes: &[u8],
) -> Result<()> {
    query::<J, AddChunk>(vec![Bind::Id(job.into()), Bind::Int(n), Bind::Bytes(bytes)])
        .execute(conn)
        .await?;
    Ok(())
}

/// Chunk `n` (from 0) of job `job`'s archive; `None` past the last.
pub async fn chunk<J: JobTable>(
    conn: &mut AsyncPgConnection,
    job: J::Id,
    n: i32,
) -> Result<Option<Vec<u8>>> {
    let found: Option<Chunk> = query::<J, ChunkAt>(vec![Bind::Id(job.into()), Bind::Int(n)])
        .get_result(conn)
        .await
        .optional()?;
    Ok(found.map(|c| c.bytes))
}

/// Forgets job `job`'s archive (a finished import's upload; an interrupted export, written again
/// from the start).
pub async fn clear_chunks<J: JobTable>(conn: &mut AsyncPgConnection, job: J::Id) -> Result<()> {
    query::<J, ClearChunks>(vec![Bind::Id(job.into())])
        .execute(conn)
        .await?;
    Ok(())
}
