//! TMF622's domain events: an order that only lacks mandatory characteristic values waits
//! `pending` and asks for each (`ProductOrderInformationRequiredEvent` with `fieldPath`)
//! until a PATCH of its items supplies them; an order that is wrong otherwise is rejected
//! without asking; a completed item is told as a `ProductOrderMilestoneEvent`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::*;

const BASE: &str = "/tmf-api/productOrderingManagement/v4";
const ORDERS: &str = "/tmf-api/productOrderingManagement/v4/productOrder";
const SPECS: &str = "/tmf-api/productCatalogManagement/v4/productSpecification";
const OFFERINGS: &str = "/tmf-api/productCatalogManagement/v4/productOffering";
const INDIVIDUALS: &str = "/tmf-api/party/v4/individual";
const PRODUCTS: &str = "/tmf-api/productInventory/v4/product";

const INFORMATION_REQUIRED: &str = "ProductOrderInformationRequiredEvent";
const MILESTONE: &str = "ProductOrderMilestoneEvent";

/// A launched offering of a specification with mandatory `speed` (integer, 100 or 1000)
/// and `plan` (string), both without a default, a mandatory `tier` with a default, and
/// a free `label`; realized by no service. And a customer.
async fn catalog(server: &TestServer) -> (Value, Value) {
    let spec = server
        .create(
            SPECS,
            &json!({"name": "Fiber", "productSpecCharacteristic": [
                {"name": "speed", "valueType": "integer", "minCardinality": 1,
                 "productSpecCharacteristicValue": [{"value": 100}, {"value": 1000}]},
                {"name": "plan", "valueType": "string", "minCardinality": 1},
                {"name": "tier", "valueType": "string", "minCardinality": 1,
                 "productSpecCharacteristicValue": [
                    {"value": "basic", "isDefault": true}, {"value": "gold"}]},
                {"name": "label", "valueType": "string", "minCardinality": 0}]}),
        )
        .await;
    let offering = server
        .create(
            OFFERINGS,
            &json!({"name": "Fiber 1G", "lifecycleStatus": "Launched",
                    "productSpecification": {"id": spec["id"]}}),
        )
        .await;
    let customer = server
        .create(INDIVIDUALS, &json!({"givenName": "Ada", "familyName": "L"}))
        .await;
    (offering, customer)
}

/// An order of one `add` item per entry of `items`, each with those characteristics.
fn order(offering: &Value, customer: &Value, items: &[Value]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(index, characteristics)| {
            json!({"id": (index + 1).to_string(), "action": "add",
                   "productOffering": {"id": offering["id"]},
                   "product": {"productCharacteristic": characteristics}})
        })
        .collect();
    json!({
        "productOrderItem": items,
        "relatedParty": [{"id": customer["id"], "role": "customer",
                          "@referredType": "Individual"}],
    })
}

/// Subscribes `listener` to TMF622's events matching `query`.
async fn subscribe(server: &TestServer, listener: &Listener, query: &str) {
    let reply = server
        .post(
            &format!("{BASE}/hub"),
            &json!({"callback": listener.url, "query": query}),
        )
        .await;
    assert_eq!(reply.status, 201, "POST hub: {}", reply.text);
}

/// Posts an order and returns it once the server is done with it (deliveries included).
async fn decided(server: &TestServer, body: &Value) -> Value {
    let created = server.create(ORDERS, body).await;
    read_when_idle(server, created["id"].as_str().unwrap()).await
}

