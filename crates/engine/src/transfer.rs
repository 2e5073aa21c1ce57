//! Whole collections in and out of an API (catalog export and import jobs): `dump`
//! reads every document; `restore` stores documents under their own ids in one
//! transaction, each validated and announced.

use serde_json::{Map, Value};

use crate::commit::announce;
use crate::document::{parse_stored, promoted, storable_json, string_at};
use crate::error::{Error, Result};
use crate::events::Change;
use crate::kernel::{Engine, Finished};

impl Engine {
    /// Every document of the given collections of an API, keyed by collection
    /// (catalog export).
    pub async fn dump(&self, api_index: usize, collections: &[&str]) -> Result<Value> {
        let api = self.api(api_index)?;
        let mut out = Map::new();
        for resource in &api.resources {
            if !collections.contains(&resource.decl.collection) {
                continue;
            }
            let documents = self.inner.store.all(&resource.kind).await?;
            let mut items = Vec::with_capacity(documents.len());
            for document in documents {
                items.push(parse_stored(&document.json)?);
            }
            out.insert(resource.decl.collection.to_string(), Value::Array(items));
        }
        Ok(Value::Object(out))
    }

    /// Stores documents that carry their own ids (catalog import): each is validated,
    /// inserted or replaced, and announced with its create or change event. All of
    /// them commit together or none does.
    pub async fn restore(&self, api_index: usize, data: &Value) -> Result<usize> {
        let api = self.api(api_index)?;
        let Value::Object(collections) = data else {
            return Err(Error::invalid_body(
                "an import must be a JSON object of collections",
            ));
        };
        let mut tx = self.inner.store.begin().await?;
        let mut events = Vec::new();
        let mut count = 0;
        for (collection, items) in collections {
            let Some(resource) = api
                .resources
                .iter()
                .find(|r| r.decl.collection == collection)
            else {
                return Err(Error::invalid_body(format!(
                    "unknown collection '{collection}'"
                )));
            };
            let Value::Array(items) = items else {
                return Err(Error::invalid_body(format!(
                    "'{collection}' must be an array"
                )));
            };
            for item in items {
                let mut doc = item.clone();
                let Some(id) = string_at(&doc, "id") else {
                    return Err(Error::invalid_body(format!(
                        "every imported {collection} needs a string id"
                    )));
                };
                if let Some(validator) = &resource.create_validator {
                    validator.check(&doc)?;
                }
                doc["href"] = Value::String(self.href(api, collection, &id));
                let json = storable_json(&doc)?;
                let promoted = promoted(resource, &doc, &self.inner.config.public_url)?;
                let change = match tx.get(&resource.kind, &id).await? {
                    Some(current) => {
                        tx.update(&resource.kind, &id, current.version, &json, &promoted)
                            .await?;
                        Change::AttributeValueChange
                    }
                    None => {
                        tx.insert(&resource.kind, &id, &json, &promoted).await?;
                        Change::Create
                    }
                };
                events.push(announce(resource, change, &doc));
                count += 1;
            }
        }
        self.finish(Finished::of(tx), api, move || events).await?;
        Ok(count)
    }
}
