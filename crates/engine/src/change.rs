//! Changing a stored document (TMF630 "Partial update"): a client's PATCH and the
//! server's own changes alike go through `change_in`, which validates the result, moves
//! its states as their machines allow, runs the hooks, checks references and writes it
//! at the version read; `update_all` commits several of one API together, run again
//! when a transactional hook met a concurrent write.

use serde_json::Value;

use crate::commit::{announce, hook_jobs, transactional};
use crate::document::{check_if_match, parse_stored, promoted, storable_json};
use crate::error::{Error, Result};
use crate::events::Change;
use crate::kernel::{Engine, ResourceDecl, ResourceRuntime, Scope};
use crate::model::{PatchKind, ResourceRef, Stored, WriteKind};
use crate::patch::{apply_patch, without_nulls};
use crate::states::{attributes_changed, canonical_state, check_other_states, state_move};

impl Engine {
    /// PATCH (TMF630 "Partial update"): merge or JSON Patch, then the same checks as a
    /// create, the state machine, optimistic concurrency and the change events.
    pub async fn patch(
        &self,
        at: ResourceRef,
        id: &str,
        kind: PatchKind,
        body: Value,
        if_match: Option<&str>,
    ) -> Result<Stored> {
        let (_, resource) = self.runtime(at)?;
        self.allowed(resource, resource.decl.operations.patch, "PATCH")?;
        if kind == PatchKind::Merge {
            if !body.is_object() {
                return Err(Error::invalid_body("a merge patch must be a JSON object"));
            }
            if let Some(validator) = &resource.update_validator {
                // Nulls remove attributes (RFC 7396); the schema speaks of values only.
                validator.check(&without_nulls(&body))?;
            }
        }
        self.update(at, id, if_match, |doc, decl| {
            apply_patch(doc, kind, &body, decl)
        })
        .await
    }

    /// A change, run again when its transactional hook met a concurrent write.
    pub(crate) async fn update(
        &self,
        at: ResourceRef,
        id: &str,
        if_match: Option<&str>,
        change: impl Fn(&mut Value, &ResourceDecl) -> Result<()> + Sync,
    ) -> Result<Stored> {
        let mut stored = self
            .update_all(&[Update {
                at,
                id,
                if_match,
                change: &change,
            }])
            .await?;
        stored
            .pop()
            .ok_or_else(|| Error::internal("an update answered no document"))
    }

