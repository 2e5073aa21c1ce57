//! Reading plain attributes of a stored document, below every API module.

/// A string attribute of a document, or "" when it is absent or not a string.
pub fn text(doc: &serde_json::Value, key: &str) -> String {
    doc.get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string()
}
