//! The states of orders and of their cancel tasks (v4 `…OrderStateType`,
//! `TaskStateType`): the declared transitions, and the groups of states the chain and
//! the order hooks ask about.

/// The order cycle (v4 `…OrderStateType`): acknowledged on receipt, then rejected, or
/// worked (pending/held/inProgress) to completed, failed or partial; a cancellation goes
/// through assessingCancellation and pendingCancellation.
pub const ORDER_TRANSITIONS: &[(&str, &[&str])] = &[
    (
        "acknowledged",
        &[
            "rejected",
            "pending",
            "held",
            "inProgress",
            "assessingCancellation",
        ],
    ),
    (
        "pending",
        &["inProgress", "held", "rejected", "assessingCancellation"],
    ),
    ("held", &["inProgress", "pending", "assessingCancellation"]),
    (
        "inProgress",
        &[
            "completed",
            "failed",
            "partial",
            "held",
            "pending",
            "assessingCancellation",
        ],
    ),
    (
        "assessingCancellation",
        &["pendingCancellation", "inProgress", "held", "pending"],
    ),
    ("pendingCancellation", &["cancelled"]),
    ("completed", &[]),
    ("failed", &[]),
    ("partial", &[]),
    ("rejected", &[]),
    ("cancelled", &[]),
];

/// The cancel task cycle (TMF622 and TMF652 v4 `TaskStateType`).
pub const TASK_TRANSITIONS: &[(&str, &[&str])] = &[
    (
        "acknowledged",
        &["inProgress", "done", "terminatedWithError"],
    ),
    ("inProgress", &["done", "terminatedWithError"]),
    ("done", &[]),
    ("terminatedWithError", &[]),
];

/// The same cycle as TMF641 v4's `TaskStateType` spells it: a task received is
/// `accepted` there (its enum has no `acknowledged`).
pub const ACCEPTED_TASK_TRANSITIONS: &[(&str, &[&str])] = &[
    ("accepted", &["inProgress", "done", "terminatedWithError"]),
    ("inProgress", &["done", "terminatedWithError"]),
    ("done", &[]),
    ("terminatedWithError", &[]),
];

/// An order's state (v4 `…OrderStateType`), read from an order once instead of
/// compared as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OrderState {
    Acknowledged,
    Rejected,
    Pending,
    Held,
    InProgress,
    Cancelled,
    Completed,
    Failed,
    Partial,
    AssessingCancellation,
    PendingCancellation,
}

impl OrderState {
    /// The state of `order` (its `state` attribute), if it holds one of the cycle's.
    pub fn of(order: &serde_json::Value) -> Option<OrderState> {
        order
            .get("state")
            .and_then(serde_json::Value::as_str)
            .and_then(OrderState::parse)
    }

    /// The state named `name` on the wire.
    pub fn parse(name: &str) -> Option<OrderState> {
        Some(match name {
            "acknowledged" => OrderState::Acknowledged,
            "rejected" => OrderState::Rejected,
            "pending" => OrderState::Pending,
            "held" => OrderState::Held,
            "inProgress" => OrderState::InProgress,
            "cancelled" => OrderState::Cancelled,
            "completed" => OrderState::Completed,
            "failed" => OrderState::Failed,
            "partial" => OrderState::Partial,
            "assessingCancellation" => OrderState::AssessingCancellation,
            "pendingCancellation" => OrderState::PendingCancellation,
            _ => return None,
        })
    }

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Acknowledged => "acknowledged",
            OrderState::Rejected => "rejected",
            OrderState::Pending => "pending",
            OrderState::Held => "held",
            OrderState::InProgress => "inProgress",
            OrderState::Cancelled => "cancelled",
            OrderState::Completed => "completed",
            OrderState::Failed => "failed",
            OrderState::Partial => "partial",
            OrderState::AssessingCancellation => "assessingCancellation",
            OrderState::PendingCancellation => "pendingCancellation",
        }
    }

    /// Whether it ends the order.
    pub fn is_final(self) -> bool {
        use OrderState::*;
        matches!(self, Completed | Failed | Partial | Rejected | Cancelled)
    }

    /// Whether a cancellation is under way or done: fulfilment stops and undoes what it
    /// did.
    pub fn is_cancelling(self) -> bool {
        use OrderState::*;
        matches!(
            self,
            AssessingCancellation | PendingCancellation | Cancelled
        )
    }

    /// Whether the order can still be cancelled.
    pub fn is_cancellable(self) -> bool {
        use OrderState::*;
        matches!(self, Acknowledged | Pending | Held | InProgress)
    }
}

/// A cancel task's state (v4 `TaskStateType`). `Acknowledged` is a task received and
/// not yet worked, which TMF641 v4 calls `accepted`; the server writes that first state
/// only through the declared state machine, so it is read under either name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TaskState {
    #[serde(alias = "accepted")]
    Acknowledged,
    InProgress,
    Done,
    TerminatedWithError,
}

impl TaskState {
    /// The state of `task` (its `state` attribute), if it holds one of the cycle's.
    pub fn of(task: &serde_json::Value) -> Option<TaskState> {
        task.get("state")?.as_str().and_then(TaskState::parse)
    }

    /// The state named `name` on the wire.
    pub fn parse(name: &str) -> Option<TaskState> {
        Some(match name {
            "acknowledged" | "accepted" => TaskState::Acknowledged,
            "inProgress" => TaskState::InProgress,
            "done" => TaskState::Done,
            "terminatedWithError" => TaskState::TerminatedWithError,
            _ => return None,
        })
    }

    /// Whether the task is still open (acknowledged or in progress).
    pub fn is_open(self) -> bool {
        matches!(self, TaskState::Acknowledged | TaskState::InProgress)
    }
}

/// Whether `order` has ended (is in a final state).
pub fn ended(order: &serde_json::Value) -> bool {
    OrderState::of(order).is_some_and(OrderState::is_final)
}

/// What an order item asks for (v4 `ItemActionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemAction {
    Add,
    Modify,
    Delete,
    NoChange,
}

impl ItemAction {
    /// The action of `item` (its `action` attribute), if it is one of the four.
    pub fn of(item: &serde_json::Value) -> Option<ItemAction> {
        item.get("action")
            .and_then(serde_json::Value::as_str)
            .and_then(ItemAction::parse)
    }

    /// The action named `name` on the wire.
    pub fn parse(name: &str) -> Option<ItemAction> {
        match name {
            "add" => Some(ItemAction::Add),
            "modify" => Some(ItemAction::Modify),
            "delete" => Some(ItemAction::Delete),
            "noChange" => Some(ItemAction::NoChange),
            _ => None,
        }
    }

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemAction::Add => "add",
            ItemAction::Modify => "modify",
            ItemAction::Delete => "delete",
            ItemAction::NoChange => "noChange",
        }
    }
}
