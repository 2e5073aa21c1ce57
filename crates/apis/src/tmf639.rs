//! TMF639 Resource Inventory v4: the resources services run on. Their administrative,
//! operational and usage states are stored as sent (validated against the spec's enums);
//! `resourceStatus` is the state the engine announces changes of.

use switchboard_engine::{ApiDecl, ResourceDecl, StateMachine};

pub const CODE: &str = "TMF639";

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
            ..ResourceDecl::new("resource", "Resource")
        }],
    }
}
