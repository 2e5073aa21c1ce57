//! TMF652 fulfilment, one step (`fulfil`, queued with every new resource order, whether
//! a client or a service order made it). Validation (an `add` names a resource
//! specification in TMF634, a `modify`/`delete` a resource in TMF639), then per item:
//! - `add`: a unit from the specification's pool when it names one (our `resourcePool`
//!   extension: `{"id": pool, "characteristic": name}`), reserved in TMF685, then the
//!   resource in TMF639 with the item's characteristics and the unit;
//! - `modify`: the resource's characteristics (the pool's one keeps its unit);
//! - `delete`: the resource leaves the inventory and its unit goes back to the pool.
//!
//! A pool without a free unit fails the item (the reason is noted). The order ends
//! completed, failed or partial, which queues the service order that made it, if any.

use serde_json::{json, Value};
use switchboard_apis::catalog_rules::Entity;
use switchboard_apis::ordering::states::ItemAction;
use switchboard_apis::{text, tmf639, tmf652, tmf685};
use switchboard_engine::{Engine, ErrorKind, Result, Together};

use crate::activation::Activation;
use crate::entry::order_to_work_on;
use crate::ids::{reservation_id, resource_id};
use crate::kind::{cancelling, Kind};
use crate::model::{ResourceItem, ResourceOrder};
use crate::orders::{finish, finish_together, Outcome, Step, SAFETY_NET};
use crate::plan::{self, Values};
use crate::undo::{release, resource as undo};

const API: &str = tmf652::CODE;
const ORDERS: &str = "resourceOrder";
const INVENTORY: &str = tmf639::CODE;

pub async fn fulfil(engine: &Engine, id: &str) -> Result<()> {
    // A resource order activates nothing: its cancellation undoes without adapters.
    let activation = Activation::default();
    let step = Step {
        engine,
        activation: &activation,
        kind: Kind::Resource,
        id,
    };
    let Some(order) = order_to_work_on::<ResourceItem>(&step, true).await? else {
        return Ok(());
    };
    if adds_only(&order) && add_together(engine, &order).await? {
        return Ok(());
    }
    let mut outcomes = Vec::new();
    for item in &order.items {
        let done = match item.action {
            Some(ItemAction::Add) => add(engine, &order, item).await?,
            Some(ItemAction::Modify) => modify(engine, item).await?,
            Some(ItemAction::Delete) => match undo(engine, &item.target()).await {
                Ok(()) => Ok(()),
                // Still held by a live service, say (409): the item fails, the job ends.
                Err(error) if error.kind == ErrorKind::Conflict && !error.concurrent => {
                    Err(error.message)
                }
                Err(error) => return Err(error),
            },
            _ => Ok(()),
        };
        outcomes.push(Outcome::of(&item.id, done));
    }
    finish(engine, Kind::Resource, id, &outcomes).await
}

/// Whether every item of `order` is an `add`.
fn adds_only(order: &ResourceOrder) -> bool {
    order
        .items
        .iter()
        .all(|item| item.action == Some(ItemAction::Add))
}

/// The pool a resource specification draws from: (pool id, characteristic).
async fn pool_of(
    engine: &Engine,
    spec_id: &str,
) -> Result<(Option<Value>, Option<(String, String)>)> {
    let Some(spec) = engine
        .document(
            Entity::ResourceSpecification.api(),
            "resourceSpecification",
            spec_id,
        )
        .await?
    else {
        return Ok((None, None));
    };
    let pool = plan::resource_plan(spec.clone(), &plan::Context::default()).pool;
    Ok((Some(spec), pool))
}

/// What an `add` item makes: its resource (id and body, without the pool unit) and
/// the pool it draws a unit from, if any.
struct Planned {
    resource_id: String,
    body: Value,
    values: Values,
    pool: Option<(String, String)>,
}

