//! TMF639 Resource Inventory v4: the resources services run on. Their administrative,
//! operational and usage states are stored as sent (validated against the spec's enums);
//! `resourceStatus` is the state the engine announces changes of.

use std::sync::Arc;

use switchboard_engine::{ApiDecl, Reference, ResourceDecl, StateMachine};

pub const CODE: &str = "TMF639";

/// The specification a resource realises and the resources it relates to: each must
/// exist.
const RESOURCE_REFERENCES: &[Reference] = &[
    Reference::to("resourceSpecification", "TMF634", "resourceSpecification"),
    Reference::to("resourceRelationship", CODE, "resource").within("resource"),
];

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        base_path: "/tmf-api/resourceInventoryManagement/v4",
        schema: include_str!("../../../schemas/TMF639.json"),
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
            views: vec![("impact", Arc::new(crate::impact::Impact::OfResource))],
            ..ResourceDecl::new("resource", "Resource")
        }],
    }
}
