//! The TMF630 resource engine: one implementation of create, read, list, patch,
//! delete, validation, state machines, hub subscriptions and events, shared by every
//! declared API.
//!
//! Layout, from the bottom up (each module imports only from those listed before it):
//! - `error`: the error kinds the HTTP layer turns into TMF error bodies;
//! - `clock`: TMF dates;
//! - `schema`: body validation against the compact schemas;
//! - `query`: TMF630 query strings, projection and in-memory matching;
//! - `callbacks`: where event callbacks may go (the SSRF guard);
//! - `events`: event names and construction (change and domain events), hub
//!   subscriptions and the fan-out to the outbox;
//! - `model`: plain data of declarations, addresses and answers;
//! - `config`: the operator's settings; `locks`: in-process key locks;
//! - `kernel`: the types that refer to each other: `Engine`, the declarations holding
//!   hooks (`ApiDecl`, `ResourceDecl`, `Hooks`, `View`), `JobHandler`, `Scope`;
//! - `decl`: what an API module declares, gathered from `model` and `kernel`;
//! - `document`: a document as stored (JSON text, indexed values, stamps, If-Match);
//! - `scope`: what a domain hook does in its transaction (internal state, locks, jobs,
//!   domain events);
//! - `setup`: `Engine::new`, declarations compiled against their schemas;
//! - `reads`: retrieve, list, views, documents and internal state as committed;
//! - `commit`: the tail of every write (hooks' jobs, events, commit, wake-up, retries);
//! - `references`: reference checks, referrers through the link index, in-service checks;
//! - `patch`: merge and JSON Patch bodies, server-owned attributes;
//! - `states`: state machines on a change, and what the change announces;
//! - `write`: create, `ensure`, delete; `change`: PATCH and every change of a document;
//! - `internal`: server-made changes (`update_internal`, several together);
//! - `transfer`: `dump` and `restore` (catalog export and import);
//! - `hub`: hub subscriptions;
//! - `together`: several server-made writes of any resources in one transaction;
//! - `worker`: the background job runner (event delivery, registered job handlers).
//!
//! The engine knows no HTTP framework and no SQL.

pub mod callbacks;
mod change;
mod clock;
mod commit;
mod config;
pub mod decl;
mod document;
pub mod error;
pub mod events;
mod hub;
mod internal;
mod kernel;
mod locks;
mod model;
mod patch;
pub mod query;
mod reads;
mod references;
pub mod schema;
pub mod scope;
mod setup;
mod states;
mod together;
mod transfer;
pub mod worker;
mod write;

pub use clock::{format_instant, now_rfc3339};
pub use config::EngineConfig;
pub use decl::{
    ApiDecl, Events, HookFuture, Hooks, NewJob, Observe, Observer, Operations, Reference,
    ResourceDecl, StateMachine, View, ViewFuture, WriteKind,
};
pub use error::{Error, ErrorKind, Result};
pub use internal::InternalChange;
pub use kernel::{ApiRuntime, Engine};
pub use model::{ListResult, PatchKind, ResourceRef, Stored};
pub use schema::{ErrorField, ErrorShape};
pub use scope::{Internal, Scope};
pub use together::Together;
pub use worker::{JobFuture, JobHandler};

/// The local path a `file://` URL names (import and export jobs).
pub fn file_url_path(url: &str) -> Result<std::path::PathBuf> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|error| Error::invalid_body(format!("'{url}' is not a URL: {error}")))?;
    if parsed.scheme() != "file" {
        return Err(Error::invalid_body(format!(
            "'{url}' is not a file:// URL; only local files are supported"
        )));
    }
    parsed
        .to_file_path()
        .map_err(|_| Error::invalid_body(format!("'{url}' does not name a local file")))
}
