//! What a step does to the order it works on, the same for the three kinds: its items,
//! accepting or rejecting it, failing one item, ending it with its items' outcomes (alone
//! or with what the step made, in one transaction), and the notes that say why.

use serde_json::{json, Value};
use switchboard_apis::ordering::states::OrderState;
use switchboard_apis::text;
use switchboard_engine::{Engine, Result, Together};

use crate::activation::Activation;
use crate::kind::{cancelling, Kind};
use crate::model::OrderHead;

/// How long after a step ends an order the jobs that end starts (its parent's
/// `resume`) wait, when the step's caller resumes the parent itself at once: they are
/// the safety net of a crash in between (an order that ends drops its own `resume` jobs
/// still waiting, so they seldom run at all).
pub const SAFETY_NET: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs a step that writes through `Engine::together` without reading first
/// (`step(false)`), and again reading first when an id it derives was taken (a 409
/// that no concurrent change explains: a run before got further).
pub async fn reading_if_taken<Run, Step, T>(step: Step) -> Result<T>
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

/// A step of the chain about one order: what its helpers share.
#[derive(Clone, Copy)]
pub struct Step<'a> {
    pub engine: &'a Engine,
    /// The adapters it activates (or, undoing, deactivates) through.
    pub activation: &'a Activation,
    pub kind: Kind,
    /// The order's id.
    pub id: &'a str,
}

impl Step<'_> {
    /// Whether its order is being cancelled (a writer that meets this undoes its write).
    pub async fn cancelling(&self) -> Result<bool> {
        cancelling(self.engine, self.kind, self.id).await
    }

    /// Marks one item of its order failed (`fail_item`).
    pub async fn fail_item(&self, item_id: &str, reason: &str) -> Result<()> {
        fail_item(self.engine, self.kind, self.id, item_id, reason).await
    }

    /// Ends its order in `together` and commits all it holds (`finish_together`).
    pub async fn finish_together(&self, together: Together, outcomes: &[Outcome]) -> Result<()> {
        finish_together(together, self.kind, self.id, outcomes).await
    }
}

/// Ends order `id` of `kind` (`ending`) in `together` and commits all it holds.
pub async fn finish_together(
    mut together: Together,
    kind: Kind,
    id: &str,
    outcomes: &[Outcome],
) -> Result<()> {
    let order = kind.order();
    let at = together.engine().served(order.api, order.collection)?;
    together
        .update(at, id, ending(order.items, outcomes))
        .await?;
    together.commit().await
}

/// The stored documents a reference attribute of `doc` names (those still there).
pub async fn referred(
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

/// What became of one item: its final state and, when it did not complete, why.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub item: String,
    pub state: OrderState,
    pub reason: Option<String>,
}

impl Outcome {
    pub fn completed(item: &str) -> Self {
        Outcome {
            item: item.to_string(),
            state: OrderState::Completed,
            reason: None,
        }
    }

    pub fn failed(item: &str, reason: impl Into<String>) -> Self {
        Outcome {
            item: item.to_string(),
            state: OrderState::Failed,
            reason: Some(reason.into()),
        }
    }

    /// Failed when it failed before (noted then).
    pub fn failed_before(item: &str) -> Self {
        Outcome {
            item: item.to_string(),
            state: OrderState::Failed,
            reason: None,
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
pub fn rolled_up(outcomes: &[Outcome]) -> OrderState {
    let completed = outcomes
        .iter()
        .filter(|o| o.state == OrderState::Completed)
        .count();
    match completed {
        n if n == outcomes.len() => OrderState::Completed,
        0 => OrderState::Failed,
        _ => OrderState::Partial,
    }
}

/// Ends an in-progress order: item states, the order state, `completionDate`, and a note
/// per item that did not complete. A no-op when the order already left `inProgress`.
pub async fn finish(engine: &Engine, kind: Kind, id: &str, outcomes: &[Outcome]) -> Result<()> {
    let order = kind.order();
    let at = engine.served(order.api, order.collection)?;
    engine
        .update_internal(at, id, ending(order.items, outcomes))
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
        if OrderState::of(order) != Some(OrderState::InProgress) {
            return Ok(());
        }
        if let Some(Value::Array(list)) = order.get_mut(items_attribute) {
            for item in list {
                let item_id = id_in(item);
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
                    format!(
                        "{}: item {}: {reason}",
                        outcome.state.as_str(),
                        outcome.item
                    ),
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
    kind: Kind,
    id: &str,
    item_id: &str,
    reason: &str,
) -> Result<()> {
    let order = kind.order();
    let at = engine.served(order.api, order.collection)?;
    let now = switchboard_engine::now_rfc3339();
    engine
        .update_internal(at, id, |doc| {
            let mut changed = false;
            if let Some(Value::Array(list)) = doc.get_mut(order.items) {
                for item in list {
                    if id_in(item) == item_id
                        && OrderState::of(item) == Some(OrderState::InProgress)
                    {
                        item["state"] = json!(OrderState::Failed);
                        changed = true;
                    }
                }
            }
            if changed {
                add_note(doc, &now, format!("failed: item {item_id}: {reason}"));
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
    kind: Kind,
    id: &str,
    problems: &[(Option<String>, String)],
) -> Result<bool> {
    let order = kind.order();
    let at = engine.served(order.api, order.collection)?;
    let now = switchboard_engine::now_rfc3339();
    let stored = engine
        .update_internal(at, id, |doc| {
            accept_or_reject_in(doc, order.items, problems, &now);
            Ok(())
        })
        .await?;
    Ok(OrderHead::from_json(&stored.json)?.state == Some(OrderState::InProgress))
}

/// The change `accept_or_reject` makes to an order still `acknowledged`, or `pending`
/// for information (none to any other): `inProgress` with its items when there are no
/// `problems`, else `rejected` (the items with a problem rejected, the others cancelled)
/// with a note per problem.
pub fn accept_or_reject_in(
    order: &mut Value,
    items_attribute: &str,
    problems: &[(Option<String>, String)],
    now: &str,
) {
    if !matches!(
        OrderState::of(order),
        Some(OrderState::Acknowledged | OrderState::Pending)
    ) {
        return;
    }
    let failing: Vec<&str> = problems
        .iter()
        .filter_map(|(item, _)| item.as_deref())
        .collect();
    let accepted = problems.is_empty();
    order["state"] = json!(if accepted {
        OrderState::InProgress
    } else {
        OrderState::Rejected
    });
    if let Some(Value::Array(list)) = order.get_mut(items_attribute) {
        for item in list {
            let state = match (accepted, failing.contains(&id_in(item))) {
                (true, _) => OrderState::InProgress,
                (false, true) => OrderState::Rejected,
                (false, false) => OrderState::Cancelled,
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

/// The id of a document or item as stored (a change works on the stored document).
pub fn id_in(item: &Value) -> &str {
    item.get("id").and_then(Value::as_str).unwrap_or_default()
}
