//! Where the limiter keeps its state. One instance keeps it in memory ([`MemoryStore`]); several
//! instances share a store behind the same traits, so a budget is the same whichever answers.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;

use filmlog_domain::MemberId;

use super::Class;
use super::gcra::{Decision, Quota, decide};

/// Whose budget: a client network's or a member's, for one class of requests. Shown as
/// `read:ip:203.0.113.7` or `write:member:42` (the key a shared store would use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BudgetKey {
    pub class: Class,
    pub holder: Holder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holder {
    /// An IPv4 address, or an IPv6 /64 (the rest of the address zeroed).
    Network(IpAddr),
    Member(MemberId),
    /// A member's requests through one third-party app: an app spends its own budget, never the
    /// member's or another app's.
    App(MemberId, filmlog_domain::AppId),
}

impl std::fmt::Display for BudgetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.holder {
            Holder::Network(ip) => write!(f, "{}:ip:{ip}", self.class.name()),
            Holder::Member(id) => write!(f, "{}:member:{id}", self.class.name()),
            Holder::App(id, app) => write!(f, "{}:member:{id}:app:{app}", self.class.name()),
        }
    }
}

/// Budgets by key.
pub trait BudgetStore: Send + Sync {
    /// Spends one request of `key`'s budget if there is one left.
    fn acquire<'a>(&'a self, key: &'a BudgetKey, quota: Quota) -> BoxFuture<'a, Decision>;
}

/// Failed logins by account, with a growing lock-out.
pub trait LoginStore: Send + Sync {
    /// How long the account stays locked, if it is.
    fn locked_for<'a>(&'a self, account: &'a str) -> BoxFuture<'a, Option<Duration>>;
    /// Counts a failed login; returns the lock-out it starts, if any.
    fn failed<'a>(
        &'a self,
        account: &'a str,
        policy: LoginPolicy,
    ) -> BoxFuture<'a, Option<Duration>>;
    /// A successful login clears the account's failures.
    fn succeeded<'a>(&'a self, account: &'a str) -> BoxFuture<'a, ()>;
}

/// Per-account back-off: `free_failures` wrong passwords in a row cost nothing; each further one locks
/// the account for twice as long as the one before, from one second up to `max_lock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    pub free_failures: u32,
    pub max_lock: Duration,
}

impl LoginPolicy {
    /// The lock-out after `failures` failures in a row.
    pub fn lock_after(&self, failures: u32) -> Option<Duration> {
        let beyond = failures.checked_sub(self.free_failures)?.checked_sub(1);
        beyond.map(|n| Duration::from_secs(1u64 << n.min(30)).min(self.max_lock))
    }
}

const SHARDS: usize = 16;
/// A shard purges keys whose state has fully decayed once it holds this many.
const PURGE_AT: usize = 50_000;

/// The state of one process, in sharded maps (a request locks one shard for a few hundred
/// nanoseconds).
pub struct MemoryStore {
    epoch: Instant,
    hasher: RandomState,
    budgets: Vec<Mutex<HashMap<BudgetKey, u64>>>,
    logins: Mutex<HashMap<String, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    locked_until: u64,
    last: u64,
}

/// Failures older than this are forgotten.
pub(crate) const FAILURE_MEMORY: Duration = Duration::from_secs(24 * 3600);

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            hasher: RandomState::new(),
            budgets: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            logins: Mutex::new(HashMap::new()),
        }
    }
}

impl MemoryStore {
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn acquire_now(&self, key: &BudgetKey, quota: Quota) -> Decision {
        let now = self.now();
        let shard = self.hasher.hash_one(key) as usize % SHARDS;
        // A poisoned shard (a panic while it was held) still holds valid numbers.
        let mut map = self.budgets[shard]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if map.len() >= PURGE_AT {
            map.retain(|_, tat| *tat > now);
        }
        let (decision, tat) = decide(map.get(key).copied(), now, quota);
        if let Some(tat) = tat {
            map.insert(*key, tat);
        }
        decision
    }

    fn login_state<R>(&self, f: impl FnOnce(&mut HashMap<String, Failures>, u64) -> R) -> R {
        let now = self.now();
        let mut map = self
            .logins
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let memory = u64::try_from(FAILURE_MEMORY.as_nanos()).unwrap_or(u64::MAX);
        if map.len() >= PURGE_AT {
            map.retain(|_, f| f.locked_until > now || now.saturating_sub(f.last) < memory);
        }
        f(&mut map, now)
    }
}

impl BudgetStore for MemoryStore {
    fn acquire<'a>(&'a self, key: &'a BudgetKey, quota: Quota) -> BoxFuture<'a, Decision> {
        let decision = self.acquire_now(key, quota);
        Box::pin(std::future::ready(decision))
    }
}

impl LoginStore for MemoryStore {
    fn locked_for<'a>(&'a self, account: &'a str) -> BoxFuture<'a, Option<Duration>> {
        let locked = self.login_state(|map, now| {
            map.get(account)
                .filter(|f| f.locked_until > now)
                .map(|f| Duration::from_nanos(f.locked_until - now))
        });
        Box::pin(std::future::ready(locked))
    }

    fn failed<'a>(
        &'a self,
        account: &'a str,
        policy: LoginPolicy,
    ) -> BoxFuture<'a, Option<Duration>> {
        let lock = self.login_state(|map, now| {
            let entry = map.entry(account.to_owned()).or_insert(Failures {
                count: 0,
                locked_until: 0,
                last: now,
            });
            let memory = u64::try_from(FAILURE_MEMORY.as_nanos()).unwrap_or(u64::MAX);
            if now.saturating_sub(entry.last) >= memory {
                entry.count = 0;
            }
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
            let lock = policy.lock_after(entry.count);
            if let Some(lock) = lock {
                let nanos = u64::try_from(lock.as_nanos()).unwrap_or(u64::MAX);
                entry.locked_until = now.saturating_add(nanos);
            }
            lock
        });
        Box::pin(std::future::ready(lock))
    }

    fn succeeded<'a>(&'a self, account: &'a str) -> BoxFuture<'a, ()> {
        self.login_state(|map, _| map.remove(account));
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_outs_start_after_the_free_failures_and_double_up_to_the_cap() {
        let policy = LoginPolicy {
            free_failures: 5,
            max_lock: Duration::from_secs(60),
        };
        let locks: Vec<_> = (1..=13).map(|n| policy.lock_after(n)).collect();
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(
            locks,
            vec![
                None,
                None,
                None,
                None,
                None,
                secs(1),
                secs(2),
                secs(4),
                secs(8),
                secs(16),
                secs(32),
                secs(60),
                secs(60)
            ]
        );
    }

    #[actix_web::test]
    async fn a_store_locks_an_account_and_a_success_clears_it() {
        let store = MemoryStore::default();
        let policy = LoginPolicy {
            free_failures: 1,
            max_lock: Duration::from_secs(60),
        };
        assert_eq!(store.failed("ana", policy).await, None);
        assert_eq!(
            store.failed("ana", policy).await,
            Some(Duration::from_secs(1))
        );
        assert!(store.locked_for("ana").await.is_some());
        assert!(store.locked_for("bruno").await.is_none());
        store.succeeded("ana").await;
        assert!(store.locked_for("ana").await.is_none());
    }
}
