//! The TMF Open APIs, one module each, every module the same shape: `api()` returns
//! the declaration (base path, schema, resources with their operations, states and
//! hooks); `job_handlers()` lists the background work the API defines.

use std::sync::Arc;

use switchboard_engine::{ApiDecl, JobHandler};

pub mod catalog;
mod catalog_jobs;
pub mod catalog_rules;
pub mod decomposition;
pub mod fulfilment;
pub mod impact;
pub mod lifecycle;
pub mod order_validation;
pub mod ordering;
mod steps;
pub mod tmf620;
pub mod tmf622;
pub mod tmf632;
pub mod tmf633;
pub mod tmf634;
pub mod tmf637;
pub mod tmf638;
pub mod tmf639;
pub mod tmf640;
pub mod tmf641;
pub mod tmf652;
pub mod tmf669;
pub mod tmf685;

/// A string attribute of a document, or "" when it is absent or not a string.
pub(crate) fn text(doc: &serde_json::Value, key: &str) -> String {
    doc.get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Every API this build serves, in the order they are mounted.
pub fn all() -> Vec<ApiDecl> {
    vec![
        tmf620::api(),
        tmf632::api(),
        tmf669::api(),
        tmf633::api(),
        tmf634::api(),
        tmf637::api(),
        tmf638::api(),
        tmf639::api(),
        tmf685::api(),
        tmf622::api(),
        tmf641::api(),
        tmf652::api(),
        tmf640::api(),
    ]
}

/// Every job queue handler, keyed by queue name, activating through the simulator.
pub fn job_handlers() -> Vec<(String, Arc<dyn JobHandler>)> {
    job_handlers_with(fulfilment::Activation::default())
}

/// Every job queue handler, activating services through `activation`.
pub fn job_handlers_with(activation: fulfilment::Activation) -> Vec<(String, Arc<dyn JobHandler>)> {
    let mut handlers = tmf620::job_handlers();
    handlers.extend(tmf633::job_handlers());
    handlers.extend(tmf634::job_handlers());
    handlers.extend(tmf685::job_handlers());
    handlers.extend(fulfilment::job_handlers(activation));
    handlers
}
