//! TMF656 Service Problem Management v4: the provider's view of a fault in the service
//! layer, with what it affects and what caused it; the record of events about it; and
//! the task resources that acknowledge and group problems.
//!
//! Modules, each importing only those listed before it: `refs` (how tasks name
//! problems), `unions` (a parent's unions of its children's entries, kept true as they
//! change), `status` (a problem's own rules: status machine, dates, tracking records,
//! a grouped problem's change flowing up), `tasks` (acknowledgement and its undoing),
//! `grouping` (group, ungroup).

use std::sync::Arc;

use switchboard_engine::{ApiDecl, Events, Operations, Reference, ResourceDecl};

use crate::settings::Settings;

mod grouping;
mod refs;
mod status;
mod tasks;
mod unions;

use grouping::{Grouping, GroupingHooks};
pub use status::is_open;
use status::ProblemHooks;
use tasks::{Acknowledgement, AcknowledgementHooks};

pub const CODE: &str = "TMF656";

/// The problem waits for data (`pending`).
pub const INFORMATION_REQUIRED_EVENT: &str = "InformationRequiredEvent";

/// Tasks: posted, then read back; never changed.
const TASK: Operations = Operations {
    delete: false,
    ..Operations::TASK
};

const fn to_problem(attribute: &'static str) -> Reference {
    Reference::to(attribute, CODE, "serviceProblem")
}

/// A problem's links to other problems, kept by the grouping tasks.
const PROBLEM_REFERENCES: &[Reference] =
    &[to_problem("parentProblem"), to_problem("underlyingProblem")];

const ACK_REFERENCES: &[Reference] = &[to_problem("problem"), to_problem("ackProblem")];
const UNACK_REFERENCES: &[Reference] = &[to_problem("problem"), to_problem("unackProblem")];
const GROUPING_REFERENCES: &[Reference] =
    &[to_problem("parentProblem"), to_problem("childProblem")];

pub fn api(settings: &Settings) -> ApiDecl {
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
                state: Some(status::machine(settings.assurance.auto_acknowledge)),
                created_at: Some("creationDate"),
                last_update: Some("lastUpdate"),
                server_owned: &[
                    "trackingRecord",
                    "statusChangeDate",
                    "resolutionDate",
                    "parentProblem",
                    "underlyingProblem",
                ],
                references: PROBLEM_REFERENCES,
                hooks: Some(Arc::new(ProblemHooks)),
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
            ResourceDecl {
                server_owned: &["ackProblem"],
                references: ACK_REFERENCES,
                hooks: Some(Arc::new(AcknowledgementHooks(Acknowledgement::Ack))),
                ..task(
                    "problemAcknowledgement",
                    "ProblemAcknowledgement",
                    "ProblemAcknowledgement_Create",
                )
            },
            ResourceDecl {
                server_owned: &["unackProblem"],
                references: UNACK_REFERENCES,
                hooks: Some(Arc::new(AcknowledgementHooks(Acknowledgement::Unack))),
                ..task(
                    "problemUnacknowledgement",
                    "ProblemUnacknowledgement",
                    "ProblemUnacknowledgement_Create",
                )
            },
            ResourceDecl {
                references: GROUPING_REFERENCES,
                hooks: Some(Arc::new(GroupingHooks(Grouping::Group))),
                ..task("problemGroup", "ProblemGroup", "ProblemGroup_Create")
            },
            ResourceDecl {
                references: GROUPING_REFERENCES,
                hooks: Some(Arc::new(GroupingHooks(Grouping::Ungroup))),
                ..task("problemUngroup", "ProblemUngroup", "ProblemUngroup_Create")
            },
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
