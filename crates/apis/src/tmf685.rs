//! TMF685 Resource Pool Management v1: pools of resources (an IPv4 block, a VLAN range,
//! a counted capacity, a set of named resources), reservations that allocate from them,
//! availability checks, and push/extract of units.
//!
//! Allocation is race-free on every backend: each pool has an internal ledger (never
//! shown to clients) that every allocation and release rewrites at the version it read,
//! in the same transaction as the reservation; a concurrent write makes the commit fail
//! and the engine runs the write again. Within one process, writers of one pool also
//! queue on a lock, so they do not collide at all.
//!
//! The ledger: units are numbered 0..total in the pool's order (the addresses of the
//! block, the VLAN ids of the range, 1..=amount, the entries of `resourceCollection`).
//! `next` is the first unit never handed out, `free` the units handed out and returned
//! since (lowest first), `extracted` those taken out by an extract. So a unit is handed
//! out again only after it came back, and the next free unit is the lowest returned one,
//! else `next`.

use std::net::Ipv4Addr;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use switchboard_engine::{
    ApiDecl, Engine, Error, HookFuture, Hooks, Internal, JobFuture, JobHandler, NewJob, Operations,
    ResourceDecl, Result, Scope, StateMachine, View, ViewFuture, WriteKind,
};

use crate::steps::{payload_id, settle};
use crate::text;

pub const CODE: &str = "TMF685";
const EXPIRY_QUEUE: &str = "tmf685.expireReservation";
const LEDGER: &str = "ledger";
/// Units one request may take: a reservation lists every unit it holds.
const MAX_UNITS_PER_REQUEST: u64 = 10_000;

/// A reservation holds its units while `reserved`; every other state gave them back.
const RESERVATION_TRANSITIONS: &[(&str, &[&str])] = &[
    ("reserved", &["released", "cancelled", "expired"]),
    ("released", &[]),
    ("cancelled", &[]),
    ("expired", &[]),
];

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        base_path: "/tmf-api/resourcePoolManagement/v1",
        schema: include_str!("../../../schemas/TMF685.json"),
        resources: vec![
            ResourceDecl {
                create_schema: Some("ResourcePool_Create"),
                update_schema: Some("ResourcePool_Update"),
                hooks: Some(Arc::new(PoolHooks)),
                views: vec![("availability", Arc::new(Availability))],
                ..ResourceDecl::new("resourcePool", "ResourcePool")
            },
            ResourceDecl {
                create_schema: Some("Reservation_Create"),
                update_schema: Some("Reservation_Update"),
                operations: Operations {
                    delete: false,
                    ..Operations::ALL
                },
                state: Some(StateMachine {
                    attribute: "reservationState",
                    initial: Some("reserved"),
                    transitions: RESERVATION_TRANSITIONS,
                }),
                hooks: Some(Arc::new(ReservationHooks)),
                ..ResourceDecl::new("reservation", "Reservation")
            },
            task("availabilityCheck", "AvailabilityCheck", Task::Check),
            task("push", "Push", Task::Push),
            task("extract", "Extract", Task::Extract),
        ],
    }
}

pub fn job_handlers() -> Vec<(String, Arc<dyn JobHandler>)> {
    vec![(EXPIRY_QUEUE.to_string(), Arc::new(Expiry))]
}

fn task(collection: &'static str, resource_type: &'static str, task: Task) -> ResourceDecl {
    ResourceDecl {
        operations: Operations {
            delete: false,
            ..Operations::TASK
        },
        hooks: Some(Arc::new(TaskHooks(task))),
        ..ResourceDecl::new(collection, resource_type)
    }
}

// ---------------------------------------------------------------------------------
// What a pool holds.

/// The units a pool hands out, from its `capacity` (our extension) or its
/// `resourceCollection`.
#[derive(Debug, Clone, PartialEq)]
enum Units {
    /// Host addresses of an IPv4 block: `{"type": "ipv4", "cidr": "10.0.0.0/24"}`.
    Ipv4 { first: u32, count: u64 },
    /// VLAN ids: `{"type": "vlan", "first": 100, "last": 199}`.
    Vlan { first: u64, last: u64 },
    /// A plain amount: `{"type": "count", "amount": 50}`, units "1".."50".
    Count { amount: u64 },
    /// The pool's `resourceCollection` entries (objectId, else name).
    Set(Vec<String>),
}

