//! Several server processes on one PostgreSQL database (issue 3, scale-out): any process
//! serves any request and sees every other's writes at once; each hub event is
//! delivered once, and each job run once, whichever processes' workers compete for them.
//! PostgreSQL only: an SQLite file belongs to one process.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::process::{ProcessConfig, ServerProcess};
use crate::support::*;

const PROCESSES: usize = 3;
/// Requests in flight at once while loading the cluster.
const CLIENTS: usize = 9;
const WITHIN: Duration = Duration::from_secs(20);

/// A fresh schema of the PostgreSQL server for one cluster test.
fn cluster_database(dir: &tempfile::TempDir) -> String {
    postgres_url();
    database_url(dir)
}

/// Cluster tests run one at a time: three processes, each with its pool of connections,
/// are what a PostgreSQL server's default `max_connections` (100) fits a few times only.
pub static ONE_CLUSTER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Three processes on one database, started together (their migrations race).
async fn cluster(database_url: &str) -> Arc<Vec<ServerProcess>> {
    let config = ProcessConfig::default();
    let (a, b, c) = tokio::join!(
        ServerProcess::start(database_url, config.clone()),
        ServerProcess::start(database_url, config.clone()),
        ServerProcess::start(database_url, config),
    );
    Arc::new(vec![a, b, c])
}

/// Sends `count` requests, request `index` through process `index % 3`, `CLIENTS` at a
/// time, and asserts each got `expected`; returns the bodies in index order.
async fn spread(
    processes: &Arc<Vec<ServerProcess>>,
    count: usize,
    expected: u16,
    request: impl Fn(usize) -> (Method, String, Value) + Send + Sync + 'static,
) -> Vec<Value> {
    let request = Arc::new(request);
    let mut clients = JoinSet::new();
    for client in 0..CLIENTS {
        let processes = processes.clone();
        let request = request.clone();
        clients.spawn(async move {
            let mut bodies = Vec::new();
            for index in (client..count).step_by(CLIENTS) {
                let process = &processes[index % PROCESSES];
                let (method, path, body) = request(index);
                let reply = process
                    .try_send(method.clone(), &path, Some(&body))
                    .await
                    .unwrap_or_else(|error| panic!("{method} {path} on {}: {error}", process.base));
                assert_eq!(
                    reply.status.as_u16(),
                    expected,
                    "{method} {path} on {}: {}",
                    process.base,
                    reply.text
                );
                bodies.push((index, reply.body));
            }
            bodies
        });
    }
    let mut bodies: Vec<(usize, Value)> = clients.join_all().await.into_iter().flatten().collect();
    bodies.sort_by_key(|(index, _)| *index);
    bodies.into_iter().map(|(_, body)| body).collect()
}

/// Registers a hub subscription through `process`.
async fn subscribe(process: &ServerProcess, base: &str, callback: &str, query: &str) {
    let reply = process
        .post(
            &format!("{base}/hub"),
            &json!({"callback": callback, "query": query}),
        )
        .await;
    assert_eq!(reply.status, 201, "POST {base}/hub: {}", reply.text);
}

/// Waits until no job is left (done or dead) in the cluster's database.
async fn wait_idle(queue: &Queue, within: Duration) {
    let idle = eventually(within, || async { queue.pending().await == 0 }).await;
    assert!(
        idle,
        "{} jobs still pending after {within:?}",
        queue.pending().await
    );
}

/// How many jobs of `queue` each process ran to completion (its Prometheus counter
/// `switchboard_jobs_total`): a second run that a handler's idempotence would make
/// harmless, and so invisible from outside, still counts here.
async fn completed_runs(processes: &[ServerProcess], queue: &str) -> Vec<u64> {
    let queue = format!("queue=\"{queue}\"");
    let mut per_process = Vec::new();
    for process in processes {
        let done = ["outcome=\"done\"", queue.as_str()];
        per_process.push(process.counter("switchboard_jobs_total", &done).await);
    }
    per_process
}

