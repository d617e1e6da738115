//! Idempotent creates: a retry with the same key and request gets the outcome stored the first time;
//! the same key with another request is refused. The outcome is stored in the creating transaction,
//! so a create and its record commit together or not at all.

use diesel_async::AsyncConnection;
use filmlog_domain::{MemberId, RuleError};
use filmlog_persistence::{AsyncPgConnection, idempotency};

use super::{OpResult, Step};

/// A request's key (when it sent one) bound to the request's digest.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: Option<String>,
    pub request_hash: [u8; 32],
}

/// What a create answered, as stored and replayed: plain data, so it can leave the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: u16,
    pub location: Option<String>,
    pub body: Vec<u8>,
    /// Whether this is a stored outcome answered again.
    pub replayed: bool,
}

impl Idempotency {
    /// Whether the request carries a key (and so its create must be recorded).
    pub fn is_keyed(&self) -> bool {
        self.key.is_some()
    }

    /// Runs `create` once per key, in one transaction: a retry answers the stored outcome; a
    /// first request runs `create`, renders what it made, and stores the rendering under the key.
    pub async fn once<T: Send>(
        &self,
        conn: &mut AsyncPgConnection,
        member: MemberId,
        create: impl for<'c> FnOnce(&'c mut AsyncPgConnection) -> Step<'c, T> + Send,
        render: impl FnOnce(T) -> OpResult<Outcome> + Send,
    ) -> OpResult<Outcome> {
        conn.transaction(async |conn| {
            if let Some(replay) = self.replay(conn, member).await? {
                return Ok(replay);
            }
            let outcome = render(create(conn).await?)?;
            self.record(conn, member, &outcome).await?;
            Ok(outcome)
        })
        .await
    }

    async fn replay(
        &self,
        conn: &mut AsyncPgConnection,
        member: MemberId,
    ) -> OpResult<Option<Outcome>> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let Some(stored) = idempotency::claim(conn, member, key, &self.request_hash).await? else {
            return Ok(None);
        };
        if stored.request_hash != self.request_hash {
            return Err(RuleError::IdempotencyKeyReused.into());
        }
        match (stored.status, stored.body) {
            (Some(status), Some(body)) => Ok(Some(Outcome {
                status: u16::try_from(status).unwrap_or(201),
                location: stored.location,
                body,
                replayed: true,
            })),
            _ => Err(RuleError::IdempotencyKeyInUse.into()),
        }
    }

    async fn record(
        &self,
        conn: &mut AsyncPgConnection,
        member: MemberId,
        outcome: &Outcome,
    ) -> OpResult<()> {
        if let Some(key) = &self.key {
            let status = i16::try_from(outcome.status).unwrap_or(201);
            let location = outcome.location.as_deref();
            idempotency::record(conn, member, key, status, location, &outcome.body).await?;
        }
        Ok(())
    }
}
