//! The order-to-activation chain (DESIGN.md "The chain"): product orders decompose into
//! service orders, service orders into resource orders and activations, and what they
//! produce is written to the inventories; the outcome rolls back up.
//!
//! Every step is a job about one order and is idempotent: what a step creates gets an id
//! derived from (order, item, what) (`derived_id`), created with `Engine::ensure`, so a
//! step run twice (after a crash, or by a second process) finds what the first run made
//! instead of making it again. The next step is queued in the transaction that ends the
//! previous one: a new order queues its `fulfil` step (`Order::start`), and an order
//! reaching a final state queues the `resume` step of the order it was made for
//! (`Order::parent`). No timer polls.
//!
//! - `product`: TMF622 — validate (`order_validation`), one service order per item,
//!   then the product inventory (TMF637) when the service orders end.
//! - `service`: TMF641 — the RFSs of each CFS, one resource order for the resources they
//!   need, then activation (`activation`) and the service inventory (TMF638).
//! - `resource`: TMF652 — pool reservations (TMF685) and the resource inventory (TMF639).
//! - `plan`: reading the catalog and deriving characteristic values.
//! - `cancel`: cancel tasks, cascading down and undoing what was done.

pub mod activation;
pub mod cancel;
pub mod plan;
pub mod product;
pub mod resource;
pub mod service;

use std::sync::Arc;

use serde_json::{json, Value};
use switchboard_engine::{Engine, JobFuture, JobHandler, Result, Together};

use crate::steps::{payload_id, settle};

use crate::text;
pub use activation::Activation;

/// How long after a step ends an order the jobs that end starts (its parent's
/// `resume`) wait, when the step's caller resumes the parent itself at once: they are
/// the safety net of a crash in between (an order that ends drops its own `resume` jobs
/// still waiting, so they seldom run at all).
pub const SAFETY_NET: std::time::Duration = std::time::Duration::from_secs(30);

/// Order states that end an order.
pub const FINAL: &[&str] = &["completed", "failed", "partial", "rejected", "cancelled"];

/// Order states of a cancellation under way: fulfilment stops and undoes what it did.
pub const CANCELLING: &[&str] = &["assessingCancellation", "pendingCancellation", "cancelled"];

/// The id of what step `what` of `order`'s `item` creates: the same on every run.
///
/// A UUIDv8 (RFC 9562): the first 48 bits are the order id's (for a server-made order,
/// a UUIDv7, its creation time), the rest a name-based hash of (order, item, what). So
/// what one order makes sorts beside the order and beside what recent orders made: the
/// store's id indexes take new entries at their end instead of at random leaves (a write
/// group rewrites one page per index, not one per new document).
pub fn derived_id(order: &str, item: &str, what: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5a1f_c4b0_a7d2_4e11_9c3b_7e8f_2d6a_0b15);
    let mut bytes = *uuid::Uuid::new_v5(
        &NAMESPACE,
        format!("{order}\u{1f}{item}\u{1f}{what}").as_bytes(),
    )
    .as_bytes();
    if let Ok(parent) = uuid::Uuid::parse_str(order) {
        bytes[..6].copy_from_slice(&parent.as_bytes()[..6]);
    }
    uuid::Uuid::new_v8(bytes).to_string()
}

/// The job handlers of the chain, activating through `activation`.
pub fn job_handlers(activation: Activation) -> Vec<(String, Arc<dyn JobHandler>)> {
    let activation = Arc::new(activation);
    let cancels = cancel::handlers(activation.clone());
    [
        (product::FULFIL, Step::ProductFulfil),
        (product::RESUME, Step::ProductResume),
        (service::FULFIL, Step::ServiceFulfil),
        (service::RESUME, Step::ServiceResume),
        (resource::FULFIL, Step::ResourceFulfil),
    ]
    .into_iter()
    .map(|(queue, step)| {
        let job: Arc<dyn JobHandler> = Arc::new(StepJob {
            step,
            activation: activation.clone(),
        });
        (queue.to_string(), job)
    })
    .chain(cancels)
    .collect()
}

