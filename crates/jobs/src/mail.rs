//! Outbound mail: the worker that drains the mail outbox through SMTP (`lettre`, STARTTLS or TLS,
//! credentials and a connection pool from `FILMLOG_SMTP_URL`), or, with no SMTP configured, into a
//! local mailbox directory of `.eml` files.
//!
//! A mail is queued in the transaction of what caused it (`filmlog_app::ops::recovery`). A worker
//! claims due rows with `FOR UPDATE SKIP LOCKED`, counts the attempt and holds the row while it
//! sends, holding no database connection meanwhile; it then records the outcome. A worker that dies
//! mid-send leaves the row to be claimed again when the hold ends, with the same `Message-ID`: a mail
//! is sent at least once, never lost. Temporary failures are retried with back-off (jittered,
//! doubling, capped); a permanent refusal (a 5xx reply, an address that cannot be parsed) is given up
//! at once. Sent and given-up mail has its bodies cleared, so the database keeps no working link.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use filmlog_domain::webhook::RetryPolicy;
use filmlog_persistence::DbPool;
use filmlog_persistence::mail::{self, Claimed};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// An SMTP transport with its connection pool, built by the worker that uses it (building one
/// spawns the pool's task, which needs a Tokio runtime). The pool closes its connections on a task it
/// spawns when dropped, which panics outside a runtime: there it is left to the process's end.
struct Smtp(Option<AsyncSmtpTransport<Tokio1Executor>>);

impl Drop for Smtp {
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_err()
            && let Some(transport) = self.0.take()
        {
            std::mem::forget(transport);
        }
    }
}

/// Where mail goes.
#[derive(Clone)]
pub enum Transport {
    /// An SMTP server, by a URL checked when the settings were read.
    Smtp { url: String, timeout: Duration },
    /// A directory of `.eml` files (`make run` without SMTP).
    Mailbox(PathBuf),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The URL may hold credentials.
            Transport::Smtp { .. } => f.write_str("Smtp(..)"),
            Transport::Mailbox(dir) => write!(f, "Mailbox({})", dir.display()),
        }
    }
}

impl Transport {
    /// SMTP from a URL: `smtp://host:port` (plain: only for a relay on the same machine),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://user:pass@host:465` (TLS).
    /// Checked now; the URL's credentials are never logged.
    pub fn smtp(url: &str, timeout: Duration) -> Result<Self, String> {
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("FILMLOG_SMTP_URL: {e}"))?;
        Ok(Transport::Smtp {
            url: url.to_owned(),
            timeout,
        })
    }

    /// What a worker sends with (inside its runtime).
    fn sender(&self) -> Result<Sender, String> {
        Ok(match self {
            Transport::Smtp { url, timeout } => {
                let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("FILMLOG_SMTP_URL: {e}"))?;
                Sender::Smtp(Smtp(Some(builder.timeout(Some(*timeout)).build())))
            }
            Transport::Mailbox(dir) => Sender::Mailbox(dir.clone()),
        })
    }
}

/// A worker's way of sending.
enum Sender {
    Smtp(Smtp),
    Mailbox(PathBuf),
}

/// How mail is sent.
#[derive(Debug, Clone)]
pub struct MailerSettings {
    pub transport: Transport,
    /// The `From` of every mail, e.g. `Filmlog <no-reply@filmlog.example>`.
    pub from: Mailbox,
    /// How often a worker looks for due mail.
    pub poll: Duration,
    /// How long a claimed mail is held before another worker may take it.
    pub hold: Duration,
    /// Mails claimed at once.
    pub batch: i64,
    pub retry: RetryPolicy,
}

impl MailerSettings {
    pub fn new(transport: Transport, from: Mailbox) -> Self {
        MailerSettings {
            transport,
            from,
            poll: Duration::from_secs(1),
            // Longer than a batch can take (each send is bounded by the transport's 30 s timeout):
            // a claim never lapses while its worker still sends.
            hold: Duration::from_secs(5 * 30 + 60),
            batch: 5,
            retry: RetryPolicy {
                first: Duration::from_secs(10),
                cap: Duration::from_secs(1800),
                give_up_after: Duration::from_secs(24 * 3600),
                disable_after: i32::MAX,
            },
        }
    }
}

