//! Conversion of one Swagger 2.0 document into the project's compact schema file.
//!
//! Output shape (keys in this order):
//! ```text
//! { "api": "TMF620", "specVersion": <info.version>, "basePath": <basePath without trailing "/">,
//!   "collections": { "<name>": ["list","create","retrieve","patch","delete"], ... },
//!   "events": ["<EventDefinitionName>", ...],
//!   "definitions": { "<Name>": <schema>, ... } }
//! ```
//! Schemas keep only structural JSON-schema keywords ([`KEPT_KEYWORDS`]); prose (description,
//! title, example), vendor extensions (`x-*`) and everything else is dropped, recursively.
//! Property *names* inside `properties` are attribute names and are always kept.
//! Map order follows the source document (serde_json `preserve_order`), so output is stable.

use serde_json::{Map, Value};

use crate::paths::derive_paths;
use crate::swagger::definition_name;
use crate::Result;

/// JSON-schema keywords kept in the output; every other keyword is dropped.
pub const KEPT_KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "enum",
    "$ref",
    "items",
    "allOf",
    "oneOf",
    "anyOf",
    "additionalProperties",
    "format",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "pattern",
];

/// Result of converting one document.
#[derive(Debug)]
pub struct Converted {
    pub output: Value,
    /// Oddities found in the source (broken refs, unmapped methods, ...). Not fatal.
    pub warnings: Vec<String>,
    pub definition_count: usize,
    pub collection_count: usize,
    pub event_count: usize,
}

/// Converts a parsed Swagger 2.0 document for `api` (e.g. "TMF620").
pub fn convert(api: &str, doc: &Value) -> Result<Converted> {
    let root = doc.as_object().ok_or("document is not a JSON object")?;
    match root.get("swagger").and_then(Value::as_str) {
        Some("2.0") => {}
        other => return Err(format!("expected \"swagger\": \"2.0\", found {other:?}").into()),
    }
    let mut warnings = Vec::new();

    let spec_version = match root.get("info").and_then(|info| info.get("version")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err("missing info.version".into()),
    };
    let base_path = match root.get("basePath").and_then(Value::as_str) {
        Some(p) => p.trim_end_matches('/').to_string(),
        None => {
            warnings.push("no basePath; writing \"\"".to_string());
            String::new()
        }
    };

    let empty = Map::new();
    let source_defs = match root.get("definitions") {
        Some(Value::Object(defs)) => defs,
        Some(_) => return Err("\"definitions\" is not an object".into()),
        None => {
            warnings.push("no definitions".to_string());
            &empty
        }
    };
    let paths = match root.get("paths") {
        Some(Value::Object(paths)) => paths,
        Some(_) => return Err("\"paths\" is not an object".into()),
        None => {
            warnings.push("no paths".to_string());
            &empty
        }
    };

    let (collections, events) = derive_paths(paths, source_defs, &mut warnings);

    let mut filter = Filter {
        definitions: source_defs,
        warnings: &mut warnings,
    };
    let mut definitions = Map::new();
    for (name, schema) in source_defs {
        let location = format!("definitions/{name}");
        definitions.insert(name.clone(), filter.schema(schema, &location)?);
    }

    let collection_count = collections.len();
    let event_count = events.len();
    let definition_count = definitions.len();
    let mut out = Map::new();
    out.insert("api".into(), Value::String(api.to_string()));
    out.insert("specVersion".into(), Value::String(spec_version));
    out.insert("basePath".into(), Value::String(base_path));
    out.insert("collections".into(), Value::Object(collections));
    out.insert(
        "events".into(),
        Value::Array(events.into_iter().map(Value::String).collect()),
    );
    out.insert("definitions".into(), Value::Object(definitions));
    Ok(Converted {
        output: Value::Object(out),
        warnings,
        definition_count,
        collection_count,
        event_count,
    })
}

/// Pretty-prints with a trailing newline.
pub fn render(output: &Value) -> Result<String> {
    let mut text = serde_json::to_string_pretty(output)?;
    text.push('\n');
    Ok(text)
}

/// Recursive keyword filter over schema objects.
struct Filter<'a> {
    definitions: &'a Map<String, Value>,
    warnings: &'a mut Vec<String>,
}

