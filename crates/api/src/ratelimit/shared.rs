//! The limiter's state in Redis, shared by every API instance, so a budget is the same whichever
//! instance answers. The same GCRA ([`decide_in`]) and login back-off as [`MemoryStore`]; each
//! budget decision is one atomic script run on Redis's clock, so the instances' clocks never
//! matter.
//!
//! When Redis does not answer within [`RESPONSE_TIMEOUT`], the instance decides from its own
//! memory (budgets per instance until Redis is back) and logs it: a limiter outage neither opens
//! the API to unlimited traffic nor takes it down.

use std::time::Duration;

use futures_util::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Script, Value};

use super::gcra::{Decision, Quota, decide_in};
use super::store::{BudgetKey, BudgetStore, FAILURE_MEMORY, LoginPolicy, LoginStore, MemoryStore};

/// Redis counts microseconds here (`TIME`), which Lua's numbers hold exactly.
const MICROS: u64 = 1_000;

/// How long an instance waits for Redis before deciding alone.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_millis(250);

/// Every script starts from Redis's clock, in microseconds.
const NOW: &str =
    "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n";

/// One budget: reads the TAT, admits the request when it is at most `tolerance` ahead of now (the
/// rule of [`decide_in`]) and stores the next TAT; returns the TAT it found (at least now) and now.
const ACQUIRE: &str = r"
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now <= tolerance then
  local next = tat + interval
  redis.call('SET', KEYS[1], string.format('%d', next), 'PX', math.ceil((next - now) / 1000) + 1000)
end
return {string.format('%d', tat), string.format('%d', now)}
";

/// A failed login: counts it (forgetting failures older than ARGV[1] µs); returns the count and now.
const FAILED: &str = r"
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or now)
local count = tonumber(redis.call('HGET', KEYS[1], 'count') or 0)
if now - last >= tonumber(ARGV[1]) then count = 0 end
count = count + 1
redis.call('HSET', KEYS[1], 'count', count, 'last', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) / 1000))
return {count, string.format('%d', now)}
";

/// Locks the account until ARGV[1] µs after now (never shortening a longer lock).
const LOCK: &str = r"
local until_ = now + tonumber(ARGV[1])
local held = tonumber(redis.call('HGET', KEYS[1], 'locked_until') or 0)
if until_ > held then redis.call('HSET', KEYS[1], 'locked_until', string.format('%d', until_)) end
return 1
";

/// How long the account stays locked, in µs (0: not locked).
const LOCKED_FOR: &str = r"
local held = tonumber(redis.call('HGET', KEYS[1], 'locked_until') or 0)
if held > now then return string.format('%d', held - now) end
return '0'
";

pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    fallback: MemoryStore,
    acquire: Script,
    failed: Script,
    lock: Script,
    locked_for: Script,
}

#[derive(Debug, thiserror::Error)]
pub enum SharedStoreError {
    #[error("the rate limiter's Redis at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: redis::RedisError,
    },
}

impl RedisStore {
    /// Connects to Redis at `url` (`redis://host:port/db`); keys start with `prefix`. The
    /// connection reconnects by itself after Redis restarts.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, SharedStoreError> {
        let error = |source| SharedStoreError::Connect {
            url: url.to_owned(),
            source,
        };
        let client = redis::Client::open(url).map_err(error)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(error)?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            fallback: MemoryStore::default(),
            acquire: Script::new(&format!("{NOW}{ACQUIRE}")),
            failed: Script::new(&format!("{NOW}{FAILED}")),
            lock: Script::new(&format!("{NOW}{LOCK}")),
            locked_for: Script::new(&format!("{NOW}{LOCKED_FOR}")),
        })
    }

    fn login_key(&self, account: &str) -> String {
        format!("{}login:{account}", self.prefix)
    }

    async fn acquire_shared(&self, key: &BudgetKey, quota: Quota) -> redis::RedisResult<Decision> {
        let mut conn = self.conn.clone();
        let (tat, now): (u64, u64) = self
            .acquire
            .key(format!("{}{key}", self.prefix))
            .arg(quota.interval_in(MICROS))
            .arg(quota.tolerance_in(MICROS))
            .invoke_async(&mut conn)
            .await?;
        Ok(decide_in(Some(tat), now, quota, MICROS).0)
    }

    async fn failed_shared(
        &self,
        account: &str,
        policy: LoginPolicy,
    ) -> redis::RedisResult<Option<Duration>> {
        let mut conn = self.conn.clone();
        let key = self.login_key(account);
        let memory = u64::try_from(FAILURE_MEMORY.as_micros()).unwrap_or(u64::MAX);
        let (count, _now): (u32, u64) = self
            .failed
            .key(&key)
            .arg(memory)
            .invoke_async(&mut conn)
            .await?;
        let lock = policy.lock_after(count);
        if let Some(lock) = lock {
            let micros = u64::try_from(lock.as_micros()).unwrap_or(u64::MAX);
            let _: Value = self
                .lock
                .key(&key)
                .arg(micros)
                .invoke_async(&mut conn)
                .await?;
        }
        Ok(lock)
    }

    async fn locked_for_shared(&self, account: &str) -> redis::RedisResult<Option<Duration>> {
        let mut conn = self.conn.clone();
        let micros: u64 = self
            .locked_for
            .key(self.login_key(account))
            .invoke_async(&mut conn)
            .await?;
        Ok((micros > 0).then(|| Duration::from_micros(micros)))
    }

    async fn succeeded_shared(&self, account: &str) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        redis::cmd("DEL")
            .arg(self.login_key(account))
            .query_async(&mut conn)
            .await
    }
}

