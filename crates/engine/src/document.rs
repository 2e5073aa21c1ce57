//! A document as the engine stores it: the JSON text (refused if a backend could not
//! store it), the values indexed beside it, the server's stamps on a new one (id, href,
//! `@type`, dates, initial state), and the version a write's `If-Match` names.

use serde_json::{Map, Value};
use switchboard_store::Promoted;

use crate::error::{Error, ErrorKind, Result};
use crate::kernel::{ApiRuntime, Engine, ResourceRuntime};
use crate::model::ResourceRef;

/// Longest value of an attribute the store indexes (`name`, `@type`, the state).
const INDEXED_MAX_CHARS: usize = 512;

/// The document as stored. Text holding NUL is refused: PostgreSQL cannot store it, and
/// both backends must accept the same documents.
pub(crate) fn storable_json(doc: &Value) -> Result<String> {
    fn has_nul(value: &Value) -> bool {
        match value {
            Value::String(text) => text.contains('\0'),
            Value::Array(items) => items.iter().any(has_nul),
            Value::Object(object) => object
                .iter()
                .any(|(key, value)| key.contains('\0') || has_nul(value)),
            _ => false,
        }
    }
    if has_nul(doc) {
        return Err(Error::invalid_body(
            "text may not contain the NUL character (\\u0000)",
        ));
    }
    Ok(doc.to_string())
}

/// A stored document as JSON; stored text that does not parse is a fault of ours.
pub(crate) fn parse_stored(json: &str) -> Result<Value> {
    serde_json::from_str(json)
        .map_err(|error| Error::internal(format!("stored JSON unreadable: {error}")))
}

pub(crate) fn string_at(doc: &Value, key: &str) -> Option<String> {
    doc.get(key).and_then(Value::as_str).map(str::to_string)
}

impl Engine {
    /// The absolute `href` of a resource (the `Location` of a 201).
    pub fn location(&self, at: ResourceRef, id: &str) -> Result<String> {
        let (api, resource) = self.runtime(at)?;
        Ok(self.href(api, resource.decl.collection, id))
    }

    pub(crate) fn href(&self, api: &ApiRuntime, collection: &str, id: &str) -> String {
        format!(
            "{}{}/{}/{}",
            self.inner.config.public_url, api.decl.base_path, collection, id
        )
    }

    /// Sets id, href, `@type`, the dates and the initial state of a new document, and
    /// checks a state the client chose. Server-owned attributes a client sent are
    /// dropped; the server's own (`internal`) are kept.
    pub(crate) fn stamp_new(
        &self,
        api: &ApiRuntime,
        resource: &ResourceRuntime,
        doc: &mut Value,
        id: &str,
        internal: bool,
    ) -> Result<()> {
        let href = self.href(api, resource.decl.collection, id);
        let now = crate::clock::now_rfc3339();
        let Value::Object(object) = doc else {
            return Err(Error::invalid_body("the body must be a JSON object"));
        };
        let mut stamped = Map::new();
        stamped.insert("id".into(), Value::String(id.to_string()));
        stamped.insert("href".into(), Value::String(href));
        for (key, value) in std::mem::take(object) {
            stamped.insert(key, value);
        }
        if !stamped.contains_key("@type") {
            stamped.insert(
                "@type".into(),
                Value::String(resource.decl.resource_type.to_string()),
            );
        }
        if !internal {
            for attribute in resource.decl.server_owned {
                stamped.remove(*attribute);
            }
        }
        if let Some(attribute) = resource.decl.created_at {
            stamped.insert(attribute.into(), Value::String(now.clone()));
        }
        if let Some(attribute) = resource.decl.last_update {
            stamped.insert(attribute.into(), Value::String(now));
        }
        if let Some(state) = &resource.decl.state {
            match stamped.get(state.attribute) {
                None | Some(Value::Null) => {
                    if let Some(initial) = state.initial {
                        stamped.insert(state.attribute.into(), Value::String(initial.into()));
                    }
                }
                Some(Value::String(value)) if state.knows(value) => {
                    if let Some(canonical) = state.canonical(value) {
                        stamped.insert(state.attribute.into(), Value::String(canonical.into()));
                    }
                }
                Some(other) => {
                    return Err(Error::invalid_body(format!(
                        "'{}' {} is not a known state; known states: {}",
                        state.attribute,
                        other,
                        state.states().join(", ")
                    )))
                }
            }
        }
        *object = stamped;
        Ok(())
    }
}

/// The values the store indexes beside the document; each is bounded, as an index
/// entry is (PostgreSQL refuses B-tree entries over about 2.7 kB).
/// `public_url` tells the references to other servers' resources, which are not indexed.
pub(crate) fn promoted(
    resource: &ResourceRuntime,
    doc: &Value,
    public_url: &str,
) -> Result<Promoted> {
    let promoted = Promoted {
        name: string_at(doc, "name"),
        state: resource
            .decl
            .state
            .as_ref()
            .and_then(|state| string_at(doc, state.attribute)),
        type_name: string_at(doc, "@type"),
        updated: resource
            .decl
            .last_update
            .and_then(|attribute| string_at(doc, attribute)),
        links: resource
            .references
            .iter()
            .flat_map(|(reference, kind)| {
                reference
                    .local_ids(doc, public_url)
                    .into_iter()
                    .map(|id| switchboard_store::link(kind, id))
            })
            .collect::<std::collections::BTreeSet<String>>()
            .into_iter()
            .collect(),
    };
    let named = [
        ("name", &promoted.name),
        ("@type", &promoted.type_name),
        (
            resource
                .decl
                .state
                .as_ref()
                .map_or("state", |s| s.attribute),
            &promoted.state,
        ),
        (
            resource.decl.last_update.unwrap_or("lastUpdate"),
            &promoted.updated,
        ),
    ];
    for (attribute, value) in named {
        if value
            .as_ref()
            .is_some_and(|value| value.chars().count() > INDEXED_MAX_CHARS)
        {
            return Err(Error::invalid_body(format!(
                "'{attribute}' may hold at most {INDEXED_MAX_CHARS} characters"
            )));
        }
    }
    Ok(promoted)
}

/// Refuses a write whose `If-Match` names no tag of the current version (TMF630
/// optimistic concurrency); no `If-Match`, no condition.
pub(crate) fn check_if_match(if_match: Option<&str>, version: i64) -> Result<()> {
    let Some(if_match) = if_match else {
        return Ok(());
    };
    let current = format!("\"{version}\"");
    let matched = if_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == current);
    if matched {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::PreconditionFailed,
        "Precondition failed",
        format!("If-Match {if_match} does not match the current version W/{current}"),
    ))
}
