//! Reads (TMF630 "Retrieve resource", "Query resources"): a resource by id, optionally
//! projected; a page of a collection, filtered and sorted by the store; a declared view;
//! and the parsed documents and internal state that views and domain logic read.

use serde_json::Value;
use switchboard_store::ListQuery;

use crate::document::parse_stored;
use crate::error::{Error, Result};
use crate::kernel::{Engine, ResourceRuntime};
use crate::model::{ListResult, ResourceRef, Stored};
use crate::query::{project, ColumnMap, ParsedQuery};
use crate::scope::Internal;

impl Engine {
    /// GET on a resource (TMF630 "Retrieve resource"), optionally projected.
    pub async fn retrieve(&self, at: ResourceRef, id: &str, query: &str) -> Result<Stored> {
        let (_, resource) = self.runtime(at)?;
        self.allowed(resource, resource.decl.operations.retrieve, "GET by id")?;
        let parsed = ParsedQuery::parse(query)?;
        let Some(document) = self.inner.store.get(&resource.kind, id).await? else {
            return Err(self.not_found(resource, id));
        };
        let json = match &parsed.fields {
            None => document.json,
            Some(fields) => {
                let doc: Value = parse_stored(&document.json)?;
                project(&doc, fields).to_string()
            }
        };
        Ok(Stored {
            id: document.id,
            version: document.version,
            json,
        })
    }

    /// GET on a declared view of a resource (`{collection}/{id}/{name}`).
    pub async fn view(&self, at: ResourceRef, id: &str, name: &str, query: &str) -> Result<Value> {
        let (_, resource) = self.runtime(at)?;
        let Some((_, view)) = resource.decl.views.iter().find(|(known, _)| *known == name) else {
            return Err(Error::not_found(format!(
                "{} has no view '{name}'",
                resource.decl.collection
            )));
        };
        view.get(self, id, query).await
    }

    /// The stored document of `api`'s `collection` with this id, parsed (views and
    /// domain logic read through this).
    pub async fn document(&self, api: &str, collection: &str, id: &str) -> Result<Option<Value>> {
        self.document_as(api, collection, id).await
    }

    /// `document` read into `T`: a type of the few attributes a caller looks at costs a
    /// fraction of the whole document's parse (an order's state, say).
    pub async fn document_as<T: serde::de::DeserializeOwned>(
        &self,
        api: &str,
        collection: &str,
        id: &str,
    ) -> Result<Option<T>> {
        let at = self.served(api, collection)?;
        let (_, resource) = self.runtime(at)?;
        match self.inner.store.get(&resource.kind, id).await? {
            Some(document) => serde_json::from_str(&document.json)
                .map(Some)
                .map_err(|error| Error::internal(format!("stored JSON unreadable: {error}"))),
            None => Ok(None),
        }
    }

    /// Internal state `name`/`id` an API keeps through `Scope::put_internal`, as last
    /// committed (views read it; writes go through a scope).
    pub async fn internal(&self, api: &str, name: &str, id: &str) -> Result<Option<Internal>> {
        match self.inner.store.get(&format!("{api}:{name}"), id).await? {
            Some(document) => Ok(Some(Internal {
                version: document.version,
                value: parse_stored(&document.json)?,
            })),
            None => Ok(None),
        }
    }

    /// Like `document`, but a missing document is a 404 naming it.
    pub async fn require(&self, api: &str, collection: &str, id: &str) -> Result<Value> {
        self.document(api, collection, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("no {collection} with id '{id}'")))
    }

    /// GET on a collection (TMF630 "Query resources"): filters, sort, projection, page.
    pub async fn list(&self, at: ResourceRef, query: &str) -> Result<ListResult> {
        let (_, resource) = self.runtime(at)?;
        self.allowed(
            resource,
            resource.decl.operations.list,
            "GET on the collection",
        )?;
        let parsed = ParsedQuery::parse(query)?;
        let columns = self.columns(resource);
        let config = &self.inner.config;
        let limit = parsed
            .limit
            .unwrap_or(config.default_limit)
            .min(config.max_limit);
        let list = ListQuery {
            kind: resource.kind.clone(),
            conditions: columns.conditions(parsed.conditions.clone()),
            sort: columns.sort(&parsed.sort),
            offset: parsed.offset.unwrap_or(0),
            limit,
        };
        let page = self.inner.store.list(&list).await?;
        let json = match &parsed.fields {
            None => format!("[{}]", page.items),
            Some(fields) => {
                let items = parse_stored(&format!("[{}]", page.items))?;
                let projected: Vec<Value> = items
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|doc| project(doc, fields))
                    .collect();
                Value::Array(projected).to_string()
            }
        };
        Ok(ListResult {
            json,
            total: page.total,
            count: page.count,
        })
    }

    /// Where the store keeps what a list filters and sorts on, beside the document.
    fn columns<'a>(&self, resource: &'a ResourceRuntime) -> ColumnMap<'a> {
        ColumnMap {
            state: resource.decl.state.as_ref().map(|state| state.attribute),
            last_update: resource.decl.last_update,
            scalars: &resource.scalars,
        }
    }
}
