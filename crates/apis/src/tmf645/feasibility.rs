//! Whether a service specification can be delivered at a place, computed from the
//! catalog (TMF620/633/634) and the resource pools (TMF685), as last committed: the
//! specification must be in service and within its validity; every resource
//! specification its decomposition reaches (CFS → RFSs → resource specifications) must
//! be served at the place by a pool with a free unit.
//!
//! A pool serves a resource specification when the pool names it in `resourceSpecification`
//! (ours, a reference or a list of them) or the specification names the pool in its
//! `resourcePool` (what fulfilment reserves from). A pool serves the places its `place`
//! (ours: references by `id`) lists, or every place when it lists none. Nothing is
//! reserved: an answer is a forecast, and a later order may still find the pool empty.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use switchboard_engine::{Engine, Result};

use super::request::list;
use crate::catalog::Role;
use crate::doc::text;
use crate::lifecycle::CATALOG_IN_SERVICE;

/// Service specifications a decomposition may pass through (cycles are refused on
/// write; this bounds what an import could still store).
const MAX_SPECIFICATIONS: usize = 256;
/// Entries one catalog or pool list reads: a qualification considers at most this many
/// specifications, candidates or pools of one resource specification.
const MAX_LISTED: u64 = 1000;

/// Why an item is not qualified: a `code` of ours and a sentence naming what is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: &'static str,
    pub label: String,
}

impl Reason {
    fn new(code: &'static str, label: String) -> Reason {
        Reason { code, label }
    }
}

/// One evaluation's reads, kept so that a request of many items reads each pool and
/// specification once.
pub struct Feasibility<'a> {
    engine: &'a Engine,
    documents: HashMap<(&'static str, String), Option<Value>>,
    pools: HashMap<String, Vec<Value>>,
    free: HashMap<String, u64>,
}

impl<'a> Feasibility<'a> {
    pub fn new(engine: &'a Engine) -> Self {
        Feasibility {
            engine,
            documents: HashMap::new(),
            pools: HashMap::new(),
            free: HashMap::new(),
        }
    }

    /// A catalog or pool document, read once.
    pub async fn document(&mut self, collection: &'static str, id: &str) -> Result<Option<Value>> {
        let key = (collection, id.to_string());
        if let Some(known) = self.documents.get(&key) {
            return Ok(known.clone());
        }
        let api = match collection {
            "productOffering" | "productSpecification" => crate::tmf620::CODE,
            "resourceSpecification" => crate::tmf634::CODE,
            "resourcePool" => crate::tmf685::CODE,
            _ => crate::tmf633::CODE,
        };
        let doc = self.engine.document(api, collection, id).await?;
        self.documents.insert(key, doc.clone());
        Ok(doc)
    }

    /// A page of `api`'s `collection` matching the TMF630 `filter`.
    async fn list(&self, api: &str, collection: &str, filter: &str) -> Result<Vec<Value>> {
        let at = self.engine.served(api, collection)?;
        let page = self
            .engine
            .list(at, &format!("{filter}&limit={MAX_LISTED}"))
            .await?;
        let entries: Value = serde_json::from_str(&page.json).map_err(|error| {
            switchboard_engine::Error::internal(format!("a list page is not JSON: {error}"))
        })?;
        Ok(match entries {
            Value::Array(entries) => entries,
            _ => Vec::new(),
        })
    }

