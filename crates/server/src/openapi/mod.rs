//! The OpenAPI 3.0 document of each served API, built at start-up from the same
//! declarations the router mounts (`ApiDecl`, `ResourceDecl`: collections, operations,
//! views, server-owned attributes) and the API's compact schema file, so that it cannot
//! drift from the routes. Typed with `openapiv3` (plain serde structs, no macros): the
//! schema file's definitions deserialize straight into its `Schema`.
//!
//! - `mod.rs` (here): the document, its components (the schema file's definitions, with
//!   those an extension collection adds, `#/definitions/` rewritten, the resources marked
//!   for what the server sets, our own definitions marked as extensions) and the
//!   list of documents the index, `/openapi.json` and `/docs` show.
//! - `operations.rs`: the paths and operations of one API.

mod operations;

use bytes::Bytes;
use openapiv3::{Components, Info, OpenAPI, ReferenceOr, Schema, Server, Tag};
use serde_json::{json, Map, Value};
use switchboard_engine::{ApiRuntime, ResourceDecl};

/// The schema-file prefix of a reference, and what it becomes in the document.
const DEFINITIONS: &str = "#/definitions/";
const COMPONENTS: &str = "#/components/schemas/";

/// The extension keyword marking what Switchboard adds to a specification.
pub const EXTENSION: &str = "x-switchboard-extension";

/// Definitions of our own in every document.
pub(crate) const JSON_PATCH: &str = "JsonPatch";
pub(crate) const VIEW: &str = "View";

/// One API's document, serialized once at start-up.
pub struct ApiDocument {
    /// "TMF620".
    pub id: &'static str,
    /// "Product Catalog Management".
    pub name: &'static str,
    /// The specification's version ("4.0.0").
    pub version: String,
    pub base_path: &'static str,
    /// The OpenAPI document, as served at `{base_path}/openapi.json` (shared, not
    /// copied, by each answer).
    pub json: Bytes,
}

impl ApiDocument {
    pub fn url(&self) -> String {
        format!("{}/openapi.json", self.base_path)
    }

    /// The docs page with this API's document open.
    pub fn docs_url(&self) -> String {
        format!("/docs?api={}", self.id)
    }

    /// What the index and `/openapi.json` say of this API.
    pub fn summary(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "basePath": self.base_path,
            "openapi": self.url(),
            "docs": self.docs_url(),
        })
    }
}

/// The documents of every served API; an error names an API whose schema file does not
/// fit (a programming error, caught at start-up and by the tests).
pub fn documents(apis: &[ApiRuntime]) -> Result<Vec<ApiDocument>, String> {
    apis.iter()
        .map(|api| {
            let code = api.decl.code;
            let schema = &api.schema;
            let document =
                document(api, schema).map_err(|error| format!("{code}: openapi: {error}"))?;
            let json = serde_json::to_string(&document)
                .map_err(|error| format!("{code}: openapi: {error}"))?;
            Ok(ApiDocument {
                id: code,
                name: api.decl.name,
                version: spec_version(schema),
                base_path: api.decl.base_path,
                json: json.into(),
            })
        })
        .collect()
}

fn spec_version(schema: &Value) -> String {
    schema["specVersion"]
        .as_str()
        .unwrap_or("unknown")
        .to_string()
}

fn document(api: &ApiRuntime, schema: &Value) -> Result<OpenAPI, String> {
    let definitions = schema["definitions"]
        .as_object()
        .ok_or("the schema file has no definitions")?;
    let resources: Vec<&ResourceDecl> = api.resources().collect();
    let extensions = extension_names(&resources)?;
    let mut components = Components::default();
    for (name, definition) in definitions {
        let mut definition = rewrite_refs(definition.clone());
        if let Some(resource) = resources.iter().find(|r| r.resource_type == name) {
            mark_resource(&mut definition, resource);
        }
        if extensions.contains(name) {
            if let Value::Object(object) = &mut definition {
                object.insert(EXTENSION.to_string(), Value::Bool(true));
            }
        }
        components
            .schemas
            .insert(name.clone(), schema_of(definition, name)?);
    }
    for (name, definition) in own_definitions() {
        components
            .schemas
            .insert(name.to_string(), schema_of(definition, name)?);
    }
    let mut info = Info {
        title: format!("{} {}", api.decl.code, api.decl.name),
        version: spec_version(schema),
        description: Some(format!(
            "What Switchboard serves of {} {} (specification {}): the resources, operations \
             and TMF630 query parameters it offers. Attributes marked `{EXTENSION}` are \
             Switchboard's additions; `readOnly` ones are set by the server.",
            api.decl.code,
            api.decl.name,
            spec_version(schema)
        )),
        ..Info::default()
    };
    info.extensions
        .insert("x-tmf-api".to_string(), json!(api.decl.code));
    let paths = operations::paths(api, definitions)?;
    Ok(OpenAPI {
        openapi: "3.0.3".to_string(),
        info,
        servers: vec![Server {
            url: api.decl.base_path.to_string(),
            ..Server::default()
        }],
        paths,
        components: Some(components),
        tags: resources
            .iter()
            .map(|resource| Tag {
                name: resource.resource_type.to_string(),
                ..Tag::default()
            })
            .chain(std::iter::once(Tag {
                name: operations::HUB_TAG.to_string(),
                ..Tag::default()
            }))
            .collect(),
        ..OpenAPI::default()
    })
}

