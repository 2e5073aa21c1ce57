//! Logs (tracing, filtered by `RUST_LOG`, default `info`) and Prometheus metrics: request
//! counts and latencies per API, method and status.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process-wide recorder, installed on first use (several servers in one test
/// process share it).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    PROMETHEUS
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                .ok()?
                .install_recorder()
                .ok()
        })
        .as_ref()
}

/// The API a path belongs to ("TMF620"), or "other".
pub type ApiOfPath = std::sync::Arc<dyn Fn(&str) -> &'static str + Send + Sync>;

pub async fn record(
    axum::extract::State(api_of): axum::extract::State<ApiOfPath>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let api = api_of(request.uri().path());
    let method = request.method().as_str().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let seconds = started.elapsed().as_secs_f64();
    if prometheus().is_some() {
        metrics::counter!("switchboard_http_requests_total", "api" => api, "method" => method.clone(), "status" => status.clone()).increment(1);
        metrics::histogram!("switchboard_http_request_duration_seconds", "api" => api, "method" => method).record(seconds);
    }
    response
}
