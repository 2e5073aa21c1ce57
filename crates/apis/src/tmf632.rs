//! TMF632 Party Management v4: individuals and organizations.

use switchboard_engine::{ApiDecl, ResourceDecl, StateMachine};

pub const CODE: &str = "TMF632";

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        name: "Party Management",
        base_path: "/tmf-api/party/v4",
        schema: include_str!("../../../schemas/TMF632.json"),
        observers: Vec::new(),
        resources: vec![
            ResourceDecl {
                create_schema: Some("Individual_Create"),
                update_schema: Some("Individual_Update"),
                // The v4 enum spells the last state "deceaded"; we keep the spec's word.
                state: Some(StateMachine {
                    attribute: "status",
                    initial: Some("initialized"),
                    transitions: &[
                        ("initialized", &["validated", "deceaded"]),
                        ("validated", &["deceaded"]),
                        ("deceaded", &[]),
                    ],
                }),
                ..ResourceDecl::new("individual", "Individual")
            },
            ResourceDecl {
                create_schema: Some("Organization_Create"),
                update_schema: Some("Organization_Update"),
                state: Some(StateMachine {
                    attribute: "status",
                    initial: Some("initialized"),
                    transitions: &[
                        ("initialized", &["validated", "closed"]),
                        ("validated", &["closed"]),
                        ("closed", &[]),
                    ],
                }),
                ..ResourceDecl::new("organization", "Organization")
            },
        ],
    }
}
