//! Fault correlation (docs/wire-choices.md, "Assurance correlation"): a resource fault
//! opens one service problem (TMF656) with its impact walked up the inventory, one
//! trouble ticket (TMF621) per affected customer, linked both ways; repeated and
//! concurrent alarms join that problem; a clear resolves it and the tickets it opened;
//! a customer's own ticket is linked, never auto-resolved; a re-run duplicates nothing.
//!
//! The inventory comes from real product orders of the demo's mobile plan (product →
//! CFS → RFS → resources). The pools hand every order distinct units, so no two
//! customers share a resource by ordering alone: the test adds one shared resource (a
//! radio cell, as inventory discovery would) to each customer's first RFS
//! `supportingResource` by PATCH.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::*;

const ORDERS: &str = "/tmf-api/productOrderingManagement/v4/productOrder";
const PRODUCTS: &str = "/tmf-api/productInventory/v4/product";
const SERVICES: &str = "/tmf-api/serviceInventory/v4/service";
const RESOURCES: &str = "/tmf-api/resourceInventoryManagement/v4/resource";
const PROBLEMS: &str = "/tmf-api/serviceProblemManagement/v4/serviceProblem";
const RECORDS: &str = "/tmf-api/serviceProblemManagement/v4/serviceProblemEventRecord";
const TICKETS: &str = "/tmf-api/troubleTicket/v4/troubleTicket";
const WITHIN: Duration = Duration::from_secs(20);

fn id(doc: &Value) -> String {
    doc["id"].as_str().unwrap().to_string()
}

fn ids(list: &Value) -> BTreeSet<String> {
    list.as_array().unwrap().iter().map(id).collect()
}

async fn list(server: &TestServer, path: &str) -> Vec<Value> {
    let reply = server.get(path).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    reply.body.as_array().unwrap().clone()
}

/// Waits until `path` lists `count` documents; answers them.
async fn wait_count(server: &TestServer, path: &str, count: usize) -> Vec<Value> {
    let reached = eventually(WITHIN, || async { list(server, path).await.len() >= count }).await;
    let found = list(server, path).await;
    assert!(reached, "{path}: {} of {count}: {found:?}", found.len());
    found
}

