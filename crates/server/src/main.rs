//! `filmlog`: the Filmlog server and its administration commands.

use std::process::ExitCode;

use filmlog::{BoxError, Settings, init_telemetry};

/// mimalloc instead of the system allocator: a feed page allocates a few hundred short strings, and
/// glibc's malloc and free were a ninth of the server's CPU on it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: filmlog <command>

commands:
  serve                   serve the API (HOST, PORT; needs DATABASE_URL and FILMLOG_JWT_SECRET)
  migrate                 apply pending database migrations
  seed                    load the demo data (idempotent)
  gen-data --profile ci|medium
                          generate a benchmark data set into a fresh database (COPY)
  bench-tokens COUNT      (generated data only) new sessions for members 1..COUNT; prints their access tokens
  import-films FILE       import a catalog in the format of vega-datasets' movies.json (idempotent)
  openapi                 print the OpenAPI document
  admin grant <username>  make a member an admin
  recompute-popularity    recompute the popular reviews' scores now (the server does it periodically)

configuration (environment): DATABASE_URL, FILMLOG_JWT_SECRET (at least 32 random bytes), HOST (127.0.0.1),
PORT (8080), FILMLOG_WORKERS, FILMLOG_DB_POOL_SIZE (16), FILMLOG_DB_TIMEOUT_MS (1000),
FILMLOG_DB_STATEMENT_TIMEOUT_MS (10000), FILMLOG_DB_READ_STATEMENT_TIMEOUT_MS (3000),
FILMLOG_DB_LOCK_TIMEOUT_MS (2000), FILMLOG_REQUEST_HEAD_TIMEOUT_MS (5000), FILMLOG_REQUEST_BODY_TIMEOUT_MS (10000),
FILMLOG_RATE_{READ,SEARCH,WRITE}_PER_{IP,MEMBER}, FILMLOG_RATE_AUTH_PER_IP, FILMLOG_RATE_REGISTER_PER_IP
(COUNT/SECONDS; see the README), FILMLOG_LOGIN_FREE_FAILURES (5), FILMLOG_LOGIN_MAX_LOCK_SECS (900),
FILMLOG_TRUSTED_PROXIES, FILMLOG_HASH_CONCURRENCY, FILMLOG_ACCESS_TTL_SECS (900),
FILMLOG_POPULARITY_INTERVAL_SECS (900; 0: never), FILMLOG_READ_DATABASE_URL (a hot standby for reads),
FILMLOG_REDIS_URL (the rate limiter's state, shared by instances), FILMLOG_INSTANCE,
FILMLOG_METRICS_ADDR (Prometheus /metrics on its own address), RUST_LOG";

async fn run(args: &[String]) -> Result<(), BoxError> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if let ["openapi"] = args.as_slice() {
        print!("{}", filmlog::openapi_json()?);
        return Ok(());
    }
    let settings = Settings::from_env()?;
    match args.as_slice() {
        ["serve"] => {
            init_telemetry();
            settings.auth()?;
            filmlog::serve(settings).await
        }
        ["migrate"] => filmlog::migrate(&settings).await,
        ["seed"] => filmlog::seed::run(&settings).await,
        ["import-films", file] => filmlog::import::run(&settings, file).await,
        ["bench-tokens", count] => {
            let count: i64 = count.parse().map_err(|_| "bench-tokens COUNT")?;
            filmlog::datagen::mint_tokens(&settings, count).await
        }
        ["gen-data", "--profile", name] => {
            let profile = filmlog::datagen::Profile::parse(name).ok_or("profiles: ci, medium")?;
            filmlog::datagen::run(&settings, profile).await
        }
        ["admin", "grant", username] => filmlog::grant_admin(&settings, username).await,
        ["recompute-popularity"] => filmlog::recompute_popularity(&settings).await,
        _ => Err(USAGE.into()),
    }
}

#[actix_web::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("filmlog: {e}");
            ExitCode::FAILURE
        }
    }
}
