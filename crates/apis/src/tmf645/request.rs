//! What a qualification asks, read from its document with no store access: the items of
//! a check (what service, where), the criteria of a query, the flags; a malformed
//! request is refused here with a 400 naming the item and the field.

use serde_json::{json, Value};
use switchboard_engine::{Error, Result};

use crate::doc::text;

/// The two resources of TMF645.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `checkServiceQualification`: can these services be delivered as described?
    Check,
    /// `queryServiceQualification`: which services can be delivered in this context?
    Query,
}

impl Kind {
    pub fn collection(self) -> &'static str {
        match self {
            Kind::Check => "checkServiceQualification",
            Kind::Query => "queryServiceQualification",
        }
    }

    /// The queue of the job that answers a request not asked to be answered at once.
    pub fn queue(self) -> &'static str {
        match self {
            Kind::Check => "tmf645.checkServiceQualification",
            Kind::Query => "tmf645.queryServiceQualification",
        }
    }

    /// What a request states and a PATCH may not change: the question, as opposed to
    /// the answer the server writes.
    pub fn question(self, doc: &Value) -> Value {
        match self {
            Kind::Check => {
                let items: Vec<Value> = list(doc, "serviceQualificationItem")
                    .iter()
                    .map(|item| {
                        let mut item = (*item).clone();
                        if let Some(fields) = item.as_object_mut() {
                            for field in ITEM_RESULTS {
                                fields.remove(*field);
                            }
                        }
                        item
                    })
                    .collect();
                json!([
                    items,
                    doc.get("provideAlternative"),
                    doc.get("provideUnavailabilityReason")
                ])
            }
            Kind::Query => doc.get("searchCriteria").cloned().unwrap_or(Value::Null),
        }
    }
}

/// The attributes of a check item that the server writes.
pub const ITEM_RESULTS: &[&str] = &[
    "qualificationResult",
    "state",
    "expirationDate",
    "eligibilityUnavailabilityReason",
    "alternateServiceProposal",
    "terminationError",
];

/// What one check item asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `service.serviceSpecification.id`: a TMF633 service specification.
    Specification(String),
    /// `productOffering.id` (ours): the CFSs of the offering's product specification.
    Offering(String),
}

/// One check item as the evaluation reads it.
#[derive(Debug, Clone)]
pub struct CheckItem {
    pub id: String,
    pub target: Target,
    /// The ids of `service.place[]`.
    pub places: Vec<String>,
    /// `category.id`, where alternates are looked for first.
    pub category: Option<String>,
}

/// The criteria of a query.
#[derive(Debug, Clone)]
pub struct Query {
    pub places: Vec<String>,
    pub specification: Option<String>,
    pub category: Option<String>,
}

/// The entries of a list attribute (none when absent or not a list).
pub fn list<'a>(doc: &'a Value, key: &str) -> Vec<&'a Value> {
    match doc.get(key) {
        Some(Value::Array(entries)) => entries.iter().collect(),
        _ => Vec::new(),
    }
}

/// A boolean flag of the request; absent is false.
pub fn flag(doc: &Value, key: &str) -> bool {
    doc.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The `id` inside the object at `key`, if any.
fn ref_id(doc: &Value, key: &str) -> Option<String> {
    doc.get(key)
        .map(|entry| text(entry, "id"))
        .filter(|id| !id.is_empty())
}

/// Gives every check item without an `id` its position (from 1), so that each answer
/// names its item, and refuses an id given twice.
pub fn number_items(doc: &mut Value) -> Result<()> {
    let Some(Value::Array(items)) = doc.get_mut("serviceQualificationItem") else {
        return Ok(());
    };
    let mut seen: Vec<String> = Vec::new();
    for (index, item) in items.iter_mut().enumerate() {
        let Some(fields) = item.as_object_mut() else {
            continue;
        };
        for field in ITEM_RESULTS {
            fields.remove(*field);
        }
        let id = match fields.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => (index + 1).to_string(),
        };
        if seen.contains(&id) {
            return Err(Error::invalid_body(format!(
                "serviceQualificationItem '{id}' is given twice; item ids are unique in a request"
            )));
        }
        fields.insert("id".into(), Value::String(id.clone()));
        seen.push(id);
    }
    Ok(())
}

