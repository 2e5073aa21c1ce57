//! The three ordering APIs over HTTP (TMF622 product, TMF641 service, TMF652 resource
//! orders, one shared engine): orders acknowledged on receipt with server-owned states,
//! merge patches, and the cancel task that takes an order to cancelled with its events;
//! and TMF640 service activation (services with their state machine, read-only monitors).
//!
//! A product order is validated after its 201 (`order_validation.rs` tests that step);
//! here each order is valid and is worked on only once the server's first step settled.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::*;

const WITHIN: Duration = Duration::from_secs(10);
const MERGE: &str = "application/merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";
const ACTIVATION: &str = "/tmf-api/ServiceActivationAndConfiguration/v4";
const OFFERINGS: &str = "/tmf-api/productCatalogManagement/v4/productOffering";

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
    /// A minimal valid order whose order and items claim `state: completed`, given the
    /// id of a launched product offering (only product orders name one).
    body: fn(&str) -> Value,
    /// The state a new order settles in once the server's own first step is done
    /// (TMF622 validates a product order; the others wait as acknowledged).
    settled: &'static str,
}

const ORDER_APIS: [OrderApi; 3] = [
    OrderApi {
        base: "/tmf-api/productOrderingManagement/v4",
        collection: "productOrder",
        resource_type: "ProductOrder",
        items: "productOrderItem",
        cancel: "cancelProductOrder",
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
        settled: "inProgress",
    },
    OrderApi {
        base: "/tmf-api/serviceOrdering/v4",
        collection: "serviceOrder",
        resource_type: "ServiceOrder",
        items: "serviceOrderItem",
        cancel: "cancelServiceOrder",
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
        settled: "acknowledged",
    },
    OrderApi {
        base: "/tmf-api/resourceOrderingManagement/v4",
        collection: "resourceOrder",
        resource_type: "ResourceOrder",
        items: "orderItem",
        cancel: "cancelResourceOrder",
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
        settled: "acknowledged",
    },
];

impl OrderApi {
    fn orders(&self) -> String {
        format!("{}/{}", self.base, self.collection)
    }

    fn cancels(&self) -> String {
        format!("{}/{}", self.base, self.cancel)
    }

    /// Creates the minimal order, asserting 201, and waits until the server's first
    /// step settled it; returns its path and the stored order.
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

/// A launched product offering, which a valid product order names.
async fn launched_offering(server: &TestServer) -> String {
    let created = server
        .create(
            OFFERINGS,
            &json!({"name": "Fiber 1G", "lifecycleStatus": "In test"}),
        )
        .await;
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
        let items = api.item_states(&stored);
        assert!(
            !items.iter().any(|state| state == "completed"),
            "{}: item states {items:?}",
            api.collection
        );
    }
}

#[tokio::test]
async fn the_order_state_is_the_servers_and_a_merge_patch_needs_no_items() {
    let server = TestServer::start().await;
    let offering = launched_offering(&server).await;
    for api in &ORDER_APIS {
        let (path, created) = api.settled_order(&server, &offering).await;
        let (_, etag) = read(&server, &path).await;

        let merged = server
            .patch(&path, MERGE, &json!({"state": "completed"}))
            .await;
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
                &json!([{"op": "replace", "path": "/state", "value": "completed"}]),
            )
            .await;
        replaced.assert_error(400);
        // Item states are the server's too, by merge patch or by JSON Patch.
        let mut items = created[api.items].clone();
        items[0]["state"] = json!("completed");
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
                &json!([{"op": "replace", "path": item_state, "value": "failed"}]),
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

#[tokio::test]
async fn a_cancel_task_takes_the_order_to_cancelled_and_announces_each_step() {
    let server = TestServer::start().await;
    let offering = launched_offering(&server).await;
    for api in &ORDER_APIS {
        let (path, created) = api.settled_order(&server, &offering).await;
        let listener = Listener::start(0).await;
        subscribe(&server, api.base, &listener.url).await;
        let order_id = created["id"].as_str().unwrap();

        let reply = api.cancel_order(&server, order_id, "customer moved").await;
        assert_eq!(reply.status, 201, "POST {}: {}", api.cancels(), reply.text);
        let task = &reply.body;
        let task_id = task["id"].as_str().unwrap();
        let task_path = format!("{}/{task_id}", api.cancels());
        assert_eq!(task["href"], server.url(&task_path), "{task}");
        assert_eq!(task["state"], "acknowledged", "{task}");
        assert_eq!(task[api.collection]["id"], order_id, "{task}");
        assert_eq!(task["cancellationReason"], "customer moved", "{task}");

        let task = wait_for_state(&server, &task_path, "done").await;
        assert!(is_instant(&task["effectiveCancellationDate"]), "{task}");
        assert!(task.get("errorMessage").is_none(), "{task}");

        // The task is done only after the order's last step.
        let (order, etag) = read(&server, &path).await;
        assert_eq!(order["state"], "cancelled", "{order}");
        assert!(is_instant(&order["cancellationDate"]), "{order}");
        assert_eq!(order["cancellationReason"], "customer moved", "{order}");
        let items = api.item_states(&order);
        assert_eq!(items.len(), api.item_count(), "{order}");
        assert!(
            items.iter().all(|state| state == "cancelled"),
            "{}: item states {items:?}",
            api.collection
        );
        assert_eq!(order["orderDate"], created["orderDate"], "{order}");

        let steps = ["assessingCancellation", "pendingCancellation", "cancelled"];
        let arrived = eventually(WITHIN, || async {
            api.state_changes(&listener.events(), order_id).len() >= steps.len()
        })
        .await;
        assert!(
            arrived,
            "{}: events {:?}",
            api.collection,
            listener.events()
        );
        let queue = server.queue().await;
        queue.wait_idle().await;
        assert_eq!(
            api.state_changes(&listener.events(), order_id),
            steps,
            "{}: events {:?}",
            api.collection,
            listener.events()
        );
        let last = listener
            .events()
            .into_iter()
            .rfind(|event| {
                event["eventType"] == format!("{}StateChangeEvent", api.resource_type).as_str()
            })
            .unwrap();
        assert_eq!(last["event"][api.collection], order, "{last}");

        // A second cancellation of the cancelled order succeeds and changes nothing.
        let again = api.cancel_order(&server, order_id, "changed mind").await;
        assert_eq!(again.status, 201, "POST {}: {}", api.cancels(), again.text);
        let again_path = format!("{}/{}", api.cancels(), again.body["id"].as_str().unwrap());
        let again = wait_for_state(&server, &again_path, "done").await;
        assert!(is_instant(&again["effectiveCancellationDate"]), "{again}");
        queue.wait_idle().await;
        let (unchanged, unchanged_etag) = read(&server, &path).await;
        assert_eq!(unchanged, order, "{}", api.collection);
        assert_eq!(unchanged_etag, etag, "{}", api.collection);
        assert_eq!(
            api.state_changes(&listener.events(), order_id),
            steps,
            "{}",
            api.collection
        );
        // The first task is untouched by the second.
        let (first, _) = read(&server, &task_path).await;
        assert_eq!(first, task, "{}", api.collection);
    }
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
        let task = wait_for_state(&server, &task_path, "done").await;

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
