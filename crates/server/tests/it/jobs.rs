//! The durable job queue seen from outside: event deliveries retried, dead-lettered and
//! kept across a restart, and the TMF620 catalog export and import jobs.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::*;

const WITHIN: Duration = Duration::from_secs(5);

async fn subscribe(server: &TestServer, base: &str, callback: &str, query: &str) {
    let reply = server
        .post(
            &format!("{base}/hub"),
            &json!({"callback": callback, "query": query}),
        )
        .await;
    assert_eq!(reply.status, 201, "POST {base}/hub: {}", reply.text);
}

async fn create_individual(server: &TestServer) -> Value {
    server
        .create(
            &format!("{PARTY}/individual"),
            &json!({"givenName": "Ada", "familyName": "Lovelace"}),
        )
        .await
}

#[tokio::test]
async fn a_failed_delivery_is_retried_until_the_event_arrives_once() {
    let server = TestServer::start().await;
    let listener = Listener::start(3).await;
    subscribe(&server, PARTY, &listener.url, "").await;
    let created = create_individual(&server).await;

    let events = listener.wait_for(1, WITHIN).await;
    assert_eq!(events.len(), 1, "no delivery after 3 failures");
    // Once the queue is empty no further attempt can come: the count is final.
    let queue = server.queue().await;
    queue.wait_idle().await;
    assert_eq!(*listener.attempts.lock().unwrap(), 4);
    let events = listener.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["eventType"], "IndividualCreateEvent");
    assert_eq!(events[0]["event"]["individual"], created);
    assert!(queue.dead().await.is_empty());
}

#[tokio::test]
async fn a_long_poll_interval_delays_neither_deliveries_nor_retries() {
    // Polling is the fallback; a commit wakes the worker and a retry falls due on its
    // own clock. A wake-up lost between claim and sleep would stall for a minute here.
    let server = TestServer::start_with(|config| config.poll_interval_ms = 60_000).await;
    let listener = Listener::start(1).await;
    subscribe(&server, PARTY, &listener.url, "").await;
    for delivered in 1..=20 {
        create_individual(&server).await;
        let events = listener.wait_for(delivered, Duration::from_secs(2)).await;
        assert_eq!(events.len(), delivered, "event {delivered} not delivered");
    }
    server.queue().await.wait_idle().await;
    assert_eq!(*listener.attempts.lock().unwrap(), 21);
}

#[tokio::test]
async fn a_zero_poll_interval_still_retries_and_delivers() {
    let server = TestServer::start_with(|config| config.poll_interval_ms = 0).await;
    let listener = Listener::start(1).await;
    subscribe(&server, PARTY, &listener.url, "").await;
    let created = create_individual(&server).await;
    let events = listener.wait_for(1, WITHIN).await;
    assert_eq!(
        events.len(),
        1,
        "the worker stopped after the first failure"
    );
    assert_eq!(events[0]["event"]["individual"], created);
    assert_eq!(*listener.attempts.lock().unwrap(), 2);
}

#[tokio::test]
async fn a_delivery_that_keeps_failing_is_dead_lettered_after_max_attempts() {
    let server = TestServer::start_with(|config| config.delivery_max_attempts = 3).await;
    let failing = Listener::start(usize::MAX).await;
    let (_reserved, refusing) = refusing_callback();
    subscribe(&server, PARTY, &failing.url, "").await;
    subscribe(&server, PARTY, &refusing, "").await;
    let created = create_individual(&server).await;

    let queue = server.queue().await;
    let both_dead = eventually(WITHIN, || async { queue.dead().await.len() == 2 }).await;
    assert!(both_dead, "dead jobs: {:?}", queue.dead().await);
    // Dead jobs are never claimed again: nothing is left to run.
    assert_eq!(queue.pending().await, 0);
    assert_eq!(*failing.attempts.lock().unwrap(), 3);
    assert!(failing.events().is_empty());

    for dead in queue.dead().await {
        assert_eq!(dead.queue, "event.deliver");
        assert_eq!(dead.attempts, 3, "{dead:?}");
        let payload: Value = serde_json::from_str(&dead.payload).unwrap();
        assert_eq!(payload["event"]["eventType"], "IndividualCreateEvent");
        assert_eq!(payload["event"]["event"]["individual"], created);
        let callback = payload["callback"].as_str().unwrap();
        let error = dead.last_error.as_deref().unwrap_or_default();
        assert!(error.starts_with(&format!("POST {callback}")), "{error}");
        if callback == failing.url {
            assert!(
                error.ends_with("status 500 Internal Server Error"),
                "{error}"
            );
        } else {
            assert_eq!(callback, refusing);
            assert!(!error.contains("status"), "{error}");
        }
    }
}

