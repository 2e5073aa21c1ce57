//! What an order item becomes, read from the catalog: the CFSs of a product
//! specification, the RFSs of a CFS, the resources of an RFS, and the characteristic
//! values of each, flowing down by the catalog's declared `valueFrom` mappings (never by
//! equal names). A characteristic with no source that applies takes its specification's
//! default value (`isDefault`), else is left out.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use switchboard_engine::{Engine, ErrorKind, Result};

use switchboard_apis::catalog_rules::{value_sources, Entity};
use switchboard_apis::text;

use crate::spec_cache::SpecCache;

/// Characteristic name → value.
pub type Values = Map<String, Value>;

/// The values known so far down one branch of the tree, by specification.
#[derive(Debug, Clone, Default)]
pub struct Context(HashMap<(Entity, String), Values>);

impl Context {
    pub fn with(mut self, entity: Entity, id: &str, values: &Values) -> Self {
        self.0.insert((entity, id.to_string()), values.clone());
        self
    }
}

/// The values of `spec` (an `entity`): its declared characteristics, each from the first
/// `valueFrom` source found in `context`, else the default; `given` (what the order
/// says) wins over both. Given values the specification does not declare are kept.
pub fn values(entity: Entity, spec: &Value, context: &Context, given: &Values) -> Values {
    derive(entity, spec, context, given, true)
}

/// Only the values `spec`'s mappings take from `context`: what a `modify` changes in
/// an entry that already holds its values (defaults do not overwrite them).
pub fn mapped(entity: Entity, spec: &Value, context: &Context) -> Values {
    derive(entity, spec, context, &Values::new(), false)
}

fn derive(
    entity: Entity,
    spec: &Value,
    context: &Context,
    given: &Values,
    defaults: bool,
) -> Values {
    let mut out = Values::new();
    let declared = entity
        .characteristics()
        .and_then(|attribute| spec.get(attribute))
        .and_then(Value::as_array);
    for characteristic in declared.into_iter().flatten() {
        let name = text(characteristic, "name");
        if name.is_empty() {
            continue;
        }
        let from_source = characteristic
            .get("valueFrom")
            .and_then(|value_from| value_sources(value_from, entity).ok())
            .and_then(|sources| {
                sources.into_iter().find_map(|source| {
                    context
                        .0
                        .get(&(source.entity, source.id.to_string()))
                        .and_then(|values| values.get(source.characteristic))
                        .cloned()
                })
            });
        let fallback = || {
            defaults
                .then(|| default_value(entity, characteristic))
                .flatten()
        };
        if let Some(value) = from_source.or_else(fallback) {
            out.insert(name, value);
        }
    }
    for (name, value) in given {
        out.insert(name.clone(), value.clone());
    }
    out
}

/// The value a characteristic's specification marks `isDefault`.
fn default_value(entity: Entity, characteristic: &Value) -> Option<Value> {
    let list = match entity {
        Entity::ProductOffering | Entity::ProductSpecification => "productSpecCharacteristicValue",
        Entity::ServiceSpecification => "characteristicValueSpecification",
        Entity::ResourceSpecification => "resourceSpecCharacteristicValue",
    };
    characteristic
        .get(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|value| value.get("isDefault") == Some(&Value::Bool(true)))
        .and_then(|value| value.get("value"))
        .cloned()
}

/// `[{name, value}…]` (an order's or inventory's characteristic list) as values.
pub fn from_list(list: Option<&Value>) -> Values {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let name = entry.get("name").and_then(Value::as_str)?;
            Some((name.to_string(), entry.get("value")?.clone()))
        })
        .collect()
}

/// Values as a characteristic list, in name order.
pub fn to_list(values: &Values) -> Value {
    let mut names: Vec<&String> = values.keys().collect();
    names.sort();
    Value::Array(
        names
            .into_iter()
            .map(|name| json!({"name": name, "value": values[name]}))
            .collect(),
    )
}

/// A reference to a catalog entity as orders and inventories carry it.
pub fn spec_ref(spec: &Value, referred_type: &str) -> Value {
    let mut reference = json!({"id": text(spec, "id"), "@referredType": referred_type});
    for key in ["href", "name", "version"] {
        if let Some(value) = spec.get(key) {
            reference[key] = value.clone();
        }
    }
    reference
}

/// One resource an RFS needs.
#[derive(Debug, Clone)]
pub struct ResourcePlan {
    pub spec: Value,
    pub values: Values,
    /// The pool the resource's unit comes from, and the characteristic that receives it
    /// (the specification's `resourcePool` extension).
    pub pool: Option<(String, String)>,
}

/// One RFS a CFS decomposes into, with its resources.
#[derive(Debug, Clone)]
pub struct RfsPlan {
    pub spec: Value,
    pub values: Values,
    pub resources: Vec<ResourcePlan>,
}

/// Reads catalog entities for one plan, each version parsed once for all orders
/// (`SpecCache`).
pub struct Catalog<'a> {
    engine: &'a Engine,
    cache: &'a SpecCache,
}

