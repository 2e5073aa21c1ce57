//! A pool as a write sees it: its units and its ledger, read (and serialised on) for a
//! write that changes the ledger and saved at the version read; the pool's own hooks
//! (its units may only grow; creating it starts its ledger, deleting it needs every unit
//! back) and its `availability` view.

use serde_json::{json, Value};
use switchboard_engine::{
    Engine, Error, HookFuture, Hooks, Internal, Result, Scope, View, ViewFuture, WriteKind,
};

use super::ledger::Ledger;
use super::units::Units;
use crate::doc::text;

/// The API's code, `tmf685::CODE`: defined here, below every module that names it.
pub const CODE: &str = "TMF685";
/// The name of a pool's internal ledger (kept under the pool's id, never served).
const LEDGER: &str = "ledger";

/// A pool and its ledger as one write sees them.
pub(super) struct PoolState {
    pub(super) id: String,
    pub(super) units: Units,
    pub(super) ledger: Ledger,
    read: Internal,
}

impl PoolState {
    /// Reads pool `id` for a write that will change its ledger (serialising on it).
    pub(super) async fn load(scope: &mut Scope, id: &str) -> Result<PoolState> {
        scope
            .serialize_on(&format!("{CODE}/resourcePool/{id}"))
            .await;
        PoolState::read(scope, id).await
    }

    pub(super) async fn read(scope: &mut Scope, id: &str) -> Result<PoolState> {
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

    pub(super) async fn save(&self, scope: &mut Scope) -> Result<()> {
        scope
            .put_internal(LEDGER, &self.id, Some(&self.read), &self.ledger.to_value())
            .await
    }

    pub(super) fn take(&mut self, count: u64) -> Result<Vec<u64>> {
        let total = self.units.total();
        self.ledger.take(total, count).ok_or_else(|| {
            Error::conflict(format!(
                "resourcePool '{}' has {} free unit(s) of {total}; {count} requested",
                self.id,
                self.ledger.available(total)
            ))
        })
    }

    pub(super) fn unit_refs(&self, units: &[u64]) -> Vec<Value> {
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
    pub(super) fn indices(&self, refs: &[Value]) -> Result<Vec<u64>> {
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

pub(super) struct PoolHooks;

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
pub(super) struct Availability;

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

pub(super) fn availability(id: &str, units: &Units, ledger: &Ledger, demand: u64) -> Value {
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