#[tokio::test]
async fn an_event_queued_before_a_restart_is_delivered_after_it() {
    // The subscriber is down (503) for the whole life of the first server, so nothing
    // can be delivered before the restart.
    let hook = Hook::start(503).await;
    let mut server = TestServer::start().await;
    subscribe(&server, PARTY, &hook.url("/listener"), "").await;
    let created = create_individual(&server).await;
    let tried = eventually(WITHIN, || async { !hook.requests().is_empty() }).await;
    assert!(tried, "the first server never tried to deliver");

    server.stop().await;
    let queue = server.queue().await;
    assert_eq!(queue.pending().await, 1, "the delivery left the outbox");
    assert!(queue.dead().await.is_empty());
    let refused = hook.requests();
    assert!(refused.iter().all(|request| request.answered == 503));

    hook.answer(201);
    let server = server.restart().await;
    let delivered = eventually(WITHIN, || async { !hook.delivered().is_empty() }).await;
    assert!(delivered, "requests after restart: {:?}", hook.requests());
    queue.wait_idle().await;
    let delivered = hook.delivered();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0].target, "/listener");
    assert_eq!(delivered[0].body["eventType"], "IndividualCreateEvent");
    assert_eq!(delivered[0].body["event"]["individual"], created);
    // The same event that was refused before the restart, not a new one.
    assert_eq!(delivered[0].body, refused[0].body);
    assert!(queue.dead().await.is_empty());
    drop(server);
}

/// A `file://` URL for `name` in the server's temp directory.
fn file_url(server: &TestServer, name: &str) -> String {
    format!("file://{}", server.dir.path().join(name).display())
}

/// Polls a job resource until it has finished, and returns it.
async fn finished_job(server: &TestServer, path: &str) -> Value {
    let deadline = Instant::now() + WITHIN;
    loop {
        let reply = server.get(path).await;
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.text);
        let status = reply.body["status"].as_str().unwrap_or_default();
        if matches!(status, "Succeeded" | "Failed") {
            return reply.body;
        }
        assert!(
            Instant::now() < deadline,
            "job still '{status}' after {WITHIN:?}: {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates a job, asserts how it starts, and returns its path.
async fn start_job(server: &TestServer, collection: &str, url: &str) -> String {
    let path = format!("{CATALOG}/{collection}");
    let reply = server.post(&path, &json!({"url": url})).await;
    assert_eq!(reply.status, 201, "POST {path}: {}", reply.text);
    let job = &reply.body;
    assert_eq!(job["status"], "Not Started", "{job}");
    assert_eq!(job["url"], url);
    assert!(job["creationDate"].is_string(), "{job}");
    assert!(job.get("completionDate").is_none(), "{job}");
    format!("{path}/{}", job["id"].as_str().unwrap())
}

#[tokio::test]
async fn catalog_export_then_import_restores_a_deleted_offering() {
    let server = TestServer::start().await;
    let listener = Listener::start(0).await;
    subscribe(
        &server,
        CATALOG,
        &listener.url,
        "eventType=ExportJobStateChangeEvent",
    )
    .await;
    let offerings = format!("{CATALOG}/productOffering");
    let first = server
        .create(&offerings, &json!({"name": "Fiber 1G", "isSellable": true}))
        .await;
    let second = server
        .create(
            &offerings,
            &json!({"name": "Fiber 2G", "lifecycleStatus": "In design"}),
        )
        .await;
    let category = server
        .create(&format!("{CATALOG}/category"), &json!({"name": "Internet"}))
        .await;
    let first_path = format!("{offerings}/{}", first["id"].as_str().unwrap());
    let second_path = format!("{offerings}/{}", second["id"].as_str().unwrap());

    let url = file_url(&server, "export.json");
    let export = start_job(&server, "exportJob", &url).await;
    let done = finished_job(&server, &export).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    assert!(done["completionDate"].is_string(), "{done}");
    assert!(done.get("errorLog").is_none(), "{done}");
    assert!(done["completionDate"].as_str() >= done["creationDate"].as_str());

    let file = std::fs::read(server.dir.path().join("export.json")).unwrap();
    let exported: Value = serde_json::from_slice(&file).unwrap();
    let mut keys: Vec<&String> = exported.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "catalog",
            "category",
            "productOffering",
            "productOfferingPrice",
            "productSpecification"
        ]
    );
    assert_eq!(exported["productOffering"], json!([first, second]));
    assert_eq!(exported["category"], json!([category]));
    assert_eq!(exported["catalog"], json!([]));
    assert!(!server.dir.path().join("export.partial").exists());

    // The job's completion is announced once, with the finished job.
    let events = listener.wait_for(1, WITHIN).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"]["exportJob"], done);

    let deleted = server.delete(&first_path).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    server.get(&first_path).await.assert_error(404);

    let import = start_job(&server, "importJob", &url).await;
    let done = finished_job(&server, &import).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    assert!(done["completionDate"].is_string(), "{done}");
    assert!(done.get("errorLog").is_none(), "{done}");

    let restored = server.get(&first_path).await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    assert_eq!(restored.body, first);
    let kept = server.get(&second_path).await;
    assert_eq!(kept.status, 200, "{}", kept.text);
    assert_eq!(kept.body, second);
    let listed = server.get(&offerings).await;
    assert_eq!(listed.header("x-total-count"), Some("2"));
}

