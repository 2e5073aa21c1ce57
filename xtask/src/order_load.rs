//! `cargo xtask order-load`: the load of one `bench-orders` run, in a child process of
//! its own (pinned to core 1 by the parent). It subscribes to the TMF622 hub, posts
//! product orders (a closed loop of clients, or an open loop at a steady rate), hears
//! each order's end through the hub's events and prints the run's figures on one line.
//!
//! `ORDER_LOAD_TRACE=FILE` makes it write each completed order as
//! `started_ms latency_ms` (by start), to see when the slow ones happened.

use std::collections::HashMap;
use std::fs;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::Result;

const ORDERS: &str = "/tmf-api/productOrderingManagement/v4/productOrder";

/// Completion times by order id, filled by the event listener.
type Ends = Arc<Mutex<HashMap<String, (Instant, String)>>>;

/// `order-load BASE OFFERING:CUSTOMER MODE SECONDS`: the load of one run (on core 1). MODE is
/// `closed:CLIENTS` or `open:RATE`. Each order adds one product of the offering, with the
/// specification's default values, for the customer (an Organization; the demo's is
/// `demo-mobile:demo-acme`). Prints `ORDERS rate p50 p99 posted unfinished`.
pub fn order_load(args: &[String]) -> Result<()> {
    let [base, ordered, mode, seconds] = args else {
        return Err("order-load BASE OFFERING:CUSTOMER MODE SECONDS".into());
    };
    let (offering, customer) = ordered
        .split_once(':')
        .ok_or("order-load needs OFFERING:CUSTOMER")?;
    let seconds: u64 = seconds.parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let ends: Ends = Arc::new(Mutex::new(HashMap::new()));
        let notify = Arc::new(tokio::sync::Notify::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let callback = format!("http://{}/listener", listener.local_addr()?);
        let app = {
            let ends = ends.clone();
            let notify = notify.clone();
            axum::Router::new().fallback(move |body: axum::body::Bytes| {
                let ends = ends.clone();
                let notify = notify.clone();
                async move {
                    if let Ok(event) = serde_json::from_slice::<Value>(&body) {
                        let order = &event["event"]["productOrder"];
                        let state = order["state"].as_str().unwrap_or_default();
                        if ["completed", "failed", "partial", "rejected", "cancelled"]
                            .contains(&state)
                        {
                            if let Some(id) = order["id"].as_str() {
                                if let Ok(mut ends) = ends.lock() {
                                    ends.insert(
                                        id.to_string(),
                                        (Instant::now(), state.to_string()),
                                    );
                                }
                                notify.notify_waiters();
                            }
                        }
                    }
                    axum::http::StatusCode::CREATED
                }
            })
        };
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()?;
        let hub = client
            .post(format!("{base}/tmf-api/productOrderingManagement/v4/hub"))
            .json(&json!({"callback": callback, "query": "eventType=ProductOrderStateChangeEvent"}))
            .send()
            .await?
            .json::<Value>()
            .await?;
        let body = json!({
            "relatedParty": [{"id": customer, "role": "customer", "@referredType": "Organization"}],
            "productOrderItem": [{"id": "1", "action": "add", "productOffering": {"id": offering}}],
        });
        let started: Arc<Mutex<HashMap<String, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
        let post = {
            let client = client.clone();
            let base = base.clone();
            let started = started.clone();
            move || {
                let client = client.clone();
                let base = base.clone();
                let started = started.clone();
                let body = body.clone();
                async move {
                    let at = Instant::now();
                    let created = client
                        .post(format!("{base}{ORDERS}"))
                        .json(&body)
                        .send()
                        .await
                        .ok()?
                        .json::<Value>()
                        .await
                        .ok()?;
                    let id = created["id"].as_str()?.to_string();
                    started.lock().ok()?.insert(id.clone(), at);
                    Some(id)
                }
            }
        };
        let window = Duration::from_secs(seconds);
        let begin = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        if let Some(clients) = mode.strip_prefix("closed:") {
            for _ in 0..clients.parse::<usize>()? {
                let post = post.clone();
                let ends = ends.clone();
                let notify = notify.clone();
                tasks.spawn(async move {
                    while begin.elapsed() < window {
                        let Some(id) = post().await else { continue };
                        loop {
                            let waiting = notify.notified();
                            if ends
                                .lock()
                                .map(|ends| ends.contains_key(&id))
                                .unwrap_or(true)
                            {
                                break;
                            }
                            if tokio::time::timeout(Duration::from_secs(30), waiting)
                                .await
                                .is_err()
                            {
                                break;
                            }
                        }
                    }
                });
            }
        } else if let Some(rate) = mode.strip_prefix("open:") {
            let interval = Duration::from_secs_f64(1.0 / rate.parse::<f64>()?);
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            while begin.elapsed() < window {
                ticker.tick().await;
                let post = post.clone();
                tasks.spawn(async move {
                    post().await;
                });
            }
        } else {
            return Err(format!("unknown mode {mode}").into());
        }
        while tasks.join_next().await.is_some() {}
        // Orders still running end within 30 s or count as unfinished.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let started_ids: Vec<String> = started
                .lock()
                .map(|s| s.keys().cloned().collect())
                .unwrap_or_default();
            let open = {
                let ends = ends.lock().map_err(|_| "lock")?;
                started_ids
                    .iter()
                    .filter(|id| !ends.contains_key(*id))
                    .count()
            };
            if open == 0 || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if let Some(id) = hub["id"].as_str() {
            let _ = client
                .delete(format!(
                    "{base}/tmf-api/productOrderingManagement/v4/hub/{id}"
                ))
                .send()
                .await;
        }
        let started = started.lock().map_err(|_| "lock")?.clone();
        let ends = ends.lock().map_err(|_| "lock")?.clone();
        let mut latencies = Vec::new();
        let mut unfinished = 0u64;
        let mut last_end = begin;
        for (id, at) in &started {
            match ends.get(id) {
                Some((end, state)) if state == "completed" => {
                    latencies.push(end.duration_since(*at).as_secs_f64() * 1000.0);
                    last_end = last_end.max(*end);
                }
                _ => unfinished += 1,
            }
        }
        if let Ok(path) = std::env::var("ORDER_LOAD_TRACE") {
            // Each completed order as `started_ms latency_ms`, by start: where the slow
            // ones cluster in time.
            let mut trace: Vec<(f64, f64)> = started
                .iter()
                .filter_map(|(id, at)| {
                    let (end, _) = ends.get(id)?;
                    Some((
                        at.duration_since(begin).as_secs_f64() * 1000.0,
                        end.duration_since(*at).as_secs_f64() * 1000.0,
                    ))
                })
                .collect();
            trace.sort_by(|a, b| a.0.total_cmp(&b.0));
            let lines: String = trace
                .iter()
                .map(|(at, latency)| format!("{at:.1} {latency:.2}\n"))
                .collect();
            fs::write(path, lines)?;
        }
        latencies.sort_by(|a, b| a.total_cmp(b));
        let percentile = |p: f64| {
            if latencies.is_empty() {
                return 0.0;
            }
            let index =
                ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[index]
        };
        let elapsed = last_end.duration_since(begin).as_secs_f64().max(1e-9);
        println!(
            "ORDERS {:.1} {:.2} {:.2} {} {}",
            latencies.len() as f64 / elapsed,
            percentile(0.50),
            percentile(0.99),
            started.len(),
            unfinished
        );
        Ok::<(), crate::Error>(())
    })
}
