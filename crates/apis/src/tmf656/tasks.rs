//! `problemAcknowledgement` and `problemUnacknowledgement` (TMF656 v4 task resources):
//! the problems named move between submitted (no status) and `acknowledged` in the
//! task's own transaction, each with the task's tracking record appended; the task
//! lists those that are in the asked state afterwards.

use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_engine::{HookFuture, Hooks, Result, Scope, WriteKind};

use super::refs::{distinct, problem_ref, read_problem, task_body, ProblemRef, PROBLEM};
use super::status::{append_tracking, status, ACKNOWLEDGED, SYSTEM_ID};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Acknowledgement {
    Ack,
    Unack,
}

impl Acknowledgement {
    /// The status a problem has before (`None`: submitted) and after this task.
    fn moves(self) -> (Option<&'static str>, Option<&'static str>) {
        match self {
            Acknowledgement::Ack => (None, Some(ACKNOWLEDGED)),
            Acknowledgement::Unack => (Some(ACKNOWLEDGED), None),
        }
    }

    /// The task's output list and the tracking record's default description.
    fn output(self) -> (&'static str, &'static str) {
        match self {
            Acknowledgement::Ack => ("ackProblem", "ack"),
            Acknowledgement::Unack => ("unackProblem", "unack"),
        }
    }
}

#[derive(Deserialize)]
struct Task {
    problem: Vec<ProblemRef>,
}

pub(super) struct AcknowledgementHooks(pub(super) Acknowledgement);

impl Hooks for AcknowledgementHooks {
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
            acknowledge(self.0, scope, doc).await
        })
    }
}

/// Moves each named problem that is in the task's "from" state, leaves one already in
/// its "to" state as it is (the task is idempotent), skips any other; lists the first
/// two in the output.
async fn acknowledge(task: Acknowledgement, scope: &mut Scope, doc: &mut Value) -> Result<()> {
    let body: Task = task_body(doc)?;
    let (from, to) = task.moves();
    let (output, description) = task.output();
    let record = completed_record(doc.get("trackingRecord"), description);
    let ids = distinct(&body.problem);
    // Every name is checked before anything moves: a bad one refuses the whole task.
    let mut problems = Vec::with_capacity(ids.len());
    for id in &ids {
        problems.push(read_problem(scope, "problem", id).await?);
    }
    let mut done = Vec::new();
    for (id, problem) in ids.iter().zip(&problems) {
        let current = status(problem);
        if current == from {
            scope
                .update(PROBLEM, id, |problem| {
                    match to {
                        Some(to) => problem["status"] = json!(to),
                        None => {
                            if let Value::Object(object) = problem {
                                object.remove("status");
                            }
                        }
                    }
                    append_tracking(problem, &record);
                    Ok(())
                })
                .await?;
        } else if current != to {
            continue;
        }
        done.push(problem_ref(scope, id)?);
    }
    doc[output] = Value::Array(done);
    doc["trackingRecord"] = record;
    Ok(())
}

/// The task's tracking record as the client gave it, completed by the server: an id,
/// the time, a description and the system that recorded it when absent.
fn completed_record(given: Option<&Value>, description: &str) -> Value {
    let mut record = match given {
        Some(Value::Object(record)) => record.clone(),
        _ => serde_json::Map::new(),
    };
    record.insert("id".into(), json!(uuid::Uuid::now_v7().to_string()));
    record.insert("time".into(), json!(switchboard_engine::now_rfc3339()));
    record
        .entry("description")
        .or_insert_with(|| json!(description));
    record.entry("systemId").or_insert_with(|| json!(SYSTEM_ID));
    record
        .entry("@type")
        .or_insert_with(|| json!("TrackingRecord"));
    Value::Object(record)
}
