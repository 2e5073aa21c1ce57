//! TMF641 fulfilment, in two steps. `fulfil` (queued with every new service order,
//! whether a client or a product order made it): validation (an `add` names a service
//! specification in TMF633, a `modify`/`delete` a service in TMF638), then the RFSs of
//! each CFS (`serviceSpecRelationship`) and one resource order for every resource they
//! need (item `{item}.{rfs}.{resource}`); a `delete` first takes its services down
//! (adapter, then `terminated` in the inventory), so the resources can go. `resume`
//! (queued when that resource order ends, or at once when none was needed): per item,
//! the RFSs are activated through the adapter their specification is routed to, then the
//! RFS services (with `supportingResource`) and the CFS service (with
//! `supportingService`) are written to the inventory. An item whose resources or
//! activation failed is undone (activated RFSs deactivated, resources removed, units
//! released) and fails with the reason; the order ends completed, failed or partial.

use serde_json::{json, Value};
use switchboard_apis::ordering::parents;
use switchboard_apis::ordering::states::{ItemAction, OrderState};
use switchboard_apis::{text, tmf638, tmf639, tmf652};
use switchboard_engine::{Engine, Result, Together};

use crate::activation::{Action, Activation};
use crate::entry::order_to_work_on;
use crate::ids::{cfs_id, resource_id, resource_item, resource_order_id, rfs_id};
use crate::kind::Kind;
use crate::model::{ResourceItem, ResourceOrder, ServiceItem, ServiceOrder};
use crate::orders::{reading_if_taken, Outcome, Step};
use crate::plan::{self, Context};
use crate::product_plan::context_of;
use crate::service_plan::{add_plan, live, Live};
use crate::undo::{deactivate, service_order_item as undo_item, terminate_service};
use crate::{cancel, resource, undo};

const INVENTORY: &str = tmf638::CODE;

pub async fn fulfil(engine: &Engine, activation: &Activation, id: &str) -> Result<()> {
    let step = Step {
        engine,
        activation,
        kind: Kind::Service,
        id,
    };
    let Some(order) = order_to_work_on::<ServiceItem>(&step, true).await? else {
        return Ok(());
    };
    let context = context_of(engine, &order).await?;
    let resource_order = resource_order_id(id);
    let inventory = engine.served(tmf639::CODE, "resource")?;
    let mut resource_items = Vec::new();
    for item in &order.items {
        if item.state != Some(OrderState::InProgress) {
            continue;
        }
        let item_id = &item.id;
        match item.action {
            Some(ItemAction::Add) => match add_plan(engine, item, &context).await? {
                Ok(plan) => {
                    for (r, rfs) in plan.rfs.iter().enumerate() {
                        for (k, resource) in rfs.resources.iter().enumerate() {
                            let entry = resource_item(item_id, r, k);
                            let resource_id = resource_id(&resource_order, &entry);
                            let spec = plan::spec_ref(&resource.spec, "ResourceSpecification");
                            resource_items.push(json!({
                                "id": entry,
                                "action": ItemAction::Add,
                                "resourceSpecification": spec,
                                "resource": {
                                    "id": resource_id,
                                    "href": engine.location(inventory, &resource_id)?,
                                    "name": text(&resource.spec, "name"),
                                    "resourceSpecification": spec,
                                    "resourceCharacteristic": plan::to_list(&resource.values),
                                },
                            }));
                        }
                    }
                }
                Err(reason) => step.fail_item(item_id, &reason).await?,
            },
            Some(action @ (ItemAction::Modify | ItemAction::Delete)) => {
                match live(engine, item, &context).await? {
                    Ok(live) => {
                        if action == ItemAction::Delete {
                            take_down(engine, activation, &live).await?;
                        }
                        for (r, (_, _, resources)) in live.rfs.iter().enumerate() {
                            for (k, (resource, values)) in resources.iter().enumerate() {
                                let mut target = json!({
                                    "id": text(resource, "id"),
                                    "href": resource.get("href").cloned().unwrap_or(Value::Null),
                                });
                                if action == ItemAction::Modify {
                                    target["resourceCharacteristic"] = plan::to_list(values);
                                }
                                resource_items.push(json!({
                                    "id": resource_item(item_id, r, k),
                                    "action": action,
                                    "resource": target,
                                }));
                            }
                        }
                    }
                    Err(reason) => step.fail_item(item_id, &reason).await?,
                }
            }
            _ => {}
        }
    }
    if resource_items.is_empty() {
        return resume_here(&step).await;
    }
    let at = engine.served(tmf652::CODE, "resourceOrder")?;
    // Planned from the catalog here: it starts in progress (no acknowledged step), and
    // its step runs here (no job of its own): a crash before it is done runs this step,
    // and so it, again. So does this order's resume, as soon as it has ended.
    let body = json!({
        "state": OrderState::InProgress,
        "description": format!("resources of service order {id}"),
        "externalReference": parents::of_service_order(id),
        "relatedParty": order.parties(),
        "orderItem": resource_items,
    });
    // Created and fulfilled in one transaction when it only adds, else one after the
    // other.
    let done = resource::create_fulfilled(engine, &resource_order, body.clone()).await?;
    if !done {
        engine.ensure(at, &resource_order, body).await?;
    }
    if step.cancelling().await? {
        // Made after the cancellation looked for it.
        cancel::cancel_below(engine, Kind::Service, id, &resource_order).await?;
    }
    if !done {
        resource::fulfil(engine, &resource_order).await?;
    }
    resume_here(&step).await
}

