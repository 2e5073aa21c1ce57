//! TMF656 Service Problem Management v4: the provider's view of a fault in the service
//! layer, with what it affects and what caused it; the record of events about it; and
//! the task resources that acknowledge and group problems.

use switchboard_engine::{ApiDecl, Events, Operations, ResourceDecl, StateMachine};

use crate::settings::Settings;

pub const CODE: &str = "TMF656";

/// The problem waits for data (`pending`).
pub const INFORMATION_REQUIRED_EVENT: &str = "InformationRequiredEvent";

/// Status moves (the spec lists the values, not the moves; see docs/wire-choices.md).
/// Every open status may go to `resolved`: a fault that clears resolves its problem
/// wherever the work stands.
const PROBLEM_TRANSITIONS: &[(&str, &[&str])] = &[
    (
        "acknowledged",
        &["inProgress", "resolved", "rejected", "cancelled"],
    ),
    ("inProgress", &["pending", "held", "resolved", "cancelled"]),
    ("pending", &["inProgress", "resolved", "cancelled"]),
    ("held", &["inProgress", "resolved", "cancelled"]),
    ("resolved", &["closed", "inProgress"]),
    ("rejected", &[]),
    ("cancelled", &[]),
    ("closed", &[]),
];

/// Tasks: posted, then read back; never changed.
const TASK: Operations = Operations {
    delete: false,
    ..Operations::TASK
};

pub fn api(_settings: &Settings) -> ApiDecl {
    ApiDecl {
        code: CODE,
        name: "Service Problem Management",
        base_path: "/tmf-api/serviceProblemManagement/v4",
        schema: include_str!("../../../../schemas/TMF656.json"),
        observers: Vec::new(),
        resources: vec![
            ResourceDecl {
                create_schema: Some("ServiceProblem_Create"),
                update_schema: Some("ServiceProblem_Update"),
                state: Some(StateMachine {
                    attribute: "status",
                    initial: Some("acknowledged"),
                    transitions: PROBLEM_TRANSITIONS,
                }),
                created_at: Some("creationDate"),
                last_update: Some("lastUpdate"),
                events: Events {
                    domain: &[INFORMATION_REQUIRED_EVENT],
                    ..Events::STANDARD
                },
                ..ResourceDecl::new("serviceProblem", "ServiceProblem")
            },
            ResourceDecl {
                operations: Operations {
                    list: true,
                    retrieve: true,
                    create: false,
                    patch: false,
                    delete: false,
                },
                ..ResourceDecl::new("serviceProblemEventRecord", "ServiceProblemEventRecord")
            },
            task(
                "problemAcknowledgement",
                "ProblemAcknowledgement",
                "ProblemAcknowledgement_Create",
            ),
            task(
                "problemUnacknowledgement",
                "ProblemUnacknowledgement",
                "ProblemUnacknowledgement_Create",
            ),
            task("problemGroup", "ProblemGroup", "ProblemGroup_Create"),
            task("problemUngroup", "ProblemUngroup", "ProblemUngroup_Create"),
        ],
    }
}

fn task(
    collection: &'static str,
    resource_type: &'static str,
    create_schema: &'static str,
) -> ResourceDecl {
    ResourceDecl {
        create_schema: Some(create_schema),
        operations: TASK,
        ..ResourceDecl::new(collection, resource_type)
    }
}
