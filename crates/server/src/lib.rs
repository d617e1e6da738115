//! The composition root: settings → telemetry → pool → migrations → HTTP server, and the subcommands.

pub mod failure;
pub mod import;
pub mod letterboxd;
pub mod seed;
pub mod settings;
pub mod source;
pub mod wikipedia;

use std::io::IsTerminal;
use std::sync::Arc;

use filmlog_api::AppState;
use filmlog_api::ratelimit::Limiter;
use filmlog_api::ratelimit::shared::RedisStore;
use filmlog_api::server::{ServerOptions, http_server};
use filmlog_app::credentials::{PasswordService, TokenService};
use filmlog_persistence::{build_pool, run_migrations};

pub use settings::{ConfigError, Settings};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What [`init_telemetry`] set up; dropping it flushes the spans not yet exported.
#[must_use = "dropping the guard shuts the span exporter down"]
pub struct Telemetry {
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("filmlog: spans not exported at shutdown: {error}");
        }
    }
}

/// Logs to stderr: human-readable on a terminal, JSON lines otherwise; `RUST_LOG` filters. When
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) is set, the request and database spans
/// are also exported by OTLP over HTTP (`OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`, the
/// default, or `http/json`), whatever `RUST_LOG` says, with the standard `OTEL_SERVICE_NAME`,
/// `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER(_ARG)` and `OTEL_BSP_*` settings.
pub fn init_telemetry() -> Result<Telemetry, BoxError> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = if std::io::stderr().is_terminal() {
        fmt.with_filter(filter).boxed()
    } else {
        fmt.json().with_filter(filter).boxed()
    };
    let provider = otlp_provider()?;
    let otel = provider.as_ref().map(|provider| {
        use opentelemetry::trace::TracerProvider as _;
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("filmlog"))
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    // A second initialisation (in tests) is harmless.
    drop(
        tracing_subscriber::registry()
            .with(fmt)
            .with(otel)
            .try_init(),
    );
    Ok(Telemetry { provider })
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The OTLP span pipeline, when the standard variables ask for one.
fn otlp_provider() -> Result<Option<opentelemetry_sdk::trace::SdkTracerProvider>, BoxError> {
    use opentelemetry_otlp::{Protocol, WithExportConfig};

    let configured = env("OTEL_EXPORTER_OTLP_ENDPOINT")
        .or_else(|| env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        .is_some();
    let disabled = env("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || env("OTEL_TRACES_EXPORTER").is_some_and(|v| v == "none");
    if !configured || disabled {
        return Ok(None);
    }
    let protocol = match env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .as_deref()
    {
        None | Some("http/protobuf") => Protocol::HttpBinary,
        Some("http/json") => Protocol::HttpJson,
        Some(other) => {
            return Err(ConfigError::Invalid {
                name: "OTEL_EXPORTER_OTLP_PROTOCOL",
                reason: format!("{other} is not supported here; use http/protobuf or http/json"),
            }
            .into());
        }
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .build()
        .map_err(|e| ConfigError::Invalid {
            name: "OTEL_EXPORTER_OTLP_ENDPOINT",
            reason: e.to_string(),
        })?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if env("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("filmlog");
    }
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    Ok(Some(
        opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build(),
    ))
}

/// A progress bar on stderr for a command working through `total` items, drawn only when stderr is
/// a terminal: piped into a file or a CI log it prints nothing (the commands print their own summary
/// lines).
pub fn progress_bar(what: &str, total: u64) -> indicatif::ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        indicatif::ProgressDrawTarget::stderr()
    } else {
        indicatif::ProgressDrawTarget::hidden()
    };
    let bar = indicatif::ProgressBar::with_draw_target(Some(total), target);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "  {msg:<22} [{bar:30}] {human_pos}/{human_len}  {elapsed}",
    ) {
        bar.set_style(style.progress_chars("#>-"));
    }
    bar.set_message(what.to_owned());
    bar
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
        primary_seen: Default::default(),
        instance: settings.instance.as_deref().map(Into::into),
        limits: settings.http,
        limiter: Arc::new(limiter),
        tokens: Arc::new(tokens),
        passwords: Arc::new(passwords),
        cors: Arc::new(settings.cors.clone()),
        mail: Arc::new(settings.mail.clone()),
        events: Arc::default(),
        webhooks: Arc::new(filmlog_jobs::webhooks::WebhookSettings {
            secrets: Some(Arc::new(filmlog_jobs::webhooks::SecretBox::new(
                secrecy::ExposeSecret::expose_secret(&settings.auth()?.jwt_secret).as_bytes(),
            ))),
            ..settings.webhooks.clone()
        }),
        portability: Arc::new(filmlog_jobs::portability::PortabilitySettings::new(
            secrecy::ExposeSecret::expose_secret(&settings.auth()?.jwt_secret).as_bytes(),
        )),
    })
}

/// Serves the API until SIGINT or SIGTERM, then drains in-flight requests (up to 10 s) and returns.
/// Meanwhile runs the workers ([`filmlog_jobs::spawn`]).
pub async fn serve(settings: Settings) -> Result<(), BoxError> {
    let state = app_state(&settings).await?;
    // The workers: webhooks and imports share their queues with other instances' (SKIP LOCKED);
    // the event hub listens for every instance's notifications. Review popularity is recomputed
    // every `popularity_every`, and old tombstones, deliveries, jobs and keys are pruned daily. The
    // home feed's worker shares its queue with other instances' too.
    filmlog_jobs::spawn(
        state.pool.clone(),
        &filmlog_jobs::Jobs {
            webhooks: state.webhooks.clone(),
            portability: state.portability.clone(),
            events: state.events.clone(),
            listen_url: settings.database_url()?.to_owned(),
            webhook_workers: settings.webhook_workers,
            portability_workers: settings.portability_workers,
            prune: true,
            popularity_every: settings.popularity_every,
            feed: settings
                .feed_worker
                .then(filmlog_jobs::feed::FeedSettings::default),
            mail: settings.mail_worker.then(|| settings.mailer.clone()),
        },
    );
    // Live event streams end when a stop signal arrives (so draining requests does not wait on them).
    let events = state.events.clone();
    actix_web::rt::spawn(async move {
        stop_signal().await;
        events.close();
    });
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

/// SIGINT or SIGTERM.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
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
