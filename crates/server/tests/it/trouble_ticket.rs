//! TMF621 Trouble Ticket: the status machine and its history, the resolution date, the
//! ticket's events (status change, resolved, information required), `priority` and
//! `expectedResolutionDate` derived when not given, related entities and parties that
//! must exist unless foreign, and bad input answered with 400.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::*;

const BASE: &str = "/tmf-api/troubleTicket/v4";
const TICKETS: &str = "/tmf-api/troubleTicket/v4/troubleTicket";
const INDIVIDUALS: &str = "/tmf-api/party/v4/individual";
const PRODUCTS: &str = "/tmf-api/productInventory/v4/product";

const MERGE: &str = "application/merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";

fn ticket(severity: &str, ticket_type: &str) -> Value {
    json!({"description": "no dial tone", "severity": severity, "ticketType": ticket_type})
}

fn path(ticket: &Value) -> String {
    format!("{TICKETS}/{}", ticket["id"].as_str().unwrap())
}

/// Seconds since the epoch of a date as the server writes them
/// (`2026-12-01T10:00:00.000Z`), by the days-from-civil count.
fn epoch_seconds(date: &str) -> i64 {
    assert_eq!(date.len(), 24, "{date}");
    let number = |range: std::ops::Range<usize>| date[range].parse::<i64>().unwrap();
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let (year, month) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    days * 86_400 + number(11..13) * 3600 + number(14..16) * 60 + number(17..19)
}

/// The expected resolution is `hours` after creation, to the millisecond.
fn assert_due_after(ticket: &Value, hours: i64) {
    let created = ticket["creationDate"].as_str().unwrap();
    let expected = ticket["expectedResolutionDate"]
        .as_str()
        .unwrap_or_else(|| panic!("no expectedResolutionDate: {ticket}"));
    assert_eq!(
        epoch_seconds(expected) - epoch_seconds(created),
        hours * 3600,
        "{ticket}"
    );
    assert_eq!(created[19..], expected[19..], "{ticket}");
}

/// Moves `ticket` to `status` (with a reason, if any), asserting 200.
async fn move_to(server: &TestServer, ticket: &Value, status: &str, reason: Option<&str>) -> Value {
    let mut body = json!({ "status": status });
    if let Some(reason) = reason {
        body["statusChangeReason"] = json!(reason);
    }
    let reply = server.patch(&path(ticket), MERGE, &body).await;
    assert_eq!(reply.status, 200, "to {status}: {}", reply.text);
    reply.body
}

