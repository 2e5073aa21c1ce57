//! TMF621 Trouble Ticket v4: the issues customers (or our own fault correlation) want
//! fixed and followed, with their status history. The declaration is here; the rules of
//! a ticket's writes in `rules` (over the typed `ticket`), the derived attributes in
//! `derived`, how a ticket ends (final statuses, auto-close) in `close`.

mod close;
mod derived;
mod rules;
mod ticket;

use std::sync::Arc;

use serde::Deserialize;

use switchboard_engine::{ApiDecl, Events, JobHandler, Reference, ResourceDecl, StateMachine};

use crate::registration::Jobs;
use crate::settings::Settings;

pub use close::AUTO_CLOSE_QUEUE;

pub const CODE: &str = "TMF621";
pub const COLLECTION: &str = "troubleTicket";

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

/// What a ticket is about (`relatedEntity[]`, by `@referredType`) and who it concerns
/// (`relatedParty[]`): each must exist here, unless its `href` names another system's
/// resource. Entries of other types (a bill, an appointment) are not checked.
const TICKET_REFERENCES: &[Reference] = &[
    related_entity("TMF637", "product", &["Product"]),
    related_entity(
        "TMF638",
        "service",
        &["Service", "CustomerFacingService", "ResourceFacingService"],
    ),
    related_entity(
        "TMF639",
        "resource",
        &["Resource", "LogicalResource", "PhysicalResource"],
    ),
    related_entity("TMF656", "serviceProblem", &["ServiceProblem"]),
    related_entity("TMF622", "productOrder", &["ProductOrder"]),
    related_entity("TMF641", "serviceOrder", &["ServiceOrder"]),
    related_entity("TMF652", "resourceOrder", &["ResourceOrder"]),
    related_entity(CODE, COLLECTION, &["TroubleTicket"]),
    related_party("TMF632", "individual", &["Individual"]),
    related_party("TMF632", "organization", &["Organization"]),
    related_party("TMF669", "partyRole", &["PartyRole"]),
    Reference::to("troubleTicketRelationship", CODE, COLLECTION).foreign_allowed(),
];

const fn related_entity(
    api: &'static str,
    collection: &'static str,
    types: &'static [&'static str],
) -> Reference {
    Reference::to("relatedEntity", api, collection)
        .of_types(types)
        .foreign_allowed()
}

const fn related_party(
    api: &'static str,
    collection: &'static str,
    types: &'static [&'static str],
) -> Reference {
    Reference::to("relatedParty", api, collection)
        .of_types(types)
        .foreign_allowed()
}

/// Whether `status` is final (`closed`, `cancelled`, `rejected`): the ticket is a
/// record, which takes notes and no other change.
pub fn is_final_status(status: Option<&str>) -> bool {
    status
        .and_then(|status| ticket::Status::deserialize(serde_json::json!(status)).ok())
        .is_some_and(ticket::Status::is_final)
}

/// The auto-close of resolved tickets.
pub fn job_handlers(settings: &Settings) -> Jobs {
    vec![(
        AUTO_CLOSE_QUEUE.to_string(),
        Arc::new(close::AutoCloseHandler {
            delay: settings.assurance.ticket_auto_close,
        }) as Arc<dyn JobHandler>,
    )]
}

pub fn api(settings: &Settings) -> ApiDecl {
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
            // Absent from `TroubleTicket_Update` but for `resolutionDate`, which follows
            // the status as the history does.
            server_owned: &["statusChange", "statusChangeDate", "resolutionDate"],
            references: TICKET_REFERENCES,
            hooks: Some(Arc::new(rules::TicketRules {
                assurance: settings.assurance.clone(),
            })),
            events: Events {
                state_change: "StatusChangeEvent",
                domain: &[RESOLVED_EVENT, INFORMATION_REQUIRED_EVENT],
                ..Events::STANDARD
            },
            ..ResourceDecl::new(COLLECTION, "TroubleTicket")
        }],
    }
}
