//! The composition root: settings → telemetry → pool → migrations → HTTP server, and the subcommands.

pub mod datagen;
pub mod import;
pub mod seed;
pub mod settings;

use std::io::IsTerminal;
use std::sync::Arc;

use filmlog_api::ratelimit::Limiter;
use filmlog_api::ratelimit::shared::RedisStore;
use filmlog_api::server::{ServerOptions, http_server};
use filmlog_api::{AppState, PasswordService, TokenService};
use filmlog_persistence::{build_pool, run_migrations};

pub use settings::{ConfigError, Settings};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Logs to stderr: human-readable on a terminal, JSON lines otherwise. `RUST_LOG` filters.
pub fn init_telemetry() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if std::io::stderr().is_terminal() {
        builder.try_init()
    } else {
        builder.json().try_init()
    };
    // A second initialisation (in tests) is harmless.
    drop(result);
}

/// The state every worker shares.
pub async fn app_state(settings: &Settings) -> Result<AppState, BoxError> {
    let pool = build_pool(settings.database_url()?, &settings.pool)?;
    let reads = build_pool(settings.database_url()?, &settings.reads)?;
    let standby = match &settings.read_database_url {
        Some(url) => Some(build_pool(url, &settings.reads)?),
        None => None,
    };
    let limiter = match &settings.redis_url {
        Some(url) => {
            let store = Arc::new(RedisStore::connect(url, "filmlog:limits:").await?);
            Limiter::shared(settings.rate.clone(), store)
        }
        None => Limiter::in_memory(settings.rate.clone()),
    };
    let tokens = TokenService::new(settings.auth()?.clone())?;
    let passwords =
        PasswordService::new(settings.auth()?.hash_concurrency).map_err(|e| e.to_string())?;
    Ok(AppState {
        pool,
        reads,
        standby,
        instance: settings.instance.as_deref().map(Into::into),
        limits: settings.http,
        limiter: Arc::new(limiter),
        tokens: Arc::new(tokens),
        passwords: Arc::new(passwords),
    })
}

/// Serves the API until SIGINT or SIGTERM, then drains in-flight requests (up to 10 s) and returns.
/// Meanwhile recomputes review popularity scores every `popularity_every`.
pub async fn serve(settings: Settings) -> Result<(), BoxError> {
    let state = app_state(&settings).await?;
    if let Some(every) = settings.popularity_every {
        let pool = state.pool.clone();
        actix_web::rt::spawn(async move {
            // The first run waits a whole interval: a start (or a restart of several instances)
            // does not add a scan of every log entry to its warm-up.
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let result = match pool.get().await {
                    Ok(mut conn) => {
                        filmlog_persistence::log_entries::recompute_popularity(&mut conn)
                            .await
                            .map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e.to_string()),
                };
                match result {
                    Ok(changed) => tracing::info!(changed, "review popularity recomputed"),
                    Err(error) => tracing::warn!(%error, "review popularity not recomputed"),
                }
            }
        });
    }
    let listener = std::net::TcpListener::bind((settings.host.as_str(), settings.port))?;
    let addr = listener.local_addr()?;
    let metrics = match &settings.metrics_addr {
        Some(addr) => Some(std::net::TcpListener::bind(addr.as_str())?),
        None => None,
    };
    let options = ServerOptions {
        metrics,
        workers: settings.workers,
        shutdown_timeout: std::time::Duration::from_secs(10),
        handle_signals: true,
    };
    let server = http_server(state, listener, options)?;
    println!("Filmlog API on http://{addr}/api/v1  (docs: http://{addr}/docs/)");
    server.await?;
    Ok(())
}

pub async fn migrate(settings: &Settings) -> Result<(), BoxError> {
    let applied = run_migrations(settings.database_url()?).await?;
    if applied.is_empty() {
        println!("migrations: up to date");
    } else {
        println!("migrations: applied {}", applied.join(", "));
    }
    Ok(())
}

/// Recomputes review popularity scores now (the server does it every
/// `FILMLOG_POPULARITY_INTERVAL_SECS`).
pub async fn recompute_popularity(settings: &Settings) -> Result<(), BoxError> {
    use diesel_async::AsyncConnection;
    let mut conn = diesel_async::AsyncPgConnection::establish(settings.database_url()?).await?;
    let changed = filmlog_persistence::log_entries::recompute_popularity(&mut conn).await?;
    println!("review popularity recomputed: {changed} log entries changed");
    Ok(())
}

/// Makes a member an admin.
pub async fn grant_admin(settings: &Settings, username: &str) -> Result<(), BoxError> {
    use diesel_async::AsyncConnection;
    let mut conn = diesel_async::AsyncPgConnection::establish(settings.database_url()?).await?;
    match filmlog_persistence::members::set_role(&mut conn, username, filmlog_domain::Role::Admin)
        .await
    {
        Ok(member) => {
            println!("{} is now an admin", member.username);
            Ok(())
        }
        Err(filmlog_persistence::PersistenceError::NotFound) => {
            Err(format!("no member is called {username}").into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The OpenAPI document as pretty JSON with a final newline, exactly as committed in
/// `openapi/openapi.json`.
pub fn openapi_json() -> Result<String, BoxError> {
    Ok(filmlog_api::openapi().to_pretty_json()? + "\n")
}
