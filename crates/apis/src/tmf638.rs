//! TMF638 Service Inventory v4: the services that realise products, with their state.

use switchboard_engine::{ApiDecl, ResourceDecl, StateMachine};

pub const CODE: &str = "TMF638";

/// The service state cycle (v4 `ServiceStateType`).
const SERVICE_TRANSITIONS: &[(&str, &[&str])] = &[
    ("feasibilityChecked", &["designed", "terminated"]),
    (
        "designed",
        &["reserved", "inactive", "active", "terminated"],
    ),
    ("reserved", &["inactive", "active", "terminated"]),
    ("inactive", &["active", "terminated"]),
    ("active", &["inactive", "terminated"]),
    ("terminated", &[]),
];

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        base_path: "/tmf-api/serviceInventory/v4",
        schema: include_str!("../../../schemas/TMF638.json"),
        resources: vec![ResourceDecl {
            create_schema: Some("Service_Create"),
            update_schema: Some("Service_Update"),
            state: Some(StateMachine {
                attribute: "state",
                initial: None,
                transitions: SERVICE_TRANSITIONS,
            }),
            ..ResourceDecl::new("service", "Service")
        }],
    }
}