    /// Changes to documents of one API in one transaction, run again when a
    /// transactional hook met a concurrent write; what each document is afterwards.
    pub(crate) async fn update_all(&self, updates: &[Update<'_>]) -> Result<Vec<Stored>> {
        let mut attempt = 0;
        loop {
            match self.update_all_once(updates).await {
                Err(error)
                    if updates
                        .iter()
                        .any(|update| self.runs_again(update.at, &error, attempt)) =>
                {
                    attempt += 1
                }
                outcome => return outcome,
            }
        }
    }

    async fn update_all_once(&self, updates: &[Update<'_>]) -> Result<Vec<Stored>> {
        let Some(first) = updates.first() else {
            return Ok(Vec::new());
        };
        if updates.iter().any(|update| update.at.api != first.at.api) {
            return Err(Error::internal("changes made together must be of one API"));
        }
        let api = self.api(first.at.api)?;
        let tx = self.inner.store.begin().await?;
        let mut scope = Scope::new(self.clone(), api.decl.code, tx);
        let mut changed = Vec::with_capacity(updates.len());
        for update in updates {
            let (_, resource) = self.runtime(update.at)?;
            let change = self
                .change_in(
                    &mut scope,
                    update.at,
                    update.id,
                    update.if_match,
                    update.change,
                )
                .await?;
            changed.push((resource, change));
        }
        if changed.iter().any(|(_, change)| change.written) {
            let events = || {
                changed
                    .iter()
                    .flat_map(|(resource, change)| change.events(resource))
                    .collect()
            };
            self.finish(scope.finish(), api, events).await?;
        }
        Ok(changed
            .into_iter()
            .map(|(_, change)| change.stored)
            .collect())
    }

    /// One document's change written into `scope`'s transaction (validation, state
    /// machine, hooks, references); the caller commits it.
    pub(crate) async fn change_in(
        &self,
        scope: &mut Scope,
        at: ResourceRef,
        id: &str,
        if_match: Option<&str>,
        change: &(dyn Fn(&mut Value, &ResourceDecl) -> Result<()> + Sync),
    ) -> Result<Changed> {
        let (_, resource) = self.runtime(at)?;
        let Some(current) = scope.tx.get(&resource.kind, id).await? else {
            return Err(self.not_found(resource, id));
        };
        check_if_match(if_match, current.version)?;
        let previous: Value = parse_stored(&current.json)?;
        let mut doc = previous.clone();
        change(&mut doc, &resource.decl)?;
        canonical_state(&resource.decl, &mut doc);
        if !doc.is_object() {
            return Err(Error::invalid_body(
                "the patched resource must stay a JSON object",
            ));
        }
        // Identity never changes, whatever the patch did.
        for key in ["id", "href"] {
            if let Some(value) = previous.get(key) {
                doc[key] = value.clone();
            }
        }
        if doc == previous {
            return Ok(Changed {
                stored: Stored {
                    id: current.id,
                    version: current.version,
                    json: current.json,
                },
                written: false,
                changes: Vec::new(),
                doc,
            });
        }
        if let Some(validator) = &resource.create_validator {
            validator.check_change(&doc, &previous)?;
        }
        let mut changes = Vec::new();
        let moved = state_move(&resource.decl, &previous, &doc)?;
        if moved.changed {
            changes.push(Change::StateChange);
        }
        if moved.retiring {
            self.check_unreferenced(at, id, "retired").await?;
        }
        check_other_states(&resource.decl, &previous, &doc)?;
        if attributes_changed(&previous, &doc, &resource.decl) {
            changes.push(Change::AttributeValueChange);
        }
        if let Some(attribute) = resource.decl.last_update {
            doc[attribute] = Value::String(crate::clock::now_rfc3339());
        }
        if let Some(hooks) = &resource.decl.hooks {
            hooks.check(WriteKind::Update, &mut doc, Some(&previous))?;
        }
        if let Some(hooks) = transactional(&resource.decl) {
            hooks
                .within(scope, WriteKind::Update, &mut doc, Some(&previous))
                .await?;
        }
        self.check_references(&mut scope.tx, resource, id, &doc, Some(&previous))
            .await?;
        let json = storable_json(&doc)?;
        let version = scope
            .tx
            .update(
                &resource.kind,
                id,
                current.version,
                &json,
                &promoted(resource, &doc, &self.inner.config.public_url)?,
            )
            .await?;
        scope.jobs.extend(hook_jobs(
            resource,
            WriteKind::Update,
            &doc,
            Some(&previous),
        ));
        if let Some(hooks) = &resource.decl.hooks {
            for (queue, prefix) in hooks.dropped_jobs(WriteKind::Update, &doc, Some(&previous)) {
                scope.tx.cancel_jobs(&queue, &prefix).await?;
            }
        }
        Ok(Changed {
            stored: Stored {
                id: id.to_string(),
                version,
                json,
            },
            written: true,
            changes,
            doc,
        })
    }
}

/// One document's change among those `Engine::update_all` makes in one transaction.
pub(crate) struct Update<'a> {
    pub(crate) at: ResourceRef,
    pub(crate) id: &'a str,
    pub(crate) if_match: Option<&'a str>,
    pub(crate) change: &'a (dyn Fn(&mut Value, &ResourceDecl) -> Result<()> + Sync),
}

/// A document's change written into a transaction, with what it announces.
pub(crate) struct Changed {
    pub(crate) stored: Stored,
    /// False when the change left the document as it was (nothing was written).
    pub(crate) written: bool,
    pub(crate) changes: Vec<Change>,
    pub(crate) doc: Value,
}

impl Changed {
    fn events(&self, resource: &ResourceRuntime) -> Vec<Value> {
        self.changes
            .iter()
            .map(|change| announce(resource, *change, &self.doc))
            .collect()
    }
}