impl Units {
    fn of(pool: &Value) -> Result<Units> {
        let Some(capacity) = pool.get("capacity") else {
            let entries: Vec<String> = pool
                .get("resourceCollection")
                .and_then(Value::as_array)
                .map(|entries| entries.iter().map(collection_entry).collect())
                .transpose()?
                .unwrap_or_default();
            let mut names: Vec<&String> = entries.iter().collect();
            names.sort();
            if let Some(twice) = names.windows(2).find(|pair| pair[0] == pair[1]) {
                return Err(Error::invalid_body(format!(
                    "'resourceCollection' names '{}' twice; each unit of a pool is one resource",
                    twice[0]
                )));
            }
            return Ok(Units::Set(entries));
        };
        let kind = capacity.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "ipv4" => {
                let cidr = capacity
                    .get("cidr")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        Error::invalid_body(
                            "'capacity.cidr' must be a string such as \"10.0.0.0/24\"",
                        )
                    })?;
                let (address, prefix) = parse_cidr(cidr)?;
                let size: u64 = 1 << (32 - prefix);
                let network = u32::from(address) & (u64::from(u32::MAX) << (32 - prefix)) as u32;
                let (first, count) = if prefix <= 30 {
                    // The network and broadcast addresses are not handed out.
                    (network + 1, size - 2)
                } else {
                    (network, size)
                };
                Ok(Units::Ipv4 { first, count })
            }
            "vlan" => {
                let bound = |key: &str| {
                    capacity
                        .get(key)
                        .and_then(Value::as_u64)
                        .filter(|id| (1..=4094).contains(id))
                        .ok_or_else(|| {
                            Error::invalid_body(format!(
                                "'capacity.{key}' must be a VLAN id from 1 to 4094"
                            ))
                        })
                };
                let (first, last) = (bound("first")?, bound("last")?);
                if first > last {
                    return Err(Error::invalid_body(
                        "'capacity.first' must not be above 'capacity.last'",
                    ));
                }
                Ok(Units::Vlan { first, last })
            }
            "count" => {
                let amount = capacity
                    .get("amount")
                    .and_then(Value::as_u64)
                    .filter(|amount| *amount <= u64::from(u32::MAX))
                    .ok_or_else(|| {
                        Error::invalid_body("'capacity.amount' must be a whole number of units")
                    })?;
                Ok(Units::Count { amount })
            }
            other => Err(Error::invalid_body(format!(
                "'capacity.type' '{other}' is not a pool type; known: ipv4, vlan, count"
            ))),
        }
    }

    fn total(&self) -> u64 {
        match self {
            Units::Ipv4 { count, .. } => *count,
            Units::Vlan { first, last } => last - first + 1,
            Units::Count { amount } => *amount,
            Units::Set(entries) => entries.len() as u64,
        }
    }

    /// The name of unit `index` (< total).
    fn name(&self, index: u64) -> String {
        match self {
            Units::Ipv4 { first, .. } => {
                Ipv4Addr::from(first.wrapping_add(index as u32)).to_string()
            }
            Units::Vlan { first, .. } => (first + index).to_string(),
            Units::Count { .. } => (index + 1).to_string(),
            Units::Set(entries) => entries.get(index as usize).cloned().unwrap_or_default(),
        }
    }

    /// The index of the unit called `name`, if the pool has one.
    fn index(&self, name: &str) -> Option<u64> {
        let index = match self {
            Units::Ipv4 { first, .. } => {
                let address: Ipv4Addr = name.parse().ok()?;
                u64::from(u32::from(address).checked_sub(*first)?)
            }
            Units::Vlan { first, .. } => name.parse::<u64>().ok()?.checked_sub(*first)?,
            Units::Count { .. } => name.parse::<u64>().ok()?.checked_sub(1)?,
            Units::Set(entries) => entries.iter().position(|entry| entry == name)? as u64,
        };
        (index < self.total()).then_some(index)
    }

    fn unit_type(&self) -> &'static str {
        match self {
            Units::Ipv4 { .. } => "IPv4Address",
            Units::Vlan { .. } => "VlanId",
            Units::Count { .. } => "CapacityUnit",
            Units::Set(_) => "Resource",
        }
    }
}

fn collection_entry(entry: &Value) -> Result<String> {
    entry
        .get("objectId")
        .or_else(|| entry.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            Error::invalid_body("each 'resourceCollection' entry needs an 'objectId' or a 'name'")
        })
}

