//! Rate limits: separate budgets per client IP and per member for reads, searches, writes and
//! authentication, and per-account login back-off. Every `/api/v1` response says how much of its
//! tightest budget is left (`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`, the IETF
//! RateLimit header fields); a refused request is 429 problem+json with `Retry-After`.
//!
//! The algorithm is GCRA ([`gcra`]); the state sits behind [`store::BudgetStore`] and
//! [`store::LoginStore`] so that several instances can share it.

pub mod gcra;
pub mod shared;
pub mod store;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};

pub use gcra::{Decision, Quota};
pub use store::{BudgetKey, BudgetStore, Holder, LoginPolicy, LoginStore, MemoryStore};

use filmlog_app::ErrorCode;

use crate::error::ApiError;
use crate::routes::API_PREFIX;

/// What a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Read,
    Search,
    Write,
    /// Login and token refresh.
    Auth,
    /// Creating an account (also spends `Auth`).
    Register,
    /// A request that sends mail to an address (a password reset, a new verification link); also
    /// spends `Auth` or `Write`.
    Mail,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Read => "read",
            Class::Search => "search",
            Class::Write => "write",
            Class::Auth => "auth",
            Class::Register => "register",
            Class::Mail => "mail",
        }
    }

    /// The classes a request spends from, by method and path.
    pub fn of(method: &Method, path: &str, query: &str) -> &'static [Class] {
        let path = path.strip_prefix(API_PREFIX).unwrap_or(path);
        match (method, path) {
            (&Method::POST, "/auth/register") => &[Class::Auth, Class::Register],
            (&Method::POST, "/auth/password-reset") => &[Class::Auth, Class::Mail],
            // The pages of mailed links do what the confirmations do.
            (&Method::POST, p) if p.starts_with(crate::routes::PAGES_PREFIX) => &[Class::Auth],
            // An app's token requests: they guess no password (codes, refresh tokens and secrets
            // are 256 random bits), and an app's server sends many.
            (&Method::POST, "/oauth/token" | "/oauth/revoke" | "/oauth/device/code") => {
                &[Class::Write]
            }
            // The OAuth pages' sign-ins and consents, and the user codes members type.
            (&Method::POST, p) if p.starts_with(crate::routes::OAUTH_PREFIX) => &[Class::Auth],
            (&Method::GET | &Method::HEAD, "/oauth/device") if has_param(query, "user_code") => {
                &[Class::Auth]
            }
            (&Method::POST, "/me/email-verification") | (&Method::PUT, "/me/email") => {
                &[Class::Write, Class::Mail]
            }
            (
                &Method::POST,
                "/auth/login"
                | "/auth/login/two-factor"
                | "/auth/reauthenticate"
                | "/auth/refresh"
                | "/auth/password-reset/confirm"
                | "/auth/email-change/confirm"
                | "/auth/email-change/undo"
                | "/auth/email-verification/confirm",
            ) => &[Class::Auth],
            (&Method::GET | &Method::HEAD, "/films" | "/lists") if has_search(query) => {
                &[Class::Search]
            }
            (&Method::GET | &Method::HEAD, "/search") => &[Class::Search],
            (&Method::GET | &Method::HEAD | &Method::OPTIONS, _) => &[Class::Read],
            _ => &[Class::Write],
        }
    }
}

/// Whether the query string has a `q` parameter, read as the `Query` extractor reads it
/// (`%71=…` is `q=…`).
fn has_search(query: &str) -> bool {
    has_param(query, "q")
}

fn has_param(query: &str, name: &str) -> bool {
    form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == name)
}

/// The budgets, by class and by whom they count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    pub read_per_ip: Quota,
    pub read_per_member: Quota,
    pub search_per_ip: Quota,
    pub search_per_member: Quota,
    pub write_per_ip: Quota,
    pub write_per_member: Quota,
    pub auth_per_ip: Quota,
    pub register_per_ip: Quota,
    pub mail_per_ip: Quota,
}

const MINUTE: Duration = Duration::from_secs(60);

