//! Declared references between resources: every write's check that what it names exists
//! (and closes no cycle where that is refused), the reverse lookup of who refers to a
//! resource through the store's link index, and the refusal to take a resource out of
//! service while one in service still refers to it.

use serde_json::Value;
use switchboard_store::Tx;

use crate::document::{parse_stored, string_at};
use crate::error::{Error, Result};
use crate::kernel::{Engine, ResourceRuntime};
use crate::model::{Reference, ResourceRef};

impl Engine {
    /// Refuses a document whose declared references name resources that do not exist,
    /// or that would close a cycle through an acyclic reference. On an update only the
    /// references it adds are checked: one whose target was deleted since (as an
    /// inventory allows) does not block unrelated changes.
    pub(crate) async fn check_references(
        &self,
        tx: &mut Tx,
        resource: &ResourceRuntime,
        id: &str,
        doc: &Value,
        previous: Option<&Value>,
    ) -> Result<()> {
        let here = &self.inner.config.public_url;
        for reference in resource.decl.references {
            let ids = reference.added_local_ids(doc, previous, here);
            if ids.is_empty() {
                continue;
            }
            let kind = self.referred_kind(reference)?;
            for target in &ids {
                if tx.get(&kind, target).await?.is_none() {
                    return Err(Error::invalid_body(format!(
                        "'{}' refers to {} {} '{target}', which does not exist",
                        reference.attribute, reference.api, reference.collection
                    )));
                }
            }
            if reference.acyclic && kind == resource.kind {
                self.check_acyclic(tx, reference, &kind, id, &ids).await?;
            }
        }
        Ok(())
    }

    /// Walks `reference` from `start` and refuses when the walk comes back to `id`.
    async fn check_acyclic(
        &self,
        tx: &mut Tx,
        reference: &Reference,
        kind: &str,
        id: &str,
        start: &[&str],
    ) -> Result<()> {
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut queue: Vec<(String, Vec<String>)> = start
            .iter()
            .map(|target| (target.to_string(), vec![id.to_string()]))
            .collect();
        while let Some((current, path)) = queue.pop() {
            if current == id {
                let mut cycle = path;
                cycle.push(id.to_string());
                return Err(Error::invalid_body(format!(
                    "'{}' would close a cycle: {}",
                    reference.attribute,
                    cycle.join(" -> ")
                )));
            }
            if !seen.insert(current.clone()) {
                continue;
            }
            let Some(stored) = tx.get(kind, &current).await? else {
                continue;
            };
            let doc = parse_stored(&stored.json)?;
            for next in reference.ids(&doc) {
                let mut longer = path.clone();
                longer.push(current.clone());
                queue.push((next.to_string(), longer));
            }
        }
        Ok(())
    }

    /// The store kind a reference points into.
    fn referred_kind(&self, reference: &Reference) -> Result<String> {
        let Some(target) = self.resource_ref(reference.api, reference.collection) else {
            return Err(Error::internal(format!(
                "reference to {} {} which is not served",
                reference.api, reference.collection
            )));
        };
        Ok(self.runtime(target)?.1.kind.clone())
    }

    /// Documents of the `from` collections that refer, through a declared reference, to
    /// any of `ids` of `api`'s `collection`: (where the referrer is, the id it refers
    /// to, the referrer), at most `limit`, in one lookup of the store's link index.
    pub async fn referrers(
        &self,
        target: (&str, &str),
        ids: &[String],
        from: &[(&str, &str)],
        limit: i64,
    ) -> Result<Vec<(ResourceRef, String, Value)>> {
        let (api, collection) = target;
        let target_kind = self.runtime(self.served(api, collection)?)?.1.kind.clone();
        let mut kinds = Vec::new();
        let mut refs = Vec::new();
        for (api, collection) in from {
            let at = self.served(api, collection)?;
            kinds.push(self.runtime(at)?.1.kind.clone());
            refs.push(at);
        }
        let keys: Vec<String> = ids
            .iter()
            .map(|id| switchboard_store::link(&target_kind, id))
            .collect();
        let prefix = format!("{target_kind} ");
        let found = self.inner.store.referrers(&keys, &kinds, limit).await?;
        let mut out = Vec::with_capacity(found.len());
        for referrer in found {
            let Some(position) = kinds.iter().position(|kind| *kind == referrer.kind) else {
                continue;
            };
            let target_id = referrer
                .target
                .strip_prefix(&prefix)
                .unwrap_or_default()
                .to_string();
            out.push((
                refs[position],
                target_id,
                parse_stored(&referrer.document.json)?,
            ));
        }
        Ok(out)
    }

    /// Refuses to take a resource out of service (`what`: "deleted", "retired") while a
    /// resource in service refers to it (a launched offering's specification, say).
    pub(crate) async fn check_unreferenced(
        &self,
        at: ResourceRef,
        id: &str,
        what: &str,
    ) -> Result<()> {
        let (target_api, target) = self.runtime(at)?;
        for api in &self.inner.apis {
            for referrer in &api.resources {
                let decl = &referrer.decl;
                let (Some(state), false) = (&decl.state, decl.in_service.is_empty()) else {
                    continue;
                };
                let through: Vec<&Reference> = decl
                    .references
                    .iter()
                    .filter(|reference| {
                        reference.api == target_api.decl.code
                            && reference.collection == target.decl.collection
                    })
                    .collect();
                if through.is_empty() {
                    continue;
                }
                let found = self
                    .inner
                    .store
                    .referrers(
                        &[switchboard_store::link(&target.kind, id)],
                        std::slice::from_ref(&referrer.kind),
                        i64::MAX,
                    )
                    .await?;
                for found in found {
                    let doc = parse_stored(&found.document.json)?;
                    let current = string_at(&doc, state.attribute).unwrap_or_default();
                    if !decl
                        .in_service
                        .iter()
                        .any(|in_service| in_service.eq_ignore_ascii_case(&current))
                    {
                        continue;
                    }
                    let attribute = through
                        .iter()
                        .find(|reference| reference.ids(&doc).contains(&id))
                        .map_or("?", |reference| reference.attribute);
                    return Err(Error::conflict(format!(
                        "{} '{id}' cannot be {what}: {} '{}' ({} {current}) refers to it through '{attribute}'",
                        target.decl.collection,
                        decl.collection,
                        found.document.id,
                        state.attribute,
                    )));
                }
            }
        }
        Ok(())
    }
}
