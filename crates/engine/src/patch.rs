//! PATCH bodies (TMF630 "Partial update"): an RFC 7396 merge or an RFC 6902 JSON Patch
//! applied to a document, refused where it would change what the server owns (id, href,
//! its dates, declared attributes, and `list[].attr` in each entry of a list).

use serde_json::Value;

use crate::error::{Error, Result};
use crate::kernel::ResourceDecl;
use crate::model::PatchKind;

/// A merge patch without its `null`s (which only remove attributes).
pub(crate) fn without_nulls(patch: &Value) -> Value {
    match patch {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(_, value)| !value.is_null())
                .map(|(key, value)| (key.clone(), without_nulls(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The attributes a client may not write: id, href, the dates the server keeps, and
/// whatever the declaration adds.
fn server_owned(decl: &ResourceDecl) -> Vec<&'static str> {
    let mut owned = vec!["id", "href"];
    owned.extend(decl.last_update);
    owned.extend(decl.created_at);
    owned.extend(decl.server_owned.iter().copied());
    owned
}

pub(crate) fn apply_patch(
    doc: &mut Value,
    kind: PatchKind,
    body: &Value,
    decl: &ResourceDecl,
) -> Result<()> {
    let owned = server_owned(decl);
    // `list[].attr`: an attribute of each entry of a list (an order item's state).
    let nested: Vec<(&str, &str)> = owned
        .iter()
        .filter_map(|key| key.split_once("[]."))
        .collect();
    let before: Vec<(&str, &str, Option<Value>)> = nested
        .iter()
        .map(|(list, attribute)| (*list, *attribute, doc.get(*list).cloned()))
        .collect();
    apply_top_level_patch(doc, kind, body, &owned)?;
    for (list, attribute, previous) in before {
        check_entries_kept(list, attribute, previous.as_ref(), doc.get(list))?;
    }
    Ok(())
}

/// Refuses a change of `attribute` in any entry of `list` (entries matched by `id`); a
/// new entry may not set it either.
fn check_entries_kept(
    list: &str,
    attribute: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<()> {
    let Some(Value::Array(after)) = after else {
        return Ok(());
    };
    let before: Vec<&Value> = match before {
        Some(Value::Array(entries)) => entries.iter().collect(),
        _ => Vec::new(),
    };
    for entry in after {
        let id = entry.get("id");
        let previous = before
            .iter()
            .find(|old| id.is_some() && old.get("id") == id)
            .and_then(|old| old.get(attribute));
        if entry.get(attribute).is_some() && entry.get(attribute) != previous {
            return Err(Error::bad_request(format!(
                "'{list}[].{attribute}' is set by the server and cannot be changed"
            )));
        }
        if entry.get(attribute).is_none() && previous.is_some() {
            return Err(Error::bad_request(format!(
                "'{list}[].{attribute}' is set by the server and cannot be removed"
            )));
        }
    }
    Ok(())
}

fn apply_top_level_patch(
    doc: &mut Value,
    kind: PatchKind,
    body: &Value,
    owned: &[&str],
) -> Result<()> {
    match kind {
        PatchKind::Merge => {
            // Echoing a server-owned value unchanged is harmless (a client patching
            // back what it read); changing or removing one is refused.
            for key in owned {
                if let Some(value) = body.get(*key) {
                    if doc.get(*key) != Some(value) {
                        return Err(Error::bad_request(format!(
                            "'{key}' is set by the server and cannot be changed"
                        )));
                    }
                }
            }
            json_patch::merge(doc, body);
            Ok(())
        }
        PatchKind::JsonPatch => {
            let patch: json_patch::Patch =
                serde_json::from_value(body.clone()).map_err(|error| {
                    Error::invalid_body(format!("not a JSON Patch (RFC 6902) document: {error}"))
                })?;
            for operation in &patch.0 {
                let path = operation.path().to_string();
                let top = path.split('/').nth(1).unwrap_or_default();
                let is_test = matches!(operation, json_patch::PatchOperation::Test(_));
                if !is_test && owned.contains(&top) {
                    return Err(Error::bad_request(format!(
                        "'{top}' is set by the server and cannot be changed"
                    )));
                }
                if let json_patch::PatchOperation::Move(movement) = operation {
                    let from = movement.from.to_string();
                    let from_top = from.split('/').nth(1).unwrap_or_default();
                    if owned.contains(&from_top) {
                        return Err(Error::bad_request(format!(
                            "'{from_top}' is set by the server and cannot be moved"
                        )));
                    }
                }
            }
            json_patch::patch(doc, &patch)
                .map_err(|error| Error::invalid_body(format!("the JSON Patch failed: {error}")))
        }
    }
}