impl Default for Budgets {
    /// The production defaults (each overridable, see the README).
    fn default() -> Self {
        Self {
            read_per_ip: Quota::new(1200, MINUTE),
            read_per_member: Quota::new(1200, MINUTE),
            search_per_ip: Quota::new(120, MINUTE),
            search_per_member: Quota::new(120, MINUTE),
            write_per_ip: Quota::new(600, MINUTE),
            write_per_member: Quota::new(300, MINUTE),
            auth_per_ip: Quota::new(30, MINUTE),
            register_per_ip: Quota::new(10, Duration::from_secs(3600)),
            mail_per_ip: Quota::new(20, Duration::from_secs(3600)),
        }
    }
}

impl Budgets {
    /// Every budget set to `quota` (for load tests and test suites that are not about limits).
    pub fn all(quota: Quota) -> Self {
        Self {
            read_per_ip: quota,
            read_per_member: quota,
            search_per_ip: quota,
            search_per_member: quota,
            write_per_ip: quota,
            write_per_member: quota,
            auth_per_ip: quota,
            register_per_ip: quota,
            mail_per_ip: quota,
        }
    }

    fn per_ip(&self, class: Class) -> Quota {
        match class {
            Class::Read => self.read_per_ip,
            Class::Search => self.search_per_ip,
            Class::Write => self.write_per_ip,
            Class::Auth => self.auth_per_ip,
            Class::Register => self.register_per_ip,
            Class::Mail => self.mail_per_ip,
        }
    }

    fn per_member(&self, class: Class) -> Option<Quota> {
        match class {
            Class::Read => Some(self.read_per_member),
            Class::Search => Some(self.search_per_member),
            Class::Write => Some(self.write_per_member),
            Class::Auth | Class::Register | Class::Mail => None,
        }
    }
}

/// The limiter's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    pub budgets: Budgets,
    /// Failed password checks for one account from one client network: after these, that network
    /// is refused for the account for a while (other networks are not).
    pub login: LoginPolicy,
    /// Failed password checks for one account from anywhere: after these, every check of the
    /// account waits out the back-off (at most `max_lock`) instead of being refused, so that an
    /// attacker cannot lock the owner out.
    pub account_delay: LoginPolicy,
    /// Proxies (load balancers) whose `X-Forwarded-For` names the client; from anyone else the
    /// header is ignored and the peer address counts.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            budgets: Budgets::default(),
            login: LoginPolicy {
                free_failures: 5,
                max_lock: Duration::from_secs(15 * 60),
            },
            account_delay: LoginPolicy {
                free_failures: 10,
                max_lock: Duration::from_secs(2),
            },
            trusted_proxies: Vec::new(),
        }
    }
}

/// The limiter: configuration and state.
pub struct Limiter {
    pub limits: RateLimits,
    pub budgets: Arc<dyn BudgetStore>,
    pub logins: Arc<dyn LoginStore>,
}

impl Limiter {
    /// A limiter whose state lives in this process.
    pub fn in_memory(limits: RateLimits) -> Self {
        let store = Arc::new(MemoryStore::default());
        Self {
            limits,
            budgets: store.clone(),
            logins: store,
        }
    }

    /// A limiter whose state lives in `store`, shared with other instances.
    pub fn shared<S: BudgetStore + LoginStore + 'static>(
        limits: RateLimits,
        store: Arc<S>,
    ) -> Self {
        Self {
            limits,
            budgets: store.clone(),
            logins: store,
        }
    }

    /// Spends one request of every budget `classes` draw on, for this client and member; the
    /// decision to report is a refusal with the longest wait, or else the budget with the least
    /// left.
    pub async fn check(
        &self,
        classes: &[Class],
        client: IpAddr,
        member: Option<Holder>,
    ) -> Option<Decision> {
        let network = Holder::Network(network_of(client));
        let mut tightest: Option<Decision> = None;
        let mut consider = |d: Decision| {
            tightest = Some(match tightest {
                None => d,
                Some(t) => tighter(t, d),
            });
        };
        for &class in classes {
            let by_ip = BudgetKey {
                class,
                holder: network,
            };
            consider(
                self.budgets
                    .acquire(&by_ip, self.limits.budgets.per_ip(class))
                    .await,
            );
            if let (Some(member), Some(quota)) = (member, self.limits.budgets.per_member(class)) {
                let by_member = BudgetKey {
                    class,
                    holder: member,
                };
                consider(self.budgets.acquire(&by_member, quota).await);
            }
        }
        tightest
    }
}

