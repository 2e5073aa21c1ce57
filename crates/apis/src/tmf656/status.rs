//! A service problem's own rules (TMF656 v4 `ServiceProblem`): the status machine with
//! its "submitted" state (no status), the dates and tracking records a status change
//! leaves, the attributes v4 lets no PATCH change, the problem that may not be deleted
//! while grouped, what a `pending` problem waits for, and a grouped problem's change
//! flowing up to its ancestors (`unions`). See docs/wire-choices.md, "TMF656 Service
//! Problem".

use serde_json::{json, Map, Value};
use switchboard_engine::{Error, HookFuture, Hooks, Result, Scope, StateMachine, WriteKind};

use super::refs::{problem_refs, PROBLEM};
use super::unions::{flow_up, keep_brought, remove};
use super::INFORMATION_REQUIRED_EVENT;

/// The problem no one has taken yet ("submitted" in the spec's task descriptions).
const SUBMITTED: &str = StateMachine::ABSENT;
pub(super) const ACKNOWLEDGED: &str = "acknowledged";
const PENDING: &str = "pending";
const RESOLVED: &str = "resolved";

/// Status moves (the spec lists the values, not the moves; see docs/wire-choices.md).
/// Every open status may go to `resolved`: a fault that clears resolves its problem
/// wherever the work stands. Only the acknowledgement tasks (or a PATCH) move between
/// submitted and `acknowledged`.
pub(super) const TRANSITIONS: &[(&str, &[&str])] = &[
    (SUBMITTED, &[ACKNOWLEDGED, "rejected", RESOLVED]),
    (
        ACKNOWLEDGED,
        &[SUBMITTED, "inProgress", RESOLVED, "rejected", "cancelled"],
    ),
    ("inProgress", &[PENDING, "held", RESOLVED, "cancelled"]),
    (PENDING, &["inProgress", RESOLVED, "cancelled"]),
    ("held", &["inProgress", RESOLVED, "cancelled"]),
    (RESOLVED, &["closed", "inProgress"]),
    ("rejected", &[]),
    ("cancelled", &[]),
    ("closed", &[]),
];

/// The problem's machine: new problems start `acknowledged` when the server
/// acknowledges them itself, else submitted.
pub(super) fn machine(auto_acknowledge: bool) -> StateMachine {
    StateMachine {
        attribute: "status",
        initial: auto_acknowledge.then_some(ACKNOWLEDGED),
        transitions: TRANSITIONS,
    }
}

/// Whether a problem (or a TMF621 ticket, whose statuses are the same) in `status`
/// (`None`: submitted) is still worked on: not resolved, nor in a final status.
pub fn is_open(status: Option<&str>) -> bool {
    !status.is_some_and(|status| status.eq_ignore_ascii_case(RESOLVED) || is_final(Some(status)))
}

/// Whether a problem in `status` (`None`: submitted) can move no more.
pub(super) fn is_final(status: Option<&str>) -> bool {
    let from = status.unwrap_or(SUBMITTED);
    TRANSITIONS
        .iter()
        .any(|(state, next)| state.eq_ignore_ascii_case(from) && next.is_empty())
}

/// Where a problem waiting for information gets its answer, unless its reason names
/// an attribute.
pub(super) const INFORMATION_FIELD_PATH: &str = "note";

/// The attributes a client may write on a problem and a `pending` problem may wait
/// for (v4 `ServiceProblem_Update`, less the status, its reason, the dates and what the
/// server keeps).
const WRITABLE: [&str; 25] = [
    "affectedLocation",
    "affectedNumberOfServices",
    "affectedResource",
    "affectedService",
    "category",
    "characteristic",
    "description",
    "externalIdentifier",
    "impactImportanceFactor",
    "impactPattern",
    "name",
    "note",
    "originatorParty",
    "priority",
    "problemEscalation",
    "reason",
    "relatedEntity",
    "relatedEvent",
    "relatedParty",
    "responsibleParty",
    "rootCauseResource",
    "rootCauseService",
    "slaViolation",
    "troubleTicket",
    "underlyingAlarm",
];

/// v4 lets a client set these on create, never change them.
const NOT_PATCHABLE: [&str; 2] = ["firstAlert", "originatingSystem"];
/// The priority scale: 1 is the most urgent.
const PRIORITY: std::ops::RangeInclusive<i64> = 1..=10;

/// Who writes the tracking records of what the server itself does.
pub(super) const SYSTEM_ID: &str = "switchboard";

/// A tracking record of `description` ("ack", "unack") made now; the server's own when
/// no `user` is given.
pub(super) fn tracking_record(description: &str) -> Value {
    json!({
        "id": uuid::Uuid::now_v7().to_string(),
        "description": description,
        "systemId": SYSTEM_ID,
        "user": SYSTEM_ID,
        "time": switchboard_engine::now_rfc3339(),
        "@type": "TrackingRecord",
    })
}

pub(super) fn status(doc: &Value) -> Option<&str> {
    doc.get("status").and_then(Value::as_str)
}

/// Appends `record` to the problem's `trackingRecord[]`.
pub(super) fn append_tracking(problem: &mut Value, record: &Value) {
    match problem.get_mut("trackingRecord") {
        Some(Value::Array(records)) => records.push(record.clone()),
        _ => problem["trackingRecord"] = json!([record]),
    }
}

