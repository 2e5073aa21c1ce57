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
use switchboard_apis::catalog_rules::Entity;
use switchboard_apis::ordering::parents;
use switchboard_apis::ordering::states::{ItemAction, OrderState};
use switchboard_apis::{text, tmf622, tmf637, tmf638, tmf641};
use switchboard_engine::{Engine, Result, Together};

use crate::activation::Activation;
use crate::entry::order_to_work_on;
use crate::ids::{cfs_id, product_id, service_order_id};
use crate::kind::Kind;
use crate::model::{ProductItem, ProductOrder, ServiceOrder};
use crate::orders::{accept_or_reject_in, reading_if_taken, Outcome, Step};
use crate::plan::{self, Catalog, Context, Values};
use crate::product_plan::item_product;
use crate::validation::product_verdict;
use crate::{cancel, decision, milestones, service, undo};

const API: &str = tmf622::CODE;
const ORDERS: &str = "productOrder";
const ITEMS: &str = "productOrderItem";

/// What one product order item needs.
enum Need {
    /// A service order with these items.
    Services(Vec<Value>),
    /// Nothing below the product: the product inventory alone.
    ProductOnly,
    /// The item cannot be fulfilled.
    Fails(String),
}

pub async fn fulfil(engine: &Engine, activation: &Activation, id: &str) -> Result<()> {
    let step = Step {
        engine,
        activation,
        kind: Kind::Product,
        id,
    };
    let children = match checked_start(&step).await? {
        Start::Accepted(children) => children,
        Start::Stop => return Ok(()),
        Start::Changed => {
            // The client keeps changing it: the job runs again later.
            return Err(switchboard_engine::Error {
                concurrent: true,
                ..switchboard_engine::Error::conflict(format!(
                    "product order {id} changed while it was checked"
                ))
            });
        }
        Start::NotNew => {
            let Some(order) = order_to_work_on::<ProductItem>(&step, true).await? else {
                return Ok(());
            };
            let in_progress: Vec<&ProductItem> = order
                .items
                .iter()
                .filter(|item| item.state == Some(OrderState::InProgress))
                .collect();
            let needs = needs(engine, in_progress).await?;
            for (item_id, need) in &needs {
                if let Need::Services(service_items) = need {
                    let body = service_order(&order, item_id, service_items.clone());
                    let child = service_order_id(id, item_id);
                    engine.ensure(service_orders(engine)?, &child, body).await?;
                }
            }
            started(&step, needs).await?
        }
    };
    for child in &children {
        if step.cancelling().await? {
            // Made after the cancellation looked for it.
            cancel::cancel_below(engine, Kind::Product, id, child).await?;
        }
        // Its first step runs here (no job of its own): a crash before it is done runs
        // this job, and so it, again.
        service::fulfil(engine, activation, child).await?;
    }
    // The service orders ran here and, unless one waits (an activation, a cancellation),
    // have ended: the order ends at once (a service order still running resumes it when
    // it ends).
    resume_with_step(&step).await
}

/// How `fulfil` starts.
enum Start {
    /// The order was new, passed its checks and was accepted in the transaction that
    /// created these service orders (its items that fail have failed).
    Accepted(Vec<String>),
    /// Nothing to do: the order is gone, or was new and is now rejected or pending.
    Stop,
    /// The order is not (or no longer) new: a run before accepted it, or a
    /// cancellation came first.
    NotNew,
    /// The client changed the order while it was checked: check it again.
    Changed,
}

/// `accept_new`, again while the client changes the order under the checks (a few
/// times: then `Changed`, and the job runs again later).
async fn checked_start(step: &Step<'_>) -> Result<Start> {
    for _ in 0..3 {
        match accept_new(step).await? {
            Start::Changed => continue,
            start => return Ok(start),
        }
    }
    Ok(Start::Changed)
}

