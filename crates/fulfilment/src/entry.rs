//! Where every step of the chain starts: the order it is about, if there is work on it.

use serde_json::Value;
use switchboard_apis::ordering::states::OrderState;
use switchboard_engine::{Engine, Result};

use crate::activation::Activation;
use crate::cancel;
use crate::kind::Kind;
use crate::orders::accept_or_reject;
use crate::validation::problems_of;

/// The order a step works on, if it is to work on it: an `acknowledged` order (a
/// client's) is checked first when `check_new` (→ `inProgress`, or `rejected` with the
/// reasons); a pending cancellation is completed instead (a step is what the end of the
/// orders below wakes); only an order `inProgress` is answered.
pub async fn order_to_work_on(
    engine: &Engine,
    activation: &Activation,
    kind: Kind,
    id: &str,
    check_new: bool,
) -> Result<Option<Value>> {
    let order = kind.order();
    let (api, collection, items_attribute) = (order.api, order.collection, order.items);
    let Some(mut doc) = engine.document(api, collection, id).await? else {
        return Ok(None);
    };
    if check_new && OrderState::of(&doc) == Some(OrderState::Acknowledged) {
        let problems = problems_of(engine, kind, &doc).await?;
        if !accept_or_reject(engine, api, collection, items_attribute, id, &problems).await? {
            return Ok(None);
        }
        doc = engine.require(api, collection, id).await?;
    }
    match OrderState::of(&doc) {
        Some(OrderState::PendingCancellation) => {
            cancel::complete(engine, activation, kind, id).await?;
            Ok(None)
        }
        Some(OrderState::InProgress) => Ok(Some(doc)),
        _ => Ok(None),
    }
}