fn statuses(ticket: &Value) -> Vec<&str> {
    ticket["statusChange"]
        .as_array()
        .unwrap_or_else(|| panic!("no statusChange: {ticket}"))
        .iter()
        .map(|entry| entry["status"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_new_ticket_is_acknowledged_with_its_first_history_entry_and_derived_attributes() {
    let server = TestServer::start().await;
    let mut body = ticket("Critical", "incident");
    // Server-owned: overwritten or dropped on create.
    body["statusChange"] = json!([{"status": "closed", "changeDate": "2020-01-01T00:00:00Z"}]);
    body["statusChangeDate"] = json!("2020-01-01T00:00:00Z");
    body["resolutionDate"] = json!("2020-01-01T00:00:00Z");
    body["creationDate"] = json!("2020-01-01T00:00:00Z");
    body["statusChangeReason"] = json!("raised by the NOC");
    let created = server.create(TICKETS, &body).await;
    let created_at = created["creationDate"].as_str().unwrap();
    assert_ne!(created_at, "2020-01-01T00:00:00Z");
    assert_eq!(created["status"], "acknowledged");
    assert_eq!(created["@type"], "TroubleTicket");
    assert_eq!(
        created["statusChange"],
        json!([{"status": "acknowledged", "changeDate": created_at,
                "changeReason": "raised by the NOC"}])
    );
    assert_eq!(created["statusChangeDate"], created_at);
    assert_eq!(created["statusChangeReason"], "raised by the NOC");
    assert!(created.get("resolutionDate").is_none(), "{created}");
    assert_eq!(created["priority"], "1");
    assert_due_after(&created, 4);
    assert_eq!(server.get(&path(&created)).await.body, created);

    // `acknowledged` may be sent; any other status may not.
    let mut acknowledged = ticket("minor", "request");
    acknowledged["status"] = json!("acknowledged");
    let stored = server.create(TICKETS, &acknowledged).await;
    assert_eq!(stored["status"], "acknowledged");
    assert_eq!(stored["priority"], "4");
    assert_due_after(&stored, 72);
    for status in ["inProgress", "resolved", "closed"] {
        let mut body = ticket("minor", "incident");
        body["status"] = json!(status);
        let reply = server.post(TICKETS, &body).await;
        reply.assert_error(400);
        assert!(
            reply.body["message"]
                .as_str()
                .unwrap()
                .contains("acknowledged"),
            "{}",
            reply.text
        );
    }

    // What the client sets stays.
    let mut chosen = ticket("major", "incident");
    chosen["priority"] = json!("3");
    chosen["expectedResolutionDate"] = json!("2030-01-01T00:00:00Z");
    let stored = server.create(TICKETS, &chosen).await;
    assert_eq!(stored["priority"], "3");
    assert_eq!(stored["expectedResolutionDate"], "2030-01-01T00:00:00Z");

    // A severity without a target gets a priority but no expected date.
    let stored = server
        .create(TICKETS, &ticket("cosmetic", "incident"))
        .await;
    assert_eq!(stored["priority"], "4");
    assert!(stored.get("expectedResolutionDate").is_none(), "{stored}");
}

#[tokio::test]
async fn status_moves_follow_the_machine_and_each_is_kept_in_the_history() {
    let server = TestServer::start().await;
    let created = server.create(TICKETS, &ticket("major", "incident")).await;

    // Illegal moves name the allowed ones.
    let reply = server
        .patch(&path(&created), MERGE, &json!({"status": "closed"}))
        .await;
    reply.assert_error(409);
    let message = reply.body["message"].as_str().unwrap();
    assert!(
        message.contains("allowed next: inProgress, pending, resolved, rejected, cancelled"),
        "{message}"
    );

    let working = move_to(&server, &created, "inProgress", Some("engineer assigned")).await;
    assert_eq!(working["statusChangeReason"], "engineer assigned");
    assert_eq!(working["statusChangeDate"], working["lastUpdate"]);
    // A move without a reason does not carry the previous one over.
    let held = move_to(&server, &created, "held", None).await;
    assert!(held.get("statusChangeReason").is_none(), "{held}");
    let reply = server
        .patch(&path(&created), MERGE, &json!({"status": "pending"}))
        .await;
    reply.assert_error(409);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("allowed next: inProgress, resolved, cancelled"),
        "{}",
        reply.text
    );
    move_to(&server, &created, "inProgress", None).await;
    let resolved = move_to(&server, &created, "resolved", Some("line card replaced")).await;
    assert_eq!(resolved["resolutionDate"], resolved["statusChangeDate"]);
    assert_eq!(resolved["resolutionDate"], resolved["lastUpdate"]);

    // Reopening drops the resolution; resolving again sets a new one.
    let reopened = move_to(&server, &created, "inProgress", Some("fault recurred")).await;
    assert!(reopened.get("resolutionDate").is_none(), "{reopened}");
    let resolved = move_to(&server, &created, "resolved", None).await;
    let closed = move_to(&server, &created, "closed", Some("customer confirmed")).await;
    assert_eq!(closed["resolutionDate"], resolved["resolutionDate"]);

    assert_eq!(
        statuses(&closed),
        [
            "acknowledged",
            "inProgress",
            "held",
            "inProgress",
            "resolved",
            "inProgress",
            "resolved",
            "closed"
        ]
    );
    let history = closed["statusChange"].as_array().unwrap();
    assert_eq!(history[0]["changeDate"], closed["creationDate"]);
    assert!(history[0].get("changeReason").is_none(), "{closed}");
    assert_eq!(history[1]["changeReason"], "engineer assigned");
    assert_eq!(history[1]["changeDate"], working["statusChangeDate"]);
    assert!(history[2].get("changeReason").is_none(), "{closed}");
    assert_eq!(history[4]["changeReason"], "line card replaced");
    assert_eq!(history[7]["changeReason"], "customer confirmed");
    assert_eq!(history[7]["changeDate"], closed["statusChangeDate"]);
    let dates: Vec<&str> = history
        .iter()
        .map(|entry| entry["changeDate"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|pair| pair[0] <= pair[1]), "{dates:?}");

    // Closed is final.
    let reply = server
        .patch(&path(&created), MERGE, &json!({"status": "inProgress"}))
        .await;
    reply.assert_error(409);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("none (final state)"),
        "{}",
        reply.text
    );
    assert_eq!(server.get(&path(&created)).await.body, closed);
}

#[tokio::test]
async fn the_history_dates_and_resolution_are_the_servers_to_write() {
    let server = TestServer::start().await;
    let created = server.create(TICKETS, &ticket("minor", "incident")).await;
    let resolved = move_to(&server, &created, "resolved", None).await;
    let refused = [
        json!({"statusChange": []}),
        json!({"statusChange": [{"status": "acknowledged", "changeDate": "2020-01-01T00:00:00Z"}]}),
        json!({"statusChangeDate": "2020-01-01T00:00:00Z"}),
        json!({"resolutionDate": "2020-01-01T00:00:00Z"}),
        json!({"resolutionDate": null}),
        json!({"creationDate": "2020-01-01T00:00:00Z"}),
        json!({"lastUpdate": "2020-01-01T00:00:00Z"}),
    ];
    for body in refused {
        let reply = server.patch(&path(&created), MERGE, &body).await;
        reply.assert_error(400);
        assert!(
            reply.body["message"]
                .as_str()
                .unwrap()
                .contains("set by the server"),
            "{body}: {}",
            reply.text
        );
    }
    let reply = server
        .patch(
            &path(&created),
            JSON_PATCH,
            &json!([{"op": "add", "path": "/statusChange/-",
                     "value": {"status": "closed", "changeDate": "2020-01-01T00:00:00Z"}}]),
        )
        .await;
    reply.assert_error(400);
    // A reason goes with a change of status, not alone.
    let reply = server
        .patch(
            &path(&created),
            MERGE,
            &json!({"statusChangeReason": "rewritten"}),
        )
        .await;
    reply.assert_error(400);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("statusChangeReason"),
        "{}",
        reply.text
    );
    // Echoing what was read is harmless.
    let reply = server.patch(&path(&created), MERGE, &resolved).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body, resolved);
    assert_eq!(server.get(&path(&created)).await.body, resolved);
}

