//! Several server-made writes, of any declared resources, in one transaction
//! (`Engine::together`): a step of the chain that ends an order and writes what the
//! order produced commits once, not once per document. Each write is what
//! `Engine::ensure` or `Engine::update_internal` would do on its own (validation, state
//! machine, transactional hooks, references, events, jobs); a reader sees all of them
//! or none, and the domain events a step emits (`Together::emit`) are sent only if they
//! commit.

use serde_json::{Map, Value};

use crate::commit::{announce, transactional};
use crate::document::parse_stored;
use crate::error::Result;
use crate::events::{self, Change, Emitted};
use crate::kernel::{Engine, Finished, Scope};
use crate::model::{ResourceRef, WriteKind};

/// Writes under way in one transaction; nothing is stored until `commit`, and nothing
/// at all when it is dropped instead.
pub struct Together {
    scope: Scope,
    /// What each write announces; built into events only for an API with
    /// subscriptions.
    announced: Vec<(ResourceRef, Vec<Change>, Value)>,
    /// Whether any write stored something (one may change nothing).
    written: bool,
    /// Whether `ensure` reads first (see `Engine::together`).
    read_first: bool,
    /// The jobs the writes start run no sooner than this after the commit.
    defer: Option<std::time::Duration>,
}

impl Engine {
    /// Opens a transaction for several writes (see `Together`). Without `read_first`,
    /// `ensure` reads nothing, as `Engine::ensure` on its first try: the ids a step
    /// derives are new unless a run before got there, and then the commit fails (409,
    /// not `concurrent`) and the step runs again with `read_first`, finding them.
    pub async fn together(&self, read_first: bool) -> Result<Together> {
        let tx = self.store().begin().await?;
        Ok(Together {
            scope: Scope::new(self.clone(), "", tx),
            announced: Vec::new(),
            written: false,
            read_first,
            defer: None,
        })
    }
}

impl Together {
    pub fn engine(&self) -> &Engine {
        self.scope.engine()
    }

    /// Whether `ensure` reads first: a caller's own checks for what an earlier run
    /// made are worth a read only then (otherwise the commit finds it).
    pub fn reads_first(&self) -> bool {
        self.read_first
    }

    /// The jobs the writes start (e.g. the `resume` of an order's parent) fall due only
    /// `delay` after the commit: for a caller that goes on to do their work itself at
    /// once, so that they are a safety net (after a crash) that then finds nothing left
    /// to do, and do not race the caller. Event deliveries are not deferred.
    pub fn defer_jobs(&mut self, delay: std::time::Duration) {
        self.defer = Some(delay);
    }

    /// `Engine::ensure` in this transaction: creates the document under `id`, unless
    /// (when reading first) one is there: answered as it is, with `false`.
    pub async fn ensure(
        &mut self,
        at: ResourceRef,
        id: &str,
        body: Value,
    ) -> Result<(Value, bool)> {
        let mark = self.scope.emitted.len();
        let outcome = self.ensure_once(at, id, body).await;
        self.unemit_failed(mark, outcome)
    }

    async fn ensure_once(
        &mut self,
        at: ResourceRef,
        id: &str,
        body: Value,
    ) -> Result<(Value, bool)> {
        let engine = self.engine().clone();
        let (api, resource) = engine.runtime(at)?;
        if self.read_first {
            if let Some(stored) = self.scope.tx.get(&resource.kind, id).await? {
                return Ok((parse_stored(&stored.json)?, false));
            }
        }
        let mut doc = engine.prepare_new(at, body, id, true)?;
        self.scope.set_api(api.decl.code);
        if let Some(hooks) = transactional(&resource.decl) {
            hooks
                .within(&mut self.scope, WriteKind::Create, &mut doc, None)
                .await?;
        }
        engine
            .insert_in(&mut self.scope, resource, id, &doc)
            .await?;
        self.announced.push((at, vec![Change::Create], doc.clone()));
        self.written = true;
        Ok((doc, true))
    }

    /// `Engine::update_internal` in this transaction; answers the document as it is
    /// now (unchanged, and not written, when `change` changed nothing).
    pub async fn update(
        &mut self,
        at: ResourceRef,
        id: &str,
        change: impl Fn(&mut Value) -> Result<()> + Sync,
    ) -> Result<Value> {
        let engine = self.engine().clone();
        let (api, _) = engine.runtime(at)?;
        self.scope.set_api(api.decl.code);
        let mark = self.scope.emitted.len();
        let changed = engine
            .change_in(&mut self.scope, at, id, None, &|doc, _| change(doc))
            .await;
        let changed = self.unemit_failed(mark, changed)?;
        if changed.written {
            self.written = true;
            if !changed.changes.is_empty() {
                self.announced
                    .push((at, changed.changes, changed.doc.clone()));
            }
        }
        Ok(changed.doc)
    }

    /// Emits the domain event `suffix` that the resource at `at` declares, about `doc`,
    /// with `extra` TMF fields beside `event` (see `Scope::emit`): queued with this
    /// transaction's writes, sent only if they commit. An undeclared event is a
    /// programming error (500).
    pub fn emit(
        &mut self,
        at: ResourceRef,
        suffix: &str,
        doc: &Value,
        extra: Map<String, Value>,
    ) -> Result<()> {
        self.scope.emit_at(at, suffix, doc, extra)
    }

    /// A write that failed emits nothing: what its hooks emitted since `mark` is
    /// forgotten, should the caller go on with the transaction.
    fn unemit_failed<T>(&mut self, mark: usize, outcome: Result<T>) -> Result<T> {
        if outcome.is_err() {
            self.scope.emitted.truncate(mark);
        }
        outcome
    }

    /// Commits every write (with their events and jobs) at once; a transaction that
    /// wrote and emitted nothing commits nothing.
    pub async fn commit(self) -> Result<()> {
        let engine = self.engine().clone();
        let Together {
            scope,
            announced,
            written,
            defer,
            ..
        } = self;
        if !written && scope.emitted.is_empty() {
            return Ok(());
        }
        let Finished {
            mut tx,
            mut jobs,
            mut emitted,
        } = scope.finish();
        if let Some(delay) = defer {
            let due = switchboard_store::now_millis()
                .saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
            for job in &mut jobs {
                job.run_at = Some(job.run_at.map_or(due, |at| at.max(due)));
            }
        }
        let mut apis: Vec<usize> = announced
            .iter()
            .map(|(at, _, _)| at.api)
            .chain(emitted.iter().map(|emitted| emitted.api))
            .collect();
        apis.sort_unstable();
        apis.dedup();
        let mut queued = 0;
        for index in apis {
            let code = engine.api(index)?.decl.code;
            let (own, rest): (Vec<Emitted>, Vec<Emitted>) = emitted
                .into_iter()
                .partition(|emitted| emitted.api == index);
            emitted = rest;
            let events = || {
                announced
                    .iter()
                    .filter(|(at, _, _)| at.api == index)
                    .filter_map(|(at, changes, doc)| {
                        Some((engine.runtime(*at).ok()?.1, changes, doc))
                    })
                    .flat_map(|(resource, changes, doc)| {
                        changes
                            .iter()
                            .map(move |change| announce(resource, *change, doc))
                    })
                    .chain(own.into_iter().map(|emitted| emitted.event))
                    .collect()
            };
            queued += events::fan_out(&mut tx, code, events).await?;
        }
        engine.commit_with(tx, jobs, queued).await
    }
}
