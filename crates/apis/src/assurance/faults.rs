//! A resource's fault and clear events (TMF656 §"ServiceProblem", `relatedEvent`,
//! `serviceProblemEventRecord`): a fault joins the oldest open problem naming the
//! resource (`affectedResource` or `rootCauseResource`), else opens the problem of the
//! resource's current fault episode; a clear resolves the open problems it is the cause
//! of. Every event processed on a problem is appended to its `relatedEvent` and written
//! as an event record, in one transaction. A flapping resource's problem keeps a window
//! of them (the first and the latest, `RELATED_EVENTS_KEPT` in all) and their count
//! (characteristic `relatedEventCount`); the records keep every one.
//!
//! One problem per fault, however many alarms and however concurrent: this process runs
//! one resource's events one at a time (a key lock), and across processes the problem of
//! an episode has an id derived from (resource, episode number), episode n+1 starting
//! only once problem n has ended; a second process opening the same episode's problem
//! hits the same id and appends to it instead.
//!
//! Across processes, events of one resource may also run out of order (a clear's job
//! before the jobs of alarms written before it), so each job ends by holding the
//! problems to the resource as it is now: a fault job that finds the resource cleared
//! resolves what it opened or joined, a clear job that finds it faulted again opens or
//! joins the next episode's problem. A fault found stale (the resource cleared, its
//! episode's problem ended) is recorded on that problem without reopening it; an event
//! is appended only to a problem open as the write sees it (a clear to an ended one
//! would resolve it twice, a fault would be lost in it), else its job looks again.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_engine::{Engine, JobFuture, JobHandler, Result, Together};

use super::model::{is_open, reference_to, FaultState, Problem, ORIGINATING_SYSTEM};
use super::work::{self, failed, open_problems, payload_id, retrying, Shared};
use crate::ids::derived_id;
use crate::{tmf639, tmf656};

/// Episodes looked at before giving up (a resource that failed this often has a
/// problem worth a look by other means).
const MAX_EPISODES: usize = 100_000;
/// Times a fault looks again for its problem after the one it chose ended under it.
const LOOKS: usize = 16;

/// The events a problem's `relatedEvent` keeps at most: the first ones (what opened
/// it) and the latest; every event stays a `serviceProblemEventRecord`.
const RELATED_EVENTS_KEPT: usize = 50;
/// Of those, the first events kept.
const FIRST_EVENTS_KEPT: usize = 1;
/// The problem's characteristic counting every event it took.
const EVENT_COUNT: &str = "relatedEventCount";

/// A fault or clear event, as the observer queued it.
#[derive(Debug, Clone, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    time: String,
    state: String,
}

impl Event {
    /// An event the server infers from the resource as it is now (`kind` "fault" or
    /// "clear"), when the events written run out of order.
    fn inferred(kind: &str, resource: &Value) -> Event {
        Event {
            id: uuid::Uuid::now_v7().to_string(),
            kind: kind.to_string(),
            time: switchboard_engine::now_rfc3339(),
            state: FaultState::of(resource).describe(),
        }
    }

    fn is_clear(&self) -> bool {
        self.kind == "clear"
    }

    /// The `relatedEvent` entry.
    fn as_ref_value(&self, resource: &Value) -> Value {
        let name = resource
            .get("name")
            .or_else(|| resource.get("id"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        json!({
            "id": self.id,
            "eventTime": self.time,
            "name": format!("{} {name}: {}", self.kind, self.state),
            "@referredType": if self.is_clear() { "ResourceClear" } else { "ResourceFault" },
        })
    }
}

pub struct Faults(pub Arc<Shared>);

impl JobHandler for Faults {
    fn run<'a>(&'a self, engine: &'a Engine, payload: &'a Value) -> JobFuture<'a> {
        Box::pin(async move {
            let resource_id = payload_id(payload, "resource")?;
            let event: Event = payload
                .get("event")
                .cloned()
                .ok_or("the job names no event")
                .and_then(|event| serde_json::from_value(event).map_err(|_| "bad event"))?;
            let _serial = self.0.lock(&format!("resource {resource_id}")).await;
            let outcome = async {
                let Some(resource) = current(engine, resource_id).await? else {
                    return Ok(());
                };
                if event.is_clear() {
                    clear(engine, &self.0, &resource, &event).await?;
                } else {
                    fault(engine, &self.0, &resource, &event).await?;
                }
                // What ran out of order: the resource as it is now decides.
                let Some(now) = current(engine, resource_id).await? else {
                    return Ok(());
                };
                match (event.is_clear(), FaultState::of(&now).faulted()) {
                    (false, false) => {
                        clear(engine, &self.0, &now, &Event::inferred("clear", &now)).await
                    }
                    (true, true) => {
                        fault(engine, &self.0, &now, &Event::inferred("fault", &now)).await
                    }
                    _ => Ok(()),
                }
            };
            outcome.await.map_err(failed)
        })
    }
}