#[tokio::test]
async fn ticket_events_are_named_as_tmf621_names_them_with_their_payloads() {
    let server = TestServer::start().await;
    let listener = Listener::start(0).await;
    let reply = server
        .post(&format!("{BASE}/hub"), &json!({"callback": listener.url}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);

    let created = server
        .create(TICKETS, &ticket("critical", "incident"))
        .await;
    let pending = move_to(&server, &created, "pending", None).await;
    let working = move_to(&server, &created, "inProgress", None).await;
    let resolved = move_to(&server, &created, "resolved", None).await;
    let reply = server
        .patch(
            &path(&created),
            MERGE,
            &json!({"description": "no dial tone, line 2"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let described = reply.body;
    assert_eq!(server.delete(&path(&created)).await.status, 204);
    server.queue().await.wait_idle().await;
    let events = listener.wait_for(8, Duration::from_secs(5)).await;

    let mut types: Vec<&str> = events
        .iter()
        .map(|event| event["eventType"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(
        types,
        [
            "TroubleTicketAttributeValueChangeEvent",
            "TroubleTicketCreateEvent",
            "TroubleTicketDeleteEvent",
            "TroubleTicketInformationRequiredEvent",
            "TroubleTicketResolvedEvent",
            "TroubleTicketStatusChangeEvent",
            "TroubleTicketStatusChangeEvent",
            "TroubleTicketStatusChangeEvent",
        ],
        "{events:?}"
    );
    for event in &events {
        assert!(event["eventId"].is_string(), "{event}");
        assert_eq!(event["timeOcurred"], event["eventTime"], "{event}");
        assert!(
            event["timeOcurred"].as_str().unwrap().ends_with('Z'),
            "{event}"
        );
    }
    let of_type = |event_type: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|event| event["eventType"] == event_type)
            .collect()
    };
    assert_eq!(
        of_type("TroubleTicketCreateEvent")[0]["event"],
        json!({"troubleTicket": created})
    );
    let mut changes: Vec<Value> = of_type("TroubleTicketStatusChangeEvent")
        .into_iter()
        .map(|event| event["event"]["troubleTicket"].clone())
        .collect();
    changes.sort_by_key(|ticket| ticket["statusChange"].as_array().unwrap().len());
    assert_eq!(changes, [pending.clone(), working, resolved.clone()]);

    let asking = of_type("TroubleTicketInformationRequiredEvent")[0];
    assert_eq!(asking["fieldPath"], "note", "{asking}");
    assert_eq!(asking["event"], json!({"troubleTicket": pending}));
    let done = of_type("TroubleTicketResolvedEvent")[0];
    assert_eq!(done["event"], json!({"troubleTicket": resolved}));
    assert!(
        done["event"]["troubleTicket"]["resolutionDate"].is_string(),
        "{done}"
    );
    // A change of other attributes only: no status change, no new history entry.
    assert_eq!(described["statusChange"], resolved["statusChange"]);
    assert_eq!(
        of_type("TroubleTicketAttributeValueChangeEvent")[0]["event"],
        json!({"troubleTicket": described})
    );
    assert_eq!(
        of_type("TroubleTicketDeleteEvent")[0]["event"],
        json!({"troubleTicket": described})
    );
}

#[tokio::test]
async fn a_change_of_severity_or_type_recomputes_only_what_the_server_derived() {
    let server = TestServer::start().await;
    let derived = server
        .create(TICKETS, &ticket("critical", "incident"))
        .await;
    assert_eq!(derived["priority"], "1");
    assert_due_after(&derived, 4);

    let reply = server
        .patch(&path(&derived), MERGE, &json!({"severity": "minor"}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["priority"], "3");
    assert_due_after(&reply.body, 72);
    assert_eq!(reply.body["creationDate"], derived["creationDate"]);

    let reply = server
        .patch(&path(&derived), MERGE, &json!({"ticketType": "complaint"}))
        .await;
    assert_eq!(reply.body["priority"], "4");
    assert_due_after(&reply.body, 72);

    // A severity without a target: the derived expected date goes.
    let reply = server
        .patch(&path(&derived), MERGE, &json!({"severity": "cosmetic"}))
        .await;
    assert_eq!(reply.body["priority"], "4");
    assert!(
        reply.body.get("expectedResolutionDate").is_none(),
        "{}",
        reply.text
    );
    let reply = server
        .patch(
            &path(&derived),
            MERGE,
            &json!({"severity": "major", "ticketType": "incident"}),
        )
        .await;
    assert_eq!(reply.body["priority"], "2");
    assert_due_after(&reply.body, 24);

    // What the client set stays, whether at create or by a later PATCH.
    let mut body = ticket("critical", "incident");
    body["priority"] = json!("2");
    body["expectedResolutionDate"] = json!("2030-01-01T00:00:00Z");
    let chosen = server.create(TICKETS, &body).await;
    let reply = server
        .patch(&path(&chosen), MERGE, &json!({"severity": "minor"}))
        .await;
    assert_eq!(reply.body["priority"], "2");
    assert_eq!(reply.body["expectedResolutionDate"], "2030-01-01T00:00:00Z");
    let reply = server
        .patch(
            &path(&derived),
            MERGE,
            &json!({"severity": "critical", "priority": "3"}),
        )
        .await;
    assert_eq!(reply.body["priority"], "3");
    assert_due_after(&reply.body, 4);
    let reply = server
        .patch(&path(&derived), MERGE, &json!({"severity": "minor"}))
        .await;
    assert_eq!(reply.body["priority"], "3");
    assert_due_after(&reply.body, 72);

    // Removed, it is derived again.
    let reply = server
        .patch(
            &path(&chosen),
            MERGE,
            &json!({"priority": null, "expectedResolutionDate": null}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["priority"], "3");
    assert_due_after(&reply.body, 72);
}

#[tokio::test]
async fn resolution_targets_come_from_the_settings() {
    let server = TestServer::start_with(|config| {
        config.ticket_resolution_targets =
            vec!["critical=30m".to_string(), "cosmetic=2d".to_string()];
    })
    .await;
    let critical = server
        .create(TICKETS, &ticket("CRITICAL", "incident"))
        .await;
    let created = critical["creationDate"].as_str().unwrap();
    let expected = critical["expectedResolutionDate"].as_str().unwrap();
    assert_eq!(
        epoch_seconds(expected) - epoch_seconds(created),
        30 * 60,
        "{critical}"
    );
    assert_due_after(
        &server.create(TICKETS, &ticket("cosmetic", "request")).await,
        48,
    );
    // The list replaces the default one: `major` has no target here.
    let major = server.create(TICKETS, &ticket("major", "incident")).await;
    assert!(major.get("expectedResolutionDate").is_none(), "{major}");
    assert_eq!(major["priority"], "2");
}

#[tokio::test]
async fn related_entities_and_parties_must_exist_unless_another_system_holds_them() {
    let server = TestServer::start().await;
    let customer = server
        .create(INDIVIDUALS, &json!({"givenName": "Ada", "familyName": "L"}))
        .await;
    let product = server
        .create(PRODUCTS, &json!({"name": "Fibre 1G", "status": "active"}))
        .await;
    let about = |entities: Value, parties: Value| {
        let mut body = ticket("major", "incident");
        body["relatedEntity"] = entities;
        body["relatedParty"] = parties;
        body
    };
    let product_entry = json!({"id": product["id"], "role": "affectedProduct",
                               "@referredType": "Product", "href": product["href"]});
    let customer_entry = json!({"id": customer["id"], "role": "customer",
                                "@referredType": "Individual"});
    let stored = server
        .create(
            TICKETS,
            &about(json!([product_entry]), json!([customer_entry])),
        )
        .await;

    let dangling = [
        (
            json!([{"id": "nope-1", "role": "affectedProduct", "@referredType": "Product"}]),
            json!([]),
            "nope-1",
        ),
        (
            json!([{"id": "nope-2", "role": "affectedService", "@referredType": "Service"}]),
            json!([]),
            "nope-2",
        ),
        (
            json!([{"id": "nope-3", "role": "cause", "@referredType": "ServiceProblem"}]),
            json!([]),
            "nope-3",
        ),
        (
            json!([{"id": "nope-4", "role": "port", "@referredType": "Resource"}]),
            json!([]),
            "nope-4",
        ),
        (
            json!([{"id": "nope-5", "role": "order", "@referredType": "ProductOrder"}]),
            json!([]),
            "nope-5",
        ),
        // An href on this server is no marker: the product must exist.
        (
            json!([{"id": "nope-6", "role": "affectedProduct", "@referredType": "Product",
                 "href": server.url("/tmf-api/productInventory/v4/product/nope-6")}]),
            json!([]),
            "nope-6",
        ),
        (
            json!([]),
            json!([{"id": "nope-7", "@referredType": "Organization"}]),
            "nope-7",
        ),
        (
            json!([]),
            json!([{"id": "nope-8", "@referredType": "Individual"}]),
            "nope-8",
        ),
    ];
    for (entities, parties, missing) in dangling {
        let reply = server.post(TICKETS, &about(entities, parties)).await;
        reply.assert_error(400);
        let message = reply.body["message"].as_str().unwrap();
        assert!(
            message.contains(missing) && message.contains("does not exist"),
            "{message}"
        );
    }

    // Another system's resources (an absolute href elsewhere) and types not kept here
    // are taken as given.
    let foreign = about(
        json!([{"id": "p-77", "role": "affectedProduct", "@referredType": "Product",
                "href": "https://partner.example/tmf-api/productInventory/v4/product/p-77"},
               {"id": "bill-9", "role": "disputedBill", "@referredType": "CustomerBill"}]),
        json!([{"id": "org-3", "@referredType": "Organization",
                "href": "https://partner.example/tmf-api/party/v4/organization/org-3"}]),
    );
    server.create(TICKETS, &foreign).await;

    // A PATCH adding a dangling entity is refused too, and changes nothing.
    let reply = server
        .patch(
            &path(&stored),
            MERGE,
            &json!({"relatedEntity": [product_entry,
                     {"id": "nope-9", "role": "affectedProduct", "@referredType": "Product"}]}),
        )
        .await;
    reply.assert_error(400);
    assert!(
        reply.body["message"].as_str().unwrap().contains("nope-9"),
        "{}",
        reply.text
    );
    assert_eq!(server.get(&path(&stored)).await.body, stored);

    // Tickets are found by what they are about.
    let found = server
        .get(&format!(
            "{TICKETS}?relatedEntity.id={}&fields=id",
            product["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        found.body,
        json!([{"id": stored["id"], "href": stored["href"]}]),
        "{}",
        found.text
    );
}

#[tokio::test]
async fn bad_tickets_are_refused_with_400() {
    let server = TestServer::start().await;
    let without = |key: &str| {
        let mut body = ticket("major", "incident");
        body.as_object_mut().unwrap().remove(key);
        body
    };
    let with = |key: &str, value: Value| {
        let mut body = ticket("major", "incident");
        body[key] = value;
        body
    };
    let bad = [
        without("description"),
        without("severity"),
        without("ticketType"),
        with("status", json!("open")),
        with("status", json!(3)),
        with("severity", json!(1)),
        with("requestedResolutionDate", json!("tomorrow")),
        with("expectedResolutionDate", json!("2026-13-01T00:00:00Z")),
        with(
            "relatedEntity",
            json!([{"id": "x", "@referredType": "Product"}]),
        ),
        with(
            "relatedParty",
            json!({"id": "x", "@referredType": "Individual"}),
        ),
        with("note", json!("call me")),
        json!([ticket("major", "incident")]),
    ];
    for body in bad {
        server.post(TICKETS, &body).await.assert_error(400);
    }
    let created = server.create(TICKETS, &ticket("major", "incident")).await;
    for body in [
        json!({"status": "open"}),
        json!({"severity": null}),
        json!({"description": 7}),
        json!({"expectedResolutionDate": "soon"}),
    ] {
        server
            .patch(&path(&created), MERGE, &body)
            .await
            .assert_error(400);
    }
    assert_eq!(server.get(&path(&created)).await.body, created);
}

#[tokio::test]
async fn tickets_are_listed_filtered_paged_and_deleted() {
    let server = TestServer::start().await;
    let first = server
        .create(TICKETS, &ticket("critical", "incident"))
        .await;
    let second = server.create(TICKETS, &ticket("minor", "request")).await;
    let third = server.create(TICKETS, &ticket("major", "incident")).await;
    move_to(&server, &second, "inProgress", None).await;

    let reply = server
        .get(&format!(
            "{TICKETS}?status=acknowledged&fields=priority&sort=priority"
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!([{"id": first["id"], "href": first["href"], "priority": "1"},
               {"id": third["id"], "href": third["href"], "priority": "2"}])
    );
    let reply = server.get(&format!("{TICKETS}?limit=2&offset=1")).await;
    assert_eq!(reply.header("x-total-count"), Some("3"));
    assert_eq!(reply.body.as_array().unwrap().len(), 2);

    let reply = server.delete(&path(&first)).await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    server.get(&path(&first)).await.assert_error(404);
    let reply = server.get(&format!("{TICKETS}?severity=critical")).await;
    assert_eq!(reply.body, json!([]));
}