/// Redis's answer, or when it has none, this instance's own (logged). `local` is only called then:
/// the in-process store decides when called, so calling it always would spend its budgets too.
async fn or_locally<T, L: Future<Output = T>>(
    what: &str,
    shared: impl Future<Output = redis::RedisResult<T>>,
    local: impl FnOnce() -> L,
) -> T {
    // Bounded here too: the client's response timeout does not cover a reconnect.
    let answer = tokio::time::timeout(RESPONSE_TIMEOUT, shared)
        .await
        .map_err(|_| format!("no answer within {} ms", RESPONSE_TIMEOUT.as_millis()))
        .and_then(|r| r.map_err(|e| e.to_string()));
    match answer {
        Ok(answer) => answer,
        Err(error) => {
            tracing::warn!(%error, "rate limiter: Redis did not answer ({what}); deciding from this instance's memory");
            local().await
        }
    }
}

impl BudgetStore for RedisStore {
    fn acquire<'a>(&'a self, key: &'a BudgetKey, quota: Quota) -> BoxFuture<'a, Decision> {
        Box::pin(or_locally(
            "budget",
            self.acquire_shared(key, quota),
            move || self.fallback.acquire(key, quota),
        ))
    }
}

impl LoginStore for RedisStore {
    fn locked_for<'a>(&'a self, account: &'a str) -> BoxFuture<'a, Option<Duration>> {
        Box::pin(or_locally(
            "login lock",
            self.locked_for_shared(account),
            move || self.fallback.locked_for(account),
        ))
    }

