//! How a TMF621 trouble ticket ends: a ticket in a final status takes notes and nothing
//! else (409 naming the status), and a resolved ticket left without an answer is closed
//! by a durable job, which a reopen or a customer's close drops and a restart keeps.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::*;

const BASE: &str = "/tmf-api/troubleTicket/v4";
const TICKETS: &str = "/tmf-api/troubleTicket/v4/troubleTicket";
const MERGE: &str = "application/merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";

fn path(ticket: &Value) -> String {
    format!("{TICKETS}/{}", ticket["id"].as_str().unwrap())
}

async fn new_ticket(server: &TestServer) -> Value {
    let body = json!({"description": "no dial tone", "severity": "major", "ticketType": "incident",
        "note": [{"author": "customer", "text": "since this morning"}]});
    server.create(TICKETS, &body).await
}

async fn move_to(server: &TestServer, ticket: &Value, status: &str) -> Value {
    let reply = server
        .patch(&path(ticket), MERGE, &json!({ "status": status }))
        .await;
    assert_eq!(reply.status, 200, "to {status}: {}", reply.text);
    reply.body
}

async fn status_of(server: &TestServer, ticket: &Value) -> String {
    let reply = server.get(&path(ticket)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["status"].as_str().unwrap().to_string()
}

fn statuses(ticket: &Value) -> Vec<&str> {
    ticket["statusChange"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["status"].as_str().unwrap())
        .collect()
}

/// Waits (at most 15 s) until the ticket is closed, and answers it.
async fn closed(server: &TestServer, ticket: &Value) -> Value {
    let done = eventually(Duration::from_secs(15), || async {
        status_of(server, ticket).await == "closed"
    })
    .await;
    let now = server.get(&path(ticket)).await.body;
    assert!(done, "not closed: {now}");
    now
}

#[tokio::test]
async fn a_ticket_in_a_final_status_takes_notes_and_nothing_else() {
    let server = TestServer::start().await;
    for status in ["closed", "cancelled", "rejected"] {
        let ticket = new_ticket(&server).await;
        if status == "closed" {
            move_to(&server, &ticket, "resolved").await;
        }
        let ended = move_to(&server, &ticket, status).await;

        let refused = [
            (
                MERGE,
                json!({"description": "something else"}),
                "'description'",
            ),
            (MERGE, json!({"severity": "critical"}), "'severity'"),
            (MERGE, json!({"priority": "1"}), "'priority'"),
            (MERGE, json!({"note": []}), "notes cannot be changed"),
            (
                MERGE,
                json!({"note": [{"author": "customer", "text": "rewritten"}]}),
                "notes cannot be changed",
            ),
            (
                JSON_PATCH,
                json!([{"op": "replace", "path": "/note/0/text", "value": "rewritten"}]),
                "notes cannot be changed",
            ),
        ];
        for (content_type, body, names) in refused {
            let reply = server.patch(&path(&ticket), content_type, &body).await;
            reply.assert_error(409);
            let message = reply.body["message"].as_str().unwrap();
            assert!(
                message.contains(&format!("is {status}")) && message.contains(names),
                "{status} {body}: {message}"
            );
        }
        // The state machine refuses a way out, naming the final state.
        let reply = server
            .patch(&path(&ticket), MERGE, &json!({"status": "inProgress"}))
            .await;
        reply.assert_error(409);
        assert_eq!(server.get(&path(&ticket)).await.body, ended, "{status}");

        // Sending what it holds changes nothing.
        let reply = server
            .patch(&path(&ticket), MERGE, &json!({"status": status}))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.body, ended);

        // Notes are appended, by either patch.
        let mut notes = ended["note"].as_array().unwrap().clone();
        notes.push(json!({"author": "customer", "text": "thanks, works again"}));
        let reply = server
            .patch(&path(&ticket), MERGE, &json!({ "note": notes }))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let patch = json!([{"op": "add", "path": "/note/-",
            "value": {"author": "agent", "text": "root cause: line card"}}]);
        let reply = server.patch(&path(&ticket), JSON_PATCH, &patch).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let noted = reply.body;
        let texts: Vec<&str> = noted["note"]
            .as_array()
            .unwrap()
            .iter()
            .map(|note| note["text"].as_str().unwrap())
            .collect();
        assert_eq!(
            texts,
            [
                "since this morning",
                "thanks, works again",
                "root cause: line card"
            ]
        );
        assert_eq!(noted["status"], status);
        assert_eq!(noted["statusChange"], ended["statusChange"]);
        assert_eq!(noted["statusChangeDate"], ended["statusChangeDate"]);
        assert!(noted["lastUpdate"].as_str() >= ended["lastUpdate"].as_str());

        // Deleting a final ticket is as before.
        assert_eq!(server.delete(&path(&ticket)).await.status, 204);
        assert_eq!(server.get(&path(&ticket)).await.status, 404);
    }
}

