//! TMF637 Product Inventory v4: the products customers hold, with their status.

use switchboard_engine::{ApiDecl, Reference, ResourceDecl, StateMachine};

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

/// What a product is an instance of and what realises it: each must exist. Assurance
/// and billing walk these (see `crate::impact`).
const PRODUCT_REFERENCES: &[Reference] = &[
    Reference::to("productSpecification", "TMF620", "productSpecification"),
    Reference::to("productOffering", "TMF620", "productOffering"),
    Reference::to("realizingService", "TMF638", "service"),
    Reference::to("realizingResource", "TMF639", "resource"),
    // Bundle members and related products.
    Reference::to("product", CODE, "product").acyclic(),
    Reference::to("productRelationship", CODE, "product").within("product"),
];

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        name: "Product Inventory Management",
        base_path: "/tmf-api/productInventory/v4",
        schema: include_str!("../../../schemas/TMF637.json"),
        observers: Vec::new(),
        resources: vec![ResourceDecl {
            create_schema: Some("Product_Create"),
            update_schema: Some("Product_Update"),
            state: Some(StateMachine {
                attribute: "status",
                initial: None,
                transitions: PRODUCT_TRANSITIONS,
            }),
            references: PRODUCT_REFERENCES,
            // Until it ends, a product holds what realises it in place.
            in_service: &[
                "created",
                "pendingActive",
                "active",
                "suspended",
                "pendingTerminate",
            ],
            ..ResourceDecl::new("product", "Product")
        }],
    }
}
