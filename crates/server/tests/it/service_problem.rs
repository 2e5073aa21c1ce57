//! TMF656 Service Problem over HTTP: the status machine with its submitted state
//! (auto-acknowledge on and off), the acknowledgement and grouping tasks with their
//! side effects on the problems, the read-only event record the server writes itself,
//! the events a listener hears, and bad input refused with 400.

use std::time::Duration;

use serde_json::{json, Value};
use switchboard::ServeConfig;

use crate::support::*;

const BASE: &str = "/tmf-api/serviceProblemManagement/v4";
const WITHIN: Duration = Duration::from_secs(5);

fn path(collection: &str) -> String {
    format!("{BASE}/{collection}")
}

fn problem_path(id: &str) -> String {
    format!("{BASE}/serviceProblem/{id}")
}

/// A problem with every mandatory attribute, and `extra` on top.
fn problem(extra: Value) -> Value {
    let mut body = json!({
        "category": "serviceProvider.declarer",
        "description": "No sync on the access line",
        "priority": 3,
        "reason": "Line down",
        "originatorParty": {"id": "noc", "@referredType": "Organization"},
    });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    body
}

async fn create_problem(server: &TestServer, extra: Value) -> String {
    server
        .create_id(&path("serviceProblem"), &problem(extra))
        .await
}

async fn read(server: &TestServer, id: &str) -> Value {
    let reply = server.get(&problem_path(id)).await;
    assert_eq!(reply.status, 200, "GET {id}: {}", reply.text);
    reply.body
}

async fn set_status(server: &TestServer, id: &str, body: Value) -> Reply {
    server
        .patch(&problem_path(id), "application/merge-patch+json", &body)
        .await
}

