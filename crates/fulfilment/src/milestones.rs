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

/// Ends `order` (in progress) in `together` with its items' `outcomes`, emits one
/// milestone per completed item, and commits all it holds. An order that already left
/// `inProgress` is not ended again, and nothing is emitted for it: a step run twice
/// tells each milestone once.
pub async fn finish(
    mut together: Together,
    order: &ProductOrder,
    outcomes: &[Outcome],
) -> Result<()> {
    let at = together.engine().served(tmf622::CODE, "productOrder")?;
    let end = ending("productOrderItem", outcomes);
    let ended_here = AtomicBool::new(false);
    let stored = together
        .update(at, &order.id, |doc| {
            ended_here.store(
                OrderState::of(doc) == Some(OrderState::InProgress),
                Ordering::SeqCst,
            );
            end(doc)
        })
        .await?;
    if ended_here.load(Ordering::SeqCst) {
        let now = switchboard_engine::now_rfc3339();
        for outcome in outcomes {
            if outcome.state == OrderState::Completed {
                let mut extra = Map::new();
                extra.insert(
                    "milestone".to_string(),
                    milestone(order, &outcome.item, &now),
                );
                together.emit(at, MILESTONE_EVENT, &stored, extra)?;
            }
        }
    }
    together.commit().await
}

/// A v5 `ProductOrderMilestone`: the item completed, naming it as a v5
/// `ProductOrderItemRef`.
fn milestone(order: &ProductOrder, item: &str, now: &str) -> Value {
    json!({
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
    })
}
