//! The decomposition view of the catalog (TMF620 → TMF633 → TMF634), ours, not TMF's:
//! `GET .../productOffering/{id}/decomposition` and `.../productSpecification/{id}/decomposition`
//! answer the fully expanded tree that fulfilment walks: offering (and its bundled
//! offerings) → product specification (and its bundled ones) → service specifications
//! with their role (CFS, RFS) → their related services → resource specifications →
//! their related resources, each characteristic with its `valueFrom` sources resolved.
//! What is wrong but leaves the rest answerable (a referred entity deleted since, a
//! mapping naming no characteristic, an RFS directly under a product) is listed in
//! `problems`; a stored cycle or a tree too deep or too wide is refused (409). The shape
//! is recorded in docs/wire-choices.md.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use switchboard_engine::{Engine, Error, Result, View, ViewFuture};

use crate::catalog::{has_characteristic, value_sources, Entity, Role};

/// Levels a tree may have (an offering with its specification, a CFS, an RFS and a
/// resource is five). Cycles are refused on write; this bounds what an import or a
/// race could still store.
pub const MAX_DEPTH: usize = 16;
/// Nodes a tree may have: shared parts of a DAG are expanded under each parent.
pub const MAX_NODES: usize = 4096;

/// The decomposition view of a TMF620 offering or product specification.
#[derive(Debug, Clone, Copy)]
pub enum Decomposition {
    OfOffering,
    OfProductSpecification,
}

impl View for Decomposition {
    fn get<'a>(&'a self, engine: &'a Engine, id: &'a str, _query: &'a str) -> ViewFuture<'a> {
        Box::pin(async move {
            let root = match self {
                Decomposition::OfOffering => Entity::ProductOffering,
                Decomposition::OfProductSpecification => Entity::ProductSpecification,
            };
            let mut walk = Walk::new(engine);
            let Some(doc) = walk.read(root, id).await? else {
                return Err(Error::not_found(format!(
                    "no {} with id '{id}'",
                    root.collection()
                )));
            };
            let tree = walk.node(root, id, doc, None).await?;
            let mut answer = Map::new();
            answer.insert(root.collection().into(), tree);
            answer.insert("problems".into(), Value::Array(walk.problems));
            Ok(Value::Object(answer))
        })
    }
}

type NodeFuture<'b> = Pin<Box<dyn Future<Output = Result<Value>> + Send + 'b>>;

/// One expansion: the documents read so far (a shared part is read once), the path
/// from the root (for cycles, depth and which mapping applies) and what was found wrong.
struct Walk<'a> {
    engine: &'a Engine,
    documents: HashMap<(Entity, String), Option<Arc<Value>>>,
    path: Vec<(Entity, String)>,
    nodes: usize,
    problems: Vec<Value>,
}

impl<'a> Walk<'a> {
    fn new(engine: &'a Engine) -> Self {
        Walk {
            engine,
            documents: HashMap::new(),
            path: Vec::new(),
            nodes: 0,
            problems: Vec::new(),
        }
    }

    async fn read(&mut self, entity: Entity, id: &str) -> Result<Option<Arc<Value>>> {
        let key = (entity, id.to_string());
        if let Some(known) = self.documents.get(&key) {
            return Ok(known.clone());
        }
        let doc = self
            .engine
            .document(entity.api(), entity.collection(), id)
            .await?
            .map(Arc::new);
        self.documents.insert(key, doc.clone());
        Ok(doc)
    }

    fn problem(&mut self, entity: Entity, id: &str, characteristic: Option<&str>, message: String) {
        let mut problem = Map::new();
        problem.insert(entity.collection().into(), json!({"id": id}));
        if let Some(name) = characteristic {
            problem.insert("characteristic".into(), Value::String(name.into()));
        }
        problem.insert("message".into(), Value::String(message));
        self.problems.push(Value::Object(problem));
    }

