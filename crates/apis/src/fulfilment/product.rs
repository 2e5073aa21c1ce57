//! TMF622 fulfilment. `fulfil` (queued with every new product order): validation
//! (`order_validation`), then one service order per item that needs one (an `add` of a
//! specification with CFSs; a `modify` or `delete` of a product realized by services).
//! `resume` (queued when one of those service orders ends, or at once when none is
//! needed): once every service order has ended, the product inventory is written
//! (add: a product with its offering, specification, characteristics, realizing services
//! and parties; modify: new characteristics; delete: terminated) and the order ends
//! completed, failed or partial, a note naming each item that failed. An item whose
//! service order did not complete is undone all the way down (`service::undo_item`), so
//! nothing is left in the inventories for it.

use serde_json::{json, Value};
use switchboard_engine::{Engine, Result, Together};

use super::activation::Activation;
use super::cancel::{self, Kind};
use super::plan::{self, Catalog, Context, Values};
use super::{derived_id, finish_together, items, Outcome, FINAL};
use crate::catalog_rules::Entity;
use crate::text;

pub const FULFIL: &str = "tmf622.fulfilProductOrder";
pub const RESUME: &str = "tmf622.resumeProductOrder";
const API: &str = crate::tmf622::CODE;
const ORDERS: &str = "productOrder";
const ITEMS: &str = "productOrderItem";

/// The service order made for a product order item.
pub fn service_order_id(order: &str, item: &str) -> String {
    derived_id(order, item, "serviceOrder")
}

/// The product an `add` item creates.
pub fn product_id(order: &str, item: &str) -> String {
    derived_id(order, item, "product")
}

/// The product order a service order was made for (its `externalReference`).
pub fn parent_of(service_order: &Value) -> Option<String> {
    service_order
        .get("externalReference")
        .and_then(Value::as_array)?
        .iter()
        .find(|reference| text(reference, "externalReferenceType") == "ProductOrder")
        .map(|reference| text(reference, "name"))
}

/// The product order item a service order was made for.
pub fn parent_item_of(service_order: &Value) -> Option<String> {
    service_order
        .get("externalReference")
        .and_then(Value::as_array)?
        .iter()
        .find(|reference| text(reference, "externalReferenceType") == "ProductOrderItem")
        .map(|reference| text(reference, "name"))
}

/// What one product order item needs.
enum Need {
    /// A service order with these items.
    Services(Vec<Value>),
    /// Nothing below the product: the product inventory alone.
    ProductOnly,
    /// The item cannot be fulfilled.
    Fails(String),
}

/// What the product of an item is: its specification and characteristic values.
struct ItemProduct {
    specification: Option<Value>,
    offering: Option<Value>,
    values: Values,
    /// The inventory product a modify or delete names.
    held: Option<Value>,
}

pub(crate) async fn fulfil(engine: &Engine, activation: &Activation, id: &str) -> Result<()> {
    let children = match accept_new(engine, id).await? {
        Start::Accepted(children) => children,
        Start::Stop => return Ok(()),
        Start::NotNew => {
            let Some(order) =
                super::order_to_work_on(engine, activation, Kind::Product, id, true).await?
            else {
                return Ok(());
            };
            let mut in_progress: Vec<&Value> = Vec::new();
            for item in items(&order, ITEMS) {
                if text(item, "state") == "inProgress" {
                    in_progress.push(item);
                }
            }
            let needs = needs(engine, in_progress).await?;
            for (item_id, need) in &needs {
                if let Need::Services(service_items) = need {
                    let body = service_order(&order, id, item_id, service_items.clone());
                    let child = service_order_id(id, item_id);
                    engine.ensure(service_orders(engine)?, &child, body).await?;
                }
            }
            started(engine, id, needs).await?
        }
    };
    for child in &children {
        if cancel::cancelling(engine, Kind::Product, id).await? {
            // Made after the cancellation looked for it.
            cancel::cancel_below(engine, Kind::Product, id, Kind::Service, child).await?;
        }
        // Its first step runs here (no job of its own): a crash before it is done runs
        // this job, and so it, again.
        super::service::fulfil(engine, activation, child).await?;
    }
    // The service orders ran here and, unless one waits (an activation, a cancellation),
    // have ended: the order ends at once (a service order still running resumes it when
    // it ends).
    resume(engine, activation, id).await
}

/// How `fulfil` starts.
enum Start {
    /// The order was new, passed its checks and was accepted in the transaction that
    /// created these service orders (its items that fail have failed).
    Accepted(Vec<String>),
    /// Nothing to do: the order is gone, or was new and is now rejected.
    Stop,
    /// The order is not (or no longer) new: a run before accepted it, or a
    /// cancellation came first.
    NotNew,
}

