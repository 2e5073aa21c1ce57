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

/// Orders in these states can still be cancelled.
pub const CANCELLABLE: &[&str] = &["acknowledged", "pending", "held", "inProgress"];

/// Order states that end an order.
pub const FINAL: &[&str] = &["completed", "failed", "partial", "rejected", "cancelled"];

/// Order states of a cancellation under way: fulfilment stops and undoes what it did.
pub const CANCELLING: &[&str] = &["assessingCancellation", "pendingCancellation", "cancelled"];

/// The cancel task cycle (v4 `TaskStateType`).
pub const TASK_TRANSITIONS: &[(&str, &[&str])] = &[
    (
        "acknowledged",
        &["inProgress", "done", "terminatedWithError"],
    ),
    ("inProgress", &["done", "terminatedWithError"]),
    ("done", &[]),
    ("terminatedWithError", &[]),
];
