//! Reservations: a new one takes its units from each pool it names (pools locked in one
//! order), a reservation leaving `reserved` gives them back, and a reservation whose end
//! passes is moved to `expired` by a job queued for that time.

use serde_json::{json, Value};
use switchboard_engine::{
    Engine, Error, HookFuture, Hooks, JobFuture, JobHandler, NewJob, Result, Scope, WriteKind,
};

use super::pool::{PoolState, CODE};
use super::units::MAX_UNITS_PER_REQUEST;
use crate::doc::text;
use crate::steps::{payload_id, settle};

pub(super) const EXPIRY_QUEUE: &str = "tmf685.expireReservation";

pub(super) struct ReservationHooks;

impl Hooks for ReservationHooks {
    fn check(&self, kind: WriteKind, doc: &mut Value, previous: Option<&Value>) -> Result<()> {
        match (kind, previous) {
            (WriteKind::Create, _) => {
                // The server decides: a reservation that is stored holds its units.
                doc["reservationState"] = json!("reserved");
                if let Some(end) = expiry(doc)? {
                    if end <= switchboard_store::now_millis() {
                        return Err(Error::invalid_body(
                            "the reservation would end before it starts: its end is in the past",
                        ));
                    }
                }
                for item in items(doc) {
                    demand(item)?;
                }
                Ok(())
            }
            (WriteKind::Update, Some(previous)) => {
                if doc.get("reservationItem") != previous.get("reservationItem") {
                    return Err(Error::invalid_body(
                        "'reservationItem' cannot change: release this reservation and make \
                         another",
                    ));
                }
                expiry(doc)?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn jobs(&self, kind: WriteKind, doc: &Value, previous: Option<&Value>) -> Vec<NewJob> {
        let Ok(Some(end)) = expiry(doc) else {
            return Vec::new();
        };
        let unchanged =
            previous.is_some_and(|previous| matches!(expiry(previous), Ok(Some(e)) if e == end));
        if kind == WriteKind::Delete || unchanged || text(doc, "reservationState") != "reserved" {
            return Vec::new();
        }
        let id = text(doc, "id");
        vec![NewJob {
            queue: EXPIRY_QUEUE.to_string(),
            payload: json!({"id": id}),
            dedup_key: Some(format!("{EXPIRY_QUEUE}:{id}:{end}")),
            run_at: Some(end),
        }]
    }

    fn transactional(&self) -> bool {
        true
    }

    fn within<'a>(
        &'a self,
        scope: &'a mut Scope,
        kind: WriteKind,
        doc: &'a mut Value,
        previous: Option<&'a Value>,
    ) -> HookFuture<'a> {
        Box::pin(async move {
            match (kind, previous) {
                (WriteKind::Create, _) => reserve(scope, doc).await,
                (WriteKind::Update, Some(previous)) => {
                    let was = text(previous, "reservationState");
                    let is = text(doc, "reservationState");
                    if was == "reserved" && is != "reserved" {
                        release(scope, doc, &is).await?;
                    }
                    Ok(())
                }
                _ => Ok(()),
            }
        })
    }
}

fn items(doc: &mut Value) -> Vec<&mut Value> {
    match doc.get_mut("reservationItem") {
        Some(Value::Array(items)) => items.iter_mut().collect(),
        _ => Vec::new(),
    }
}

/// The pool and the number of units one reservation item asks for.
fn demand(item: &Value) -> Result<(String, u64)> {
    let capacity = item.get("resourceCapacity");
    let pool = capacity
        .and_then(|capacity| capacity.get("resourcePool"))
        .and_then(|pool| pool.get("id"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::invalid_body(
                "each 'reservationItem' names its pool in 'resourceCapacity.resourcePool.id'",
            )
        })?;
    let amount = capacity
        .and_then(|capacity| capacity.get("capacityDemandAmount"))
        .and_then(Value::as_str);
    let count = match (item.get("quantity"), amount) {
        (Some(quantity), _) => quantity.as_u64(),
        (None, Some(amount)) => amount.trim().parse().ok(),
        (None, None) => Some(1),
    };
    match count {
        Some(count @ 1..=MAX_UNITS_PER_REQUEST) => Ok((pool.to_string(), count)),
        _ => Err(Error::invalid_body(format!(
            "a 'reservationItem' asks for 1 to {MAX_UNITS_PER_REQUEST} units ('quantity', or \
             'resourceCapacity.capacityDemandAmount')"
        ))),
    }
}

async fn reserve(scope: &mut Scope, doc: &mut Value) -> Result<()> {
    // Lock pools in one order, so that two multi-pool reservations cannot wait on each
    // other.
    let mut demands: Vec<(usize, String, u64)> = Vec::new();
    for (index, item) in items(doc).into_iter().enumerate() {
        let (pool, count) = demand(item)?;
        demands.push((index, pool, count));
    }
    demands.sort_by(|a, b| a.1.cmp(&b.1));
    let mut states: Vec<PoolState> = Vec::new();
    let mut taken: Vec<(usize, usize, Vec<u64>)> = Vec::new();
    for (index, pool, count) in demands {
        let position = match states.iter().position(|state| state.id == pool) {
            Some(position) => position,
            None => {
                states.push(PoolState::load(scope, &pool).await?);
                states.len() - 1
            }
        };
        let units = states[position].take(count)?;
        taken.push((index, position, units));
    }
    for state in &states {
        state.save(scope).await?;
    }
    let mut items = items(doc);
    for (index, position, units) in taken {
        let Some(item) = items.get_mut(index) else {
            continue;
        };
        item["subReservationState"] = json!("reserved");
        item["appliedCapacityAmount"] = json!({
            "appliedDemandAmount": units.len().to_string(),
            "resource": states[position].unit_refs(&units),
        });
    }
    Ok(())
}

async fn release(scope: &mut Scope, doc: &mut Value, state: &str) -> Result<()> {
    let mut held: Vec<(String, Vec<Value>)> = Vec::new();
    for item in items(doc) {
        let (pool, _) = demand(item)?;
        let units = item
            .get("appliedCapacityAmount")
            .and_then(|applied| applied.get("resource"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        item["subReservationState"] = json!(state);
        held.push((pool, units));
    }
    held.sort_by(|a, b| a.0.cmp(&b.0));
    for (pool, units) in held {
        let mut pool_state = match PoolState::load(scope, &pool).await {
            Ok(pool_state) => pool_state,
            // A pool deleted meanwhile has nothing to take back.
            Err(error) if error.kind == switchboard_engine::ErrorKind::BadRequest => continue,
            Err(error) => return Err(error),
        };
        let indices = pool_state.indices(&units)?;
        pool_state.ledger.give_back(&indices);
        pool_state.save(scope).await?;
    }
    Ok(())
}

/// When a reservation lapses (ms since the epoch): v1's `valid_for` instant, or
/// `validFor.endDateTime` as other TMF APIs write a period.
fn expiry(doc: &Value) -> Result<Option<i64>> {
    let text = doc.get("valid_for").and_then(Value::as_str).or_else(|| {
        doc.get("validFor")
            .and_then(|period| period.get("endDateTime"))
            .and_then(Value::as_str)
    });
    let Some(text) = text else {
        return Ok(None);
    };
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            Error::invalid_body(format!(
                "the reservation's end '{text}' is not a date-time (RFC 3339)"
            ))
        })?;
    Ok(Some((at.unix_timestamp_nanos() / 1_000_000) as i64))
}

/// Moves a reservation whose time is up to `expired`, which gives its units back.
pub(super) struct Expiry;

impl JobHandler for Expiry {
    fn run<'a>(&'a self, engine: &'a Engine, payload: &'a Value) -> JobFuture<'a> {
        Box::pin(async move {
            let id = payload_id(payload);
            let at = engine
                .served(CODE, "reservation")
                .map_err(|error| error.to_string())?;
            let now = switchboard_store::now_millis();
            let outcome = engine
                .update_internal(at, id, |doc| {
                    let due = matches!(expiry(doc), Ok(Some(end)) if end <= now);
                    if due && text(doc, "reservationState") == "reserved" {
                        doc["reservationState"] = json!("expired");
                    }
                    Ok(())
                })
                .await;
            settle(outcome)
        })
    }
}
