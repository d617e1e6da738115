//! Webhook delivery: signing as the Standard Webhooks specification says, checking the target's
//! addresses at each connection (DNS rebinding), and the worker that drains the outbox.
//!
//! The outbox rows are written with their events (triggers in the same transaction). A worker claims
//! due rows with `FOR UPDATE SKIP LOCKED` (several workers and instances never take the same row),
//! counts the attempt and holds the row for a while; it then sends, and records the outcome. A
//! worker that dies mid-delivery leaves the row to be taken again when the hold ends, with the same
//! `webhook-id`: delivery is at least once, and a receiver deduplicates by that id.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use filmlog_app::credentials::{SEALED, Sealer, hmac_sha256};
use filmlog_domain::webhook::{RetryPolicy, TargetPolicy, WebhookError};
use filmlog_persistence::{DbPool, PersistenceError, webhooks};

/// How webhooks are delivered.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub targets: TargetPolicy,
    pub retry: RetryPolicy,
    /// How often a worker looks for due deliveries.
    pub poll: Duration,
    /// How long a claimed delivery is held before another worker may take it.
    pub hold: Duration,
    /// The whole request, connection included.
    pub timeout: Duration,
    /// Seals the endpoints' secrets at rest; `None`: no key (secrets can be neither stored nor
    /// used, never stored in the clear).
    pub secrets: Option<Arc<SecretBox>>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            targets: TargetPolicy::default(),
            retry: RetryPolicy::default(),
            poll: Duration::from_secs(1),
            hold: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
            secrets: None,
        }
    }
}

/// Seals webhook secrets at rest ([`Sealer`] with the webhook purpose). A database dump alone does
/// not let anyone sign deliveries as Filmlog.
pub struct SecretBox(Sealer);

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// The box whose key is derived from `server_secret` (the token secret).
    pub fn new(server_secret: &[u8]) -> Self {
        SecretBox(Sealer::new(
            server_secret,
            b"filmlog webhook secrets",
            b"webhook secret",
        ))
    }

    /// `secret` as stored.
    pub fn seal(&self, secret: &str) -> Option<String> {
        self.0.seal(secret)
    }

    /// The secret a stored value holds (one stored before sealing began is taken as it is).
    pub fn open(&self, stored: &str) -> Option<String> {
        if stored.starts_with(SEALED) {
            self.0.open(stored)
        } else {
            stored.starts_with("whsec_").then(|| stored.to_owned())
        }
    }
}

/// A new signing secret: `whsec_` and the base64 of 24 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
    format!("whsec_{}", STANDARD.encode(key))
}

/// The `webhook-signature` of a message: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` under the secret's key. `None` for a secret that is not `whsec_…`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
    let signed = [
        id.as_bytes(),
        b".",
        timestamp.to_string().as_bytes(),
        b".",
        body,
    ]
    .concat();
    Some(format!(
        "v1,{}",
        STANDARD.encode(hmac_sha256(&key, &signed))
    ))
}

/// Checks a URL a member registers: absolute, `https` (or `http` to an allowed host), no user
/// information, and not naming an internal address unless allowed.
pub fn check_url(raw: &str, targets: &TargetPolicy) -> Result<reqwest::Url, WebhookError> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|_| WebhookError::NotHttps)?;
    let host = url.host_str().ok_or(WebhookError::NotHttps)?;
    let literal = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    let credentials = !url.username().is_empty() || url.password().is_some();
    targets.check(raw.len(), url.scheme(), host, literal, credentials)?;
    Ok(url)
}

/// Resolves names for deliveries, refusing any answer that holds an address the policy forbids:
/// the check is made on the addresses the connection is made to, at delivery time.
struct CheckedResolver(TargetPolicy);

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() || addrs.iter().any(|a| !policy.address_allowed(a.ip())) {
                let err: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves to an address deliveries may not reach").into();
                return Err(err);
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The client deliveries go out through: no redirects (a redirect could lead anywhere), no proxy
/// from the environment (`HTTP(S)_PROXY` would connect to the proxy, past the address checks), the
/// resolver above, the timeout.
pub fn client(settings: &WebhookSettings) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(CheckedResolver(settings.targets.clone())))
        .timeout(settings.timeout)
        .user_agent("Filmlog-Webhooks/1")
        .build()
}

/// What one attempt came to.
enum Outcome {
    Delivered(i32, String),
    Failed(Option<i32>, String, Option<String>),
}

/// At most 256 characters of a receiver's answer.
fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(256).collect()
}

