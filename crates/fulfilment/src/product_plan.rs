//! What a product order item is about: the product's specification, offering and
//! characteristic values (from the catalog for an `add`, from the inventory for a
//! `modify` or `delete`), and the context the services of the item take values from.

use serde_json::Value;
use switchboard_apis::catalog_rules::Entity;
use switchboard_apis::ordering::parents;
use switchboard_apis::ordering::states::ItemAction;
use switchboard_apis::{text, tmf622, tmf637};
use switchboard_engine::{Engine, Result};

use crate::model::{id_of, ProductItem, ProductOrder, ServiceOrder};
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
    item: &ProductItem,
) -> Result<std::result::Result<ItemProduct, String>> {
    let catalog = Catalog::new(engine);
    let product = item.product.as_ref();
    let given =
        plan::from_list(product.and_then(|product| product.product_characteristic.as_ref()));
    let mut spec_id = product
        .map(|product| id_of(&product.product_specification))
        .filter(|id| !id.is_empty());
    let mut offering = None;
    let mut held = None;
    let mut base = Values::new();
    match item.action {
        Some(ItemAction::Add) => {
            let offering_id = id_of(&item.product_offering);
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
        Some(ItemAction::Modify | ItemAction::Delete) => {
            let product_id = product
                .map(|product| product.id.clone())
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
pub async fn context_of(engine: &Engine, service_order: &ServiceOrder) -> Result<Context> {
    let references = service_order.external_reference.as_ref();
    let (Some(order_id), Some(item_id)) = (
        parents::product_order_in(references),
        parents::product_order_item_in(references),
    ) else {
        return Ok(Context::default());
    };
    let Some(order) = engine
        .document_as::<ProductOrder>(tmf622::CODE, "productOrder", &order_id)
        .await?
    else {
        return Ok(Context::default());
    };
    let Some(item) = order.item(&item_id) else {
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
