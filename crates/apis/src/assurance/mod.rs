//! Fault correlation (docs/wire-choices.md, "Assurance correlation"): a resource fault
//! becomes one service problem (TMF656) per resource and episode, its impact is walked up
//! the inventory (`crate::impact`), and every affected customer gets one trouble ticket
//! (TMF621), linked both ways; the clear resolves the problem and the tickets it opened.
//! A customer's own ticket about a product already under an open problem is linked to it.
//!
//! Above `tmf621`, `tmf656` and `impact` (it imports them; only `lib.rs` imports it). Its
//! rules are TMF656's: `service_problems` is that API's registration with correlation's
//! observers (of TMF639 resources, TMF656 problems, TMF621 tickets) and job handlers.
//! Modules, from the top down:
//! - `observers`: which writes start work (pure: from the document and its previous
//!   version), queued in the write's own transaction;
//! - `faults`: a fault or clear event on a resource → find or open its problem, append
//!   the event, record it (`serviceProblemEventRecord`); resolve on clear;
//! - `tickets`: a problem's impact (fields, score) and its customers' tickets, in
//!   batches per transaction; resolving the tickets it opened;
//! - `customer`: a customer's own ticket linked to the open problems under its product;
//! - `work`: what the handlers share (key locks, retries, problem queries);
//! - `score`, `model`: the formula, and the typed documents.

mod customer;
mod faults;
pub mod model;
mod observers;
pub mod score;
mod tickets;
mod work;

use std::sync::Arc;

use switchboard_engine::decl::Observer;
use switchboard_engine::JobHandler;

use crate::registration::Registration;
use crate::settings::Settings;
use crate::{tmf621, tmf639, tmf656};

/// A resource's fault or clear event.
pub const FAULT_QUEUE: &str = "assurance.fault";
/// A new problem's impact and tickets.
pub const IMPACT_QUEUE: &str = "assurance.impact";
/// A resolved problem's system-opened tickets.
pub const RESOLVE_QUEUE: &str = "assurance.resolve";
/// A customer's ticket, to be linked to open problems.
pub const LINK_QUEUE: &str = "assurance.link";

/// TMF656 as served: its declaration, with correlation's observers and job handlers.
pub fn service_problems(settings: &Settings) -> Registration {
    let mut decl = tmf656::api(settings);
    decl.observers.extend([
        Observer {
            api: tmf639::CODE,
            collection: "resource",
            observe: Arc::new(observers::ResourceFaults),
        },
        Observer {
            api: tmf656::CODE,
            collection: "serviceProblem",
            observe: Arc::new(observers::ProblemChanges),
        },
        Observer {
            api: tmf621::CODE,
            collection: "troubleTicket",
            observe: Arc::new(observers::CustomerTickets),
        },
    ]);
    let shared = Arc::new(work::Shared::new(settings.assurance.clone()));
    let handler = |queue: &str, handler: Arc<dyn JobHandler>| (queue.to_string(), handler);
    Registration::new(decl).with_jobs(vec![
        handler(FAULT_QUEUE, Arc::new(faults::Faults(shared.clone()))),
        handler(IMPACT_QUEUE, Arc::new(tickets::Impacts(shared.clone()))),
        handler(RESOLVE_QUEUE, Arc::new(tickets::Resolutions)),
        handler(LINK_QUEUE, Arc::new(customer::Links(shared))),
    ])
}