/// Checks a new (`acknowledged`) order, or one `pending` for information, and accepts
/// it in the transaction that creates its service orders (one commit less per order
/// than accepting it first); rejects it, or makes it wait `pending` for the values it
/// lacks (`decision`).
async fn accept_new(step: &Step<'_>) -> Result<Start> {
    let (engine, id) = (step.engine, step.id);
    let Some(doc) = engine.document(API, ORDERS, id).await? else {
        return Ok(Start::Stop);
    };
    if !matches!(
        OrderState::of(&doc),
        Some(OrderState::Acknowledged | OrderState::Pending)
    ) {
        return Ok(Start::NotNew);
    }
    // The checks read the order as the client posted it.
    let verdict = product_verdict(engine, &doc).await?;
    if verdict.information_required() {
        let pending = decision::require_information(engine, id, &doc, &verdict.missing).await?;
        return Ok(if pending { Start::Stop } else { Start::Changed });
    }
    let problems = verdict.all_problems();
    if !problems.is_empty() {
        let rejected = decision::reject(engine, id, &doc, &problems).await?;
        return Ok(if rejected {
            Start::Stop
        } else {
            Start::Changed
        });
    }
    let checked = &doc;
    let order = ProductOrder::from_value(&doc)?;
    // Every item: accepting the order starts them all.
    let needs = needs(engine, &order.items).await?;
    let (at, below) = (engine.served(API, ORDERS)?, service_orders(engine)?);
    let now = switchboard_engine::now_rfc3339();
    let accepted = reading_if_taken(|read_first| {
        let (needs, order, now) = (&needs, &order, &now);
        async move {
            let mut together = engine.together(read_first).await?;
            let stored = together
                .update(at, id, |order| {
                    if decision::still_as_checked(order, checked) {
                        accept_or_reject_in(order, ITEMS, &[], now);
                    }
                    Ok(())
                })
                .await?;
            match OrderState::of(&stored) {
                Some(OrderState::InProgress) => {}
                // Changed by the client since it was read: checked again.
                Some(OrderState::Acknowledged | OrderState::Pending) => return Ok(Some(false)),
                // Changed since it was read (a cancellation): nothing written here.
                _ => return Ok(None),
            }
            for (item_id, need) in needs {
                if let Need::Services(service_items) = need {
                    let body = service_order(order, item_id, service_items.clone());
                    together
                        .ensure(below, &service_order_id(id, item_id), body)
                        .await?;
                }
            }
            together.commit().await?;
            Ok(Some(true))
        }
    })
    .await?;
    match accepted {
        Some(true) => Ok(Start::Accepted(started(step, needs).await?)),
        Some(false) => Ok(Start::Changed),
        None => Ok(Start::NotNew),
    }
}

/// Once the service orders of the step's order's items are made: their ids, after
/// failing the items that cannot be fulfilled.
async fn started(step: &Step<'_>, needs: Vec<(String, Need)>) -> Result<Vec<String>> {
    let mut children = Vec::new();
    for (item_id, need) in needs {
        match need {
            Need::Services(_) => children.push(service_order_id(step.id, &item_id)),
            Need::ProductOnly => {}
            Need::Fails(reason) => step.fail_item(&item_id, &reason).await?,
        }
    }
    Ok(children)
}

/// What each of these items needs, by item id.
async fn needs<'a>(
    engine: &Engine,
    items: impl IntoIterator<Item = &'a ProductItem>,
) -> Result<Vec<(String, Need)>> {
    let mut needs = Vec::new();
    for item in items {
        needs.push((item.id.clone(), need(engine, item).await?));
    }
    Ok(needs)
}

fn service_orders(engine: &Engine) -> Result<switchboard_engine::ResourceRef> {
    engine.served(tmf641::CODE, "serviceOrder")
}

/// The service order that fulfils item `item_id` of product order `order`: planned
/// from the catalog, so it starts in progress (no acknowledged step).
fn service_order(order: &ProductOrder, item_id: &str, service_items: Vec<Value>) -> Value {
    let id = &order.id;
    json!({
        "state": OrderState::InProgress,
        "description": format!("fulfils item {item_id} of product order {id}"),
        "externalReference": parents::of_product_order_item(id, item_id),
        "relatedParty": order.parties(),
        "serviceOrderItem": service_items,
    })
}