/// Checks a new (`acknowledged`) order and accepts it in the transaction that creates
/// its service orders: one commit less per order than accepting it first.
async fn accept_new(engine: &Engine, id: &str) -> Result<Start> {
    let Some(order) = engine.document(API, ORDERS, id).await? else {
        return Ok(Start::Stop);
    };
    if text(&order, "state") != "acknowledged" {
        return Ok(Start::NotNew);
    }
    let problems = crate::order_validation::problems(engine, &order).await?;
    if !problems.is_empty() {
        super::accept_or_reject(engine, API, ORDERS, ITEMS, id, &problems).await?;
        return Ok(Start::Stop);
    }
    // Every item: accepting the order starts them all.
    let needs = needs(engine, items(&order, ITEMS)).await?;
    let (at, below) = (engine.served(API, ORDERS)?, service_orders(engine)?);
    let now = switchboard_engine::now_rfc3339();
    let accepted = super::reading_if_taken(|read_first| {
        let (needs, order, now) = (&needs, &order, &now);
        async move {
            let mut together = engine.together(read_first).await?;
            let stored = together
                .update(at, id, |order| {
                    super::accept_or_reject_in(order, ITEMS, &[], now);
                    Ok(())
                })
                .await?;
            if text(&stored, "state") != "inProgress" {
                // Changed since it was read (a cancellation): nothing written here.
                return Ok(false);
            }
            for (item_id, need) in needs {
                if let Need::Services(service_items) = need {
                    let body = service_order(order, id, item_id, service_items.clone());
                    together
                        .ensure(below, &service_order_id(id, item_id), body)
                        .await?;
                }
            }
            together.commit().await?;
            Ok(true)
        }
    })
    .await?;
    if !accepted {
        return Ok(Start::NotNew);
    }
    Ok(Start::Accepted(started(engine, id, needs).await?))
}

/// Once the service orders of order `id`'s items are made: their ids, after failing
/// the items that cannot be fulfilled.
async fn started(engine: &Engine, id: &str, needs: Vec<(String, Need)>) -> Result<Vec<String>> {
    let mut children = Vec::new();
    for (item_id, need) in needs {
        match need {
            Need::Services(_) => children.push(service_order_id(id, &item_id)),
            Need::ProductOnly => {}
            Need::Fails(reason) => {
                super::fail_item(engine, API, ORDERS, ITEMS, id, &item_id, &reason).await?
            }
        }
    }
    Ok(children)
}

/// What each of these items needs, by item id.
async fn needs<'a>(
    engine: &Engine,
    items: impl IntoIterator<Item = &'a Value>,
) -> Result<Vec<(String, Need)>> {
    let mut needs = Vec::new();
    for item in items {
        needs.push((text(item, "id"), need(engine, item).await?));
    }
    Ok(needs)
}

fn service_orders(engine: &Engine) -> Result<switchboard_engine::ResourceRef> {
    engine.served(crate::tmf641::CODE, "serviceOrder")
}

/// The service order that fulfils item `item_id` of product order `order` (`id`):
/// planned from the catalog, so it starts in progress (no acknowledged step).
fn service_order(order: &Value, id: &str, item_id: &str, service_items: Vec<Value>) -> Value {
    json!({
        "state": "inProgress",
        "description": format!("fulfils item {item_id} of product order {id}"),
        "externalReference": [
            {"externalReferenceType": "ProductOrder", "name": id},
            {"externalReferenceType": "ProductOrderItem", "name": item_id},
        ],
        "relatedParty": order.get("relatedParty").cloned().unwrap_or(json!([])),
        "serviceOrderItem": service_items,
    })
}