#[tokio::test]
async fn a_job_url_that_is_not_a_local_file_is_refused() {
    let server = TestServer::start().await;
    for collection in ["exportJob", "importJob"] {
        let path = format!("{CATALOG}/{collection}");
        for body in [
            json!({"url": "http://files.example/export.json"}),
            json!({"url": "not a url"}),
            json!({"path": "/tmp/export.json"}),
        ] {
            let reply = server.post(&path, &body).await;
            reply.assert_error(400);
            assert_eq!(
                reply.body["reason"], "Invalid body",
                "{body}: {}",
                reply.text
            );
        }
        // Nothing was created, so nothing will run.
        let listed = server.get(&path).await;
        assert_eq!(listed.status, 200, "{}", listed.text);
        assert_eq!(listed.body, json!([]));
    }
    assert_eq!(server.queue().await.pending().await, 0);
}

#[tokio::test]
async fn an_import_of_a_missing_file_fails_with_an_error_log() {
    let server = TestServer::start().await;
    let import = start_job(&server, "importJob", &file_url(&server, "missing.json")).await;
    let done = finished_job(&server, &import).await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert!(done["completionDate"].is_string(), "{done}");
    let log = done["errorLog"].as_str().unwrap();
    assert!(log.starts_with("cannot read "), "{log}");
    assert!(log.contains("missing.json"), "{log}");
    // The failure is the job's outcome, not a job-queue failure.
    let queue = server.queue().await;
    queue.wait_idle().await;
    assert!(queue.dead().await.is_empty());
}

#[tokio::test]
async fn an_import_with_a_bad_collection_fails_and_stores_nothing() {
    let server = TestServer::start().await;
    let path = server.dir.path().join("bad.json");
    let data = json!({
        "productOffering": [{"id": "po-1", "name": "Fiber 1G", "lifecycleStatus": "In study"}],
        "unknownThing": [],
    });
    std::fs::write(&path, data.to_string()).unwrap();
    let import = start_job(&server, "importJob", &file_url(&server, "bad.json")).await;
    let done = finished_job(&server, &import).await;
    assert_eq!(done["status"], "Failed", "{done}");
    let log = done["errorLog"].as_str().unwrap();
    assert!(log.contains("unknown collection 'unknownThing'"), "{log}");
    // All or nothing: the valid offering before the bad collection is not kept.
    server
        .get(&format!("{CATALOG}/productOffering/po-1"))
        .await
        .assert_error(404);
}
