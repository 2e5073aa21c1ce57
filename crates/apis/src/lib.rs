//! The TMF Open APIs, one module each, every module the same shape: `api()` returns
//! the declaration (base path, schema, resources with their operations, states and
//! hooks); `job_handlers()` lists the background work the API defines. `all()` is the
//! one list of them, each API's declaration paired with its job handlers.
//!
//! The order-to-activation chain, which works on the three order APIs, is a crate
//! above this one (`switchboard-fulfilment`): it attaches its job handlers to their
//! entries in this list. What both sides speak of (the chain's queues, order states,
//! how an order names its parent) is here, in `ordering`.

pub use doc::text;
pub use registration::{Jobs, Registration};
pub use settings::Settings;

pub mod assurance;
pub mod catalog;
mod catalog_jobs;
pub mod catalog_rules;
pub mod decomposition;
pub mod doc;
pub mod ids;
pub mod impact;
pub mod lifecycle;
pub mod ordering;
pub mod registration;
pub mod settings;
pub mod steps;
pub mod tmf620;
pub mod tmf621;
pub mod tmf622;
pub mod tmf632;
pub mod tmf633;
pub mod tmf634;
pub mod tmf637;
pub mod tmf638;
pub mod tmf639;
pub mod tmf640;
pub mod tmf641;
pub mod tmf645;
pub mod tmf652;
pub mod tmf656;
pub mod tmf657;
pub mod tmf669;
pub mod tmf685;

/// Every API this build serves, in the order they are mounted, with the job handlers
/// each defines, their rules set by `settings`. Adding an API is a module and a line
/// here. The order APIs' chain handlers are attached above (`switchboard_fulfilment::all`).
pub fn all(settings: &Settings) -> Vec<Registration> {
    vec![
        Registration::new(tmf620::api()).with_jobs(tmf620::job_handlers()),
        Registration::new(tmf632::api()),
        Registration::new(tmf669::api()),
        Registration::new(tmf633::api()).with_jobs(tmf633::job_handlers()),
        Registration::new(tmf634::api()).with_jobs(tmf634::job_handlers()),
        Registration::new(tmf637::api()),
        Registration::new(tmf638::api()),
        Registration::new(tmf639::api()),
        Registration::new(tmf685::api()).with_jobs(tmf685::job_handlers()),
        Registration::new(tmf622::api()),
        Registration::new(tmf641::api()),
        Registration::new(tmf652::api()),
        Registration::new(tmf640::api()),
        Registration::new(tmf645::api()).with_jobs(tmf645::job_handlers()),
        Registration::new(tmf621::api(settings)).with_jobs(tmf621::job_handlers(settings)),
        assurance::service_problems(settings),
        Registration::new(tmf657::api(settings)).with_jobs(tmf657::job_handlers()),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod wire_states;
