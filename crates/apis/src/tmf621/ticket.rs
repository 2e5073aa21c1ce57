//! A trouble ticket as its rules read it: the few attributes they decide on, read once
//! from the document (which the engine has validated against the schema and whose
//! status it has written in the declared spelling).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_engine::{Error, Result};

/// TMF621 v4 `TroubleTicketStatusType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Acknowledged,
    Rejected,
    Pending,
    Held,
    InProgress,
    Cancelled,
    Closed,
    Resolved,
}

impl Status {
    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Status::Acknowledged => "acknowledged",
            Status::Rejected => "rejected",
            Status::Pending => "pending",
            Status::Held => "held",
            Status::InProgress => "inProgress",
            Status::Cancelled => "cancelled",
            Status::Closed => "closed",
            Status::Resolved => "resolved",
        }
    }

    /// A status the ticket never leaves: it is a record.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Closed | Status::Cancelled | Status::Rejected)
    }
}

/// The attributes the ticket's rules read.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub status: Option<Status>,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub ticket_type: String,
    pub priority: Option<String>,
    pub expected_resolution_date: Option<String>,
    pub creation_date: Option<String>,
    pub last_update: Option<String>,
    pub resolution_date: Option<String>,
    pub status_change_reason: Option<String>,
}

impl Ticket {
    /// Reads a ticket; one that does not read is refused (the schema lets through only
    /// what reads, so this names what is wrong all the same).
    pub fn read(doc: &Value) -> Result<Ticket> {
        Ticket::deserialize(doc)
            .map_err(|error| Error::invalid_body(format!("not a trouble ticket: {error}")))
    }
}
