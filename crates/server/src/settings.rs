//! Configuration from environment variables into one typed struct. A missing or invalid setting is a
//! clear message naming the variable; nothing secret has a default.

use secrecy::SecretString;

use filmlog_api::cors::CorsPolicy;
use filmlog_api::ratelimit::{Budgets, Quota, RateLimits};
use filmlog_api::state::HttpLimits;
use filmlog_app::credentials::AuthSettings;
use filmlog_app::credentials::check_signing_key;
use filmlog_persistence::PoolSettings;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

#[derive(Debug, Clone)]
pub struct Settings {
    database_url: Option<String>,
    /// A hot standby for reads (`FILMLOG_READ_DATABASE_URL`), if any.
    pub read_database_url: Option<String>,
    /// Redis for the rate limiter's state shared by several instances (`FILMLOG_REDIS_URL`); without
    /// it each instance keeps its own.
    pub redis_url: Option<String>,
    /// This instance's name (`FILMLOG_INSTANCE`), sent as `Filmlog-Instance` on every response.
    pub instance: Option<String>,
    /// Where to serve Prometheus `/metrics` (`FILMLOG_METRICS_ADDR`, e.g. `127.0.0.1:9464`); not
    /// served without it. Never the API's port: metrics are for operators.
    pub metrics_addr: Option<String>,
    auth: Result<AuthSettings, ConfigError>,
    pub host: String,
    pub port: u16,
    pub workers: usize,
    pub pool: PoolSettings,
    /// The read pool: the same but read-only and with a shorter statement timeout.
    pub reads: PoolSettings,
    pub http: HttpLimits,
    pub rate: RateLimits,
    /// The origins whose pages may call the API (`FILMLOG_CORS_ORIGINS`: a comma-separated list
    /// of `scheme://host[:port]`, or `*`); none by default.
    pub cors: CorsPolicy,
    /// How often the server recomputes review popularity scores; `None` (0) leaves it to
    /// `filmlog recompute-popularity`.
    pub popularity_every: Option<std::time::Duration>,
    /// Webhook targets: `FILMLOG_WEBHOOK_HTTP_HOSTS` (hosts plain http may go to, comma-separated)
    /// and `FILMLOG_WEBHOOK_ALLOW_PRIVATE` (private and loopback targets; for local receivers).
    pub webhooks: filmlog_jobs::webhooks::WebhookSettings,
    /// `FILMLOG_WEBHOOK_WORKERS`: delivery workers in this instance (default 1; 0 for instances
    /// that only serve requests while others deliver).
    pub webhook_workers: usize,
    /// Import and export workers of this instance (FILMLOG_PORTABILITY_WORKERS, default 1; 0: none).
    pub portability_workers: usize,
    /// Whether this instance runs the home feed's worker and housekeeping (`FILMLOG_FEED_WORKER`,
    /// default `true`; `false` on instances that only serve while another one works: with none,
    /// the queue grows and pages merge only its newest items).
    pub feed_worker: bool,
    /// How mail is sent: `FILMLOG_SMTP_URL` (`smtps://user:pass@host:465`, or
    /// `smtp://user:pass@host:587?tls=required` for STARTTLS; plain `smtp://` only for a relay on
    /// the same machine), else into `FILMLOG_MAILBOX_DIR` (default `.data/mailbox`) as `.eml` files;
    /// sent as `FILMLOG_MAIL_FROM` (required with SMTP; `Filmlog <no-reply@localhost>` into the
    /// mailbox).
    pub mailer: std::sync::Arc<filmlog_jobs::mail::MailerSettings>,
    /// Whether this instance runs a mail worker (`FILMLOG_MAIL_WORKER`, default `true`).
    pub mail_worker: bool,
    /// What mail links to: `FILMLOG_PUBLIC_URL`, the address members reach this server at (required
    /// with SMTP; `http://HOST:PORT` into the mailbox).
    pub mail: filmlog_app::mail::MailSettings,
}