    /// The CFSs an offering's product specification names; `None` when the offering or
    /// its specification does not exist.
    pub async fn offering_services(&mut self, offering: &str) -> Result<Option<Vec<String>>> {
        let Some(offering) = self.document("productOffering", offering).await? else {
            return Ok(None);
        };
        let specification = offering
            .get("productSpecification")
            .map(|spec| text(spec, "id"))
            .unwrap_or_default();
        let Some(specification) = self
            .document("productSpecification", &specification)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(ids(&specification, "serviceSpecification")))
    }

    /// The service specifications a TMF633 category offers (through its candidates);
    /// `None` when the category does not exist.
    pub async fn category_services(&mut self, category: &str) -> Result<Option<Vec<String>>> {
        let Some(category) = self.document("serviceCategory", category).await? else {
            return Ok(None);
        };
        let mut specifications = Vec::new();
        for candidate in ids(&category, "serviceCandidate") {
            if let Some(candidate) = self.document("serviceCandidate", &candidate).await? {
                let id = candidate
                    .get("serviceSpecification")
                    .map(|spec| text(spec, "id"))
                    .unwrap_or_default();
                if !id.is_empty() && !specifications.contains(&id) {
                    specifications.push(id);
                }
            }
        }
        Ok(Some(specifications))
    }

    /// The categories whose candidates offer this specification.
    pub async fn categories_of(&mut self, specification: &str) -> Result<Vec<String>> {
        let api = crate::tmf633::CODE;
        let mut categories = Vec::new();
        let filter = format!("serviceSpecification.id={}", encode(specification));
        for candidate in self.list(api, "serviceCandidate", &filter).await? {
            let filter = format!("serviceCandidate.id={}", encode(&text(&candidate, "id")));
            for category in self.list(api, "serviceCategory", &filter).await? {
                let id = text(&category, "id");
                if !categories.contains(&id) {
                    categories.push(id);
                }
            }
        }
        Ok(categories)
    }

    /// Every customer-facing (or untyped) service specification in service.
    pub async fn orderable_services(&mut self) -> Result<Vec<String>> {
        let specifications = self
            .list(crate::tmf633::CODE, "serviceSpecification", "")
            .await?;
        Ok(specifications
            .iter()
            .filter(|spec| Role::of(spec) != Some(Role::Rfs) && in_service(spec))
            .map(|spec| text(spec, "id"))
            .collect())
    }

    /// Whether `specification` can be delivered at one of `places`: `Ok(())`, or the
    /// reasons it cannot, the first missing thing of each kind.
    pub async fn assess(
        &mut self,
        specification: &str,
        places: &[String],
    ) -> Result<std::result::Result<(), Vec<Reason>>> {
        let Some(doc) = self.document("serviceSpecification", specification).await? else {
            return Ok(Err(vec![Reason::new(
                "specNotFound",
                format!("serviceSpecification '{specification}' does not exist"),
            )]));
        };
        if !in_service(&doc) {
            return Ok(Err(vec![Reason::new(
                "specNotAvailable",
                format!(
                    "serviceSpecification '{specification}' is {}, not {}",
                    text(&doc, "lifecycleStatus"),
                    CATALOG_IN_SERVICE.join(" or ")
                ),
            )]));
        }
        if !valid_now(&doc) {
            return Ok(Err(vec![Reason::new(
                "outsideValidity",
                format!("serviceSpecification '{specification}' is outside its 'validFor'"),
            )]));
        }
        let mut reasons = Vec::new();
        for (resource, units) in self.needed_resources(specification).await? {
            if let Some(reason) = self.capacity(&resource, units, places).await? {
                reasons.push(reason);
            }
        }
        Ok(if reasons.is_empty() {
            Ok(())
        } else {
            Err(reasons)
        })
    }

    /// The resource specifications a service specification's decomposition reaches, with
    /// the number of units each needs (one per place it appears in the tree), in order.
    async fn needed_resources(&mut self, specification: &str) -> Result<Vec<(String, u64)>> {
        let mut needed: Vec<(String, u64)> = Vec::new();
        let mut stack = vec![specification.to_string()];
        let mut seen = HashSet::new();
        while let Some(id) = stack.pop() {
            if seen.len() >= MAX_SPECIFICATIONS || !seen.insert(id.clone()) {
                continue;
            }
            let Some(doc) = self.document("serviceSpecification", &id).await? else {
                continue;
            };
            for resource in ids(&doc, "resourceSpecification") {
                match needed.iter_mut().find(|(known, _)| *known == resource) {
                    Some((_, units)) => *units += 1,
                    None => needed.push((resource, 1)),
                }
            }
            let mut related = ids(&doc, "serviceSpecRelationship");
            related.reverse();
            stack.extend(related);
        }
        Ok(needed)
    }

    /// `None` when a pool serving `resource` at one of `places` has `units` free units;
    /// else why not: no such pool (noCoverage), or none with room (insufficientCapacity).
    async fn capacity(
        &mut self,
        resource: &str,
        units: u64,
        places: &[String],
    ) -> Result<Option<Reason>> {
        let pools: Vec<Value> = self
            .pools_serving(resource)
            .await?
            .into_iter()
            .filter(|pool| serves(pool, places))
            .collect();
        let at = places.join("', '");
        if pools.is_empty() {
            return Ok(Some(Reason::new(
                "noCoverage",
                format!("no resource pool serves resourceSpecification '{resource}' at '{at}'"),
            )));
        }
        for pool in &pools {
            if self.free_units(&text(pool, "id")).await? >= units {
                return Ok(None);
            }
        }
        let names: Vec<String> = pools.iter().map(|pool| text(pool, "id")).collect();
        Ok(Some(Reason::new(
            "insufficientCapacity",
            format!(
                "resourcePool '{}' serving resourceSpecification '{resource}' at '{at}' has \
                 fewer than {units} free unit(s)",
                names.join("', '")
            ),
        )))
    }

    /// The pools that serve a resource specification, anywhere.
    async fn pools_serving(&mut self, resource: &str) -> Result<Vec<Value>> {
        if let Some(known) = self.pools.get(resource) {
            return Ok(known.clone());
        }
        let filter = format!("resourceSpecification.id={}", encode(resource));
        let mut pools = self
            .list(crate::tmf685::CODE, "resourcePool", &filter)
            .await?;
        let named = self
            .document("resourceSpecification", resource)
            .await?
            .and_then(|spec| spec.get("resourcePool").map(|pool| text(pool, "id")));
        if let Some(named) = named.filter(|id| !id.is_empty()) {
            if !pools.iter().any(|pool| text(pool, "id") == named) {
                if let Some(pool) = self.document("resourcePool", &named).await? {
                    pools.push(pool);
                }
            }
        }
        self.pools.insert(resource.to_string(), pools.clone());
        Ok(pools)
    }

    /// A pool's free units, from its availability view (the ledger as last committed).
    async fn free_units(&mut self, pool: &str) -> Result<u64> {
        if let Some(free) = self.free.get(pool) {
            return Ok(*free);
        }
        let at = self.engine.served(crate::tmf685::CODE, "resourcePool")?;
        let availability = self.engine.view(at, pool, "availability", "").await?;
        let free = availability
            .get("availableAmount")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        self.free.insert(pool.to_string(), free);
        Ok(free)
    }
}

