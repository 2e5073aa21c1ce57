//! Which service level objectives apply to a service instance: those of the service
//! level specifications its TMF633 specification lists (`serviceLevelSpecification[]`,
//! bound at design time), and those whose parameter's `relatedEntity` names the service
//! itself. Read in the transaction of the write that asks (a measurement's).

use serde_json::Value;
use switchboard_engine::{Result, Scope};

use super::objective::Objective;
use super::CODE;

/// The ids of the references an attribute of `doc` holds (an object or an array).
fn ids(doc: &Value, attribute: &str) -> Vec<String> {
    let entries: Vec<&Value> = match doc.get(attribute) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    };
    entries
        .into_iter()
        .filter_map(|entry| entry.get("id").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

/// The objectives in scope of `service`, each once; none for a service that does not
/// exist (the measurement's reference check refuses it).
pub async fn objectives_of(scope: &mut Scope, service: &str) -> Result<Vec<Objective>> {
    let Some(instance) = scope.document("TMF638", "service", service).await? else {
        return Ok(Vec::new());
    };
    let mut wanted: Vec<String> = Vec::new();
    for specification in ids(&instance, "serviceSpecification") {
        let Some(specification) = scope
            .document("TMF633", "serviceSpecification", &specification)
            .await?
        else {
            continue;
        };
        for level in ids(&specification, "serviceLevelSpecification") {
            if let Some(level) = scope
                .document(CODE, "serviceLevelSpecification", &level)
                .await?
            {
                wanted.extend(ids(&level, "relatedServiceLevelObjective"));
            }
        }
    }
    let mut objectives = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for id in wanted {
        if !seen.insert(id.clone()) {
            continue;
        }
        if let Some(doc) = scope.document(CODE, "serviceLevelObjective", &id).await? {
            readable(&doc, &mut objectives);
        }
    }
    let engine = scope.engine().clone();
    let at = engine.served(CODE, "serviceLevelObjective")?;
    let query = form_query(&[("serviceLevelObjectiveParameter.relatedEntity.id", service)]);
    let listed = engine.list(at, &format!("{query}&limit=1000")).await?;
    let listed: Vec<Value> = serde_json::from_str(&listed.json).unwrap_or_default();
    for doc in listed {
        let id = doc.get("id").and_then(Value::as_str).unwrap_or_default();
        if !seen.insert(id.to_string()) {
            continue;
        }
        // Named as a service (an entity of another type may share the id).
        let mut named = Vec::new();
        readable(&doc, &mut named);
        objectives.extend(
            named
                .into_iter()
                .filter(|objective| objective.services.iter().any(|id| id == service)),
        );
    }
    Ok(objectives)
}

/// Keeps a stored objective the rules can read (every one stored since they exist).
fn readable(doc: &Value, into: &mut Vec<Objective>) {
    match Objective::read(doc) {
        Ok(objective) if objective.id.is_empty() => {}
        Ok(objective) => into.push(objective),
        Err(error) => tracing::warn!(%error, "a stored service level objective is not evaluated"),
    }
}

/// A query string of `pairs`, each value encoded as a form value.
pub fn form_query(pairs: &[(&str, &str)]) -> String {
    let mut query = String::new();
    for (key, value) in pairs {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(key);
        query.push('=');
        query.extend(value.bytes().map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        }));
    }
    query
}
