//! Cancellation of orders in fulfilment (`cancelProductOrder`, `cancelServiceOrder`,
//! `cancelResourceOrder`), cascading down the chain and undoing what was done.
//!
//! The cancel task's job moves an unfinished order to `assessingCancellation`, asks each
//! unfinished order made for it (a product order's service orders, a service order's
//! resource order) to cancel too (a cancel task of its own, with a derived id), then
//! moves it to `pendingCancellation`. The order becomes `cancelled` (`complete`) once
//! every order below it has ended: everything the order added is undone (services taken
//! down and terminated, products terminated, resources removed, units released), items
//! go to `cancelled` and the order's open cancel tasks to `done`. An order below that
//! ends queues the `resume` step above, which completes a pending cancellation, so
//! nothing polls.
//!
//! A step that was still working when the cancellation began may write after the undo;
//! each such write is followed by a look at the order's state, and undone by its writer
//! when the order is being cancelled (`cancelling`). Whichever runs last undoes.
//!
//! An order that already ended (completed, failed, partial, rejected) is past the point
//! of no return: the task ends `terminatedWithError` naming the state.

use std::sync::Arc;

use serde_json::{json, Value};
use switchboard_apis::ordering::states::{OrderState, TaskState};
use switchboard_apis::steps::{payload_id, settle};
use switchboard_engine::{Engine, InternalChange, JobFuture, JobHandler, Result};

use crate::activation::Activation;
use crate::ids::cancel_task_id;
use crate::kind::{AnyOrder, Kind};
use crate::model::{CancelTask, OrderHead};
use crate::orders::id_in;
use crate::undo;

/// The cancel task job of orders of `kind`, with its queue.
pub fn handler(kind: Kind, activation: Arc<Activation>) -> (String, Arc<dyn JobHandler>) {
    let handler: Arc<dyn JobHandler> = Arc::new(CancelJob { kind, activation });
    (kind.order().cancel_queue().to_string(), handler)
}

struct CancelJob {
    kind: Kind,
    activation: Arc<Activation>,
}

impl JobHandler for CancelJob {
    fn run<'a>(&'a self, engine: &'a Engine, payload: &'a Value) -> JobFuture<'a> {
        Box::pin(async move {
            settle(run(engine, &self.activation, self.kind, payload_id(payload)).await)
        })
    }
}

async fn run(engine: &Engine, activation: &Activation, kind: Kind, task_id: &str) -> Result<()> {
    let order = kind.order();
    let api = order.api;
    let task_at = engine.served(api, kind.cancel())?;
    let order_at = engine.served(api, order.collection)?;
    let Some(task) = engine.document(api, kind.cancel(), task_id).await? else {
        return Ok(());
    };
    let task = CancelTask::from_value(&task, order.collection);
    if !task.state.is_some_and(TaskState::is_open) {
        return Ok(());
    }
    let order_id = task.order.id;
    let reason = task.cancellation_reason;
    let current = kind.head(engine, &order_id).await?;
    let refusal = match current.as_ref().map(|current| current.state) {
        None => Some(format!(
            "{} '{order_id}' no longer exists",
            order.collection
        )),
        Some(Some(state)) if state.is_cancellable() || state.is_cancelling() => None,
        Some(state) => Some(format!(
            "{} '{order_id}' is {}: past the point where it can be cancelled",
            order.collection,
            state.map(OrderState::as_str).unwrap_or_default()
        )),
    };
    if let Some(OrderHead {
        state: Some(OrderState::Cancelled),
        cancellation_date,
        ..
    }) = &current
    {
        // Cancelled already (by an earlier task): this one has nothing left to do.
        let at = cancellation_date
            .clone()
            .unwrap_or_else(|| json!(switchboard_engine::now_rfc3339()));
        engine
            .update_internal(task_at, task_id, |task| {
                task["state"] = json!(TaskState::Done);
                task["effectiveCancellationDate"] = at.clone();
                Ok(())
            })
            .await?;
        return Ok(());
    }
    if let Some(message) = refusal {
        engine
            .update_internal(task_at, task_id, |task| {
                task["state"] = json!(TaskState::TerminatedWithError);
                task["errorMessage"] = json!(message);
                Ok(())
            })
            .await?;
        return Ok(());
    }
    engine
        .update_internal(task_at, task_id, |task| {
            if TaskState::of(task) == Some(TaskState::Acknowledged) {
                task["state"] = json!(TaskState::InProgress);
            }
            Ok(())
        })
        .await?;
    let stored = engine
        .update_internal(order_at, &order_id, |doc| {
            if OrderState::of(doc).is_some_and(OrderState::is_cancellable) {
                doc["state"] = json!(OrderState::AssessingCancellation);
                if let Some(reason) = &reason {
                    doc["cancellationReason"] = reason.clone();
                }
            }
            Ok(())
        })
        .await?;
    for child in kind.parse(&stored.json)?.children() {
        cancel_below(engine, kind, &order_id, &child).await?;
    }
    engine
        .update_internal(order_at, &order_id, |doc| {
            if OrderState::of(doc) == Some(OrderState::AssessingCancellation) {
                doc["state"] = json!(OrderState::PendingCancellation);
            }
            Ok(())
        })
        .await?;
    complete(engine, activation, kind, &order_id).await
}

