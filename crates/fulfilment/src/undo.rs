//! Undoing what the chain added, one level at a time and each part skipped when already
//! done: a product order's products and service orders; a service order item's RFSs
//! (deactivated through their adapters), CFS and resources; a resource and its pool
//! unit. Used by the cancellation (`cancel::complete`) and by a step that finds its item
//! failed or its order being cancelled after it wrote.

use serde_json::{json, Value};
use switchboard_apis::ordering::states::ItemAction;
use switchboard_apis::{text, tmf637, tmf638, tmf639, tmf641, tmf652, tmf685};
use switchboard_engine::{Engine, ErrorKind, Result};

use crate::activation::{Action, Activation};
use crate::ids::{
    cfs_id, product_id, reservation_id, resource_id, resource_order_id, rfs_id, service_order_id,
};
use crate::model::{ProductOrder, ResourceOrder, ServiceOrder};
use crate::orders::terminate;

/// Undoes what a product order added (a cancellation): each item's service order is
/// undone and the product an `add` created is terminated.
pub async fn product_order(
    engine: &Engine,
    activation: &Activation,
    order: &ProductOrder,
) -> Result<()> {
    let order_id = &order.id;
    for item in &order.items {
        let item_id = &item.id;
        if let Some(service_order) = engine
            .document_as::<ServiceOrder>(
                tmf641::CODE,
                "serviceOrder",
                &service_order_id(order_id, item_id),
            )
            .await?
        {
            self::service_order(engine, activation, &service_order).await?;
        }
        terminate_product(engine, &product_id(order_id, item_id)).await?;
    }
    Ok(())
}

/// Ends a product in the inventory (`terminated`).
pub async fn terminate_product(engine: &Engine, id: &str) -> Result<()> {
    let product = (tmf637::CODE, "product");
    terminate(engine, product, ("status", "terminationDate"), id).await
}

/// Undoes every `add` of a service order (a cancellation, or a product order item that
/// failed as a whole): its RFSs deactivated and terminated, its CFS terminated, its
/// resources removed and their units released. Each part is skipped when already done.
pub async fn service_order(
    engine: &Engine,
    activation: &Activation,
    order: &ServiceOrder,
) -> Result<()> {
    for item in &order.items {
        if item.action == Some(ItemAction::Add) {
            service_order_item(engine, activation, &order.id, &item.id).await?;
        }
    }
    Ok(())
}

/// Undoes one `add` item of a service order (see `service_order`).
pub async fn service_order_item(
    engine: &Engine,
    activation: &Activation,
    order_id: &str,
    item_id: &str,
) -> Result<()> {
    // RFSs are written in order, so the first one missing ends the list.
    for r in 0.. {
        let Some(rfs) = engine
            .document(tmf638::CODE, "service", &rfs_id(order_id, item_id, r))
            .await?
        else {
            break;
        };
        deactivate(engine, activation, &rfs).await?;
    }
    terminate_service(engine, &cfs_id(order_id, item_id)).await?;
    let resource_order = resource_order_id(order_id);
    if let Some(resources) = engine
        .document_as::<ResourceOrder>(tmf652::CODE, "resourceOrder", &resource_order)
        .await?
    {
        let prefix = format!("{item_id}.");
        for entry in &resources.items {
            if entry.action == Some(ItemAction::Add) && entry.id.starts_with(&prefix) {
                resource(engine, &resource_id(&resource_order, &entry.id)).await?;
            }
        }
    }
    Ok(())
}

/// Takes a service down through its adapter and ends it in the inventory.
pub async fn deactivate(engine: &Engine, activation: &Activation, service: &Value) -> Result<()> {
    if text(service, "state") == "terminated" {
        return Ok(());
    }
    if let Err(reason) = activation.apply(Action::Deactivate, service).await {
        // Retried with the job: a service that cannot be taken down stays up.
        return Err(switchboard_engine::Error::new(
            ErrorKind::Unavailable,
            "Activation failed",
            reason,
        ));
    }
    terminate_service(engine, &text(service, "id")).await
}

/// Ends a service in the inventory (`terminated`).
pub async fn terminate_service(engine: &Engine, service: &str) -> Result<()> {
    terminate(
        engine,
        (tmf638::CODE, "service"),
        ("state", "endDate"),
        service,
    )
    .await
}

/// Undoes every `add` of a resource order (a cancellation).
pub async fn resource_order(engine: &Engine, order: &ResourceOrder) -> Result<()> {
    for item in &order.items {
        if item.action == Some(ItemAction::Add) {
            resource(engine, &resource_id(&order.id, &item.id)).await?;
        }
    }
    Ok(())
}

/// Takes a resource out of the inventory and gives its pool unit back: a `delete`
/// item, and the compensation of an `add` whose service could not be activated. Each
/// part is skipped when already done.
pub async fn resource(engine: &Engine, resource: &str) -> Result<()> {
    if resource.is_empty() {
        return Ok(());
    }
    let at = engine.served(tmf639::CODE, "resource")?;
    match engine.delete(at, resource, None).await {
        Ok(()) => {}
        Err(error) if error.kind == ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    release(engine, resource).await
}

/// Gives back the pool unit held for a resource, if any.
pub async fn release(engine: &Engine, resource: &str) -> Result<()> {
    let at = engine.served(tmf685::CODE, "reservation")?;
    match engine
        .update_internal(at, &reservation_id(resource), |reservation| {
            if text(reservation, "reservationState") == "reserved" {
                reservation["reservationState"] = json!("released");
            }
            Ok(())
        })
        .await
    {
        Ok(_) => Ok(()),
        Err(error) if error.kind == ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}
