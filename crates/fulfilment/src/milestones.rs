//! The end of a product order, with a milestone per item it completed
//! (docs/wire-choices.md, "Orders": `ProductOrderMilestoneEvent`, TMF622 v5's name, our
//! extension to v4), emitted in the transaction that records the items' products and
//! the order's end: on the fast path (the whole chain inside the order's `fulfil`) and
//! on the slow one (its `resume` steps) alike, since both end here.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{json, Map, Value};
use switchboard_apis::ordering::states::OrderState;
use switchboard_apis::tmf622::{self, MILESTONE_EVENT};
use switchboard_engine::{Result, Together};

use crate::model::ProductOrder;
use crate::orders::{ending, Outcome};

/// The milestone of an item whose product is written.
pub const ITEM_COMPLETED: &str = "itemCompleted";

/// Ends `order` (in progress) in `together` with its items' `outcomes`, names on each
/// item of `products` (item id, product reference) the product it created or changed,
/// emits one milestone per completed item, and commits all it holds. An order that
/// already left `inProgress` is not ended again, and nothing is emitted for it: a step
/// run twice tells each milestone once.
pub async fn finish(
    mut together: Together,
    order: &ProductOrder,
    outcomes: &[Outcome],
    products: &[(String, Value)],
) -> Result<()> {
    let at = together.engine().served(tmf622::CODE, "productOrder")?;
    let end = ending("productOrderItem", outcomes);
    let ended_here = AtomicBool::new(false);
    let stored = together
        .update(at, &order.id, |doc| {
            let in_progress = OrderState::of(doc) == Some(OrderState::InProgress);
            ended_here.store(in_progress, Ordering::SeqCst);
            if in_progress {
                name_products(doc, products);
            }
            end(doc)
        })
        .await?;
    if ended_here.load(Ordering::SeqCst) {
        let now = switchboard_engine::now_rfc3339();
        for outcome in outcomes {
            if outcome.state == OrderState::Completed {
                let mut extra = Map::new();
                let product = products
                    .iter()
                    .find(|(item, _)| *item == outcome.item)
                    .map(|(_, product)| product);
                extra.insert(
                    "milestone".to_string(),
                    milestone(order, &outcome.item, product, &now),
                );
                together.emit(at, MILESTONE_EVENT, &stored, extra)?;
            }
        }
    }
    together.commit().await
}

/// A reference to an inventory product (TMF637) as an order item names it: the
/// reference form of TMF622's `ProductRefOrValue` (docs/wire-choices.md, "Orders").
pub fn product_ref(product: &Value) -> Value {
    let mut reference = json!({"@referredType": "Product"});
    for key in ["id", "href"] {
        if let Some(value) = product.get(key) {
            reference[key] = value.clone();
        }
    }
    reference
}

/// Names on each item the product it created or changed: `id`, `href` and
/// `@referredType` join the item's `product`, beside what the client gave in it.
fn name_products(order: &mut Value, products: &[(String, Value)]) {
    let Some(Value::Array(items)) = order.get_mut("productOrderItem") else {
        return;
    };
    for item in items {
        let item_id = item.get("id").and_then(Value::as_str).unwrap_or_default();
        let Some((_, reference)) = products.iter().find(|(id, _)| id == item_id) else {
            continue;
        };
        let Value::Object(named) = reference else {
            continue;
        };
        let Some(fields) = item.as_object_mut() else {
            continue;
        };
        let product = fields.entry("product").or_insert_with(|| json!({}));
        if !product.is_object() {
            *product = json!({});
        }
        if let Value::Object(product) = product {
            for (key, value) in named {
                product.insert(key.clone(), value.clone());
            }
        }
    }
}

/// A v5 `ProductOrderMilestone`: the item completed, naming it as a v5
/// `ProductOrderItemRef`, and the product it created or changed (`product`, our
/// addition).
fn milestone(order: &ProductOrder, item: &str, product: Option<&Value>, now: &str) -> Value {
    let mut milestone = json!({
        "@type": "ProductOrderMilestone",
        "id": format!("{item}-{ITEM_COMPLETED}"),
        "name": ITEM_COMPLETED,
        "status": "Completed",
        "milestoneDate": now,
        "message": format!("item {item} completed: its product is in the inventory"),
        "productOrderItem": [{
            "@type": "ProductOrderItemRef",
            "productOrderId": order.id,
            "productOrderHref": order.href(),
            "productOrderItemId": item,
        }],
    });
    if let Some(product) = product {
        milestone["product"] = product.clone();
    }
    milestone
}
