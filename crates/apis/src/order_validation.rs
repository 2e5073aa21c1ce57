//! The first step of fulfilment (DESIGN.md "The chain", step 1): a product order just
//! acknowledged is checked against the catalog, the parties and the inventory, and moves
//! to `rejected` with the reasons in a note, or to `inProgress`.
//!
//! Checked per item: `add` names a productOffering that exists and is Launched or
//! Active; `modify` and `delete` name a product in the inventory (TMF637); characteristic
//! values (`product.productCharacteristic`) are ones the product specification declares,
//! of its `valueType`, and one of its listed values when it lists any. Checked per order:
//! each `relatedParty` of type Individual or Organization (or untyped) exists in TMF632.
//! A POST is always answered 201 first; the verdict follows as a state change.

use std::sync::Arc;

use serde_json::{json, Value};
use switchboard_engine::{Engine, JobFuture, JobHandler, Result};

use crate::steps::{payload_id, settle};
use crate::text;

pub const QUEUE: &str = "tmf622.validateProductOrder";
const ORDER_API: &str = crate::tmf622::CODE;
const CATALOG: &str = crate::tmf620::CODE;

pub fn handler() -> (String, Arc<dyn JobHandler>) {
    (QUEUE.to_string(), Arc::new(Validate))
}

struct Validate;

impl JobHandler for Validate {
    fn run<'a>(&'a self, engine: &'a Engine, payload: &'a Value) -> JobFuture<'a> {
        Box::pin(async move { settle(validate(engine, payload_id(payload)).await) })
    }
}

async fn validate(engine: &Engine, id: &str) -> Result<()> {
    let Some(order) = engine.document(ORDER_API, "productOrder", id).await? else {
        return Ok(());
    };
    if text(&order, "state") != "acknowledged" {
        return Ok(()); // decided already (a second run after a crash), or cancelled
    }
    let mut problems: Vec<(Option<String>, String)> = Vec::new();
    for item in items(&order) {
        let item_id = text(item, "id");
        for problem in check_item(engine, item).await? {
            problems.push((Some(item_id.clone()), problem));
        }
    }
    for party in order
        .get("relatedParty")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(problem) = check_party(engine, party).await? {
            problems.push((None, problem));
        }
    }
    let at = engine.served(ORDER_API, "productOrder")?;
    let now = switchboard_engine::now_rfc3339();
    engine
        .update_internal(at, id, |order| {
            if text(order, "state") != "acknowledged" {
                return Ok(());
            }
            if problems.is_empty() {
                order["state"] = json!("inProgress");
                set_items(order, |_| Some("inProgress"));
                return Ok(());
            }
            order["state"] = json!("rejected");
            let failing: Vec<&str> = problems
                .iter()
                .filter_map(|(item, _)| item.as_deref())
                .collect();
            set_items(order, |item| {
                Some(if failing.contains(&item) {
                    "rejected"
                } else {
                    "cancelled"
                })
            });
            let notes = order
                .as_object_mut()
                .map(|order| order.entry("note").or_insert_with(|| json!([])));
            if let Some(Value::Array(notes)) = notes {
                for (item, problem) in &problems {
                    let text = match item {
                        Some(item) => format!("rejected: item {item}: {problem}"),
                        None => format!("rejected: {problem}"),
                    };
                    notes.push(json!({"author": "Switchboard", "date": now, "text": text}));
                }
            }
            Ok(())
        })
        .await?;
    Ok(())
}

fn items(order: &Value) -> impl Iterator<Item = &Value> {
    order
        .get("productOrderItem")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Sets each top-level item's state to what `state` says for its id.
fn set_items<'a>(order: &mut Value, state: impl Fn(&str) -> Option<&'a str>) {
    if let Some(Value::Array(items)) = order.get_mut("productOrderItem") {
        for item in items {
            let id = text(item, "id");
            if let Some(state) = state(&id) {
                item["state"] = json!(state);
            }
        }
    }
}

async fn check_item(engine: &Engine, item: &Value) -> Result<Vec<String>> {
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
                return Ok(problems);
            };
            let Some(offering) = engine
                .document(CATALOG, "productOffering", offering_id)
                .await?
            else {
                problems.push(format!("productOffering '{offering_id}' does not exist"));
                return Ok(problems);
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
                return Ok(problems);
            };
            let Some(held) = engine
                .document(crate::tmf637::CODE, "product", product_id)
                .await?
            else {
                problems.push(format!("product '{product_id}' is not in the inventory"));
                return Ok(problems);
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
    if characteristics.is_empty() {
        return Ok(problems);
    }
    let Some(specification_id) = specification_id else {
        problems
            .push("characteristics are given but no product specification is known".to_string());
        return Ok(problems);
    };
    let Some(specification) = engine
        .document(CATALOG, "productSpecification", &specification_id)
        .await?
    else {
        problems.push(format!(
            "productSpecification '{specification_id}' does not exist"
        ));
        return Ok(problems);
    };
    for characteristic in characteristics {
        if let Some(problem) = check_characteristic(&specification, characteristic) {
            problems.push(problem);
        }
    }
    Ok(problems)
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
            .document(crate::tmf632::CODE, collection, id)
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