fn parse_cidr(cidr: &str) -> Result<(Ipv4Addr, u32)> {
    let invalid = || {
        Error::invalid_body(format!(
            "'capacity.cidr' '{cidr}' is not an IPv4 block such as 10.0.0.0/24 (prefix 8 to 32)"
        ))
    };
    let (address, prefix) = cidr.split_once('/').ok_or_else(invalid)?;
    let address: Ipv4Addr = address.parse().map_err(|_| invalid())?;
    let prefix: u32 = prefix.parse().map_err(|_| invalid())?;
    if !(8..=32).contains(&prefix) {
        return Err(invalid());
    }
    Ok((address, prefix))
}

// ---------------------------------------------------------------------------------
// The ledger.

#[derive(Debug, Clone, Default)]
struct Ledger {
    next: u64,
    /// Returned units, ascending.
    free: Vec<u64>,
    extracted: Vec<u64>,
}

impl Ledger {
    fn from_value(value: &Value) -> Ledger {
        let list = |key: &str| -> Vec<u64> {
            value
                .get(key)
                .and_then(Value::as_array)
                .map(|items| items.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default()
        };
        Ledger {
            next: value.get("next").and_then(Value::as_u64).unwrap_or(0),
            free: list("free"),
            extracted: list("extracted"),
        }
    }

    fn to_value(&self) -> Value {
        json!({"next": self.next, "free": self.free, "extracted": self.extracted})
    }

    fn allocated(&self) -> u64 {
        self.next - self.free.len() as u64
    }

    fn available(&self, total: u64) -> u64 {
        total.saturating_sub(self.allocated())
    }

    /// The next `count` free units, lowest first, without taking them.
    fn peek(&self, total: u64, count: u64) -> Vec<u64> {
        let mut units: Vec<u64> = self.free.iter().copied().take(count as usize).collect();
        let mut next = self.next;
        while (units.len() as u64) < count && next < total {
            units.push(next);
            next += 1;
        }
        units
    }

    fn take(&mut self, total: u64, count: u64) -> Option<Vec<u64>> {
        if self.available(total) < count {
            return None;
        }
        let units = self.peek(total, count);
        let from_free = units.iter().filter(|unit| **unit < self.next).count();
        self.free.drain(..from_free);
        self.next += (units.len() - from_free) as u64;
        Some(units)
    }

    /// Gives units back; a unit that is not out is left alone (a release runs once,
    /// but the ledger never counts a unit twice).
    fn give_back(&mut self, units: &[u64]) {
        for unit in units {
            if *unit < self.next {
                if let Err(position) = self.free.binary_search(unit) {
                    self.free.insert(position, *unit);
                }
            }
        }
    }
}

/// A pool and its ledger as one write sees them.
struct PoolState {
    id: String,
    units: Units,
    ledger: Ledger,
    read: Internal,
}

impl PoolState {
    /// Reads pool `id` for a write that will change its ledger (serialising on it).
    async fn load(scope: &mut Scope, id: &str) -> Result<PoolState> {
        scope
            .serialize_on(&format!("{CODE}/resourcePool/{id}"))
            .await;
        PoolState::read(scope, id).await
    }

    async fn read(scope: &mut Scope, id: &str) -> Result<PoolState> {
        let Some(pool) = scope.document(CODE, "resourcePool", id).await? else {
            return Err(Error::invalid_body(format!(
                "resourcePool '{id}' does not exist"
            )));
        };
        let read = scope.internal(LEDGER, id).await?.ok_or_else(|| {
            Error::internal(format!("resourcePool '{id}' has no allocation ledger"))
        })?;
        Ok(PoolState {
            id: id.to_string(),
            units: Units::of(&pool)?,
            ledger: Ledger::from_value(&read.value),
            read,
        })
    }

    async fn save(&self, scope: &mut Scope) -> Result<()> {
        scope
            .put_internal(LEDGER, &self.id, Some(&self.read), &self.ledger.to_value())
            .await
    }

    fn take(&mut self, count: u64) -> Result<Vec<u64>> {
        let total = self.units.total();
        self.ledger.take(total, count).ok_or_else(|| {
            Error::conflict(format!(
                "resourcePool '{}' has {} free unit(s) of {total}; {count} requested",
                self.id,
                self.ledger.available(total)
            ))
        })
    }