/// Asks the order `child` made for `parent` (of `kind`) to cancel, unless it has ended
/// or does not exist: a cancel task of its own, with an id derived from the child, so asking twice
/// asks once. Also called by a step that made `child` and then found `parent` being
/// cancelled.
pub async fn cancel_below(engine: &Engine, kind: Kind, parent: &str, child: &str) -> Result<()> {
    let Some(below) = kind.below() else {
        return Ok(());
    };
    let below_order = below.order();
    let Some(child_order) = below.head(engine, child).await? else {
        return Ok(());
    };
    if child_order.ended() {
        return Ok(());
    }
    let mut body = json!({
        "cancellationReason": format!("{} {parent} is cancelled", kind.order().collection),
    });
    body[below_order.collection] = json!({
        "id": child,
        "href": child_order.href(),
    });
    let cancel_at = engine.served(below_order.api, below.cancel())?;
    engine
        .ensure(cancel_at, &cancel_task_id(child), body)
        .await?;
    Ok(())
}

/// Ends a pending cancellation once every order below has ended: undoes what the
/// order added, then the order `cancelled` and its open cancel tasks `done`, together.
pub async fn complete(
    engine: &Engine,
    activation: &Activation,
    kind: Kind,
    id: &str,
) -> Result<()> {
    let order = kind.order();
    let Some(current) = kind.read(engine, id).await? else {
        return Ok(());
    };
    if current.head().state != Some(OrderState::PendingCancellation) {
        return Ok(());
    }
    if let Some(below) = kind.below() {
        for child in current.children() {
            if let Some(child_order) = below.head(engine, &child).await? {
                if !child_order.ended() {
                    return Ok(()); // its end resumes this order
                }
            }
        }
    }
    match &current {
        AnyOrder::Product(order) => undo::product_order(engine, activation, order).await?,
        AnyOrder::Service(order) => undo::service_order(engine, activation, order).await?,
        AnyOrder::Resource(order) => undo::resource_order(engine, order).await?,
    }
    let items_attribute = order.items;
    let now = switchboard_engine::now_rfc3339();
    let task_at = engine.served(order.api, kind.cancel())?;
    let tasks = engine
        .referrers(
            (order.api, order.collection),
            &[id.to_string()],
            &[(order.api, kind.cancel())],
            1000,
        )
        .await?;
    let task_ids: Vec<String> = tasks
        .iter()
        .map(|(_, _, task)| id_in(task).to_string())
        .collect();
    let task_done = |task: &mut Value| {
        if TaskState::of(task).is_some_and(TaskState::is_open) {
            task["state"] = json!(TaskState::Done);
            task["effectiveCancellationDate"] = json!(now);
        }
        Ok(())
    };
    let order_cancelled = |doc: &mut Value| {
        if OrderState::of(doc) != Some(OrderState::PendingCancellation) {
            return Ok(());
        }
        doc["state"] = json!(OrderState::Cancelled);
        doc["cancellationDate"] = json!(now);
        if let Some(Value::Array(list)) = doc.get_mut(items_attribute) {
            for item in list {
                let state = OrderState::of(item);
                if !matches!(state, Some(OrderState::Rejected | OrderState::Failed)) {
                    item["state"] = json!(OrderState::Cancelled);
                }
            }
        }
        Ok(())
    };
    // One transaction: whoever sees the order cancelled sees its tasks done, and the
    // other way round.
    let mut changes: Vec<InternalChange> = vec![(
        engine.served(order.api, order.collection)?,
        id,
        &order_cancelled,
    )];
    for task_id in &task_ids {
        changes.push((task_at, task_id, &task_done));
    }
    engine.update_internal_together(&changes).await?;
    Ok(())
}