/// The ids of a reference attribute (an object or a list of them).
fn ids(doc: &Value, key: &str) -> Vec<String> {
    let entries = match doc.get(key) {
        Some(entry @ Value::Object(_)) => vec![entry],
        _ => list(doc, key),
    };
    entries
        .into_iter()
        .map(|entry| text(entry, "id"))
        .filter(|id| !id.is_empty())
        .collect()
}

/// Whether a pool serves one of `places`: it lists one of them, or lists none.
fn serves(pool: &Value, places: &[String]) -> bool {
    let served = ids(pool, "place");
    served.is_empty() || served.iter().any(|place| places.contains(place))
}

/// Whether a specification's lifecycle allows ordering it.
pub fn in_service(doc: &Value) -> bool {
    let status = text(doc, "lifecycleStatus");
    CATALOG_IN_SERVICE
        .iter()
        .any(|state| state.eq_ignore_ascii_case(&status))
}

/// Whether now is inside the document's `validFor` (an open end is no bound).
fn valid_now(doc: &Value) -> bool {
    let Some(period) = doc.get("validFor") else {
        return true;
    };
    let now = time::OffsetDateTime::now_utc();
    let instant = |key: &str| {
        period.get(key).and_then(Value::as_str).and_then(|text| {
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
        })
    };
    instant("startDateTime").is_none_or(|start| start <= now)
        && instant("endDateTime").is_none_or(|end| now <= end)
}

/// A filter value as a query string carries it: everything but unreserved characters
/// percent-encoded.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pool_without_places_serves_everywhere() {
        let places = vec!["paris".to_string()];
        assert!(serves(&json!({}), &places));
        assert!(serves(&json!({"place": [{"id": "paris"}]}), &places));
        assert!(serves(&json!({"place": {"id": "paris"}}), &places));
        assert!(!serves(&json!({"place": [{"id": "lyon"}]}), &places));
    }

    #[test]
    fn filter_values_are_encoded() {
        assert_eq!(encode("a b&c=d"), "a%20b%26c%3Dd");
        assert_eq!(encode("0195-ab_c.d~"), "0195-ab_c.d~");
    }

    #[test]
    fn validity_bounds_are_inclusive_and_open_ends_free() {
        assert!(valid_now(&json!({})));
        assert!(valid_now(
            &json!({"validFor": {"startDateTime": "2000-01-01T00:00:00Z"}})
        ));
        assert!(!valid_now(
            &json!({"validFor": {"endDateTime": "2000-01-01T00:00:00Z"}})
        ));
    }
}