fn ids(doc: &Value, attribute: &str) -> Vec<String> {
    doc[attribute]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|entry| entry["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn refs(ids: &[&str]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"id": id})).collect())
}

async fn unacknowledging() -> TestServer {
    TestServer::start_with(|config: &mut ServeConfig| config.problem_auto_acknowledge = false).await
}

#[tokio::test]
async fn problem_status_moves_as_its_machine_allows() {
    let server = TestServer::start().await;
    let id = create_problem(&server, json!({})).await;
    let created = read(&server, &id).await;
    // Auto-acknowledged by default, with the server's record of it.
    assert_eq!(created["status"], "acknowledged");
    assert_eq!(created["statusChangeDate"], created["creationDate"]);
    let records = created["trackingRecord"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{created}");
    assert_eq!(records[0]["description"], "ack");
    assert_eq!(records[0]["systemId"], "switchboard");

    // Not a move the machine knows: 409 naming what is allowed.
    let skipped = set_status(&server, &id, json!({"status": "pending"})).await;
    skipped.assert_error(409);
    assert!(skipped.text.contains("inProgress"), "{}", skipped.text);

    let moved = set_status(
        &server,
        &id,
        json!({"status": "inProgress", "statusChangeReason": "Engineer assigned"}),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["status"], "inProgress");
    assert_eq!(moved.body["statusChangeReason"], "Engineer assigned");
    assert_ne!(moved.body["statusChangeDate"], created["statusChangeDate"]);

    // A change that gives no reason drops the earlier one.
    let pending = set_status(&server, &id, json!({"status": "pending"})).await;
    assert_eq!(pending.status, 200, "{}", pending.text);
    assert!(pending.body.get("statusChangeReason").is_none());

    let resolved = set_status(&server, &id, json!({"status": "resolved"})).await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    assert_eq!(
        resolved.body["resolutionDate"],
        resolved.body["statusChangeDate"]
    );

    // It recurs: no longer resolved, so no resolution date.
    let reopened = set_status(&server, &id, json!({"status": "inProgress"})).await;
    assert_eq!(reopened.status, 200, "{}", reopened.text);
    assert!(reopened.body.get("resolutionDate").is_none());
    for status in ["resolved", "closed"] {
        let reply = set_status(&server, &id, json!({"status": status})).await;
        assert_eq!(reply.status, 200, "{status}: {}", reply.text);
    }
    let closed = read(&server, &id).await;
    assert!(closed["resolutionDate"].is_string(), "{closed}");
    // Closed is final; a submitted problem needs no status.
    set_status(&server, &id, json!({"status": "inProgress"}))
        .await
        .assert_error(409);
    set_status(&server, &id, json!({"status": null}))
        .await
        .assert_error(409);
    assert_eq!(read(&server, &id).await["status"], "closed");

    // A new problem is submitted or acknowledged, nothing else.
    let late = server
        .post(
            &path("serviceProblem"),
            &problem(json!({"status": "inProgress"})),
        )
        .await;
    late.assert_error(400);
    // Acknowledged problems may be unacknowledged by a PATCH too, which leaves a record.
    let other = create_problem(&server, json!({})).await;
    let submitted = set_status(&server, &other, json!({"status": null})).await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    assert!(submitted.body.get("status").is_none());
    let records = submitted.body["trackingRecord"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["description"], "unack");
    // Submitted goes only to acknowledged, rejected or resolved.
    set_status(&server, &other, json!({"status": "inProgress"}))
        .await
        .assert_error(409);
}

#[tokio::test]
async fn without_auto_acknowledge_new_problems_are_submitted() {
    let server = unacknowledging().await;
    let id = create_problem(&server, json!({})).await;
    let created = read(&server, &id).await;
    assert!(created.get("status").is_none(), "{created}");
    assert!(created.get("trackingRecord").is_none(), "{created}");
    assert!(created.get("statusChangeDate").is_none(), "{created}");
    set_status(&server, &id, json!({"status": "inProgress"}))
        .await
        .assert_error(409);
    // The creator may take it at once.
    let taken = create_problem(&server, json!({"status": "acknowledged"})).await;
    let taken = read(&server, &taken).await;
    assert_eq!(taken["status"], "acknowledged");
    assert_eq!(taken["trackingRecord"][0]["description"], "ack");
    // Filters find submitted problems by the status they lack.
    let listed = server
        .get(&format!("{}?status=acknowledged", path("serviceProblem")))
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let found: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|doc| doc["id"].as_str().unwrap())
        .collect();
    assert_eq!(found, vec![taken["id"].as_str().unwrap()]);
}

#[tokio::test]
async fn acknowledgement_tasks_move_problems_and_record_it() {
    let server = unacknowledging().await;
    let first = create_problem(&server, json!({})).await;
    let second = create_problem(&server, json!({})).await;
    let working = create_problem(&server, json!({"status": "acknowledged"})).await;
    let moved = set_status(&server, &working, json!({"status": "inProgress"})).await;
    assert_eq!(moved.status, 200, "{}", moved.text);

    let task = server
        .create(
            &path("problemAcknowledgement"),
            &json!({
                "problem": refs(&[&first, &second, &working, &first]),
                "trackingRecord": {"user": "noc-operator-7"},
            }),
        )
        .await;
    // The problem in progress is skipped, the repeated one listed once.
    assert_eq!(
        ids(&task, "ackProblem"),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(task["ackProblem"][0]["@referredType"], "ServiceProblem");
    let record = &task["trackingRecord"];
    assert_eq!(record["user"], "noc-operator-7");
    assert_eq!(record["description"], "ack");
    assert!(
        record["id"].is_string() && record["time"].is_string(),
        "{task}"
    );
    for id in [&first, &second] {
        let doc = read(&server, id).await;
        assert_eq!(doc["status"], "acknowledged");
        assert_eq!(doc["trackingRecord"].as_array().unwrap().len(), 1);
        assert_eq!(doc["trackingRecord"][0], *record);
    }
    assert_eq!(read(&server, &working).await["status"], "inProgress");
    // Read back as posted and completed.
    let task_id = task["id"].as_str().unwrap();
    let again = server
        .get(&format!("{}/{task_id}", path("problemAcknowledgement")))
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["ackProblem"], task["ackProblem"]);

    // Acknowledging again changes nothing: listed, no second record.
    let repeat = server
        .create(
            &path("problemAcknowledgement"),
            &json!({"problem": refs(&[&first])}),
        )
        .await;
    assert_eq!(ids(&repeat, "ackProblem"), vec![first.clone()]);
    assert_eq!(
        read(&server, &first).await["trackingRecord"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Undone only from acknowledged: back to submitted, with the task's record.
    let undo = server
        .create(
            &path("problemUnacknowledgement"),
            &json!({"problem": refs(&[&first, &working])}),
        )
        .await;
    assert_eq!(ids(&undo, "unackProblem"), vec![first.clone()]);
    assert_eq!(undo["trackingRecord"]["description"], "unack");
    let undone = read(&server, &first).await;
    assert!(undone.get("status").is_none(), "{undone}");
    let records = undone["trackingRecord"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1], undo["trackingRecord"]);
    assert_eq!(read(&server, &working).await["status"], "inProgress");

    // A task naming a problem that does not exist moves none of the others.
    let dangling = server
        .post(
            &path("problemUnacknowledgement"),
            &json!({"problem": refs(&[&second, "no-such-problem"])}),
        )
        .await;
    dangling.assert_error(400);
    assert!(
        dangling.text.contains("no-such-problem"),
        "{}",
        dangling.text
    );
    assert_eq!(read(&server, &second).await["status"], "acknowledged");
    // Tasks are never changed.
    let patched = server
        .patch(
            &format!("{}/{task_id}", path("problemAcknowledgement")),
            "application/merge-patch+json",
            &json!({"ackProblem": []}),
        )
        .await;
    patched.assert_error(405);
}

fn location(name: &str) -> Value {
    json!({"name": name, "role": "site"})
}

#[tokio::test]
async fn grouping_links_both_ways_and_unions_what_the_children_bring() {
    let server = TestServer::start().await;
    let parent = create_problem(
        &server,
        json!({
            "affectedResource": [{"id": "r1"}],
            "rootCauseResource": [{"id": "r0"}],
        }),
    )
    .await;
    let first = create_problem(
        &server,
        json!({
            "affectedResource": [{"id": "r1"}, {"id": "r2"}],
            "affectedService": [{"id": "s1"}],
            "affectedNumberOfServices": 5,
        }),
    )
    .await;
    let second = create_problem(
        &server,
        json!({
            "affectedService": [{"id": "s2"}],
            "affectedLocation": [location("Paris")],
            "rootCauseService": [{"id": "rs1"}],
        }),
    )
    .await;
    let task = server
        .create(
            &path("problemGroup"),
            &json!({"parentProblem": {"id": parent}, "childProblem": refs(&[&first, &second])}),
        )
        .await;
    assert_eq!(task["parentProblem"]["id"], parent.as_str());

    let grouped = read(&server, &parent).await;
    assert_eq!(
        ids(&grouped, "underlyingProblem"),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(ids(&grouped, "affectedResource"), vec!["r1", "r2"]);
    assert_eq!(ids(&grouped, "affectedService"), vec!["s1", "s2"]);
    assert_eq!(ids(&grouped, "rootCauseResource"), vec!["r0"]);
    assert_eq!(ids(&grouped, "rootCauseService"), vec!["rs1"]);
    assert_eq!(grouped["affectedLocation"], json!([location("Paris")]));
    assert_eq!(grouped["affectedNumberOfServices"], 5);
    for child in [&first, &second] {
        let doc = read(&server, child).await;
        assert_eq!(ids(&doc, "parentProblem"), vec![parent.clone()]);
        assert_eq!(doc["parentProblem"][0]["@referredType"], "ServiceProblem");
    }
    // Grouping again changes nothing.
    server
        .create(
            &path("problemGroup"),
            &json!({"parentProblem": {"id": parent}, "childProblem": refs(&[&first])}),
        )
        .await;
    assert_eq!(read(&server, &parent).await, grouped);

    // The links go both ways; the parent keeps its own entries and the remaining
    // child's, and loses what only the ungrouped child brought.
    server
        .create(
            &path("problemUngroup"),
            &json!({"parentProblem": {"id": parent}, "childProblem": refs(&[&first])}),
        )
        .await;
    let after = read(&server, &parent).await;
    assert_eq!(ids(&after, "underlyingProblem"), vec![second.clone()]);
    assert_eq!(ids(&after, "affectedResource"), vec!["r1"]);
    assert_eq!(ids(&after, "affectedService"), vec!["s2"]);
    assert_eq!(ids(&after, "rootCauseService"), vec!["rs1"]);
    assert_eq!(after["affectedNumberOfServices"], 1);
    assert!(read(&server, &first).await.get("parentProblem").is_none());

    server
        .create(
            &path("problemUngroup"),
            &json!({"parentProblem": {"id": parent}, "childProblem": refs(&[&second])}),
        )
        .await;
    let alone = read(&server, &parent).await;
    for gone in [
        "underlyingProblem",
        "affectedService",
        "affectedLocation",
        "rootCauseService",
        "affectedNumberOfServices",
    ] {
        assert!(alone.get(gone).is_none(), "{gone}: {alone}");
    }
    assert_eq!(ids(&alone, "affectedResource"), vec!["r1"]);
    assert_eq!(ids(&alone, "rootCauseResource"), vec!["r0"]);
    assert!(read(&server, &second).await.get("parentProblem").is_none());
}

#[tokio::test]
async fn grouping_refuses_cycles_final_problems_and_second_parents() {
    let server = TestServer::start().await;
    let top = create_problem(&server, json!({})).await;
    let middle = create_problem(&server, json!({})).await;
    let bottom = create_problem(&server, json!({})).await;
    let group = |parent: &str, children: &[&str]| json!({"parentProblem": {"id": parent}, "childProblem": refs(children)});
    server
        .create(&path("problemGroup"), &group(&top, &[&middle]))
        .await;
    server
        .create(&path("problemGroup"), &group(&middle, &[&bottom]))
        .await;
    // A problem under itself, or over a problem above it.
    for (parent, child) in [(&top, &top), (&middle, &top), (&bottom, &top)] {
        let reply = server
            .post(&path("problemGroup"), &group(parent, &[child]))
            .await;
        reply.assert_error(409);
        assert!(reply.text.contains("cycle"), "{}", reply.text);
    }
    // One parent at a time.
    let other = create_problem(&server, json!({})).await;
    server
        .post(&path("problemGroup"), &group(&other, &[&bottom]))
        .await
        .assert_error(409);
    // Nothing changed by the refused tasks.
    assert_eq!(ids(&read(&server, &top).await, "parentProblem").len(), 0);
    assert_eq!(
        ids(&read(&server, &bottom).await, "parentProblem"),
        vec![middle.clone()]
    );

    // Final problems are not grouped, as parent or child.
    let cancelled = create_problem(&server, json!({})).await;
    let reply = set_status(&server, &cancelled, json!({"status": "cancelled"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    server
        .post(&path("problemGroup"), &group(&other, &[&cancelled]))
        .await
        .assert_error(409);
    server
        .post(&path("problemGroup"), &group(&cancelled, &[&other]))
        .await
        .assert_error(409);
    // A child that does not exist: 400, and the good one is not grouped either.
    server
        .post(&path("problemGroup"), &group(&other, &[&cancelled, "nope"]))
        .await
        .assert_error(409);
    let free = create_problem(&server, json!({})).await;
    server
        .post(&path("problemGroup"), &group(&other, &[&free, "nope"]))
        .await
        .assert_error(400);
    assert!(read(&server, &free).await.get("parentProblem").is_none());
    assert!(read(&server, &other)
        .await
        .get("underlyingProblem")
        .is_none());

    // Grouped problems are ungrouped before they are deleted.
    server
        .delete(&problem_path(&middle))
        .await
        .assert_error(409);
    server
        .create(&path("problemUngroup"), &group(&middle, &[&bottom]))
        .await;
    server
        .create(&path("problemUngroup"), &group(&top, &[&middle]))
        .await;
    let deleted = server.delete(&problem_path(&middle)).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    // Ungrouping what is not grouped is a no-op, not an error.
    server
        .create(&path("problemUngroup"), &group(&top, &[&bottom]))
        .await;
}

#[tokio::test]
async fn event_records_are_read_only_over_http() {
    let server = TestServer::start().await;
    let records = path("serviceProblemEventRecord");
    server
        .post(&records, &json!({"eventType": "x"}))
        .await
        .assert_error(405);
    let one = format!("{records}/some-id");
    server
        .patch(
            &one,
            "application/merge-patch+json",
            &json!({"eventType": "y"}),
        )
        .await
        .assert_error(405);
    server.delete(&one).await.assert_error(405);
    let listed = server.get(&records).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body, json!([]));
}

#[tokio::test]
async fn the_server_writes_event_records_itself() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServeConfig::new("127.0.0.1:0", database_url(&dir));
    config.pg_connections = 4;
    let (engine, _) = switchboard::build(&config).await.unwrap();
    let at = engine
        .served("TMF656", "serviceProblemEventRecord")
        .unwrap();
    let record = json!({
        "eventType": "ResourceStateChangeEvent",
        "eventTime": "2026-01-05T10:00:00Z",
        "notification": {"anything": ["goes", 1]},
        "serviceProblem": {"id": "p-1"},
    });
    let (stored, created) = engine.ensure(at, "rec-1", record.clone()).await.unwrap();
    assert!(created);
    assert_eq!(stored["notification"], record["notification"]);
    let mut together = engine.together(false).await.unwrap();
    together.ensure(at, "rec-2", record).await.unwrap();
    together.commit().await.unwrap();
    let read = engine.retrieve(at, "rec-2", "").await.unwrap();
    assert!(
        read.json.contains("ResourceStateChangeEvent"),
        "{}",
        read.json
    );
    // A client still may not.
    let refused = engine
        .create(at, json!({"eventType": "x"}))
        .await
        .unwrap_err();
    assert_eq!(
        refused.kind,
        switchboard_engine::ErrorKind::MethodNotAllowed
    );
}

fn of_type<'a>(events: &'a [Value], event_type: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|event| event["eventType"] == event_type)
        .collect()
}

#[tokio::test]
async fn problem_events_reach_a_listener() {
    let server = TestServer::start().await;
    let listener = Listener::start(0).await;
    let reply = server
        .post(&path("hub"), &json!({"callback": listener.url}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = create_problem(&server, json!({})).await;
    let patched = set_status(&server, &id, json!({"status": "inProgress"})).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let patched = set_status(&server, &id, json!({"status": "pending"})).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let described = set_status(&server, &id, json!({"description": "Still no sync"})).await;
    assert_eq!(described.status, 200, "{}", described.text);
    let deleted = server.delete(&problem_path(&id)).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);

    listener.wait_for(6, WITHIN).await;
    // Every delivery done: what arrived is all there is.
    server.queue().await.wait_idle().await;
    let events = listener.events();
    assert_eq!(events.len(), 6, "{events:#?}");
    let created = of_type(&events, "ServiceProblemCreateEvent");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["event"]["serviceProblem"]["id"], id.as_str());
    assert_eq!(
        created[0]["event"]["serviceProblem"]["status"],
        "acknowledged"
    );
    // Deliveries may overtake each other: compared in order of status.
    let mut moves: Vec<&str> = of_type(&events, "ServiceProblemStateChangeEvent")
        .into_iter()
        .map(|event| event["event"]["serviceProblem"]["status"].as_str().unwrap())
        .collect();
    moves.sort_unstable();
    assert_eq!(moves, vec!["inProgress", "pending"]);
    let waiting = of_type(&events, "ServiceProblemInformationRequiredEvent");
    assert_eq!(waiting.len(), 1);
    let problem = &waiting[0]["event"]["serviceProblem"];
    assert_eq!(problem["status"], "pending");
    assert_eq!(problem["id"], id.as_str());
    let changed = of_type(&events, "ServiceProblemAttributeValueChangeEvent");
    assert_eq!(changed.len(), 1);
    assert_eq!(
        changed[0]["event"]["serviceProblem"]["description"],
        "Still no sync"
    );
    assert_eq!(of_type(&events, "ServiceProblemDeleteEvent").len(), 1);
}

#[tokio::test]
async fn task_side_effects_are_announced() {
    let server = unacknowledging().await;
    let listener = Listener::start(0).await;
    let parent = create_problem(&server, json!({})).await;
    let child = create_problem(&server, json!({})).await;
    let reply = server
        .post(
            &path("hub"),
            &json!({"callback": listener.url, "query": format!("event.serviceProblem.id={parent}")}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    server
        .create(
            &path("problemAcknowledgement"),
            &json!({"problem": refs(&[&parent])}),
        )
        .await;
    server
        .create(
            &path("problemGroup"),
            &json!({"parentProblem": {"id": parent}, "childProblem": refs(&[&child])}),
        )
        .await;
    listener.wait_for(3, WITHIN).await;
    server.queue().await.wait_idle().await;
    let events = listener.events();
    assert_eq!(events.len(), 3, "{events:#?}");
    // The ack moves the status and appends a record; the group adds a child.
    let moved = of_type(&events, "ServiceProblemStateChangeEvent");
    assert_eq!(moved.len(), 1, "{events:#?}");
    assert_eq!(
        moved[0]["event"]["serviceProblem"]["status"],
        "acknowledged"
    );
    let changed = of_type(&events, "ServiceProblemAttributeValueChangeEvent");
    assert_eq!(changed.len(), 2, "{events:#?}");
    let grouped: Vec<Vec<String>> = changed
        .iter()
        .map(|event| ids(&event["event"]["serviceProblem"], "underlyingProblem"))
        .collect();
    assert!(grouped.contains(&vec![child.clone()]), "{events:#?}");
    assert!(grouped.contains(&Vec::new()), "{events:#?}");
}

#[tokio::test]
async fn bad_problems_and_tasks_are_refused_with_400() {
    let server = TestServer::start().await;
    let collection = path("serviceProblem");
    for missing in [
        "category",
        "description",
        "priority",
        "reason",
        "originatorParty",
    ] {
        let mut body = problem(json!({}));
        body.as_object_mut().unwrap().remove(missing);
        let reply = server.post(&collection, &body).await;
        reply.assert_error(400);
        assert!(reply.text.contains(missing), "{missing}: {}", reply.text);
    }
    let bad = [
        json!({"originatorParty": {"id": "noc"}}),
        json!({"originatorParty": {"@referredType": "Organization"}}),
        json!({"priority": 0}),
        json!({"priority": 11}),
        json!({"priority": "high"}),
        json!({"priority": 2.5}),
        json!({"description": 5}),
        json!({"status": "submitted"}),
        json!({"status": "(absent)"}),
        json!({"relatedEvent": [{"id": "e1", "eventTime": "yesterday"}]}),
        json!({"affectedResource": "r1"}),
    ];
    for extra in bad {
        let reply = server.post(&collection, &problem(extra.clone())).await;
        reply.assert_error(400);
        assert!(!reply.text.is_empty(), "{extra}");
    }
    let id = create_problem(
        &server,
        json!({
            "firstAlert": {"id": "a1", "@referredType": "Alarm", "role": "firstAlert"},
            "originatingSystem": "probe",
        }),
    )
    .await;
    let before = read(&server, &id).await;
    for patch in [
        json!({"firstAlert": {"id": "a2", "@referredType": "Alarm", "role": "firstAlert"}}),
        json!({"originatingSystem": "other"}),
        json!({"trackingRecord": []}),
        json!({"parentProblem": [{"id": id}]}),
        json!({"statusChangeDate": "2026-01-01T00:00:00Z"}),
        json!({"status": "closing"}),
        json!({"status": 3}),
        json!({"priority": 42}),
        json!({"relatedEvent": [{"id": "e1", "eventTime": "2026-13-45"}]}),
    ] {
        set_status(&server, &id, patch.clone())
            .await
            .assert_error(400);
    }
    assert_eq!(read(&server, &id).await, before);

    for (collection, body) in [
        ("problemAcknowledgement", json!({})),
        ("problemAcknowledgement", json!({"problem": []})),
        (
            "problemAcknowledgement",
            json!({"problem": [{"name": "x"}]}),
        ),
        (
            "problemUnacknowledgement",
            json!({"problem": refs(&["nope"])}),
        ),
        ("problemGroup", json!({"parentProblem": {"id": id}})),
        ("problemGroup", json!({"childProblem": refs(&[&id])})),
        (
            "problemGroup",
            json!({"parentProblem": {"id": "nope"}, "childProblem": refs(&[&id])}),
        ),
        (
            "problemUngroup",
            json!({"parentProblem": {"id": id}, "childProblem": "x"}),
        ),
    ] {
        server
            .post(&path(collection), &body)
            .await
            .assert_error(400);
    }
}

#[tokio::test]
async fn concurrent_tasks_on_one_parent_all_land() {
    let server = TestServer::start().await;
    let parent = create_problem(&server, json!({})).await;
    let mut children = Vec::new();
    for n in 0..6 {
        let service = format!("s{n}");
        children.push(create_problem(&server, json!({"affectedService": [{"id": service}]})).await);
    }
    // Each task rewrites the parent and its grouping state: those that meet a
    // concurrent one run again, none is lost.
    let mut clients = tokio::task::JoinSet::new();
    for child in &children {
        let client = server.client.clone();
        let url = server.url(&path("problemGroup"));
        let body = json!({"parentProblem": {"id": parent}, "childProblem": refs(&[child])});
        clients.spawn(async move { client.post(url).json(&body).send().await.unwrap().status() });
    }
    for status in clients.join_all().await {
        assert_eq!(status, 201);
    }
    let grouped = read(&server, &parent).await;
    let mut listed = ids(&grouped, "underlyingProblem");
    listed.sort();
    let mut expected = children.clone();
    expected.sort();
    assert_eq!(listed, expected);
    let mut services = ids(&grouped, "affectedService");
    services.sort();
    assert_eq!(services, vec!["s0", "s1", "s2", "s3", "s4", "s5"]);
    assert_eq!(grouped["affectedNumberOfServices"], 6);

    // And all of them apart again, leaving the parent as it was.
    let mut clients = tokio::task::JoinSet::new();
    for child in &children {
        let client = server.client.clone();
        let url = server.url(&path("problemUngroup"));
        let body = json!({"parentProblem": {"id": parent}, "childProblem": refs(&[child])});
        clients.spawn(async move { client.post(url).json(&body).send().await.unwrap().status() });
    }
    for status in clients.join_all().await {
        assert_eq!(status, 201);
    }
    let alone = read(&server, &parent).await;
    for gone in [
        "underlyingProblem",
        "affectedService",
        "affectedNumberOfServices",
    ] {
        assert!(alone.get(gone).is_none(), "{gone}: {alone}");
    }
}

fn group_body(parent: &str, children: &[&str]) -> Value {
    json!({"parentProblem": {"id": parent}, "childProblem": refs(children)})
}

async fn patch_problem(server: &TestServer, id: &str, body: Value) {
    let reply = set_status(server, id, body).await;
    assert_eq!(reply.status, 200, "PATCH {id}: {}", reply.text);
}

#[tokio::test]
async fn a_grouped_problems_changes_flow_up_to_every_ancestor() {
    let server = TestServer::start().await;
    let top = create_problem(
        &server,
        json!({"affectedResource": [{"id": "t1"}], "affectedService": [{"id": "shared"}]}),
    )
    .await;
    let middle = create_problem(&server, json!({"affectedResource": [{"id": "m1"}]})).await;
    let bottom = create_problem(
        &server,
        json!({"affectedResource": [{"id": "b1"}], "affectedService": [{"id": "shared"}]}),
    )
    .await;
    server
        .create(&path("problemGroup"), &group_body(&top, &[&middle]))
        .await;
    // A grandchild grouped under the child reaches the top.
    server
        .create(&path("problemGroup"), &group_body(&middle, &[&bottom]))
        .await;
    let (upper, lower) = (read(&server, &top).await, read(&server, &middle).await);
    assert_eq!(ids(&upper, "affectedResource"), vec!["t1", "m1", "b1"]);
    assert_eq!(ids(&lower, "affectedResource"), vec!["m1", "b1"]);
    assert_eq!(ids(&lower, "affectedService"), vec!["shared"]);

    // The grandchild grows (as its impact job would fill it): both ancestors follow.
    patch_problem(
        &server,
        &bottom,
        json!({
            "affectedService": [{"id": "shared"}, {"id": "s9"}],
            "rootCauseResource": [{"id": "rc1"}],
            "affectedNumberOfServices": 7,
        }),
    )
    .await;
    for ancestor in [&middle, &top] {
        let doc = read(&server, ancestor).await;
        assert_eq!(ids(&doc, "affectedService"), vec!["shared", "s9"], "{doc}");
        assert_eq!(ids(&doc, "rootCauseResource"), vec!["rc1"], "{doc}");
        assert_eq!(doc["affectedNumberOfServices"], 7, "{doc}");
    }
    // It loses an entry: so do the ancestors that had it only from it.
    patch_problem(
        &server,
        &bottom,
        json!({"affectedResource": [{"id": "b2"}]}),
    )
    .await;
    assert_eq!(
        ids(&read(&server, &top).await, "affectedResource"),
        vec!["t1", "m1", "b2"]
    );
    assert_eq!(
        ids(&read(&server, &middle).await, "affectedResource"),
        vec!["m1", "b2"]
    );

    // Ungrouping the grandchild takes away what only it brought, all the way up; the
    // top keeps its own entries (`shared` too, which the grandchild also named).
    server
        .create(&path("problemUngroup"), &group_body(&middle, &[&bottom]))
        .await;
    let lower = read(&server, &middle).await;
    assert_eq!(ids(&lower, "affectedResource"), vec!["m1"]);
    for gone in [
        "affectedService",
        "rootCauseResource",
        "affectedNumberOfServices",
    ] {
        assert!(lower.get(gone).is_none(), "{gone}: {lower}");
    }
    let upper = read(&server, &top).await;
    assert_eq!(ids(&upper, "affectedResource"), vec!["t1", "m1"]);
    assert_eq!(ids(&upper, "affectedService"), vec!["shared"]);
    assert!(upper.get("rootCauseResource").is_none(), "{upper}");
    assert_eq!(upper["affectedNumberOfServices"], 1, "{upper}");
    // An ungrouped problem's change reaches its old parents no more.
    patch_problem(
        &server,
        &bottom,
        json!({"affectedResource": [{"id": "b3"}]}),
    )
    .await;
    assert_eq!(
        ids(&read(&server, &top).await, "affectedResource"),
        vec!["t1", "m1"]
    );
    // A client may drop the parent's own entries, not those a child brings.
    patch_problem(&server, &top, json!({"affectedResource": []})).await;
    assert_eq!(
        ids(&read(&server, &top).await, "affectedResource"),
        vec!["m1"]
    );
}

#[tokio::test]
async fn group_trees_are_bounded_and_a_change_climbs_the_deepest() {
    let server = TestServer::start().await;
    // 16 levels: the most a tree holds.
    let mut chain = Vec::new();
    for _ in 0..16 {
        chain.push(create_problem(&server, json!({})).await);
    }
    for pair in chain.windows(2) {
        server
            .create(&path("problemGroup"), &group_body(&pair[0], &[&pair[1]]))
            .await;
    }
    let extra = create_problem(&server, json!({})).await;
    let reply = server
        .post(&path("problemGroup"), &group_body(&chain[15], &[&extra]))
        .await;
    reply.assert_error(409);
    assert!(reply.text.contains("levels"), "{}", reply.text);
    // Nor may a two-level tree go under the 15th level.
    let leaf = create_problem(&server, json!({})).await;
    server
        .create(&path("problemGroup"), &group_body(&extra, &[&leaf]))
        .await;
    server
        .post(&path("problemGroup"), &group_body(&chain[14], &[&extra]))
        .await
        .assert_error(409);
    assert!(read(&server, &extra).await.get("parentProblem").is_none());

    // The deepest problem's change reaches the top in its own write.
    patch_problem(
        &server,
        &chain[15],
        json!({"affectedService": [{"id": "deep"}]}),
    )
    .await;
    for problem in &chain {
        assert_eq!(
            ids(&read(&server, problem).await, "affectedService"),
            vec!["deep"]
        );
    }
}

#[tokio::test]
async fn information_required_names_what_the_problem_waits_for() {
    let server = TestServer::start().await;
    let listener = Listener::start(0).await;
    let query = "eventType=ServiceProblemInformationRequiredEvent";
    let reply = server
        .post(
            &path("hub"),
            &json!({"callback": listener.url, "query": query}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let cases = [
        ("rootCauseResource", "rootCauseResource"),
        ("characteristic.circuitId", "characteristic.circuitId"),
        ("Waiting for the customer's site access", "note"),
        ("trackingRecord", "note"),
    ];
    let mut expected = std::collections::BTreeMap::new();
    for (reason, field_path) in cases {
        let id = create_problem(&server, json!({})).await;
        patch_problem(&server, &id, json!({"status": "inProgress"})).await;
        patch_problem(
            &server,
            &id,
            json!({"status": "pending", "statusChangeReason": reason}),
        )
        .await;
        expected.insert(id, field_path.to_string());
    }
    // And with no reason at all.
    let id = create_problem(&server, json!({})).await;
    patch_problem(&server, &id, json!({"status": "inProgress"})).await;
    patch_problem(&server, &id, json!({"status": "pending"})).await;
    expected.insert(id, "note".to_string());

    listener.wait_for(expected.len(), WITHIN).await;
    server.queue().await.wait_idle().await;
    let heard: std::collections::BTreeMap<String, String> = listener
        .events()
        .iter()
        .map(|event| {
            (
                event["event"]["serviceProblem"]["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                event["fieldPath"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(heard, expected);
    assert_eq!(listener.events().len(), expected.len());
}
