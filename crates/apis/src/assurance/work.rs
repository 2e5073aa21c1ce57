//! What correlation's job handlers share: the settings, in-process key locks (one
//! resource's faults, one problem's updates, one at a time in this process), running a
//! write again when a concurrent one moved what it read, and the queries for problems.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use switchboard_engine::{Engine, Error, ErrorKind, Result};
use tokio::sync::OwnedMutexGuard;

use super::model::Problem;
use crate::settings::Assurance;
use crate::tmf656;

/// Times a step runs again after a concurrent write or a taken id.
const RETRIES: u32 = 16;
/// Ids per list filter (the engine takes at most 256 values per filter).
const IDS_PER_QUERY: usize = 200;
/// Locks kept before the unused ones are dropped.
const LOCKS_KEPT: usize = 4096;

/// The state correlation's handlers share.
pub struct Shared {
    pub settings: Assurance,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Shared {
    pub fn new(settings: Assurance) -> Shared {
        Shared {
            settings,
            locks: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for, then holds, this process's lock on `key`. Correctness never rests on
    /// it (derived ids and versions do, across processes too); it spares a hot resource
    /// or problem the retries.
    pub async fn lock(&self, key: &str) -> OwnedMutexGuard<()> {
        let entry = {
            let mut locks = match self.locks.lock() {
                Ok(locks) => locks,
                Err(poisoned) => poisoned.into_inner(),
            };
            if locks.len() > LOCKS_KEPT {
                locks.retain(|_, lock| Arc::strong_count(lock) > 1);
            }
            locks.entry(key.to_string()).or_default().clone()
        };
        entry.lock_owned().await
    }
}

/// Runs `step` again while it fails on a concurrent write (`concurrent`) or on an id a
/// concurrent run took first (409): each run reads afresh. `step(true)` after such a
/// failure reads first (see `Engine::together`).
pub async fn retrying<Run, Step, T>(step: Step) -> Result<T>
where
    Step: Fn(bool) -> Run,
    Run: Future<Output = Result<T>>,
{
    let mut attempt = 0;
    let mut read_first = false;
    loop {
        match step(read_first).await {
            Err(error) if attempt < RETRIES && again(&error) => {
                attempt += 1;
                read_first = true;
            }
            outcome => return outcome,
        }
    }
}

/// A concurrent write, or an id taken (a plain 409 "Conflict": an invalid transition
/// is a 409 too, but says so, and running again would not change it).
fn again(error: &Error) -> bool {
    error.concurrent || (error.kind == ErrorKind::Conflict && error.reason == "Conflict")
}

/// A job's failure as the worker takes it (retried with backoff).
pub fn failed(error: Error) -> String {
    format!("{}: {}", error.reason, error.message)
}

/// The id under `key` of a job's payload.
pub fn payload_id<'a>(payload: &'a Value, key: &str) -> std::result::Result<&'a str, String> {
    payload
        .get(key)
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| format!("the job names no {key}"))
}

/// Open problems naming any of `ids` in `attribute` (`affectedResource`,
/// `rootCauseResource`, `affectedService`), oldest first, each once.
pub async fn open_problems(
    engine: &Engine,
    attribute: &str,
    ids: &[String],
) -> Result<Vec<Problem>> {
    let at = engine.served(tmf656::CODE, "serviceProblem")?;
    let mut found: Vec<Problem> = Vec::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let list: Vec<String> = chunk.iter().map(|id| encode(id)).collect();
        let query = format!("{attribute}.id={}&limit=1000", list.join(","));
        let page = engine.list(at, &query).await?;
        let problems: Vec<Problem> = serde_json::from_str(&page.json)
            .map_err(|error| Error::internal(format!("a stored problem does not read: {error}")))?;
        for problem in problems {
            if problem.is_open() && !found.iter().any(|seen| seen.id == problem.id) {
                found.push(problem);
            }
        }
    }
    // Ids are UUIDv7 or derived from one: their order is their creation's.
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

/// `id` as a query string value (percent-encoded but for unreserved characters).
fn encode(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A problem as stored now.
pub async fn problem(engine: &Engine, id: &str) -> Result<Option<Problem>> {
    match engine.document(tmf656::CODE, "serviceProblem", id).await? {
        Some(doc) => Ok(Some(read(doc)?)),
        None => Ok(None),
    }
}

/// A typed document from a stored one.
pub fn read<T: serde::de::DeserializeOwned>(doc: Value) -> Result<T> {
    serde_json::from_value(doc)
        .map_err(|error| Error::internal(format!("a stored document does not read: {error}")))
}
