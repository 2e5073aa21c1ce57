//! The task resources of a pool: an availability check (answered at once), an extract
//! (units taken out of the pool for use elsewhere) and a push (extracted units given back).

use serde_json::{json, Map, Value};
use switchboard_engine::{Error, HookFuture, Hooks, Scope, WriteKind};

use super::pool::{availability, PoolState};
use super::units::MAX_UNITS_PER_REQUEST;
use crate::doc::text;

#[derive(Debug, Clone, Copy)]
pub(super) enum Task {
    Check,
    Push,
    Extract,
}

pub(super) struct TaskHooks(pub(super) Task);

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