/// Why one mail was not sent.
#[derive(Debug)]
struct SendError {
    message: String,
    /// Trying again cannot help.
    permanent: bool,
}

impl SendError {
    fn permanent(message: impl Into<String>) -> Self {
        SendError {
            message: message.into(),
            permanent: true,
        }
    }
}

const LIST_UNSUBSCRIBE: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe");
const LIST_UNSUBSCRIBE_POST: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe-Post");

/// The message a claimed row becomes. Its `Message-ID` is derived from the row, so a mail sent
/// twice (a worker died between sending and recording it) is recognisably the same.
fn message(settings: &MailerSettings, mail: &Claimed) -> Result<Message, SendError> {
    let to: Mailbox = mail
        .recipient
        .parse()
        .map_err(|e| SendError::permanent(format!("recipient: {e}")))?;
    let (Some(text), Some(html)) = (&mail.body_text, &mail.body_html) else {
        return Err(SendError::permanent("the mail has no body"));
    };
    let domain = settings.from.email.domain().to_owned();
    let mut builder = Message::builder()
        .from(settings.from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<mail-{}@{domain}>", mail.id)))
        .date(std::time::SystemTime::from(mail.created_at));
    if let Some(target) = &mail.unsubscribe {
        // RFC 8058 one-click unsubscribe.
        builder = builder
            .raw_header(HeaderValue::new(LIST_UNSUBSCRIBE, format!("<{target}>")))
            .raw_header(HeaderValue::new(
                LIST_UNSUBSCRIBE_POST,
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            text.clone(),
            html.clone(),
        ))
        .map_err(|e| SendError::permanent(format!("message: {e}")))
}

async fn send(settings: &MailerSettings, sender: &Sender, mail: &Claimed) -> Result<(), SendError> {
    let message = message(settings, mail)?;
    match sender {
        Sender::Smtp(Smtp(Some(smtp))) => {
            smtp.send(message).await.map(drop).map_err(|e| SendError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            })
        }
        Sender::Smtp(Smtp(None)) => Err(SendError {
            message: "the SMTP transport was dropped".to_owned(),
            permanent: false,
        }),
        Sender::Mailbox(dir) => {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| SendError {
                    message: format!("mailbox {}: {e}", dir.display()),
                    permanent: false,
                })?;
            AsyncFileTransport::<Tokio1Executor>::new(dir)
                .send(message)
                .await
                .map(|id| {
                    tracing::info!(
                        file = %dir.join(format!("{id}.eml")).display(),
                        kind = %mail.kind,
                        "mail: written to the local mailbox"
                    );
                })
                .map_err(|e| SendError {
                    message: e.to_string(),
                    permanent: false,
                })
        }
    }
}

/// How long the link a mail of `kind` carries works (as `filmlog_app::mail::MailSettings` has it).
fn link_lifetime(kind: &str) -> Option<chrono::Duration> {
    match kind {
        "password_reset" => Some(chrono::Duration::hours(1)),
        "verify_email" => Some(chrono::Duration::hours(24)),
        _ => None,
    }
}

