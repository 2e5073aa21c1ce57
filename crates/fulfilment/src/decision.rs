//! What the checks of a new product order decide, written only while the order is as the
//! checks read it (a client's PATCH in between is checked again, not overwritten):
//! `rejected` with the reasons, or `pending` when it only lacks values
//! (docs/wire-choices.md, "Orders": TMF622 v4 `productOrderInformationRequiredEvent`, one
//! per missing value, its `fieldPath` naming where the value goes, in the transaction
//! that moves the order). Acceptance is written by `product` with the service orders.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{json, Map, Value};
use switchboard_apis::ordering::items_as_posted;
use switchboard_apis::ordering::states::OrderState;
use switchboard_apis::tmf622::{self, INFORMATION_REQUIRED_EVENT};
use switchboard_engine::{Engine, Result};

use crate::orders::{accept_or_reject_in, add_note, id_in};
use crate::validation::Missing;

const ORDERS: &str = "productOrder";
const ITEMS: &str = "productOrderItem";

/// Whether `order` is still one the checks decide on (acknowledged, or pending for
/// information) and as `checked` (the order the checks read): the same items (states
/// aside) and parties.
pub fn still_as_checked(order: &Value, checked: &Value) -> bool {
    matches!(
        OrderState::of(order),
        Some(OrderState::Acknowledged | OrderState::Pending)
    ) && items_as_posted(ITEMS, order) == items_as_posted(ITEMS, checked)
        && order.get("relatedParty") == checked.get("relatedParty")
}

/// Rejects order `id` for `problems`, if it is still as `checked`. Answers whether it
/// did (else it changed since: the caller reads it again).
pub async fn reject(
    engine: &Engine,
    id: &str,
    checked: &Value,
    problems: &[(Option<String>, String)],
) -> Result<bool> {
    let at = engine.served(tmf622::CODE, ORDERS)?;
    let now = switchboard_engine::now_rfc3339();
    let applied = AtomicBool::new(false);
    engine
        .update_internal(at, id, |order| {
            let decide = still_as_checked(order, checked);
            applied.store(decide, Ordering::SeqCst);
            if decide {
                accept_or_reject_in(order, ITEMS, problems, &now);
            }
            Ok(())
        })
        .await?;
    Ok(applied.load(Ordering::SeqCst))
}

/// Moves order `id` to `pending` for the values it lacks (`missing`, none empty), if it
/// is still as `checked`, with a note per value and one information-required event per
/// value in the same transaction. Answers whether it did (else it changed since).
pub async fn require_information(
    engine: &Engine,
    id: &str,
    checked: &Value,
    missing: &[Missing],
) -> Result<bool> {
    let at = engine.served(tmf622::CODE, ORDERS)?;
    let now = switchboard_engine::now_rfc3339();
    let applied = AtomicBool::new(false);
    let mut together = engine.together(false).await?;
    let stored = together
        .update(at, id, |order| {
            let decide = still_as_checked(order, checked);
            applied.store(decide, Ordering::SeqCst);
            if decide {
                pending_in(order, missing, &now);
            }
            Ok(())
        })
        .await?;
    if !applied.load(Ordering::SeqCst) {
        return Ok(false);
    }
    for missing in missing {
        let mut extra = Map::new();
        extra.insert("fieldPath".to_string(), json!(missing.field_path()));
        together.emit(at, INFORMATION_REQUIRED_EVENT, &stored, extra)?;
    }
    together.commit().await?;
    Ok(true)
}

/// The change `require_information` makes: the order `pending`, the items that lack a
/// value `pending` and the others `acknowledged`, a note per missing value.
fn pending_in(order: &mut Value, missing: &[Missing], now: &str) {
    order["state"] = json!(OrderState::Pending);
    if let Some(Value::Array(list)) = order.get_mut(ITEMS) {
        for item in list {
            let lacking = missing.iter().any(|missing| missing.item == id_in(item));
            item["state"] = json!(if lacking {
                OrderState::Pending
            } else {
                OrderState::Acknowledged
            });
        }
    }
    for missing in missing {
        add_note(
            order,
            now,
            format!(
                "information required: item {}: {} ({})",
                missing.item,
                missing.describe(),
                missing.field_path()
            ),
        );
    }
}