/// The resource as stored now.
async fn current(engine: &Engine, id: &str) -> Result<Option<Value>> {
    engine.document(tmf639::CODE, "resource", id).await
}

/// The open problems naming `resource` as affected or as root cause, oldest first.
async fn naming(engine: &Engine, resource: &str) -> Result<Vec<Problem>> {
    let ids = [resource.to_string()];
    let mut problems = open_problems(engine, "affectedResource", &ids).await?;
    for problem in open_problems(engine, "rootCauseResource", &ids).await? {
        if !problems.iter().any(|seen| seen.id == problem.id) {
            problems.push(problem);
        }
    }
    problems.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(problems)
}

/// Appends the fault to the open problem naming the resource, else to its current
/// episode's problem (opened when absent). A stale fault (the resource cleared since,
/// its episode's problem ended) is recorded on that ended problem.
async fn fault(engine: &Engine, shared: &Shared, resource: &Value, event: &Event) -> Result<()> {
    let resource_id = text(resource, "id");
    for _ in 0..LOOKS {
        if let Some(open) = naming(engine, &resource_id).await?.into_iter().next() {
            if append(engine, shared, &open.id, resource, event, Append::Open).await? {
                return Ok(());
            }
            continue;
        }
        let (id, ended) = episode(engine, &resource_id).await?;
        // Read after the problems: a problem that ended before is seen ended, and the
        // clear that ended it is seen in the resource.
        let Some(now) = current(engine, &resource_id).await? else {
            return Ok(());
        };
        let appended = match (ended, FaultState::of(&now).faulted()) {
            (Some(ended), false) => {
                append(engine, shared, &ended, resource, event, Append::Late).await?
            }
            _ => {
                let body = new_problem(resource, event);
                append(engine, shared, &id, resource, event, Append::New(body)).await?
            }
        };
        if appended {
            return Ok(());
        }
    }
    Err(switchboard_engine::Error::conflict(format!(
        "the problems of resource {resource_id} kept changing"
    )))
}

/// The id of the resource's current fault episode's problem (the first absent or open),
/// and the last ended one before it.
async fn episode(engine: &Engine, resource_id: &str) -> Result<(String, Option<String>)> {
    let mut ended = None;
    for episode in 0..MAX_EPISODES {
        let id = derived_id(resource_id, &format!("episode {episode}"), "serviceProblem");
        match work::problem(engine, &id).await? {
            Some(problem) if !problem.is_open() => ended = Some(id),
            _ => return Ok((id, ended)),
        }
    }
    Err(switchboard_engine::Error::conflict(format!(
        "resource {resource_id} has had {MAX_EPISODES} fault episodes"
    )))
}

/// Resolves the open problems the cleared resource is the cause of.
async fn clear(engine: &Engine, shared: &Shared, resource: &Value, event: &Event) -> Result<()> {
    let resource_id = text(resource, "id");
    for problem in naming(engine, &resource_id).await? {
        if problem.cleared_by(&resource_id) {
            append(engine, shared, &problem.id, resource, event, Append::Open).await?;
        }
    }
    Ok(())
}

/// Which problem an event may be appended to.
enum Append {
    /// An open one (a clear resolves it).
    Open,
    /// An ended one too: a stale fault, recorded where its episode ended.
    Late,
    /// An open one, created from this body when absent.
    New(Value),
}

/// Appends `event` to problem `id` (created when `Append::New` and absent, joined when
/// a concurrent run created it) with its event record, in one transaction; a clear
/// also resolves the problem. An event already appended is not appended again. False
/// when the problem is not as `how` requires (nothing written).
async fn append(
    engine: &Engine,
    shared: &Shared,
    id: &str,
    resource: &Value,
    event: &Event,
    how: Append,
) -> Result<bool> {
    let _serial = shared.lock(&format!("problem {id}")).await;
    let at = engine.served(tmf656::CODE, "serviceProblem")?;
    let related = event.as_ref_value(resource);
    let late = matches!(how, Append::Late);
    let new = match how {
        Append::New(body) => Some(body),
        _ => None,
    };
    retrying(|read_first| {
        let new = new.clone();
        let related = related.clone();
        async move {
            let mut together = engine.together(read_first).await?;
            // Recorded already: the problem took the event in that same transaction.
            if !record(&mut together, id, resource, event).await? {
                return Ok(true);
            }
            let mut created = false;
            if let Some(body) = new {
                created = together.ensure(at, id, body).await?.1;
            }
            if !created {
                let doc = together
                    .update(at, id, |doc| {
                        add_event(doc, &related, event, late);
                        Ok(())
                    })
                    .await?;
                let listed = doc["relatedEvent"]
                    .as_array()
                    .is_some_and(|list| list.iter().any(|entry| entry["id"] == related["id"]));
                if !listed {
                    return Ok(false);
                }
            }
            together.commit().await.map(|()| true)
        }
    })
    .await
}