/// The items of a check, each naming a service and at least one place.
pub fn check_items(doc: &Value) -> Result<Vec<CheckItem>> {
    let items = list(doc, "serviceQualificationItem");
    if items.is_empty() {
        return Err(Error::invalid_body(
            "'serviceQualificationItem' lists the services to qualify (at least one)",
        ));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| check_item(index, item))
        .collect()
}

fn check_item(index: usize, item: &Value) -> Result<CheckItem> {
    let id = match text(item, "id") {
        id if id.is_empty() => (index + 1).to_string(),
        id => id,
    };
    let malformed =
        |what: &str| Error::invalid_body(format!("serviceQualificationItem '{id}': {what}"));
    let service = match item.get("service") {
        Some(service @ Value::Object(_)) => Some(service),
        None => None,
        Some(_) => return Err(malformed("'service' must be an object")),
    };
    let specification = service.and_then(|service| ref_id(service, "serviceSpecification"));
    let target = match (specification, ref_id(item, "productOffering")) {
        (Some(id), _) => Target::Specification(id),
        (None, Some(id)) => Target::Offering(id),
        (None, None) => {
            return Err(malformed(
                "name the service in 'service.serviceSpecification.id' (or an offering in \
                 'productOffering.id')",
            ))
        }
    };
    let places = service
        .map(places_of)
        .transpose()
        .map_err(|what| malformed(&what))?;
    let places = places.unwrap_or_default();
    if places.is_empty() {
        return Err(malformed(
            "'service.place' must name the place to qualify at, by 'id'",
        ));
    }
    Ok(CheckItem {
        id,
        target,
        places,
        category: ref_id(item, "category"),
    })
}

/// The place ids of a service: every entry of `place` must carry one (places are matched
/// to pools by id).
fn places_of(service: &Value) -> std::result::Result<Vec<String>, String> {
    let mut places = Vec::new();
    for (index, place) in list(service, "place").into_iter().enumerate() {
        let id = text(place, "id");
        if id.is_empty() {
            return Err(format!("'service.place[{index}]' names no place 'id'"));
        }
        places.push(id);
    }
    Ok(places)
}

/// The criteria of a query: a place is mandatory, a specification and a category narrow.
pub fn query(doc: &Value) -> Result<Query> {
    let Some(criteria @ Value::Object(_)) = doc.get("searchCriteria") else {
        return Err(Error::invalid_body(
            "'searchCriteria' must say where to look ('searchCriteria.service.place')",
        ));
    };
    let service = criteria.get("service");
    let places = match service {
        Some(service) => places_of(service)
            .map_err(|what| Error::invalid_body(format!("searchCriteria: {what}")))?,
        None => Vec::new(),
    };
    if places.is_empty() {
        return Err(Error::invalid_body(
            "searchCriteria: 'service.place' must name the place to qualify at, by 'id'",
        ));
    }
    Ok(Query {
        places,
        specification: service.and_then(|service| ref_id(service, "serviceSpecification")),
        category: ref_id(criteria, "category"),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_item_without_a_place_or_a_service_is_refused_by_name() {
        let no_place = json!({"serviceQualificationItem": [
            {"id": "a", "service": {"serviceSpecification": {"id": "s"}}}
        ]});
        let error = check_items(&no_place).unwrap_err();
        assert!(error.message.contains("'a'") && error.message.contains("place"));
        let no_service = json!({"serviceQualificationItem": [{"id": "b"}]});
        assert!(check_items(&no_service)
            .unwrap_err()
            .message
            .contains("'b'"));
    }

    #[test]
    fn items_are_numbered_and_their_results_dropped() {
        let mut doc = json!({"serviceQualificationItem": [
            {"qualificationResult": "qualified"}, {"id": "1"}
        ]});
        assert!(number_items(&mut doc).is_err(), "the first takes id 1");
        let mut doc = json!({"serviceQualificationItem": [{"qualificationResult": "x"}, {}]});
        number_items(&mut doc).unwrap();
        assert_eq!(
            doc["serviceQualificationItem"],
            json!([{"id": "1"}, {"id": "2"}])
        );
    }
}
