//! The impact walk: from resources (TMF639) or services (TMF638) up to everything that
//! relies on them — resources related to them, services supported by them, the products
//! those services and resources realise (and the bundles holding those products), and the
//! parties (customers) of those products.
//!
//! One typed walk (`walk`), used by the read-only view (`GET …/resource/{id}/impact` and
//! `GET …/service/{id}/impact`) and by fault correlation (`crate::assurance`).
//! A document relies on another when one of its declared references names it
//! (`supportingResource`, `supportingService`, `serviceRelationship[].service`,
//! `resourceRelationship[].resource`, `realizingService`, `realizingResource`, a bundle's
//! `product`, `productRelationship[].product`), whatever the relationship type says: for
//! assurance, a related element is a suspect. What has ended relies on nothing: a
//! terminated service, and a terminated, cancelled or aborted product, is neither listed
//! nor walked through. Each level of the walk is one lookup in the store's link index per
//! kind of node, so it costs what it finds, not the size of the inventory.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};
use switchboard_engine::{Engine, ResourceRef, Result, View, ViewFuture};

/// Nodes a walk visits at most; beyond, the answer says `"truncated": true`.
pub const MAX_NODES: usize = 10_000;

const RESOURCE: (&str, &str) = ("TMF639", "resource");
const SERVICE: (&str, &str) = ("TMF638", "service");
const PRODUCT: (&str, &str) = ("TMF637", "product");

/// The view: where the walk starts.
#[derive(Debug, Clone, Copy)]
pub enum ImpactView {
    OfResource,
    OfService,
}

impl View for ImpactView {
    fn get<'a>(&'a self, engine: &'a Engine, id: &'a str, _query: &'a str) -> ViewFuture<'a> {
        Box::pin(async move {
            let (node, key) = match self {
                ImpactView::OfResource => (Node::Resource, "resource"),
                ImpactView::OfService => (Node::Service, "service"),
            };
            let (api, collection) = node.collection();
            let root = engine.require(api, collection, id).await?;
            let impact = walk(engine, &[(node, id.to_string())]).await?;
            Ok(impact.to_view(key, &root))
        })
    }
}

/// A kind of inventory entry the walk visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    Resource,
    Service,
    Product,
}

