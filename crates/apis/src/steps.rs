//! What background steps about one resource share: the job that names it (`{"id": …}`,
//! deduplicated by queue and id) and the outcome of running one, where a resource gone
//! meanwhile ends the job instead of retrying it.

use serde_json::{json, Value};
use switchboard_engine::{ErrorKind, NewJob, Result};

/// The job of `queue` about the resource `doc`, queued once per resource.
pub fn job_for(queue: &str, doc: &Value) -> NewJob {
    let id = doc.get("id").and_then(Value::as_str).unwrap_or_default();
    NewJob {
        queue: queue.to_string(),
        payload: json!({"id": id}),
        dedup_key: Some(format!("{queue}:{id}")),
        run_at: None,
    }
}

/// The resource id a step's payload names.
pub fn payload_id(payload: &Value) -> &str {
    payload
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// A step's result as the job runner takes it: done, done because the resource is gone,
/// or failed (retried with backoff).
pub fn settle<T>(outcome: Result<T>) -> std::result::Result<(), String> {
    match outcome {
        Ok(_) => Ok(()),
        Err(error) if error.kind == ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error.to_string()),
    }
}
