//! How a trouble ticket ends (TMF621 v4 `TroubleTicketStatusType`; the choices are in
//! docs/wire-choices.md, "TMF621 Trouble Ticket"): a ticket in a final status
//! (`closed`, `cancelled`, `rejected`) is a record, to which notes may still be appended
//! and nothing else changed; a ticket `resolved` for the auto-close delay without an
//! answer is closed by the server, through a durable job queued in the write that
//! resolved it (so a restart in between loses nothing) and dropped when it is reopened.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use switchboard_engine::{Engine, Error, ErrorKind, JobFuture, JobHandler, NewJob, Result};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::settings::format_duration;

use super::ticket::{Status, Ticket};
use super::{CODE, COLLECTION};

/// The queue of the auto-close jobs.
pub const AUTO_CLOSE_QUEUE: &str = "tmf621.autoClose";

/// Attributes of a final ticket that a change may still touch: the server's stamp of
/// the write, and the notes (appended to only).
const STILL_WRITTEN: &[&str] = &["lastUpdate", "note"];

/// Refuses a change of a ticket in the final `status` other than notes appended to the
/// ones it has (409 naming the status and the attribute).
pub fn check_record(doc: &Value, previous: &Value, status: Status) -> Result<()> {
    let refused = |what: String| {
        Error::conflict(format!(
            "the trouble ticket is {}, a record: only notes may be added to it, {what}",
            status.name()
        ))
    };
    let (Value::Object(now), Value::Object(before)) = (doc, previous) else {
        return Err(Error::invalid_body("the body must be a JSON object"));
    };
    let changed = now
        .keys()
        .chain(before.keys())
        .filter(|key| !STILL_WRITTEN.contains(&key.as_str()))
        .find(|key| now.get(*key) != before.get(*key));
    if let Some(key) = changed {
        return Err(refused(format!("'{key}' cannot change")));
    }
    let notes = |doc: &Value| match doc.get("note") {
        Some(Value::Array(notes)) => notes.clone(),
        _ => Vec::new(),
    };
    let (notes_now, notes_before) = (notes(doc), notes(previous));
    if !notes_now.starts_with(&notes_before) {
        return Err(refused(
            "and its notes cannot be changed or removed".to_string(),
        ));
    }
    Ok(())
}

/// What an auto-close job carries: the ticket and the resolution it closes (a reopened
/// and resolved again ticket has another), and the delay it waited.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AutoClose {
    id: String,
    resolution_date: String,
    after: String,
}

/// The auto-close job of a write that enters `resolved`, due `delay` after its
/// resolution date, queued once per (ticket, resolution).
pub fn auto_close_job(delay: Option<Duration>, doc: &Value, previous: &Value) -> Option<NewJob> {
    let delay = delay?;
    let (ticket, before) = (Ticket::read(doc).ok()?, Ticket::read(previous).ok()?);
    if ticket.status != Some(Status::Resolved) || before.status == Some(Status::Resolved) {
        return None;
    }
    let id = doc.get("id")?.as_str()?.to_string();
    let resolution_date = ticket.resolution_date?;
    let resolved = OffsetDateTime::parse(&resolution_date, &Rfc3339).ok()?;
    let due = resolved.checked_add(time::Duration::try_from(delay).ok()?)?;
    let run_at = i64::try_from(due.unix_timestamp_nanos() / 1_000_000).ok()?;
    let dedup_key = format!("{}{resolution_date}", key_prefix(&id));
    let payload = AutoClose {
        id,
        resolution_date,
        after: format_duration(delay),
    };
    Some(NewJob {
        queue: AUTO_CLOSE_QUEUE.to_string(),
        payload: serde_json::to_value(payload).ok()?,
        dedup_key: Some(dedup_key),
        run_at: Some(run_at),
    })
}

/// The auto-close jobs a write that leaves `resolved` (reopened, or closed by the
/// customer's confirmation) makes pointless.
pub fn dropped_auto_close(doc: &Value, previous: &Value) -> Vec<(String, String)> {
    let (Ok(ticket), Ok(before)) = (Ticket::read(doc), Ticket::read(previous)) else {
        return Vec::new();
    };
    let Some(id) = doc.get("id").and_then(Value::as_str) else {
        return Vec::new();
    };
    if before.status != Some(Status::Resolved) || ticket.status == Some(Status::Resolved) {
        return Vec::new();
    }
    vec![(AUTO_CLOSE_QUEUE.to_string(), key_prefix(id))]
}

fn key_prefix(id: &str) -> String {
    format!("{AUTO_CLOSE_QUEUE}:{id}:")
}

/// Runs the auto-close jobs: closes the ticket if it is still resolved with the same
/// resolution date, as any change (history with the reason, `StatusChangeEvent`).
/// Idempotent: a second run finds it closed and changes nothing. Off (`None`), queued
/// jobs close nothing.
pub struct AutoCloseHandler {
    pub delay: Option<Duration>,
}

impl JobHandler for AutoCloseHandler {
    fn run<'a>(&'a self, engine: &'a Engine, payload: &'a Value) -> JobFuture<'a> {
        Box::pin(async move {
            if self.delay.is_none() {
                return Ok(());
            }
            let job = AutoClose::deserialize(payload)
                .map_err(|error| format!("not an auto-close job: {error}"))?;
            let failed = |error: Error| format!("{}: {}", error.reason, error.message);
            let at = engine.served(CODE, COLLECTION).map_err(failed)?;
            let reason = format!(
                "closed automatically: resolved for {} without an answer",
                job.after
            );
            let closed = engine
                .update_internal(at, &job.id, |doc| {
                    close_unanswered(doc, &job.resolution_date, &reason)
                })
                .await;
            match closed {
                Ok(_) => Ok(()),
                Err(error) if error.kind == ErrorKind::NotFound => Ok(()),
                Err(error) => Err(failed(error)),
            }
        })
    }
}

/// Closes `doc` if it is still the resolution `resolution_date`; else leaves it as it
/// is (nothing is written).
fn close_unanswered(doc: &mut Value, resolution_date: &str, reason: &str) -> Result<()> {
    let ticket = Ticket::read(doc)?;
    if ticket.status != Some(Status::Resolved)
        || ticket.resolution_date.as_deref() != Some(resolution_date)
    {
        return Ok(());
    }
    doc["status"] = json!(Status::Closed);
    doc["statusChangeReason"] = json!(reason);
    Ok(())
}