    /// The subtree of the `entity` a reference entry names (`{"id": …}`, or a
    /// relationship entry whose `relationshipType` the node keeps).
    fn expand<'b>(
        &'b mut self,
        entity: Entity,
        parent: Entity,
        parent_id: &'b str,
        entry: &'b Value,
    ) -> NodeFuture<'b> {
        Box::pin(async move {
            let Some(id) = entry.get("id").and_then(Value::as_str) else {
                self.problem(
                    parent,
                    parent_id,
                    None,
                    format!("a {} entry has no id", entity.collection()),
                );
                return Ok(json!({"id": null, "missing": true}));
            };
            let Some(doc) = self.read(entity, id).await? else {
                self.problem(
                    parent,
                    parent_id,
                    None,
                    format!(
                        "refers to {} '{id}', which does not exist",
                        entity.collection()
                    ),
                );
                return Ok(json!({"id": id, "missing": true}));
            };
            self.node(entity, id, doc, Some(entry)).await
        })
    }

    /// The subtree of a stored document.
    fn node<'b>(
        &'b mut self,
        entity: Entity,
        id: &'b str,
        doc: Arc<Value>,
        via: Option<&'b Value>,
    ) -> NodeFuture<'b> {
        Box::pin(async move {
            self.enter(entity, id)?;
            let mut node = summary(&doc, via);
            if entity == Entity::ServiceSpecification {
                let role = Role::of(&doc).unwrap_or(Role::Unspecified);
                node.insert("role".into(), Value::String(role.as_str().into()));
            }
            if entity.characteristics().is_some() {
                let characteristics = self.characteristics(entity, id, &doc).await?;
                node.insert("characteristic".into(), Value::Array(characteristics));
            }
            self.path.push((entity, id.to_string()));
            let children = self.children(entity, id, &doc, &mut node).await;
            self.path.pop();
            children?;
            Ok(Value::Object(node))
        })
    }

    /// Refuses a node that would close a cycle or go too deep or too wide.
    fn enter(&mut self, entity: Entity, id: &str) -> Result<()> {
        if let Some(start) = self
            .path
            .iter()
            .position(|(known, known_id)| *known == entity && known_id == id)
        {
            let cycle: Vec<&str> = self.path[start..]
                .iter()
                .map(|(_, id)| id.as_str())
                .chain(std::iter::once(id))
                .collect();
            return Err(Error::conflict(format!(
                "the stored catalog holds a cycle of {}: {}; break it before decomposing",
                entity.collection(),
                cycle.join(" -> ")
            )));
        }
        if self.path.len() >= MAX_DEPTH {
            return Err(Error::conflict(format!(
                "the decomposition is deeper than {MAX_DEPTH} levels (at {} '{id}')",
                entity.collection()
            )));
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Error::conflict(format!(
                "the decomposition has more than {MAX_NODES} nodes"
            )));
        }
        Ok(())
    }

    /// Adds the subtrees below an entity, in the order its document lists them.
    async fn children(
        &mut self,
        entity: Entity,
        id: &str,
        doc: &Value,
        node: &mut Map<String, Value>,
    ) -> Result<()> {
        let lists: &[(&str, Entity, &str)] = match entity {
            Entity::ProductOffering => &[(
                "bundledProductOffering",
                Entity::ProductOffering,
                "bundledProductOffering",
            )],
            Entity::ProductSpecification => &[
                (
                    "bundledProductSpecification",
                    Entity::ProductSpecification,
                    "bundledProductSpecification",
                ),
                (
                    "serviceSpecification",
                    Entity::ServiceSpecification,
                    "services",
                ),
                (
                    "resourceSpecification",
                    Entity::ResourceSpecification,
                    "resources",
                ),
            ],
            Entity::ServiceSpecification => &[
                (
                    "serviceSpecRelationship",
                    Entity::ServiceSpecification,
                    "services",
                ),
                (
                    "resourceSpecification",
                    Entity::ResourceSpecification,
                    "resources",
                ),
            ],
            Entity::ResourceSpecification => &[(
                "resourceSpecRelationship",
                Entity::ResourceSpecification,
                "resources",
            )],
        };
        if entity == Entity::ProductOffering {
            // An offering names one specification (not checked on write: see wire-choices).
            let specification = match doc.get("productSpecification") {
                Some(entry @ Value::Object(_)) => {
                    self.expand(Entity::ProductSpecification, entity, id, entry)
                        .await?
                }
                _ => Value::Null,
            };
            node.insert("productSpecification".into(), specification);
        }
        for (attribute, child, key) in lists {
            let entries = match doc.get(*attribute) {
                Some(Value::Array(entries)) => entries.as_slice(),
                _ => &[],
            };
            let mut subtrees = Vec::with_capacity(entries.len());
            for entry in entries {
                let subtree = self.expand(*child, entity, id, entry).await?;
                self.check_role(entity, id, doc, *child, &subtree);
                subtrees.push(subtree);
            }
            node.insert((*key).into(), Value::Array(subtrees));
        }
        Ok(())
    }

    /// Services decompose top-down: a product names CFSs (or base-type services), and
    /// an RFS does not decompose into a CFS. What breaks this is a problem of the tree.
    fn check_role(
        &mut self,
        entity: Entity,
        id: &str,
        doc: &Value,
        child: Entity,
        subtree: &Value,
    ) {
        if child != Entity::ServiceSpecification {
            return;
        }
        let child_role = subtree.get("role").and_then(Value::as_str);
        let child_id = subtree
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let message = match entity {
            Entity::ProductSpecification if child_role == Some(Role::Rfs.as_str()) => format!(
                "refers to the RFS serviceSpecification '{child_id}' directly; a product names CFSs, which name RFSs"
            ),
            Entity::ServiceSpecification
                if Role::of(doc) == Some(Role::Rfs) && child_role == Some(Role::Cfs.as_str()) =>
            {
                format!("is an RFS and names the CFS serviceSpecification '{child_id}' below it")
            }
            _ => return,
        };
        self.problem(entity, id, None, message);
    }

    /// The entity's characteristics as stored, each `valueFrom` turned into a list of
    /// its sources, each marked `resolved` (the source specification exists and has a
    /// characteristic of that name) and `applies` (the source is an ancestor in this
    /// tree, so fulfilment takes the value from it).
    async fn characteristics(
        &mut self,
        entity: Entity,
        id: &str,
        doc: &Value,
    ) -> Result<Vec<Value>> {
        let Some(Value::Array(characteristics)) = entity
            .characteristics()
            .and_then(|attribute| doc.get(attribute))
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(characteristics.len());
        for characteristic in characteristics {
            let mut characteristic = characteristic.clone();
            if let Some(fields) = characteristic.as_object_mut() {
                if let Some(value_from) = fields.get("valueFrom") {
                    let name = fields.get("name").and_then(Value::as_str);
                    let resolved = self.value_from(entity, id, name, value_from).await?;
                    fields.insert("valueFrom".into(), resolved);
                }
            }
            out.push(characteristic);
        }
        Ok(out)
    }

    async fn value_from(
        &mut self,
        entity: Entity,
        id: &str,
        name: Option<&str>,
        value_from: &Value,
    ) -> Result<Value> {
        let sources = match value_sources(value_from, entity) {
            Ok(sources) => sources,
            Err(message) => {
                // Written before the rule, or by an import: shown as stored.
                self.problem(entity, id, name, format!("valueFrom {message}"));
                return Ok(value_from.clone());
            }
        };
        let entries: Vec<&Value> = match value_from {
            Value::Array(entries) => entries.iter().collect(),
            entry => vec![entry],
        };
        let mut out = Vec::with_capacity(sources.len());
        for (source, entry) in sources.iter().zip(entries) {
            let source_doc = self.read(source.entity, source.id).await?;
            let (kind, source_id) = (source.entity.collection(), source.id);
            let found = match source_doc {
                None => Err(format!(
                    "valueFrom names {kind} '{source_id}', which does not exist"
                )),
                Some(doc) if !has_characteristic(source.entity, &doc, source.characteristic) => {
                    Err(format!(
                        "valueFrom names characteristic '{}' of {kind} '{source_id}', which has none of that name",
                        source.characteristic
                    ))
                }
                Some(_) => Ok(()),
            };
            if let Err(message) = &found {
                self.problem(entity, id, name, message.clone());
            }
            let applies = found.is_ok()
                && self
                    .path
                    .iter()
                    .any(|(known, known_id)| *known == source.entity && known_id == source.id);
            let mut entry = entry.clone();
            if let Some(fields) = entry.as_object_mut() {
                fields.insert("resolved".into(), Value::Bool(found.is_ok()));
                fields.insert("applies".into(), Value::Bool(applies));
            }
            out.push(entry);
        }
        Ok(Value::Array(out))
    }
}

/// What a node says of its entity: identity, version, state, type, and the
/// relationship type when a relationship entry led to it.
fn summary(doc: &Value, via: Option<&Value>) -> Map<String, Value> {
    let mut node = Map::new();
    for key in ["id", "href", "name", "version", "lifecycleStatus", "@type"] {
        if let Some(value) = doc.get(key) {
            node.insert(key.into(), value.clone());
        }
    }
    if let Some(relationship) = via.and_then(|entry| entry.get("relationshipType")) {
        node.insert("relationshipType".into(), relationship.clone());
    }
    node
}