/// Deactivates a live CFS's RFSs and marks them and the CFS `terminated`.
async fn take_down(engine: &Engine, activation: &Activation, live: &Live) -> Result<()> {
    for (rfs, _, _) in &live.rfs {
        deactivate(engine, activation, rfs).await?;
    }
    terminate_service(engine, &text(&live.cfs, "id")).await
}

/// The `resume` job: queued when the order's resource order ends.
pub async fn resume(engine: &Engine, activation: &Activation, id: &str) -> Result<()> {
    let step = Step {
        engine,
        activation,
        kind: Kind::Service,
        id,
    };
    reading_if_taken(|read_first| resume_with(&step, read_first, Then::Queued)).await
}

/// `resume` run at once by `fulfil`, inside the step of the product order that made
/// this one (if any), which resumes that order itself next.
async fn resume_here(step: &Step<'_>) -> Result<()> {
    reading_if_taken(|read_first| resume_with(step, read_first, Then::ParentGoesOn)).await
}

/// What follows a service order's end.
#[derive(Clone, Copy, PartialEq)]
enum Then {
    /// Its parent's `resume` job, queued with the end.
    Queued,
    /// The caller resumes the parent: the job is only the safety net.
    ParentGoesOn,
}

async fn resume_with(step: &Step<'_>, read_first: bool, then: Then) -> Result<()> {
    let (engine, activation, id) = (step.engine, step.activation, step.id);
    let Some(order) = order_to_work_on::<ServiceItem>(step, false).await? else {
        return Ok(());
    };
    let resource_order_id = resource_order_id(id);
    let resource_order = engine
        .document_as::<ResourceOrder>(tmf652::CODE, "resourceOrder", &resource_order_id)
        .await?;
    if let Some(resource_order) = &resource_order {
        if !resource_order.ended() {
            return Ok(()); // its end resumes this
        }
    }
    let context = context_of(engine, &order).await?;
    let mut outcomes = Vec::new();
    // The services of `add` items and the order's end commit together.
    let mut together = engine.together(read_first).await?;
    if then == Then::ParentGoesOn {
        together.defer_jobs(crate::orders::SAFETY_NET);
    }
    let mut written: Vec<Activated> = Vec::new();
    for item in &order.items {
        let item_id = item.id.clone();
        if item.state == Some(OrderState::Failed) {
            outcomes.push(Outcome::failed_before(&item_id));
            continue;
        }
        let prefix = format!("{item_id}.");
        let resource_items: Vec<&ResourceItem> = resource_order
            .iter()
            .flat_map(|order| &order.items)
            .filter(|entry| entry.id.starts_with(&prefix))
            .collect();
        let action = item.action;
        if resource_items
            .iter()
            .any(|entry| entry.state != Some(OrderState::Completed))
        {
            if action == Some(ItemAction::Add) {
                for entry in &resource_items {
                    let resource = resource_id(&resource_order_id, &entry.id);
                    undo::resource(engine, &resource).await?;
                }
            }
            let reasons = resource_order
                .as_ref()
                .map(|order| order.reasons())
                .unwrap_or_default();
            outcomes.push(Outcome::failed(
                &item_id,
                format!("resource order {resource_order_id} did not complete{reasons}"),
            ));
            continue;
        }
        let work = ItemWork {
            order: &order,
            item,
            context: &context,
        };
        let done = match action {
            Some(ItemAction::Add) => activate(step, work, &mut together, &mut written).await?,
            Some(ItemAction::Modify) => modify(step, work).await?,
            _ => Ok(()),
        };
        outcomes.push(Outcome::of(&item_id, done));
    }
    let committed = step.finish_together(together, &outcomes).await;
    // A cancellation that began while the adapters worked: what was activated is taken
    // down again (the commit failed on the order's change) or undone (it went through
    // before the cancellation's undo looked).
    let cancelling = step.cancelling().await?;
    match committed {
        Err(_) if cancelling => {
            for activated in &written {
                take_back(activation, activated.services.iter()).await;
                undo_item(engine, activation, id, &activated.item).await?;
            }
            Ok(())
        }
        Err(error) => Err(error),
        Ok(()) => {
            if cancelling {
                for activated in &written {
                    undo_item(engine, activation, id, &activated.item).await?;
                }
            }
            Ok(())
        }
    }
}

