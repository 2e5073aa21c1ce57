//! What the three ordering APIs share (TMF622 product, TMF641 service, TMF652 resource
//! orders): the order and item state machines, the server-owned parts of an order, and
//! the cancel task (`cancel…Order`), whose job takes a not yet finished order through
//! assessingCancellation and pendingCancellation to cancelled.
//!
//! Below it, what the order declarations and the chain (crate `switchboard-fulfilment`)
//! both speak of: `states` (transitions and groups of states), `queues` (the chain's
//! job queues) and `parents` (how an order the chain makes names its parent).

pub mod parents;
pub mod queues;
pub mod states;

use std::sync::Arc;

use serde_json::{json, Value};
use switchboard_engine::{
    Hooks, NewJob, Operations, Reference, ResourceDecl, Result, StateMachine, WriteKind,
};

use crate::catalog_jobs::schema_name;
use crate::doc::text;
use crate::steps::job_for;
use states::{ended, OrderState, ACCEPTED_TASK_TRANSITIONS, ORDER_TRANSITIONS, TASK_TRANSITIONS};

/// One ordering API's order resource.
#[derive(Debug, Clone, Copy)]
pub struct Order {
    pub api: &'static str,
    /// "productOrder".
    pub collection: &'static str,
    /// "ProductOrder".
    pub resource_type: &'static str,
    /// The attribute listing the items: "productOrderItem".
    pub items: &'static str,
    /// The queue of the first fulfilment step, started by every new order.
    pub start: Option<&'static str>,
    /// The order this one was made for, told when this one ends.
    pub parent: Option<Parent>,
    /// The queue of this order's own `resume` step (told by the orders made for it):
    /// the jobs still waiting there are dropped when it ends.
    pub resume: Option<&'static str>,
}

/// Where an order made by fulfilment reports its end: the step of the parent order to
/// queue, and how to find the parent's id in this order (`None`: a client's own order).
#[derive(Debug, Clone, Copy)]
pub struct Parent {
    pub queue: &'static str,
    pub id: fn(&Value) -> Option<String>,
}

impl Order {
    /// The order resource: server-owned id, href, `orderDate`, `state` (acknowledged on
    /// create; then moved only by the server) and item states.
    pub fn decl(self) -> ResourceDecl {
        ResourceDecl {
            create_schema: Some(schema_name(self.resource_type, "_Create")),
            update_schema: Some(schema_name(self.resource_type, "_Update")),
            state: Some(StateMachine {
                attribute: "state",
                initial: Some("acknowledged"),
                transitions: ORDER_TRANSITIONS,
            }),
            created_at: Some("orderDate"),
            server_owned: Box::leak(
                vec![
                    "state",
                    "completionDate",
                    "cancellationDate",
                    "startDate",
                    "expectedCompletionDate",
                    // Declarations are built once at start-up: leaking the name is harmless.
                    Box::leak(format!("{}[].state", self.items).into_boxed_str()),
                ]
                .into_boxed_slice(),
            ),
            hooks: Some(Arc::new(OrderHooks(self))),
            ..ResourceDecl::new(self.collection, self.resource_type)
        }
    }

    /// The cancel task resource (`cancelProductOrder`, …) naming an existing order.
    pub fn cancel_decl(
        self,
        collection: &'static str,
        resource_type: &'static str,
        references: &'static [Reference],
    ) -> ResourceDecl {
        ResourceDecl {
            create_schema: Some(schema_name(resource_type, "_Create")),
            operations: Operations {
                delete: false,
                patch: false,
                ..Operations::TASK
            },
            state: Some(self.task_states()),
            server_owned: &["state", "effectiveCancellationDate", "errorMessage"],
            references,
            hooks: Some(Arc::new(CancelHooks {
                queue: self.cancel_queue(),
            })),
            ..ResourceDecl::new(collection, resource_type)
        }
    }

    /// The cancel task's states as this API's `TaskStateType` names them.
    pub fn task_states(self) -> StateMachine {
        let (initial, transitions) = match self.api {
            "TMF641" => ("accepted", ACCEPTED_TASK_TRANSITIONS),
            _ => ("acknowledged", TASK_TRANSITIONS),
        };
        StateMachine {
            attribute: "state",
            initial: Some(initial),
            transitions,
        }
    }

    /// The queue of this API's cancel task job (handled by the chain's `cancel`).
    pub fn cancel_queue(self) -> &'static str {
        match self.api {
            "TMF622" => queues::PRODUCT_CANCEL,
            "TMF641" => queues::SERVICE_CANCEL,
            _ => queues::RESOURCE_CANCEL,
        }
    }
}

/// Item states start as the order's.
struct OrderHooks(Order);

