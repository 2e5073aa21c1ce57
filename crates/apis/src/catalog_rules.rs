//! What a catalog specification must satisfy beyond its schema (TMF620/633/634): its
//! service specification type, which gives a service its role in the decomposition
//! (CFS, RFS), and its `valueFrom` mappings (both defined in `catalog.rs`, which the
//! decomposition view reads too).
//!
//! Shape is checked in `Hooks::check`; what needs the store (a `valueFrom` names a stored
//! specification that has that characteristic; a product specification names no RFS; an
//! RFS names no CFS below it) in `Hooks::within`, on what a write adds. What changes
//! later (a source renamed or deleted) is reported by the decomposition view.

use std::sync::Arc;

use serde_json::Value;
use switchboard_engine::{
    Error, HookFuture, Hooks, NewJob, Reference, ResourceDecl, Result, Scope, WriteKind,
};

// Re-exported: these lived here before `catalog.rs`, and callers still name them here.
pub use crate::catalog::{has_characteristic, value_sources, Entity, Role, ValueSource};

/// The write rules of a service or resource specification.
pub struct SpecificationRules {
    entity: Entity,
}

impl SpecificationRules {
    pub fn service() -> Arc<dyn Hooks> {
        Arc::new(SpecificationRules {
            entity: Entity::ServiceSpecification,
        })
    }

    pub fn resource() -> Arc<dyn Hooks> {
        Arc::new(SpecificationRules {
            entity: Entity::ResourceSpecification,
        })
    }
}

impl Hooks for SpecificationRules {
    fn check(&self, kind: WriteKind, doc: &mut Value, _previous: Option<&Value>) -> Result<()> {
        if kind == WriteKind::Delete {
            return Ok(());
        }
        if self.entity == Entity::ServiceSpecification {
            check_service_type(doc)?;
        }
        check_value_from(self.entity, doc)
    }

    fn transactional(&self) -> bool {
        true
    }

    fn within<'a>(
        &'a self,
        scope: &'a mut Scope,
        kind: WriteKind,
        doc: &'a mut Value,
        previous: Option<&'a Value>,
    ) -> HookFuture<'a> {
        Box::pin(async move {
            if kind == WriteKind::Delete {
                return Ok(());
            }
            check_sources_resolve(scope, self.entity, doc, previous).await?;
            if self.entity == Entity::ServiceSpecification && Role::of(doc) == Some(Role::Rfs) {
                check_no_role_below(
                    scope,
                    doc,
                    previous,
                    "serviceSpecRelationship",
                    Role::Cfs,
                    "an RFS is decomposed into resources, not into a CFS",
                )
                .await?;
            }
            Ok(())
        })
    }
}

/// The write rules of a product specification: it decomposes into customer-facing (or
/// base-type) services, never straight into an RFS.
pub struct ProductSpecificationRules;

impl Hooks for ProductSpecificationRules {
    fn transactional(&self) -> bool {
        true
    }

    fn within<'a>(
        &'a self,
        scope: &'a mut Scope,
        kind: WriteKind,
        doc: &'a mut Value,
        previous: Option<&'a Value>,
    ) -> HookFuture<'a> {
        Box::pin(async move {
            if kind == WriteKind::Delete {
                return Ok(());
            }
            check_no_role_below(
                scope,
                doc,
                previous,
                "serviceSpecification",
                Role::Rfs,
                "a product specification decomposes into CFSs, which name their RFSs",
            )
            .await
        })
    }
}

/// Refuses a service specification named (newly) in `attribute` whose role is `refused`.
async fn check_no_role_below(
    scope: &mut Scope,
    doc: &Value,
    previous: Option<&Value>,
    attribute: &'static str,
    refused: Role,
    why: &str,
) -> Result<()> {
    let services = Entity::ServiceSpecification;
    let reference = Reference::to(attribute, services.api(), services.collection());
    for id in reference.added_ids(doc, previous) {
        let Some(target) = scope
            .document(services.api(), services.collection(), id)
            .await?
        else {
            continue; // a dangling id is refused by the declared reference, naming it
        };
        if Role::of(&target) == Some(refused) {
            return Err(Error::invalid_body(format!(
                "'{attribute}' names serviceSpecification '{id}', whose role is {}: {why}",
                refused.as_str()
            )));
        }
    }
    Ok(())
}

