//! The first step of fulfilment (DESIGN.md "The chain", step 1): a product order just
//! acknowledged is checked against the catalog, the parties and the inventory, and moves
//! to `rejected` with the reasons in a note, or to `inProgress`.
//!
//! Checked per item: `add` names a productOffering that exists and is Launched or
//! Active; `modify` and `delete` name a product in the inventory (TMF637); characteristic
//! values (`product.productCharacteristic`) are ones the product specification declares,
//! of its `valueType`, and one of its listed values when it lists any. Checked per order:
//! each `relatedParty` of type Individual or Organization (or untyped) exists in TMF632.
//! A POST is always answered 201 first; the verdict follows as a state change
//! (`fulfilment::product`).

use serde_json::Value;
use switchboard_engine::{Engine, Result};

use crate::text;

const CATALOG: &str = crate::tmf620::CODE;

/// What is wrong with a product order: (the item, when it is about one, the reason).
/// Empty when the order can go ahead.
pub async fn problems(engine: &Engine, order: &Value) -> Result<Vec<(Option<String>, String)>> {
    let mut problems: Vec<(Option<String>, String)> = Vec::new();
    for item in items(order) {
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
    Ok(problems)
}

fn items(order: &Value) -> impl Iterator<Item = &Value> {
    order
        .get("productOrderItem")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
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
