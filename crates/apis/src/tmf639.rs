//! TMF639 Resource Inventory v4: the resources services run on. `resourceStatus` is the
//! state the engine announces changes of (free: any value of the v4 enum, any move); the
//! administrative, operational and usage states move as their machines allow.

use std::sync::Arc;

use switchboard_engine::{ApiDecl, Reference, ResourceDecl, StateMachine};

pub const CODE: &str = "TMF639";

/// The specification a resource realises and the resources it relates to: each must
/// exist.
const RESOURCE_REFERENCES: &[Reference] = &[
    Reference::to("resourceSpecification", "TMF634", "resourceSpecification"),
    Reference::to("resourceRelationship", CODE, "resource").within("resource"),
];

/// The X.731-style states of a resource (v4 enums), each with its moves: shutting down
/// ends in locked; operational state flips; usage goes through active between idle and
/// busy.
const RESOURCE_STATES: &[StateMachine] = &[
    StateMachine {
        attribute: "administrativeState",
        initial: None,
        transitions: &[
            ("locked", &["unlocked"]),
            ("unlocked", &["locked", "shutdown"]),
            ("shutdown", &["locked", "unlocked"]),
        ],
    },
    StateMachine {
        attribute: "operationalState",
        initial: None,
        transitions: &[("enable", &["disable"]), ("disable", &["enable"])],
    },
    StateMachine {
        attribute: "usageState",
        initial: None,
        transitions: &[
            ("idle", &["active"]),
            ("active", &["idle", "busy"]),
            ("busy", &["active"]),
        ],
    },
];

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        name: "Resource Inventory Management",
        base_path: "/tmf-api/resourceInventoryManagement/v4",
        schema: include_str!("../../../schemas/TMF639.json"),
        observers: Vec::new(),
        resources: vec![ResourceDecl {
            // The v4 create definition requires `id` and `href`; the engine reads it
            // without them (the server sets both).
            create_schema: Some("Resource_Create"),
            update_schema: Some("Resource_Update"),
            state: Some(StateMachine {
                attribute: "resourceStatus",
                initial: None,
                transitions: &[],
            }),
            references: RESOURCE_REFERENCES,
            other_states: RESOURCE_STATES,
            views: vec![("impact", Arc::new(crate::impact::ImpactView::OfResource))],
            ..ResourceDecl::new("resource", "Resource")
        }],
    }
}