impl Hooks for OrderHooks {
    fn check(&self, kind: WriteKind, doc: &mut Value, _previous: Option<&Value>) -> Result<()> {
        if kind != WriteKind::Create {
            return Ok(());
        }
        // A client's order starts acknowledged (its `state` was dropped as server-owned);
        // an order fulfilment makes for another starts where the server put it.
        let state = text(doc, "state");
        let state = if state.is_empty() {
            "acknowledged".to_string()
        } else {
            state
        };
        set_item_states(doc, self.0.items, &state, &[]);
        Ok(())
    }

    fn dropped_jobs(
        &self,
        kind: WriteKind,
        doc: &Value,
        previous: Option<&Value>,
    ) -> Vec<(String, String)> {
        match self.0.resume {
            Some(queue)
                if kind == WriteKind::Update && ended(doc) && !previous.is_some_and(ended) =>
            {
                vec![(
                    queue.to_string(),
                    resume_key_prefix(queue, &text(doc, "id")),
                )]
            }
            _ => Vec::new(),
        }
    }

    fn jobs(&self, kind: WriteKind, doc: &Value, previous: Option<&Value>) -> Vec<NewJob> {
        match (kind, self.0.start) {
            // A client's order: its first step is queued with it. An order fulfilment
            // made for another starts in progress, and its maker runs that step itself.
            (WriteKind::Create, Some(queue)) if text(doc, "state") == "acknowledged" => {
                return vec![job_for(queue, doc)]
            }
            (WriteKind::Create, _) => return Vec::new(),
            (WriteKind::Update, Some(queue)) if supplied(self.0.items, doc, previous) => {
                return vec![revalidation(queue, self.0.items, doc)]
            }
            _ => {}
        }
        let Some(parent) = self.0.parent else {
            return Vec::new();
        };
        if kind != WriteKind::Update || !ended(doc) || previous.is_some_and(ended) {
            return Vec::new();
        }
        let Some(parent_id) = (parent.id)(doc) else {
            return Vec::new();
        };
        // One per child: a parent with several children hears from each, even while an
        // earlier report is being handled.
        let child = text(doc, "id");
        vec![NewJob {
            queue: parent.queue.to_string(),
            payload: json!({"id": parent_id}),
            dedup_key: Some(format!(
                "{}{child}",
                resume_key_prefix(parent.queue, &parent_id)
            )),
            run_at: None,
        }]
    }
}

/// Whether a write changed the items of an order waiting `pending` for information
/// (TMF622 `…InformationRequiredEvent`): the client supplying it, which the first step
/// checks again. The server's own writes change only item states and notes.
fn supplied(items: &str, doc: &Value, previous: Option<&Value>) -> bool {
    let pending = |order: &Value| OrderState::of(order) == Some(OrderState::Pending);
    match previous {
        Some(previous) if pending(doc) && pending(previous) => {
            items_as_posted(items, doc) != items_as_posted(items, previous)
        }
        _ => false,
    }
}

/// The items of an order without their (server-owned) states: what the client wrote.
pub fn items_as_posted(items: &str, order: &Value) -> Value {
    let mut list = order.get(items).cloned().unwrap_or(Value::Null);
    if let Value::Array(entries) = &mut list {
        for entry in entries {
            strip_states(entry, items);
        }
    }
    list
}

/// Removes `state` from an item and its nested items.
fn strip_states(item: &mut Value, items: &str) {
    let Some(fields) = item.as_object_mut() else {
        return;
    };
    fields.remove("state");
    if let Some(Value::Array(nested)) = fields.get_mut(items) {
        for entry in nested {
            strip_states(entry, items);
        }
    }
}

/// The first step queued again for an order whose items the client changed while it
/// was pending. Deduplicated by the items as changed, not by the order alone: the job
/// that moved the order to `pending` may not have settled yet (its key still taken),
/// and this change must be checked all the same; the same change twice is one job.
fn revalidation(queue: &str, items: &str, doc: &Value) -> NewJob {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    items_as_posted(items, doc).to_string().hash(&mut hasher);
    let mut job = job_for(queue, doc);
    job.dedup_key = job
        .dedup_key
        .map(|key| format!("{key}:{:016x}", hasher.finish()));
    job
}

/// The start of the dedup keys of the `resume` jobs (in `queue`) of order `parent`: one
/// per child that ended.
pub fn resume_key_prefix(queue: &str, parent: &str) -> String {
    format!("{queue}:{parent}:")
}

/// Sets the state of every item (nested items too) not in one of `keep`.
fn set_item_states(doc: &mut Value, items: &str, state: &str, keep: &[&str]) {
    let Some(Value::Array(list)) = doc.get_mut(items) else {
        return;
    };
    for item in list {
        let current = item
            .get("state")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !keep.contains(&current) {
            item["state"] = json!(state);
        }
        set_item_states(item, items, state, keep);
    }
}

struct CancelHooks {
    queue: &'static str,
}

impl Hooks for CancelHooks {
    fn jobs(&self, kind: WriteKind, doc: &Value, _previous: Option<&Value>) -> Vec<NewJob> {
        match kind {
            WriteKind::Create => vec![job_for(self.queue, doc)],
            _ => Vec::new(),
        }
    }
}