/// The steps of the chain that run as jobs, each about one order (`{"id": …}`).
#[derive(Debug, Clone, Copy)]
enum Step {
    ProductFulfil,
    ProductResume,
    ServiceFulfil,
    ServiceResume,
    ResourceFulfil,
}

/// A step's job, with the adapters it activates (or, undoing, deactivates) through.
struct StepJob {
    step: Step,
    activation: Arc<Activation>,
}

impl JobHandler for StepJob {
    fn run<'a>(&'a self, engine: &'a Engine, payload: &'a Value) -> JobFuture<'a> {
        Box::pin(async move {
            let (id, activation) = (payload_id(payload), self.activation.as_ref());
            settle(match self.step {
                Step::ProductFulfil => product::fulfil(engine, activation, id).await,
                Step::ProductResume => product::resume(engine, activation, id).await,
                Step::ServiceFulfil => service::fulfil(engine, activation, id).await,
                Step::ServiceResume => service::resume(engine, activation, id).await,
                Step::ResourceFulfil => resource::fulfil(engine, id).await,
            })
        })
    }
}

/// The order a step works on, if it is to work on it: an `acknowledged` order (a
/// client's) is checked first when `check_new` (→ `inProgress`, or `rejected` with the
/// reasons); a pending cancellation is completed instead (a step is what the end of the
/// orders below wakes); only an order `inProgress` is answered.
pub(crate) async fn order_to_work_on(
    engine: &Engine,
    activation: &Activation,
    kind: cancel::Kind,
    id: &str,
    check_new: bool,
) -> Result<Option<Value>> {
    let order = kind.order();
    let (api, collection, items_attribute) = (order.api, order.collection, order.items);
    let Some(mut doc) = engine.document(api, collection, id).await? else {
        return Ok(None);
    };
    if check_new && text(&doc, "state") == "acknowledged" {
        let problems = match kind {
            cancel::Kind::Product => crate::order_validation::problems(engine, &doc).await?,
            cancel::Kind::Service => service::problems(engine, &doc).await?,
            cancel::Kind::Resource => resource::problems(engine, &doc).await?,
        };
        if !accept_or_reject(engine, api, collection, items_attribute, id, &problems).await? {
            return Ok(None);
        }
        doc = engine.require(api, collection, id).await?;
    }
    match text(&doc, "state").as_str() {
        "pendingCancellation" => {
            cancel::complete(engine, activation, kind, id).await?;
            Ok(None)
        }
        "inProgress" => Ok(Some(doc)),
        _ => Ok(None),
    }
}

/// Runs a step that writes through `Engine::together` without reading first
/// (`step(false)`), and again reading first when an id it derives was taken (a 409
/// that no concurrent change explains: a run before got further).
pub(crate) async fn reading_if_taken<Run, Step, T>(step: Step) -> Result<T>
where
    Step: Fn(bool) -> Run,
    Run: std::future::Future<Output = Result<T>>,
{
    match step(false).await {
        Err(error)
            if error.kind == switchboard_engine::ErrorKind::Conflict && !error.concurrent =>
        {
            step(true).await
        }
        outcome => outcome,
    }
}

/// Ends an order (`ending`) in `together` and commits all it holds.
pub async fn finish_together(
    mut together: Together,
    (api, collection, items_attribute): (&str, &str, &str),
    id: &str,
    outcomes: &[Outcome],
) -> Result<()> {
    let at = together.engine().served(api, collection)?;
    together
        .update(at, id, ending(items_attribute, outcomes))
        .await?;
    together.commit().await
}

/// The stored documents a reference attribute of `doc` names (those still there).
pub(crate) async fn referred(
    engine: &Engine,
    doc: &Value,
    reference: switchboard_engine::Reference,
) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for id in reference.ids(doc) {
        if let Some(found) = engine
            .document(reference.api, reference.collection, id)
            .await?
        {
            out.push(found);
        }
    }
    Ok(out)
}