async fn plan_add(engine: &Engine, order: &ResourceOrder, item: &ResourceItem) -> Result<Planned> {
    // A second run finds its reservation and its resource by their derived ids.
    let resource_id = resource_id(&order.id, &item.id);
    let (spec, pool) = pool_of(engine, &item.specification()).await?;
    let given = item.resource.as_ref();
    let values: Values = plan::from_list(given.and_then(|r| r.resource_characteristic.as_ref()));
    let name = given
        .map(|r| r.name.clone())
        .filter(|name| !name.is_empty())
        .or_else(|| spec.as_ref().map(|spec| text(spec, "name")))
        .unwrap_or_else(|| resource_id.clone());
    let mut body = json!({
        "name": name,
        "administrativeState": "unlocked",
        "operationalState": "enable",
        "usageState": "active",
        "resourceStatus": "available",
        "startOperatingDate": switchboard_engine::now_rfc3339(),
        "relatedParty": order.parties(),
    });
    if let Some(spec) = &spec {
        body["resourceSpecification"] = plan::spec_ref(spec, "ResourceSpecification");
    }
    Ok(Planned {
        resource_id,
        body,
        values,
        pool,
    })
}

impl Planned {
    /// The resource's body, with the pool unit (which names it) when it has one.
    fn body(mut self, unit: Option<String>) -> (String, Value) {
        if let (Some((_, characteristic)), Some(unit)) = (&self.pool, unit) {
            self.values.insert(characteristic.clone(), json!(unit));
            self.body["name"] = json!(unit);
        }
        self.body["resourceCharacteristic"] = plan::to_list(&self.values);
        (self.resource_id, self.body)
    }
}

/// Every item an `add` (the common case): the resources, their pool units and the
/// order's end in one transaction (one commit instead of one per document). Answers
/// false, having written nothing, when that does not go through (a pool without a
/// free unit, a refused resource, a concurrent change): the items then run one by one,
/// each failing on its own.
async fn add_together(engine: &Engine, order: &ResourceOrder) -> Result<bool> {
    let together = engine.together(false).await?;
    add_in(engine, together, order).await
}

/// Creates a resource order a service order planned (`body`, in progress) and, when
/// every item adds, fulfils it in the same transaction (`add_together`). Answers false,
/// having written nothing, when that does not go through (the order was made by an
/// earlier run, say): the caller then creates it and runs `fulfil`.
pub async fn create_fulfilled(engine: &Engine, id: &str, body: Value) -> Result<bool> {
    let planned = ResourceOrder::from_value(&body)?;
    if !adds_only(&planned) {
        return Ok(false);
    }
    let mut together = engine.together(false).await?;
    let at = engine.served(API, ORDERS)?;
    match together.ensure(at, id, body).await {
        Ok((order, _)) => add_in(engine, together, &ResourceOrder::from_value(&order)?).await,
        Err(_) => Ok(false),
    }
}

/// `add_together` in a transaction that may hold more (the order's creation).
async fn add_in(engine: &Engine, mut together: Together, order: &ResourceOrder) -> Result<bool> {
    let order_id = &order.id;
    let inventory = engine.served(INVENTORY, "resource")?;
    let reservations = engine.served(tmf685::CODE, "reservation")?;
    // A resource order with a parent runs inside the parent's step, which resumes the
    // parent as soon as this returns.
    together.defer_jobs(SAFETY_NET);
    let mut outcomes = Vec::new();
    let mut made = Vec::new();
    for item in &order.items {
        let planned = plan_add(engine, order, item).await?;
        let mut unit = None;
        if let Some((pool, _)) = &planned.pool {
            let body = reservation_body(pool, &planned.resource_id, order);
            let id = reservation_id(&planned.resource_id);
            match together.ensure(reservations, &id, body).await {
                Ok((reservation, _)) => match reserved_unit(&reservation, &planned.resource_id) {
                    Ok(reserved) => unit = Some(reserved),
                    Err(_) => return Ok(false),
                },
                Err(_) => return Ok(false),
            }
        }
        let (resource_id, body) = planned.body(unit);
        if together
            .ensure(inventory, &resource_id, body)
            .await
            .is_err()
        {
            return Ok(false);
        }
        made.push(resource_id);
        outcomes.push(Outcome::completed(&item.id));
    }
    let ends = finish_together(together, Kind::Resource, order_id, &outcomes);
    if ends.await.is_err() {
        return Ok(false);
    }
    if cancelling(engine, Kind::Resource, order_id).await? {
        for resource in &made {
            undo(engine, resource).await?; // the cancellation's undo may have run
        }
    }
    Ok(true)
}