/// The back-off around one check of an account's password (a login, or the current password asked
/// before a sensitive change): keyed by the account and the client's network, which is refused
/// while locked, and by the account alone, which only delays.
pub struct CredentialCheck<'a> {
    limiter: &'a Limiter,
    /// `account@network`: refused while locked.
    here: String,
    /// The account from anywhere: delayed while backed off.
    anywhere: String,
}

impl Limiter {
    /// The back-off of checking `account`'s password for a client at `client`. (`account` never
    /// holds `@`: usernames cannot, and other accounts are named `member:<id>`.)
    pub fn credential_check(&self, account: &str, client: IpAddr) -> CredentialCheck<'_> {
        CredentialCheck {
            limiter: self,
            here: format!("{account}@{}", network_of(client)),
            anywhere: account.to_owned(),
        }
    }
}

impl CredentialCheck<'_> {
    /// Before the check: `Err(wait)` while this network is locked out of the account; otherwise
    /// waits out the account's own back-off (at most its cap).
    pub async fn admit(&self) -> Result<(), Duration> {
        let logins = &self.limiter.logins;
        if let Some(wait) = logins.locked_for(&self.here).await {
            return Err(wait);
        }
        if let Some(delay) = logins.locked_for(&self.anywhere).await {
            tokio::time::sleep(delay.min(self.limiter.limits.account_delay.max_lock)).await;
        }
        Ok(())
    }

    /// A wrong password.
    pub async fn failed(&self) {
        let limits = &self.limiter.limits;
        let logins = &self.limiter.logins;
        logins.failed(&self.here, limits.login).await;
        logins.failed(&self.anywhere, limits.account_delay).await;
    }

    /// The right password: `Err(wait)` when guesses sent together with it locked this network
    /// meanwhile; otherwise the failures are forgotten.
    pub async fn succeeded(&self) -> Result<(), Duration> {
        let logins = &self.limiter.logins;
        if let Some(wait) = logins.locked_for(&self.here).await {
            return Err(wait);
        }
        logins.succeeded(&self.here).await;
        logins.succeeded(&self.anywhere).await;
        Ok(())
    }
}

/// The client of `req` (see [`client_ip`]).
pub fn client_of(req: &actix_web::HttpRequest, limits: &RateLimits) -> IpAddr {
    client_ip(
        req.peer_addr().map(|a| a.ip()),
        req.headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok()),
        &limits.trusted_proxies,
    )
}

fn tighter(a: Decision, b: Decision) -> Decision {
    match (a.allowed, b.allowed) {
        (false, true) => a,
        (true, false) => b,
        (false, false) if a.retry_after >= b.retry_after => a,
        (false, false) => b,
        (true, true) if a.remaining <= b.remaining => a,
        (true, true) => b,
    }
}

/// The network of `ip`: its first `v4_bits` (IPv4) or `v6_bits` (IPv6) bits, the rest zeroed.
pub fn mask(ip: IpAddr, v4_bits: u32, v6_bits: u32) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let keep = u32::MAX.checked_shl(32 - v4_bits.min(32)).unwrap_or(0);
            IpAddr::from((u32::from(v4) & keep).to_be_bytes())
        }
        IpAddr::V6(v6) => {
            let keep = u128::MAX.checked_shl(128 - v6_bits.min(128)).unwrap_or(0);
            IpAddr::from((u128::from(v6) & keep).to_be_bytes())
        }
    }
}

