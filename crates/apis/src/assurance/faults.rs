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

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_engine::{Engine, JobFuture, JobHandler, Result, Together};

use super::model::{reference_to, Problem, ORIGINATING_SYSTEM};
use super::work::{self, failed, open_problems, payload_id, retrying, Shared};
use crate::ids::derived_id;
use crate::{tmf639, tmf656};

/// Episodes looked at before giving up (a resource that failed this often has a
/// problem worth a look by other means).
const MAX_EPISODES: usize = 100_000;

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
            let Some(resource) = engine
                .document(tmf639::CODE, "resource", resource_id)
                .await
                .map_err(failed)?
            else {
                return Ok(());
            };
            let outcome = if event.is_clear() {
                clear(engine, &self.0, &resource, &event).await
            } else {
                fault(engine, &self.0, &resource, &event).await
            };
            outcome.map_err(failed)
        })
    }
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

async fn fault(engine: &Engine, shared: &Shared, resource: &Value, event: &Event) -> Result<()> {
    let resource_id = text(resource, "id");
    if let Some(open) = naming(engine, &resource_id).await?.into_iter().next() {
        return append(engine, shared, &open.id, resource, event, None).await;
    }
    for episode in 0..MAX_EPISODES {
        let id = derived_id(
            &resource_id,
            &format!("episode {episode}"),
            "serviceProblem",
        );
        match work::problem(engine, &id).await? {
            Some(problem) if !problem.is_open() => continue,
            Some(_) => return append(engine, shared, &id, resource, event, None).await,
            None => {
                let body = new_problem(resource, event);
                return append(engine, shared, &id, resource, event, Some(body)).await;
            }
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
            append(engine, shared, &problem.id, resource, event, None).await?;
        }
    }
    Ok(())
}

/// Appends `event` to problem `id` (created from `new` when given and absent, joined
/// when a concurrent run created it) with its event record, in one transaction; a clear
/// also resolves the problem. An event already appended is not appended again.
async fn append(
    engine: &Engine,
    shared: &Shared,
    id: &str,
    resource: &Value,
    event: &Event,
    new: Option<Value>,
) -> Result<()> {
    let _serial = shared.lock(&format!("problem {id}")).await;
    let at = engine.served(tmf656::CODE, "serviceProblem")?;
    let related = event.as_ref_value(resource);
    retrying(|read_first| {
        let new = new.clone();
        let related = related.clone();
        async move {
            let mut together = engine.together(read_first).await?;
            // Recorded already: the problem took the event in that same transaction.
            if !record(&mut together, id, resource, event).await? {
                return Ok(());
            }
            let mut created = false;
            if let Some(body) = new {
                created = together.ensure(at, id, body).await?.1;
            }
            if !created {
                together
                    .update(at, id, |doc| {
                        add_event(doc, &related, event);
                        Ok(())
                    })
                    .await?;
            }
            together.commit().await
        }
    })
    .await
}

/// The event on a stored problem: appended once, the window of `relatedEvent` kept to
/// the first and the latest ones, the count of every event taken in its
/// characteristic; a clear resolves it.
fn add_event(doc: &mut Value, related: &Value, event: &Event) {
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
