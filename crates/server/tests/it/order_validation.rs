//! The first fulfilment step: a product order is accepted (201, acknowledged) and then
//! validated against the catalog, the parties and the inventory: `inProgress` when it
//! holds, and fulfilment goes on (here an offering whose specification names no service,
//! so the order completes with its product in TMF637), `rejected` with the reasons in
//! notes otherwise.

use serde_json::{json, Value};

use crate::support::*;

const ORDERS: &str = "/tmf-api/productOrderingManagement/v4/productOrder";
const SPECS: &str = "/tmf-api/productCatalogManagement/v4/productSpecification";
const OFFERINGS: &str = "/tmf-api/productCatalogManagement/v4/productOffering";
const INDIVIDUALS: &str = "/tmf-api/party/v4/individual";
const PRODUCTS: &str = "/tmf-api/productInventory/v4/product";

/// A launched offering of a specification with a `speed` (integer, 100 or 1000) and a
/// free `label` (string), realized by no service, and a customer.
async fn catalog(server: &TestServer) -> (Value, Value) {
    let spec = server
        .create(
            SPECS,
            &json!({"name": "Fiber", "productSpecCharacteristic": [
                {"name": "speed", "valueType": "integer",
                 "productSpecCharacteristicValue": [{"value": 100}, {"value": 1000}]},
                {"name": "label", "valueType": "string"}]}),
        )
        .await;
    let offering = server
        .create(
            OFFERINGS,
            &json!({"name": "Fiber 1G", "lifecycleStatus": "In test",
                    "productSpecification": {"id": spec["id"]}}),
        )
        .await;
    let path = format!("{OFFERINGS}/{}", offering["id"].as_str().unwrap());
    let launched = server
        .patch(
            &path,
            "application/merge-patch+json",
            &json!({"lifecycleStatus": "Launched"}),
        )
        .await;
    assert_eq!(launched.status, 200, "{}", launched.text);
    let customer = server
        .create(INDIVIDUALS, &json!({"givenName": "Ada", "familyName": "L"}))
        .await;
    (launched.body, customer)
}

fn order(offering: &Value, customer: &Value, characteristics: Value) -> Value {
    json!({
        "productOrderItem": [{"id": "1", "action": "add",
            "productOffering": {"id": offering["id"]},
            "product": {"productCharacteristic": characteristics}}],
        "relatedParty": [{"id": customer["id"], "role": "customer",
                          "@referredType": "Individual"}],
    })
}

