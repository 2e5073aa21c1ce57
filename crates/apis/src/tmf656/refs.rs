//! How the task resources name problems (`ServiceProblemRef`), and reading the problem
//! a task names in the task's own transaction.

use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_engine::{Error, Result, Scope};

use super::CODE;

/// The problems' collection.
pub(super) const PROBLEM: &str = "serviceProblem";

/// A `ServiceProblemRef` as a task names it (the schema requires its `id`).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct ProblemRef {
    pub(super) id: String,
}

/// The ids of the problems `attribute` (an array of refs) names in `doc`.
pub(super) fn problem_refs(doc: &Value, attribute: &str) -> Vec<String> {
    doc.get(attribute)
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|entry| entry.get("id").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Each id once, in the order first named.
pub(super) fn distinct(refs: &[ProblemRef]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::with_capacity(refs.len());
    for problem in refs {
        if !ids.contains(&problem.id) {
            ids.push(problem.id.clone());
        }
    }
    ids
}

/// The ref the server writes to a problem: id, href and what it refers to.
pub(super) fn problem_ref(scope: &Scope, id: &str) -> Result<Value> {
    let engine = scope.engine();
    let href = engine.location(engine.served(CODE, PROBLEM)?, id)?;
    Ok(json!({"id": id, "href": href, "@referredType": "ServiceProblem"}))
}

/// The problem `id` as the task's transaction sees it. A task naming none is a bad
/// request (v4 answers a task's POST with no 404), as is any dangling reference.
pub(super) async fn read_problem(scope: &mut Scope, attribute: &str, id: &str) -> Result<Value> {
    scope.document(CODE, PROBLEM, id).await?.ok_or_else(|| {
        Error::invalid_body(format!(
            "'{attribute}' names serviceProblem '{id}', which does not exist"
        ))
    })
}

/// The task's body read as `T` (stored task bodies passed their schema).
pub(super) fn task_body<T: for<'de> Deserialize<'de>>(doc: &Value) -> Result<T> {
    T::deserialize(doc).map_err(|error| Error::invalid_body(error.to_string()))
}