#[tokio::test]
async fn a_resolved_ticket_left_without_an_answer_closes_by_itself() {
    let server = TestServer::start_with(|config| config.ticket_auto_close = "1s".into()).await;
    let listener = Listener::start(0).await;
    let reply = server
        .post(&format!("{BASE}/hub"), &json!({"callback": listener.url}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let ticket = new_ticket(&server).await;
    let resolved = move_to(&server, &ticket, "resolved").await;

    let now = closed(&server, &ticket).await;
    assert_eq!(statuses(&now), ["acknowledged", "resolved", "closed"]);
    let last = &now["statusChange"][2];
    assert_eq!(
        last["changeReason"],
        "closed automatically: resolved for 1s without an answer"
    );
    assert_eq!(last["changeDate"], now["statusChangeDate"]);
    assert_eq!(now["resolutionDate"], resolved["resolutionDate"]);
    assert!(now["statusChangeDate"].as_str() > resolved["resolutionDate"].as_str());

    let queue = server.queue().await;
    queue.wait_idle().await;
    assert!(queue.dead().await.is_empty());
    let events = listener.wait_for(3, Duration::from_secs(5)).await;
    let closing = events
        .iter()
        .find(|event| event["event"]["troubleTicket"]["status"] == "closed")
        .unwrap_or_else(|| panic!("no event of the close: {events:?}"));
    assert_eq!(closing["eventType"], "TroubleTicketStatusChangeEvent");
}

#[tokio::test]
async fn the_auto_close_is_queued_on_resolution_and_dropped_when_the_ticket_leaves_it() {
    let server = TestServer::start_with(|config| config.ticket_auto_close = "1h".into()).await;
    let queue = server.queue().await;
    let ticket = new_ticket(&server).await;
    queue.wait_idle().await;

    move_to(&server, &ticket, "resolved").await;
    assert_eq!(queue.pending().await, 1, "one auto-close waits");
    move_to(&server, &ticket, "inProgress").await;
    assert_eq!(queue.pending().await, 0, "a reopen drops it");
    move_to(&server, &ticket, "resolved").await;
    assert_eq!(
        queue.pending().await,
        1,
        "a new resolution queues a new one"
    );
    move_to(&server, &ticket, "closed").await;
    assert_eq!(queue.pending().await, 0, "the customer's close drops it");
}

#[tokio::test]
async fn a_reopened_ticket_is_not_closed() {
    let server = TestServer::start_with(|config| config.ticket_auto_close = "1s".into()).await;
    let reopened = new_ticket(&server).await;
    move_to(&server, &reopened, "resolved").await;
    move_to(&server, &reopened, "inProgress").await;
    // Resolved after the reopen, so its close falls due after the first one would have.
    let witness = new_ticket(&server).await;
    move_to(&server, &witness, "resolved").await;
    closed(&server, &witness).await;
    server.queue().await.wait_idle().await;

    let now = server.get(&path(&reopened)).await.body;
    assert_eq!(now["status"], "inProgress", "{now}");
    assert_eq!(statuses(&now), ["acknowledged", "resolved", "inProgress"]);
}

#[tokio::test]
async fn a_restart_between_resolution_and_delay_still_closes_once() {
    let server = TestServer::start_with(|config| config.ticket_auto_close = "3s".into()).await;
    let ticket = new_ticket(&server).await;
    move_to(&server, &ticket, "resolved").await;
    assert_eq!(status_of(&server, &ticket).await, "resolved");
    let server = server.restart().await;

    let now = closed(&server, &ticket).await;
    assert_eq!(statuses(&now), ["acknowledged", "resolved", "closed"]);
    let queue = server.queue().await;
    queue.wait_idle().await;
    assert!(queue.dead().await.is_empty());
    assert_eq!(server.get(&path(&ticket)).await.body, now);
}
