//! The impact walk: from a resource (TMF639) or a service (TMF638) up to everything that
//! relies on it — resources related to it, services supported by it, the products those
//! services and resources realise, and the parties (customers) of those products.
//!
//! Served as a read-only view: `GET …/resource/{id}/impact` and `GET …/service/{id}/impact`.
//! A document relies on another when one of its declared references names it
//! (`supportingResource`, `supportingService`, `serviceRelationship[].service`,
//! `resourceRelationship[].resource`, `realizingService`, `realizingResource`, a bundle's
//! `product`, `productRelationship[].product`), whatever the relationship type says: for
//! assurance, a related element is a suspect. Each level of the walk is one lookup in the store's link
//! index per kind of node, so it costs what it finds, not the size of the inventory.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};
use switchboard_engine::{Engine, ResourceRef, Result, View, ViewFuture};

/// Nodes a walk visits at most; beyond, the answer says `"truncated": true`.
const MAX_NODES: usize = 10_000;

const RESOURCE: (&str, &str) = ("TMF639", "resource");
const SERVICE: (&str, &str) = ("TMF638", "service");
const PRODUCT: (&str, &str) = ("TMF637", "product");

/// Where the walk starts.
#[derive(Debug, Clone, Copy)]
pub enum Impact {
    OfResource,
    OfService,
}

impl View for Impact {
    fn get<'a>(&'a self, engine: &'a Engine, id: &'a str, _query: &'a str) -> ViewFuture<'a> {
        Box::pin(walk(engine, *self, id))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Node {
    Resource,
    Service,
    Product,
}

impl Node {
    fn collection(self) -> (&'static str, &'static str) {
        match self {
            Node::Resource => RESOURCE,
            Node::Service => SERVICE,
            Node::Product => PRODUCT,
        }
    }

    /// What may rely on a node of this kind.
    fn dependants(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Node::Resource => &[RESOURCE, SERVICE, PRODUCT],
            Node::Service => &[SERVICE, PRODUCT],
            Node::Product => &[PRODUCT],
        }
    }
}

async fn walk(engine: &Engine, start: Impact, id: &str) -> Result<Value> {
    let start_node = match start {
        Impact::OfResource => Node::Resource,
        Impact::OfService => Node::Service,
    };
    let (api, collection) = start_node.collection();
    let root = engine.require(api, collection, id).await?;
    let kinds: HashMap<ResourceRef, Node> = [Node::Resource, Node::Service, Node::Product]
        .into_iter()
        .filter_map(|node| {
            let (api, collection) = node.collection();
            engine.resource_ref(api, collection).map(|at| (at, node))
        })
        .collect();

    let mut seen: HashSet<(Node, String)> = HashSet::new();
    seen.insert((start_node, id.to_string()));
    // Level by level: one lookup per kind of node in the frontier, however wide it is.
    let mut frontier: Vec<(Node, String)> = vec![(start_node, id.to_string())];
    let mut found: Vec<(Node, Value, String)> = Vec::new();
    let mut truncated = false;
    'walk: while !frontier.is_empty() {
        let mut next: Vec<(Node, String)> = Vec::new();
        for node in [Node::Resource, Node::Service, Node::Product] {
            let ids: Vec<String> = frontier
                .iter()
                .filter(|(kind, _)| *kind == node)
                .map(|(_, id)| id.clone())
                .collect();
            if ids.is_empty() {
                continue;
            }
            let limit = (MAX_NODES - found.len()) as i64 + 1;
            let referrers = engine
                .referrers(node.collection(), &ids, node.dependants(), limit)
                .await?;
            // Rows may repeat a document (seen, or linked to several ids): a full answer
            // may have left some out, so the walk says it is incomplete.
            if referrers.len() as i64 >= limit {
                truncated = true;
            }
            for (at, relies_on, doc) in referrers {
                let Some(kind) = kinds.get(&at).copied() else {
                    continue;
                };
                let Some(referrer_id) = doc.get("id").and_then(Value::as_str) else {
                    continue;
                };
                if !seen.insert((kind, referrer_id.to_string())) {
                    continue;
                }
                if found.len() >= MAX_NODES {
                    truncated = true;
                    break 'walk;
                }
                next.push((kind, referrer_id.to_string()));
                found.push((kind, doc, relies_on));
            }
        }
        frontier = next;
    }

    let mut resources = Vec::new();
    let mut services = Vec::new();
    let mut products = Vec::new();
    let mut parties: Vec<Value> = Vec::new();
    let mut party_index: HashMap<(String, String), usize> = HashMap::new();
    for (kind, doc, relies_on) in &found {
        match kind {
            Node::Resource => resources.push(summary(
                doc,
                &[
                    "resourceStatus",
                    "operationalState",
                    "administrativeState",
                    "usageState",
                    "resourceSpecification",
                ],
                relies_on,
            )),
            Node::Service => {
                services.push(summary(doc, &["state", "serviceSpecification"], relies_on))
            }
            Node::Product => {
                products.push(summary(
                    doc,
                    &["status", "productOffering", "productSpecification"],
                    relies_on,
                ));
                let product_id = doc.get("id").cloned().unwrap_or(Value::Null);
                for party in doc
                    .get("relatedParty")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(party_id) = party.get("id").and_then(Value::as_str) else {
                        continue;
                    };
                    let role = party
                        .get("role")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let key = (party_id.to_string(), role.to_string());
                    let index = *party_index.entry(key).or_insert_with(|| {
                        let mut entry = Map::new();
                        for attribute in ["id", "href", "name", "role", "@referredType"] {
                            if let Some(value) = party.get(attribute) {
                                entry.insert(attribute.to_string(), value.clone());
                            }
                        }
                        entry.insert("products".to_string(), json!([]));
                        parties.push(Value::Object(entry));
                        parties.len() - 1
                    });
                    if let Some(Value::Array(list)) = parties[index].get_mut("products") {
                        list.push(product_id.clone());
                    }
                }
            }
        }
    }
    let start_key = match start {
        Impact::OfResource => "resource",
        Impact::OfService => "service",
    };
    let mut answer = Map::new();
    answer.insert(start_key.to_string(), summary(&root, &[], ""));
    answer.insert("resources".to_string(), Value::Array(resources));
    answer.insert("services".to_string(), Value::Array(services));
    answer.insert("products".to_string(), Value::Array(products));
    answer.insert("relatedParties".to_string(), Value::Array(parties));
    answer.insert("truncated".to_string(), Value::Bool(truncated));
    Ok(Value::Object(answer))
}

/// id, href, name, `@type` and the given attributes of a document, and the id of the
/// element it was reached from (`reliesOn`).
fn summary(doc: &Value, attributes: &[&str], relies_on: &str) -> Value {
    let mut out = Map::new();
    for attribute in ["id", "href", "name", "@type"]
        .iter()
        .chain(attributes.iter())
    {
        if let Some(value) = doc.get(*attribute) {
            out.insert(attribute.to_string(), value.clone());
        }
    }
    if !relies_on.is_empty() {
        out.insert("reliesOn".to_string(), Value::String(relies_on.to_string()));
    }
    Value::Object(out)
}