    fn failed<'a>(
        &'a self,
        account: &'a str,
        policy: LoginPolicy,
    ) -> BoxFuture<'a, Option<Duration>> {
        Box::pin(or_locally(
            "login failure",
            self.failed_shared(account, policy),
            move || self.fallback.failed(account, policy),
        ))
    }

    fn succeeded<'a>(&'a self, account: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let shared = self.succeeded_shared(account);
            or_locally("login success", shared, || std::future::ready(())).await;
            // The local memory forgets too: it may hold failures from a Redis outage.
            self.fallback.succeeded(account).await
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::process::{Child, Command, Stdio};

    use super::*;
    use crate::ratelimit::Class;
    use crate::ratelimit::store::Holder;

    /// A Redis of the test's own on a free port, stopped when dropped.
    struct Redis {
        child: Child,
        url: String,
    }

    impl Redis {
        async fn start() -> Self {
            let port = std::net::TcpListener::bind(("127.0.0.1", 0))
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .unwrap_or_else(|e| panic!("free port: {e}"));
            let child = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                ])
                .args(["--appendonly", "no"])
                .stdout(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("redis-server (make test installs it): {e}"));
            let url = format!("redis://127.0.0.1:{port}/0");
            for _ in 0..100 {
                if tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Self { child, url }
        }
    }

    impl Redis {
        /// Sends `signal` to the server (STOP: it keeps its sockets open and answers nothing).
        fn signal(&self, signal: &str) {
            let sent = Command::new("kill")
                .args([format!("-{signal}"), self.child.id().to_string()])
                .status();
            assert!(sent.is_ok_and(|s| s.success()), "kill -{signal}");
        }
    }

    impl Drop for Redis {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn key(n: u8) -> BudgetKey {
        BudgetKey {
            class: Class::Write,
            holder: Holder::Network(IpAddr::V4(Ipv4Addr::new(192, 0, 2, n))),
        }
    }

    /// Two stores on one Redis are one budget (as two instances are), decided like the in-process
    /// store; a failed login locks the account for both; a success clears it.
    #[actix_web::test]
    async fn instances_share_one_budget_and_one_lockout() {
        let redis = Redis::start().await;
        let a = RedisStore::connect(&redis.url, "t:")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let b = RedisStore::connect(&redis.url, "t:")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let quota = Quota::new(4, Duration::from_secs(3600));
        let mut allowed = Vec::new();
        for i in 0..6 {
            let store = if i % 2 == 0 { &a } else { &b };
            allowed.push(store.acquire(&key(1), quota).await);
        }
        let yes: Vec<bool> = allowed.iter().map(|d| d.allowed).collect();
        assert_eq!(yes, [true, true, true, true, false, false]);
        let remaining: Vec<u32> = allowed.iter().take(4).map(|d| d.remaining).collect();
        assert_eq!(remaining, [3, 2, 1, 0]);
        // One request back every 15 minutes: the refusal says so.
        let wait = allowed[4].retry_after;
        assert!(
            wait > Duration::from_secs(899) && wait <= Duration::from_secs(900),
            "{wait:?}"
        );
        // Another key has its own budget.
        assert!(b.acquire(&key(2), quota).await.allowed);

        let policy = LoginPolicy {
            free_failures: 1,
            max_lock: Duration::from_secs(60),
        };
        assert_eq!(a.failed("ana", policy).await, None);
        assert_eq!(b.failed("ana", policy).await, Some(Duration::from_secs(1)));
        let locked = a.locked_for("ana").await;
        assert!(
            locked.is_some_and(|d| d <= Duration::from_secs(1)),
            "{locked:?}"
        );
        assert_eq!(b.locked_for("bruno").await, None);
        b.succeeded("ana").await;
        assert_eq!(a.locked_for("ana").await, None);
    }

    /// With Redis gone an instance decides alone, within its own budget, and answers at once.
    #[actix_web::test]
    async fn without_redis_an_instance_decides_from_its_own_memory() {
        let redis = Redis::start().await;
        let store = RedisStore::connect(&redis.url, "t:")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let quota = Quota::new(2, Duration::from_secs(3600));
        assert!(store.acquire(&key(3), quota).await.allowed);
        drop(redis);
        let mut local = Vec::new();
        for _ in 0..3 {
            let started = std::time::Instant::now();
            local.push(store.acquire(&key(3), quota).await.allowed);
            // The README's promise: 250 ms (with room for a loaded machine).
            assert!(
                started.elapsed() < RESPONSE_TIMEOUT + Duration::from_millis(250),
                "{:?}",
                started.elapsed()
            );
        }
        // The local memory never saw the first request: two more are allowed, then none.
        assert_eq!(local, [true, true, false]);
        let policy = LoginPolicy {
            free_failures: 0,
            max_lock: Duration::from_secs(60),
        };
        assert_eq!(
            store.failed("ana", policy).await,
            Some(Duration::from_secs(1))
        );
        assert!(store.locked_for("ana").await.is_some());
    }

    /// A Redis that stops answering (its sockets open, so only the timeout can tell) costs each
    /// request its 250 ms and no more; the instance decides from its own memory meanwhile.
    #[actix_web::test]
    async fn a_redis_that_stops_answering_costs_at_most_its_timeout() {
        assert_eq!(
            RESPONSE_TIMEOUT,
            Duration::from_millis(250),
            "the README says 250 ms"
        );
        let redis = Redis::start().await;
        let store = RedisStore::connect(&redis.url, "t:")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let quota = Quota::new(2, Duration::from_secs(3600));
        assert!(store.acquire(&key(4), quota).await.allowed);
        redis.signal("STOP");
        let mut local = Vec::new();
        for _ in 0..3 {
            let started = std::time::Instant::now();
            local.push(store.acquire(&key(4), quota).await.allowed);
            let took = started.elapsed();
            assert!(
                took >= RESPONSE_TIMEOUT - Duration::from_millis(20)
                    && took < RESPONSE_TIMEOUT + Duration::from_millis(250),
                "{took:?}"
            );
        }
        assert_eq!(local, [true, true, false]);
        redis.signal("CONT");
    }
}