/// An item of a service order to activate (`add`) or change (`modify`), with the
/// product context its values derive from.
#[derive(Clone, Copy)]
struct ItemWork<'a> {
    order: &'a ServiceOrder,
    item: &'a ServiceItem,
    context: &'a Context,
}

/// An item whose services were activated and written (not yet committed).
struct Activated {
    item: String,
    services: Vec<Value>,
}

/// The reference an inventory entry keeps to the order item that made or changed it.
fn order_item_ref(order: &ServiceOrder, item: &ServiceItem) -> Value {
    json!({
        "serviceOrderId": order.id,
        "serviceOrderHref": order.href(),
        "itemId": item.id,
        "itemAction": item.action.map(ItemAction::as_str).unwrap_or_default(),
        "role": "fulfilled by",
    })
}

/// Activates an `add` item's RFSs, then writes them and the CFS to the inventory (in
/// `together`, with the order's end; `written` is told). When one RFS fails, those
/// already activated are taken down and the item's resources removed: the reason is
/// the item's.
async fn activate(
    step: &Step<'_>,
    work: ItemWork<'_>,
    together: &mut Together,
    written: &mut Vec<Activated>,
) -> Result<std::result::Result<(), String>> {
    let (engine, activation) = (step.engine, step.activation);
    let ItemWork {
        order,
        item,
        context,
    } = work;
    let (order_id, item_id) = (order.id.clone(), item.id.clone());
    let cfs = cfs_id(&order_id, &item_id);
    let at = engine.served(INVENTORY, "service")?;
    // Done by an earlier run? Looked up only when reading first: a new CFS id is in no
    // cache, and the commit finds an earlier one anyway.
    if together.reads_first() && engine.document(INVENTORY, "service", &cfs).await?.is_some() {
        return Ok(Ok(()));
    }
    let plan = match add_plan(engine, item, context).await? {
        Ok(plan) => plan,
        Err(reason) => return Ok(Err(reason)),
    };
    let resource_order = resource_order_id(&order_id);
    let mut services = Vec::with_capacity(plan.rfs.len());
    for (r, rfs) in plan.rfs.iter().enumerate() {
        let supporting: Vec<Value> = (0..rfs.resources.len())
            .map(|k| {
                json!({
                    "id": resource_id(&resource_order, &resource_item(&item_id, r, k)),
                    "@referredType": "Resource",
                })
            })
            .collect();
        services.push(json!({
            "id": rfs_id(&order_id, &item_id, r),
            "name": text(&rfs.spec, "name"),
            "serviceSpecification": plan::spec_ref(&rfs.spec, "ResourceFacingServiceSpecification"),
            "serviceCharacteristic": plan::to_list(&rfs.values),
            "supportingResource": supporting,
            "state": "active",
        }));
    }
    let mut failure = None;
    let mut activated = Vec::new();
    for service in &services {
        match activation.apply(Action::Activate, service).await {
            Ok(()) => activated.push(service),
            Err(reason) => {
                failure = Some(reason);
                break;
            }
        }
    }
    if let Some(reason) = failure {
        take_back(activation, activated).await;
        undo_item(engine, activation, &order_id, &item_id).await?;
        return Ok(Err(reason));
    }
    let order_item = order_item_ref(order, item);
    let now = switchboard_engine::now_rfc3339();
    // The RFSs first: the CFS refers to them.
    for mut service in services.iter().cloned() {
        service["serviceOrderItem"] = json!([order_item]);
        service["startDate"] = json!(now);
        let id = text(&service, "id");
        together.ensure(at, &id, service).await?;
    }
    let supporting: Vec<Value> = services
        .iter()
        .map(|service| json!({"id": text(service, "id"), "@referredType": "Service"}))
        .collect();
    let body = json!({
        "name": item
            .service
            .as_ref()
            .map(|service| service.name.clone())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| text(&plan.cfs_spec, "name")),
        "serviceSpecification": plan::spec_ref(&plan.cfs_spec, "CustomerFacingServiceSpecification"),
        "serviceCharacteristic": plan::to_list(&plan.values),
        "supportingService": supporting,
        "relatedParty": order.parties(),
        "serviceOrderItem": [order_item],
        "state": "active",
        "startDate": now,
    });
    together.ensure(at, &cfs, body).await?;
    written.push(Activated {
        item: item_id,
        services,
    });
    Ok(Ok(()))
}

