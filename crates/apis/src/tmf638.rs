//! TMF638 Service Inventory v4: the services that realise products, with their state.

use std::sync::Arc;

use switchboard_engine::{ApiDecl, Reference, ResourceDecl, StateMachine};

pub const CODE: &str = "TMF638";

/// The service state cycle (v4 `ServiceStateType`).
pub const SERVICE_TRANSITIONS: &[(&str, &[&str])] = &[
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

/// The specification a service realises and what it runs on: each must exist. A
/// service relies on its supporting services and resources and on the services it has a
/// relationship with (see `crate::impact`).
/// The RFSs a CFS relies on (fulfilment walks it to take a CFS down or change it).
pub const SUPPORTING_SERVICE: Reference =
    Reference::to("supportingService", CODE, "service").acyclic();
/// The resources a service runs on.
pub const SUPPORTING_RESOURCE: Reference =
    Reference::to("supportingResource", "TMF639", "resource");

const SERVICE_REFERENCES: &[Reference] = &[
    Reference::to("serviceSpecification", "TMF633", "serviceSpecification"),
    SUPPORTING_SERVICE,
    SUPPORTING_RESOURCE,
    Reference::to("serviceRelationship", CODE, "service").within("service"),
];

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        name: "Service Inventory Management",
        base_path: "/tmf-api/serviceInventory/v4",
        schema: include_str!("../../../schemas/TMF638.json"),
        observers: Vec::new(),
        resources: vec![ResourceDecl {
            create_schema: Some("Service_Create"),
            update_schema: Some("Service_Update"),
            state: Some(StateMachine {
                attribute: "state",
                initial: None,
                transitions: SERVICE_TRANSITIONS,
            }),
            references: SERVICE_REFERENCES,
            // Until terminated, a service holds what it relies on in place.
            in_service: &[
                "feasibilityChecked",
                "designed",
                "reserved",
                "inactive",
                "active",
            ],
            views: vec![("impact", Arc::new(crate::impact::ImpactView::OfService))],
            ..ResourceDecl::new("service", "Service")
        }],
    }
}
