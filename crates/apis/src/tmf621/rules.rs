//! The rules of a trouble ticket's writes (TMF621 v4 `TroubleTicket`; the spec names the
//! attributes and events, the choices are in docs/wire-choices.md, "TMF621 Trouble
//! Ticket"): a new ticket starts `acknowledged`; every change of status is kept in
//! `statusChange[]` with `statusChangeDate` and `statusChangeReason`; `resolved` sets
//! `resolutionDate` and is announced (`TroubleTicketResolvedEvent`), `pending` asks the
//! requester for information (`TroubleTicketInformationRequiredEvent`); `priority` and
//! `expectedResolutionDate` are derived when the client gives none; a final ticket
//! takes only notes, and `resolved` queues the auto-close (`close`).

use serde_json::{json, Map, Value};
use switchboard_engine::{Error, HookFuture, Hooks, NewJob, Result, Scope, WriteKind};

use crate::settings::Assurance;

use super::close::{auto_close_job, check_record, dropped_auto_close};
use super::derived::derive;
use super::ticket::{Status, Ticket};
use super::{COLLECTION, INFORMATION_REQUIRED_EVENT, RESOLVED_EVENT};

/// Where a requester answers a ticket `pending` for information: a note.
pub const INFORMATION_FIELD_PATH: &str = "note";

pub struct TicketRules {
    pub assurance: Assurance,
}

impl Hooks for TicketRules {
    fn check(&self, kind: WriteKind, doc: &mut Value, previous: Option<&Value>) -> Result<()> {
        match (kind, previous) {
            (WriteKind::Create, _) => self.created(doc),
            (WriteKind::Update, Some(previous)) => self.changed(doc, previous),
            _ => Ok(()),
        }
    }

    /// Entering `resolved` queues the auto-close (when it is on).
    fn jobs(&self, kind: WriteKind, doc: &Value, previous: Option<&Value>) -> Vec<NewJob> {
        let (WriteKind::Update, Some(previous)) = (kind, previous) else {
            return Vec::new();
        };
        auto_close_job(self.assurance.ticket_auto_close, doc, previous)
            .into_iter()
            .collect()
    }

    /// Leaving `resolved` drops the auto-close queued when it was entered.
    fn dropped_jobs(
        &self,
        kind: WriteKind,
        doc: &Value,
        previous: Option<&Value>,
    ) -> Vec<(String, String)> {
        let (WriteKind::Update, Some(previous)) = (kind, previous) else {
            return Vec::new();
        };
        dropped_auto_close(doc, previous)
    }

    /// The domain events go out in the write's own transaction.
    fn transactional(&self) -> bool {
        true
    }

    fn within<'a>(
        &'a self,
        scope: &'a mut Scope,
        kind: WriteKind,
        doc: &'a mut Value,
        previous: Option<&'a Value>,
    ) -> HookFuture<'a> {
        Box::pin(async move {
            let (WriteKind::Update, Some(previous)) = (kind, previous) else {
                return Ok(());
            };
            let (before, after) = (Ticket::read(previous)?.status, Ticket::read(doc)?.status);
            if before == after {
                return Ok(());
            }
            match after {
                Some(Status::Resolved) => scope.emit(COLLECTION, RESOLVED_EVENT, doc, Map::new()),
                Some(Status::Pending) => {
                    let mut extra = Map::new();
                    extra.insert("fieldPath".into(), json!(INFORMATION_FIELD_PATH));
                    scope.emit(COLLECTION, INFORMATION_REQUIRED_EVENT, doc, extra)
                }
                _ => Ok(()),
            }
        })
    }
}

impl TicketRules {
    /// A new ticket (stamped by the engine: id, dates, initial status): only
    /// `acknowledged`, its first history entry, the derived attributes.
    fn created(&self, doc: &mut Value) -> Result<()> {
        let ticket = Ticket::read(doc)?;
        if ticket.status != Some(Status::Acknowledged) {
            return Err(Error::invalid_body(
                "a new trouble ticket starts 'acknowledged': send no 'status', or that one",
            ));
        }
        let Some(created) = ticket.creation_date.clone() else {
            return Err(Error::internal("a new ticket has no creationDate"));
        };
        let Value::Object(object) = doc else {
            return Err(Error::invalid_body("the body must be a JSON object"));
        };
        object.remove("resolutionDate");
        object.insert("statusChangeDate".into(), json!(created));
        object.insert(
            "statusChange".into(),
            json!([entry(
                Status::Acknowledged,
                &created,
                ticket.status_change_reason.as_deref()
            )]),
        );
        derive(&self.assurance, doc, &ticket, None);
        Ok(())
    }

    /// A change of a stored ticket (the engine has moved its status as the machine
    /// allows and set `lastUpdate`).
    fn changed(&self, doc: &mut Value, previous: &Value) -> Result<()> {
        let ticket = Ticket::read(doc)?;
        let before = Ticket::read(previous)?;
        if let Some(status) = before.status.filter(|status| status.is_final()) {
            return check_record(doc, previous, status);
        }
        let reason_sent = ticket.status_change_reason != before.status_change_reason;
        match (before.status, ticket.status) {
            (from, Some(to)) if from != Some(to) => {
                let Some(now) = ticket.last_update.clone() else {
                    return Err(Error::internal("a changed ticket has no lastUpdate"));
                };
                let reason = ticket
                    .status_change_reason
                    .as_deref()
                    .filter(|_| reason_sent);
                record_move(doc, from, to, &now, reason)?;
            }
            _ if reason_sent => {
                return Err(Error::invalid_body(
                    "'statusChangeReason' gives the reason of a change of 'status': \
                     send it with one",
                ));
            }
            _ => {}
        }
        derive(&self.assurance, doc, &ticket, Some(&before));
        Ok(())
    }
}

/// Writes a move of status from `from` to `to` at `now`: history, its date and reason
/// (a reason not sent with the move is not carried over from the previous one), and
/// the resolution date (set on `resolved`, dropped when a resolved ticket is reopened).
fn record_move(
    doc: &mut Value,
    from: Option<Status>,
    to: Status,
    now: &str,
    reason: Option<&str>,
) -> Result<()> {
    let Value::Object(object) = doc else {
        return Err(Error::invalid_body("the body must be a JSON object"));
    };
    if reason.is_none() {
        object.remove("statusChangeReason");
    }
    object.insert("statusChangeDate".into(), json!(now));
    let history = object
        .entry("statusChange")
        .or_insert_with(|| Value::Array(Vec::new()));
    match history {
        Value::Array(entries) => entries.push(entry(to, now, reason)),
        other => *other = json!([entry(to, now, reason)]),
    }
    match (from, to) {
        (_, Status::Resolved) => {
            object.insert("resolutionDate".into(), json!(now));
        }
        (Some(Status::Resolved), Status::Closed) => {}
        (Some(Status::Resolved), _) => {
            object.remove("resolutionDate");
        }
        _ => {}
    }
    Ok(())
}

/// One `statusChange[]` entry (TMF621 v4 `StatusChange`).
fn entry(status: Status, date: &str, reason: Option<&str>) -> Value {
    let mut entry = json!({"status": status, "changeDate": date});
    if let Some(reason) = reason {
        entry["changeReason"] = json!(reason);
    }
    entry
}