async fn add(
    engine: &Engine,
    order: &ResourceOrder,
    item: &ResourceItem,
) -> Result<std::result::Result<(), String>> {
    let order_id = &order.id;
    let planned = plan_add(engine, order, item).await?;
    let mut unit = None;
    if let Some((pool_id, _)) = &planned.pool {
        match reserve(engine, pool_id, &planned.resource_id, order).await? {
            Ok(reserved) => unit = Some(reserved),
            Err(reason) => return Ok(Err(reason)),
        }
    }
    let (resource_id, body) = planned.body(unit);
    let at = engine.served(INVENTORY, "resource")?;
    match engine.ensure(at, &resource_id, body).await {
        Ok(_) => {
            if cancelling(engine, Kind::Resource, order_id).await? {
                undo(engine, &resource_id).await?; // the cancellation's undo may have run
            }
            Ok(Ok(()))
        }
        Err(error) if error.kind == ErrorKind::BadRequest => {
            release(engine, &resource_id).await?;
            Ok(Err(error.message))
        }
        Err(error) => Err(error),
    }
}

/// A reservation of one unit of `pool` for a resource.
fn reservation_body(pool: &str, resource: &str, order: &ResourceOrder) -> Value {
    json!({
        "description": format!("unit of resource {resource} (resource order {})", order.id),
        // v1 names one party; the order's first, else the fulfilment itself.
        "relatedParty": order
            .related_party
            .as_ref()
            .and_then(|parties| parties.pointer("/0"))
            .cloned()
            .unwrap_or_else(|| json!({"id": "switchboard", "name": "Switchboard", "role": "fulfilment"})),
        "reservationItem": [{"quantity": 1, "resourceCapacity": {"resourcePool": {"id": pool}}}],
    })
}

/// The unit a reservation holds, or why it holds none.
fn reserved_unit(reservation: &Value, resource: &str) -> std::result::Result<String, String> {
    if text(reservation, "reservationState") != "reserved" {
        return Err(format!(
            "the reservation of resource {resource} is {}",
            text(reservation, "reservationState")
        ));
    }
    Ok(reservation
        .pointer("/reservationItem/0/appliedCapacityAmount/resource/0/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string())
}

/// Reserves one unit of `pool` for a resource; the unit's name, or why there is none.
async fn reserve(
    engine: &Engine,
    pool: &str,
    resource: &str,
    order: &ResourceOrder,
) -> Result<std::result::Result<String, String>> {
    let at = engine.served(tmf685::CODE, "reservation")?;
    let body = reservation_body(pool, resource, order);
    let reservation = match engine.ensure(at, &reservation_id(resource), body).await {
        Ok((reservation, _)) => reservation,
        Err(error)
            if matches!(
                error.kind,
                ErrorKind::Conflict | ErrorKind::BadRequest | ErrorKind::NotFound
            ) && !error.concurrent =>
        {
            return Ok(Err(format!("pool '{pool}': {}", error.message)))
        }
        Err(error) => return Err(error),
    };
    Ok(reserved_unit(&reservation, resource))
}

async fn modify(engine: &Engine, item: &ResourceItem) -> Result<std::result::Result<(), String>> {
    let target = item.target();
    let Some(current) = engine.document(INVENTORY, "resource", &target).await? else {
        return Ok(Err(format!("resource '{target}' is not in the inventory")));
    };
    let spec_id = current
        .get("resourceSpecification")
        .map(|spec| text(spec, "id"))
        .unwrap_or_default();
    let (_, pool) = pool_of(engine, &spec_id).await?;
    let mut values = plan::from_list(current.get("resourceCharacteristic"));
    let kept = pool.as_ref().and_then(|(_, characteristic)| {
        values
            .get(characteristic)
            .cloned()
            .map(|v| (characteristic.clone(), v))
    });
    values.extend(plan::from_list(
        item.resource
            .as_ref()
            .and_then(|r| r.resource_characteristic.as_ref()),
    ));
    if let Some((characteristic, unit)) = kept {
        values.insert(characteristic, unit); // the unit stays what the pool handed out
    }
    let list = plan::to_list(&values);
    let at = engine.served(INVENTORY, "resource")?;
    match engine
        .update_internal(at, &target, |doc| {
            doc["resourceCharacteristic"] = list.clone();
            Ok(())
        })
        .await
    {
        Ok(_) => Ok(Ok(())),
        Err(error) if error.kind == ErrorKind::BadRequest => Ok(Err(error.message)),
        Err(error) => Err(error),
    }
}
