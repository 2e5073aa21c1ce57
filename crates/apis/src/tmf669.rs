//! TMF669 Party Role Management v4: the roles parties play (customer, supplier…).

use switchboard_engine::{ApiDecl, ResourceDecl, StateMachine};

pub const CODE: &str = "TMF669";

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        name: "Party Role Management",
        base_path: "/tmf-api/partyRoleManagement/v4",
        schema: include_str!("../../../schemas/TMF669.json"),
        observers: Vec::new(),
        resources: vec![ResourceDecl {
            create_schema: Some("PartyRole_Create"),
            update_schema: Some("PartyRole_Update"),
            // v4 leaves the role status as free text: any value, changes announced.
            state: Some(StateMachine {
                attribute: "status",
                initial: None,
                transitions: &[],
            }),
            ..ResourceDecl::new("partyRole", "PartyRole")
        }],
    }
}
