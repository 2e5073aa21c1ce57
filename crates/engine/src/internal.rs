//! Changes the server makes itself (jobs, domain hooks): the same validation, state
//! machines, events and concurrency as a PATCH, without the server-owned check; several
//! documents of one API may change in one transaction, and a hook may change documents
//! of its API in its write's transaction (`Scope::update`).

use serde_json::Value;

use crate::change::Update;
use crate::commit::announce;
use crate::error::Result;
use crate::events::Emitted;
use crate::kernel::{Engine, ResourceDecl, Scope};
use crate::model::{ResourceRef, Stored};

/// One of the changes `Engine::update_internal_together` makes: where, which document,
/// and what to do to it.
pub type InternalChange<'a> = (
    ResourceRef,
    &'a str,
    &'a (dyn Fn(&mut Value) -> Result<()> + Sync),
);

impl Engine {
    /// A change made by the server itself (jobs, domain hooks): no server-owned check,
    /// same validation, state machine, events and concurrency as a PATCH.
    pub async fn update_internal(
        &self,
        at: ResourceRef,
        id: &str,
        change: impl Fn(&mut Value) -> Result<()> + Sync,
    ) -> Result<Stored> {
        self.update(at, id, None, |doc, _| change(doc)).await
    }

    /// Server-made changes to several documents of one API in one transaction: a reader
    /// sees all of them or none (e.g. an order `cancelled` with its cancel tasks `done`).
    /// Each change is what `update_internal` would do to its document alone; one that
    /// changes nothing writes nothing. Every document must exist.
    pub async fn update_internal_together(&self, changes: &[InternalChange<'_>]) -> Result<()> {
        let changes: Vec<_> = changes
            .iter()
            .map(|&(at, id, change)| (at, id, move |doc: &mut Value, _: &ResourceDecl| change(doc)))
            .collect();
        let updates: Vec<Update> = changes
            .iter()
            .map(|(at, id, change)| Update {
                at: *at,
                id,
                if_match: None,
                change,
            })
            .collect();
        self.update_all(&updates).await.map(|_| ())
    }
}

impl Scope {
    /// Changes a document of this write's API in the write's transaction (a task that
    /// moves the resources it names): what `Engine::update_internal` would do to it
    /// alone (validation, state machine, its hooks, references, jobs), its change events
    /// sent with the write's own, so only if the write commits. Answers the document as
    /// it is now (unchanged, and not written, when `change` changed nothing). A
    /// concurrent change of it fails the commit, and the write runs again.
    pub async fn update(
        &mut self,
        collection: &str,
        id: &str,
        change: impl Fn(&mut Value) -> Result<()> + Sync,
    ) -> Result<Value> {
        let engine = self.engine.clone();
        let at = engine.served(self.api, collection)?;
        let (_, resource) = engine.runtime(at)?;
        let changed = engine
            .change_in(self, at, id, None, &|doc, _| change(doc))
            .await?;
        for change in &changed.changes {
            self.emitted.push(Emitted {
                api: at.api,
                event: announce(resource, *change, &changed.doc),
            });
        }
        Ok(changed.doc)
    }
}