/// The product an item is about: for `add` from the catalog, for `modify`/`delete` the
/// inventory product with the item's values over its own.
async fn item_product(
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
                .document(crate::tmf637::CODE, "product", &product_id)
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
    let (Some(order_id), Some(item_id)) = (parent_of(service_order), parent_item_of(service_order))
    else {
        return Ok(Context::default());
    };
    let Some(order) = engine.document(API, ORDERS, &order_id).await? else {
        return Ok(Context::default());
    };
    let Some(item) = items(&order, ITEMS)
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

async fn need(engine: &Engine, item: &Value) -> Result<Need> {
    let action = text(item, "action");
    if action == "noChange" {
        return Ok(Need::ProductOnly);
    }
    let product = match item_product(engine, item).await? {
        Ok(product) => product,
        Err(message) => return Ok(Need::Fails(message)),
    };
    let mut service_items = Vec::new();
    match (action.as_str(), &product.held) {
        ("add", _) => {
            let Some(spec) = &product.specification else {
                return Ok(Need::ProductOnly);
            };
            let cfs_specs = match Catalog::new(engine).cfs_of(spec).await? {
                Ok(specs) => specs,
                Err(message) => return Ok(Need::Fails(message)),
            };
            let context = Context::default().with(
                Entity::ProductSpecification,
                &text(spec, "id"),
                &product.values,
            );
            for (index, cfs) in cfs_specs.iter().enumerate() {
                let values =
                    plan::values(Entity::ServiceSpecification, cfs, &context, &Values::new());
                service_items.push(json!({
                    "id": (index + 1).to_string(),
                    "action": "add",
                    "service": {
                        "name": text(cfs, "name"),
                        "serviceSpecification": plan::spec_ref(cfs, "ServiceSpecification"),
                        "serviceCharacteristic": plan::to_list(&values),
                    },
                }));
            }
        }
        (_, Some(held)) => {
            let context = match &product.specification {
                Some(spec) => Context::default().with(
                    Entity::ProductSpecification,
                    &text(spec, "id"),
                    &product.values,
                ),
                None => Context::default(),
            };
            for (index, reference) in held
                .get("realizingService")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let service_id = text(reference, "id");
                let mut service = json!({"id": service_id});
                if action == "modify" {
                    let Some(current) = engine
                        .document(crate::tmf638::CODE, "service", &service_id)
                        .await?
                    else {
                        return Ok(Need::Fails(format!(
                            "realizingService '{service_id}' is not in the service inventory"
                        )));
                    };
                    let spec_id = current
                        .get("serviceSpecification")
                        .map(|spec| text(spec, "id"))
                        .unwrap_or_default();
                    let mut values = plan::from_list(current.get("serviceCharacteristic"));
                    if let Ok(spec) = Catalog::new(engine)
                        .read(Entity::ServiceSpecification, &spec_id)
                        .await?
                    {
                        values.extend(plan::mapped(Entity::ServiceSpecification, &spec, &context));
                    }
                    service["serviceSpecification"] = current
                        .get("serviceSpecification")
                        .cloned()
                        .unwrap_or(Value::Null);
                    service["serviceCharacteristic"] = plan::to_list(&values);
                }
                service_items.push(json!({
                    "id": (index + 1).to_string(),
                    "action": action,
                    "service": service,
                }));
            }
        }
        _ => return Ok(Need::ProductOnly),
    }
    Ok(if service_items.is_empty() {
        Need::ProductOnly
    } else {
        Need::Services(service_items)
    })
}

pub(crate) async fn resume(engine: &Engine, activation: &Activation, id: &str) -> Result<()> {
    super::reading_if_taken(|read_first| resume_with(engine, activation, id, read_first)).await
}

async fn resume_with(
    engine: &Engine,
    activation: &Activation,
    id: &str,
    read_first: bool,
) -> Result<()> {
    let Some(order) = super::order_to_work_on(engine, activation, Kind::Product, id, false).await?
    else {
        return Ok(());
    };
    let mut outcomes = Vec::new();
    let mut service_orders = Vec::new();
    for item in items(&order, ITEMS) {
        let item_id = text(item, "id");
        if text(item, "state") == "failed" {
            outcomes.push(Outcome {
                item: item_id,
                state: "failed",
                reason: None, // noted when it failed
            });
            continue;
        }
        let service_order = engine
            .document(
                crate::tmf641::CODE,
                "serviceOrder",
                &service_order_id(id, &item_id),
            )
            .await?;
        match &service_order {
            Some(service_order) if !FINAL.contains(&text(service_order, "state").as_str()) => {
                return Ok(()); // another service order still runs; its end resumes this
            }
            Some(_) => {}
            None => match need(engine, item).await? {
                Need::Services(_) => return Ok(()), // being ordered
                Need::Fails(reason) => {
                    outcomes.push(Outcome::failed(&item_id, reason));
                    continue;
                }
                Need::ProductOnly => {}
            },
        }
        service_orders.push((item, item_id, service_order));
    }
    // The products and the order's end commit together.
    let mut together = engine.together(read_first).await?;
    let mut added = Vec::new();
    for (item, item_id, service_order) in service_orders {
        if let Some(service_order) = &service_order {
            let state = text(service_order, "state");
            if state != "completed" {
                super::service::undo_all(engine, activation, service_order).await?;
                outcomes.push(Outcome::failed(
                    &item_id,
                    format!(
                        "service order {} ended {state}{}",
                        text(service_order, "id"),
                        reasons(service_order)
                    ),
                ));
                continue;
            }
        }
        let done = record_product(&mut together, &order, item, service_order.as_ref()).await?;
        if done.is_ok() && text(item, "action") == "add" {
            added.push(product_id(id, &item_id));
        }
        outcomes.push(Outcome::of(&item_id, done));
    }
    let committed = finish_together(together, (API, ORDERS, ITEMS), id, &outcomes).await;
    let cancelling = cancel::cancelling(engine, Kind::Product, id).await?;
    match committed {
        // The order changed under the commit: its cancellation undoes what is left.
        Err(_) if cancelling => Ok(()),
        Err(error) => Err(error),
        Ok(()) => {
            if cancelling {
                for product in &added {
                    terminate_product(engine, product).await?; // the cancellation's undo may have run
                }
            }
            Ok(())
        }
    }
}

