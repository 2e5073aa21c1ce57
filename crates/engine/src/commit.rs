//! What every write path ends with: the jobs the resource's hooks start, the events of
//! the change (built only for an API with subscriptions), the commit, and the wake-up of
//! the workers; and when a write that met a concurrent one is run again.

use std::sync::Arc;

use serde_json::Value;
use switchboard_store::Tx;

use crate::error::{Error, Result};
use crate::events::{self, Change};
use crate::kernel::{ApiRuntime, Engine, Finished, Hooks, ResourceDecl, ResourceRuntime};
use crate::model::{NewJob, ResourceRef, WriteKind};

impl Engine {
    /// Writes events and jobs of a change, commits, and wakes the workers. The change
    /// events are built only when the API has subscriptions to match them against; the
    /// domain events its rules `emitted` go out with them, in the same transaction.
    pub(crate) async fn finish(
        &self,
        finished: Finished,
        api: &ApiRuntime,
        events: impl FnOnce() -> Vec<Value>,
    ) -> Result<()> {
        let Finished {
            mut tx,
            jobs,
            emitted,
        } = finished;
        // A write's scope emits only for its own API (`Scope::emit`); several APIs'
        // events meet only in a `Together`, which fans out per API itself.
        let queued = events::fan_out(&mut tx, api.decl.code, || {
            let mut all = events();
            all.extend(emitted.into_iter().map(|emitted| emitted.event));
            all
        })
        .await?;
        self.commit_with(tx, jobs, queued).await
    }

    /// Queues `jobs` in `tx`, commits, and wakes the workers when anything was queued
    /// (`queued` jobs already were, e.g. event deliveries).
    pub(crate) async fn commit_with(
        &self,
        mut tx: Tx,
        jobs: Vec<NewJob>,
        mut queued: usize,
    ) -> Result<()> {
        let now = switchboard_store::now_millis();
        let later = jobs
            .iter()
            .filter_map(|job| job.run_at.filter(|at| *at > now))
            .min();
        for job in &jobs {
            tx.enqueue(
                &job.queue,
                &job.payload.to_string(),
                job.dedup_key.as_deref(),
                job.run_at.unwrap_or(now),
            )
            .await?;
            queued += 1;
        }
        tx.commit().await?;
        if let Some(at) = later {
            self.due_at(at);
        }
        if queued > 0 {
            self.wake();
        }
        Ok(())
    }

    /// Whether a write of `at` that failed with `error` on its `attempt` is run again: it
    /// met a concurrent change, and its hook works in the transaction (without one, the
    /// conflict is the client's to resolve: 409).
    pub(crate) fn runs_again(&self, at: ResourceRef, error: &Error, attempt: u32) -> bool {
        error.concurrent
            && attempt < CONCURRENT_RETRIES
            && self
                .decl(at)
                .is_ok_and(|decl| transactional(decl).is_some())
    }
}

/// Times a write whose hook works in its transaction is run again after a concurrent
/// write moved what the hook read.
pub(crate) const CONCURRENT_RETRIES: u32 = 64;

/// The hooks of a resource when they work inside the write's transaction.
pub(crate) fn transactional(decl: &ResourceDecl) -> Option<&Arc<dyn Hooks>> {
    decl.hooks.as_ref().filter(|hooks| hooks.transactional())
}

/// The jobs a write starts: its resource's hooks' and its observers' (none without).
pub(crate) fn hook_jobs(
    resource: &ResourceRuntime,
    kind: WriteKind,
    doc: &Value,
    previous: Option<&Value>,
) -> Vec<NewJob> {
    let mut jobs = resource
        .decl
        .hooks
        .as_ref()
        .map(|hooks| hooks.jobs(kind, doc, previous))
        .unwrap_or_default();
    for observer in &resource.observers {
        jobs.extend(observer.jobs(kind, doc, previous));
    }
    jobs
}

/// The TMF event of `change` to `resource`'s document, under the name its API gives it.
pub(crate) fn announce(resource: &ResourceRuntime, change: Change, doc: &Value) -> Value {
    events::event(
        resource.decl.resource_type,
        resource.decl.collection,
        resource.decl.events.suffix(change),
        doc,
    )
}
