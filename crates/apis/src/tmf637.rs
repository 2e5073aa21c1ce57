//! TMF637 Product Inventory v4: the products customers hold, with their status.

use switchboard_engine::{ApiDecl, ResourceDecl, StateMachine};

pub const CODE: &str = "TMF637";

/// The product status cycle (v4 `ProductStatusType`; the spec's enum spells the last
/// value "aborted " with a trailing space, which is kept).
const PRODUCT_TRANSITIONS: &[(&str, &[&str])] = &[
    (
        "created",
        &["pendingActive", "active", "cancelled", "aborted "],
    ),
    ("pendingActive", &["active", "cancelled", "aborted "]),
    ("active", &["pendingTerminate", "suspended", "terminated"]),
    ("suspended", &["active", "pendingTerminate", "terminated"]),
    ("pendingTerminate", &["terminated", "active"]),
    ("terminated", &[]),
    ("cancelled", &[]),
    ("aborted ", &[]),
];

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        base_path: "/tmf-api/productInventory/v4",
        schema: include_str!("../../../schemas/TMF637.json"),
        resources: vec![ResourceDecl {
            create_schema: Some("Product_Create"),
            update_schema: Some("Product_Update"),
            state: Some(StateMachine {
                attribute: "status",
                initial: None,
                transitions: PRODUCT_TRANSITIONS,
            }),
            ..ResourceDecl::new("product", "Product")
        }],
    }
}
