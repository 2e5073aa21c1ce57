//! Logs (tracing to standard error, filtered by `RUST_LOG`, default `info`; text or JSON;
//! a line per request) and Prometheus metrics: request counts and latencies per API,
//! method and status.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;

use crate::config::LogFormat;

/// Logs to standard error, filtered by `RUST_LOG` (default `info`): text lines, coloured
/// only when standard error is a terminal (a file or a pipe gets no escape codes), or
/// one JSON object per line.
pub fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // PostgreSQL's notices ("relation … already exists, skipping" at every start)
        // are no news.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx::postgres::notice=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_span_list(false)
            .try_init(),
    };
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

/// Per request: a request id (the client's `x-request-id`, or a new one) in a tracing
/// span around the handler and on the response, so a logged fault can be matched to
/// the answer the client got; then one log line (method, path, status, latency, request
/// id) and the request's count and latency.
pub async fn record(
    axum::extract::State(api_of): axum::extract::State<ApiOfPath>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let api = api_of(request.uri().path());
    let method = request.method().as_str().to_string();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty() && value.len() <= 128)
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let path = request.uri().path().to_string();
    let span = tracing::info_span!("request", id = %request_id, %method, %path);
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16().to_string();
    if let Ok(value) = axum::http::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    let seconds = started.elapsed().as_secs_f64();
    // Outside the span, which would repeat method and path; its own target lets
    // `RUST_LOG=…,switchboard::request=warn` silence these lines alone.
    tracing::info!(
        target: "switchboard::request",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_ms = (seconds * 1_000_000.0).round() / 1000.0,
        request_id = %request_id,
        "answered"
    );
    if prometheus().is_some() {
        metrics::counter!("switchboard_http_requests_total", "api" => api, "method" => method.clone(), "status" => status.clone()).increment(1);
        metrics::histogram!("switchboard_http_request_duration_seconds", "api" => api, "method" => method, "status" => status).record(seconds);
    }
    response
}
