//! TMF685 Resource Pool Management v1: pools of resources (an IPv4 block, a VLAN range,
//! a counted capacity, a set of named resources), reservations that allocate from them,
//! availability checks, and push/extract of units.
//!
//! Allocation is race-free on every backend: each pool has an internal ledger (never
//! shown to clients) that every allocation and release rewrites at the version it read,
//! in the same transaction as the reservation; a concurrent write makes the commit fail
//! and the engine runs the write again. Within one process, writers of one pool also
//! queue on a lock, so they do not collide at all.
//!
//! The modules, each importing only those below it: `units` (what a pool holds: parsing
//! and numbering), `ledger` (which units are out), `pool` (a pool and its ledger as a
//! write sees them; the pool's hooks and view), `reservation` (allocation, release,
//! expiry) and `tasks` (availability checks, push, extract); this file declares the API.

mod ledger;
mod pool;
mod reservation;
mod tasks;
mod units;

use std::sync::Arc;

use switchboard_engine::{ApiDecl, JobHandler, Operations, ResourceDecl, StateMachine};

pub use pool::CODE;
use pool::{Availability, PoolHooks};
use reservation::{Expiry, ReservationHooks, EXPIRY_QUEUE};
use tasks::{Task, TaskHooks};

/// A reservation holds its units while `reserved`; every other state gave them back.
const RESERVATION_TRANSITIONS: &[(&str, &[&str])] = &[
    ("reserved", &["released", "cancelled", "expired"]),
    ("released", &[]),
    ("cancelled", &[]),
    ("expired", &[]),
];

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        name: "Resource Pool Management",
        base_path: "/tmf-api/resourcePoolManagement/v1",
        schema: include_str!("../../../../schemas/TMF685.json"),
        observers: Vec::new(),
        resources: vec![
            ResourceDecl {
                create_schema: Some("ResourcePool_Create"),
                update_schema: Some("ResourcePool_Update"),
                hooks: Some(Arc::new(PoolHooks)),
                views: vec![("availability", Arc::new(Availability))],
                ..ResourceDecl::new("resourcePool", "ResourcePool")
            },
            ResourceDecl {
                create_schema: Some("Reservation_Create"),
                update_schema: Some("Reservation_Update"),
                operations: Operations {
                    delete: false,
                    ..Operations::ALL
                },
                state: Some(StateMachine {
                    attribute: "reservationState",
                    initial: Some("reserved"),
                    transitions: RESERVATION_TRANSITIONS,
                }),
                hooks: Some(Arc::new(ReservationHooks)),
                ..ResourceDecl::new("reservation", "Reservation")
            },
            task("availabilityCheck", "AvailabilityCheck", Task::Check),
            task("push", "Push", Task::Push),
            task("extract", "Extract", Task::Extract),
        ],
    }
}

pub fn job_handlers() -> Vec<(String, Arc<dyn JobHandler>)> {
    vec![(EXPIRY_QUEUE.to_string(), Arc::new(Expiry))]
}

fn task(collection: &'static str, resource_type: &'static str, task: Task) -> ResourceDecl {
    ResourceDecl {
        operations: Operations {
            delete: false,
            ..Operations::TASK
        },
        hooks: Some(Arc::new(TaskHooks(task))),
        ..ResourceDecl::new(collection, resource_type)
    }
}
