//! The first step of fulfilment (docs/wire-choices.md, "Fulfilment"): an order a client
//! posted, just acknowledged, is checked against the catalog, the parties and the
//! inventory, and moves to `rejected` with the reasons in a note, or to `inProgress`
//! (`problems_of`, for the three kinds).
//!
//! A product order is checked per item: `add` names a productOffering that exists and is Launched or
//! Active; `modify` and `delete` name a product in the inventory (TMF637); characteristic
//! values (`product.productCharacteristic`) are ones the product specification declares,
//! of its `valueType`, and one of its listed values when it lists any. Checked per order:
//! each `relatedParty` of type Individual or Organization (or untyped) exists in TMF632.
//! A POST is always answered 201 first; the verdict follows as a state change
//! (`fulfilment::product`).
//!
//! What is only missing is told apart (`Verdict::missing`): an `add` item without a value
//! for a characteristic its specification declares mandatory (`minCardinality` >= 1) and
//! gives no default for. An order whose only problems are those waits `pending` for the
//! client to supply them (TMF622 `productOrderInformationRequiredEvent`, `information`).

use serde_json::Value;
use switchboard_apis::catalog::Entity;
use switchboard_apis::ordering::states::ItemAction;
use switchboard_apis::{text, tmf632, tmf633, tmf634, tmf637, tmf638, tmf639};
use switchboard_engine::{Engine, Result};

use crate::kind::Kind;
use crate::plan::Catalog;

/// What is wrong with a new order of `kind`: (the item, when it is about one, the
/// reason). Empty when the order can go ahead. A product order's missing values count
/// as problems here (see `product_verdict` for the order that may wait for them).
pub async fn problems_of(
    engine: &Engine,
    kind: Kind,
    order: &Value,
) -> Result<Vec<(Option<String>, String)>> {
    match kind {
        Kind::Product => Ok(product_verdict(engine, order).await?.all_problems()),
        Kind::Service => service_problems(engine, order).await,
        Kind::Resource => resource_problems(engine, order).await,
    }
}

/// A value an `add` item lacks: a characteristic its product specification declares
/// mandatory and gives no default for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub item: String,
    pub characteristic: String,
}

impl Missing {
    /// Where the value goes in the order, as a TMF630 JSONPath (filters by `id` and
    /// `name`, single-quoted): `productOrderItem[?(@.id=='1')].product.productCharacteristic[?(@.name=='speed')]`.
    pub fn field_path(&self) -> String {
        format!(
            "productOrderItem[?(@.id=='{}')].product.productCharacteristic[?(@.name=='{}')]",
            quoted(&self.item),
            quoted(&self.characteristic)
        )
    }

    /// What the note says of it.
    pub fn describe(&self) -> String {
        format!(
            "characteristic '{}' is mandatory and has no value",
            self.characteristic
        )
    }
}

/// A name inside a single-quoted JSONPath string: `\` and `'` escaped.
fn quoted(name: &str) -> String {
    name.replace('\\', "\\\\").replace('\'', "\\'")
}

/// What the checks of a product order found: problems that reject it, and values it
/// only lacks.
#[derive(Debug, Default)]
pub struct Verdict {
    /// (the item, when it is about one, the reason).
    pub problems: Vec<(Option<String>, String)>,
    pub missing: Vec<Missing>,
}

impl Verdict {
    /// Whether the order waits for the client: something is missing and nothing wrong.
    pub fn information_required(&self) -> bool {
        self.problems.is_empty() && !self.missing.is_empty()
    }

    /// Every problem, missing values included (what a rejection lists).
    pub fn all_problems(self) -> Vec<(Option<String>, String)> {
        let mut problems = self.problems;
        problems.extend(
            self.missing
                .iter()
                .map(|missing| (Some(missing.item.clone()), missing.describe())),
        );
        problems
    }
}