async fn attempt(
    client: &reqwest::Client,
    settings: &WebhookSettings,
    d: &webhooks::Claimed,
) -> Outcome {
    // An IP in the URL bypasses the resolver: check it here (it may have been allowed when the
    // endpoint was registered and forbidden since).
    if let Err(e) = check_url(&d.url, &settings.targets) {
        return Outcome::Failed(None, format!("refused target: {e}"), None);
    }
    let body = serde_json::to_vec(&d.payload).unwrap_or_default();
    let timestamp = Utc::now().timestamp();
    // Signed with the secret, and with the one before it while a rotation's grace lasts
    // (Standard Webhooks: signatures separated by spaces, any one may verify).
    let signed_with = |stored: &str| {
        let secret = settings.secrets.as_ref()?.open(stored)?;
        sign(&secret, &d.message_id, timestamp, &body)
    };
    let Some(signature) = signed_with(&d.secret) else {
        return Outcome::Failed(None, "the endpoint's secret is unusable".to_owned(), None);
    };
    let previous = d.previous_secret.as_deref().and_then(signed_with);
    let signature = match previous {
        Some(old) => format!("{signature} {old}"),
        None => signature,
    };
    let sent = client
        .post(&d.url)
        .header("content-type", "application/json")
        .header("webhook-id", &d.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(res) => {
            let status = i32::from(res.status().as_u16());
            let ok = res.status().is_success();
            // Only a short excerpt is kept; the rest is not read past 4 KiB.
            let mut got = Vec::new();
            let mut res = res;
            while got.len() < 4096 {
                match res.chunk().await {
                    Ok(Some(bytes)) => got.extend_from_slice(&bytes),
                    _ => break,
                }
            }
            let text = excerpt(&got);
            if ok {
                Outcome::Delivered(status, text)
            } else {
                Outcome::Failed(Some(status), format!("answered {status}"), Some(text))
            }
        }
        Err(e) => {
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "request failed"
            };
            let mut detail = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                detail = format!("{detail}: {s}");
                source = s.source();
            }
            Outcome::Failed(
                None,
                format!("{kind}: {}", excerpt(detail.as_bytes())),
                None,
            )
        }
    }
}

/// Deliveries one worker sends at once.
const PARALLEL: usize = 16;
/// Deliveries in flight to one endpoint, across every worker.
pub const PER_ENDPOINT: i64 = 2;
/// Deliveries in flight to one member's endpoints together, across every worker.
pub const PER_OWNER: i64 = 4;

/// Claims up to `limit` due deliveries and sends each on a task of its own, recording its outcome
/// as soon as it has one (a slow receiver never holds up the deliveries claimed with it); each task
/// holds one of `slots` until it is done. How many were claimed.
async fn dispatch(
    pool: &DbPool,
    client: &reqwest::Client,
    settings: &Arc<WebhookSettings>,
    slots: &Arc<tokio::sync::Semaphore>,
) -> Result<usize, PersistenceError> {
    let free = slots.available_permits();
    if free == 0 {
        return Ok(0);
    }
    let claimed = {
        let mut conn = pool.get().await.map_err(PersistenceError::from)?;
        webhooks::claim(
            &mut conn,
            i64::try_from(free).unwrap_or(1),
            PER_ENDPOINT,
            PER_OWNER,
            settings.hold,
        )
        .await?
    };
    let n = claimed.len();
    for d in claimed {
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            break;
        };
        let (pool, client, settings) = (pool.clone(), client.clone(), settings.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let outcome = attempt(&client, &settings, &d).await;
            let took = started.elapsed();
            let recorded = async {
                let mut conn = pool.get().await.map_err(PersistenceError::from)?;
                record(&mut conn, &settings, &d, outcome).await?;
                // An endpoint that kept a delivery for more than half the timeout is held back as
                // long again, so a tarpit gets few of the workers' turns.
                if took > settings.timeout / 2 {
                    webhooks::slow_down(&mut conn, d.endpoint_id, took).await?;
                }
                Ok::<_, PersistenceError>(())
            };
            if let Err(error) = recorded.await {
                tracing::warn!(%error, delivery = d.id.get(), "webhooks: an outcome was not recorded");
            }
            drop(permit);
        });
    }
    Ok(n)
}

async fn record(
    conn: &mut filmlog_persistence::AsyncPgConnection,
    settings: &WebhookSettings,
    d: &webhooks::Claimed,
    outcome: Outcome,
) -> filmlog_persistence::Result<()> {
    use diesel_async::AsyncConnection;
    conn.transaction(async |conn| match outcome {
        Outcome::Delivered(status, text) => webhooks::delivered(conn, d, status, &text).await,
        Outcome::Failed(status, error, text) => {
            let in_a_row = webhooks::count_failure(conn, d.endpoint_id).await?;
            let age = (Utc::now() - d.created_at).to_std().unwrap_or_default();
            let jitter = rand::random::<f64>();
            let next = settings
                .retry
                .after_failure(d.attempts, age, in_a_row, jitter);
            let retry_at = next
                .retry_in
                .and_then(|w| chrono::TimeDelta::from_std(w).ok())
                .map(|w| Utc::now() + w);
            webhooks::failed(conn, d.id, status, &error, text.as_deref(), retry_at).await?;
            if next.disable {
                let reason = format!("{in_a_row} deliveries failed in a row; the last: {error}");
                webhooks::disable(conn, d.endpoint_id, d.owner_id, &reason).await?;
            }
            Ok(())
        }
    })
    .await
}