/// Every `valueFrom` source the write adds names a stored specification that has a
/// characteristic of that name.
async fn check_sources_resolve(
    scope: &mut Scope,
    entity: Entity,
    doc: &Value,
    previous: Option<&Value>,
) -> Result<()> {
    let Some(attribute) = entity.characteristics() else {
        return Ok(());
    };
    let sources_of = |doc: &Value| -> Vec<(Entity, String, String)> {
        doc.get(attribute)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|characteristic| characteristic.get("valueFrom"))
            .filter_map(|value_from| value_sources(value_from, entity).ok())
            .flatten()
            .map(|source| {
                (
                    source.entity,
                    source.id.to_string(),
                    source.characteristic.to_string(),
                )
            })
            .collect()
    };
    let before = previous.map(sources_of).unwrap_or_default();
    for (source, id, characteristic) in sources_of(doc) {
        if before.contains(&(source, id.clone(), characteristic.clone())) {
            continue;
        }
        let found = scope
            .document(source.api(), source.collection(), &id)
            .await?;
        let Some(found) = found else {
            return Err(Error::invalid_body(format!(
                "{attribute}: a valueFrom names {} '{id}', which does not exist",
                source.collection()
            )));
        };
        if !has_characteristic(source, &found, &characteristic) {
            return Err(Error::invalid_body(format!(
                "{attribute}: a valueFrom names characteristic '{characteristic}' of {} '{id}', which has no characteristic of that name",
                source.collection()
            )));
        }
    }
    Ok(())
}

/// A service specification is the base type, a CFS or an RFS (or a subtype of one,
/// named as its `@baseType`): its role in the decomposition depends on it.
fn check_service_type(doc: &Value) -> Result<()> {
    if Role::of(doc).is_some() {
        return Ok(());
    }
    let shown = |key: &str| doc.get(key).map_or("none".to_string(), Value::to_string);
    Err(Error::invalid_body(format!(
        "'@type' {} (with '@baseType' {}) is not a service specification type: use \
         ServiceSpecification, CustomerFacingServiceSpecification or \
         ResourceFacingServiceSpecification, or name one of them as '@baseType' of a subtype",
        shown("@type"),
        shown("@baseType")
    )))
}

/// Every `valueFrom` of the document's characteristics is well formed and names another
/// specification.
fn check_value_from(entity: Entity, doc: &Value) -> Result<()> {
    let Some(attribute) = entity.characteristics() else {
        return Ok(());
    };
    let Some(characteristics) = doc.get(attribute).and_then(Value::as_array) else {
        return Ok(());
    };
    let own_id = doc.get("id").and_then(Value::as_str);
    for (index, characteristic) in characteristics.iter().enumerate() {
        let Some(value_from) = characteristic.get("valueFrom") else {
            continue;
        };
        let at = || {
            let name = characteristic.get("name").and_then(Value::as_str);
            format!(
                "{attribute}[{index}]{}.valueFrom",
                name.map(|name| format!(" ('{name}')")).unwrap_or_default()
            )
        };
        let sources = value_sources(value_from, entity)
            .map_err(|message| Error::invalid_body(format!("{} {message}", at())))?;
        if sources
            .iter()
            .any(|source| source.entity == entity && Some(source.id) == own_id)
        {
            return Err(Error::invalid_body(format!(
                "{} names this {} itself; a characteristic is fed from above it in the chain",
                at(),
                entity.collection()
            )));
        }
    }
    Ok(())
}

/// `decl` with `added` run after the hooks it already has (checks in order, jobs of both).
pub fn with_hooks(decl: ResourceDecl, added: Arc<dyn Hooks>) -> ResourceDecl {
    let hooks: Arc<dyn Hooks> = match decl.hooks {
        None => added,
        Some(existing) => Arc::new(BothHooks(existing, added)),
    };
    ResourceDecl {
        hooks: Some(hooks),
        ..decl
    }
}

struct BothHooks(Arc<dyn Hooks>, Arc<dyn Hooks>);

impl Hooks for BothHooks {
    fn check(&self, kind: WriteKind, doc: &mut Value, previous: Option<&Value>) -> Result<()> {
        self.0.check(kind, doc, previous)?;
        self.1.check(kind, doc, previous)
    }

    fn jobs(&self, kind: WriteKind, doc: &Value, previous: Option<&Value>) -> Vec<NewJob> {
        let mut jobs = self.0.jobs(kind, doc, previous);
        jobs.extend(self.1.jobs(kind, doc, previous));
        jobs
    }

    fn transactional(&self) -> bool {
        self.0.transactional() || self.1.transactional()
    }

    fn within<'a>(
        &'a self,
        scope: &'a mut Scope,
        kind: WriteKind,
        doc: &'a mut Value,
        previous: Option<&'a Value>,
    ) -> HookFuture<'a> {
        Box::pin(async move {
            if self.0.transactional() {
                self.0.within(scope, kind, doc, previous).await?;
            }
            if self.1.transactional() {
                self.1.within(scope, kind, doc, previous).await?;
            }
            Ok(())
        })
    }
}