    fn unit_refs(&self, units: &[u64]) -> Vec<Value> {
        units
            .iter()
            .map(|unit| {
                json!({
                    "id": format!("{}/{}", self.id, self.units.name(*unit)),
                    "name": self.units.name(*unit),
                    "@referredType": self.units.unit_type(),
                })
            })
            .collect()
    }

    /// Units named in `refs` (by `name`), each one this pool has.
    fn indices(&self, refs: &[Value]) -> Result<Vec<u64>> {
        refs.iter()
            .map(|unit| {
                let name = unit.get("name").and_then(Value::as_str).unwrap_or_default();
                self.units.index(name).ok_or_else(|| {
                    Error::invalid_body(format!("resourcePool '{}' has no unit '{name}'", self.id))
                })
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------
// Pools.

struct PoolHooks;

impl Hooks for PoolHooks {
    fn check(&self, kind: WriteKind, doc: &mut Value, previous: Option<&Value>) -> Result<()> {
        if kind == WriteKind::Delete {
            return Ok(());
        }
        let units = Units::of(doc)?;
        if let Some(previous) = previous {
            let before = Units::of(previous)?;
            let grown = match (&before, &units) {
                (Units::Set(old), Units::Set(new)) => new.starts_with(old),
                _ => before == units,
            };
            if !grown {
                return Err(Error::invalid_body(
                    "a pool's 'capacity' cannot change, and its 'resourceCollection' may only \
                     grow at the end: units handed out keep their place",
                ));
            }
        }
        Ok(())
    }

    fn transactional(&self) -> bool {
        true
    }

    fn within<'a>(
        &'a self,
        scope: &'a mut Scope,
        kind: WriteKind,
        doc: &'a mut Value,
        _previous: Option<&'a Value>,
    ) -> HookFuture<'a> {
        Box::pin(async move {
            let id = text(doc, "id");
            match kind {
                WriteKind::Create => {
                    scope
                        .put_internal(LEDGER, &id, None, &Ledger::default().to_value())
                        .await
                }
                WriteKind::Update => Ok(()),
                WriteKind::Delete => {
                    let state = PoolState::load(scope, &id).await?;
                    let allocated = state.ledger.allocated();
                    if allocated > 0 {
                        return Err(Error::conflict(format!(
                            "resourcePool '{id}' cannot be deleted: {allocated} unit(s) are \
                             reserved or extracted"
                        )));
                    }
                    scope.delete_internal(LEDGER, &id, &state.read).await
                }
            }
        })
    }
}

/// `GET …/resourcePool/{id}/availability`: counts and the next free units.
struct Availability;

impl View for Availability {
    fn get<'a>(&'a self, engine: &'a Engine, id: &'a str, _query: &'a str) -> ViewFuture<'a> {
        Box::pin(async move {
            let pool = engine.require(CODE, "resourcePool", id).await?;
            let ledger = engine
                .internal(CODE, LEDGER, id)
                .await?
                .map(|read| Ledger::from_value(&read.value))
                .unwrap_or_default();
            let units = Units::of(&pool)?;
            Ok(availability(id, &units, &ledger, 1))
        })
    }
}

fn availability(id: &str, units: &Units, ledger: &Ledger, demand: u64) -> Value {
    let total = units.total();
    let next: Vec<String> = ledger
        .peek(total, demand.min(100))
        .into_iter()
        .map(|unit| units.name(unit))
        .collect();
    json!({
        "resourcePool": {"id": id},
        "totalAmount": total,
        "allocatedAmount": ledger.allocated(),
        "extractedAmount": ledger.extracted.len(),
        "availableAmount": ledger.available(total),
        "nextFree": next,
    })
}

// ---------------------------------------------------------------------------------
// Reservations.

struct ReservationHooks;

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
struct Expiry;

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

// ---------------------------------------------------------------------------------
// Availability checks, push and extract.

#[derive(Debug, Clone, Copy)]
enum Task {
    Check,
    Push,
    Extract,
}

struct TaskHooks(Task);

impl Hooks for TaskHooks {
    fn transactional(&self) -> bool {
        true
    }

    fn within<'a>(
        &'a self,
        scope: &'a mut Scope,
        kind: WriteKind,
        doc: &'a mut Value,
        _previous: Option<&'a Value>,
    ) -> HookFuture<'a> {
        Box::pin(async move {
            if kind != WriteKind::Create {
                return Ok(());
            }
            let pool = doc
                .get("resourcePool")
                .or_else(|| {
                    doc.get("resourceCapacity")
                        .and_then(|capacity| capacity.get("resourcePool"))
                })
                .and_then(|pool| pool.get("id"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| Error::invalid_body("name the pool in 'resourcePool.id'"))?;
            match self.0 {
                Task::Check => {
                    let state = PoolState::read(scope, &pool).await?;
                    let asked = doc
                        .get("resourceCapacity")
                        .and_then(|capacity| capacity.get("capacityDemandAmount"))
                        .and_then(Value::as_str)
                        .map(|amount| {
                            amount.trim().parse::<u64>().map_err(|_| {
                                Error::invalid_body(
                                    "'resourceCapacity.capacityDemandAmount' must be a number",
                                )
                            })
                        })
                        .transpose()?
                        .unwrap_or(1);
                    let answer = availability(&pool, &state.units, &state.ledger, asked);
                    let available = state.ledger.available(state.units.total()) >= asked;
                    set_all(doc, &answer);
                    doc["available"] = json!(available);
                    doc["state"] = json!("done");
                }
                Task::Extract => {
                    let mut state = PoolState::load(scope, &pool).await?;
                    // Absent: one unit; anything but a whole number is refused.
                    let count = doc
                        .get("quantity")
                        .map_or(Some(1), Value::as_u64)
                        .unwrap_or(0);
                    if count == 0 || count > MAX_UNITS_PER_REQUEST {
                        return Err(Error::invalid_body(format!(
                            "'quantity' must be 1 to {MAX_UNITS_PER_REQUEST}"
                        )));
                    }
                    let units = state.take(count)?;
                    state.ledger.extracted.extend(&units);
                    state.ledger.extracted.sort_unstable();
                    state.save(scope).await?;
                    doc["resource"] = Value::Array(state.unit_refs(&units));
                    doc["state"] = json!("done");
                }
                Task::Push => {
                    let mut state = PoolState::load(scope, &pool).await?;
                    let refs = doc
                        .get("resource")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    if refs.is_empty() {
                        return Err(Error::invalid_body(
                            "'resource' lists the units to push back, by 'name'",
                        ));
                    }
                    let indices = state.indices(&refs)?;
                    for (unit, index) in refs.iter().zip(&indices) {
                        let Ok(position) = state.ledger.extracted.binary_search(index) else {
                            return Err(Error::conflict(format!(
                                "unit '{}' of resourcePool '{pool}' was not extracted",
                                text(unit, "name")
                            )));
                        };
                        state.ledger.extracted.remove(position);
                    }
                    state.ledger.give_back(&indices);
                    state.save(scope).await?;
                    doc["state"] = json!("done");
                }
            }
            Ok(())
        })
    }
}

fn set_all(doc: &mut Value, from: &Value) {
    if let (Value::Object(target), Value::Object(source)) = (doc, from) {
        let source: &Map<String, Value> = source;
        for (key, value) in source {
            target.insert(key.clone(), value.clone());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_blocks_hand_out_host_addresses_in_order() {
        let units =
            Units::of(&json!({"capacity": {"type": "ipv4", "cidr": "10.1.2.0/29"}})).unwrap();
        assert_eq!(units.total(), 6);
        assert_eq!(units.name(0), "10.1.2.1");
        assert_eq!(units.name(5), "10.1.2.6");
        assert_eq!(units.index("10.1.2.6"), Some(5));
        assert_eq!(units.index("10.1.2.7"), None, "broadcast");
        let host =
            Units::of(&json!({"capacity": {"type": "ipv4", "cidr": "192.0.2.9/32"}})).unwrap();
        assert_eq!((host.total(), host.name(0)), (1, "192.0.2.9".to_string()));
        assert!(Units::of(&json!({"capacity": {"type": "ipv4", "cidr": "10.0.0.0/33"}})).is_err());
    }

    #[test]
    fn the_ledger_reuses_the_lowest_returned_unit_and_never_overcommits() {
        let mut ledger = Ledger::default();
        assert_eq!(ledger.take(5, 3), Some(vec![0, 1, 2]));
        ledger.give_back(&[1, 0]);
        ledger.give_back(&[1]);
        assert_eq!(ledger.allocated(), 1);
        assert_eq!(ledger.take(5, 3), Some(vec![0, 1, 3]));
        assert_eq!(ledger.take(5, 2), None, "only unit 4 is left");
        assert_eq!(ledger.take(5, 1), Some(vec![4]));
        assert_eq!(ledger.available(5), 0);
    }
}