impl Filter<'_> {
    /// Filters one schema object; `location` is a slash path used in messages.
    fn schema(&mut self, schema: &Value, location: &str) -> Result<Value> {
        let obj = match schema {
            Value::Object(obj) => obj,
            Value::Bool(_) => return Ok(schema.clone()),
            _ => return Err(format!("{location}: schema is not an object").into()),
        };
        let mut out = Map::new();
        for (key, value) in obj {
            let here = format!("{location}/{key}");
            let kept = match key.as_str() {
                "properties" => {
                    let props = value
                        .as_object()
                        .ok_or_else(|| format!("{here}: not an object"))?;
                    let mut filtered = Map::new();
                    for (name, prop) in props {
                        // `name` is an attribute name, never a keyword: keep it as is.
                        filtered
                            .insert(name.clone(), self.schema(prop, &format!("{here}/{name}"))?);
                    }
                    Value::Object(filtered)
                }
                "items" => match value {
                    Value::Array(list) => Value::Array(self.schema_list(list, &here)?),
                    _ => self.schema(value, &here)?,
                },
                "allOf" | "oneOf" | "anyOf" => {
                    let list = value
                        .as_array()
                        .ok_or_else(|| format!("{here}: not an array"))?;
                    Value::Array(self.schema_list(list, &here)?)
                }
                "additionalProperties" => self.schema(value, &here)?,
                "$ref" => {
                    if !self.check_ref(value, &here) {
                        // A reference to nothing constrains nothing: the schema stays
                        // compilable and accepts whatever the source could not describe.
                        continue;
                    }
                    value.clone()
                }
                k if KEPT_KEYWORDS.contains(&k) => value.clone(),
                _ => continue,
            };
            out.insert(key.clone(), kept);
        }
        self.check_required(obj, location);
        Ok(Value::Object(out))
    }

    fn schema_list(&mut self, list: &[Value], location: &str) -> Result<Vec<Value>> {
        list.iter()
            .enumerate()
            .map(|(i, s)| self.schema(s, &format!("{location}/{i}")))
            .collect()
    }

    /// True when the reference resolves; a broken one is warned about and dropped.
    fn check_ref(&mut self, value: &Value, location: &str) -> bool {
        let target = value.as_str().and_then(definition_name);
        match target {
            Some(name) if self.definitions.contains_key(name) => true,
            _ => {
                self.warnings.push(format!(
                    "{location}: broken $ref {value} (dropped: any value is accepted there)"
                ));
                false
            }
        }
    }

    /// Warns about `required` names that the same schema does not declare as properties.
    fn check_required(&mut self, obj: &Map<String, Value>, location: &str) {
        let (Some(Value::Array(required)), Some(Value::Object(props))) =
            (obj.get("required"), obj.get("properties"))
        else {
            return;
        };
        if obj.contains_key("allOf") || obj.contains_key("$ref") {
            return;
        }
        for name in required.iter().filter_map(Value::as_str) {
            if !props.contains_key(name) {
                self.warnings.push(format!(
                    "{location}: required \"{name}\" is not among its properties"
                ));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tiny_doc() -> Value {
        json!({
            "swagger": "2.0",
            "info": {"title": "Tiny", "description": "prose", "version": "4.0.0"},
            "basePath": "/tmf-api/tiny/v4/",
            "paths": {
                "/thing": {"get": {}, "post": {}},
                "/thing/{id}": {"get": {}, "patch": {}, "delete": {}, "put": {}},
                "/job": {"post": {}, "get": {}},
                "/job/{id}": {"delete": {}, "get": {}},
                "/hub": {"post": {}},
                "/hub/{id}": {"delete": {}},
                "/listener/thingCreateEvent": {"post": {"parameters": [
                    {"name": "data", "in": "body", "schema": {"$ref": "#/definitions/ThingCreateEvent"}}
                ]}},
                "/listener/thingDeleteEvent": {"post": {"parameters": [
                    {"name": "data", "in": "body", "schema": {"$ref": "#/definitions/Missing"}}
                ]}}
            },
            "definitions": {
                "Thing": {
                    "type": "object",
                    "title": "Thing",
                    "description": "A thing.",
                    "x-internal": true,
                    "discriminator": "@type",
                    "required": ["name"],
                    "properties": {
                        "description": {"type": "string", "description": "Free text"},
                        "example": {"type": "string", "example": "e.g."},
                        "name": {"type": "string", "minLength": 1, "readOnly": true},
                        "state": {"$ref": "#/definitions/State", "description": "The state"},
                        "tags": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "string", "default": "x", "x-foo": 1}
                        },
                        "extra": {"type": "object", "additionalProperties": {"type": "integer", "description": "d"}}
                    }
                },
                "State": {"type": "string", "enum": ["a", "b"], "description": "States"},
                "ThingCreateEvent": {
                    "allOf": [{"$ref": "#/definitions/Thing"}, {"description": "more", "properties": {"x-y": {"type": "string"}}}]
                }
            }
        })
    }

    #[test]
    fn strips_prose_and_extensions_but_keeps_property_names() {
        let converted = convert("TMF999", &tiny_doc()).unwrap();
        let defs = &converted.output["definitions"];
        assert_eq!(
            defs["Thing"],
            json!({
                "type": "object",
                "required": ["name"],
                "properties": {
                    "description": {"type": "string"},
                    "example": {"type": "string"},
                    "name": {"type": "string", "minLength": 1},
                    "state": {"$ref": "#/definitions/State"},
                    "tags": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                    "extra": {"type": "object", "additionalProperties": {"type": "integer"}}
                }
            })
        );
        assert_eq!(defs["State"], json!({"type": "string", "enum": ["a", "b"]}));
        // A property literally named "x-y" is an attribute name and survives.
        assert_eq!(
            defs["ThingCreateEvent"],
            json!({"allOf": [{"$ref": "#/definitions/Thing"}, {"properties": {"x-y": {"type": "string"}}}]})
        );
        // Source order of properties is preserved.
        let names: Vec<&String> = defs["Thing"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(
            names,
            ["description", "example", "name", "state", "tags", "extra"]
        );
        let text = render(&converted.output).unwrap();
        for banned in [
            "A thing.",
            "Free text",
            "e.g.",
            "x-internal",
            "title",
            "readOnly",
        ] {
            assert!(!text.contains(banned), "{banned} leaked into output");
        }
    }

    #[test]
    fn derives_header_collections_and_events() {
        let converted = convert("TMF999", &tiny_doc()).unwrap();
        let out = &converted.output;
        assert_eq!(out["api"], "TMF999");
        assert_eq!(out["specVersion"], "4.0.0");
        assert_eq!(out["basePath"], "/tmf-api/tiny/v4");
        assert_eq!(
            out["collections"],
            json!({
                "thing": ["list", "create", "retrieve", "patch", "delete"],
                "job": ["list", "create", "retrieve", "delete"]
            })
        );
        // The second listener's $ref is broken, so its name falls back to the path segment.
        assert_eq!(
            out["events"],
            json!(["ThingCreateEvent", "ThingDeleteEvent"])
        );
        let top: Vec<&String> = out.as_object().unwrap().keys().collect();
        assert_eq!(
            top,
            [
                "api",
                "specVersion",
                "basePath",
                "collections",
                "events",
                "definitions"
            ]
        );
        let warnings = converted.warnings.join("\n");
        assert!(
            warnings.contains("/thing/{id}: PUT not mapped"),
            "{warnings}"
        );
        assert!(
            warnings.contains("/listener/thingDeleteEvent"),
            "{warnings}"
        );
    }

    #[test]
    fn warns_about_broken_refs_and_rendering_is_stable() {
        let mut doc = tiny_doc();
        doc["definitions"]["Thing"]["properties"]["bad"] = json!({"$ref": "#/definitions/int"});
        let first = convert("TMF999", &doc).unwrap();
        assert!(first
            .warnings
            .iter()
            .any(|w| w.contains("definitions/Thing/properties/bad/$ref")));
        let a = render(&first.output).unwrap();
        let b = render(&convert("TMF999", &doc).unwrap().output).unwrap();
        assert_eq!(a, b);
        assert!(
            !a.contains("#/definitions/int"),
            "the broken $ref is dropped"
        );
        assert!(a.ends_with("}\n"));
    }

    #[test]
    fn rejects_non_swagger2() {
        assert!(convert("TMF999", &json!({"openapi": "3.0.1"})).is_err());
    }
}
