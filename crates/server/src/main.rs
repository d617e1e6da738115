//! `filmlog`: the Filmlog server and its administration commands. Benchmark-only commands live in
//! the dev-only `filmlog-dev` (crates/devtools).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use filmlog::{BoxError, Settings, failure, init_telemetry};

/// mimalloc instead of the system allocator: a feed page allocates a few hundred short strings, and
/// glibc's malloc and free were a ninth of the server's CPU on it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONFIGURATION: &str = "\
Configuration (environment): DATABASE_URL, FILMLOG_JWT_SECRET (at least 32 random bytes), HOST
(127.0.0.1), PORT (8080), FILMLOG_WORKERS, FILMLOG_DB_POOL_SIZE (16), FILMLOG_DB_TIMEOUT_MS (1000),
FILMLOG_DB_STATEMENT_TIMEOUT_MS (10000), FILMLOG_DB_READ_STATEMENT_TIMEOUT_MS (3000),
FILMLOG_DB_LOCK_TIMEOUT_MS (2000), FILMLOG_REQUEST_HEAD_TIMEOUT_MS (5000),
FILMLOG_REQUEST_BODY_TIMEOUT_MS (10000), FILMLOG_RATE_{READ,SEARCH,WRITE}_PER_{IP,MEMBER},
FILMLOG_RATE_AUTH_PER_IP, FILMLOG_RATE_REGISTER_PER_IP (COUNT/SECONDS; see the README),
FILMLOG_LOGIN_FREE_FAILURES (5), FILMLOG_LOGIN_MAX_LOCK_SECS (900), FILMLOG_TRUSTED_PROXIES,
FILMLOG_HASH_CONCURRENCY, FILMLOG_ACCESS_TTL_SECS (900), FILMLOG_POPULARITY_INTERVAL_SECS (900; 0:
never), FILMLOG_WEBHOOK_WORKERS (1), FILMLOG_PORTABILITY_WORKERS (1), FILMLOG_FEED_WORKER (true: the
home feed's fan-out here), FILMLOG_READ_DATABASE_URL (a hot standby for reads), FILMLOG_REDIS_URL (the rate limiter's
state, shared by instances), FILMLOG_INSTANCE, FILMLOG_METRICS_ADDR (Prometheus /metrics on its own
address), OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (export spans by
OTLP/HTTP), OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER(_ARG), RUST_LOG.

Exit codes: 0 done; 1 the command failed (its message says why); 2 wrong usage; 65 an input file
that cannot be used; 69 PostgreSQL or Redis unreachable; 78 configuration missing or invalid.";

#[derive(Debug, Parser)]
#[command(name = "filmlog", version, about = "The Filmlog API server and its administration commands.", after_long_help = CONFIGURATION, after_help = "Configuration and exit codes: filmlog --help")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (HOST, PORT; needs DATABASE_URL and FILMLOG_JWT_SECRET). SIGINT or SIGTERM
    /// stops accepting, answers what is in flight (up to 10 s), then exits 0.
    Serve,
    /// Apply pending database migrations (safe to run from several instances at once).
    Migrate,
    /// Load the demo data: films, members, diaries and reviews (idempotent).
    Seed,
    /// Import film catalogs: vega-datasets' movies.json and the Wikipedia film dataset (idempotent:
    /// films already present are counted, not duplicated; the same film in two files becomes one;
    /// rejected rows are listed with their reason).
    ImportFilms {
        /// JSON files (`.gz` for gzip-compressed), each an array of films: objects with "Title"
        /// and "Release Date" (vega), or with "title", "year", "cast" and "href" (Wikipedia).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Import a member's Letterboxd export ZIP (or a Filmlog export) as `POST /me/imports` does, in
    /// this process, with a progress bar; prints what each file did and every skipped row.
    ImportLetterboxd {
        /// The member's username.
        username: String,
        /// The export ZIP (at most 50 MiB).
        zip: PathBuf,
        /// Only report what would change (the job waits for review in the API).
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the OpenAPI document (needs no configuration).
    Openapi,
    /// Manage members' roles.
    Admin {
        #[command(subcommand)]
        action: AdminCommand,
    },
    /// Recompute the popular reviews' scores now (a running server does it every
    /// FILMLOG_POPULARITY_INTERVAL_SECS).
    RecomputePopularity,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Make a member an admin.
    Grant {
        /// The member's username.
        username: String,
    },
}

async fn run(command: Command) -> Result<(), BoxError> {
    if let Command::Openapi = command {
        print!("{}", filmlog::openapi_json()?);
        return Ok(());
    }
    let settings = Settings::from_env()?;
    match command {
        Command::Serve => {
            settings.auth()?;
            let _telemetry = init_telemetry()?;
            filmlog::serve(settings).await
        }
        Command::Migrate => filmlog::migrate(&settings).await,
        Command::Seed => filmlog::seed::run(&settings).await,
        Command::ImportFilms { files } => filmlog::import::run(&settings, &files).await,
        Command::ImportLetterboxd {
            username,
            zip,
            dry_run,
        } => filmlog::letterboxd::run(&settings, &username, &zip, dry_run).await,
        Command::Admin {
            action: AdminCommand::Grant { username },
        } => filmlog::grant_admin(&settings, &username).await,
        Command::RecomputePopularity => filmlog::recompute_popularity(&settings).await,
        Command::Openapi => Ok(()),
    }
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => failure::report("filmlog", &e),
    }
}