/// Deactivates services an adapter activated for an item that will not complete.
/// Deactivation by the simulator cannot fail; a southbound one that does is logged (the
/// item fails with its own reason either way).
async fn take_back<'a>(activation: &Activation, services: impl IntoIterator<Item = &'a Value>) {
    for service in services {
        if let Err(more) = activation.apply(Action::Deactivate, service).await {
            tracing::warn!(service = %text(service, "id"), %more, "undoing an activation failed");
        }
    }
}

/// Applies a `modify` item: each RFS through its adapter, then the new values in the
/// inventory (RFSs, then the CFS). What an adapter refuses fails the item; RFSs already
/// changed keep their new values (noted in docs/wire-choices.md).
async fn modify(step: &Step<'_>, work: ItemWork<'_>) -> Result<std::result::Result<(), String>> {
    let (engine, activation) = (step.engine, step.activation);
    let ItemWork {
        order,
        item,
        context,
    } = work;
    let live = match live(engine, item, context).await? {
        Ok(live) => live,
        Err(reason) => return Ok(Err(reason)),
    };
    let at = engine.served(INVENTORY, "service")?;
    let order_item = order_item_ref(order, item);
    let mut changes: Vec<(String, Value)> = Vec::new();
    for (rfs, values, _) in &live.rfs {
        let mut service = rfs.clone();
        service["serviceCharacteristic"] = plan::to_list(values);
        if let Err(reason) = activation.apply(Action::Modify, &service).await {
            return Ok(Err(reason));
        }
        changes.push((text(rfs, "id"), plan::to_list(values)));
    }
    changes.push((text(&live.cfs, "id"), plan::to_list(&live.values)));
    for (id, values) in changes {
        engine
            .update_internal(at, &id, |doc| {
                doc["serviceCharacteristic"] = values.clone();
                let list = doc.as_object_mut().map(|fields| {
                    fields
                        .entry("serviceOrderItem")
                        .or_insert_with(|| json!([]))
                });
                if let Some(Value::Array(list)) = list {
                    if !list.contains(&order_item) {
                        list.push(order_item.clone());
                    }
                }
                Ok(())
            })
            .await?;
    }
    Ok(Ok(()))
}
