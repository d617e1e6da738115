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

/// One budget: reads the TAT, admits the request when it is at most `tolerance` ahead of now (the
/// rule of [`decide_in`]) and stores the next TAT; returns the TAT it found (at least now) and now.
const ACQUIRE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
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
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
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
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
local held = tonumber(redis.call('HGET', KEYS[1], 'locked_until') or 0)
if until_ > held then redis.call('HSET', KEYS[1], 'locked_until', string.format('%d', until_)) end
return 1
";

/// How long the account stays locked, in µs (0: not locked).
const LOCKED_FOR: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
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
            acquire: Script::new(ACQUIRE),
            failed: Script::new(FAILED),
            lock: Script::new(LOCK),
            locked_for: Script::new(LOCKED_FOR),
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

fn unreachable(what: &str, e: &redis::RedisError) {
    tracing::warn!(error = %e, "rate limiter: Redis did not answer ({what}); deciding from this instance's memory");
}

impl BudgetStore for RedisStore {
    fn acquire<'a>(&'a self, key: &'a BudgetKey, quota: Quota) -> BoxFuture<'a, Decision> {
        Box::pin(async move {
            match self.acquire_shared(key, quota).await {
                Ok(decision) => decision,
                Err(e) => {
                    unreachable("budget", &e);
                    self.fallback.acquire(key, quota).await
                }
            }
        })
    }
}

impl LoginStore for RedisStore {
    fn locked_for<'a>(&'a self, account: &'a str) -> BoxFuture<'a, Option<Duration>> {
        Box::pin(async move {
            match self.locked_for_shared(account).await {
                Ok(locked) => locked,
                Err(e) => {
                    unreachable("login lock", &e);
                    self.fallback.locked_for(account).await
                }
            }
        })
    }

    fn failed<'a>(
        &'a self,
        account: &'a str,
        policy: LoginPolicy,
    ) -> BoxFuture<'a, Option<Duration>> {
        Box::pin(async move {
            match self.failed_shared(account, policy).await {
                Ok(lock) => lock,
                Err(e) => {
                    unreachable("login failure", &e);
                    self.fallback.failed(account, policy).await
                }
            }
        })
    }

    fn succeeded<'a>(&'a self, account: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Err(e) = self.succeeded_shared(account).await {
                unreachable("login success", &e);
            }
            self.fallback.succeeded(account).await
        })
    }
}
