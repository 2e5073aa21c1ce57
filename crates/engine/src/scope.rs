//! The transaction a domain hook works in (`Hooks::within`): it reads other resources
//! as the write sees them, keeps state of its own that clients never see (a pool's
//! allocation ledger), queues jobs, emits declared domain events, and serialises on a
//! key. Everything it writes or emits commits with the document, or nothing does.
//! (The `Scope` struct itself is in `kernel`, since hooks and the engine refer to it;
//! here is what a hook may do with it.)

use serde_json::{Map, Value};
use switchboard_store::Promoted;

use crate::document::{parse_stored, storable_json};
use crate::error::{Error, Result};
use crate::events::{self, Emitted};
use crate::model::{NewJob, ResourceRef};

pub use crate::kernel::Scope;

/// A piece of internal state as read: its version and value.
#[derive(Debug, Clone)]
pub struct Internal {
    pub version: i64,
    pub value: Value,
}

impl Scope {
    /// Waits for, then holds until the write is submitted for commit (or fails), this
    /// process's lock on `key` (e.g. a pool id). Internal state written under it is
    /// handed to the next holder at once (`Tx::get_latest`), so writers of one key
    /// share group commits instead of waiting for each other's.
    ///
    /// A key this transaction holds already is not waited for again; nor is a second
    /// key (a transaction of several writes, `Engine::together`): two transactions
    /// taking two keys in opposite orders would wait for each other for ever. It is
    /// taken if free, else the write goes on without it and its version checks decide.
    pub async fn serialize_on(&mut self, key: &str) {
        if self.guards.iter().any(|(held, _)| held == key) {
            return;
        }
        let guard = if self.guards.is_empty() {
            self.engine.inner.locks.lock(key).await
        } else {
            match self.engine.inner.locks.try_lock(key) {
                Some(guard) => guard,
                None => return,
            }
        };
        self.guards.push((key.to_string(), guard));
    }

    /// A declared resource as this transaction sees it.
    pub async fn document(
        &mut self,
        api: &str,
        collection: &str,
        id: &str,
    ) -> Result<Option<Value>> {
        let at = self.engine.served(api, collection)?;
        let kind = self.engine.runtime(at)?.1.kind.clone();
        match self.tx.get(&kind, id).await? {
            Some(document) => Ok(Some(parse_stored(&document.json)?)),
            None => Ok(None),
        }
    }

    fn internal_kind(&self, name: &str) -> String {
        format!("{}:{name}", self.api)
    }

    /// Internal state `name`/`id` of this API, if any: the latest this process knows,
    /// including a write still committing (read it under `serialize_on`; a write built
    /// on one that then fails fails too, and is run again).
    pub async fn internal(&mut self, name: &str, id: &str) -> Result<Option<Internal>> {
        let kind = self.internal_kind(name);
        match self.tx.get_latest(&kind, id).await? {
            Some(document) => Ok(Some(Internal {
                version: document.version,
                value: parse_stored(&document.json)?,
            })),
            None => Ok(None),
        }
    }

    /// Writes internal state: a new entry when `read` is `None`, else a replacement of
    /// the version read (the commit fails, and the write is retried, if it moved).
    pub async fn put_internal(
        &mut self,
        name: &str,
        id: &str,
        read: Option<&Internal>,
        value: &Value,
    ) -> Result<()> {
        let kind = self.internal_kind(name);
        let json = storable_json(value)?;
        match read {
            None => {
                self.tx
                    .insert(&kind, id, &json, &Promoted::default())
                    .await?;
            }
            Some(read) => {
                self.tx
                    .update(&kind, id, read.version, &json, &Promoted::default())
                    .await?;
            }
        }
        self.tx.publish_on_submit(&kind, id);
        Ok(())
    }

    /// Removes internal state as it was read.
    pub async fn delete_internal(&mut self, name: &str, id: &str, read: &Internal) -> Result<()> {
        let kind = self.internal_kind(name);
        match self.tx.get_latest(&kind, id).await? {
            Some(current) if current.version == read.version => {
                self.tx.delete(&kind, id).await?;
                Ok(())
            }
            _ => Err(Error::from(switchboard_store::StoreError::VersionConflict)),
        }
    }

    /// Queues a job with the write.
    pub fn enqueue(&mut self, job: NewJob) {
        self.jobs.push(job);
    }

    /// Emits the domain event `suffix` (one `collection` of this API declares in its
    /// `events.domain`) about `doc`, with `extra` TMF fields beside `event` (a
    /// `fieldPath`): delivered like a change event, to the API's subscribers whose query
    /// matches it, queued in this transaction and so sent only if the write commits.
    /// An undeclared event is a programming error (500).
    pub fn emit(
        &mut self,
        collection: &str,
        suffix: &str,
        doc: &Value,
        extra: Map<String, Value>,
    ) -> Result<()> {
        let at = self.engine.served(self.api, collection)?;
        self.emit_at(at, suffix, doc, extra)
    }

    /// `emit` for the resource at `at`.
    pub(crate) fn emit_at(
        &mut self,
        at: ResourceRef,
        suffix: &str,
        doc: &Value,
        extra: Map<String, Value>,
    ) -> Result<()> {
        let (api, resource) = self.engine.runtime(at)?;
        let decl = &resource.decl;
        if !decl.events.declares(suffix) {
            return Err(Error::internal(format!(
                "{} {} declares no domain event '{suffix}'",
                api.decl.code, decl.collection
            )));
        }
        let event = events::domain_event(decl.resource_type, decl.collection, suffix, doc, extra)?;
        self.emitted.push(Emitted { api: at.api, event });
        Ok(())
    }
}