/// Posts an order, checks the immediate answer, and returns it once the server is done
/// with it.
async fn decided(server: &TestServer, body: &Value) -> Value {
    let created = server.create(ORDERS, body).await;
    assert_eq!(created["state"], "acknowledged");
    server.queue().await.wait_idle().await;
    let path = format!("{ORDERS}/{}", created["id"].as_str().unwrap());
    let reply = server.get(&path).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

fn notes(order: &Value) -> String {
    order["note"]
        .as_array()
        .map(|notes| {
            notes
                .iter()
                .map(|note| note["text"].as_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_valid_order_is_accepted_and_fulfilled() {
    let server = TestServer::start().await;
    let (offering, customer) = catalog(&server).await;
    let body = order(
        &offering,
        &customer,
        json!([{"name": "speed", "value": 1000}, {"name": "label", "value": "home"}]),
    );
    let order = decided(&server, &body).await;
    assert_eq!(order["state"], "completed", "{order}");
    assert_eq!(order["productOrderItem"][0]["state"], "completed");
    assert!(order.get("note").is_none(), "{order}");

    // The product it ordered, with the characteristics it asked for.
    let reply = server.get(PRODUCTS).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let products = reply.body.as_array().unwrap();
    assert_eq!(products.len(), 1, "{products:?}");
    let product = &products[0];
    assert_eq!(product["status"], "active", "{product}");
    assert_eq!(
        product["productOffering"]["id"], offering["id"],
        "{product}"
    );
    assert_eq!(
        product["productSpecification"]["id"], offering["productSpecification"]["id"],
        "{product}"
    );
    assert_eq!(
        product["productCharacteristic"],
        json!([{"name": "label", "value": "home"}, {"name": "speed", "value": 1000}]),
        "{product}"
    );
    assert_eq!(
        product["relatedParty"][0]["id"], customer["id"],
        "{product}"
    );
    assert_eq!(
        product["productOrderItem"][0]["productOrderId"], order["id"],
        "{product}"
    );
}

#[tokio::test]
async fn an_order_that_does_not_fit_is_rejected_with_every_reason() {
    let server = TestServer::start().await;
    let (offering, customer) = catalog(&server).await;
    let cases = [
        (
            json!([{"name": "speed", "value": 500}]),
            "'speed' = 500 is not one of 100, 1000",
        ),
        (
            json!([{"name": "speed", "value": "fast"}]),
            "'speed' must be a integer",
        ),
        (
            json!([{"name": "colour", "value": "red"}]),
            "'colour' is not declared",
        ),
    ];
    for (characteristics, reason) in cases {
        let order = decided(&server, &order(&offering, &customer, characteristics)).await;
        assert_eq!(order["state"], "rejected", "{order}");
        assert_eq!(order["productOrderItem"][0]["state"], "rejected");
        assert!(
            notes(&order).contains(reason),
            "{reason}: {}",
            notes(&order)
        );
    }

    // Unknown offering, a missing party, and an offering not launched: all named at once.
    let draft = server.create(OFFERINGS, &json!({"name": "Draft"})).await;
    let body = json!({
        "productOrderItem": [
            {"id": "a", "action": "add", "productOffering": {"id": "no-such-offering"}},
            {"id": "b", "action": "add", "productOffering": {"id": draft["id"]}},
            {"id": "c", "action": "modify", "product": {"id": "no-such-product"}}],
        "relatedParty": [{"id": "ghost", "@referredType": "Individual"}],
    });
    let order = decided(&server, &body).await;
    assert_eq!(order["state"], "rejected");
    let text = notes(&order);
    for reason in [
        "item a: productOffering 'no-such-offering' does not exist",
        "item b: productOffering",
        "only a Launched or Active offering",
        "item c: product 'no-such-product' is not in the inventory",
        "relatedParty 'ghost' (Individual) does not exist",
    ] {
        assert!(text.contains(reason), "{reason}: {text}");
    }
}

#[tokio::test]
async fn a_verdict_is_announced_as_a_state_change() {
    let server = TestServer::start().await;
    let listener = Listener::start(0).await;
    let reply = server
        .post(
            "/tmf-api/productOrderingManagement/v4/hub",
            &json!({"callback": listener.url, "query": "eventType=ProductOrderStateChangeEvent"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let (offering, customer) = catalog(&server).await;
    let accepted = decided(
        &server,
        &order(
            &offering,
            &customer,
            json!([{"name": "speed", "value": 100}]),
        ),
    )
    .await;
    assert_eq!(accepted["state"], "completed");
    // The verdict, then the end of the fulfilment it allowed.
    let events = listener
        .wait_for(2, std::time::Duration::from_secs(5))
        .await;
    let states: Vec<&Value> = events
        .iter()
        .map(|event| &event["event"]["productOrder"]["state"])
        .collect();
    assert_eq!(states, ["inProgress", "completed"], "{events:?}");
    assert_eq!(
        events[1]["event"]["productOrder"], accepted,
        "{}",
        events[1]
    );

    // A rejection is announced the same way.
    let rejected = decided(
        &server,
        &order(
            &offering,
            &customer,
            json!([{"name": "speed", "value": 500}]),
        ),
    )
    .await;
    assert_eq!(rejected["state"], "rejected", "{rejected}");
    let events = listener
        .wait_for(3, std::time::Duration::from_secs(5))
        .await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(
        events[2]["event"]["productOrder"], rejected,
        "{}",
        events[2]
    );
}
