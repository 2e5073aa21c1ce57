//! The TMF630 resource engine: one implementation of create, read, list, patch,
//! delete, validation, state machines, hub subscriptions and events, shared by every
//! declared API.
//!
//! Layout:
//! - `decl`: what an API module declares (resources, state machines, hooks);
//! - `engine`: the operations over declared resources;
//! - `query`: TMF630 query strings, projection and in-memory matching;
//! - `schema`: body validation against the compact schemas;
//! - `scope`: the transaction a domain hook works in (internal state, locks, jobs);
//! - `together`: several server-made writes of any resources in one transaction;
//! - `callbacks`: where event callbacks may go (the SSRF guard);
//! - `events`: event construction, hub subscriptions and the fan-out to the outbox;
//! - `worker`: the background job runner (event delivery, registered job handlers);
//! - `error`: the error kinds the HTTP layer turns into TMF error bodies.
//!
//! The engine knows no HTTP framework and no SQL.

pub mod callbacks;
pub mod decl;
mod engine;
pub mod error;
pub mod events;
pub mod query;
pub mod schema;
pub mod scope;
mod together;
pub mod worker;

pub use decl::{
    ApiDecl, HookFuture, Hooks, NewJob, Operations, Reference, ResourceDecl, StateMachine, View,
    ViewFuture, WriteKind,
};
pub use engine::{
    Engine, EngineConfig, InternalChange, ListResult, PatchKind, ResourceRef, Stored,
};
pub use error::{Error, ErrorKind, Result};
pub use scope::{Internal, Scope};
pub use together::Together;
pub use worker::{JobFuture, JobHandler};

/// The current time as TMF dates are written here: UTC, millisecond precision, `Z`.
pub fn now_rfc3339() -> String {
    format_instant(time::OffsetDateTime::now_utc())
}

pub fn format_instant(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

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
