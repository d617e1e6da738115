//! Imports and exports as jobs a member starts, confirms and cancels (the jobs crate runs them).

use diesel_async::AsyncConnection;
use filmlog_domain::{ImportJobId, MemberId, RuleError, rules};
use filmlog_persistence::portability::{self as store, ExportJobRow, ImportJobRow};
use filmlog_persistence::{AsyncPgConnection, members};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::{OpError, OpResult};

/// Refuses a new import while one is open: checked before an upload is read (and again, with the
/// member's row locked, when it is stored).
pub async fn check_no_open_import(conn: &mut AsyncPgConnection, member: MemberId) -> OpResult<()> {
    Ok(rules::check_no_open_import(
        filmlog_persistence::jobs::open::<store::ImportJobRow>(conn, member).await?,
    )?)
}

/// Queues an import of the archive `archive` holds (`bytes` long), stored in `chunk`-byte rows.
pub async fn start_import(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    dry_run: bool,
    bytes: u64,
    archive: &mut (impl AsyncRead + Unpin + Send),
    chunk: usize,
) -> OpResult<ImportJobRow> {
    conn.transaction(async |conn| {
        // One open import per member, checked again with the member's row locked.
        members::lock(conn, member).await?;
        rules::check_no_open_import(
            filmlog_persistence::jobs::open::<store::ImportJobRow>(conn, member).await?,
        )?;
        let job = store::create_import(conn, member, dry_run, bytes).await?;
        let mut buf = vec![0u8; chunk];
        for n in 0.. {
            let len = read_full(archive, &mut buf).await?;
            if len == 0 {
                break;
            }
            filmlog_persistence::jobs::add_chunk::<ImportJobRow>(conn, job.id, n, &buf[..len])
                .await?;
        }
        Ok(job)
    })
    .await
}

/// Fills `buf` unless the reader ends first; how many bytes were read.
pub async fn read_full(
    reader: &mut (impl AsyncRead + Unpin + Send),
    buf: &mut [u8],
) -> OpResult<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = reader
            .read(&mut buf[filled..])
            .await
            .map_err(|e| OpError::internal(format!("temporary file: {e}")))?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// Confirms a dry run waiting for review: it runs again, for real.
pub async fn confirm_import(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    id: ImportJobId,
) -> OpResult<ImportJobRow> {
    conn.transaction(async |conn| {
        // (Only a refusal reads the job first: 404 when it is not theirs, else 409.)
        if !store::confirm_import(conn, member, id).await? {
            own_import(conn, member, id).await?;
            return Err(RuleError::NotAwaitingReview.into());
        }
        own_import(conn, member, id).await
    })
    .await
}

/// Cancels an import that is not finished.
pub async fn cancel_import(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    id: ImportJobId,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        if !store::cancel_import(conn, member, id).await? {
            own_import(conn, member, id).await?;
            return Err(RuleError::ImportFinished.into());
        }
        Ok(())
    })
    .await
}

async fn own_import(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    id: ImportJobId,
) -> OpResult<ImportJobRow> {
    filmlog_persistence::jobs::of::<store::ImportJobRow>(conn, Some(member), id)
        .await?
        .ok_or(OpError::NotFound("that import"))
}

/// Queues an export of everything the member owns; one at a time.
pub async fn start_export(
    conn: &mut AsyncPgConnection,
    member: MemberId,
) -> OpResult<ExportJobRow> {
    conn.transaction(async |conn| {
        members::lock(conn, member).await?;
        rules::check_no_open_export(
            filmlog_persistence::jobs::open::<store::ExportJobRow>(conn, member).await?,
        )?;
        Ok(store::create_export(conn, member).await?)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::fixture::Fixture;

    #[tokio::test]
    async fn one_import_at_a_time_and_its_archive_is_stored_in_chunks() {
        let mut f = Fixture::new().await;
        let ana = f.member("ana").await;
        let archive = b"PK\x03\x04 ten bytes and some more";
        let mut reader: &[u8] = archive;
        let job = start_import(
            &mut f.conn,
            ana,
            true,
            archive.len() as u64,
            &mut reader,
            10,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.count("import_chunks").await, 3);
        let open = check_no_open_import(&mut f.conn, ana).await;
        assert!(
            matches!(open, Err(OpError::Rule(RuleError::ImportInProgress))),
            "{open:?}"
        );
        let mut reader: &[u8] = archive;
        let second = start_import(&mut f.conn, ana, false, 1, &mut reader, 10).await;
        assert!(
            matches!(second, Err(OpError::Rule(RuleError::ImportInProgress))),
            "{second:?}"
        );
        assert_eq!(f.count("import_jobs").await, 1);

        let not_ready = confirm_import(&mut f.conn, ana, job.id).await;
        assert!(matches!(
            not_ready,
            Err(OpError::Rule(RuleError::NotAwaitingReview))
        ));
        let bo = f.member("bo").await;
        let theirs = cancel_import(&mut f.conn, bo, job.id).await;
        assert!(matches!(theirs, Err(OpError::NotFound(_))), "{theirs:?}");
        cancel_import(&mut f.conn, ana, job.id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let again = cancel_import(&mut f.conn, ana, job.id).await;
        assert!(
            matches!(again, Err(OpError::Rule(RuleError::ImportFinished))),
            "{again:?}"
        );
        check_no_open_import(&mut f.conn, ana)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}
