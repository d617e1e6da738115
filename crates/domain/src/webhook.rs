//! Webhooks: which events an endpoint may ask for, which targets are safe to call, and what a
//! failed delivery leads to. Pure rules; `crates/api/src/webhooks.rs` applies them.

use std::net::IpAddr;
use std::time::Duration;

/// What an endpoint can subscribe to: `notification` (a notification for you was written) and the
/// kinds of your things whose changes delta sync lists (`log_entry.changed`, `…deleted`); `*` for
/// all.
pub const EVENTS: [&str; 11] = [
    "notification",
    "log_entry",
    "film",
    "review_like",
    "list_like",
    "follow",
    "follow_request",
    "comment",
    "list_comment",
    "list",
    "profile",
];

/// Where one queued event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Not yet delivered; tried again at its next attempt.
    Pending,
    Delivered,
    /// Given up on after its last attempt.
    Failed,
}

crate::names::named!("delivery status", DeliveryStatus {
    Pending => "pending",
    Delivered => "delivered",
    Failed => "failed",
});

/// At most this many endpoints per member.
pub const ENDPOINTS_MAX: i64 = 10;
/// A URL longer than this is refused.
pub const URL_MAX: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("events must name at least one of: *, {}", EVENTS.join(", "))]
    NoEvents,
    #[error("unknown event `{0}`; known: *, {list}", list = EVENTS.join(", "))]
    UnknownEvent(String),
    #[error("the URL must be an absolute https URL")]
    NotHttps,
    #[error("the URL must not carry a user name or password")]
    Credentials,
    #[error("the URL is longer than {URL_MAX} characters")]
    TooLong,
    #[error("the URL names a private, loopback or link-local address")]
    PrivateTarget,
}

/// The events asked for, each once and sorted; `*` alone stands for all.
pub fn parse_events(raw: &[String]) -> Result<Vec<String>, WebhookError> {
    let mut events: Vec<String> = Vec::new();
    for e in raw {
        let e = e.trim();
        if e != "*" && !EVENTS.contains(&e) {
            return Err(WebhookError::UnknownEvent(e.to_owned()));
        }
        if !events.iter().any(|x| x == e) {
            events.push(e.to_owned());
        }
    }
    if events.is_empty() {
        return Err(WebhookError::NoEvents);
    }
    if events.iter().any(|e| e == "*") {
        return Ok(vec!["*".to_owned()]);
    }
    events.sort();
    Ok(events)
}

/// Where deliveries may go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Hosts plain `http` may be used with (for tests and local receivers); `https` otherwise.
    pub http_hosts: Vec<String>,
    /// Private, loopback and link-local addresses allowed (for tests).
    pub allow_private: bool,
}

impl TargetPolicy {
    /// Whether a URL of `scheme` to `host` (an IP when the URL names one), with or without user
    /// information, may be registered. A host name's addresses are checked again at each delivery
    /// ([`TargetPolicy::address_allowed`]), so a name that later resolves to a private address
    /// (DNS rebinding) is still refused.
    pub fn check(
        &self,
        url_len: usize,
        scheme: &str,
        host: &str,
        literal: Option<IpAddr>,
        credentials: bool,
    ) -> Result<(), WebhookError> {
        if url_len > URL_MAX {
            return Err(WebhookError::TooLong);
        }
        let plain_allowed = self.http_hosts.iter().any(|h| h.eq_ignore_ascii_case(host));
        match scheme {
            "https" => {}
            "http" if plain_allowed => {}
            _ => return Err(WebhookError::NotHttps),
        }
        if credentials {
            return Err(WebhookError::Credentials);
        }
        if host.eq_ignore_ascii_case("localhost") && !self.allow_private {
            return Err(WebhookError::PrivateTarget);
        }
        if let Some(ip) = literal
            && !self.address_allowed(ip)
        {
            return Err(WebhookError::PrivateTarget);
        }
        Ok(())
    }

    /// Whether a delivery may connect to `ip`.
    pub fn address_allowed(&self, ip: IpAddr) -> bool {
        self.allow_private || !internal(ip)
    }
}

/// Loopback, private, link-local, shared (CGNAT), unspecified, multicast, broadcast or
/// documentation addresses, and IPv6 forms of them: nothing outside may be reached there.
pub fn internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240
                // Azure's platform endpoint (its instance metadata and DNS), not a private range.
                || v4.octets() == [168, 63, 129, 16]
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal(IpAddr::V4(v4));
            }
            let [first, second, ..] = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                // Documentation.
                || first == 0x2001 && second == 0x0db8
                // NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48): an IPv4 address behind.
                || first == 0x0064 && second == 0xff9b
                // 6to4 and Teredo tunnel to IPv4 addresses of any kind.
                || first == 0x2002
                || first == 0x2001 && second == 0
                // IPv4-compatible (`::a.b.c.d`, deprecated) and the rest of ::/96.
                || v6.segments()[..6].iter().all(|s| *s == 0)
        }
    }
}