/// The items of an order (`attribute`: "productOrderItem", …).
pub fn items<'a>(order: &'a Value, attribute: &str) -> &'a [Value] {
    order
        .get(attribute)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// What became of one item: its final state and, when it did not complete, why.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub item: String,
    pub state: &'static str,
    pub reason: Option<String>,
}

impl Outcome {
    pub fn completed(item: &str) -> Self {
        Outcome {
            item: item.to_string(),
            state: "completed",
            reason: None,
        }
    }

    pub fn failed(item: &str, reason: impl Into<String>) -> Self {
        Outcome {
            item: item.to_string(),
            state: "failed",
            reason: Some(reason.into()),
        }
    }

    /// Completed, or failed for the reason given.
    pub fn of(item: &str, done: std::result::Result<(), String>) -> Self {
        match done {
            Ok(()) => Outcome::completed(item),
            Err(reason) => Outcome::failed(item, reason),
        }
    }
}

/// The order state its items' outcomes give: completed when all completed, failed when
/// none did, partial otherwise.
pub fn rolled_up(outcomes: &[Outcome]) -> &'static str {
    let completed = outcomes.iter().filter(|o| o.state == "completed").count();
    match completed {
        n if n == outcomes.len() => "completed",
        0 => "failed",
        _ => "partial",
    }
}

/// Ends an in-progress order: item states, the order state, `completionDate`, and a note
/// per item that did not complete. A no-op when the order already left `inProgress`.
pub async fn finish(
    engine: &Engine,
    api: &str,
    collection: &str,
    items_attribute: &str,
    id: &str,
    outcomes: &[Outcome],
) -> Result<()> {
    let at = engine.served(api, collection)?;
    engine
        .update_internal(at, id, ending(items_attribute, outcomes))
        .await?;
    Ok(())
}

/// The change `finish` makes to an order (for a transaction that writes more with it).
pub fn ending<'a>(
    items_attribute: &'a str,
    outcomes: &'a [Outcome],
) -> impl Fn(&mut Value) -> Result<()> + Sync + 'a {
    let state = rolled_up(outcomes);
    let now = switchboard_engine::now_rfc3339();
    move |order: &mut Value| {
        if text(order, "state") != "inProgress" {
            return Ok(());
        }
        if let Some(Value::Array(list)) = order.get_mut(items_attribute) {
            for item in list {
                let item_id = text(item, "id");
                if let Some(outcome) = outcomes.iter().find(|o| o.item == item_id) {
                    item["state"] = json!(outcome.state);
                }
            }
        }
        order["state"] = json!(state);
        order["completionDate"] = json!(now);
        for outcome in outcomes {
            if let Some(reason) = &outcome.reason {
                add_note(
                    order,
                    &now,
                    format!("{}: item {}: {reason}", outcome.state, outcome.item),
                );
            }
        }
        Ok(())
    }
}

/// Marks one item of an in-progress order failed, with a note, before anything was
/// ordered for it (what it names is missing from the catalog or the inventory).
pub async fn fail_item(
    engine: &Engine,
    api: &str,
    collection: &str,
    items_attribute: &str,
    id: &str,
    item_id: &str,
    reason: &str,
) -> Result<()> {
    let at = engine.served(api, collection)?;
    let now = switchboard_engine::now_rfc3339();
    engine
        .update_internal(at, id, |order| {
            let mut changed = false;
            if let Some(Value::Array(list)) = order.get_mut(items_attribute) {
                for item in list {
                    if text(item, "id") == item_id && text(item, "state") == "inProgress" {
                        item["state"] = json!("failed");
                        changed = true;
                    }
                }
            }
            if changed {
                add_note(order, &now, format!("failed: item {item_id}: {reason}"));
            }
            Ok(())
        })
        .await?;
    Ok(())
}