async fn read_when_idle(server: &TestServer, id: &str) -> Value {
    server.queue().await.wait_idle().await;
    let reply = server.get(&format!("{ORDERS}/{id}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

/// The events of `event_type` about order `id` that `listener` received.
fn events_of(listener: &Listener, event_type: &str, id: &Value) -> Vec<Value> {
    listener
        .events()
        .into_iter()
        .filter(|event| event["eventType"] == event_type)
        .filter(|event| event["event"]["productOrder"]["id"] == *id)
        .collect()
}

fn field_paths(events: &[Value]) -> Vec<String> {
    let mut paths: Vec<String> = events
        .iter()
        .map(|event| event["fieldPath"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    paths
}

fn path_of(item: &str, characteristic: &str) -> String {
    format!(
        "productOrderItem[?(@.id=='{item}')].product.productCharacteristic[?(@.name=='{characteristic}')]"
    )
}

/// PATCHes the order's items as read, with `characteristic` added to item 1.
async fn supply(server: &TestServer, order: &Value, characteristic: Value) {
    let mut items = order["productOrderItem"].clone();
    items[0]["product"]["productCharacteristic"]
        .as_array_mut()
        .unwrap()
        .push(characteristic);
    let path = format!("{ORDERS}/{}", order["id"].as_str().unwrap());
    let reply = server
        .patch(
            &path,
            "application/merge-patch+json",
            &json!({"productOrderItem": items}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test]
async fn an_order_lacking_mandatory_values_asks_for_them_until_a_patch_supplies_them() {
    let server = TestServer::start().await;
    let listener = Listener::start(0).await;
    subscribe(&server, &listener, "").await;
    let (offering, customer) = catalog(&server).await;

    // No speed, no plan: the order waits for both, one event each.
    let body = order(
        &offering,
        &customer,
        &[json!([{"name": "label", "value": "home"}])],
    );
    let pending = decided(&server, &body).await;
    let id = pending["id"].clone();
    assert_eq!(pending["state"], "pending", "{pending}");
    assert_eq!(pending["productOrderItem"][0]["state"], "pending");
    let notes = pending["note"].to_string();
    assert!(
        notes.contains("information required: item 1: characteristic 'speed'")
            && notes.contains("characteristic 'plan'"),
        "{notes}"
    );
    let asked = events_of(&listener, INFORMATION_REQUIRED, &id);
    assert_eq!(
        field_paths(&asked),
        [path_of("1", "plan"), path_of("1", "speed")],
        "{asked:?}"
    );
    for event in &asked {
        assert_eq!(
            event["event"]["productOrder"]["state"], "pending",
            "{event}"
        );
    }
    assert!(events_of(&listener, MILESTONE, &id).is_empty());

    // The speed only: pending again, asking for the plan alone.
    supply(&server, &pending, json!({"name": "speed", "value": 1000})).await;
    let still = read_when_idle(&server, id.as_str().unwrap()).await;
    assert_eq!(still["state"], "pending", "{still}");
    let asked = events_of(&listener, INFORMATION_REQUIRED, &id);
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert_eq!(field_paths(&asked[2..]), [path_of("1", "plan")]);

    // The plan: the order goes on to completed, the default filling in the tier.
    supply(&server, &still, json!({"name": "plan", "value": "family"})).await;
    let done = read_when_idle(&server, id.as_str().unwrap()).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["productOrderItem"][0]["state"], "completed");
    assert_eq!(events_of(&listener, INFORMATION_REQUIRED, &id).len(), 3);
    assert_eq!(events_of(&listener, MILESTONE, &id).len(), 1);
    let products = server.get(PRODUCTS).await.body;
    assert_eq!(
        products[0]["productCharacteristic"],
        json!([{"name": "label", "value": "home"}, {"name": "plan", "value": "family"},
               {"name": "speed", "value": 1000}, {"name": "tier", "value": "basic"}]),
        "{products}"
    );
}

#[tokio::test]
async fn an_order_with_a_wrong_value_is_rejected_without_asking() {
    let server = TestServer::start().await;
    let listener = Listener::start(0).await;
    subscribe(&server, &listener, "").await;
    let (offering, customer) = catalog(&server).await;

    // Every mandatory value, one of them not a listed one.
    let wrong = order(
        &offering,
        &customer,
        &[json!([{"name": "speed", "value": 42}, {"name": "plan", "value": "x"}])],
    );
    let rejected = decided(&server, &wrong).await;
    assert_eq!(rejected["state"], "rejected", "{rejected}");
    assert!(
        rejected["note"].to_string().contains("'speed' = 42"),
        "{rejected}"
    );

    // A value missing and another wrong: rejected for both, nothing asked.
    let mixed = order(
        &offering,
        &customer,
        &[json!([{"name": "speed", "value": 100}, {"name": "label", "value": 7}])],
    );
    let rejected_too = decided(&server, &mixed).await;
    assert_eq!(rejected_too["state"], "rejected", "{rejected_too}");
    let notes = rejected_too["note"].to_string();
    assert!(
        notes.contains("'label' must be a string")
            && notes.contains("rejected: item 1: characteristic 'plan' is mandatory"),
        "{notes}"
    );

    for order in [&rejected, &rejected_too] {
        assert!(events_of(&listener, INFORMATION_REQUIRED, &order["id"]).is_empty());
        assert!(events_of(&listener, MILESTONE, &order["id"]).is_empty());
    }
    // The other events did arrive: the listener heard these orders.
    assert!(!listener.events().is_empty());
}

#[tokio::test]
async fn a_completed_order_tells_one_milestone_per_item() {
    let server = TestServer::start().await;
    let everything = Listener::start(0).await;
    let milestones_only = Listener::start(0).await;
    subscribe(&server, &everything, "").await;
    subscribe(&server, &milestones_only, &format!("eventType={MILESTONE}")).await;
    let (offering, customer) = catalog(&server).await;

    let values = json!([{"name": "speed", "value": 100}, {"name": "plan", "value": "solo"}]);
    let body = order(&offering, &customer, &[values.clone(), values]);
    let done = decided(&server, &body).await;
    assert_eq!(done["state"], "completed", "{done}");
    let id = done["id"].clone();

    let told = events_of(&everything, MILESTONE, &id);
    let mut items: Vec<&str> = told
        .iter()
        .map(|event| {
            let milestone = &event["milestone"];
            assert_eq!(milestone["name"], "itemCompleted", "{event}");
            assert_eq!(milestone["status"], "Completed", "{event}");
            assert!(milestone["milestoneDate"].is_string(), "{event}");
            assert!(milestone["message"].is_string(), "{event}");
            assert_eq!(milestone["productOrderItem"][0]["productOrderId"], id);
            assert_eq!(event["event"]["productOrder"]["state"], "completed");
            let item = milestone["productOrderItem"][0]["productOrderItemId"]
                .as_str()
                .unwrap();
            // The milestone names the product the item created, as the order's item does.
            let product = &milestone["product"];
            assert_eq!(product["@referredType"], "Product", "{event}");
            let in_order = event["event"]["productOrder"]["productOrderItem"]
                .as_array()
                .unwrap()
                .iter()
                .find(|named| named["id"] == item)
                .unwrap()["product"]
                .clone();
            assert!(product["id"].is_string(), "{event}");
            assert_eq!(in_order["id"], product["id"], "{event}");
            assert_eq!(in_order["href"], product["href"], "{event}");
            item
        })
        .collect();
    items.sort();
    assert_eq!(items, ["1", "2"], "{told:?}");
    assert!(events_of(&everything, INFORMATION_REQUIRED, &id).is_empty());
    // The state change to completed names each item's product too.
    let completed: Vec<Value> = events_of(&everything, "ProductOrderStateChangeEvent", &id)
        .into_iter()
        .filter(|event| event["event"]["productOrder"]["state"] == "completed")
        .collect();
    assert_eq!(completed.len(), 1, "{completed:?}");
    for item in completed[0]["event"]["productOrder"]["productOrderItem"]
        .as_array()
        .unwrap()
    {
        assert_eq!(item["product"]["@referredType"], "Product", "{item}");
        assert!(item["product"]["id"].is_string(), "{item}");
    }

    // The filtered subscriber heard those two and nothing else.
    let heard = milestones_only.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(heard.len(), 2, "{heard:?}");
    assert!(
        heard.iter().all(|event| event["eventType"] == MILESTONE),
        "{heard:?}"
    );
    assert!(everything.events().len() > 2);
}