/// Seals the secrets stored before sealing began (a release that kept them in plaintext), a batch at
/// a time; how many endpoints it sealed. A secret that changed meanwhile is left as the change made
/// it.
pub async fn seal_stored(pool: &DbPool, sealing: &SecretBox) -> Result<usize, PersistenceError> {
    let seal = |stored: &str| {
        if stored.starts_with("whsec_") {
            sealing.seal(stored)
        } else {
            Some(stored.to_owned())
        }
    };
    let mut conn = pool.get().await?;
    let (mut sealed, mut after) = (0, None);
    loop {
        let rows = webhooks::unsealed(&mut conn, after, 100).await?;
        let Some(last) = rows.last() else {
            return Ok(sealed);
        };
        after = Some(last.0);
        for (id, secret, previous) in &rows {
            let Some(new) = seal(secret) else { continue };
            let new_previous = match previous.as_deref().map(seal) {
                Some(None) => continue,
                other => other.flatten(),
            };
            let previous = previous.as_deref().zip(new_previous.as_deref());
            if webhooks::store_sealed(&mut conn, *id, (secret, &new), previous).await? {
                sealed += 1;
            }
        }
    }
}

/// Delivers for as long as the process runs: due deliveries claimed whenever one of the worker's
/// [`PARALLEL`] slots is free, checked every `poll`. Secrets stored in plaintext by an older release
/// are sealed first.
pub async fn work(pool: DbPool, settings: Arc<WebhookSettings>) {
    if let Some(sealing) = &settings.secrets {
        match seal_stored(&pool, sealing).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(endpoints = n, "webhooks: stored secrets sealed"),
            Err(error) => tracing::warn!(%error, "webhooks: stored secrets not sealed"),
        }
    }
    let client = match client(&settings) {
        Ok(c) => c,
        Err(error) => {
            tracing::error!(%error, "webhooks: no HTTP client; nothing will be delivered");
            return;
        }
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    loop {
        match dispatch(&pool, &client, &settings, &slots).await {
            // More may be due: claim again at once (when a slot is free).
            Ok(n) if n > 0 && slots.available_permits() > 0 => continue,
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "webhooks: deliveries were not claimed"),
        }
        tokio::time::sleep(settings.poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_sealed_and_open_only_under_their_key() {
        let sealing = SecretBox::new(b"a server secret of at least 32 bytes");
        let secret = new_secret();
        let stored = sealing.seal(&secret).unwrap_or_default();
        assert!(stored.starts_with(SEALED) && !stored.contains(&secret[6..]));
        assert_ne!(
            sealing.seal(&secret),
            Some(stored.clone()),
            "a fresh nonce each time"
        );
        assert_eq!(sealing.open(&stored), Some(secret.clone()));
        let other = SecretBox::new(b"another server secret of 32 bytes!!");
        assert_eq!(other.open(&stored), None);
        let mut tampered = stored.clone();
        tampered.pop();
        tampered.push(if stored.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(sealing.open(&tampered), None);
        // Stored before sealing began: read as it is; anything else is refused.
        assert_eq!(sealing.open(&secret), Some(secret.clone()));
        assert_eq!(sealing.open("sealed1:AAAA"), None);
        assert_eq!(sealing.open("plain text"), None);
    }

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(sign("not-a-secret", "m", 1, b""), None);
        assert!(new_secret().starts_with("whsec_"));
        assert_ne!(new_secret(), new_secret());
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_that_resolve_to_internal_addresses() {
        use reqwest::dns::Resolve;
        let localhost = || {
            "localhost"
                .parse::<reqwest::dns::Name>()
                .unwrap_or_else(|_| panic!("a name"))
        };
        let strict = CheckedResolver(TargetPolicy::default());
        assert!(strict.resolve(localhost()).await.is_err());
        let lenient = CheckedResolver(TargetPolicy {
            http_hosts: Vec::new(),
            allow_private: true,
        });
        let addrs: Vec<SocketAddr> = match lenient.resolve(localhost()).await {
            Ok(addrs) => addrs.collect(),
            Err(e) => panic!("{e}"),
        };
        assert!(
            !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()),
            "{addrs:?}"
        );
    }

    #[test]
    fn urls_are_checked_as_registered() {
        let strict = TargetPolicy::default();
        assert!(check_url("https://hooks.example.com/filmlog", &strict).is_ok());
        assert_eq!(
            check_url("http://hooks.example.com/", &strict).err(),
            Some(WebhookError::NotHttps)
        );
        assert_eq!(
            check_url("https://[::1]:9000/", &strict).err(),
            Some(WebhookError::PrivateTarget)
        );
        assert_eq!(
            check_url("https://user:pw@hooks.example.com/", &strict).err(),
            Some(WebhookError::Credentials)
        );
        assert_eq!(
            check_url("not a url", &strict).err(),
            Some(WebhookError::NotHttps)
        );
    }
}
