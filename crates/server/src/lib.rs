//! The `switchboard` server: configuration, the HTTP layer over the engine, metrics,
//! and the start-up that ties store, engine, APIs and workers together.
//!
//! Layout:
//! - `config`: the settings of `switchboard serve` (flags and environment);
//! - `routes`: the one place where every API's endpoints are mounted;
//! - `http`: handlers, content negotiation and the TMF error body;
//! - `telemetry`: logs and Prometheus metrics.

pub mod config;
mod http;
mod routes;
pub mod telemetry;

use std::future::Future;

use switchboard_engine::{Engine, EngineConfig};
use switchboard_store::{Store, StoreConfig};
use tokio::net::TcpListener;

pub use config::ServeConfig;

/// Opens the store, builds the engine over every API and returns it with the router.
pub async fn build(config: &ServeConfig) -> anyhow_free::Result<(Engine, axum::Router)> {
    let mut store_config = StoreConfig::new(config.database_url.clone());
    store_config.synchronous_full = config.sqlite_synchronous_full;
    store_config.cache_entries = config.cache_entries;
    let store = Store::open(&store_config)
        .await
        .map_err(|error| format!("cannot open the database {}: {error}", config.database_url))?;
    let engine_config = EngineConfig {
        public_url: config.public_url(),
        max_attempts: config.delivery_max_attempts,
        backoff_base_ms: config.delivery_backoff_ms,
        delivery_timeout_ms: config.delivery_timeout_ms,
        poll_interval_ms: config.poll_interval_ms,
        lease_ms: config.job_lease_ms,
        ..EngineConfig::default()
    };
    let engine = Engine::new(
        store,
        engine_config,
        switchboard_apis::all(),
        switchboard_apis::job_handlers(),
    )?;
    let router = routes::router(engine.clone(), config.max_body_bytes);
    Ok((engine, router))
}

/// Serves on `listener` until `shutdown` resolves, with the job worker beside it.
pub async fn serve(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow_free::Result<()> {
    let (engine, router) = build(&config).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = {
        let engine = engine.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            engine
                .run_worker(async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                })
                .await;
        })
    };
    tracing::info!(address = %listener.local_addr().map_err(|e| e.to_string())?, "switchboard serving");
    let mut stop = stop_rx;
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = shutdown => {}
                _ = stop.wait_for(|stopped| *stopped) => {}
            }
        })
        .await;
    let _ = stop_tx.send(true);
    let _ = worker.await;
    served.map_err(|error| format!("server failed: {error}").into())
}

/// Errors of start-up, as plain messages (no anyhow in library code).
pub mod anyhow_free {
    pub type Error = Box<dyn std::error::Error + Send + Sync>;
    pub type Result<T> = std::result::Result<T, Error>;
}