impl Node {
    pub fn collection(self) -> (&'static str, &'static str) {
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

    /// Whether `doc` has ended, and so relies on nothing any more.
    fn ended(self, doc: &Value) -> bool {
        let state = |key: &str| doc.get(key).and_then(Value::as_str).unwrap_or_default();
        match self {
            Node::Resource => false,
            Node::Service => state("state") == "terminated",
            Node::Product => matches!(
                state("status").trim_end(),
                "terminated" | "cancelled" | "aborted"
            ),
        }
    }
}

/// One document the walk reached, with the id of the element it was reached from.
#[derive(Debug, Clone)]
pub struct Reached {
    pub doc: Value,
    pub relies_on: String,
}

impl Reached {
    pub fn id(&self) -> &str {
        self.doc
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// A party of affected products (its `relatedParty` entry as the first product names
/// it), with the ids of the affected products naming it in that role.
#[derive(Debug, Clone)]
pub struct AffectedParty {
    pub party: Value,
    pub products: Vec<String>,
}

impl AffectedParty {
    pub fn id(&self) -> &str {
        self.party
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn role(&self) -> Option<&str> {
        self.party.get("role").and_then(Value::as_str)
    }
}

/// What relies on the starting elements (which are not listed).
#[derive(Debug, Clone, Default)]
pub struct Impact {
    pub resources: Vec<Reached>,
    pub services: Vec<Reached>,
    pub products: Vec<Reached>,
    pub parties: Vec<AffectedParty>,
    /// More than `MAX_NODES` relied on them: the lists are incomplete.
    pub truncated: bool,
}

/// Walks up from `starts` (nodes by id), level by level, to everything that relies on
/// them. Starting ids that name nothing are walked anyway (nothing refers to them).
pub async fn walk(engine: &Engine, starts: &[(Node, String)]) -> Result<Impact> {
    let kinds: HashMap<ResourceRef, Node> = [Node::Resource, Node::Service, Node::Product]
        .into_iter()
        .filter_map(|node| {
            let (api, collection) = node.collection();
            engine.resource_ref(api, collection).map(|at| (at, node))
        })
        .collect();

    let mut seen: HashSet<(Node, String)> = starts.iter().cloned().collect();
    // Level by level: one lookup per kind of node in the frontier, however wide it is.
    let mut frontier: Vec<(Node, String)> = starts.to_vec();
    let mut impact = Impact::default();
    let mut found = 0usize;
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
            let limit = (MAX_NODES - found) as i64 + 1;
            let referrers = engine
                .referrers(node.collection(), &ids, node.dependants(), limit)
                .await?;
            // Rows may repeat a document (seen, or linked to several ids): a full answer
            // may have left some out, so the walk says it is incomplete.
            if referrers.len() as i64 >= limit {
                impact.truncated = true;
            }
            for (at, relies_on, doc) in referrers {
                let Some(kind) = kinds.get(&at).copied() else {
                    continue;
                };
                let Some(referrer_id) = doc.get("id").and_then(Value::as_str) else {
                    continue;
                };
                if kind.ended(&doc) || !seen.insert((kind, referrer_id.to_string())) {
                    continue;
                }
                if found >= MAX_NODES {
                    impact.truncated = true;
                    break 'walk;
                }
                found += 1;
                next.push((kind, referrer_id.to_string()));
                let reached = Reached { doc, relies_on };
                match kind {
                    Node::Resource => impact.resources.push(reached),
                    Node::Service => impact.services.push(reached),
                    Node::Product => impact.products.push(reached),
                }
            }
        }
        frontier = next;
    }
    impact.parties = parties(&impact.products);
    Ok(impact)
}

/// The parties of `products`, one entry per (party id, role), in the order first met.
fn parties(products: &[Reached]) -> Vec<AffectedParty> {
    let mut parties: Vec<AffectedParty> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    for product in products {
        for party in product
            .doc
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
            let at = *index
                .entry((party_id.to_string(), role.to_string()))
                .or_insert_with(|| {
                    parties.push(AffectedParty {
                        party: party.clone(),
                        products: Vec::new(),
                    });
                    parties.len() - 1
                });
            parties[at].products.push(product.id().to_string());
        }
    }
    parties
}

impl Impact {
    /// The view's answer: the root under `start_key`, then each list in summary.
    fn to_view(&self, start_key: &str, root: &Value) -> Value {
        let list = |reached: &[Reached], attributes: &[&str]| -> Value {
            reached
                .iter()
                .map(|entry| summary(&entry.doc, attributes, &entry.relies_on))
                .collect()
        };
        let parties: Vec<Value> = self
            .parties
            .iter()
            .map(|affected| {
                let mut entry = Map::new();
                for attribute in ["id", "href", "name", "role", "@referredType"] {
                    if let Some(value) = affected.party.get(attribute) {
                        entry.insert(attribute.to_string(), value.clone());
                    }
                }
                entry.insert("products".to_string(), json!(affected.products));
                Value::Object(entry)
            })
            .collect();
        let mut answer = Map::new();
        answer.insert(start_key.to_string(), summary(root, &[], ""));
        answer.insert(
            "resources".to_string(),
            list(
                &self.resources,
                &[
                    "resourceStatus",
                    "operationalState",
                    "administrativeState",
                    "usageState",
                    "resourceSpecification",
                ],
            ),
        );
        answer.insert(
            "services".to_string(),
            list(&self.services, &["state", "serviceSpecification"]),
        );
        answer.insert(
            "products".to_string(),
            list(
                &self.products,
                &["status", "productOffering", "productSpecification"],
            ),
        );
        answer.insert("relatedParties".to_string(), Value::Array(parties));
        answer.insert("truncated".to_string(), Value::Bool(self.truncated));
        Value::Object(answer)
    }
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
