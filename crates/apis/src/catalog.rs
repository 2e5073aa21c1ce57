//! What the three catalog APIs (TMF620 → TMF633 → TMF634) share, and what everyone who
//! reads the decomposition chain names: the entities of the chain with their API and
//! collection, the role of a service specification (CFS, RFS), and our `valueFrom`
//! extension, which declares which characteristic feeds which further down the chain.
//!
//! It sits below the catalog APIs, their write rules (`catalog_rules.rs`), the
//! decomposition view and fulfilment, and imports none of them.

use serde_json::{Map, Value};

/// TMF620 Product Catalog Management: offerings and product specifications.
pub const PRODUCT_CATALOG: &str = "TMF620";
/// TMF633 Service Catalog Management: service specifications.
pub const SERVICE_CATALOG: &str = "TMF633";
/// TMF634 Resource Catalog Management: resource specifications.
pub const RESOURCE_CATALOG: &str = "TMF634";

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
            Entity::ProductOffering | Entity::ProductSpecification => PRODUCT_CATALOG,
            Entity::ServiceSpecification => SERVICE_CATALOG,
            Entity::ResourceSpecification => RESOURCE_CATALOG,
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
