//! `filmlog-dev`: benchmark-only commands (a generated data set, tokens for its members). Never
//! installed with the server.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use filmlog::{BoxError, Settings, failure};
use filmlog_devtools::datagen;

#[derive(Debug, Parser)]
#[command(
    name = "filmlog-dev",
    version,
    about = "Benchmark-only commands for Filmlog (not part of the server). Needs DATABASE_URL.",
    after_help = "Exit codes: 0 done; 1 the command failed (its message says why); 2 wrong usage; \
                  69 PostgreSQL unreachable; 78 configuration missing or invalid."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProfileName {
    /// A tenth of medium (20,000 films): for plan checks in the test suite.
    Ci,
    /// 100,000 members, ~10M follows, 1M log entries: what `make bench` runs on.
    Medium,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a deterministic benchmark data set into a fresh (empty, migrated or not) database,
    /// by COPY; refuses a database that already has members.
    GenData {
        #[arg(long, value_enum)]
        profile: ProfileName,
    },
    /// On a database made by gen-data only: end every session, open one for each of the members
    /// 1..COUNT and print their access tokens, one per line (needs FILMLOG_JWT_SECRET).
    BenchTokens {
        #[arg(value_parser = clap::value_parser!(i64).range(1..=100_000))]
        count: i64,
    },
}

async fn run(command: Command) -> Result<(), BoxError> {
    let settings = Settings::from_env()?;
    match command {
        Command::GenData { profile } => {
            let profile = match profile {
                ProfileName::Ci => datagen::CI,
                ProfileName::Medium => datagen::MEDIUM,
            };
            datagen::run(&settings, profile).await
        }
        Command::BenchTokens { count } => datagen::mint_tokens(&settings, count).await,
    }
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => failure::report("filmlog-dev", &e),
    }
}
