//! TMF621 Trouble Ticket v4: the issues customers (or our own fault correlation) want
//! fixed and followed, with their status history.

use switchboard_engine::{ApiDecl, Events, ResourceDecl, StateMachine};

use crate::settings::Settings;

pub const CODE: &str = "TMF621";

/// The ticket's resolution, announced besides the status change.
pub const RESOLVED_EVENT: &str = "ResolvedEvent";
/// The ticket waits for the requester (`pending`).
pub const INFORMATION_REQUIRED_EVENT: &str = "InformationRequiredEvent";

/// Status moves (the spec lists the values, not the moves; see docs/wire-choices.md).
/// Every open status may go to `resolved`: a fault that clears resolves the tickets it
/// opened wherever their work stands.
const TICKET_TRANSITIONS: &[(&str, &[&str])] = &[
    (
        "acknowledged",
        &["inProgress", "pending", "resolved", "rejected", "cancelled"],
    ),
    ("inProgress", &["pending", "held", "resolved", "cancelled"]),
    ("pending", &["inProgress", "resolved", "cancelled"]),
    ("held", &["inProgress", "resolved", "cancelled"]),
    ("resolved", &["closed", "inProgress"]),
    ("rejected", &[]),
    ("cancelled", &[]),
    ("closed", &[]),
];

pub fn api(_settings: &Settings) -> ApiDecl {
    ApiDecl {
        code: CODE,
        name: "Trouble Ticket Management",
        base_path: "/tmf-api/troubleTicket/v4",
        schema: include_str!("../../../../schemas/TMF621.json"),
        observers: Vec::new(),
        resources: vec![ResourceDecl {
            create_schema: Some("TroubleTicket_Create"),
            update_schema: Some("TroubleTicket_Update"),
            state: Some(StateMachine {
                attribute: "status",
                initial: Some("acknowledged"),
                transitions: TICKET_TRANSITIONS,
            }),
            created_at: Some("creationDate"),
            last_update: Some("lastUpdate"),
            events: Events {
                state_change: "StatusChangeEvent",
                domain: &[RESOLVED_EVENT, INFORMATION_REQUIRED_EVENT],
                ..Events::STANDARD
            },
            ..ResourceDecl::new("troubleTicket", "TroubleTicket")
        }],
    }
}
