//! The TMF Open APIs, one module each, every module the same shape: `api()` returns
//! the declaration (base path, schema, resources with their operations, states and
//! hooks); `job_handlers()` lists the background work the API defines. `all()` is the
//! one list of them, each API's declaration paired with its job handlers.
//!
//! The order-to-activation chain, which works on the three order APIs, is a crate
//! above this one (`switchboard-fulfilment`): it attaches its job handlers to their
//! entries in this list. What both sides speak of (the chain's queues, order states,
//! how an order names its parent) is here, in `ordering`.

use std::sync::Arc;

use switchboard_engine::{ApiDecl, JobHandler};

pub use settings::Settings;

pub mod assurance;
pub mod catalog;
mod catalog_jobs;
pub mod catalog_rules;
pub mod decomposition;
pub mod ids;
pub mod impact;
pub mod lifecycle;
pub mod ordering;
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

/// A string attribute of a document, or "" when it is absent or not a string.
pub fn text(doc: &serde_json::Value, key: &str) -> String {
    doc.get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Job handlers, keyed by queue name.
pub type Jobs = Vec<(String, Arc<dyn JobHandler>)>;

/// One API as a server runs it: its declaration (routes, resources, hooks) and the
/// handlers of the job queues it defines.
pub struct Registration {
    pub decl: ApiDecl,
    pub jobs: Jobs,
}

impl Registration {
    /// An API with no background work (yet).
    pub fn new(decl: ApiDecl) -> Self {
        Registration {
            decl,
            jobs: Vec::new(),
        }
    }

    /// The same API with these job handlers too.
    pub fn with_jobs(mut self, jobs: Jobs) -> Self {
        self.jobs.extend(jobs);
        self
    }

    /// The declarations and the job handlers of `registrations`, as the engine takes them.
    pub fn split(registrations: Vec<Registration>) -> (Vec<ApiDecl>, Jobs) {
        let mut decls = Vec::with_capacity(registrations.len());
        let mut jobs = Vec::new();
        for registration in registrations {
            decls.push(registration.decl);
            jobs.extend(registration.jobs);
        }
        (decls, jobs)
    }
}

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