fn tracking_count(doc: &Value) -> usize {
    doc.get("trackingRecord")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

pub(super) struct ProblemHooks;

impl Hooks for ProblemHooks {
    fn check(&self, kind: WriteKind, doc: &mut Value, previous: Option<&Value>) -> Result<()> {
        match (kind, previous) {
            (WriteKind::Create, _) => check_new(doc),
            (WriteKind::Update, Some(previous)) => check_change(doc, previous),
            (WriteKind::Delete, _) => check_delete(doc),
            (WriteKind::Update, None) => Ok(()),
        }
    }

    fn transactional(&self) -> bool {
        true
    }

    /// A problem that moves to `pending` waits for information: announced with the
    /// change, in its transaction, with the `fieldPath` it waits for. A grouped
    /// problem's change flows up to its parent's unions, in the same transaction.
    fn within<'a>(
        &'a self,
        scope: &'a mut Scope,
        kind: WriteKind,
        doc: &'a mut Value,
        previous: Option<&'a Value>,
    ) -> HookFuture<'a> {
        Box::pin(async move {
            let entered = kind != WriteKind::Delete
                && status(doc) == Some(PENDING)
                && previous.and_then(status) != Some(PENDING);
            if entered {
                let mut extra = Map::new();
                extra.insert("fieldPath".into(), json!(waited_for(doc)));
                scope.emit(PROBLEM, INFORMATION_REQUIRED_EVENT, doc, extra)?;
            }
            if let (WriteKind::Update, Some(previous)) = (kind, previous) {
                keep_brought(scope, doc, previous).await?;
                flow_up(scope, doc, previous).await?;
            }
            Ok(())
        })
    }
}

/// What a `pending` problem waits for (the event's `fieldPath`): the attribute its
/// `statusChangeReason` names, when the reason is a path into an attribute a client
/// may write (`"rootCauseResource"`, `"characteristic.circuitId"`); else `note`, where
/// the answer is written.
fn waited_for(doc: &Value) -> String {
    let reason = doc
        .get("statusChangeReason")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default();
    let first = reason.split('.').next().unwrap_or_default();
    let is_path = reason.split('.').all(|segment| {
        !segment.is_empty()
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@')
    });
    if is_path && WRITABLE.contains(&first) {
        reason.to_string()
    } else {
        INFORMATION_FIELD_PATH.to_string()
    }
}

/// A new problem starts submitted or `acknowledged` (the server's own record says who
/// acknowledged it); its priority is on the scale.
fn check_new(doc: &mut Value) -> Result<()> {
    check_priority(doc, None)?;
    match status(doc) {
        None => Ok(()),
        Some(ACKNOWLEDGED) => {
            // Acknowledged as it is created: at its creation date, to the millisecond.
            let now = match doc.get("creationDate") {
                Some(Value::String(created)) => created.clone(),
                _ => switchboard_engine::now_rfc3339(),
            };
            doc["statusChangeDate"] = json!(now);
            append_tracking(doc, &tracking_record("ack"));
            Ok(())
        }
        Some(other) => Err(Error::invalid_body(format!(
            "a new serviceProblem is submitted (no 'status') or '{ACKNOWLEDGED}', not \
             '{other}'; move it on with PATCH"
        ))),
    }
}

fn check_change(doc: &mut Value, previous: &Value) -> Result<()> {
    check_priority(doc, Some(previous))?;
    for attribute in NOT_PATCHABLE {
        if doc.get(attribute) != previous.get(attribute) {
            return Err(Error::bad_request(format!(
                "'{attribute}' is set when the serviceProblem is created and cannot be changed"
            )));
        }
    }
    let from = status(previous);
    let to = status(doc).map(str::to_string);
    let to = to.as_deref();
    if from == to {
        return Ok(());
    }
    let now = switchboard_engine::now_rfc3339();
    doc["statusChangeDate"] = json!(now);
    // A reason the change did not give belongs to an earlier change.
    if doc.get("statusChangeReason") == previous.get("statusChangeReason") {
        remove(doc, "statusChangeReason");
    }
    if to == Some(RESOLVED) {
        doc["resolutionDate"] = json!(now);
    } else if from == Some(RESOLVED) && to != Some("closed") {
        remove(doc, "resolutionDate");
    }
    // Every acknowledgement, and its undoing, leaves a record: the task's own, else the
    // server's (a PATCH, a server-made change).
    let acknowledgement = match (from, to) {
        (None, Some(ACKNOWLEDGED)) => Some("ack"),
        (Some(ACKNOWLEDGED), None) => Some("unack"),
        _ => None,
    };
    if let Some(description) = acknowledgement {
        if tracking_count(doc) <= tracking_count(previous) {
            append_tracking(doc, &tracking_record(description));
        }
    }
    Ok(())
}

/// A grouped problem is ungrouped first: its group would name a problem that is gone.
fn check_delete(doc: &Value) -> Result<()> {
    for attribute in ["parentProblem", "underlyingProblem"] {
        if let Some(other) = problem_refs(doc, attribute).first() {
            return Err(Error::conflict(format!(
                "serviceProblem '{}' is grouped ('{attribute}' names '{other}'); \
                 ungroup it with problemUngroup first",
                doc.get("id").and_then(Value::as_str).unwrap_or_default()
            )));
        }
    }
    Ok(())
}

fn check_priority(doc: &Value, previous: Option<&Value>) -> Result<()> {
    let priority = doc.get("priority");
    if previous.is_some_and(|previous| previous.get("priority") == priority) {
        return Ok(());
    }
    match priority.and_then(Value::as_i64) {
        Some(value) if PRIORITY.contains(&value) => Ok(()),
        None if priority.is_none() => Ok(()),
        _ => Err(Error::invalid_body(format!(
            "'priority' must be a whole number from {} (most urgent) to {}",
            PRIORITY.start(),
            PRIORITY.end()
        ))),
    }
}
