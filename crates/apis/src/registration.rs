//! What an API module hands the server: its declaration with its job handlers. Below
//! every API module, so that one that composes a registration (assurance's TMF656)
//! imports it from here rather than from the crate's root.

use std::sync::Arc;

use switchboard_engine::{ApiDecl, JobHandler};

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
