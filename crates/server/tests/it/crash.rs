//! kill -9 (issue 3, crash safety of the outbox and the job queue), on SQLite and, when
//! `SWITCHBOARD_TEST_DATABASE_URL` is set, PostgreSQL: a server killed in a stream of
//! writes keeps every write it acknowledged and delivers each one's event after the
//! restart; work leased by a killed process is taken over once the lease expires (by
//! another process on PostgreSQL, by the restarted one on SQLite, whose file belongs to
//! one process at a time), and only then: a live process keeps the lease of work that
//! outlasts it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::process::{ProcessConfig, ServerProcess};
use crate::support::*;

const WITHIN: Duration = Duration::from_secs(10);

fn postgres() -> bool {
    std::env::var("SWITCHBOARD_TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty())
}

async fn subscribe(process: &ServerProcess, callback: &str, query: &str) {
    let reply = process
        .post(
            &format!("{CATALOG}/hub"),
            &json!({"callback": callback, "query": query}),
        )
        .await;
    assert_eq!(reply.status, 201, "POST hub: {}", reply.text);
}

#[tokio::test]
async fn a_server_killed_amid_writes_keeps_every_acknowledged_write_and_delivers_its_event() {
    const WRITERS: usize = 4;
    const KILL_AFTER: usize = 120;
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&dir);
    let config = ProcessConfig {
        job_lease_ms: 1500,
        ..ProcessConfig::default()
    };
    let mut server = ServerProcess::start(&url, config).await;
    let hook = Hook::start(201).await;
    subscribe(
        &server,
        &hook.url("/listener"),
        "eventType=ProductOfferingCreateEvent",
    )
    .await;

    // Writers stream creates until the server is gone; each keeps what got a 201.
    let offerings = format!("{CATALOG}/productOffering");
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let mut writers = JoinSet::new();
    for writer in 0..WRITERS {
        let client = server.client.clone();
        let target = server.url(&offerings);
        let acknowledged = acknowledged.clone();
        writers.spawn(async move {
            let mut kept = Vec::new();
            let deadline = Instant::now() + WITHIN;
            for sequence in 0.. {
                if Instant::now() >= deadline {
                    panic!("the server was not killed within {WITHIN:?}");
                }
                let name = format!("Crash {writer}-{sequence}");
                let sent = client
                    .post(&target)
                    .json(&json!({"name": name}))
                    .send()
                    .await;
                let Ok(response) = sent else {
                    break;
                };
                // Only a 201 acknowledges; anything else promised nothing.
                if response.status() != 201 {
                    continue;
                }
                let Ok(body) = response.json::<Value>().await else {
                    break;
                };
                kept.push(body);
                acknowledged.fetch_add(1, Ordering::SeqCst);
            }
            kept
        });
    }
    let streaming = eventually(WITHIN, || async {
        acknowledged.load(Ordering::SeqCst) >= KILL_AFTER
    })
    .await;
    assert!(streaming, "only {acknowledged:?} writes acknowledged");
    server.kill();
    let kept: Vec<Value> = writers.join_all().await.into_iter().flatten().collect();
    assert!(kept.len() >= KILL_AFTER);

    server.restart().await;
    for offering in &kept {
        let id = offering["id"].as_str().unwrap();
        let read = server.get(&format!("{offerings}/{id}")).await;
        assert_eq!(read.status, 200, "acknowledged {id} lost: {}", read.text);
        assert_eq!(read.body, *offering);
    }
    let listed = server.get(&format!("{offerings}?limit=1")).await;
    let total: usize = listed.header("x-total-count").unwrap().parse().unwrap();
    assert!(
        total >= kept.len(),
        "{total} listed, {} acknowledged",
        kept.len()
    );

    // Every acknowledged write's event arrives; one delivered just before the kill may
    // arrive again, one unacknowledged write's may arrive too.
    let expected: HashSet<&str> = kept
        .iter()
        .map(|offering| offering["id"].as_str().unwrap())
        .collect();
    let missing = || {
        let delivered: HashSet<String> = hook
            .delivered()
            .iter()
            .map(|request| {
                request.body["event"]["productOffering"]["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        expected
            .iter()
            .filter(|id| !delivered.contains(**id))
            .count()
    };
    let all = eventually(WITHIN, || async { missing() == 0 }).await;
    assert!(
        all,
        "{} of {} acknowledged writes' events missing",
        missing(),
        kept.len()
    );
    let queue = Queue::open(&url).await;
    queue.wait_idle().await;
    assert!(queue.dead().await.is_empty());
    let delivered = hook.delivered();
    for request in &delivered {
        assert_eq!(request.body["eventType"], "ProductOfferingCreateEvent");
    }
    eprintln!(
        "{} writes acknowledged before the kill, {total} stored, {} events delivered",
        kept.len(),
        delivered.len()
    );
}

/// One callback request as a `StallingHook` saw it.
#[derive(Debug, Clone)]
struct Arrival {
    at: Instant,
    body: Value,
    /// The first request, kept waiting.
    stalled: bool,
}

/// A subscriber that keeps its first request waiting for `stall` (the worker delivering
/// it holds the job's lease meanwhile) and answers 201 to it then, and to every later
/// one at once.
struct StallingHook {
    url: String,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl StallingHook {
    async fn start(stall: Duration) -> StallingHook {
        let arrivals: Arc<Mutex<Vec<Arrival>>> = Arc::new(Mutex::new(Vec::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = {
            let arrivals = arrivals.clone();
            axum::Router::new().fallback(move |body: axum::body::Bytes| {
                let arrivals = arrivals.clone();
                async move {
                    let first = {
                        let mut arrivals = arrivals.lock().unwrap();
                        let first = arrivals.is_empty();
                        arrivals.push(Arrival {
                            at: Instant::now(),
                            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                            stalled: first,
                        });
                        first
                    };
                    if first {
                        tokio::time::sleep(stall).await;
                    }
                    axum::http::StatusCode::CREATED
                }
            })
        };
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StallingHook {
            url: format!("http://{address}/listener"),
            arrivals,
            _task: task,
        }
    }

    fn arrivals(&self) -> Vec<Arrival> {
        self.arrivals.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn work_leased_by_a_killed_process_is_taken_over_when_the_lease_expires() {
    const LEASE: Duration = Duration::from_millis(2000);
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&dir);
    let config = ProcessConfig {
        job_lease_ms: LEASE.as_millis() as i64,
        // The stalled delivery must not time out on its own before the kill.
        delivery_timeout_ms: 60_000,
        ..ProcessConfig::default()
    };
    let mut holder = ServerProcess::start(&url, config.clone()).await;
    // Stalled for good: only the holder's death ends the attempt.
    let hook = StallingHook::start(Duration::from_secs(3600)).await;
    subscribe(&holder, &hook.url, "eventType=ProductOfferingCreateEvent").await;
    let offering = holder
        .create(
            &format!("{CATALOG}/productOffering"),
            &json!({"name": "Leased"}),
        )
        .await;

    // The holder's worker claimed the delivery (under the lease) and is stuck in it.
    let claimed = eventually(WITHIN, || async { !hook.arrivals().is_empty() }).await;
    assert!(claimed, "the delivery was never attempted");
    let stalled_at = hook.arrivals()[0].at;

    // PostgreSQL: a second process is up while the first holds the lease; SQLite: the
    // same file is opened again after the kill (never by two processes at once).
    let other = if postgres() {
        Some(ServerProcess::start(&url, config.clone()).await)
    } else {
        None
    };
    // However long that start took, the live holder kept renewing its lease.
    assert_eq!(hook.arrivals().len(), 1, "taken over from a live holder");
    holder.kill();
    let killed_at = Instant::now();
    let taker = match other {
        Some(other) => other,
        None => {
            holder.restart().await;
            holder
        }
    };

    let taken = eventually(WITHIN, || async { hook.arrivals().len() >= 2 }).await;
    assert!(
        taken,
        "nobody took the delivery over: {:?}",
        hook.arrivals()
    );
    let queue = Queue::open(&url).await;
    queue.wait_idle().await;
    assert!(queue.dead().await.is_empty());
    let arrivals = hook.arrivals();
    assert_eq!(arrivals.len(), 2, "{arrivals:?}");
    let (stalled, retaken) = (&arrivals[0], &arrivals[1]);
    assert!(stalled.stalled && !retaken.stalled);
    assert_eq!(retaken.body, stalled.body, "not the same event");
    assert_eq!(retaken.body["event"]["productOffering"], offering);
    // Only after the holder died, and not before its lease ran out (the claim, or the
    // last renewal, came a moment before the first arrival, or the kill).
    assert!(retaken.at > killed_at, "taken over before the holder died");
    let waited = retaken.at - stalled_at;
    assert!(
        waited + Duration::from_millis(300) >= LEASE,
        "taken over after {waited:?}, lease {LEASE:?}"
    );
    eprintln!(
        "lease of {LEASE:?} taken over {:?} after the kill, {waited:?} after the claim, by {}",
        retaken.at - killed_at,
        if postgres() {
            "another process"
        } else {
            "the restarted process"
        }
    );
    drop(taker);
}

#[tokio::test]
async fn work_outlasting_its_lease_in_a_live_process_is_not_taken_over() {
    // The counterpart of the takeover: a lease expires when its holder dies, not while
    // the holder is still at work (a slow subscriber, a long export).
    const LEASE: Duration = Duration::from_millis(1000);
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&dir);
    let config = ProcessConfig {
        job_lease_ms: LEASE.as_millis() as i64,
        delivery_timeout_ms: 60_000,
        ..ProcessConfig::default()
    };
    let server = ServerProcess::start(&url, config.clone()).await;
    // PostgreSQL: a second worker, idle, that would take over an expired lease.
    let _other = if postgres() {
        Some(ServerProcess::start(&url, config).await)
    } else {
        None
    };
    let hook = StallingHook::start(LEASE * 3).await;
    subscribe(&server, &hook.url, "eventType=ProductOfferingCreateEvent").await;
    server
        .create(
            &format!("{CATALOG}/productOffering"),
            &json!({"name": "Slow"}),
        )
        .await;

    let queue = Queue::open(&url).await;
    let delivered = eventually(WITHIN, || async {
        !hook.arrivals().is_empty() && queue.pending().await == 0
    })
    .await;
    assert!(delivered, "arrivals: {:?}", hook.arrivals());
    // The job has left the queue: no attempt can follow, the count is final.
    let arrivals = hook.arrivals();
    assert_eq!(
        arrivals.len(),
        1,
        "delivered again while the first attempt ran: {arrivals:?}"
    );
    assert!(queue.dead().await.is_empty());
}
