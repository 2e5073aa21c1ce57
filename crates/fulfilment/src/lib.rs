//! The order-to-activation chain (docs/wire-choices.md, "Fulfilment: the
//! order-to-activation chain"): product orders decompose into service orders, service
//! orders into resource orders and activations, and what they produce is written to the
//! inventories; the outcome rolls back up.
//!
//! A crate above `switchboard-apis`: the order APIs (TMF622, TMF641, TMF652) are declared
//! there, with the queues their writes start (`ordering::queues`); this crate handles
//! those queues. `all` is the one list the server runs: the APIs' list with the chain's
//! job handlers attached to the order APIs.
//!
//! Every step is a job about one order and is idempotent: what a step creates gets an id
//! derived from (order, item, what) (`ids`), created with `Engine::ensure`, so a step run
//! twice (after a crash, or by a second process) finds what the first run made instead
//! of making it again. The next step is queued in the transaction that ends the previous
//! one: a new order queues its `fulfil` step (`Order::start`), and an order reaching a
//! final state queues the `resume` step of the order it was made for (`Order::parent`).
//! No timer polls.
//!
//! Modules, from the top down (each uses only those below it):
//! - `jobs`: the job handlers, by order API.
//! - `product`: TMF622 — validate (`validation`, `decision`), one service order per item,
//!   then the product inventory (TMF637) when the service orders end (`milestones`).
//! - `service`: TMF641 — the RFSs of each CFS, one resource order for the resources they
//!   need, then activation (`activation`) and the service inventory (TMF638).
//! - `resource`: TMF652 — pool reservations (TMF685) and the resource inventory (TMF639).
//! - `entry`: where a step starts (the order, checked when new; a pending cancellation
//!   completed instead).
//! - `cancel`: cancel tasks, cascading down; `undo`: undoing what was added.
//! - `product_plan`, `service_plan`, `plan`: what an item becomes, read from the catalog
//!   and the inventory, with characteristic values derived by `valueFrom`;
//!   `spec_cache`: catalog specifications parsed once per stored version.
//! - `milestones`: a product order's end, with a milestone event per completed item.
//! - `decision`: what the checks of a product order decide (rejected, or pending for
//!   information with its events), written only while the order is as checked.
//! - `validation`: the checks of a new order.
//! - `orders`: `Step`, what a step's helpers share, and what a step does to its order
//!   (accept, fail an item, end it); `kind`: the three order APIs and how they connect.
//! - `model`: the typed orders and items the steps read; `ids`: the derived ids;
//!   `activation`: the adapters.

pub mod activation;
pub mod cancel;
pub mod decision;
pub mod entry;
pub mod ids;
pub mod jobs;
pub mod kind;
pub mod milestones;
pub mod model;
pub mod orders;
pub mod plan;
pub mod product;
pub mod product_plan;
pub mod resource;
pub mod service;
pub mod service_plan;
pub mod spec_cache;
pub mod undo;
pub mod validation;

use std::sync::Arc;

use switchboard_apis::{Registration, Settings};

pub use activation::Activation;

/// Every API this build serves (`switchboard_apis::all`, its rules set by `settings`),
/// the order APIs with the chain's job handlers, activating services through
/// `activation`.
pub fn all(activation: Activation, settings: &Settings) -> Vec<Registration> {
    let activation = Arc::new(activation);
    switchboard_apis::all(settings)
        .into_iter()
        .map(
            |registration| match kind::Kind::of_api(registration.decl.code) {
                Some(kind) => registration.with_jobs(jobs::of(kind, &activation)),
                None => registration,
            },
        )
        .collect()
}
