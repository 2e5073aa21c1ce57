//! What a product order item is about: the product's specification, offering and
//! characteristic values (from the catalog for an `add`, from the inventory for a
//! `modify` or `delete`), and the context the services of the item take values from.

use serde_json::Value;
use switchboard_apis::catalog_rules::Entity;
use switchboard_apis::ordering::parents::{product_order_item_of, product_order_of};
use switchboard_apis::{text, tmf622, tmf637};
use switchboard_engine::{Engine, Result};

use crate::orders::items;
use crate::plan::{self, Catalog, Context, Values};

/// What the product of an item is: its specification and characteristic values.
pub struct ItemProduct {
    pub specification: Option<Value>,
    pub offering: Option<Value>,
    pub values: Values,
    /// The inventory product a modify or delete names.
    pub held: Option<Value>,
}

/// The product an item is about: for `add` from the catalog, for `modify`/`delete` the
/// inventory product with the item's values over its own.
pub async fn item_product(
    engine: &Engine,
    item: &Value,
) -> Result<std::result::Result<ItemProduct, String>> {
    let catalog = Catalog::new(engine);
    let product = item.get("product");
    let given = plan::from_list(product.and_then(|product| product.get("productCharacteristic")));
    let mut spec_id = product
        .and_then(|product| product.get("productSpecification"))
        .map(|spec| text(spec, "id"))
        .filter(|id| !id.is_empty());
    let mut offering = None;
    let mut held = None;
    let mut base = Values::new();
    match text(item, "action").as_str() {
        "add" => {
            let offering_id = item
                .get("productOffering")
                .map(|offering| text(offering, "id"))
                .unwrap_or_default();
            match catalog.read(Entity::ProductOffering, &offering_id).await? {
                Ok(doc) => {
                    if spec_id.is_none() {
                        spec_id = doc
                            .get("productSpecification")
                            .map(|spec| text(spec, "id"))
                            .filter(|id| !id.is_empty());
                    }
                    offering = Some(doc);
                }
                Err(message) => return Ok(Err(message)),
            }
        }
        "modify" | "delete" => {
            let product_id = product
                .map(|product| text(product, "id"))
                .unwrap_or_default();
            let Some(doc) = engine
                .document(tmf637::CODE, "product", &product_id)
                .await?
            else {
                return Ok(Err(format!(
                    "product '{product_id}' is not in the inventory"
                )));
            };
            if spec_id.is_none() {
                spec_id = doc
                    .get("productSpecification")
                    .map(|spec| text(spec, "id"))
                    .filter(|id| !id.is_empty());
            }
            base = plan::from_list(doc.get("productCharacteristic"));
            held = Some(doc);
        }
        _ => {}
    }
    let specification = match spec_id {
        Some(spec_id) => match catalog.read(Entity::ProductSpecification, &spec_id).await? {
            Ok(spec) => Some(spec),
            Err(message) => return Ok(Err(message)),
        },
        None => None,
    };
    let mut values = match &specification {
        Some(spec) => plan::values(
            Entity::ProductSpecification,
            spec,
            &Context::default(),
            &Values::new(),
        ),
        None => Values::new(),
    };
    values.extend(base);
    values.extend(given);
    Ok(Ok(ItemProduct {
        specification,
        offering,
        values,
        held,
    }))
}

/// The product context the services of a product order item take values from.
pub async fn context_of(engine: &Engine, service_order: &Value) -> Result<Context> {
    let (Some(order_id), Some(item_id)) = (
        product_order_of(service_order),
        product_order_item_of(service_order),
    ) else {
        return Ok(Context::default());
    };
    let Some(order) = engine
        .document(tmf622::CODE, "productOrder", &order_id)
        .await?
    else {
        return Ok(Context::default());
    };
    let Some(item) = items(&order, "productOrderItem")
        .iter()
        .find(|item| text(item, "id") == item_id)
    else {
        return Ok(Context::default());
    };
    Ok(match item_product(engine, item).await? {
        Ok(ItemProduct {
            specification: Some(spec),
            values,
            ..
        }) => Context::default().with(Entity::ProductSpecification, &text(&spec, "id"), &values),
        _ => Context::default(),
    })
}