fn id_of(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set SWITCHBOARD_TEST_DATABASE_URL"]
async fn resources_created_through_each_process_are_visible_through_every_other() {
    let dir = tempfile::tempdir().unwrap();
    let url = cluster_database(&dir);
    let _alone = ONE_CLUSTER.lock().await;
    let processes = cluster(&url).await;
    let offerings = format!("{CATALOG}/productOffering");
    let marker = uuid::Uuid::new_v4().simple().to_string();

    let mut created = Vec::new();
    for (index, process) in processes.iter().enumerate() {
        for copy in 0..2 {
            let body = json!({"name": format!("Fiber {index}-{copy}"), "description": marker});
            created.push(process.create(&offerings, &body).await);
        }
        let individual = json!({"givenName": format!("Ada {index}"), "familyName": marker});
        created.push(
            process
                .create(&format!("{PARTY}/individual"), &individual)
                .await,
        );
    }

    for resource in &created {
        let collection = if resource["@type"] == "Individual" {
            format!("{PARTY}/individual")
        } else {
            offerings.clone()
        };
        for process in processes.iter() {
            let read = process
                .get(&format!("{collection}/{}", id_of(resource)))
                .await;
            assert_eq!(
                read.status, 200,
                "{} on {}: {}",
                resource, process.base, read.text
            );
            assert_eq!(read.body, *resource, "read through {}", process.base);
        }
    }

    let expected: Vec<&Value> = created
        .iter()
        .filter(|resource| resource["@type"] == "ProductOffering")
        .collect();
    for process in processes.iter() {
        let listed = process
            .get(&format!("{offerings}?description={marker}"))
            .await;
        assert_eq!(listed.status, 200, "{}", listed.text);
        assert_eq!(
            listed.header("x-total-count"),
            Some("6"),
            "{}",
            process.base
        );
        // Creation order, whichever process created them.
        let listed: Vec<&Value> = listed.body.as_array().unwrap().iter().collect();
        assert_eq!(listed, expected, "list through {}", process.base);

        let named = process
            .get(&format!("{offerings}?name=Fiber 2-1&description={marker}"))
            .await;
        assert_eq!(named.body, json!([expected[5]]), "{}", process.base);
        let people = process
            .get(&format!(
                "{PARTY}/individual?familyName={marker}&fields=givenName"
            ))
            .await;
        let names: Vec<&str> = people
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|person| person["givenName"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Ada 0", "Ada 1", "Ada 2"], "{}", process.base);
    }

    // A change through one process is what every other serves next: no process keeps
    // a stale copy.
    let target = format!("{offerings}/{}", id_of(expected[4]));
    let patched = processes[0]
        .patch(&target, &json!({"name": "Fiber renamed"}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    for process in processes.iter() {
        let read = process.get(&target).await;
        assert_eq!(read.body, patched.body, "{}", process.base);
        assert_eq!(read.header("etag"), Some("W/\"2\""), "{}", process.base);
        let renamed = process
            .get(&format!(
                "{offerings}?name=Fiber renamed&description={marker}"
            ))
            .await;
        assert_eq!(renamed.body, json!([patched.body]), "{}", process.base);
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set SWITCHBOARD_TEST_DATABASE_URL"]
async fn events_of_a_thousand_changes_over_three_processes_are_each_delivered_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = cluster_database(&dir);
    let _alone = ONE_CLUSTER.lock().await;
    let started = Instant::now();
    let processes = cluster(&url).await;
    let hook = Hook::start(201).await;
    subscribe(&processes[0], CATALOG, &hook.url("/listener"), "").await;
    let offerings = format!("{CATALOG}/productOffering");

    // 500 creates, then 500 changes, each through another process than the create.
    let created = {
        let offerings = offerings.clone();
        spread(&processes, 500, 201, move |index| {
            let body = json!({"name": format!("Offering {index}")});
            (Method::POST, offerings.clone(), body)
        })
        .await
    };
    let ids: Vec<String> = created.iter().map(|body| id_of(body).to_string()).collect();
    {
        let offerings = offerings.clone();
        let ids = ids.clone();
        spread(&processes, 500, 200, move |index| {
            let path = format!("{offerings}/{}", ids[(index + 1) % 500]);
            (Method::PATCH, path, json!({"description": "changed"}))
        })
        .await;
    }

    let queue = Queue::open(&url).await;
    let arrived = eventually(WITHIN, || async {
        hook.requests().len() >= 1000 && queue.pending().await == 0
    })
    .await;
    let requests = hook.requests();
    assert!(
        arrived,
        "{} of 1000 events arrived, {} jobs pending",
        requests.len(),
        queue.pending().await
    );
    // The queue is empty: every delivery has been made, the counts are final.
    assert!(queue.dead().await.is_empty());
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for request in &requests {
        assert_eq!(request.answered, 201);
        *seen
            .entry(request.body["eventId"].as_str().unwrap())
            .or_default() += 1;
    }
    let duplicates: Vec<(&&str, &usize)> = seen.iter().filter(|(_, count)| **count > 1).collect();
    assert!(
        duplicates.is_empty(),
        "delivered more than once: {duplicates:?}"
    );
    assert_eq!(requests.len(), 1000);

    // Each change announced: one create and one change event per offering.
    let mut announced: HashMap<String, Vec<String>> = HashMap::new();
    for request in &requests {
        let offering = id_of(&request.body["event"]["productOffering"]).to_string();
        let event_type = request.body["eventType"].as_str().unwrap().to_string();
        announced.entry(offering).or_default().push(event_type);
    }
    assert_eq!(announced.len(), 500);
    for id in &ids {
        let mut types = announced[id].clone();
        types.sort();
        assert_eq!(
            types,
            [
                "ProductOfferingAttributeValueChangeEvent",
                "ProductOfferingCreateEvent"
            ],
            "{id}"
        );
    }

    // And each delivery job ran once in all: the workers' own counts add up to 1000.
    let runs = completed_runs(&processes, "event.deliver").await;
    assert_eq!(runs.iter().sum::<u64>(), 1000, "runs per process: {runs:?}");
    eprintln!(
        "1000 events delivered once, by {runs:?} deliveries per process, in {:?}",
        started.elapsed()
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set SWITCHBOARD_TEST_DATABASE_URL"]
async fn export_jobs_created_through_three_processes_each_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = cluster_database(&dir);
    let _alone = ONE_CLUSTER.lock().await;
    let processes = cluster(&url).await;
    let hook = Hook::start(201).await;
    subscribe(
        &processes[1],
        CATALOG,
        &hook.url("/listener"),
        "eventType=ExportJobStateChangeEvent",
    )
    .await;
    let offerings = format!("{CATALOG}/productOffering");
    let mut names = Vec::new();
    for (index, process) in processes.iter().enumerate() {
        let offering = process
            .create(&offerings, &json!({"name": format!("Fiber {index}")}))
            .await;
        names.push(offering["name"].clone());
    }

    const JOBS: usize = 30;
    let files: Vec<std::path::PathBuf> = (0..JOBS)
        .map(|index| dir.path().join(format!("export-{index}.json")))
        .collect();
    let jobs = {
        let files = files.clone();
        spread(&processes, JOBS, 201, move |index| {
            let url = format!("file://{}", files[index].display());
            (
                Method::POST,
                format!("{CATALOG}/exportJob"),
                json!({"url": url}),
            )
        })
        .await
    };

    let queue = Queue::open(&url).await;
    wait_idle(&queue, WITHIN).await;
    assert!(queue.dead().await.is_empty());
    for (index, job) in jobs.iter().enumerate() {
        let path = format!("{CATALOG}/exportJob/{}", id_of(job));
        let read = processes[(index + 2) % PROCESSES].get(&path).await;
        assert_eq!(read.body["status"], "Succeeded", "{}", read.text);
        // Created, then finished once: a second finish would be a third version.
        assert_eq!(read.header("etag"), Some("W/\"2\""), "{}", read.text);
        let exported: Value =
            serde_json::from_slice(&std::fs::read(&files[index]).unwrap()).unwrap();
        let exported: Vec<&Value> = exported["productOffering"]
            .as_array()
            .unwrap()
            .iter()
            .map(|offering| &offering["name"])
            .collect();
        assert_eq!(exported, names.iter().collect::<Vec<_>>());
        assert!(!files[index].with_extension("partial").exists());
    }

    // Each job announced its end once, and ran once across the three workers.
    let ended = eventually(WITHIN, || async { hook.requests().len() >= JOBS }).await;
    assert!(ended, "{} of {JOBS} job events", hook.requests().len());
    let announced: HashSet<String> = hook
        .requests()
        .iter()
        .map(|request| id_of(&request.body["event"]["exportJob"]).to_string())
        .collect();
    let expected: HashSet<String> = jobs.iter().map(|job| id_of(job).to_string()).collect();
    assert_eq!(announced, expected);
    let runs = completed_runs(&processes, "tmf620.exportJob").await;
    assert_eq!(
        runs.iter().sum::<u64>(),
        JOBS as u64,
        "runs per process: {runs:?}"
    );
    wait_idle(&queue, WITHIN).await;
    assert_eq!(hook.requests().len(), JOBS);
}
