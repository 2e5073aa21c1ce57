//! PATCH over HTTP: merge patch (RFC 7396) and JSON Patch (RFC 6902), server-owned
//! attributes, validation of the result, optimistic concurrency and state transitions.

use reqwest::Method;
use serde_json::{json, Value};

use crate::query::wait_for_clock_past;
use crate::support::*;

const MERGE: &str = "application/merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";

/// A stored offering with nested objects and arrays to patch.
async fn offering(server: &TestServer) -> (String, Value) {
    let created = server
        .create(
            &format!("{CATALOG}/productOffering"),
            &json!({
                "name": "Fiber",
                "description": "fast",
                "validFor": {"startDateTime": "2024-01-01T00:00:00Z", "endDateTime": "2025-01-01T00:00:00Z"},
                "category": [{"id": "c1"}, {"id": "c2"}],
            }),
        )
        .await;
    let path = format!(
        "{CATALOG}/productOffering/{}",
        created["id"].as_str().unwrap()
    );
    (path, created)
}

async fn patch_with(
    server: &TestServer,
    path: &str,
    content_type: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> Reply {
    server
        .send(
            Method::PATCH,
            path,
            Some(content_type),
            Some(body.to_string().into_bytes()),
            headers,
        )
        .await
}

/// Asserts the stored document and its version are still `expected` / `etag`.
async fn assert_unchanged(server: &TestServer, path: &str, expected: &Value, etag: &str) {
    let read = server.get(path).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(&read.body, expected);
    assert_eq!(read.header("etag"), Some(etag));
}

/// Asserts that a patch answered 200 and that a new read returns exactly what it sent.
async fn assert_stored(server: &TestServer, path: &str, reply: &Reply) {
    assert_eq!(reply.status, 200, "{}", reply.text);
    let read = server.get(path).await;
    assert_eq!(read.body, reply.body);
    assert_eq!(read.header("etag"), reply.header("etag"));
}

#[tokio::test]
async fn merge_patch_removes_merges_and_replaces() {
    for content_type in [MERGE, "application/json", "application/json; charset=utf-8"] {
        let server = TestServer::start().await;
        let (path, created) = offering(&server).await;
        let reply = server
            .patch(
                &path,
                content_type,
                &json!({
                    "description": null,
                    "validFor": {"endDateTime": "2026-01-01T00:00:00Z"},
                    "category": [{"id": "c3"}],
                    "isSellable": true,
                }),
            )
            .await;
        assert_stored(&server, &path, &reply).await;
        let doc = &reply.body;
        assert!(doc.get("description").is_none(), "{content_type}: {doc}");
        assert_eq!(
            doc["validFor"],
            json!({"startDateTime": "2024-01-01T00:00:00Z", "endDateTime": "2026-01-01T00:00:00Z"}),
            "{content_type}"
        );
        assert_eq!(doc["category"], json!([{"id": "c3"}]), "{content_type}");
        assert_eq!(doc["isSellable"], true);
        assert_eq!(doc["name"], created["name"]);
        assert_eq!(doc["id"], created["id"]);
        assert_eq!(doc["href"], created["href"]);
        assert_eq!(reply.header("etag"), Some("W/\"2\""));
    }
}

#[tokio::test]
async fn json_patch_applies_add_replace_remove_and_test() {
    let server = TestServer::start().await;
    let (path, created) = offering(&server).await;
    let reply = server
        .patch(
            &path,
            JSON_PATCH,
            &json!([
                {"op": "test", "path": "/name", "value": "Fiber"},
                {"op": "test", "path": "/id", "value": created["id"]},
                {"op": "add", "path": "/category/-", "value": {"id": "c4"}},
                {"op": "replace", "path": "/description", "value": "faster"},
                {"op": "remove", "path": "/validFor/endDateTime"},
                {"op": "add", "path": "/isBundle", "value": false},
            ]),
        )
        .await;
    assert_stored(&server, &path, &reply).await;
    let doc = &reply.body;
    assert_eq!(
        doc["category"],
        json!([{"id": "c1"}, {"id": "c2"}, {"id": "c4"}])
    );
    assert_eq!(doc["description"], "faster");
    assert_eq!(
        doc["validFor"],
        json!({"startDateTime": "2024-01-01T00:00:00Z"})
    );
    assert_eq!(doc["isBundle"], false);
    assert_eq!(reply.header("etag"), Some("W/\"2\""));
}

#[tokio::test]
async fn a_failing_json_patch_changes_nothing() {
    let server = TestServer::start().await;
    let (path, created) = offering(&server).await;
    let failing = [
        // The test comes last: the replace before it must be undone.
        json!([
            {"op": "replace", "path": "/name", "value": "Changed"},
            {"op": "test", "path": "/description", "value": "slow"},
        ]),
        json!([
            {"op": "add", "path": "/category/-", "value": {"id": "c9"}},
            {"op": "remove", "path": "/noSuchAttribute"},
        ]),
        json!([{"op": "add", "path": "/missing/deep", "value": 1}]),
        json!([{"op": "replace", "path": "/category/7", "value": {"id": "c9"}}]),
        json!([{"op": "frobnicate", "path": "/name", "value": "x"}]),
        json!({"op": "replace", "path": "/name", "value": "x"}),
        json!([{"op": "replace", "path": "", "value": ["not", "an", "object"]}]),
    ];
    for patch in &failing {
        let reply = server.patch(&path, JSON_PATCH, patch).await;
        reply.assert_error(400);
        assert_unchanged(&server, &path, &created, "W/\"1\"").await;
    }
}

#[tokio::test]
async fn server_owned_attributes_are_refused() {
    let server = TestServer::start().await;
    let (path, created) = offering(&server).await;
    let refused = [
        (MERGE, json!({"id": "another"})),
        (MERGE, json!({"id": null})),
        (MERGE, json!({"href": "http://elsewhere.example/x"})),
        (MERGE, json!({"lastUpdate": "2020-01-01T00:00:00Z"})),
        (MERGE, json!({"lastUpdate": null})),
        ("application/json", json!({"name": "ok", "id": "another"})),
        (
            JSON_PATCH,
            json!([{"op": "replace", "path": "/id", "value": "x"}]),
        ),
        (JSON_PATCH, json!([{"op": "remove", "path": "/href"}])),
        (
            JSON_PATCH,
            json!([{"op": "replace", "path": "/lastUpdate", "value": "2020-01-01T00:00:00Z"}]),
        ),
        (
            JSON_PATCH,
            json!([{"op": "move", "from": "/id", "path": "/formerId"}]),
        ),
        (
            JSON_PATCH,
            json!([{"op": "copy", "from": "/name", "path": "/id"}]),
        ),
    ];
    for (content_type, body) in &refused {
        let reply = server.patch(&path, content_type, body).await;
        reply.assert_error(400);
        assert!(
            reply.body["message"]
                .as_str()
                .unwrap()
                .contains("set by the server"),
            "{body}: {}",
            reply.text
        );
        assert_unchanged(&server, &path, &created, "W/\"1\"").await;
    }

    // Echoing the server's values unchanged is accepted (a client sending back what it
    // read): the documented choice in `apply_patch`.
    let echoed = server
        .patch(
            &path,
            MERGE,
            &json!({"id": created["id"], "href": created["href"],
                    "lastUpdate": created["lastUpdate"], "name": "Fiber 2"}),
        )
        .await;
    assert_stored(&server, &path, &echoed).await;
    assert_eq!(echoed.body["name"], "Fiber 2");
    assert_eq!(echoed.body["id"], created["id"]);
    assert_eq!(echoed.body["href"], created["href"]);
}

#[tokio::test]
async fn the_patched_document_is_validated_again() {
    let server = TestServer::start().await;
    let (path, created) = offering(&server).await;
    let invalid = [
        (MERGE, json!({"name": null})),
        (MERGE, json!({"name": 5})),
        (MERGE, json!({"isBundle": "yes"})),
        (MERGE, json!({"category": [{"name": "no id"}]})),
        (MERGE, json!({"lifecycleStatus": null})),
        (MERGE, json!(["not", "an", "object"])),
        (JSON_PATCH, json!([{"op": "remove", "path": "/name"}])),
        (
            JSON_PATCH,
            json!([{"op": "replace", "path": "/name", "value": 5}]),
        ),
        (
            JSON_PATCH,
            json!([{"op": "add", "path": "/validFor/startDateTime", "value": {"not": "a date"}}]),
        ),
    ];
    for (content_type, body) in &invalid {
        let reply = server.patch(&path, content_type, body).await;
        reply.assert_error(400);
        assert_unchanged(&server, &path, &created, "W/\"1\"").await;
    }
    let missing_name = server.patch(&path, MERGE, &json!({"name": null})).await;
    assert!(
        missing_name.body["message"]
            .as_str()
            .unwrap()
            .contains("name"),
        "{}",
        missing_name.text
    );
}

#[tokio::test]
async fn if_match_guards_against_lost_updates() {
    let server = TestServer::start().await;
    let (path, created) = offering(&server).await;
    let read = server.get(&path).await;
    assert_eq!(read.header("etag"), Some("W/\"1\""));

    let first = patch_with(
        &server,
        &path,
        MERGE,
        &json!({"description": "one"}),
        &[("if-match", "W/\"1\"")],
    )
    .await;
    assert_stored(&server, &path, &first).await;
    assert_eq!(first.header("etag"), Some("W/\"2\""));

    // A writer still holding version 1 is refused and changes nothing.
    let stale = patch_with(
        &server,
        &path,
        MERGE,
        &json!({"description": "lost"}),
        &[("if-match", "W/\"1\"")],
    )
    .await;
    stale.assert_error(412);
    assert_unchanged(&server, &path, &first.body, "W/\"2\"").await;

    let stale_delete = server
        .send(
            Method::DELETE,
            &path,
            None,
            None,
            &[("if-match", "W/\"1\"")],
        )
        .await;
    stale_delete.assert_error(412);
    assert_unchanged(&server, &path, &first.body, "W/\"2\"").await;

    // Any tag in a list may match; the strong spelling of the tag matches too.
    let listed = patch_with(
        &server,
        &path,
        MERGE,
        &json!({"description": "two"}),
        &[("if-match", "W/\"7\", \"2\"")],
    )
    .await;
    assert_stored(&server, &path, &listed).await;
    assert_eq!(listed.header("etag"), Some("W/\"3\""));

    let any = patch_with(
        &server,
        &path,
        JSON_PATCH,
        &json!([{"op": "replace", "path": "/description", "value": "three"}]),
        &[("if-match", "*")],
    )
    .await;
    assert_stored(&server, &path, &any).await;
    assert_eq!(any.header("etag"), Some("W/\"4\""));
    assert_eq!(any.body["description"], "three");
    assert_eq!(any.body["name"], created["name"]);
}

#[tokio::test]
async fn lifecycle_transitions_follow_the_state_machine() {
    let server = TestServer::start().await;
    let (path, created) = offering(&server).await;
    assert_eq!(created["lifecycleStatus"], "In study");

    let skipped = server
        .patch(&path, MERGE, &json!({"lifecycleStatus": "Launched"}))
        .await;
    skipped.assert_error(409);
    let message = skipped.body["message"].as_str().unwrap();
    assert!(
        message.contains("In design") && message.contains("Rejected"),
        "{message}"
    );
    assert_unchanged(&server, &path, &created, "W/\"1\"").await;

    let unknown = server
        .patch(&path, MERGE, &json!({"lifecycleStatus": "Bogus"}))
        .await;
    unknown.assert_error(400);
    assert_unchanged(&server, &path, &created, "W/\"1\"").await;

    let wrong_type = server
        .patch(
            &path,
            JSON_PATCH,
            &json!([{"op": "replace", "path": "/lifecycleStatus", "value": 3}]),
        )
        .await;
    wrong_type.assert_error(400);
    assert_unchanged(&server, &path, &created, "W/\"1\"").await;

    wait_for_clock_past(created["lastUpdate"].as_str().unwrap()).await;
    let designed = server
        .patch(&path, MERGE, &json!({"lifecycleStatus": "In design"}))
        .await;
    assert_stored(&server, &path, &designed).await;
    assert_eq!(designed.body["lifecycleStatus"], "In design");
    assert!(
        designed.body["lastUpdate"].as_str().unwrap() > created["lastUpdate"].as_str().unwrap(),
        "{} then {}",
        created["lastUpdate"],
        designed.body["lastUpdate"]
    );

    let back = server
        .patch(
            &path,
            JSON_PATCH,
            &json!([{"op": "replace", "path": "/lifecycleStatus", "value": "In study"}]),
        )
        .await;
    assert_stored(&server, &path, &back).await;
    assert_eq!(back.body["lifecycleStatus"], "In study");

    let rejected = server
        .patch(&path, MERGE, &json!({"lifecycleStatus": "Rejected"}))
        .await;
    assert_stored(&server, &path, &rejected).await;
    let terminal = server
        .patch(&path, MERGE, &json!({"lifecycleStatus": "In study"}))
        .await;
    terminal.assert_error(409);
    assert!(
        terminal.body["message"]
            .as_str()
            .unwrap()
            .contains("final state"),
        "{}",
        terminal.text
    );
}

#[tokio::test]
async fn a_no_op_patch_keeps_the_version() {
    let server = TestServer::start().await;
    let (path, created) = offering(&server).await;
    let same = server.patch(&path, MERGE, &json!({"name": "Fiber"})).await;
    assert_eq!(same.status, 200, "{}", same.text);
    assert_eq!(same.body, created);
    assert_eq!(same.header("etag"), Some("W/\"1\""));
    assert_unchanged(&server, &path, &created, "W/\"1\"").await;
}

#[tokio::test]
async fn jobs_cannot_be_patched() {
    let server = TestServer::start().await;
    let target = server.dir.path().join("export.json");
    let job = server
        .create(
            &format!("{CATALOG}/exportJob"),
            &json!({"url": format!("file://{}", target.display())}),
        )
        .await;
    for collection in ["exportJob", "importJob"] {
        let id = if collection == "exportJob" {
            job["id"].as_str().unwrap()
        } else {
            "no-such-job"
        };
        let path = format!("{CATALOG}/{collection}/{id}");
        for content_type in [MERGE, "application/json"] {
            let reply = server
                .patch(&path, content_type, &json!({"status": "Succeeded"}))
                .await;
            reply.assert_error(405);
        }
        let reply = server
            .patch(
                &path,
                JSON_PATCH,
                &json!([{"op": "replace", "path": "/status", "value": "Failed"}]),
            )
            .await;
        reply.assert_error(405);
    }
    let read = server
        .get(&format!(
            "{CATALOG}/exportJob/{}",
            job["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["id"], job["id"]);
    assert_eq!(read.body["url"], job["url"]);
}
