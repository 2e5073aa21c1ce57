//! The three ordering APIs over HTTP (TMF622 product, TMF641 service, TMF652 resource
//! orders, one shared engine): orders acknowledged on receipt with server-owned states,
//! merge patches, and the cancel task: it takes an order still in flight to cancelled
//! with its events (the orders made for it too, and what they did undone), and refuses
//! an order that already ended. And TMF640 service activation (services with their
//! state machine, read-only monitors).
//!
//! Every new order is worked on by the server at once (the `fulfilment` crate;
//! `order_validation.rs` tests a product order's validation). The minimal orders here
//! settle fast: a product order for an offering without a specification completes (a
//! product in TMF637, nothing ordered below it), while the service and resource orders
//! name specifications the catalog does not hold and are rejected. An order is kept in
//! flight by a catalog whose service needs activating and a simulator that takes its
//! time over it.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::*;

const WITHIN: Duration = Duration::from_secs(10);
const MERGE: &str = "application/merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";
const ACTIVATION: &str = "/tmf-api/ServiceActivationAndConfiguration/v4";
const OFFERINGS: &str = "/tmf-api/productCatalogManagement/v4/productOffering";
const PRODUCT_SPECS: &str = "/tmf-api/productCatalogManagement/v4/productSpecification";
const SERVICE_SPECS: &str = "/tmf-api/serviceCatalogManagement/v4/serviceSpecification";
const RESOURCE_SPECS: &str = "/tmf-api/resourceCatalog/v4/resourceSpecification";
const PRODUCTS: &str = "/tmf-api/productInventory/v4/product";
const SERVICES: &str = "/tmf-api/serviceInventory/v4/service";
const RESOURCES: &str = "/tmf-api/resourceInventoryManagement/v4/resource";
/// How long the slow simulator takes over each activation (and each deactivation).
const ACTIVATION_DELAY: Duration = Duration::from_millis(3000);

/// One ordering API: where its orders and cancel tasks live, and a valid minimal order.
struct OrderApi {
    base: &'static str,
    /// "productOrder".
    collection: &'static str,
    /// "ProductOrder": the prefix of the order's event types.
    resource_type: &'static str,
    /// The attribute listing the items (nested items use the same name).
    items: &'static str,
    /// "cancelProductOrder".
    cancel: &'static str,
    /// A new cancel task's state, as the API's `TaskStateType` names it (TMF641 v4
    /// says `accepted`, the others `acknowledged`).
    task_received: &'static str,
    /// A minimal order whose order and items claim `state: completed`, given the id of
    /// a launched product offering without a specification (only product orders name
    /// one).
    body: fn(&str) -> Value,
    /// The state the minimal order ends in once the server has worked on it, and its
    /// items too: a product order completes, the others are rejected (their
    /// specifications are not in the catalog).
    settled: &'static str,
    /// What the note of a rejected minimal order says.
    verdict: Option<&'static str>,
}

const ORDER_APIS: [OrderApi; 3] = [
    OrderApi {
        base: "/tmf-api/productOrderingManagement/v4",
        collection: "productOrder",
        resource_type: "ProductOrder",
        items: "productOrderItem",
        cancel: "cancelProductOrder",
        task_received: "acknowledged",
        body: |offering| {
            json!({
                "state": "completed",
                "productOrderItem": [{
                    "id": "1",
                    "action": "add",
                    "state": "completed",
                    "productOffering": {"id": offering},
                    "productOrderItem": [{
                        "id": "1.1",
                        "action": "add",
                        "state": "completed",
                        "productOffering": {"id": offering},
                    }],
                }],
            })
        },
        settled: "completed",
        verdict: None,
    },
    OrderApi {
        base: "/tmf-api/serviceOrdering/v4",
        collection: "serviceOrder",
        resource_type: "ServiceOrder",
        items: "serviceOrderItem",
        cancel: "cancelServiceOrder",
        task_received: "accepted",
        body: |_| {
            json!({
                "state": "completed",
                "serviceOrderItem": [{
                    "id": "1",
                    "action": "add",
                    "state": "completed",
                    "service": {"serviceSpecification": {"id": "cfs45"}},
                    "serviceOrderItem": [{
                        "id": "1.1",
                        "action": "add",
                        "state": "completed",
                        "service": {"name": "access line"},
                    }],
                }],
            })
        },
        settled: "rejected",
        verdict: Some("item 1: serviceSpecification 'cfs45' does not exist"),
    },
    OrderApi {
        base: "/tmf-api/resourceOrderingManagement/v4",
        collection: "resourceOrder",
        resource_type: "ResourceOrder",
        items: "orderItem",
        cancel: "cancelResourceOrder",
        task_received: "acknowledged",
        body: |_| {
            json!({
                "state": "completed",
                "orderItem": [{
                    "id": "1",
                    "action": "add",
                    "state": "completed",
                    "resourceSpecification": {"id": "ont"},
                }],
            })
        },
        settled: "rejected",
        verdict: Some("item 1: resourceSpecification 'ont' does not exist"),
    },
];