/// The reasons a finished order gives in its notes, for the parent's note.
pub fn reasons(order: &Value) -> String {
    let texts: Vec<String> = order
        .get("note")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|note| text(note, "text"))
        .filter(|text| !text.is_empty())
        .collect();
    if texts.is_empty() {
        String::new()
    } else {
        format!(" ({})", texts.join("; "))
    }
}

/// Writes the product inventory for one item whose services (if any) are in place
/// (in `together`, with the order's end).
async fn record_product(
    together: &mut Together,
    order: &Value,
    item: &Value,
    service_order: Option<&Value>,
) -> Result<std::result::Result<(), String>> {
    let order_id = text(order, "id");
    let item_id = text(item, "id");
    let action = text(item, "action");
    let engine = together.engine().clone();
    let engine = &engine;
    let at = engine.served(crate::tmf637::CODE, "product")?;
    let product = match item_product(engine, item).await? {
        Ok(product) => product,
        Err(message) => return Ok(Err(message)),
    };
    let now = switchboard_engine::now_rfc3339();
    let order_item = json!({
        "productOrderId": order_id,
        "productOrderHref": order.get("href").cloned().unwrap_or(Value::Null),
        "orderItemId": item_id,
        "orderItemAction": action,
        "role": "fulfilled by",
    });
    match action.as_str() {
        "add" => {
            let realizing: Vec<Value> = match service_order {
                Some(service_order) => items(service_order, "serviceOrderItem")
                    .iter()
                    .map(|service_item| {
                        json!({
                            "id": super::service::cfs_id(&text(service_order, "id"), &text(service_item, "id")),
                            "@referredType": "Service",
                        })
                    })
                    .collect(),
                None => Vec::new(),
            };
            let mut body = json!({
                "name": product
                    .offering
                    .as_ref()
                    .map(|offering| text(offering, "name"))
                    .unwrap_or_default(),
                "status": "active",
                "startDate": now,
                "productCharacteristic": plan::to_list(&product.values),
                "realizingService": realizing,
                "relatedParty": order.get("relatedParty").cloned().unwrap_or(json!([])),
                "productOrderItem": [order_item],
            });
            if let Some(offering) = &product.offering {
                body["productOffering"] = plan::spec_ref(offering, "ProductOffering");
            }
            if let Some(spec) = &product.specification {
                body["productSpecification"] = plan::spec_ref(spec, "ProductSpecification");
            }
            together
                .ensure(at, &product_id(&order_id, &item_id), body)
                .await?;
        }
        "modify" | "delete" => {
            let Some(held) = &product.held else {
                return Ok(Err("the product is no longer in the inventory".to_string()));
            };
            let values = plan::to_list(&product.values);
            let delete = action == "delete";
            together
                .update(at, &text(held, "id"), |doc| {
                    if delete {
                        if text(doc, "status") != "terminated" {
                            doc["status"] = json!("terminated");
                            doc["terminationDate"] = json!(now);
                        }
                    } else {
                        doc["productCharacteristic"] = values.clone();
                    }
                    push_order_item(doc, &order_item);
                    Ok(())
                })
                .await?;
        }
        _ => {}
    }
    Ok(Ok(()))
}

/// Adds the order item to the product's `productOrderItem` once.
fn push_order_item(doc: &mut Value, order_item: &Value) {
    let Some(fields) = doc.as_object_mut() else {
        return;
    };
    let list = fields
        .entry("productOrderItem")
        .or_insert_with(|| json!([]));
    if let Value::Array(list) = list {
        let same = |known: &Value| {
            known.get("productOrderId") == order_item.get("productOrderId")
                && known.get("orderItemId") == order_item.get("orderItemId")
        };
        if !list.iter().any(same) {
            list.push(order_item.clone());
        }
    }
}

/// Undoes what a product order added (a cancellation): each item's service order is
/// undone and the product an `add` created is terminated.
pub async fn undo(engine: &Engine, activation: &Activation, order: &Value) -> Result<()> {
    let order_id = text(order, "id");
    for item in items(order, ITEMS) {
        let item_id = text(item, "id");
        if let Some(service_order) = engine
            .document(
                crate::tmf641::CODE,
                "serviceOrder",
                &service_order_id(&order_id, &item_id),
            )
            .await?
        {
            super::service::undo_all(engine, activation, &service_order).await?;
        }
        terminate_product(engine, &product_id(&order_id, &item_id)).await?;
    }
    Ok(())
}

async fn terminate_product(engine: &Engine, id: &str) -> Result<()> {
    let product = (crate::tmf637::CODE, "product");
    super::terminate(engine, product, ("status", "terminationDate"), id).await
}
