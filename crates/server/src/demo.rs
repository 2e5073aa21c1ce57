//! `switchboard demo` (`serve --demo`): a catalog a telco would recognise, loaded before
//! the server answers, through the engine with the same rules as the API (schema,
//! references, catalog rules, pool hooks), and the commands that order from it.
//!
//! The data is `demo/demo.json`: fibre broadband in three speeds and a mobile plan
//! (product specifications → CFSs → RFSs → resource specifications, with IPv4 and VLAN
//! pools), their prices (monthly, one-time, a promotion), launched offerings in two
//! categories of a catalog, and two customers (an Individual and an Organization, each
//! with a TMF669 `customer` role). Every document has a fixed id and is written with
//! `Engine::ensure`, so a second start finds it and changes nothing. The specifications
//! refer to each other both ways (a CFS takes a value from its product specification,
//! which names the CFS), so the downward links are merge patches after every document
//! exists, each applied only while its attributes are absent.

use serde::Deserialize;
use serde_json::{Map, Value};
use switchboard_engine::{Engine, PatchKind};

/// The demo data, compiled in.
const DATA: &str = include_str!("../demo/demo.json");

/// The customer the printed commands order for, and what it orders.
pub const CUSTOMER: &str = "demo-acme";
pub const CUSTOMER_TYPE: &str = "Organization";
pub const OFFERING: &str = "demo-fibre-500";

/// The demo's documents and the links made once they all exist.
#[derive(Debug, Deserialize)]
struct DemoData {
    documents: Vec<DemoDocument>,
    links: Vec<DemoLink>,
}

/// One document, created under `id` in `api`'s `collection`.
#[derive(Debug, Deserialize)]
struct DemoDocument {
    api: String,
    collection: String,
    id: String,
    body: Value,
}

/// A merge patch of a document, applied while the attributes it sets are absent.
#[derive(Debug, Deserialize)]
struct DemoLink {
    api: String,
    collection: String,
    id: String,
    patch: Map<String, Value>,
}

/// What loading found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loaded {
    /// Documents written now.
    pub created: usize,
    /// Documents found already stored (a second start).
    pub existing: usize,
    /// Links patched now.
    pub linked: usize,
}

impl std::fmt::Display for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} documents created, {} already there, {} links made",
            self.created, self.existing, self.linked
        )
    }
}

/// Loads the demo data into `engine`'s store; idempotent. An error names the document
/// the engine refused and why.
pub async fn load(engine: &Engine) -> Result<Loaded, String> {
    let data: DemoData =
        serde_json::from_str(DATA).map_err(|error| format!("demo/demo.json: {error}"))?;
    let mut loaded = Loaded::default();
    for document in data.documents {
        let at = engine
            .served(&document.api, &document.collection)
            .map_err(|error| format!("demo {}: {error}", document.collection))?;
        let (_, created) = engine
            .ensure(at, &document.id, document.body)
            .await
            .map_err(|error| {
                format!(
                    "demo {} '{}' refused: {error}",
                    document.collection, document.id
                )
            })?;
        if created {
            loaded.created += 1;
        } else {
            loaded.existing += 1;
        }
    }
    for link in data.links {
        let at = engine
            .served(&link.api, &link.collection)
            .map_err(|error| format!("demo {}: {error}", link.collection))?;
        let stored = engine
            .document(&link.api, &link.collection, &link.id)
            .await
            .map_err(|error| format!("demo {} '{}': {error}", link.collection, link.id))?
            .ok_or_else(|| format!("demo {} '{}' is missing", link.collection, link.id))?;
        if link.patch.keys().all(|key| stored.get(key).is_some()) {
            continue;
        }
        engine
            .patch(
                at,
                &link.id,
                PatchKind::Merge,
                Value::Object(link.patch),
                None,
            )
            .await
            .map_err(|error| {
                format!(
                    "demo {} '{}': link refused: {error}",
                    link.collection, link.id
                )
            })?;
        loaded.linked += 1;
    }
    Ok(loaded)
}

/// The three commands that place an order for a demo offering, wait for it to
/// complete, and list what the customer owns then, against the server at `base`.
pub fn commands(base: &str) -> String {
    let base = base.trim_end_matches('/');
    format!(
        r#"# 1. order Fibre 500 for ACME Logistics (an Organization), with their own router
ORDER=$(curl -s -X POST {base}/tmf-api/productOrderingManagement/v4/productOrder \
  -H 'Content-Type: application/json' \
  -d '{{"relatedParty": [{{"id": "{CUSTOMER}", "role": "customer", "@referredType": "{CUSTOMER_TYPE}"}}],
       "productOrderItem": [{{"id": "1", "action": "add", "productOffering": {{"id": "{OFFERING}"}},
         "product": {{"productCharacteristic": [{{"name": "router", "value": "own"}}]}}}}]}}' \
  | grep -o 'productOrder/[^"]*' | head -n 1 | cut -d / -f 2)
# 2. wait until it has completed, then show it (its item names the product it created)
for i in $(seq 50); do curl -s "{base}/tmf-api/productOrderingManagement/v4/productOrder/$ORDER?fields=state" | grep -q '"completed"' && break; sleep 0.2; done
curl -s {base}/tmf-api/productOrderingManagement/v4/productOrder/$ORDER
# 3. what the customer owns now (each product names the services that realize it)
curl -s "{base}/tmf-api/productInventory/v4/product?relatedParty.id={CUSTOMER}"
"#
    )
}
