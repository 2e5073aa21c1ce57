//! The `switchboard` server: configuration, the HTTP layer over the engine, metrics,
//! and the start-up that ties store, engine, APIs and workers together.
//!
//! Layout:
//! - `config`: the settings of `switchboard serve` and `migrate` (flags and environment);
//! - `demo`: the demo catalog and customers `serve --demo` loads, and its commands;
//! - `transfer`: `switchboard export` and `import`, all data as JSON lines;
//! - `routes`: the one place where every API's endpoints are mounted;
//! - `openapi`: each API's OpenAPI document, from the same declarations;
//! - `docs`: the index (`GET /`), `/openapi.json` and the `/docs` page;
//! - `http`: handlers, content negotiation and the TMF error body;
//! - `telemetry`: logs and Prometheus metrics.

pub mod config;
pub mod demo;
mod docs;
mod http;
mod openapi;
mod routes;
pub mod telemetry;
pub mod transfer;

use std::future::Future;

use switchboard_apis::Registration;
use switchboard_engine::{Engine, EngineConfig};
use switchboard_store::{Store, StoreConfig};
use tokio::net::TcpListener;

pub use config::{ConfigError, LogFormat, MigrateConfig, Role, ServeConfig};

/// Opens the store; a database that cannot be opened is a setting to correct (the
/// server cannot start), named in the error.
pub async fn open_store(config: &StoreConfig) -> Result<Store, ConfigError> {
    Store::open(config)
        .await
        .map_err(|error| config::database_url_error(&config.url, error))
}

/// Opens the store, builds the engine over every API and returns it with the router
/// of the process's role. A setting that keeps it from starting is a `ConfigError`.
pub async fn build(config: &ServeConfig) -> anyhow_free::Result<(Engine, axum::Router)> {
    config.check()?;
    let mut store_config = StoreConfig::new(config.database_url.clone());
    store_config.synchronous_full = config.sqlite_synchronous_full;
    store_config.cache_entries = config.cache_entries;
    store_config.pg_connections = config.pg_connections;
    let store = open_store(&store_config).await?;
    let engine_config = EngineConfig {
        public_url: config.public_url(),
        max_attempts: config.delivery_max_attempts,
        backoff_base_ms: config.delivery_backoff_ms,
        delivery_timeout_ms: config.delivery_timeout_ms,
        poll_interval_ms: config.poll_interval_ms,
        lease_ms: config.job_lease_ms,
        callbacks: config.callback_policy(),
        ..EngineConfig::default()
    };
    // One list: each API's routes and the handlers of its jobs.
    let (apis, jobs) = Registration::split(switchboard_fulfilment::all(
        config.activation()?,
        &config.api_settings()?,
    ));
    let engine = Engine::new(store, engine_config, apis, jobs)?;
    let router = if config.role.serves_apis() {
        routes::router(engine.clone(), config.max_body_bytes)?.0
    } else {
        routes::operations_router(engine.clone(), config.max_body_bytes)
    };
    Ok((engine, router))
}

/// Longest wait, once asked to stop, for the requests in flight; the job worker then
/// gets its own bounded wait for the jobs it runs (see `Engine::run_worker`).
const DRAIN: std::time::Duration = std::time::Duration::from_secs(30);

/// The routes an API-serving router over `engine` mounts: (method, path template), as
/// the router records them while mounting (for the test that holds them against the
/// OpenAPI documents).
pub fn mounted_routes(engine: &Engine) -> Result<Vec<(&'static str, String)>, String> {
    routes::router(engine.clone(), 0).map(|(_, routes)| routes)
}

/// Serves on `listener` until `shutdown` resolves, with the job worker beside it when
/// the role runs jobs; then finishes the requests in flight and the running jobs (each
/// within a bound) and returns.
pub async fn serve(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow_free::Result<()> {
    let (engine, router) = build(&config).await?;
    if config.demo {
        let loaded = demo::load(&engine).await?;
        tracing::info!(%loaded, "demo data in place");
        // Standard output, for the person who asked for the demo: what to run next.
        println!(
            "demo data: {loaded}\nTry it (in another terminal):\n\n{}",
            demo::commands(&config.public_url())
        );
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = config.role.runs_jobs().then(|| {
        let engine = engine.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            engine
                .run_worker(async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                })
                .await;
        })
    });
    tracing::info!(
        url = %config.public_url(),
        address = %listener.local_addr().map_err(|e| e.to_string())?,
        store = %engine.store().backend_name(),
        database = %redacted(&config.database_url),
        role = %config.role.name(),
        version = %env!("CARGO_PKG_VERSION"),
        "switchboard serving"
    );
    let (asked_tx, mut asked) = tokio::sync::watch::channel(false);
    let mut stop = stop_rx;
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        tokio::select! {
            _ = shutdown => {}
            _ = stop.wait_for(|stopped| *stopped) => {}
        }
        tracing::info!("stopping: finishing the requests in flight and the running jobs");
        let _ = asked_tx.send(true);
    });
    let served = tokio::select! {
        served = async { server.await } => served.map_err(|error| format!("server failed: {error}")),
        _ = async {
            if asked.wait_for(|asked| *asked).await.is_err() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(DRAIN).await;
        } => {
            tracing::warn!(seconds = DRAIN.as_secs(), "requests still in flight were cut off");
            Ok(())
        }
    };
    let _ = stop_tx.send(true);
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    tracing::info!("switchboard stopped");
    Ok(served?)
}

/// Opens the database, which creates or completes its tables and indexes, and says
/// what it found (`switchboard migrate`).
pub async fn migrate(config: &MigrateConfig) -> anyhow_free::Result<String> {
    let url = redacted(&config.database_url);
    let store = open_store(&StoreConfig::new(config.database_url.clone())).await?;
    let counts = store
        .snapshot()
        .await?
        .counts()
        .await
        .map_err(|error| format!("cannot read the database {url}: {error}"))?;
    Ok(format!(
        "{} database {url} is migrated: tables and indexes are in place \
         ({} documents, {} jobs)",
        store.backend_name(),
        counts.documents,
        counts.jobs
    ))
}

/// `url` with its password, if any, replaced by `***`, fit for messages and logs.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((credentials, host)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
        None => url.to_string(),
    }
}

/// Errors of start-up, as plain messages (no anyhow in library code).
pub mod anyhow_free {
    pub type Error = Box<dyn std::error::Error + Send + Sync>;
    pub type Result<T> = std::result::Result<T, Error>;
}