/// Claims due mail and sends it, one after another; returns how many were claimed.
async fn drain(pool: &DbPool, settings: &MailerSettings, sender: &Sender) -> Result<usize, String> {
    let claimed = {
        let mut conn = pool.get().await.map_err(|e| e.to_string())?;
        mail::claim(&mut conn, settings.batch, settings.hold)
            .await
            .map_err(|e| e.to_string())?
    };
    let n = claimed.len();
    for item in claimed {
        let outcome = match link_lifetime(&item.kind) {
            // A link that no longer works is not worth sending.
            Some(life) if Utc::now() - item.created_at > life => Err(SendError::permanent(
                "its link expired before it could be sent",
            )),
            _ => send(settings, sender, &item).await,
        };
        let mut conn = pool.get().await.map_err(|e| e.to_string())?;
        let recorded = match outcome {
            Ok(()) => {
                crate::metrics::mail(&item.kind, "sent");
                mail::mark_sent(&mut conn, &item).await
            }
            Err(failure) => {
                let age = (Utc::now() - item.created_at).to_std().unwrap_or_default();
                let retry_in = if failure.permanent {
                    None
                } else {
                    settings
                        .retry
                        .after_failure(item.attempts, age, 0, rand::random::<f64>())
                        .retry_in
                };
                let retry_at = retry_in
                    .and_then(|d| chrono::Duration::from_std(d).ok())
                    .map(|d| Utc::now() + d);
                let outcome = if retry_at.is_some() {
                    "retry"
                } else {
                    "failed"
                };
                crate::metrics::mail(&item.kind, outcome);
                tracing::warn!(mail = item.id, kind = %item.kind, attempt = item.attempts,
                    error = %failure.message, outcome, "mail: not sent");
                mail::mark_failed(&mut conn, &item, &failure.message, retry_at).await
            }
        };
        recorded.map_err(|e| e.to_string())?;
    }
    Ok(n)
}

/// Drains the outbox for as long as the process runs.
pub async fn work(pool: DbPool, settings: Arc<MailerSettings>) {
    let sender = match settings.transport.sender() {
        Ok(sender) => sender,
        Err(error) => {
            tracing::error!(%error, "mail: no transport; nothing will be sent");
            return;
        }
    };
    loop {
        match drain(&pool, &settings, &sender).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "mail: the outbox was not drained"),
        }
        tokio::time::sleep(settings.poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed(unsubscribe: Option<&str>) -> Claimed {
        Claimed {
            id: 7,
            recipient: "ana@example.com".to_owned(),
            kind: "verify_email".to_owned(),
            subject: "Confirm — ünïcode".to_owned(),
            body_text: Some("plain".to_owned()),
            body_html: Some("<p>html</p>".to_owned()),
            unsubscribe: unsubscribe.map(str::to_owned),
            created_at: Utc::now(),
            attempts: 1,
            claimed_until: None,
        }
    }

    fn settings() -> MailerSettings {
        let from = "Filmlog <no-reply@filmlog.example>"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        MailerSettings::new(Transport::Mailbox(PathBuf::from("/nonexistent")), from)
    }

    fn formatted(m: &Message) -> String {
        String::from_utf8_lossy(&m.formatted()).into_owned()
    }

    #[test]
    fn a_mail_has_both_bodies_a_stable_id_and_no_unsubscribe_when_about_security() {
        let m = message(&settings(), &claimed(None)).unwrap_or_else(|e| panic!("{e:?}"));
        let raw = formatted(&m);
        assert!(
            raw.contains("Message-ID: <mail-7@filmlog.example>"),
            "{raw}"
        );
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(
            raw.contains("text/plain") && raw.contains("text/html"),
            "{raw}"
        );
        assert!(!raw.contains("List-Unsubscribe"), "{raw}");
    }

    #[test]
    fn other_mail_carries_one_click_unsubscribe() {
        let m = message(&settings(), &claimed(Some("https://x.example/u?t=1")))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let raw = formatted(&m);
        assert!(
            raw.contains("List-Unsubscribe: <https://x.example/u?t=1>"),
            "{raw}"
        );
        assert!(
            raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{raw}"
        );
    }

    #[test]
    fn a_bad_recipient_or_a_scrubbed_body_is_given_up_at_once() {
        let mut bad = claimed(None);
        bad.recipient = "not an address".to_owned();
        assert!(message(&settings(), &bad).is_err_and(|e| e.permanent));
        let mut scrubbed = claimed(None);
        scrubbed.body_text = None;
        assert!(message(&settings(), &scrubbed).is_err_and(|e| e.permanent));
    }
}