/// The event on a stored problem, appended once: to an open problem (or, `late`, to
/// an ended one), the window of `relatedEvent` kept to the first and the latest ones,
/// the count of every event taken in its characteristic; a clear resolves it.
fn add_event(doc: &mut Value, related: &Value, event: &Event, late: bool) {
    if !late && !is_open(doc.get("status").and_then(Value::as_str)) {
        return;
    }
    let events = &mut doc["relatedEvent"];
    if !events.is_array() {
        *events = json!([]);
    }
    if let Some(list) = events.as_array_mut() {
        if !list.iter().any(|entry| entry["id"] == related["id"]) {
            let before = u64::try_from(list.len()).unwrap_or(u64::MAX);
            list.push(related.clone());
            if list.len() > RELATED_EVENTS_KEPT {
                let end = list.len() - (RELATED_EVENTS_KEPT - FIRST_EVENTS_KEPT);
                list.drain(FIRST_EVENTS_KEPT..end);
            }
            let count = event_count(doc).unwrap_or(before).saturating_add(1);
            set_event_count(doc, count);
        }
    }
    if event.is_clear() {
        doc["status"] = json!("resolved");
        doc["statusChangeReason"] = json!(format!("cleared: {}", event.state));
    }
}

/// How many events the problem has taken (its `relatedEventCount` characteristic).
fn event_count(doc: &Value) -> Option<u64> {
    doc.get("characteristic")?
        .as_array()?
        .iter()
        .find(|entry| entry.get("name").and_then(Value::as_str) == Some(EVENT_COUNT))?
        .get("value")?
        .as_u64()
}

fn set_event_count(doc: &mut Value, count: u64) {
    let entry = json!({"name": EVENT_COUNT, "valueType": "integer", "value": count});
    match doc.get_mut("characteristic") {
        Some(Value::Array(list)) => {
            match list
                .iter_mut()
                .find(|entry| entry.get("name").and_then(Value::as_str) == Some(EVENT_COUNT))
            {
                Some(found) => *found = entry,
                None => list.push(entry),
            }
        }
        _ => doc["characteristic"] = json!([entry]),
    }
}

/// The `serviceProblemEventRecord` of `event` on problem `id` (id derived from both,
/// so a re-run records it once): whether it is new.
async fn record(
    together: &mut Together,
    id: &str,
    resource: &Value,
    event: &Event,
) -> Result<bool> {
    let at = together
        .engine()
        .served(tmf656::CODE, "serviceProblemEventRecord")?;
    let body = json!({
        "eventTime": event.time,
        "eventType": if event.is_clear() { "resourceClear" } else { "resourceFault" },
        "recordTime": switchboard_engine::now_rfc3339(),
        "notification": {
            "eventId": event.id,
            "resource": reference_to(resource, "Resource"),
            "state": event.state,
        },
        "serviceProblem": {"id": id, "@referredType": "ServiceProblem"},
    });
    let record_id = derived_id(id, &event.id, "serviceProblemEventRecord");
    together
        .ensure(at, &record_id, body)
        .await
        .map(|(_, created)| created)
}

/// A new problem about `resource`, faulted as `event` says. Its priority is a
/// placeholder until its impact is known (the impact job sets it from the score).
fn new_problem(resource: &Value, event: &Event) -> Value {
    let reference = reference_to(resource, "Resource");
    let name = resource
        .get("name")
        .or_else(|| resource.get("id"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut problem = json!({
        "name": format!("Fault on {name}"),
        "category": "system.originated",
        "description": format!("Resource {name} reported {}", event.state),
        "reason": "resourceFault",
        "priority": 5,
        "originatingSystem": ORIGINATING_SYSTEM,
        "originatorParty": {
            "id": ORIGINATING_SYSTEM,
            "name": "Switchboard assurance",
            "role": "originator",
            "@referredType": "Organization",
        },
        "affectedResource": [reference.clone()],
        "rootCauseResource": [reference],
        "firstAlert": {
            "id": event.id,
            "name": event.state,
            "role": "resourceFault",
            "@referredType": "ResourceFault",
        },
        "relatedEvent": [event.as_ref_value(resource)],
        "characteristic": [{"name": EVENT_COUNT, "valueType": "integer", "value": 1}],
    });
    if let Some(place) = resource
        .get("place")
        .filter(|place| place.get("id").is_some())
    {
        problem["affectedLocation"] = json!([place_ref(place)]);
    }
    problem
}

/// A `RelatedPlace` from a place reference (or value) of the inventory.
pub fn place_ref(place: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for key in ["id", "href", "name", "role", "@referredType"] {
        if let Some(value) = place.get(key) {
            out.insert(key.to_string(), value.clone());
        }
    }
    Value::Object(out)
}

fn text(doc: &Value, key: &str) -> String {
    crate::doc::text(doc, key)
}