const PRODUCT_ORDERS: &OrderApi = &ORDER_APIS[0];
const SERVICE_ORDERS: &OrderApi = &ORDER_APIS[1];
const RESOURCE_ORDERS: &OrderApi = &ORDER_APIS[2];

impl OrderApi {
    fn orders(&self) -> String {
        format!("{}/{}", self.base, self.collection)
    }

    fn cancels(&self) -> String {
        format!("{}/{}", self.base, self.cancel)
    }

    /// Creates the minimal order, asserting 201, and waits until the server is done
    /// with it; returns its path and the stored order.
    async fn settled_order(&self, server: &TestServer, offering: &str) -> (String, Value) {
        let created = server.create(&self.orders(), &(self.body)(offering)).await;
        let path = format!("{}/{}", self.orders(), created["id"].as_str().unwrap());
        server.queue().await.wait_idle().await;
        let (stored, _) = read(server, &path).await;
        assert_eq!(stored["state"], self.settled, "{stored}");
        (path, stored)
    }

    /// POSTs a cancel task for `order_id`.
    async fn cancel_order(&self, server: &TestServer, order_id: &str, reason: &str) -> Reply {
        server
            .post(
                &self.cancels(),
                &json!({self.collection: {"id": order_id}, "cancellationReason": reason}),
            )
            .await
    }

    /// The states of every item, nested items included, depth first.
    fn item_states(&self, order: &Value) -> Vec<String> {
        let mut states = Vec::new();
        self.collect_item_states(order, &mut states);
        states
    }

    fn collect_item_states(&self, node: &Value, states: &mut Vec<String>) {
        let Some(items) = node.get(self.items).and_then(Value::as_array) else {
            return;
        };
        for item in items {
            states.push(item["state"].as_str().unwrap_or("<none>").to_string());
            self.collect_item_states(item, states);
        }
    }

    /// The states of the order's own items (fulfilment works on these).
    fn top_item_states(&self, order: &Value) -> Vec<String> {
        order[self.items]
            .as_array()
            .into_iter()
            .flatten()
            .map(|item| item["state"].as_str().unwrap_or("<none>").to_string())
            .collect()
    }

    /// How many items (nested ones included) the minimal order has.
    fn item_count(&self) -> usize {
        self.item_states(&(self.body)("offering")).len()
    }

    /// The states carried by the order's state change events for `order_id`, in the
    /// order they arrived.
    fn state_changes(&self, events: &[Value], order_id: &str) -> Vec<String> {
        let event_type = format!("{}StateChangeEvent", self.resource_type);
        events
            .iter()
            .filter(|event| event["eventType"] == event_type.as_str())
            .map(|event| &event["event"][self.collection])
            .filter(|order| order["id"] == order_id)
            .map(|order| order["state"].as_str().unwrap_or("<none>").to_string())
            .collect()
    }

    /// The last state change event of `order_id` that arrived.
    fn last_state_change(&self, events: &[Value], order_id: &str) -> Value {
        let event_type = format!("{}StateChangeEvent", self.resource_type);
        events
            .iter()
            .rfind(|event| {
                event["eventType"] == event_type.as_str()
                    && event["event"][self.collection]["id"] == order_id
            })
            .cloned()
            .unwrap_or(Value::Null)
    }
}

