//! The generic cell rate algorithm (GCRA): a token bucket kept as one number per key, the
//! theoretical arrival time (TAT) of the next request. A budget of `limit` requests per `period`
//! refills one request every `period / limit` and holds at most `limit`.

use std::time::Duration;

/// A budget: `limit` requests per `period`, all of which may come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub period: Duration,
}

impl Quota {
    pub const fn new(limit: u32, period: Duration) -> Self {
        Self { limit, period }
    }

    /// Time to earn back one request, in ticks of `tick` nanoseconds (at least 1).
    pub fn interval_in(&self, tick: u64) -> u64 {
        let period = u64::try_from(self.period.as_nanos()).unwrap_or(u64::MAX);
        (period / u64::from(self.limit.max(1)) / tick.max(1)).max(1)
    }

    /// How far ahead of now the TAT may run and still admit a request: `limit - 1` intervals.
    pub fn tolerance_in(&self, tick: u64) -> u64 {
        self.interval_in(tick)
            .saturating_mul(u64::from(self.limit.max(1) - 1))
    }
}

/// The answer for one request, with what the `RateLimit-*` headers and `Retry-After` say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    /// Requests left right after this one.
    pub remaining: u32,
    /// Until the budget is whole again.
    pub reset: Duration,
    /// Until a refused request would be allowed (zero when allowed).
    pub retry_after: Duration,
}

/// Decides a request at `now` (nanoseconds on the store's clock) for a key whose stored TAT is `tat`
/// (`None`: never seen). Returns the decision and the TAT to store (unchanged when refused).
pub fn decide(tat: Option<u64>, now: u64, quota: Quota) -> (Decision, Option<u64>) {
    decide_in(tat, now, quota, 1)
}

/// [`decide`] on a clock that counts ticks of `tick` nanoseconds (a shared store counts
/// microseconds, which its scripting language's numbers hold exactly).
pub fn decide_in(tat: Option<u64>, now: u64, quota: Quota, tick: u64) -> (Decision, Option<u64>) {
    let interval = quota.interval_in(tick);
    let limit = quota.limit.max(1);
    let tolerance = quota.tolerance_in(tick);
    let span = |ticks: u64| Duration::from_nanos(ticks.saturating_mul(tick));
    let tat = tat.unwrap_or(now).max(now);
    let ahead = tat - now;
    if ahead > tolerance {
        let decision = Decision {
            allowed: false,
            limit,
            remaining: 0,
            reset: span(ahead),
            retry_after: span(ahead - tolerance),
        };
        return (decision, None);
    }
    let new_tat = tat.saturating_add(interval);
    let used = new_tat - now;
    let capacity = interval.saturating_mul(u64::from(limit));
    let remaining = u32::try_from(capacity.saturating_sub(used) / interval).unwrap_or(u32::MAX);
    let decision = Decision {
        allowed: true,
        limit,
        remaining,
        reset: span(used),
        retry_after: Duration::ZERO,
    };
    (decision, Some(new_tat))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn a_fresh_budget_allows_its_limit_at_once_then_refuses_until_an_interval_passes() {
        let quota = Quota::new(5, Duration::from_secs(10));
        let mut tat = None;
        for expected_remaining in (0..5).rev() {
            let (d, next) = decide(tat, 0, quota);
            assert!(d.allowed);
            assert_eq!(d.remaining, expected_remaining);
            tat = next;
        }
        let (refused, unchanged) = decide(tat, 0, quota);
        assert!(!refused.allowed);
        assert_eq!(unchanged, None);
        assert_eq!(refused.retry_after, Duration::from_secs(2));
        assert_eq!(refused.reset, Duration::from_secs(10));
        // One interval (2 s) later exactly one more is allowed.
        let (later, _) = decide(tat, 2 * SECOND, quota);
        assert!(later.allowed);
        assert_eq!(later.remaining, 0);
    }

    proptest! {
        /// Over any sequence of arrivals, no stretch of time admits more than the bucket holds plus
        /// what it earns meanwhile (`limit + elapsed / interval`), and a refusal's `retry_after` is
        /// exactly when the next request is admitted.
        #[test]
        fn admissions_never_exceed_the_bucket_and_its_refill(
            limit in 1u32..20,
            period_secs in 1u64..60,
            gaps in proptest::collection::vec(0u64..3 * SECOND, 1..200),
        ) {
            let quota = Quota::new(limit, Duration::from_secs(period_secs));
            let interval = quota.interval_in(1);
            let (mut now, mut tat, mut admitted) = (0u64, None, Vec::new());
            for gap in gaps {
                now += gap;
                let (d, next) = decide(tat, now, quota);
                if d.allowed {
                    admitted.push(now);
                    tat = next;
                    prop_assert!(d.remaining < limit);
                } else {
                    let retry = now + u64::try_from(d.retry_after.as_nanos()).unwrap_or(u64::MAX);
                    prop_assert!(decide(tat, retry, quota).0.allowed);
                    prop_assert!(!decide(tat, retry - 1, quota).0.allowed);
                }
            }
            for (i, first) in admitted.iter().enumerate() {
                for (j, last) in admitted.iter().enumerate().skip(i) {
                    let earned = (last - first) / interval;
                    prop_assert!((j - i + 1) as u64 <= u64::from(limit) + earned);
                }
            }
        }
    }
}
