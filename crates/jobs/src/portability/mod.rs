//! Data portability: imports of a Letterboxd (or Filmlog) export and exports of everything a member
//! owns, as durable jobs. A job is a row; workers (any instance, `FOR UPDATE SKIP LOCKED`) claim it
//! for a minute at a time and renew the claim as they work, so a job whose worker stopped (a
//! restart, a crash) is taken up again where it was.

pub mod bounds;
pub mod document;
pub mod export;
pub mod import;
pub mod reader;

use std::sync::Arc;
use std::time::Duration;

use filmlog_app::credentials::{constant_time_eq, hmac_sha256};
use filmlog_domain::ExportJobId;
use filmlog_persistence::DbPool;
use tokio::sync::Notify;

/// How the jobs run.
#[derive(Debug, Clone)]
pub struct PortabilitySettings {
    /// How often an idle worker looks for due jobs (a job made on this instance wakes it at once).
    pub poll: Duration,
    /// Rows applied per transaction.
    pub batch: usize,
    /// How long a download link works.
    pub link_ttl: Duration,
    /// Days an export is kept for download, and a finished import's report.
    pub keep_days: i32,
    /// The key download links are signed with.
    pub link_key: Arc<[u8]>,
    /// Wakes this instance's workers when a job is queued here.
    pub wake: Arc<Notify>,
    /// How often a worker renews its claim on the job it runs, whatever the job is doing (well
    /// inside the claim's minute).
    pub heartbeat: Duration,
    /// How long one attempt of an import may run before the job fails.
    pub job_budget: Duration,
}

impl PortabilitySettings {
    /// Defaults, with download links signed by a key derived from `secret` (the token secret).
    pub fn new(secret: &[u8]) -> Self {
        let key = hmac_sha256(secret, b"filmlog export links");
        PortabilitySettings {
            poll: Duration::from_secs(2),
            batch: 250,
            link_ttl: Duration::from_secs(3600),
            keep_days: 7,
            link_key: key.to_vec().into(),
            wake: Arc::new(Notify::new()),
            heartbeat: Duration::from_secs(15),
            job_budget: Duration::from_secs(30 * 60),
        }
    }

    /// The signature of a download link for export `id` valid until `expires` (Unix seconds).
    pub fn sign(&self, id: ExportJobId, expires: i64) -> String {
        hex::encode(hmac_sha256(
            &self.link_key,
            format!("{id}.{expires}").as_bytes(),
        ))
    }

    /// Whether `signature` (hex, either case) signs export `id` until `expires` (compared in
    /// constant time).
    pub fn verify(&self, id: ExportJobId, expires: i64, signature: &str) -> bool {
        let given = signature.to_ascii_lowercase();
        constant_time_eq(self.sign(id, expires).as_bytes(), given.as_bytes())
    }
}

/// Runs imports and exports for as long as the process runs.
pub async fn work(pool: DbPool, settings: Arc<PortabilitySettings>) {
    loop {
        let mut busy = false;
        match import::run_next(&pool, &settings, None, &mut |_| {}).await {
            Ok(ran) => busy |= ran,
            Err(error) => tracing::warn!(%error, "imports: a job was interrupted"),
        }
        match export::run_next(&pool, &settings).await {
            Ok(ran) => busy |= ran,
            Err(error) => tracing::warn!(%error, "exports: a job was interrupted"),
        }
        if !busy {
            let _ = tokio::time::timeout(settings.poll, settings.wake.notified()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_only_their_own_signature() {
        let s = PortabilitySettings::new(b"a secret of at least thirty-two bytes!!");
        let sig = s.sign(ExportJobId::new(7), 1_900_000_000);
        assert!(s.verify(ExportJobId::new(7), 1_900_000_000, &sig));
        // Hex is hex in either case (a client or proxy may upper-case it).
        assert!(s.verify(
            ExportJobId::new(7),
            1_900_000_000,
            &sig.to_ascii_uppercase()
        ));
        assert!(!s.verify(ExportJobId::new(8), 1_900_000_000, &sig));
        assert!(!s.verify(ExportJobId::new(7), 1_900_000_001, &sig));
        assert!(!s.verify(ExportJobId::new(7), 1_900_000_000, "zz"));
        let other = PortabilitySettings::new(b"another secret of thirty-two bytes!!!!!");
        assert!(!other.verify(ExportJobId::new(7), 1_900_000_000, &sig));
    }
}