/// `2024-05-01T10:00:00.123Z`: UTC with milliseconds, as the server writes dates.
fn is_instant(value: &Value) -> bool {
    let Some(text) = value.as_str() else {
        return false;
    };
    text.len() == 24
        && text.chars().enumerate().all(|(index, c)| match index {
            4 | 7 => c == '-',
            10 => c == 'T',
            13 | 16 => c == ':',
            19 => c == '.',
            23 => c == 'Z',
            _ => c.is_ascii_digit(),
        })
}

/// A state other than `current` a client might claim.
fn another_state(current: &Value) -> &'static str {
    if current == "completed" {
        "failed"
    } else {
        "completed"
    }
}

/// Creates the offering `body` describes "In test" and launches it; returns its id.
async fn launch(server: &TestServer, mut body: Value) -> String {
    body["lifecycleStatus"] = json!("In test");
    let created = server.create(OFFERINGS, &body).await;
    let id = created["id"].as_str().unwrap().to_string();
    let launched = server
        .patch(
            &format!("{OFFERINGS}/{id}"),
            MERGE,
            &json!({"lifecycleStatus": "Launched"}),
        )
        .await;
    assert_eq!(launched.status, 200, "{}", launched.text);
    id
}

/// A launched product offering without a specification: a product order for it needs
/// nothing below the product.
async fn launched_offering(server: &TestServer) -> String {
    launch(server, json!({"name": "Fiber 1G"})).await
}

/// A catalog whose one service needs activating: an RFS, a CFS that depends on it, a
/// product specification the CFS realizes, and a launched offering of that.
struct ActivatedCatalog {
    offering: String,
    cfs: String,
}

async fn activated_catalog(server: &TestServer) -> ActivatedCatalog {
    let rfs = server
        .create(
            SERVICE_SPECS,
            &json!({"name": "Access RFS", "@type": "ResourceFacingServiceSpecification"}),
        )
        .await;
    let cfs = server
        .create(
            SERVICE_SPECS,
            &json!({"name": "Internet CFS", "@type": "CustomerFacingServiceSpecification",
                    "serviceSpecRelationship": [
                        {"id": rfs["id"], "relationshipType": "dependency"}]}),
        )
        .await;
    let spec = server
        .create(
            PRODUCT_SPECS,
            &json!({"name": "Fiber", "serviceSpecification": [{"id": cfs["id"]}]}),
        )
        .await;
    let offering = launch(
        server,
        json!({"name": "Fiber 1G", "productSpecification": {"id": spec["id"]}}),
    )
    .await;
    ActivatedCatalog {
        offering,
        cfs: cfs["id"].as_str().unwrap().to_string(),
    }
}

async fn subscribe(server: &TestServer, base: &str, callback: &str) {
    let reply = server
        .post(
            &format!("{base}/hub"),
            &json!({"callback": callback, "query": ""}),
        )
        .await;
    assert_eq!(reply.status, 201, "POST {base}/hub: {}", reply.text);
}

