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
use switchboard_apis::{text, tmf639, tmf652, tmf685};
use switchboard_engine::{Engine, ErrorKind, Result, Together};

use crate::activation::Activation;
use crate::entry::order_to_work_on;
use crate::ids::{reservation_id, resource_id};
use crate::kind::{cancelling, Kind};
use crate::orders::{finish, finish_together, items, Outcome, SAFETY_NET};
use crate::plan::{self, Values};
use crate::undo::{release, resource as undo};
use crate::validation::{specification_of, target_of};

const API: &str = tmf652::CODE;
const ORDERS: &str = "resourceOrder";
const ITEMS: &str = "orderItem";
const INVENTORY: &str = tmf639::CODE;

pub async fn fulfil(engine: &Engine, id: &str) -> Result<()> {
    // A resource order activates nothing: its cancellation undoes without adapters.
    let activation = Activation::default();
    let Some(order) = order_to_work_on(engine, &activation, Kind::Resource, id, true).await? else {
        return Ok(());
    };
    let items = items(&order, ITEMS);
    if items.iter().all(|item| text(item, "action") == "add")
        && add_together(engine, &order).await?
    {
        return Ok(());
    }
    let mut outcomes = Vec::new();
    for item in items {
        let item_id = text(item, "id");
        let done = match text(item, "action").as_str() {
            "add" => add(engine, &order, item).await?,
            "modify" => modify(engine, item).await?,
            "delete" => match undo(engine, &target_of(item)).await {
                Ok(()) => Ok(()),
                // Still held by a live service, say (409): the item fails, the job ends.
                Err(error) if error.kind == ErrorKind::Conflict && !error.concurrent => {
                    Err(error.message)
                }
                Err(error) => return Err(error),
            },
            _ => Ok(()),
        };
        outcomes.push(Outcome::of(&item_id, done));
    }
    finish(engine, API, ORDERS, ITEMS, id, &outcomes).await
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

async fn plan_add(engine: &Engine, order: &Value, item: &Value) -> Result<Planned> {
    let order_id = text(order, "id");
    // A second run finds its reservation and its resource by their derived ids.
    let resource_id = resource_id(&order_id, &text(item, "id"));
    let (spec, pool) = pool_of(engine, &specification_of(item)).await?;
    let given = item.get("resource");
    let values: Values = plan::from_list(given.and_then(|r| r.get("resourceCharacteristic")));
    let name = given
        .map(|r| text(r, "name"))
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
        "relatedParty": order.get("relatedParty").cloned().unwrap_or(json!([])),
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
async fn add_together(engine: &Engine, order: &Value) -> Result<bool> {
    let together = engine.together(false).await?;
    add_in(engine, together, order).await
}

/// Creates a resource order a service order planned (`body`, in progress) and, when
/// every item adds, fulfils it in the same transaction (`add_together`). Answers false,
/// having written nothing, when that does not go through (the order was made by an
/// earlier run, say): the caller then creates it and runs `fulfil`.
pub async fn create_fulfilled(engine: &Engine, id: &str, body: Value) -> Result<bool> {
    if !items(&body, ITEMS)
        .iter()
        .all(|item| text(item, "action") == "add")
    {
        return Ok(false);
    }
    let mut together = engine.together(false).await?;
    let at = engine.served(API, ORDERS)?;
    match together.ensure(at, id, body).await {
        Ok((order, _)) => add_in(engine, together, &order).await,
        Err(_) => Ok(false),
    }
}

/// `add_together` in a transaction that may hold more (the order's creation).
async fn add_in(engine: &Engine, mut together: Together, order: &Value) -> Result<bool> {
    let order_id = text(order, "id");
    let inventory = engine.served(INVENTORY, "resource")?;
    let reservations = engine.served(tmf685::CODE, "reservation")?;
    // A resource order with a parent runs inside the parent's step, which resumes the
    // parent as soon as this returns.
    together.defer_jobs(SAFETY_NET);
    let mut outcomes = Vec::new();
    let mut made = Vec::new();
    for item in items(order, ITEMS) {
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
        outcomes.push(Outcome::completed(&text(item, "id")));
    }
    let ends = finish_together(together, (API, ORDERS, ITEMS), &order_id, &outcomes);
    if ends.await.is_err() {
        return Ok(false);
    }
    if cancelling(engine, Kind::Resource, &order_id).await? {
        for resource in &made {
            undo(engine, resource).await?; // the cancellation's undo may have run
        }
    }
    Ok(true)
}

async fn add(
    engine: &Engine,
    order: &Value,
    item: &Value,
) -> Result<std::result::Result<(), String>> {
    let order_id = text(order, "id");
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
            if cancelling(engine, Kind::Resource, &order_id).await? {
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
fn reservation_body(pool: &str, resource: &str, order: &Value) -> Value {
    json!({
        "description": format!("unit of resource {resource} (resource order {})", text(order, "id")),
        // v1 names one party; the order's first, else the fulfilment itself.
        "relatedParty": order
            .pointer("/relatedParty/0")
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
    order: &Value,
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

async fn modify(engine: &Engine, item: &Value) -> Result<std::result::Result<(), String>> {
    let target = target_of(item);
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
        item.get("resource")
            .and_then(|r| r.get("resourceCharacteristic")),
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
