//! Where every step of the chain starts: the order it is about, if there is work on it,
//! read into its type.

use switchboard_apis::ordering::states::OrderState;
use switchboard_engine::{Error, Result};

use crate::cancel;
use crate::model::{Item, Order};
use crate::orders::{accept_or_reject, Step};
use crate::validation::problems_of;

/// The order a step works on, if it is to work on it: an `acknowledged` order (a
/// client's) is checked first when `check_new` (→ `inProgress`, or `rejected` with the
/// reasons); a pending cancellation is completed instead (a step is what the end of the
/// orders below wakes); only an order `inProgress` is answered.
pub async fn order_to_work_on<I: Item>(
    step: &Step<'_>,
    check_new: bool,
) -> Result<Option<Order<I>>> {
    let (engine, kind, id) = (step.engine, step.kind, step.id);
    let (api, collection) = (kind.order().api, kind.order().collection);
    let Some(mut order) = engine.document_as::<Order<I>>(api, collection, id).await? else {
        return Ok(None);
    };
    if check_new && order.state == Some(OrderState::Acknowledged) {
        // The checks read the order as the client posted it (a client's order only: the
        // chain makes its orders `inProgress`).
        let Some(doc) = engine.document(api, collection, id).await? else {
            return Ok(None);
        };
        let problems = problems_of(engine, kind, &doc).await?;
        if !accept_or_reject(engine, kind, id, &problems).await? {
            return Ok(None);
        }
        order = engine
            .document_as(api, collection, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("no {collection} with id '{id}'")))?;
    }
    match order.state {
        Some(OrderState::PendingCancellation) => {
            cancel::complete(engine, step.activation, kind, id).await?;
            Ok(None)
        }
        Some(OrderState::InProgress) => Ok(Some(order)),
        _ => Ok(None),
    }
}
