//! Route-shape derivation: the `collections` and `events` of an API, read from Swagger `paths`.
//!
//! `/x`: GET -> list, POST -> create; `/x/{id}`: GET -> retrieve, PATCH -> patch,
//! DELETE -> delete. `/hub` and `/hub/{id}` are skipped. `/listener/<name>` yields an event type.
//! Anything else (other methods, deeper paths) is skipped with a warning.

use serde_json::{Map, Value};

use crate::swagger::definition_name;

/// Collection operations, in output order.
const OPS: [&str; 5] = ["list", "create", "retrieve", "patch", "delete"];

const HTTP_METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];

/// Derives `collections` and `events` from `paths`.
///
/// `/x`: GET -> list, POST -> create; `/x/{id}`: GET -> retrieve, PATCH -> patch,
/// DELETE -> delete. `/hub*` is skipped. `/listener/<name>` yields the definition named by the
/// POST body `$ref`, or `<name>` with its first letter uppercased when that cannot be resolved.
pub fn derive_paths(
    paths: &Map<String, Value>,
    definitions: &Map<String, Value>,
    warnings: &mut Vec<String>,
) -> (Map<String, Value>, Vec<String>) {
    let mut collections: Vec<(String, [bool; 5])> = Vec::new();
    let mut events: Vec<String> = Vec::new();

    for (path, item) in paths {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let methods: Vec<&str> = item
            .as_object()
            .map(|ops| {
                ops.keys()
                    .map(String::as_str)
                    .filter(|k| HTTP_METHODS.contains(k))
                    .collect()
            })
            .unwrap_or_default();
        match segments.as_slice() {
            ["hub"] | ["hub", _] => {}
            ["listener", name] => {
                let event = listener_event(item, definitions).unwrap_or_else(|| {
                    let fallback = upper_first(name);
                    warnings.push(format!(
                        "{path}: POST body does not reference a known definition; using {fallback}"
                    ));
                    fallback
                });
                if !events.contains(&event) {
                    events.push(event);
                }
            }
            [name] | [name, _] => {
                let by_id = segments.len() == 2;
                if by_id && !is_template(segments[1]) {
                    warnings.push(format!("{path}: unrecognised path shape, skipped"));
                    continue;
                }
                if methods.is_empty() {
                    warnings.push(format!("{path}: no operations"));
                    continue;
                }
                let index = match collections.iter().position(|(n, _)| n == name) {
                    Some(i) => i,
                    None => {
                        collections.push((name.to_string(), [false; 5]));
                        collections.len() - 1
                    }
                };
                for method in methods {
                    let op = match (by_id, method) {
                        (false, "get") => Some(0),
                        (false, "post") => Some(1),
                        (true, "get") => Some(2),
                        (true, "patch") => Some(3),
                        (true, "delete") => Some(4),
                        _ => None,
                    };
                    match op {
                        Some(i) => collections[index].1[i] = true,
                        None => warnings.push(format!(
                            "{path}: {} not mapped to a collection operation, skipped",
                            method.to_uppercase()
                        )),
                    }
                }
            }
            _ => warnings.push(format!("{path}: unrecognised path shape, skipped")),
        }
    }

    let collections = collections
        .into_iter()
        .filter(|(_, ops)| ops.iter().any(|&on| on))
        .map(|(name, ops)| {
            let list = OPS
                .iter()
                .zip(ops)
                .filter(|(_, on)| *on)
                .map(|(op, _)| Value::String((*op).to_string()))
                .collect();
            (name, Value::Array(list))
        })
        .collect();
    (collections, events)
}

fn is_template(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The definition name referenced by the body parameter of a listener path's POST.
fn listener_event(item: &Value, definitions: &Map<String, Value>) -> Option<String> {
    let params = item.get("post")?.get("parameters")?.as_array()?;
    let body = params
        .iter()
        .find(|p| p.get("in").and_then(Value::as_str) == Some("body"))?;
    let reference = body.get("schema")?.get("$ref")?.as_str()?;
    let name = definition_name(reference)?;
    definitions.contains_key(name).then(|| name.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn skips_unknown_shapes_and_falls_back_for_inline_listener_bodies() {
        let paths = json!({
            "/a/{id}/b": {"get": {}},
            "/a/b": {"get": {}},
            "/listener/fooCreateEvent": {"post": {"parameters": [
                {"in": "body", "schema": {"type": "object"}}
            ]}}
        });
        let mut warnings = Vec::new();
        let (collections, events) =
            derive_paths(paths.as_object().unwrap(), &Map::new(), &mut warnings);
        assert!(collections.is_empty());
        assert_eq!(events, ["FooCreateEvent"]);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
    }
}