/// What the checks of a product order find.
pub async fn product_verdict(engine: &Engine, order: &Value) -> Result<Verdict> {
    let mut verdict = Verdict::default();
    for item in items(order, Kind::Product.order().items) {
        let item_id = text(item, "id");
        let checked = check_item(engine, item).await?;
        for problem in checked.problems {
            verdict.problems.push((Some(item_id.clone()), problem));
        }
        for characteristic in checked.missing {
            verdict.missing.push(Missing {
                item: item_id.clone(),
                characteristic,
            });
        }
    }
    for party in order
        .get("relatedParty")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(problem) = check_party(engine, party).await? {
            verdict.problems.push((None, problem));
        }
    }
    Ok(verdict)
}

/// The items of an order as posted (`attribute`: "productOrderItem", …).
fn items<'a>(order: &'a Value, attribute: &str) -> impl Iterator<Item = &'a Value> {
    order
        .get(attribute)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// What the checks of one product order item found.
#[derive(Debug, Default)]
struct ItemCheck {
    problems: Vec<String>,
    /// The names of the mandatory characteristics it has no value for.
    missing: Vec<String>,
}

async fn check_item(engine: &Engine, item: &Value) -> Result<ItemCheck> {
    let action = text(item, "action");
    let mut problems = Vec::new();
    let product = item.get("product");
    let mut specification_id = product
        .and_then(|product| product.get("productSpecification"))
        .and_then(|spec| spec.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    match action.as_str() {
        "add" => {
            let Some(offering_id) = item
                .get("productOffering")
                .and_then(|offering| offering.get("id"))
                .and_then(Value::as_str)
            else {
                problems.push("an 'add' item names no productOffering".to_string());
                return Ok(ItemCheck {
                    problems,
                    missing: Vec::new(),
                });
            };
            // Read through the chain's catalog (each version parsed once), as the
            // product step reads it next.
            let Ok(offering) = Catalog::new(engine)
                .read_shared(Entity::ProductOffering, offering_id)
                .await?
            else {
                problems.push(format!("productOffering '{offering_id}' does not exist"));
                return Ok(ItemCheck {
                    problems,
                    missing: Vec::new(),
                });
            };
            let status = text(&offering, "lifecycleStatus");
            if !["Launched", "Active"]
                .iter()
                .any(|ok| ok.eq_ignore_ascii_case(&status))
            {
                problems.push(format!(
                    "productOffering '{offering_id}' is {}: only a Launched or Active offering can be ordered",
                    if status.is_empty() { "without a lifecycleStatus" } else { &status }
                ));
            }
            if specification_id.is_none() {
                specification_id = offering
                    .get("productSpecification")
                    .and_then(|spec| spec.get("id"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
        }
        "modify" | "delete" => {
            let Some(product_id) = product
                .and_then(|product| product.get("id"))
                .and_then(Value::as_str)
            else {
                problems.push(format!("a '{action}' item names no product (product.id)"));
                return Ok(ItemCheck {
                    problems,
                    missing: Vec::new(),
                });
            };
            let Some(held) = engine.document(tmf637::CODE, "product", product_id).await? else {
                problems.push(format!("product '{product_id}' is not in the inventory"));
                return Ok(ItemCheck {
                    problems,
                    missing: Vec::new(),
                });
            };
            if specification_id.is_none() {
                specification_id = held
                    .get("productSpecification")
                    .and_then(|spec| spec.get("id"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
        }
        "noChange" => {}
        other => problems.push(format!(
            "action '{other}' is not add, modify, delete or noChange"
        )),
    }
    let characteristics: Vec<&Value> = product
        .and_then(|product| product.get("productCharacteristic"))
        .and_then(Value::as_array)
        .map(|list| list.iter().collect())
        .unwrap_or_default();
    // An `add` is checked for mandatory values even when it gives none.
    let add = action == "add";
    let mut checked = ItemCheck {
        problems,
        missing: Vec::new(),
    };
    if characteristics.is_empty() && !add {
        return Ok(checked);
    }
    let Some(specification_id) = specification_id else {
        if !characteristics.is_empty() {
            checked.problems.push(
                "characteristics are given but no product specification is known".to_string(),
            );
        }
        return Ok(checked);
    };
    let Ok(specification) = Catalog::new(engine)
        .read_shared(Entity::ProductSpecification, &specification_id)
        .await?
    else {
        if !characteristics.is_empty() {
            checked.problems.push(format!(
                "productSpecification '{specification_id}' does not exist"
            ));
        }
        return Ok(checked);
    };
    if add {
        checked.missing = missing_mandatory(&specification, &characteristics);
    }
    for characteristic in characteristics {
        if checked.missing.contains(&text(characteristic, "name")) {
            continue; // listed without a value: missing, not wrong
        }
        if let Some(problem) = check_characteristic(&specification, characteristic) {
            checked.problems.push(problem);
        }
    }
    Ok(checked)
}

/// The mandatory characteristics of `specification` (`minCardinality` >= 1) with no
/// default value (`isDefault`) that `given` has no value for (absent, or `null`).
fn missing_mandatory(specification: &Value, given: &[&Value]) -> Vec<String> {
    specification
        .get("productSpecCharacteristic")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|declared| is_mandatory(declared) && !has_default(declared))
        .map(|declared| text(declared, "name"))
        .filter(|name| !name.is_empty())
        .filter(|name| {
            !given.iter().any(|characteristic| {
                text(characteristic, "name") == *name
                    && characteristic
                        .get("value")
                        .is_some_and(|value| !value.is_null())
            })
        })
        .collect()
}

/// Whether a declared characteristic must have a value (`minCardinality` >= 1).
fn is_mandatory(declared: &Value) -> bool {
    declared
        .get("minCardinality")
        .and_then(Value::as_f64)
        .is_some_and(|minimum| minimum >= 1.0)
}

/// Whether a declared characteristic lists a default value (`isDefault`).
fn has_default(declared: &Value) -> bool {
    declared
        .get("productSpecCharacteristicValue")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|value| {
            value.get("isDefault") == Some(&Value::Bool(true)) && value.get("value").is_some()
        })
}

/// Whether one characteristic value fits the specification's declaration of it.
fn check_characteristic(specification: &Value, characteristic: &Value) -> Option<String> {
    let name = text(characteristic, "name");
    let declared = specification
        .get("productSpecCharacteristic")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|declared| text(declared, "name") == name);
    let Some(declared) = declared else {
        return Some(format!(
            "characteristic '{name}' is not declared by productSpecification '{}'",
            text(specification, "id")
        ));
    };
    let value = characteristic.get("value").unwrap_or(&Value::Null);
    let value_type = text(declared, "valueType");
    let fits = match value_type.to_ascii_lowercase().as_str() {
        "" => true,
        "string" => value.is_string(),
        "number" | "float" | "decimal" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        _ => true,
    };
    if !fits {
        return Some(format!(
            "characteristic '{name}' must be a {value_type}, not {value}"
        ));
    }
    let allowed: Vec<&Value> = declared
        .get("productSpecCharacteristicValue")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|allowed| allowed.get("value"))
        .collect();
    if !allowed.is_empty() && !allowed.contains(&value) {
        let listed: Vec<String> = allowed.iter().map(|value| value.to_string()).collect();
        return Some(format!(
            "characteristic '{name}' = {value} is not one of {}",
            listed.join(", ")
        ));
    }
    None
}

async fn check_party(engine: &Engine, party: &Value) -> Result<Option<String>> {
    let Some(id) = party.get("id").and_then(Value::as_str) else {
        return Ok(None);
    };
    let referred = text(party, "@referredType");
    let collections: &[&str] = match referred.as_str() {
        "Individual" => &["individual"],
        "Organization" => &["organization"],
        "" => &["individual", "organization"],
        _ => return Ok(None), // a party of another kind (a role, a channel) is not ours to check
    };
    for collection in collections {
        if engine
            .document(tmf632::CODE, collection, id)
            .await?
            .is_some()
        {
            return Ok(None);
        }
    }
    Ok(Some(format!(
        "relatedParty '{id}'{} does not exist",
        if referred.is_empty() {
            String::new()
        } else {
            format!(" ({referred})")
        }
    )))
}

/// A service order's problems: an `add` names a service specification in TMF633, a
/// `modify`/`delete` a service in TMF638.
async fn service_problems(engine: &Engine, order: &Value) -> Result<Vec<(Option<String>, String)>> {
    let mut problems = Vec::new();
    for item in items(order, Kind::Service.order().items) {
        let service = item.get("service");
        let spec = service
            .and_then(|s| s.get("serviceSpecification"))
            .map(|spec| text(spec, "id"))
            .unwrap_or_default();
        let target = service.map(|s| text(s, "id")).unwrap_or_default();
        let add = (
            (tmf633::CODE, "serviceSpecification"),
            spec,
            "service.serviceSpecification",
        );
        let target = ((tmf638::CODE, "service"), target, "service (service.id)");
        if let Some(problem) = item_problem(engine, item, add, target).await? {
            problems.push((Some(text(item, "id")), problem));
        }
    }
    Ok(problems)
}

/// A resource order's problems: an `add` names a resource specification in TMF634, a
/// `modify`/`delete` a resource in TMF639.
async fn resource_problems(
    engine: &Engine,
    order: &Value,
) -> Result<Vec<(Option<String>, String)>> {
    let mut problems = Vec::new();
    for item in items(order, Kind::Resource.order().items) {
        let add = (
            (tmf634::CODE, "resourceSpecification"),
            specification_of(item),
            "resourceSpecification",
        );
        let target = (
            (tmf639::CODE, "resource"),
            target_of(item),
            "resource (resource.id)",
        );
        if let Some(problem) = item_problem(engine, item, add, target).await? {
            problems.push((Some(text(item, "id")), problem));
        }
    }
    Ok(problems)
}

/// The resource specification a resource order item names.
pub fn specification_of(item: &Value) -> String {
    item.get("resourceSpecification")
        .or_else(|| {
            item.get("resource")
                .and_then(|r| r.get("resourceSpecification"))
        })
        .map(|spec| text(spec, "id"))
        .unwrap_or_default()
}

/// The inventory resource a resource order item names.
pub fn target_of(item: &Value) -> String {
    item.get("resource")
        .map(|r| text(r, "id"))
        .unwrap_or_default()
}

/// What is wrong with one item of an order a client posted, if anything: an `add`
/// needs `add` (a specification, as (id, what it is)) to exist in `catalog`; a `modify`
/// or `delete` needs its `target` (id, what it is) in `inventory`.
async fn item_problem(
    engine: &Engine,
    item: &Value,
    add: ((&str, &str), String, &str),
    target: ((&str, &str), String, &str),
) -> Result<Option<String>> {
    let action = text(item, "action");
    let ((api, collection), id, what) = match ItemAction::of(item) {
        Some(ItemAction::Add) => add,
        Some(ItemAction::Modify | ItemAction::Delete) => target,
        Some(ItemAction::NoChange) => return Ok(None),
        None => {
            return Ok(Some(format!(
                "action '{action}' is not add, modify, delete or noChange"
            )))
        }
    };
    if id.is_empty() {
        let article = if action == "add" { "an" } else { "a" };
        return Ok(Some(format!("{article} '{action}' item names no {what}")));
    }
    if engine.document(api, collection, &id).await?.is_none() {
        return Ok(Some(if action == "add" {
            format!("{collection} '{id}' does not exist")
        } else {
            format!("{collection} '{id}' is not in the inventory")
        }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::Missing;

    #[test]
    fn a_field_path_filters_by_item_id_and_characteristic_name_quoted() {
        let missing = Missing {
            item: "1".to_string(),
            characteristic: r"it's a\b".to_string(),
        };
        assert_eq!(
            missing.field_path(),
            r"productOrderItem[?(@.id=='1')].product.productCharacteristic[?(@.name=='it\'s a\\b')]"
        );
    }
}