/// The mail settings from the environment.
fn mailer(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<filmlog_jobs::mail::MailerSettings, ConfigError> {
    use filmlog_jobs::mail::{MailerSettings, Transport};
    let smtp = lookup("FILMLOG_SMTP_URL").filter(|v| !v.trim().is_empty());
    let from = match lookup("FILMLOG_MAIL_FROM").filter(|v| !v.trim().is_empty()) {
        Some(from) => from,
        // Real mail needs a real sender; the local mailbox does not.
        None if smtp.is_some() => return Err(ConfigError::Missing("FILMLOG_MAIL_FROM")),
        None => "Filmlog <no-reply@localhost>".to_owned(),
    };
    let from = from.trim().parse().map_err(|e| ConfigError::Invalid {
        name: "FILMLOG_MAIL_FROM",
        reason: format!("not an address such as `Filmlog <no-reply@example.com>`: {e}"),
    })?;
    let transport =
        match smtp {
            Some(url) => Transport::smtp(url.trim(), std::time::Duration::from_secs(30)).map_err(
                |reason| ConfigError::Invalid {
                    name: "FILMLOG_SMTP_URL",
                    reason,
                },
            )?,
            None => Transport::Mailbox(
                lookup("FILMLOG_MAILBOX_DIR")
                    .filter(|v| !v.trim().is_empty())
                    .unwrap_or_else(|| ".data/mailbox".to_owned())
                    .into(),
            ),
        };
    Ok(MailerSettings::new(transport, from))
}

fn parse<T: std::str::FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    valid: impl Fn(&T) -> bool,
) -> Result<T, ConfigError> {
    match lookup(name) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<T>() {
            Ok(v) if valid(&v) => Ok(v),
            _ => Err(ConfigError::Invalid {
                name,
                reason: format!("{raw:?} is out of range or not a number"),
            }),
        },
    }
}

/// A duration in milliseconds, 10 ms to 10 minutes.
fn millis(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<std::time::Duration, ConfigError> {
    parse(lookup, name, default, |n: &u64| (10..=600_000).contains(n))
        .map(std::time::Duration::from_millis)
}

/// A budget written `COUNT/SECONDS` (`1200/60`: 1,200 requests a minute, all of which may come at
/// once).
fn quota(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: Quota,
) -> Result<Quota, ConfigError> {
    let Some(raw) = lookup(name) else {
        return Ok(default);
    };
    let parsed = raw.trim().split_once('/').and_then(|(count, secs)| {
        let count = count.trim().parse::<u32>().ok().filter(|n| *n >= 1)?;
        let secs = secs
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=86_400).contains(s))?;
        Some(Quota::new(count, std::time::Duration::from_secs(secs)))
    });
    parsed.ok_or_else(|| ConfigError::Invalid {
        name,
        reason: format!("{raw:?} is not COUNT/SECONDS (for example 1200/60)"),
    })
}

