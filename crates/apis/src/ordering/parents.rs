//! How an order the chain makes for another names it (its `externalReference`): written
//! by fulfilment when it makes the order, read by the order hooks (to tell the parent
//! when the child ends) and by fulfilment.

use serde_json::{json, Value};

use crate::doc::text;

/// The `externalReference` of a service order made for item `item` of product order
/// `order`.
pub fn of_product_order_item(order: &str, item: &str) -> Value {
    json!([
        {"externalReferenceType": "ProductOrder", "name": order},
        {"externalReferenceType": "ProductOrderItem", "name": item},
    ])
}

/// The `externalReference` of a resource order made for service order `order`.
pub fn of_service_order(order: &str) -> Value {
    json!([{"entityType": "ServiceOrder", "id": order, "owner": "Switchboard"}])
}

/// The product order a service order was made for.
pub fn product_order_of(service_order: &Value) -> Option<String> {
    product_order_in(service_order.get("externalReference"))
}

/// The product order item a service order was made for.
pub fn product_order_item_of(service_order: &Value) -> Option<String> {
    product_order_item_in(service_order.get("externalReference"))
}

/// The product order named by a service order's `externalReference`.
pub fn product_order_in(references: Option<&Value>) -> Option<String> {
    named(references, "ProductOrder")
}

/// The product order item named by a service order's `externalReference`.
pub fn product_order_item_in(references: Option<&Value>) -> Option<String> {
    named(references, "ProductOrderItem")
}

/// The name of the first of `references` of `externalReferenceType` `kind`.
fn named(references: Option<&Value>, kind: &str) -> Option<String> {
    references
        .and_then(Value::as_array)?
        .iter()
        .find(|reference| text(reference, "externalReferenceType") == kind)
        .map(|reference| text(reference, "name"))
}

/// The service order a resource order was made for.
pub fn service_order_of(resource_order: &Value) -> Option<String> {
    resource_order
        .get("externalReference")
        .and_then(Value::as_array)?
        .iter()
        .find(|reference| text(reference, "entityType") == "ServiceOrder")
        .map(|reference| text(reference, "id"))
}
