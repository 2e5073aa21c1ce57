//! What a catalog specification must satisfy beyond its schema (TMF620/633/634): the
//! service specification types that give a service its role in the decomposition
//! (CFS, RFS), and our `valueFrom` extension, which declares which characteristic feeds
//! which further down the chain. The decomposition view (`decomposition.rs`) reads both.
//!
//! Shape is checked in `Hooks::check`; what needs the store (a `valueFrom` names a stored
//! specification that has that characteristic; a product specification names no RFS; an
//! RFS names no CFS below it) in `Hooks::within`, on what a write adds. What changes
//! later (a source renamed or deleted) is reported by the decomposition view.

use std::sync::Arc;

use serde_json::{Map, Value};
use switchboard_engine::{
    Error, HookFuture, Hooks, NewJob, Reference, ResourceDecl, Result, Scope, WriteKind,
};

/// The entities of the decomposition chain, top to bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    ProductOffering,
    ProductSpecification,
    ServiceSpecification,
    ResourceSpecification,
}

impl Entity {
    /// The specifications a `valueFrom` may name, in chain order.
    const SPECIFICATIONS: [Entity; 3] = [
        Entity::ProductSpecification,
        Entity::ServiceSpecification,
        Entity::ResourceSpecification,
    ];

    pub fn api(self) -> &'static str {
        match self {
            Entity::ProductOffering | Entity::ProductSpecification => crate::tmf620::CODE,
            Entity::ServiceSpecification => crate::tmf633::CODE,
            Entity::ResourceSpecification => crate::tmf634::CODE,
        }
    }

    /// The collection, which is also the key naming this entity in a `valueFrom`.
    pub fn collection(self) -> &'static str {
        match self {
            Entity::ProductOffering => "productOffering",
            Entity::ProductSpecification => "productSpecification",
            Entity::ServiceSpecification => "serviceSpecification",
            Entity::ResourceSpecification => "resourceSpecification",
        }
    }

    /// The attribute listing the entity's characteristics (TMF633 v4 calls it
    /// `specCharacteristic`); `None` for an offering.
    pub fn characteristics(self) -> Option<&'static str> {
        match self {
            Entity::ProductOffering => None,
            Entity::ProductSpecification => Some("productSpecCharacteristic"),
            Entity::ServiceSpecification => Some("specCharacteristic"),
            Entity::ResourceSpecification => Some("resourceSpecCharacteristic"),
        }
    }

    /// The specifications whose characteristics may feed this one's: those above it,
    /// and its own kind (a CFS feeds an RFS, a resource its sub-resources). Values flow
    /// down the chain, never up.
    fn sources(self) -> &'static [Entity] {
        match self {
            Entity::ProductOffering | Entity::ProductSpecification => &[],
            Entity::ServiceSpecification => &Entity::SPECIFICATIONS[..2],
            Entity::ResourceSpecification => &Entity::SPECIFICATIONS,
        }
    }
}

/// The place of a service specification in the decomposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Customer facing: what a product specification decomposes into.
    Cfs,
    /// Resource facing: what a CFS decomposes into; it names the resources.
    Rfs,
    /// The base type, `ServiceSpecification`: either place.
    Unspecified,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cfs => "CFS",
            Role::Rfs => "RFS",
            Role::Unspecified => "unspecified",
        }
    }

    fn of_type(name: &str) -> Option<Role> {
        match name {
            "CustomerFacingServiceSpecification" => Some(Role::Cfs),
            "ResourceFacingServiceSpecification" => Some(Role::Rfs),
            "ServiceSpecification" => Some(Role::Unspecified),
            _ => None,
        }
    }

    /// The role a service specification's `@type` gives it, or, for a subtype of our
    /// own (TMF630 polymorphism), its `@baseType`. A document without `@type` is the
    /// base type. `None` when neither names a service specification type.
    pub fn of(doc: &Value) -> Option<Role> {
        let type_name = doc.get("@type").and_then(Value::as_str);
        let base_type = doc.get("@baseType").and_then(Value::as_str);
        match (type_name, base_type) {
            (None, None) => Some(Role::Unspecified),
            (type_name, base_type) => type_name
                .and_then(Role::of_type)
                .or_else(|| base_type.and_then(Role::of_type)),
        }
    }
}

/// One declared source of a characteristic's value: `characteristic` of the `entity`
/// with this `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueSource<'a> {
    pub entity: Entity,
    pub id: &'a str,
    pub characteristic: &'a str,
}

