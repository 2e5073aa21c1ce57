//! Which writes start correlation work (`Observe`): each decides from the written
//! document and its previous version alone, and queues a job in the write's own
//! transaction, so a fault that commits is never missed and one that fails starts
//! nothing.
//!
//! - a TMF639 resource entering, staying in, or leaving a fault state → `FAULT_QUEUE`;
//! - a TMF656 problem created → `IMPACT_QUEUE` (its impact and customer tickets); one
//!   moving to `resolved` → `RESOLVE_QUEUE` (its system-opened tickets);
//! - a TMF621 ticket created by someone else than correlation → `LINK_QUEUE` (linked
//!   to an open problem covering what it is about).

use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_engine::decl::{NewJob, Observe, WriteKind};

use super::model::{FaultState, Ticket};
use super::{FAULT_QUEUE, IMPACT_QUEUE, LINK_QUEUE, RESOLVE_QUEUE};

fn job(queue: &str, payload: Value, dedup_key: Option<String>) -> Vec<NewJob> {
    vec![NewJob {
        queue: queue.to_string(),
        payload,
        dedup_key,
        run_at: None,
    }]
}

fn id_of(doc: &Value) -> &str {
    doc.get("id").and_then(Value::as_str).unwrap_or_default()
}

/// A resource's faults and clears: every write that leaves it faulted is a fault
/// event (the first opens or joins a problem, the rest are appended to it), and the
/// write that takes it out of fault is a clear.
pub struct ResourceFaults;

impl Observe for ResourceFaults {
    fn jobs(&self, kind: WriteKind, doc: &Value, previous: Option<&Value>) -> Vec<NewJob> {
        if kind == WriteKind::Delete {
            return Vec::new();
        }
        let now = FaultState::of(doc);
        let before = previous.map(FaultState::of).unwrap_or_default();
        let event = if now.faulted() {
            "fault"
        } else if before.faulted() {
            "clear"
        } else {
            return Vec::new();
        };
        // The event's identity: a retried write observes again and makes a new one,
        // but only the committed write's job is queued.
        let event_id = uuid::Uuid::now_v7().to_string();
        job(
            FAULT_QUEUE,
            json!({
                "resource": id_of(doc),
                "event": {
                    "id": event_id,
                    "type": event,
                    "time": switchboard_engine::now_rfc3339(),
                    "state": now.describe(),
                },
            }),
            Some(format!("{FAULT_QUEUE}:{event_id}")),
        )
    }
}

/// A problem's impact when created (whoever raised it: a fault, a client, an SLO
/// breach), and its tickets' resolution when it is resolved.
pub struct ProblemChanges;

impl Observe for ProblemChanges {
    fn jobs(&self, kind: WriteKind, doc: &Value, previous: Option<&Value>) -> Vec<NewJob> {
        let id = id_of(doc);
        match kind {
            WriteKind::Create => job(
                IMPACT_QUEUE,
                json!({"problem": id}),
                Some(format!("{IMPACT_QUEUE}:{id}")),
            ),
            WriteKind::Update => {
                let status = |doc: &Value| {
                    doc.get("status")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                };
                let resolved = status(doc).as_deref() == Some("resolved");
                let was = previous.and_then(status);
                if !resolved || was.as_deref() == Some("resolved") {
                    return Vec::new();
                }
                let stamp = doc
                    .get("statusChangeDate")
                    .or_else(|| doc.get("lastUpdate"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                job(
                    RESOLVE_QUEUE,
                    json!({"problem": id}),
                    Some(format!("{RESOLVE_QUEUE}:{id}:{stamp}")),
                )
            }
            WriteKind::Delete => Vec::new(),
        }
    }
}

/// A ticket someone else opened about products: linked to open problems covering them.
pub struct CustomerTickets;

impl Observe for CustomerTickets {
    fn jobs(&self, kind: WriteKind, doc: &Value, _previous: Option<&Value>) -> Vec<NewJob> {
        if kind != WriteKind::Create {
            return Vec::new();
        }
        let Ok(ticket) = Ticket::deserialize(doc) else {
            return Vec::new();
        };
        if ticket.system_opened() || ticket.products().next().is_none() {
            return Vec::new();
        }
        job(
            LINK_QUEUE,
            json!({"ticket": ticket.id}),
            Some(format!("{LINK_QUEUE}:{}", ticket.id)),
        )
    }
}
