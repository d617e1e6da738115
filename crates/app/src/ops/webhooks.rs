//! A member's webhook endpoints: registering, changing and testing them.

use chrono::Utc;
use diesel_async::AsyncConnection;
use filmlog_domain::webhook::ENDPOINTS_MAX;
use filmlog_domain::{MemberId, RuleError, WebhookId};
use filmlog_persistence::webhooks::{self as store, DeliveryRow, EndpointChanges, EndpointRow};
use filmlog_persistence::{AsyncPgConnection, members};

use super::{OpError, OpResult};

/// How long a rotated secret's predecessor still signs deliveries beside it.
pub const ROTATION_GRACE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Registers an endpoint (its secret already sealed); at most [`ENDPOINTS_MAX`] per member, once
/// their address is verified.
pub async fn register(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    url: &str,
    events: &[String],
    sealed_secret: &str,
) -> OpResult<EndpointRow> {
    conn.transaction(async |conn| {
        // The member's row serialises their registrations, so the limit holds under races.
        let me = members::lock(conn, owner)
            .await?
            .ok_or(super::Denied::AccountGone)?;
        super::recovery::require_verified(&me)?;
        if store::count_of(conn, owner).await? >= ENDPOINTS_MAX {
            return Err(RuleError::WebhookLimit.into());
        }
        let row = store::create(conn, owner, url, events, sealed_secret).await?;
        let notice = crate::mail::webhook_added(&me.username, url);
        super::recovery::tell(conn, &me, &notice).await?;
        Ok(row)
    })
    .await
}

/// Changes the owner's endpoint; with a new sealed secret, rotates it (the old one signs beside
/// it for [`ROTATION_GRACE`]). Pointing it elsewhere or turning it on needs a verified address, as
/// registering one does.
pub async fn change(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    id: WebhookId,
    changes: &EndpointChanges,
    rotated: Option<&str>,
) -> OpResult<EndpointRow> {
    conn.transaction(async |conn| {
        own(conn, owner, id).await?;
        if changes.url.is_some() || changes.enabled == Some(true) {
            let me = members::find(conn, owner)
                .await?
                .ok_or(super::Denied::AccountGone)?;
            super::recovery::require_verified(&me)?;
        }
        let row = store::update(conn, id, changes).await?;
        if let Some(sealed) = rotated {
            store::rotate_secret(conn, id, sealed, ROTATION_GRACE).await?;
        }
        Ok(row)
    })
    .await
}

/// Queues a test delivery to an enabled endpoint; one test at a time per endpoint, so a loop of
/// tests cannot fill the delivery queue.
pub async fn test(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    id: WebhookId,
) -> OpResult<DeliveryRow> {
    conn.transaction(async |conn| {
        let endpoint = own(conn, owner, id).await?;
        if !endpoint.enabled {
            return Err(RuleError::WebhookDisabled.into());
        }
        if store::pending_of_type(conn, id, "webhook.test").await? > 0 {
            return Err(RuleError::WebhookTestPending.into());
        }
        let payload = serde_json::json!({
            "type": "webhook.test",
            "timestamp": Utc::now(),
            "data": {"webhook": id.to_string()},
        });
        Ok(store::enqueue(conn, id, "webhook.test", &payload).await?)
    })
    .await
}

/// Deletes the owner's endpoint with its pending deliveries; 404 when none of theirs has that id.
pub async fn delete(conn: &mut AsyncPgConnection, owner: MemberId, id: WebhookId) -> OpResult<()> {
    if store::delete(conn, owner, id).await? {
        Ok(())
    } else {
        Err(OpError::NotFound("that webhook"))
    }
}

async fn own(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    id: WebhookId,
) -> OpResult<EndpointRow> {
    store::lock_own(conn, owner, id)
        .await?
        .ok_or(OpError::NotFound("that webhook"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::fixture::Fixture;

    #[tokio::test]
    async fn registrations_stop_at_the_limit_and_tests_wait_for_the_last_one() {
        let mut f = Fixture::new().await;
        let ana = f.member("ana").await;
        let events = ["log_entry.created".to_owned()];
        let mut first = None;
        for i in 0..ENDPOINTS_MAX {
            let url = format!("https://example.com/hook/{i}");
            let row = register(&mut f.conn, ana, &url, &events, "sealed")
                .await
                .unwrap_or_else(|e| panic!("{i}: {e}"));
            first.get_or_insert(row.id);
        }
        let over = register(&mut f.conn, ana, "https://example.com/x", &events, "sealed").await;
        assert!(
            matches!(over, Err(OpError::Rule(RuleError::WebhookLimit))),
            "{over:?}"
        );

        let id = first.unwrap_or_else(|| panic!("none registered"));
        test(&mut f.conn, ana, id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let again = test(&mut f.conn, ana, id).await;
        assert!(
            matches!(again, Err(OpError::Rule(RuleError::WebhookTestPending))),
            "{again:?}"
        );
        let bo = f.member("bo").await;
        let theirs = test(&mut f.conn, bo, id).await;
        assert!(matches!(theirs, Err(OpError::NotFound(_))), "{theirs:?}");
    }
}