fn rate_limits(lookup: &impl Fn(&str) -> Option<String>) -> Result<RateLimits, ConfigError> {
    let d = RateLimits::default();
    let b = d.budgets;
    let budgets = Budgets {
        read_per_ip: quota(lookup, "FILMLOG_RATE_READ_PER_IP", b.read_per_ip)?,
        read_per_member: quota(lookup, "FILMLOG_RATE_READ_PER_MEMBER", b.read_per_member)?,
        search_per_ip: quota(lookup, "FILMLOG_RATE_SEARCH_PER_IP", b.search_per_ip)?,
        search_per_member: quota(
            lookup,
            "FILMLOG_RATE_SEARCH_PER_MEMBER",
            b.search_per_member,
        )?,
        write_per_ip: quota(lookup, "FILMLOG_RATE_WRITE_PER_IP", b.write_per_ip)?,
        write_per_member: quota(lookup, "FILMLOG_RATE_WRITE_PER_MEMBER", b.write_per_member)?,
        auth_per_ip: quota(lookup, "FILMLOG_RATE_AUTH_PER_IP", b.auth_per_ip)?,
        register_per_ip: quota(lookup, "FILMLOG_RATE_REGISTER_PER_IP", b.register_per_ip)?,
        mail_per_ip: quota(lookup, "FILMLOG_RATE_MAIL_PER_IP", b.mail_per_ip)?,
    };
    let mut login = d.login;
    login.free_failures = parse(
        lookup,
        "FILMLOG_LOGIN_FREE_FAILURES",
        login.free_failures,
        |n| (1..=100).contains(n),
    )?;
    login.max_lock = std::time::Duration::from_secs(parse(
        lookup,
        "FILMLOG_LOGIN_MAX_LOCK_SECS",
        login.max_lock.as_secs(),
        |n| (1..=86_400).contains(n),
    )?);
    let trusted_proxies = match lookup("FILMLOG_TRUSTED_PROXIES") {
        None => Vec::new(),
        Some(raw) => raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse().map_err(|_| ConfigError::Invalid {
                    name: "FILMLOG_TRUSTED_PROXIES",
                    reason: format!("{s:?} is not an IP address"),
                })
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(RateLimits {
        budgets,
        login,
        account_delay: d.account_delay,
        trusted_proxies,
    })
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests). `DATABASE_URL` and
    /// `FILMLOG_JWT_SECRET` are checked when a command needs them, so `filmlog openapi` needs neither.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let cpus = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2);
        let auth = match lookup("FILMLOG_JWT_SECRET") {
            None => Err(ConfigError::Missing("FILMLOG_JWT_SECRET")),
            Some(secret) => match check_signing_key(secret.as_bytes()) {
                Err(e) => Err(ConfigError::Invalid {
                    name: "FILMLOG_JWT_SECRET",
                    reason: e.to_string(),
                }),
                Ok(()) => {
                    let mut auth = AuthSettings::new(SecretString::from(secret));
                    auth.access_ttl = std::time::Duration::from_secs(parse(
                        &lookup,
                        "FILMLOG_ACCESS_TTL_SECS",
                        900,
                        |n: &u64| (60..=86_400).contains(n),
                    )?);
                    auth.hash_concurrency =
                        parse(&lookup, "FILMLOG_HASH_CONCURRENCY", cpus, |n: &usize| {
                            (1..=64).contains(n)
                        })?;
                    Ok(auth)
                }
            },
        };
        let pool = PoolSettings {
            max_size: parse(&lookup, "FILMLOG_DB_POOL_SIZE", 16, |n: &usize| {
                (1..=1000).contains(n)
            })?,
            timeout: std::time::Duration::from_millis(parse(
                &lookup,
                "FILMLOG_DB_TIMEOUT_MS",
                1000,
                |n: &u64| (10..=60_000).contains(n),
            )?),
            statement_timeout: millis(&lookup, "FILMLOG_DB_STATEMENT_TIMEOUT_MS", 10_000)?,
            lock_timeout: millis(&lookup, "FILMLOG_DB_LOCK_TIMEOUT_MS", 2_000)?,
            read_only: false,
            observer: None,
        };
        let reads = PoolSettings {
            statement_timeout: millis(&lookup, "FILMLOG_DB_READ_STATEMENT_TIMEOUT_MS", 3_000)?,
            read_only: true,
            ..pool.clone()
        };
        let http = HttpLimits {
            head_timeout: millis(&lookup, "FILMLOG_REQUEST_HEAD_TIMEOUT_MS", 5_000)?,
            body_timeout: millis(&lookup, "FILMLOG_REQUEST_BODY_TIMEOUT_MS", 10_000)?,
            upload_timeout: millis(&lookup, "FILMLOG_REQUEST_UPLOAD_TIMEOUT_MS", 120_000)?,
            write_stall_timeout: millis(&lookup, "FILMLOG_RESPONSE_STALL_TIMEOUT_MS", 30_000)?,
        };
        let rate = rate_limits(&lookup)?;
        let cors = CorsPolicy::parse(&lookup("FILMLOG_CORS_ORIGINS").unwrap_or_default()).map_err(
            |reason| ConfigError::Invalid {
                name: "FILMLOG_CORS_ORIGINS",
                reason,
            },
        )?;
        let host = lookup("HOST").unwrap_or_else(|| "127.0.0.1".to_owned());
        let port = parse(&lookup, "PORT", 8080, |_| true)?;
        let public_url = match lookup("FILMLOG_PUBLIC_URL").filter(|v| !v.trim().is_empty()) {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => url,
            Some(url) => {
                return Err(ConfigError::Invalid {
                    name: "FILMLOG_PUBLIC_URL",
                    reason: format!("{url:?} is not an http(s) URL"),
                });
            }
            // Links in real mail must reach this server from where members read it.
            None if lookup("FILMLOG_SMTP_URL").is_some_and(|v| !v.trim().is_empty()) => {
                return Err(ConfigError::Missing("FILMLOG_PUBLIC_URL"));
            }
            None => format!("http://{host}:{port}"),
        };
        Ok(Settings {
            mailer: std::sync::Arc::new(mailer(&lookup)?),
            mail_worker: parse(&lookup, "FILMLOG_MAIL_WORKER", true, |_| true)?,
            mail: filmlog_app::mail::MailSettings::new(public_url),
            database_url: lookup("DATABASE_URL").filter(|u| !u.trim().is_empty()),
            read_database_url: lookup("FILMLOG_READ_DATABASE_URL").filter(|u| !u.trim().is_empty()),
            redis_url: lookup("FILMLOG_REDIS_URL").filter(|u| !u.trim().is_empty()),
            instance: lookup("FILMLOG_INSTANCE").filter(|u| !u.trim().is_empty()),
            metrics_addr: lookup("FILMLOG_METRICS_ADDR").filter(|u| !u.trim().is_empty()),
            auth,
            host,
            port,
            workers: parse(&lookup, "FILMLOG_WORKERS", cpus, |n: &usize| {
                (1..=256).contains(n)
            })?,
            pool,
            reads,
            http,
            rate,
            cors,
            webhooks: filmlog_jobs::webhooks::WebhookSettings {
                targets: filmlog_domain::webhook::TargetPolicy {
                    http_hosts: lookup("FILMLOG_WEBHOOK_HTTP_HOSTS")
                        .unwrap_or_default()
                        .split(',')
                        .map(|h| h.trim().to_owned())
                        .filter(|h| !h.is_empty())
                        .collect(),
                    allow_private: parse(&lookup, "FILMLOG_WEBHOOK_ALLOW_PRIVATE", false, |_| {
                        true
                    })?,
                },
                ..Default::default()
            },
            webhook_workers: parse(&lookup, "FILMLOG_WEBHOOK_WORKERS", 1, |n: &usize| *n <= 16)?,
            portability_workers: parse(&lookup, "FILMLOG_PORTABILITY_WORKERS", 1, |n: &usize| {
                *n <= 16
            })?,
            feed_worker: parse(&lookup, "FILMLOG_FEED_WORKER", true, |_| true)?,
            popularity_every: Some(parse(
                &lookup,
                "FILMLOG_POPULARITY_INTERVAL_SECS",
                900,
                |n: &u64| *n <= 86_400,
            )?)
            .filter(|n| *n > 0)
            .map(std::time::Duration::from_secs),
        })
    }

    pub fn database_url(&self) -> Result<&str, ConfigError> {
        self.database_url
            .as_deref()
            .ok_or(ConfigError::Missing("DATABASE_URL"))
    }

    pub fn auth(&self) -> Result<&AuthSettings, ConfigError> {
        self.auth.as_ref().map_err(Clone::clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(move |k| map.get(k).cloned())
    }

    #[test]
    fn a_short_key_is_refused_with_a_clear_message() {
        let s = settings(&[("FILMLOG_JWT_SECRET", "too-short")]).map_err(|e| e.to_string());
        let err = s.and_then(|s| s.auth().map(|_| ()).map_err(|e| e.to_string()));
        assert_eq!(
            err,
            Err("FILMLOG_JWT_SECRET is invalid: the JWT signing key must be at least 32 bytes (got 9)".to_owned())
        );
    }

    #[test]
    fn a_missing_key_and_database_are_named() {
        let s = settings(&[]).map_err(|e| e.to_string());
        assert!(matches!(
            s.as_ref().map(|s| s.auth().err()),
            Ok(Some(ConfigError::Missing("FILMLOG_JWT_SECRET")))
        ));
        assert!(matches!(
            s.map(|s| s.database_url().err()),
            Ok(Some(ConfigError::Missing("DATABASE_URL")))
        ));
    }

    #[test]
    fn bad_numbers_are_refused() {
        assert!(matches!(
            settings(&[("PORT", "http")]),
            Err(ConfigError::Invalid { name: "PORT", .. })
        ));
        assert!(matches!(
            settings(&[("FILMLOG_DB_POOL_SIZE", "0")]),
            Err(ConfigError::Invalid { .. })
        ));
        let ok = settings(&[
            ("PORT", "9000"),
            ("FILMLOG_JWT_SECRET", "0123456789abcdefghijklmnopqrstuv"),
        ]);
        assert_eq!(ok.as_ref().map(|s| s.port).ok(), Some(9000));
        assert!(ok.is_ok_and(|s| s.auth().is_ok()));
    }

    #[test]
    fn budgets_timeouts_and_proxies_are_read_and_checked() {
        let s = settings(&[
            ("FILMLOG_RATE_SEARCH_PER_IP", "30/60"),
            ("FILMLOG_DB_LOCK_TIMEOUT_MS", "500"),
            ("FILMLOG_TRUSTED_PROXIES", "10.0.0.1, ::1"),
        ]);
        let s = s.as_ref().ok();
        assert_eq!(
            s.map(|s| s.rate.budgets.search_per_ip),
            Some(Quota::new(30, std::time::Duration::from_secs(60)))
        );
        assert_eq!(
            s.map(|s| s.rate.budgets.read_per_ip),
            Some(RateLimits::default().budgets.read_per_ip)
        );
        assert_eq!(
            s.map(|s| s.pool.lock_timeout),
            Some(std::time::Duration::from_millis(500))
        );
        assert_eq!(s.map(|s| s.rate.trusted_proxies.len()), Some(2));
        for (name, bad) in [
            ("FILMLOG_RATE_READ_PER_IP", "fast"),
            ("FILMLOG_RATE_READ_PER_IP", "0/60"),
            ("FILMLOG_RATE_WRITE_PER_MEMBER", "10/0"),
            ("FILMLOG_TRUSTED_PROXIES", "proxy.local"),
            ("FILMLOG_DB_STATEMENT_TIMEOUT_MS", "0"),
        ] {
            assert!(
                matches!(settings(&[(name, bad)]), Err(ConfigError::Invalid { name: n, .. }) if n == name),
                "{name}={bad}"
            );
        }
    }

    #[test]
    fn real_mail_needs_a_sender_and_a_public_address() {
        let base = [(
            "FILMLOG_JWT_SECRET",
            "0123456789abcdef0123456789abcdef0123456789",
        )];
        let web = |vars: &[(&str, &str)]| settings(vars).map(|s| s.mail.web_base.clone());
        assert_eq!(web(&base), Ok("http://127.0.0.1:8080".to_owned()));
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v: Vec<(&str, &str)> = base.to_vec();
            v.push(("FILMLOG_SMTP_URL", "smtps://u:p@smtp.example.com:465"));
            v.extend_from_slice(extra);
            web(&v)
        };
        let from = ("FILMLOG_MAIL_FROM", "Filmlog <no-reply@filmlog.example>");
        let public = ("FILMLOG_PUBLIC_URL", "https://filmlog.example/");
        assert_eq!(
            with(&[public]),
            Err(ConfigError::Missing("FILMLOG_MAIL_FROM"))
        );
        assert_eq!(
            with(&[from]),
            Err(ConfigError::Missing("FILMLOG_PUBLIC_URL"))
        );
        assert_eq!(
            with(&[from, public]),
            Ok("https://filmlog.example".to_owned())
        );
        assert!(matches!(
            with(&[("FILMLOG_MAIL_FROM", "not an address"), public]),
            Err(ConfigError::Invalid {
                name: "FILMLOG_MAIL_FROM",
                ..
            })
        ));
        let mut bad: Vec<(&str, &str)> = base.to_vec();
        bad.extend([("FILMLOG_SMTP_URL", "gopher://x"), from, public]);
        assert!(matches!(
            web(&bad),
            Err(ConfigError::Invalid {
                name: "FILMLOG_SMTP_URL",
                ..
            })
        ));
        let mut ftp: Vec<(&str, &str)> = base.to_vec();
        ftp.push(("FILMLOG_PUBLIC_URL", "ftp://filmlog.example"));
        assert!(matches!(
            web(&ftp),
            Err(ConfigError::Invalid {
                name: "FILMLOG_PUBLIC_URL",
                ..
            })
        ));
    }

    #[test]
    fn webhook_targets_and_workers_come_from_the_environment() {
        let s = settings(&[]);
        let s = s.as_ref().ok();
        assert_eq!(s.map(|s| s.webhook_workers), Some(1));
        assert_eq!(s.map(|s| s.feed_worker), Some(true));
        let off = settings(&[("FILMLOG_FEED_WORKER", "false")]);
        assert_eq!(off.as_ref().ok().map(|s| s.feed_worker), Some(false));
        assert_eq!(s.map(|s| s.webhooks.targets.allow_private), Some(false));
        let s = settings(&[
            ("FILMLOG_WEBHOOK_WORKERS", "0"),
            ("FILMLOG_WEBHOOK_HTTP_HOSTS", " 127.0.0.1, receiver.local ,"),
            ("FILMLOG_WEBHOOK_ALLOW_PRIVATE", "true"),
        ]);
        let s = s.as_ref().ok();
        assert_eq!(s.map(|s| s.webhook_workers), Some(0));
        assert_eq!(
            s.map(|s| s.webhooks.targets.http_hosts.clone()),
            Some(vec!["127.0.0.1".to_owned(), "receiver.local".to_owned()])
        );
        assert_eq!(s.map(|s| s.webhooks.targets.allow_private), Some(true));
        for (name, bad) in [
            ("FILMLOG_WEBHOOK_WORKERS", "17"),
            ("FILMLOG_WEBHOOK_ALLOW_PRIVATE", "sometimes"),
            ("FILMLOG_FEED_WORKER", "1"),
        ] {
            assert!(
                matches!(settings(&[(name, bad)]), Err(ConfigError::Invalid { name: n, .. }) if n == name),
                "{name}={bad}"
            );
        }
    }

    #[test]
    fn the_popularity_interval_defaults_to_15_minutes_and_0_turns_it_off() {
        let every = |v: &[(&str, &str)]| settings(v).map(|s| s.popularity_every);
        assert_eq!(
            every(&[]).ok(),
            Some(Some(std::time::Duration::from_secs(900)))
        );
        assert_eq!(
            every(&[("FILMLOG_POPULARITY_INTERVAL_SECS", "0")]).ok(),
            Some(None)
        );
        for bad in ["-1", "soon", "86401"] {
            assert!(
                matches!(
                    every(&[("FILMLOG_POPULARITY_INTERVAL_SECS", bad)]),
                    Err(ConfigError::Invalid {
                        name: "FILMLOG_POPULARITY_INTERVAL_SECS",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }
}