/// IPv4 addresses count one by one; IPv6 by their /64, which one subscriber usually holds whole.
fn network_of(ip: IpAddr) -> IpAddr {
    mask(ip, 32, 64)
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the nearest address in
/// `X-Forwarded-For` that is not one.
pub fn client_ip(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    let peer = peer.unwrap_or(IpAddr::from([0, 0, 0, 0]));
    if !trusted.contains(&peer) {
        return peer;
    }
    forwarded_for
        .into_iter()
        .flat_map(|v| v.rsplit(','))
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

/// Whole seconds, rounded up.
fn seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Writes the `RateLimit-*` fields of `decision`.
pub fn set_headers(headers: &mut actix_web::http::header::HeaderMap, decision: &Decision) {
    headers.insert(
        HeaderName::from_static("ratelimit-limit"),
        HeaderValue::from(decision.limit),
    );
    headers.insert(
        HeaderName::from_static("ratelimit-remaining"),
        HeaderValue::from(decision.remaining),
    );
    headers.insert(
        HeaderName::from_static("ratelimit-reset"),
        HeaderValue::from(seconds(decision.reset)),
    );
}

/// 429 problem+json with `Retry-After` (whole seconds, at least 1).
pub fn too_many_requests(code: ErrorCode, detail: &str, retry_after: Duration) -> ApiError {
    let secs = u32::try_from(seconds(retry_after))
        .unwrap_or(u32::MAX)
        .max(1);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        code,
        "Too many requests",
        detail.to_owned(),
    )
    .with_retry_after(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use filmlog_domain::MemberId;

    #[test]
    fn requests_are_classified_by_method_and_path() {
        let c = |m: Method, p: &str, q: &str| Class::of(&m, p, q);
        assert_eq!(
            c(Method::POST, "/api/v1/auth/register", ""),
            &[Class::Auth, Class::Register]
        );
        assert_eq!(c(Method::POST, "/api/v1/auth/login", ""), &[Class::Auth]);
        assert_eq!(
            c(Method::POST, "/api/v1/auth/password-reset", ""),
            &[Class::Auth, Class::Mail]
        );
        assert_eq!(
            c(Method::POST, "/api/v1/me/email-verification", ""),
            &[Class::Write, Class::Mail]
        );
        assert_eq!(
            c(Method::POST, "/api/v1/auth/password-reset/confirm", ""),
            &[Class::Auth]
        );
        assert_eq!(
            c(Method::GET, "/api/v1/films", "q=heav&limit=5"),
            &[Class::Search]
        );
        assert_eq!(
            c(Method::GET, "/api/v1/films", "sort=rating"),
            &[Class::Read]
        );
        assert_eq!(
            c(Method::GET, "/api/v1/films", "%71=heav"),
            &[Class::Search]
        );
        assert_eq!(c(Method::GET, "/api/v1/films", "a=1&q"), &[Class::Search]);
        assert_eq!(c(Method::GET, "/api/v1/lists", "q=noir"), &[Class::Search]);
        assert_eq!(c(Method::GET, "/api/v1/me/feed", ""), &[Class::Read]);
        assert_eq!(c(Method::PUT, "/api/v1/films/x/like", ""), &[Class::Write]);
        assert_eq!(c(Method::POST, "/api/v1/auth/logout", ""), &[Class::Write]);
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let proxy: IpAddr = [10, 0, 0, 1].into();
        let client: IpAddr = [203, 0, 113, 7].into();
        let chain = Some("198.51.100.9, 203.0.113.7, 10.0.0.1");
        assert_eq!(client_ip(Some(proxy), chain, &[proxy]), client);
        assert_eq!(client_ip(Some(client), Some("1.2.3.4"), &[proxy]), client);
        assert_eq!(client_ip(Some(proxy), None, &[proxy]), proxy);
        assert_eq!(client_ip(Some(proxy), Some("garbage"), &[proxy]), proxy);
        let v6: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap_or(proxy);
        let key = BudgetKey {
            class: Class::Read,
            holder: Holder::Network(network_of(v6)),
        };
        assert_eq!(key.to_string(), "read:ip:2001:db8:1:2::");
        let member = BudgetKey {
            class: Class::Write,
            holder: Holder::Member(MemberId::new(42)),
        };
        assert_eq!(member.to_string(), "write:member:42");
        assert_eq!(mask(client, 24, 48).to_string(), "203.0.113.0");
        assert_eq!(mask(client, 32, 64), client);
        assert_eq!(mask(v6, 24, 48).to_string(), "2001:db8:1::");
    }
}