/// The definitions the resources add to the schema file (`ResourceDecl::definitions`):
/// Switchboard's own, marked as such.
fn extension_names(resources: &[&ResourceDecl]) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for own in resources.iter().filter_map(|resource| resource.definitions) {
        let own: Map<String, Value> = serde_json::from_str(own)
            .map_err(|error| format!("definitions of our own: {error}"))?;
        names.extend(own.into_iter().map(|(name, _)| name));
    }
    Ok(names)
}

fn schema_of(definition: Value, name: &str) -> Result<ReferenceOr<Schema>, String> {
    serde_json::from_value(definition)
        .map_err(|error| format!("definition '{name}' is no OpenAPI schema: {error}"))
}

/// `#/definitions/X` → `#/components/schemas/X`, everywhere in a definition.
fn rewrite_refs(value: Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .map(|(key, value)| match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => {
                        let target = match target.strip_prefix(DEFINITIONS) {
                            Some(name) => format!("{COMPONENTS}{name}"),
                            None => target,
                        };
                        (key, Value::String(target))
                    }
                    (_, value) => (key, rewrite_refs(value)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(rewrite_refs).collect()),
        other => other,
    }
}

/// The resource definition as the server answers it: the attributes the server sets are
/// `readOnly` (added, as our extension, when the specification lacks them), and only
/// `id` and `href` stay required, since `fields` may leave any other attribute out.
fn mark_resource(definition: &mut Value, resource: &ResourceDecl) {
    let Value::Object(object) = definition else {
        return;
    };
    if let Some(Value::Array(required)) = object.get_mut("required") {
        required.retain(|name| matches!(name.as_str(), Some("id" | "href")));
        if required.is_empty() {
            object.remove("required");
        }
    }
    let properties = object
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(properties) = properties else {
        return;
    };
    for name in server_set(resource) {
        match properties.get_mut(name) {
            Some(Value::Object(property)) => {
                // A `$ref` ignores its siblings in OpenAPI 3.0: wrap it.
                if let Some(target) = property.remove("$ref") {
                    property.insert("allOf".to_string(), json!([{"$ref": target}]));
                }
                property.insert("readOnly".to_string(), Value::Bool(true));
            }
            _ => {
                properties.insert(name.to_string(), json!({"readOnly": true, EXTENSION: true}));
            }
        }
    }
}

/// The top-level attributes of a resource only the server writes.
pub(crate) fn server_set(resource: &ResourceDecl) -> Vec<&'static str> {
    let mut names = vec!["id", "href"];
    let others = resource
        .last_update
        .into_iter()
        .chain(resource.created_at)
        .chain(
            resource
                .server_owned
                .iter()
                .copied()
                .filter(|name| !name.contains(['.', '['])),
        );
    for name in others {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Definitions every document adds: the RFC 6902 patch body, and the answer of a view.
fn own_definitions() -> [(&'static str, Value); 2] {
    [
        (
            JSON_PATCH,
            json!({
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["op", "path"],
                    "properties": {
                        "op": {
                            "type": "string",
                            "enum": ["add", "remove", "replace", "move", "copy", "test"],
                        },
                        "path": {"type": "string"},
                        "from": {"type": "string"},
                        "value": {},
                    },
                },
                "description": "An RFC 6902 JSON Patch, applied atomically.",
            }),
        ),
        (
            VIEW,
            json!({
                "type": "object",
                "description": "A read-only view derived from stored resources (see \
                                docs/wire-choices.md for each view's shape).",
                EXTENSION: true,
            }),
        ),
    ]
}

/// `/openapi.json`: every API's document, as the index lists them.
pub fn list(documents: &[ApiDocument]) -> Value {
    json!({
        "apis": documents.iter().map(ApiDocument::summary).collect::<Vec<_>>(),
    })
}
