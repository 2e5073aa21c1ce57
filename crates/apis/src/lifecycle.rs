//! State machines shared by several APIs.

use switchboard_engine::StateMachine;

/// The catalog entity lifecycle (TMF620/633/634 `lifecycleStatus`): study, design and
/// test lead to a launch; retirement and obsolescence end it; rejection ends an idea
/// before launch. The spec leaves the values open; this is the usual cycle.
pub const CATALOG_TRANSITIONS: &[(&str, &[&str])] = &[
    ("In study", &["In design", "Rejected"]),
    ("In design", &["In test", "In study", "Rejected"]),
    ("In test", &["Active", "Launched", "In design", "Rejected"]),
    ("Active", &["Launched", "Retired"]),
    ("Launched", &["Retired"]),
    ("Retired", &["Obsolete"]),
    ("Obsolete", &[]),
    ("Rejected", &[]),
];

/// The catalog lifecycle states in which an entity is in service (orderable, qualifiable).
pub const CATALOG_IN_SERVICE: &[&str] = &["Launched", "Active"];

pub fn catalog_lifecycle() -> StateMachine {
    StateMachine {
        attribute: "lifecycleStatus",
        initial: Some("In study"),
        transitions: CATALOG_TRANSITIONS,
    }
}

/// Import and export jobs (TMF620/633/634 `JobStateType`), moved only by the server.
pub fn job_status() -> StateMachine {
    StateMachine {
        attribute: "status",
        initial: Some("Not Started"),
        transitions: &[
            ("Not Started", &["Running", "Succeeded", "Failed"]),
            ("Running", &["Succeeded", "Failed"]),
            ("Succeeded", &[]),
            ("Failed", &[]),
        ],
    }
}