/// One customer's order of the demo mobile plan, completed: (party id, product).
async fn customer_with_product(server: &TestServer, name: &str) -> (String, Value) {
    let party = server
        .create(
            &format!("{PARTY}/individual"),
            &json!({"givenName": name, "familyName": "Correlated"}),
        )
        .await;
    let party_id = id(&party);
    let body = json!({
        "relatedParty": [{"id": party_id, "name": name, "role": "customer", "@referredType": "Individual"}],
        "productOrderItem": [{"id": "1", "action": "add", "productOffering": {"id": "demo-mobile"}}],
    });
    let order_id = server.create_id(ORDERS, &body).await;
    let deadline = Instant::now() + WITHIN;
    let order = loop {
        let order = server.get(&format!("{ORDERS}/{order_id}")).await.body;
        if order["state"] == "completed" {
            break order;
        }
        assert!(Instant::now() < deadline, "order not completed: {order}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let product_id = order["productOrderItem"][0]["product"]["id"]
        .as_str()
        .unwrap();
    let product = server.get(&format!("{PRODUCTS}/{product_id}")).await.body;
    (party_id, product)
}

/// The inventory the scenario runs on: customers, their products, and the cell every
/// customer's first RFS now relies on.
struct Shared {
    cell: Value,
    customers: Vec<(String, Value)>,
    /// The services that rely on the cell: each customer's RFS and CFS.
    services: BTreeSet<String>,
}

async fn shared_cell(server: &TestServer, names: &[&str]) -> Shared {
    let cell = server
        .create(
            RESOURCES,
            &json!({
                "name": "cell-0042",
                "resourceStatus": "available",
                "operationalState": "enable",
                "place": {"id": "site-7", "name": "Hilltop mast", "role": "installation", "@referredType": "GeographicSite"},
            }),
        )
        .await;
    let mut customers = Vec::new();
    let mut services = BTreeSet::new();
    for name in names {
        let (party, product) = customer_with_product(server, name).await;
        let cfs_id = product["realizingService"][0]["id"].as_str().unwrap();
        let cfs = server.get(&format!("{SERVICES}/{cfs_id}")).await.body;
        let rfs_id = cfs["supportingService"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let rfs = server.get(&format!("{SERVICES}/{rfs_id}")).await.body;
        let mut held = rfs["supportingResource"].as_array().unwrap().clone();
        held.push(json!({"id": cell["id"], "href": cell["href"], "name": "cell-0042"}));
        let patched = server
            .patch(
                &format!("{SERVICES}/{rfs_id}"),
                "application/merge-patch+json",
                &json!({"supportingResource": held}),
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.text);
        services.insert(cfs_id.to_string());
        services.insert(rfs_id);
        customers.push((party, product));
    }
    Shared {
        cell,
        customers,
        services,
    }
}

async fn patch_resource(server: &TestServer, resource: &str, body: Value) -> Reply {
    server
        .patch(
            &format!("{RESOURCES}/{resource}"),
            "application/merge-patch+json",
            &body,
        )
        .await
}

fn problems_of(resource: &str) -> String {
    format!("{PROBLEMS}?affectedResource.id={resource}")
}

fn tickets_of(problem: &str) -> String {
    format!("{TICKETS}?relatedEntity.id={problem}")
}

/// The customer ids a list of tickets is for.
fn ticket_customers(tickets: &[Value]) -> BTreeSet<String> {
    tickets
        .iter()
        .map(|ticket| {
            assert_eq!(ticket["relatedParty"][0]["role"], "customer", "{ticket}");
            ticket["relatedParty"][0]["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn a_fault_opens_one_problem_with_its_impact_and_a_ticket_per_customer() {
    let server = TestServer::start_with(|config| config.demo = true).await;
    let inventory = shared_cell(&server, &["Ada", "Grace", "Edsger"]).await;
    let cell = id(&inventory.cell);

    let disabled = patch_resource(&server, &cell, json!({"operationalState": "disable"})).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    let problems = wait_count(&server, &problems_of(&cell), 1).await;
    assert_eq!(problems.len(), 1, "{problems:?}");
    let problem_id = id(&problems[0]);
    let tickets = wait_count(&server, &tickets_of(&problem_id), 3).await;

    // One ticket per customer, about that customer's product and the problem.
    let expected: BTreeSet<String> = inventory.customers.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(ticket_customers(&tickets), expected);
    for ticket in &tickets {
        let customer = ticket["relatedParty"][0]["id"].as_str().unwrap();
        let (_, product) = inventory
            .customers
            .iter()
            .find(|(party, _)| party == customer)
            .unwrap();
        let entities = ticket["relatedEntity"].as_array().unwrap();
        assert!(
            entities.iter().any(|e| e["id"] == product["id"]
                && e["role"] == "affectedProduct"
                && e["@referredType"] == "Product"),
            "{ticket}"
        );
        assert!(
            entities.iter().any(|e| e["id"] == problem_id.as_str()
                && e["role"] == "serviceProblem"
                && e["@referredType"] == "ServiceProblem"),
            "{ticket}"
        );
        assert_eq!(ticket["ticketType"], "incident");
        assert_eq!(ticket["channel"]["id"], "switchboard-assurance");
        assert_eq!(ticket["status"], "acknowledged", "{ticket}");
    }

    // The problem's impact, counted against the inventory and its impact view.
    let linked = eventually(WITHIN, || async {
        let problem = server.get(&format!("{PROBLEMS}/{problem_id}")).await.body;
        problem["troubleTicket"].as_array().map_or(0, Vec::len) == 3
    })
    .await;
    let problem = server.get(&format!("{PROBLEMS}/{problem_id}")).await.body;
    assert!(linked, "{problem}");
    assert_eq!(ids(&problem["troubleTicket"]), ids(&json!(tickets)));
    assert_eq!(problem["category"], "system.originated");
    assert_eq!(problem["rootCauseResource"][0]["id"], cell.as_str());
    assert_eq!(ids(&problem["affectedService"]), inventory.services);
    assert_eq!(problem["affectedNumberOfServices"], 6);
    // 20·log10(1+6) + 20·log10(1+3) = 16.9 + 12.0 → 29; priority 10 − 2 = 8.
    assert_eq!(problem["impactImportanceFactor"], "29", "{problem}");
    assert_eq!(problem["priority"], 8);
    assert!(tickets.iter().all(|ticket| ticket["severity"] == "minor"));
    assert_eq!(problem["affectedLocation"][0]["id"], "site-7", "{problem}");
    let impact = server.get(&format!("{RESOURCES}/{cell}/impact")).await.body;
    assert_eq!(ids(&impact["services"]), inventory.services, "{impact}");
    let records = list(
        &server,
        &format!("{RECORDS}?serviceProblem.id={problem_id}"),
    )
    .await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["eventType"], "resourceFault");
    // Read-only to clients.
    server
        .post(RECORDS, &json!({"eventType": "x"}))
        .await
        .assert_error(405);
}

#[tokio::test]
async fn a_clear_resolves_the_problem_and_its_tickets_but_not_a_customers_own() {
    let server = TestServer::start_with(|config| config.demo = true).await;
    let inventory = shared_cell(&server, &["Barbara", "Niklaus"]).await;
    let cell = id(&inventory.cell);
    patch_resource(&server, &cell, json!({"resourceStatus": "alarm"})).await;
    let problem_id = id(&wait_count(&server, &problems_of(&cell), 1).await[0]);
    let system = wait_count(&server, &tickets_of(&problem_id), 2).await;

    // Barbara calls in about her product: her ticket is linked to the open problem.
    let (barbara, product) = &inventory.customers[0];
    let own = server
        .create(
            TICKETS,
            &json!({
                "description": "No signal since this morning",
                "severity": "major",
                "ticketType": "complaint",
                "relatedParty": [{"id": barbara, "role": "customer", "@referredType": "Individual"}],
                "relatedEntity": [{"id": product["id"], "role": "affectedProduct", "@referredType": "Product"}],
            }),
        )
        .await;
    let own_id = id(&own);
    let linked = eventually(WITHIN, || async {
        let problem = server.get(&format!("{PROBLEMS}/{problem_id}")).await.body;
        ids(&problem["troubleTicket"]).contains(&own_id)
    })
    .await;
    assert!(
        linked,
        "the customer's ticket was not linked to the problem"
    );
    let own = server.get(&format!("{TICKETS}/{own_id}")).await.body;
    assert!(
        own["relatedEntity"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == problem_id.as_str() && e["role"] == "serviceProblem"),
        "{own}"
    );

    // The cell comes back: problem and system tickets resolved, her ticket as it was.
    let cleared = patch_resource(&server, &cell, json!({"resourceStatus": "available"})).await;
    assert_eq!(cleared.status, 200, "{}", cleared.text);
    let resolved = eventually(WITHIN, || async {
        let tickets = list(&server, &tickets_of(&problem_id)).await;
        tickets
            .iter()
            .filter(|ticket| ticket["status"] == "resolved")
            .count()
            == 2
    })
    .await;
    let problem = server.get(&format!("{PROBLEMS}/{problem_id}")).await.body;
    assert!(resolved, "{problem}");
    assert_eq!(problem["status"], "resolved", "{problem}");
    for ticket in &system {
        let ticket = server.get(&format!("{TICKETS}/{}", id(ticket))).await.body;
        assert_eq!(ticket["status"], "resolved", "{ticket}");
        assert!(ticket["note"][0]["text"]
            .as_str()
            .unwrap()
            .contains(&problem_id));
    }
    server.queue().await.wait_idle().await;
    let own_after = server.get(&format!("{TICKETS}/{own_id}")).await.body;
    assert_eq!(own_after["status"], "acknowledged", "{own_after}");
    let records = list(
        &server,
        &format!("{RECORDS}?serviceProblem.id={problem_id}"),
    )
    .await;
    let kinds: BTreeSet<String> = records
        .iter()
        .map(|record| record["eventType"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["resourceFault".into(), "resourceClear".into()])
    );

    // A new fault is a new episode: a second problem, new tickets.
    patch_resource(&server, &cell, json!({"resourceStatus": "alarm"})).await;
    let problems = wait_count(&server, &problems_of(&cell), 2).await;
    let second = problems.iter().find(|p| id(p) != problem_id).unwrap();
    wait_count(&server, &tickets_of(&id(second)), 2).await;
}

#[tokio::test]
async fn repeated_and_concurrent_alarms_join_one_problem() {
    let server = TestServer::start().await;
    let port = server
        .create(
            RESOURCES,
            &json!({"name": "port-1/1/7", "resourceStatus": "available", "operationalState": "enable"}),
        )
        .await;
    let port_id = id(&port);
    // 40 alarms at once, each a different write (its own alarm text).
    let mut set = tokio::task::JoinSet::new();
    for n in 0..40 {
        let client = server.client.clone();
        let url = server.url(&format!("{RESOURCES}/{port_id}"));
        set.spawn(async move {
            let response = client
                .patch(url)
                .header("content-type", "application/merge-patch+json")
                .body(
                    json!({"resourceStatus": "alarm", "description": format!("alarm {n}")})
                        .to_string(),
                )
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        });
    }
    let replies: Vec<(u16, String)> = set.join_all().await;
    let mut written = replies.iter().filter(|(status, _)| *status == 200).count();
    assert!(written > 0);
    for (status, text) in &replies {
        assert!([200, 409].contains(status), "{status}: {text}");
    }
    // Then 10 more, one after the other.
    for n in 0..10 {
        let reply = patch_resource(
            &server,
            &port_id,
            json!({"description": format!("repeat {n}"), "operationalState": "disable"}),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        written += 1;
    }
    server.queue().await.wait_idle().await;
    let problems = list(&server, &problems_of(&port_id)).await;
    assert_eq!(problems.len(), 1, "{problems:?}");
    let problem = &problems[0];
    assert_eq!(problem["status"], "acknowledged", "{problem}");
    assert_eq!(
        problem["relatedEvent"].as_array().unwrap().len(),
        written,
        "one event per alarm written: {problem}"
    );
    let records = list(
        &server,
        &format!("{RECORDS}?serviceProblem.id={}&limit=1000", id(problem)),
    )
    .await;
    assert_eq!(records.len(), written);
    // No product relies on the port: nobody to open a ticket for.
    assert!(list(&server, &tickets_of(&id(problem))).await.is_empty());
}

#[tokio::test]
async fn a_rerun_after_a_restart_duplicates_nothing() {
    let server = TestServer::start_with(|config| config.demo = true).await;
    let inventory = shared_cell(&server, &["Alan", "Kathleen"]).await;
    let cell = id(&inventory.cell);
    patch_resource(&server, &cell, json!({"operationalState": "disable"})).await;
    let problem_id = id(&wait_count(&server, &problems_of(&cell), 1).await[0]);
    wait_count(&server, &tickets_of(&problem_id), 2).await;
    server.queue().await.wait_idle().await;

    // The server stops; the problem's impact job and the cell's fault are queued again
    // (as after a crash between the work and its settle), and it starts again.
    let mut server = server;
    server.stop().await;
    {
        let config = switchboard_store::StoreConfig::new(server.config.database_url.clone());
        let store = switchboard_store::Store::open(&config).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let now = switchboard_store::now_millis();
        let impact = json!({"problem": problem_id}).to_string();
        tx.enqueue("assurance.impact", &impact, None, now)
            .await
            .unwrap();
        tx.enqueue("assurance.impact", &impact, None, now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let server = server.restart().await;
    server.queue().await.wait_idle().await;
    let tickets = list(&server, &tickets_of(&problem_id)).await;
    assert_eq!(tickets.len(), 2, "{tickets:?}");
    let problem = server.get(&format!("{PROBLEMS}/{problem_id}")).await.body;
    assert_eq!(
        problem["troubleTicket"].as_array().unwrap().len(),
        2,
        "{problem}"
    );
    assert_eq!(list(&server, &problems_of(&cell)).await.len(), 1);
}

#[tokio::test]
async fn a_problem_naming_only_a_service_gets_impact_and_tickets_and_resolves_them() {
    // As an SLO breach raises one (TMF657): a service, no resource.
    let server = TestServer::start_with(|config| config.demo = true).await;
    let (party, product) = customer_with_product(&server, "Frances").await;
    let cfs_id = product["realizingService"][0]["id"].as_str().unwrap();
    let problem = server
        .create(
            PROBLEMS,
            &json!({
                "category": "system.originated",
                "description": "Latency objective breached",
                "reason": "sloViolation",
                "priority": 4,
                "originatorParty": {"id": "noc", "@referredType": "Organization"},
                "affectedService": [{"id": cfs_id}],
            }),
        )
        .await;
    let problem_id = id(&problem);
    let tickets = wait_count(&server, &tickets_of(&problem_id), 1).await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(ticket_customers(&tickets), BTreeSet::from([party]));
    let filled = eventually(WITHIN, || async {
        let problem = server.get(&format!("{PROBLEMS}/{problem_id}")).await.body;
        problem["impactImportanceFactor"].is_string()
    })
    .await;
    let problem = server.get(&format!("{PROBLEMS}/{problem_id}")).await.body;
    assert!(filled, "{problem}");
    // Its priority is the client's; the CFS is the one service affected.
    assert_eq!(problem["priority"], 4);
    assert_eq!(problem["affectedNumberOfServices"], 1, "{problem}");

    let resolved = server
        .patch(
            &format!("{PROBLEMS}/{problem_id}"),
            "application/merge-patch+json",
            &json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    let ticket_id = id(&tickets[0]);
    let done = eventually(WITHIN, || async {
        server.get(&format!("{TICKETS}/{ticket_id}")).await.body["status"] == "resolved"
    })
    .await;
    assert!(done, "the system ticket was not resolved");
}

#[tokio::test]
async fn ended_products_get_no_ticket() {
    let server = TestServer::start_with(|config| config.demo = true).await;
    let inventory = shared_cell(&server, &["Tony", "Donald"]).await;
    let cell = id(&inventory.cell);
    // Donald's product has ended: he is not affected any more.
    let (_, product) = &inventory.customers[1];
    let terminated = server
        .patch(
            &format!("{PRODUCTS}/{}", id(product)),
            "application/merge-patch+json",
            &json!({"status": "terminated"}),
        )
        .await;
    assert_eq!(terminated.status, 200, "{}", terminated.text);
    patch_resource(&server, &cell, json!({"operationalState": "disable"})).await;
    let problem_id = id(&wait_count(&server, &problems_of(&cell), 1).await[0]);
    let tickets = wait_count(&server, &tickets_of(&problem_id), 1).await;
    server.queue().await.wait_idle().await;
    let tickets_now = list(&server, &tickets_of(&problem_id)).await;
    assert_eq!(tickets_now.len(), 1, "{tickets_now:?}");
    assert_eq!(
        ticket_customers(&tickets),
        BTreeSet::from([inventory.customers[0].0.clone()])
    );
    let impact = server.get(&format!("{RESOURCES}/{cell}/impact")).await.body;
    assert!(!ids(&impact["products"]).contains(&id(product)), "{impact}");
}

#[tokio::test]
async fn a_fault_joins_the_open_problem_a_client_raised_about_the_resource() {
    let server = TestServer::start().await;
    let spec = server
        .create(
            "/tmf-api/serviceCatalogManagement/v4/serviceSpecification",
            &json!({"name": "Access RFS", "@type": "ResourceFacingServiceSpecification"}),
        )
        .await;
    let party = server
        .create(
            &format!("{PARTY}/individual"),
            &json!({"givenName": "Margaret", "familyName": "Hamilton"}),
        )
        .await;
    let port = server
        .create(
            RESOURCES,
            &json!({"name": "port-9", "resourceStatus": "available", "operationalState": "enable"}),
        )
        .await;
    let service = server
        .create(
            SERVICES,
            &json!({"name": "access", "state": "active", "serviceSpecification": {"id": spec["id"]},
                    "supportingResource": [{"id": port["id"]}]}),
        )
        .await;
    let product = server
        .create(
            PRODUCTS,
            &json!({"name": "broadband", "status": "active",
                    "realizingService": [{"id": service["id"]}],
                    "relatedParty": [{"id": party["id"], "role": "customer", "@referredType": "Individual"},
                                     {"id": "reseller-1", "role": "reseller", "@referredType": "Organization"}]}),
        )
        .await;
    // An operator reports the port before any alarm.
    let reported = server
        .create(
            PROBLEMS,
            &json!({
                "category": "serviceProvider.declarer",
                "description": "Port flapping",
                "reason": "customerReports",
                "priority": 3,
                "originatorParty": {"id": "noc", "@referredType": "Organization"},
                "affectedResource": [{"id": port["id"]}],
            }),
        )
        .await;
    let problem_id = id(&reported);
    // One ticket: the reseller is no customer.
    let tickets = wait_count(&server, &tickets_of(&problem_id), 1).await;
    assert_eq!(ticket_customers(&tickets), BTreeSet::from([id(&party)]));
    assert_eq!(tickets[0]["relatedEntity"][0]["id"], product["id"]);

    // The alarm joins that problem.
    let port_id = id(&port);
    patch_resource(&server, &port_id, json!({"resourceStatus": "alarm"})).await;
    server.queue().await.wait_idle().await;
    let problems = list(&server, &problems_of(&port_id)).await;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(id(&problems[0]), problem_id);
    assert_eq!(problems[0]["relatedEvent"].as_array().unwrap().len(), 1);
    assert_eq!(problems[0]["priority"], 3, "the client's priority is kept");

    // With no root cause named, the clear of the resource it affects resolves it.
    patch_resource(&server, &port_id, json!({"resourceStatus": "available"})).await;
    let ticket_id = id(&tickets[0]);
    let done = eventually(WITHIN, || async {
        server.get(&format!("{TICKETS}/{ticket_id}")).await.body["status"] == "resolved"
    })
    .await;
    let problem = server.get(&format!("{PROBLEMS}/{problem_id}")).await.body;
    assert!(done, "{problem}");
    assert_eq!(problem["status"], "resolved");
}

/// The `relatedEventCount` characteristic of a problem.
fn event_count(problem: &Value) -> u64 {
    problem["characteristic"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["name"] == "relatedEventCount")
        .unwrap_or_else(|| panic!("no relatedEventCount: {problem}"))["value"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_flapping_resource_keeps_its_problem_bounded_and_every_record() {
    let server = TestServer::start().await;
    let port = server
        .create(
            RESOURCES,
            &json!({"name": "port-2/0/1", "resourceStatus": "available", "operationalState": "enable"}),
        )
        .await;
    let port_id = id(&port);
    // 130 alarms while the port stays down, then the clear: 131 events.
    for n in 0..130 {
        let body = json!({"resourceStatus": "alarm", "description": format!("flap {n}")});
        let reply = patch_resource(&server, &port_id, body).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    server.queue().await.wait_idle().await;
    let problems = list(&server, &problems_of(&port_id)).await;
    assert_eq!(problems.len(), 1, "{problems:?}");
    let problem_id = id(&problems[0]);
    let problem = &problems[0];
    assert_eq!(event_count(problem), 130);
    let window = problem["relatedEvent"].as_array().unwrap();
    assert_eq!(window.len(), 50, "{problem}");
    // The first event stays (the one that opened it), then the latest 49 in order.
    assert_eq!(window[0]["id"], problem["firstAlert"]["id"]);
    let records = list(
        &server,
        &format!("{RECORDS}?serviceProblem.id={problem_id}&limit=1000"),
    )
    .await;
    assert_eq!(records.len(), 130);
    let mut recorded: Vec<String> = records
        .iter()
        .map(|record| {
            record["notification"]["eventId"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // Event ids are UUIDv7, in the order the writes committed.
    recorded.sort();
    let kept: Vec<String> = window.iter().map(id).collect();
    let mut expected = vec![recorded[0].clone()];
    expected.extend(recorded[130 - 49..].iter().cloned());
    assert_eq!(kept, expected);

    // The clear is the last event in the window, and counted.
    patch_resource(&server, &port_id, json!({"resourceStatus": "available"})).await;
    server.queue().await.wait_idle().await;
    let problem = server.get(&format!("{PROBLEMS}/{problem_id}")).await.body;
    assert_eq!(problem["status"], "resolved", "{problem}");
    assert_eq!(event_count(&problem), 131);
    let window = problem["relatedEvent"].as_array().unwrap();
    assert_eq!(window.len(), 50);
    assert_eq!(window[49]["@referredType"], "ResourceClear");
    assert_eq!(window[0]["id"], problem["firstAlert"]["id"]);
    let records = list(
        &server,
        &format!("{RECORDS}?serviceProblem.id={problem_id}&limit=1000"),
    )
    .await;
    assert_eq!(records.len(), 131);
}