async fn need(engine: &Engine, item: &ProductItem) -> Result<Need> {
    let action = item.action;
    if action == Some(ItemAction::NoChange) {
        return Ok(Need::ProductOnly);
    }
    let product = match item_product(engine, item).await? {
        Ok(product) => product,
        Err(message) => return Ok(Need::Fails(message)),
    };
    let mut service_items = Vec::new();
    match (action, &product.held) {
        (Some(ItemAction::Add), _) => {
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
                    "action": ItemAction::Add,
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
                if action == Some(ItemAction::Modify) {
                    let Some(current) = engine
                        .document(tmf638::CODE, "service", &service_id)
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

pub async fn resume(engine: &Engine, activation: &Activation, id: &str) -> Result<()> {
    let step = Step {
        engine,
        activation,
        kind: Kind::Product,
        id,
    };
    resume_with_step(&step).await
}

async fn resume_with_step(step: &Step<'_>) -> Result<()> {
    reading_if_taken(|read_first| resume_with(step, read_first)).await
}

async fn resume_with(step: &Step<'_>, read_first: bool) -> Result<()> {
    let (engine, activation, id) = (step.engine, step.activation, step.id);
    let Some(order) = order_to_work_on::<ProductItem>(step, false).await? else {
        return Ok(());
    };
    let mut outcomes = Vec::new();
    let mut service_orders = Vec::new();
    for item in &order.items {
        let item_id = item.id.clone();
        if item.state == Some(OrderState::Failed) {
            outcomes.push(Outcome::failed_before(&item_id));
            continue;
        }
        let service_order = engine
            .document_as::<ServiceOrder>(
                tmf641::CODE,
                "serviceOrder",
                &service_order_id(id, &item_id),
            )
            .await?;
        match &service_order {
            Some(service_order) if !service_order.ended() => {
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
    // The product each completed item created or changed, named on the item at its end.
    let mut products = Vec::new();
    for (item, item_id, service_order) in service_orders {
        if let Some(service_order) = &service_order {
            if service_order.state != Some(OrderState::Completed) {
                undo::service_order(engine, activation, service_order).await?;
                outcomes.push(Outcome::failed(
                    &item_id,
                    format!(
                        "service order {} ended {}{}",
                        service_order.id,
                        service_order
                            .state
                            .map(OrderState::as_str)
                            .unwrap_or_default(),
                        service_order.reasons()
                    ),
                ));
                continue;
            }
        }
        let done = record_product(&mut together, &order, item, service_order.as_ref()).await?;
        let done = match done {
            Ok(Some(product)) => {
                if item.action == Some(ItemAction::Add) {
                    added.push(product_id(id, &item_id));
                }
                products.push((item_id.clone(), product));
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(reason) => Err(reason),
        };
        outcomes.push(Outcome::of(&item_id, done));
    }
    let committed = milestones::finish(together, &order, &outcomes, &products).await;
    let cancelling = step.cancelling().await?;
    match committed {
        // The order changed under the commit: its cancellation undoes what is left.
        Err(_) if cancelling => Ok(()),
        Err(error) => Err(error),
        Ok(()) => {
            if cancelling {
                for product in &added {
                    undo::terminate_product(engine, product).await?; // the cancellation's undo may have run
                }
            }
            Ok(())
        }
    }
}

/// Writes the product inventory for one item whose services (if any) are in place
/// (in `together`, with the order's end); answers a reference to the product the item
/// created (add) or changed (modify, delete), if any.
async fn record_product(
    together: &mut Together,
    order: &ProductOrder,
    item: &ProductItem,
    service_order: Option<&ServiceOrder>,
) -> Result<std::result::Result<Option<Value>, String>> {
    let (order_id, item_id, action) = (&order.id, &item.id, item.action);
    let engine = together.engine().clone();
    let engine = &engine;
    let at = engine.served(tmf637::CODE, "product")?;
    let product = match item_product(engine, item).await? {
        Ok(product) => product,
        Err(message) => return Ok(Err(message)),
    };
    let now = switchboard_engine::now_rfc3339();
    let order_item = json!({
        "productOrderId": order_id,
        "productOrderHref": order.href(),
        "orderItemId": item_id,
        "orderItemAction": action.map(ItemAction::as_str).unwrap_or_default(),
        "role": "fulfilled by",
    });
    match action {
        Some(ItemAction::Add) => {
            let realizing: Vec<Value> = match service_order {
                Some(service_order) => service_order
                    .items
                    .iter()
                    .map(|service_item| {
                        json!({
                            "id": cfs_id(&service_order.id, &service_item.id),
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
                "relatedParty": order.parties(),
                "productOrderItem": [order_item],
            });
            if let Some(offering) = &product.offering {
                body["productOffering"] = plan::spec_ref(offering, "ProductOffering");
            }
            if let Some(spec) = &product.specification {
                body["productSpecification"] = plan::spec_ref(spec, "ProductSpecification");
            }
            let (stored, _) = together
                .ensure(at, &product_id(order_id, item_id), body)
                .await?;
            Ok(Ok(Some(milestones::product_ref(&stored))))
        }
        Some(ItemAction::Modify | ItemAction::Delete) => {
            let Some(held) = &product.held else {
                return Ok(Err("the product is no longer in the inventory".to_string()));
            };
            let values = plan::to_list(&product.values);
            let delete = action == Some(ItemAction::Delete);
            let stored = together
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
            Ok(Ok(Some(milestones::product_ref(&stored))))
        }
        _ => Ok(Ok(None)),
    }
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