/// Reads a `valueFrom` (one source object, or a non-empty list of them, so that a
/// specification shared by several parents can name a source in each) of a
/// characteristic of `target`. The error says what is wrong, for a 400.
pub fn value_sources(
    value: &Value,
    target: Entity,
) -> std::result::Result<Vec<ValueSource<'_>>, String> {
    match value {
        Value::Object(entry) => Ok(vec![value_source(entry, target)?]),
        Value::Array(entries) if !entries.is_empty() => entries
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                match entry {
                    Value::Object(entry) => value_source(entry, target),
                    _ => Err("must be an object".to_string()),
                }
                .map_err(|message| format!("[{index}] {message}"))
            })
            .collect(),
        _ => Err("must be an object or a non-empty list of objects".to_string()),
    }
}

fn value_source(
    entry: &Map<String, Value>,
    target: Entity,
) -> std::result::Result<ValueSource<'_>, String> {
    let allowed = target.sources();
    if allowed.is_empty() {
        return Err(format!(
            "has no place on a {} characteristic",
            target.collection()
        ));
    }
    let allowed_names = allowed
        .iter()
        .map(|entity| entity.collection())
        .collect::<Vec<_>>()
        .join(" or ");
    let named: Vec<Entity> = Entity::SPECIFICATIONS
        .into_iter()
        .filter(|entity| entry.contains_key(entity.collection()))
        .collect();
    let [entity] = named[..] else {
        return Err(format!("must name exactly one source: {allowed_names}"));
    };
    if !allowed.contains(&entity) {
        return Err(format!(
            "cannot name a {}: a {} characteristic is fed by a {allowed_names} (values flow down the chain)",
            entity.collection(),
            target.collection()
        ));
    }
    let Some(id) = entry
        .get(entity.collection())
        .and_then(|reference| reference.get("id"))
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
    else {
        return Err(format!("'{}' needs an 'id'", entity.collection()));
    };
    let Some(characteristic) = entry
        .get("characteristic")
        .and_then(Value::as_str)
        .filter(|name| !name.is_empty())
    else {
        return Err("needs 'characteristic', the name of the source characteristic".to_string());
    };
    Ok(ValueSource {
        entity,
        id,
        characteristic,
    })
}

/// Whether `doc` (an `entity`) lists a characteristic named `name`.
pub fn has_characteristic(entity: Entity, doc: &Value, name: &str) -> bool {
    entity
        .characteristics()
        .and_then(|attribute| doc.get(attribute))
        .and_then(Value::as_array)
        .is_some_and(|characteristics| {
            characteristics.iter().any(|characteristic| {
                characteristic.get("name").and_then(Value::as_str) == Some(name)
            })
        })
}

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
    let reference = Reference::to(attribute, crate::tmf633::CODE, "serviceSpecification");
    for id in reference.added_ids(doc, previous) {
        let Some(target) = scope
            .document(crate::tmf633::CODE, "serviceSpecification", id)
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn roles_come_from_the_type_or_the_base_type() {
        assert_eq!(Role::of(&json!({})), Some(Role::Unspecified));
        assert_eq!(
            Role::of(&json!({"@type": "CustomerFacingServiceSpecification"})),
            Some(Role::Cfs)
        );
        assert_eq!(
            Role::of(
                &json!({"@type": "FiberRfs", "@baseType": "ResourceFacingServiceSpecification"})
            ),
            Some(Role::Rfs)
        );
        assert_eq!(Role::of(&json!({"@type": "Widget"})), None);
    }

    #[test]
    fn value_from_names_one_source_above() {
        let one = json!({"productSpecification": {"id": "p"}, "characteristic": "speed"});
        assert_eq!(
            value_sources(&one, Entity::ServiceSpecification),
            Ok(vec![ValueSource {
                entity: Entity::ProductSpecification,
                id: "p",
                characteristic: "speed"
            }])
        );
        let upward = json!({"resourceSpecification": {"id": "r"}, "characteristic": "x"});
        assert!(value_sources(&upward, Entity::ServiceSpecification)
            .is_err_and(|message| message.contains("flow down")));
        let two = json!({"productSpecification": {"id": "p"}, "serviceSpecification": {"id": "s"},
                         "characteristic": "x"});
        assert!(value_sources(&two, Entity::ResourceSpecification).is_err());
        let unnamed = json!([{"serviceSpecification": {"id": "s"}}]);
        assert!(value_sources(&unnamed, Entity::ResourceSpecification)
            .is_err_and(|message| message.starts_with("[0]")));
        assert!(value_sources(&json!([]), Entity::ResourceSpecification).is_err());
    }
}