/// Reads `path` until its `state` is `expected` (or fails at the deadline); returns it.
async fn wait_for_state(server: &TestServer, path: &str, expected: &str) -> Value {
    let deadline = Instant::now() + WITHIN;
    loop {
        let (last, _) = read(server, path).await;
        if last["state"] == expected {
            return last;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never reached state {expected}: {last}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Reads `path`, asserting 200; returns the body and the ETag.
async fn read(server: &TestServer, path: &str) -> (Value, String) {
    let reply = server.get(path).await;
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.text);
    let etag = reply.header("etag").unwrap_or_default().to_string();
    (reply.body, etag)
}

/// Every entry of the collection at `path`.
async fn list(server: &TestServer, path: &str) -> Vec<Value> {
    let (listed, _) = read(server, path).await;
    listed.as_array().cloned().unwrap_or_default()
}

/// The service orders the product order `order_id` made (their `externalReference`
/// names it).
async fn service_orders_for(server: &TestServer, order_id: &str) -> Vec<Value> {
    list(server, &SERVICE_ORDERS.orders())
        .await
        .into_iter()
        .filter(|order| {
            order["externalReference"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|reference| {
                    reference["externalReferenceType"] == "ProductOrder"
                        && reference["name"] == order_id
                })
        })
        .collect()
}

fn notes(order: &Value) -> String {
    order["note"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|note| note["text"].as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[tokio::test]
async fn a_new_order_is_acknowledged_whatever_state_the_client_sent() {
    let server = TestServer::start().await;
    let offering = launched_offering(&server).await;
    for api in &ORDER_APIS {
        let reply = server.post(&api.orders(), &(api.body)(&offering)).await;
        assert_eq!(reply.status, 201, "POST {}: {}", api.orders(), reply.text);
        let order = &reply.body;
        let id = order["id"].as_str().unwrap();
        assert!(!id.is_empty());
        assert_eq!(
            order["href"],
            server.url(&format!("{}/{id}", api.orders())),
            "{order}"
        );
        assert!(is_instant(&order["orderDate"]), "{order}");
        assert_eq!(order["state"], "acknowledged", "{order}");
        let items = api.item_states(order);
        assert_eq!(items.len(), api.item_count(), "{order}");
        assert!(
            items.iter().all(|state| state == "acknowledged"),
            "{}: item states {items:?}",
            api.collection
        );

        // What happens next is the server's doing, never the client's `completed`.
        server.queue().await.wait_idle().await;
        let (stored, _) = read(&server, &format!("{}/{id}", api.orders())).await;
        assert_eq!(stored["orderDate"], order["orderDate"], "{stored}");
        assert_eq!(stored["state"], api.settled, "{stored}");
        assert_eq!(
            api.top_item_states(&stored),
            [api.settled],
            "{}: {stored}",
            api.collection
        );
        match api.verdict {
            Some(reason) => {
                assert!(notes(&stored).contains(reason), "{reason}: {stored}");
                assert!(stored.get("completionDate").is_none(), "{stored}");
            }
            None => {
                assert!(stored.get("note").is_none(), "{stored}");
                assert!(is_instant(&stored["completionDate"]), "{stored}");
            }
        }
    }

    // The product order completed because the server fulfilled it: the product it made
    // is in the inventory.
    let orders = list(&server, &PRODUCT_ORDERS.orders()).await;
    assert_eq!(orders.len(), 1, "{orders:?}");
    let products = list(&server, PRODUCTS).await;
    assert_eq!(products.len(), 1, "{products:?}");
    let product = &products[0];
    assert_eq!(product["status"], "active", "{product}");
    assert_eq!(product["productOffering"]["id"], offering, "{product}");
    assert_eq!(
        product["productOrderItem"][0]["productOrderId"], orders[0]["id"],
        "{product}"
    );
    assert_eq!(
        product["productOrderItem"][0]["orderItemId"], "1",
        "{product}"
    );
}

#[tokio::test]
async fn the_order_state_is_the_servers_and_a_merge_patch_needs_no_items() {
    let server = TestServer::start().await;
    let offering = launched_offering(&server).await;
    for api in &ORDER_APIS {
        let (path, created) = api.settled_order(&server, &offering).await;
        let (_, etag) = read(&server, &path).await;

        let claimed = another_state(&created["state"]);
        let merged = server.patch(&path, MERGE, &json!({"state": claimed})).await;
        merged.assert_error(400);
        assert!(
            merged.body["message"].as_str().unwrap().contains("'state'"),
            "{}",
            merged.text
        );
        let replaced = server
            .patch(
                &path,
                JSON_PATCH,
                &json!([{"op": "replace", "path": "/state", "value": claimed}]),
            )
            .await;
        replaced.assert_error(400);
        // Item states are the server's too, by merge patch or by JSON Patch.
        let mut items = created[api.items].clone();
        items[0]["state"] = json!(another_state(&items[0]["state"]));
        let merged_item = server
            .patch(&path, MERGE, &json!({ api.items: items }))
            .await;
        merged_item.assert_error(400);
        assert!(
            merged_item.text.contains("[].state"),
            "{}",
            merged_item.text
        );
        let item_state = format!("/{}/0/state", api.items);
        server
            .patch(
                &path,
                JSON_PATCH,
                &json!([{"op": "replace", "path": item_state, "value": "inProgress"}]),
            )
            .await
            .assert_error(400);
        let (stored, stored_etag) = read(&server, &path).await;
        assert_eq!(stored, created, "{}", api.collection);
        assert_eq!(stored_etag, etag, "{}", api.collection);

        // The Update definitions may require the items (TMF622's does); a merge patch
        // names only what changes.
        let described = server
            .patch(&path, MERGE, &json!({"description": "moved to Friday"}))
            .await;
        assert_eq!(
            described.status, 200,
            "PATCH {path} description: {}",
            described.text
        );
        let mut expected = created.clone();
        expected["description"] = json!("moved to Friday");
        assert_eq!(described.body, expected, "{}", api.collection);
        let (stored, _) = read(&server, &path).await;
        assert_eq!(stored, expected, "{}", api.collection);
    }
}

/// Cancels an order of `api` (`body`, given the catalog) while the activation of its
/// service is under way, and follows the cancellation to its end, and past the end of
/// that activation.
async fn cancel_in_flight(api: &OrderApi, body: fn(&ActivatedCatalog) -> Value) {
    let server = TestServer::start_with(|config| {
        config.activation = format!("simulator:{}", ACTIVATION_DELAY.as_millis());
    })
    .await;
    let catalog = activated_catalog(&server).await;
    let listener = Listener::start(0).await;
    subscribe(&server, PRODUCT_ORDERS.base, &listener.url).await;
    subscribe(&server, SERVICE_ORDERS.base, &listener.url).await;

    let created = server.create(&api.orders(), &body(&catalog)).await;
    let order_id = created["id"].as_str().unwrap().to_string();
    let path = format!("{}/{order_id}", api.orders());
    // The service order whose activation holds everything up: the order itself, or the
    // one the product order made.
    let service_order_id = if api.collection == SERVICE_ORDERS.collection {
        order_id.clone()
    } else {
        let made = eventually(WITHIN, || async {
            !service_orders_for(&server, &order_id).await.is_empty()
        })
        .await;
        assert!(made, "no service order for {order_id}");
        let found = service_orders_for(&server, &order_id).await;
        assert_eq!(found.len(), 1, "{found:?}");
        found[0]["id"].as_str().unwrap().to_string()
    };
    let service_order_path = format!("{}/{service_order_id}", SERVICE_ORDERS.orders());
    wait_for_state(&server, &service_order_path, "inProgress").await;
    // Long enough for the activation to begin, far from long enough for it to end.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (in_flight, _) = read(&server, &path).await;
    assert_eq!(in_flight["state"], "inProgress", "{in_flight}");
    let (in_flight, _) = read(&server, &service_order_path).await;
    assert_eq!(in_flight["state"], "inProgress", "{in_flight}");

    let reply = api.cancel_order(&server, &order_id, "customer moved").await;
    assert_eq!(reply.status, 201, "POST {}: {}", api.cancels(), reply.text);
    let task = &reply.body;
    let task_id = task["id"].as_str().unwrap();
    let task_path = format!("{}/{task_id}", api.cancels());
    assert_eq!(task["href"], server.url(&task_path), "{task}");
    assert_eq!(task["state"], api.task_received, "{task}");
    assert_eq!(task[api.collection]["id"], order_id.as_str(), "{task}");
    assert_eq!(task["cancellationReason"], "customer moved", "{task}");

    let task = wait_for_state(&server, &task_path, "done").await;
    assert!(is_instant(&task["effectiveCancellationDate"]), "{task}");
    assert!(task.get("errorMessage").is_none(), "{task}");

    // The task is done only after the order's last step.
    let (order, etag) = read(&server, &path).await;
    assert_eq!(order["state"], "cancelled", "{order}");
    assert!(is_instant(&order["cancellationDate"]), "{order}");
    assert_eq!(order["cancellationReason"], "customer moved", "{order}");
    assert_eq!(order["orderDate"], created["orderDate"], "{order}");
    let items = api.top_item_states(&order);
    assert_eq!(items, ["cancelled"], "{order}");

    // So is the service order made for a product order, by a cancel task of its own.
    let (service_order, service_order_etag) = read(&server, &service_order_path).await;
    assert_eq!(service_order["state"], "cancelled", "{service_order}");
    assert!(
        is_instant(&service_order["cancellationDate"]),
        "{service_order}"
    );
    assert_eq!(
        SERVICE_ORDERS.top_item_states(&service_order),
        ["cancelled"],
        "{service_order}"
    );
    let service_tasks = list(&server, &SERVICE_ORDERS.cancels()).await;
    assert_eq!(service_tasks.len(), 1, "{service_tasks:?}");
    let service_task = &service_tasks[0];
    assert_eq!(
        service_task["serviceOrder"]["id"],
        service_order_id.as_str(),
        "{service_task}"
    );
    assert_eq!(service_task["state"], "done", "{service_task}");
    assert!(
        is_instant(&service_task["effectiveCancellationDate"]),
        "{service_task}"
    );
    if api.collection == PRODUCT_ORDERS.collection {
        let reason = service_order["cancellationReason"].as_str().unwrap_or("");
        assert!(reason.contains(&order_id), "{service_order}");
    }

    // Each step was announced, the service order's as well as the order's.
    let steps = [
        "inProgress",
        "assessingCancellation",
        "pendingCancellation",
        "cancelled",
    ];
    // A service order made for a product order starts in progress (it was checked
    // with the product order): its first announced move is the cancellation's.
    let service_steps: &[&str] = if api.collection == PRODUCT_ORDERS.collection {
        &steps[1..]
    } else {
        &steps
    };
    let changes = |events: &[Value]| {
        (
            api.state_changes(events, &order_id),
            SERVICE_ORDERS.state_changes(events, &service_order_id),
        )
    };
    let arrived = eventually(WITHIN, || async {
        let (order_changes, service_order_changes) = changes(&listener.events());
        order_changes.len() >= steps.len() && service_order_changes.len() >= service_steps.len()
    })
    .await;
    assert!(arrived, "events {:?}", listener.events());

    // The activation under way when the cancellation began ends after it: what it
    // brought up is taken down again, and nothing about the orders changes.
    tokio::time::sleep(ACTIVATION_DELAY + Duration::from_secs(1)).await;
    server.queue().await.wait_idle().await;
    let services = list(&server, SERVICES).await;
    let made: Vec<&Value> = services
        .iter()
        .filter(|service| {
            service["serviceOrderItem"][0]["serviceOrderId"] == service_order_id.as_str()
        })
        .collect();
    // Written and terminated, or never written: never left live.
    assert!(made.len() <= 2, "at most the CFS and its RFS: {services:?}");
    for service in &services {
        assert_eq!(service["state"], "terminated", "{service}");
    }
    let products = list(&server, PRODUCTS).await;
    assert!(
        !products.iter().any(|product| product["status"] == "active"),
        "{products:?}"
    );
    let (unchanged, unchanged_etag) = read(&server, &path).await;
    assert_eq!(unchanged, order, "{}", api.collection);
    assert_eq!(unchanged_etag, etag, "{}", api.collection);
    let (unchanged, unchanged_etag) = read(&server, &service_order_path).await;
    assert_eq!(unchanged, service_order);
    assert_eq!(unchanged_etag, service_order_etag);
    let events = listener.events();
    assert_eq!(
        changes(&events),
        (
            steps.map(str::to_string).to_vec(),
            service_steps
                .iter()
                .map(|step| step.to_string())
                .collect::<Vec<_>>()
        ),
        "events {events:?}"
    );
    let last = api.last_state_change(&events, &order_id);
    assert_eq!(last["event"][api.collection], order, "{last}");

    // The done task is never changed.
    server
        .patch(&task_path, MERGE, &json!({"cancellationReason": "other"}))
        .await
        .assert_error(405);
    server.delete(&task_path).await.assert_error(405);
    let (stored, _) = read(&server, &task_path).await;
    assert_eq!(stored, task);
}

#[tokio::test]
async fn a_cancel_task_takes_a_product_order_in_flight_and_its_service_order_to_cancelled() {
    cancel_in_flight(PRODUCT_ORDERS, |catalog| {
        json!({"productOrderItem": [
            {"id": "1", "action": "add", "productOffering": {"id": catalog.offering}}]})
    })
    .await;
}

#[tokio::test]
async fn a_cancel_task_takes_a_service_order_in_flight_to_cancelled() {
    cancel_in_flight(SERVICE_ORDERS, |catalog| {
        json!({"serviceOrderItem": [
            {"id": "1", "action": "add", "service": {"serviceSpecification": {"id": catalog.cfs}}}]})
    })
    .await;
}

#[tokio::test]
async fn a_second_cancel_task_of_a_cancelled_order_is_done_and_changes_nothing() {
    let server =
        TestServer::start_with(|config| config.activation = "simulator:1000".to_string()).await;
    let catalog = activated_catalog(&server).await;
    let created = server
        .create(
            &SERVICE_ORDERS.orders(),
            &json!({"serviceOrderItem": [{"id": "1", "action": "add",
                     "service": {"serviceSpecification": {"id": catalog.cfs}}}]}),
        )
        .await;
    let order_id = created["id"].as_str().unwrap();
    let path = format!("{}/{order_id}", SERVICE_ORDERS.orders());
    wait_for_state(&server, &path, "inProgress").await;
    let first = SERVICE_ORDERS
        .cancel_order(&server, order_id, "customer moved")
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let first_path = format!(
        "{}/{}",
        SERVICE_ORDERS.cancels(),
        first.body["id"].as_str().unwrap()
    );
    let first = wait_for_state(&server, &first_path, "done").await;
    let queue = server.queue().await;
    queue.wait_idle().await;
    let (order, etag) = read(&server, &path).await;
    assert_eq!(order["state"], "cancelled", "{order}");

    let again = SERVICE_ORDERS
        .cancel_order(&server, order_id, "changed mind")
        .await;
    assert_eq!(again.status, 201, "{}", again.text);
    let again_path = format!(
        "{}/{}",
        SERVICE_ORDERS.cancels(),
        again.body["id"].as_str().unwrap()
    );
    let again = wait_for_state(&server, &again_path, "done").await;
    assert!(is_instant(&again["effectiveCancellationDate"]), "{again}");
    queue.wait_idle().await;
    let (unchanged, unchanged_etag) = read(&server, &path).await;
    assert_eq!(unchanged, order);
    assert_eq!(unchanged_etag, etag);
    // The first task is untouched by the second.
    let (stored, _) = read(&server, &first_path).await;
    assert_eq!(stored, first);
}

#[tokio::test]
async fn a_cancel_task_for_an_order_that_ended_ends_in_error_naming_its_state() {
    let server = TestServer::start().await;
    let offering = launched_offering(&server).await;
    // The minimal orders end at once: the product order completed, the others rejected.
    let mut ended = Vec::new();
    for api in &ORDER_APIS {
        let (path, order) = api.settled_order(&server, &offering).await;
        ended.push((api, path, order));
    }
    // And a resource order that completed: its specification is in the catalog.
    let spec = server.create(RESOURCE_SPECS, &json!({"name": "ONT"})).await;
    let created = server
        .create(
            &RESOURCE_ORDERS.orders(),
            &json!({"orderItem": [{"id": "1", "action": "add",
                                   "resourceSpecification": {"id": spec["id"]}}]}),
        )
        .await;
    server.queue().await.wait_idle().await;
    let path = format!(
        "{}/{}",
        RESOURCE_ORDERS.orders(),
        created["id"].as_str().unwrap()
    );
    let (completed, _) = read(&server, &path).await;
    assert_eq!(completed["state"], "completed", "{completed}");
    assert_eq!(list(&server, RESOURCES).await.len(), 1);
    ended.push((RESOURCE_ORDERS, path, completed));

    for (api, path, order) in ended {
        let (_, etag) = read(&server, &path).await;
        let order_id = order["id"].as_str().unwrap();
        let state = order["state"].as_str().unwrap();
        let reply = api.cancel_order(&server, order_id, "too late").await;
        assert_eq!(reply.status, 201, "POST {}: {}", api.cancels(), reply.text);
        assert_eq!(reply.body["state"], api.task_received, "{}", reply.text);
        let task_path = format!("{}/{}", api.cancels(), reply.body["id"].as_str().unwrap());
        let task = wait_for_state(&server, &task_path, "terminatedWithError").await;
        let message = task["errorMessage"].as_str().unwrap_or_default();
        assert!(
            message.contains(order_id) && message.contains(&format!("is {state}")),
            "{}: {task}",
            api.collection
        );
        assert!(task.get("effectiveCancellationDate").is_none(), "{task}");
        server.queue().await.wait_idle().await;
        let (unchanged, unchanged_etag) = read(&server, &path).await;
        assert_eq!(unchanged, order, "{}", api.collection);
        assert_eq!(unchanged_etag, etag, "{}", api.collection);
    }
    // What the completed orders made stays.
    let products = list(&server, PRODUCTS).await;
    assert_eq!(products.len(), 1, "{products:?}");
    assert_eq!(products[0]["status"], "active", "{products:?}");
    assert_eq!(list(&server, RESOURCES).await.len(), 1);
}

#[tokio::test]
async fn a_cancel_task_must_name_a_stored_order_and_is_never_changed() {
    let server = TestServer::start().await;
    let offering = launched_offering(&server).await;
    for api in &ORDER_APIS {
        let missing = api
            .cancel_order(&server, "no-such-order", "customer moved")
            .await;
        missing.assert_error(400);
        let message = missing.body["message"].as_str().unwrap();
        assert!(
            message.contains("no-such-order") && message.contains(api.collection),
            "{}: {message}",
            api.cancels()
        );
        let (listed, _) = read(&server, &api.cancels()).await;
        assert_eq!(listed, json!([]), "{}", api.cancels());

        let (_, created) = api.settled_order(&server, &offering).await;
        let order_id = created["id"].as_str().unwrap();
        let reply = api.cancel_order(&server, order_id, "duplicate").await;
        assert_eq!(reply.status, 201, "POST {}: {}", api.cancels(), reply.text);
        let task_path = format!("{}/{}", api.cancels(), reply.body["id"].as_str().unwrap());
        // The order has ended: the task ends in error (the test above says why).
        let task = wait_for_state(&server, &task_path, "terminatedWithError").await;

        server
            .patch(&task_path, MERGE, &json!({"cancellationReason": "other"}))
            .await
            .assert_error(405);
        server.delete(&task_path).await.assert_error(405);
        let (stored, _) = read(&server, &task_path).await;
        assert_eq!(stored, task, "{}", api.cancels());
    }
}

#[tokio::test]
async fn an_activation_request_is_stored_with_its_date_and_follows_the_service_states() {
    let server = TestServer::start().await;
    let services = format!("{ACTIVATION}/service");
    let reply = server
        .post(
            &services,
            &json!({"serviceSpecification": {"id": "cfs45"}, "state": "active"}),
        )
        .await;
    assert_eq!(reply.status, 201, "POST {services}: {}", reply.text);
    let service = &reply.body;
    let id = service["id"].as_str().unwrap();
    let path = format!("{services}/{id}");
    assert_eq!(service["href"], server.url(&path), "{service}");
    assert_eq!(service["state"], "active", "{service}");
    assert_eq!(service["serviceSpecification"]["id"], "cfs45", "{service}");
    assert!(is_instant(&service["serviceDate"]), "{service}");

    let terminated = server
        .patch(&path, MERGE, &json!({"state": "terminated"}))
        .await;
    assert_eq!(terminated.status, 200, "{}", terminated.text);
    assert_eq!(terminated.body["state"], "terminated");
    let (_, etag) = read(&server, &path).await;

    server
        .patch(&path, MERGE, &json!({"state": "active"}))
        .await
        .assert_error(409);
    let (stored, stored_etag) = read(&server, &path).await;
    assert_eq!(stored, terminated.body);
    assert_eq!(stored_etag, etag);
}

#[tokio::test]
async fn monitors_are_listed_and_never_created_by_a_client() {
    let server = TestServer::start().await;
    let monitors = format!("{ACTIVATION}/monitor");
    server
        .post(&monitors, &json!({"state": "completed"}))
        .await
        .assert_error(405);
    let listed = server.get(&monitors).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body, json!([]));
}
