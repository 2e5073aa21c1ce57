//! The answers of TMF645: per check item `qualified`, `alternate` (another service
//! qualifies at that place, when asked for alternatives) or `unqualified` (with the
//! reasons, when asked for them), rolled up over the items; for a query, the services
//! that qualify at the place. An answer holds for `VALIDITY`.

use serde_json::{json, Map, Value};
use switchboard_engine::{format_instant, Engine, Error, Result};

use super::feasibility::{Feasibility, Reason};
use super::request::{self, CheckItem, Kind, Target};

/// How long an answer holds (`expirationDate`): capacity is not held for it, so a day
/// is what a requester may plan on before asking again.
pub const VALIDITY: time::Duration = time::Duration::hours(24);

/// The attributes an evaluation sets on the qualification, with `state` `done`.
#[derive(Debug, Clone)]
pub struct Answer(Map<String, Value>);

impl Answer {
    pub fn apply(&self, doc: &mut Value) {
        if let Value::Object(fields) = doc {
            for (key, value) in &self.0 {
                fields.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Refuses (400) a request naming a specification, offering or category the catalog
/// does not hold: the requester asked about something that is not there to qualify.
pub async fn check_references(engine: &Engine, kind: Kind, doc: &Value) -> Result<()> {
    let mut feasibility = Feasibility::new(engine);
    let mut category = None;
    let mut named: Vec<(String, Target)> = Vec::new();
    match kind {
        Kind::Check => {
            for item in request::check_items(doc)? {
                if let Some(id) = &item.category {
                    check_category(&mut feasibility, &item.id, id).await?;
                }
                named.push((
                    format!("serviceQualificationItem '{}'", item.id),
                    item.target,
                ));
            }
        }
        Kind::Query => {
            let query = request::query(doc)?;
            category = query.category;
            if let Some(id) = query.specification {
                named.push(("searchCriteria".into(), Target::Specification(id)));
            }
        }
    }
    if let Some(id) = category {
        check_category(&mut feasibility, "searchCriteria", &id).await?;
    }
    for (at, target) in named {
        let missing = match &target {
            Target::Specification(id) => feasibility
                .document("serviceSpecification", id)
                .await?
                .is_none()
                .then(|| format!("serviceSpecification '{id}' does not exist")),
            Target::Offering(id) => feasibility.offering_services(id).await?.is_none().then(|| {
                format!("productOffering '{id}' (or its productSpecification) does not exist")
            }),
        };
        if let Some(missing) = missing {
            return Err(Error::invalid_body(format!("{at}: {missing}")));
        }
    }
    Ok(())
}

async fn check_category(feasibility: &mut Feasibility<'_>, at: &str, id: &str) -> Result<()> {
    match feasibility.document("serviceCategory", id).await? {
        Some(_) => Ok(()),
        None => Err(Error::invalid_body(format!(
            "{at}: serviceCategory '{id}' does not exist"
        ))),
    }
}

/// Answers the qualification `doc` from the catalog and the pools as they are now.
pub async fn evaluate(engine: &Engine, kind: Kind, doc: &Value) -> Result<Answer> {
    let now = time::OffsetDateTime::now_utc();
    let mut answer = Map::new();
    let expiration = format_instant(now + VALIDITY);
    let mut feasibility = Feasibility::new(engine);
    match kind {
        Kind::Check => {
            let (items, overall) = check(&mut feasibility, doc, &expiration).await?;
            answer.insert("serviceQualificationItem".into(), Value::Array(items));
            answer.insert("qualificationResult".into(), json!(overall));
        }
        Kind::Query => {
            let items = query(&mut feasibility, doc, &expiration).await?;
            answer.insert("serviceQualificationItem".into(), Value::Array(items));
        }
    }
    answer.insert("state".into(), json!("done"));
    answer.insert(
        "effectiveQualificationDate".into(),
        json!(format_instant(now)),
    );
    answer.insert("expirationDate".into(), json!(expiration));
    Ok(Answer(answer))
}

/// Ends a qualification that could not be evaluated, saying why on each item.
pub fn terminate(doc: &mut Value, message: &str) {
    doc["state"] = json!("terminatedWithError");
    if let Some(Value::Array(items)) = doc.get_mut("serviceQualificationItem") {
        for item in items {
            item["state"] = json!("terminatedWithError");
            item["terminationError"] = json!([{"value": message}]);
        }
    }
}

/// Each item's answer, and the overall one: unqualified if any item is, else alternate
/// if any item is, else qualified.
async fn check(
    feasibility: &mut Feasibility<'_>,
    doc: &Value,
    expiration: &str,
) -> Result<(Vec<Value>, &'static str)> {
    let alternatives = request::flag(doc, "provideAlternative");
    let explain = request::flag(doc, "provideUnavailabilityReason");
    let asked = request::list(doc, "serviceQualificationItem");
    let mut items = Vec::with_capacity(asked.len());
    let mut overall = "qualified";
    for (item, stated) in request::check_items(doc)?.into_iter().zip(asked) {
        let mut answered = stated.clone();
        let reasons = match assess_item(feasibility, &item).await? {
            Ok(()) => Vec::new(),
            Err(reasons) => reasons,
        };
        let proposals = match (&item.target, reasons.is_empty() || !alternatives) {
            (Target::Specification(id), false) => {
                propose(feasibility, &item, id, place_of(stated)).await?
            }
            _ => Vec::new(),
        };
        let result = match (reasons.is_empty(), proposals.is_empty()) {
            (true, _) => "qualified",
            (false, false) => "alternate",
            (false, true) => "unqualified",
        };
        overall = match (overall, result) {
            (_, "unqualified") | ("unqualified", _) => "unqualified",
            (_, "alternate") | ("alternate", _) => "alternate",
            _ => "qualified",
        };
        answered["qualificationResult"] = json!(result);
        answered["state"] = json!("done");
        if result != "unqualified" {
            answered["expirationDate"] = json!(expiration);
        }
        if explain && !reasons.is_empty() {
            answered["eligibilityUnavailabilityReason"] = reasons_json(&reasons);
        }
        if !proposals.is_empty() {
            answered["alternateServiceProposal"] = Value::Array(proposals);
        }
        items.push(answered);
    }
    Ok((items, overall))
}

/// An item qualifies when every service it names does (one, or an offering's CFSs).
async fn assess_item(
    feasibility: &mut Feasibility<'_>,
    item: &CheckItem,
) -> Result<std::result::Result<(), Vec<Reason>>> {
    let specifications = match &item.target {
        Target::Specification(id) => vec![id.clone()],
        Target::Offering(id) => match feasibility.offering_services(id).await? {
            Some(specifications) => specifications,
            None => {
                return Ok(Err(vec![Reason {
                    code: "specNotFound",
                    label: format!(
                        "productOffering '{id}' (or its productSpecification) does not exist"
                    ),
                }]))
            }
        },
    };
    let mut reasons = Vec::new();
    for specification in specifications {
        if let Err(more) = feasibility.assess(&specification, &item.places).await? {
            reasons.extend(more);
        }
    }
    Ok(if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    })
}

/// The other services that qualify at the item's place: those of the item's category,
/// else of the categories offering the requested specification.
async fn propose(
    feasibility: &mut Feasibility<'_>,
    item: &CheckItem,
    requested: &str,
    place: &Value,
) -> Result<Vec<Value>> {
    let categories = match &item.category {
        Some(category) => vec![category.clone()],
        None => feasibility.categories_of(requested).await?,
    };
    let mut siblings: Vec<String> = Vec::new();
    for category in categories {
        for id in feasibility
            .category_services(&category)
            .await?
            .unwrap_or_default()
        {
            if id != requested && !siblings.contains(&id) {
                siblings.push(id);
            }
        }
    }
    let mut proposals = Vec::new();
    let now = switchboard_engine::now_rfc3339();
    for id in siblings {
        if feasibility.assess(&id, &item.places).await?.is_ok() {
            let service = service_at(feasibility, &id, place).await?;
            proposals.push(json!({
                "id": (proposals.len() + 1).to_string(),
                "alternateService": service,
                "alternateServiceAvailabilityDate": now,
            }));
        }
    }
    Ok(proposals)
}

/// The services that qualify at the query's place.
async fn query(
    feasibility: &mut Feasibility<'_>,
    doc: &Value,
    expiration: &str,
) -> Result<Vec<Value>> {
    let criteria = request::query(doc)?;
    let place = doc
        .get("searchCriteria")
        .map(place_of)
        .unwrap_or(&Value::Null);
    let candidates = match (&criteria.specification, &criteria.category) {
        (Some(id), _) => vec![id.clone()],
        (None, Some(category)) => feasibility
            .category_services(category)
            .await?
            .unwrap_or_default(),
        (None, None) => feasibility.orderable_services().await?,
    };
    let mut items = Vec::new();
    for id in candidates {
        if feasibility.assess(&id, &criteria.places).await?.is_err() {
            continue;
        }
        let mut item = json!({
            "id": (items.len() + 1).to_string(),
            "service": service_at(feasibility, &id, place).await?,
            "expirationDate": expiration,
        });
        if let Some(category) = &criteria.category {
            item["category"] = json!({"id": category});
        }
        items.push(item);
    }
    Ok(items)
}

/// A service of specification `id` at the `place` list the request gave, as an answer
/// proposes it.
async fn service_at(feasibility: &mut Feasibility<'_>, id: &str, place: &Value) -> Result<Value> {
    let doc = feasibility
        .document("serviceSpecification", id)
        .await?
        .unwrap_or(Value::Null);
    let mut specification = json!({"id": id, "@referredType": "ServiceSpecification"});
    for key in ["href", "name", "version"] {
        if let Some(value) = doc.get(key) {
            specification[key] = value.clone();
        }
    }
    Ok(json!({"serviceSpecification": specification, "place": place}))
}

/// The `service.place` list of an item or of the search criteria.
fn place_of(item: &Value) -> &Value {
    item.get("service")
        .and_then(|service| service.get("place"))
        .unwrap_or(&Value::Null)
}

fn reasons_json(reasons: &[Reason]) -> Value {
    reasons
        .iter()
        .map(|reason| json!({"code": reason.code, "label": reason.label}))
        .collect()
}