impl<'a> Catalog<'a> {
    /// Reads through the process-wide cache (`SpecCache::shared`).
    pub fn new(engine: &'a Engine) -> Self {
        Catalog::with_cache(engine, SpecCache::shared())
    }

    /// Reads through `cache`.
    pub fn with_cache(engine: &'a Engine, cache: &'a SpecCache) -> Self {
        Catalog { engine, cache }
    }

    /// The stored specification, or a message naming what is missing.
    pub async fn read(
        &self,
        entity: Entity,
        id: &str,
    ) -> Result<std::result::Result<Value, String>> {
        Ok(self
            .read_shared(entity, id)
            .await?
            .map(|spec| spec.as_ref().clone()))
    }

    /// `read` without the copy: the cached parse itself.
    pub async fn read_shared(
        &self,
        entity: Entity,
        id: &str,
    ) -> Result<std::result::Result<Arc<Value>, String>> {
        let at = self.engine.served(entity.api(), entity.collection())?;
        // The stored version (the cache's key) comes with a retrieve; every catalog
        // entity offers GET by id.
        match self.engine.retrieve(at, id, "").await {
            Ok(stored) => Ok(Ok(self.cache.parsed(entity, stored)?)),
            Err(error) if error.kind == ErrorKind::NotFound => Ok(Err(format!(
                "{} '{id}' does not exist",
                entity.collection()
            ))),
            Err(error) => Err(error),
        }
    }

    /// The specifications `spec` lists under `attribute` (`serviceSpecification`,
    /// `serviceSpecRelationship`, `resourceSpecification`), read.
    async fn children(
        &self,
        spec: &Value,
        attribute: &str,
        entity: Entity,
    ) -> Result<std::result::Result<Vec<Value>, String>> {
        let mut out = Vec::new();
        for entry in spec
            .get(attribute)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id = text(entry, "id");
            match self.read(entity, &id).await? {
                Ok(doc) => out.push(doc),
                Err(message) => {
                    return Ok(Err(format!(
                        "{} '{}' names {message}",
                        attribute,
                        text(spec, "id")
                    )))
                }
            }
        }
        Ok(Ok(out))
    }

    /// The CFS specifications a product specification decomposes into.
    pub async fn cfs_of(
        &self,
        product_spec: &Value,
    ) -> Result<std::result::Result<Vec<Value>, String>> {
        self.children(
            product_spec,
            "serviceSpecification",
            Entity::ServiceSpecification,
        )
        .await
    }

    /// The RFSs of a CFS (its `serviceSpecRelationship`), each with its resources and
    /// every value derived along the way. `context` holds the CFS's values (and the
    /// product's when the order came from one).
    pub async fn rfs_of(
        &self,
        cfs_spec: &Value,
        context: &Context,
    ) -> Result<std::result::Result<Vec<RfsPlan>, String>> {
        let rfs_specs = match self
            .children(
                cfs_spec,
                "serviceSpecRelationship",
                Entity::ServiceSpecification,
            )
            .await?
        {
            Ok(specs) => specs,
            Err(message) => return Ok(Err(message)),
        };
        let mut plans = Vec::with_capacity(rfs_specs.len());
        for spec in rfs_specs {
            let values = values(Entity::ServiceSpecification, &spec, context, &Values::new());
            let inner =
                context
                    .clone()
                    .with(Entity::ServiceSpecification, &text(&spec, "id"), &values);
            let resources = match self.resources_of(&spec, &inner).await? {
                Ok(resources) => resources,
                Err(message) => return Ok(Err(message)),
            };
            plans.push(RfsPlan {
                spec,
                values,
                resources,
            });
        }
        Ok(Ok(plans))
    }

    /// The resources an RFS names, with their values and pools.
    pub async fn resources_of(
        &self,
        rfs_spec: &Value,
        context: &Context,
    ) -> Result<std::result::Result<Vec<ResourcePlan>, String>> {
        let specs = match self
            .children(
                rfs_spec,
                "resourceSpecification",
                Entity::ResourceSpecification,
            )
            .await?
        {
            Ok(specs) => specs,
            Err(message) => return Ok(Err(message)),
        };
        Ok(Ok(specs
            .into_iter()
            .map(|spec| resource_plan(spec, context))
            .collect()))
    }
}

/// A resource specification's plan under `context`.
pub fn resource_plan(spec: Value, context: &Context) -> ResourcePlan {
    let values = values(
        Entity::ResourceSpecification,
        &spec,
        context,
        &Values::new(),
    );
    let pool = spec.get("resourcePool").and_then(|pool| {
        let id = pool.get("id").and_then(Value::as_str)?;
        let characteristic = pool
            .get("characteristic")
            .and_then(Value::as_str)
            .unwrap_or("value");
        Some((id.to_string(), characteristic.to_string()))
    });
    ResourcePlan { spec, values, pool }
}