/// How failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure; each further failure doubles it.
    pub first: Duration,
    /// The longest wait.
    pub cap: Duration,
    /// After this long since the event, a delivery that keeps failing is given up.
    pub give_up_after: Duration,
    /// Deliveries failing in a row that disable an endpoint.
    pub disable_after: i32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(5),
            cap: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(24 * 3600),
            disable_after: 100,
        }
    }
}

/// What follows a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AfterFailure {
    /// When to try again; `None`: the delivery is given up (failed).
    pub retry_in: Option<Duration>,
    /// The endpoint is disabled (and its owner told).
    pub disable: bool,
}

impl RetryPolicy {
    /// After attempt number `attempt` (1 for the first) failed, `age` after the event, with the
    /// endpoint's failures in a row now `failures_in_a_row`; `jitter` in [0, 1) spreads retries
    /// (±20 %) so that endpoints coming back are not hit by every retry at once.
    pub fn after_failure(
        &self,
        attempt: i32,
        age: Duration,
        failures_in_a_row: i32,
        jitter: f64,
    ) -> AfterFailure {
        let doublings = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(0)
            .min(30);
        let wait = self
            .first
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.cap);
        let wait = wait.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0));
        let give_up = age + wait > self.give_up_after;
        AfterFailure {
            retry_in: (!give_up).then_some(wait),
            disable: give_up || failures_in_a_row >= self.disable_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn events_are_known_once_and_star_stands_for_all() {
        assert_eq!(
            parse_events(&s(&["log_entry", "notification", "log_entry"])),
            Ok(s(&["log_entry", "notification"]))
        );
        assert_eq!(parse_events(&s(&["film", "*"])), Ok(s(&["*"])));
        assert_eq!(parse_events(&[]), Err(WebhookError::NoEvents));
        assert_eq!(
            parse_events(&s(&["poke"])),
            Err(WebhookError::UnknownEvent("poke".to_owned()))
        );
    }

    #[test]
    fn targets_are_https_and_public_unless_allowed() {
        let strict = TargetPolicy::default();
        let ok = |scheme, host, ip: Option<&str>| {
            strict.check(30, scheme, host, ip.and_then(|i| i.parse().ok()), false)
        };
        assert_eq!(ok("https", "hooks.example.com", None), Ok(()));
        assert_eq!(
            ok("http", "hooks.example.com", None),
            Err(WebhookError::NotHttps)
        );
        assert_eq!(
            ok("ftp", "hooks.example.com", None),
            Err(WebhookError::NotHttps)
        );
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.9",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "100.64.0.1",
            "0.0.0.0",
            "168.63.129.16",
            "2002:a00:1::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "64:ff9b::a00:1",
            "64:ff9b:1::a00:1",
            "::10.0.0.1",
            "::8.8.8.8",
        ] {
            assert_eq!(
                ok("https", ip, Some(ip)),
                Err(WebhookError::PrivateTarget),
                "{ip}"
            );
        }
        assert_eq!(ok("https", "8.8.8.8", Some("8.8.8.8")), Ok(()));
        assert_eq!(
            ok("https", "2606:4700::1111", Some("2606:4700::1111")),
            Ok(())
        );
        assert_eq!(
            ok("https", "localhost", None),
            Err(WebhookError::PrivateTarget)
        );
        assert_eq!(
            strict.check(30, "https", "a.example", None, true),
            Err(WebhookError::Credentials)
        );
        assert_eq!(
            strict.check(URL_MAX + 1, "https", "a.example", None, false),
            Err(WebhookError::TooLong)
        );
        let tests = TargetPolicy {
            http_hosts: s(&["127.0.0.1"]),
            allow_private: true,
        };
        let ip = "127.0.0.1".parse().ok();
        assert_eq!(tests.check(30, "http", "127.0.0.1", ip, false), Ok(()));
        assert!(tests.address_allowed("10.0.0.1".parse().unwrap_or(IpAddr::from([0; 4]))));
    }

    #[test]
    fn failures_back_off_exponentially_give_up_after_a_day_and_disable() {
        let p = RetryPolicy::default();
        let mid = 0.5; // no jitter
        let waits: Vec<_> = (1..=4)
            .map(|a| p.after_failure(a, Duration::ZERO, a, mid).retry_in)
            .collect();
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(waits, vec![secs(5), secs(10), secs(20), secs(40)]);
        assert_eq!(
            p.after_failure(30, Duration::ZERO, 1, mid).retry_in,
            secs(3600)
        );
        let low = p.after_failure(1, Duration::ZERO, 1, 0.0).retry_in;
        let high = p.after_failure(1, Duration::ZERO, 1, 0.999).retry_in;
        assert_eq!(low, secs(4));
        assert!(high > secs(5) && high < secs(6), "{high:?}");
        let late = p.after_failure(12, Duration::from_secs(23 * 3600 + 1800), 12, mid);
        assert_eq!(
            late,
            AfterFailure {
                retry_in: None,
                disable: true
            }
        );
        let many = p.after_failure(3, Duration::ZERO, 100, mid);
        assert!(many.retry_in.is_some() && many.disable);
    }
}