/// Ends an inventory entry: `attribute` (its state) to `terminated` and `date` (when it
/// ended) to now, unless it ended already; an entry gone from the inventory is fine.
pub async fn terminate(
    engine: &Engine,
    (api, collection): (&str, &str),
    (attribute, date): (&str, &str),
    id: &str,
) -> Result<()> {
    let at = engine.served(api, collection)?;
    let now = switchboard_engine::now_rfc3339();
    match engine
        .update_internal(at, id, |doc| {
            if text(doc, attribute) != "terminated" {
                doc[attribute] = json!("terminated");
                doc[date] = json!(now);
            }
            Ok(())
        })
        .await
    {
        Ok(_) => Ok(()),
        Err(error) if error.kind == switchboard_engine::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

/// What is wrong with one item of an order a client posted, if anything: an `add`
/// needs `add` (a specification, as (id, what it is)) to exist in `catalog`; a `modify`
/// or `delete` needs its `target` (id, what it is) in `inventory`.
pub async fn item_problem(
    engine: &Engine,
    item: &Value,
    add: ((&str, &str), String, &str),
    target: ((&str, &str), String, &str),
) -> Result<Option<String>> {
    let action = text(item, "action");
    let ((api, collection), id, what) = match action.as_str() {
        "add" => add,
        "modify" | "delete" => target,
        "noChange" => return Ok(None),
        other => {
            return Ok(Some(format!(
                "action '{other}' is not add, modify, delete or noChange"
            )))
        }
    };
    if id.is_empty() {
        let article = if action == "add" { "an" } else { "a" };
        return Ok(Some(format!("{article} '{action}' item names no {what}")));
    }
    if engine.document(api, collection, &id).await?.is_none() {
        return Ok(Some(if action == "add" {
            format!("{collection} '{id}' does not exist")
        } else {
            format!("{collection} '{id}' is not in the inventory")
        }));
    }
    Ok(None)
}

/// Appends a note by the server.
pub fn add_note(order: &mut Value, now: &str, text: String) {
    let Some(fields) = order.as_object_mut() else {
        return;
    };
    let notes = fields.entry("note").or_insert_with(|| json!([]));
    if let Value::Array(notes) = notes {
        // TMF641 v4 requires a note id; the position keeps it stable.
        let id = (notes.len() + 1).to_string();
        notes.push(json!({"id": id, "author": "Switchboard", "date": now, "text": text}));
    }
}

/// Moves an acknowledged order to `inProgress` (items too), or to `rejected` with a note
/// per problem. Answers whether the order is now in progress.
pub async fn accept_or_reject(
    engine: &Engine,
    api: &str,
    collection: &str,
    items_attribute: &str,
    id: &str,
    problems: &[(Option<String>, String)],
) -> Result<bool> {
    let at = engine.served(api, collection)?;
    let now = switchboard_engine::now_rfc3339();
    let stored = engine
        .update_internal(at, id, |order| {
            accept_or_reject_in(order, items_attribute, problems, &now);
            Ok(())
        })
        .await?;
    let doc: Value = serde_json::from_str(&stored.json)
        .map_err(|error| switchboard_engine::Error::internal(error.to_string()))?;
    Ok(text(&doc, "state") == "inProgress")
}

/// The change `accept_or_reject` makes to an order still `acknowledged` (none to any
/// other): `inProgress` with its items when there are no `problems`, else `rejected`
/// (the items with a problem rejected, the others cancelled) with a note per problem.
pub fn accept_or_reject_in(
    order: &mut Value,
    items_attribute: &str,
    problems: &[(Option<String>, String)],
    now: &str,
) {
    if text(order, "state") != "acknowledged" {
        return;
    }
    let failing: Vec<&str> = problems
        .iter()
        .filter_map(|(item, _)| item.as_deref())
        .collect();
    let accepted = problems.is_empty();
    order["state"] = json!(if accepted { "inProgress" } else { "rejected" });
    if let Some(Value::Array(list)) = order.get_mut(items_attribute) {
        for item in list {
            let state = match (accepted, failing.contains(&text(item, "id").as_str())) {
                (true, _) => "inProgress",
                (false, true) => "rejected",
                (false, false) => "cancelled",
            };
            item["state"] = json!(state);
        }
    }
    for (item, problem) in problems {
        let text = match item {
            Some(item) => format!("rejected: item {item}: {problem}"),
            None => format!("rejected: {problem}"),
        };
        add_note(order, now, text);
    }
}
