//! TMF657 Service Quality Management v4: service level objectives (one measurable
//! target each) and the specifications that group them. No status: plain CRUD.

use switchboard_engine::{ApiDecl, Reference, ResourceDecl};

use crate::settings::Settings;

pub const CODE: &str = "TMF657";

pub fn api(_settings: &Settings) -> ApiDecl {
    ApiDecl {
        code: CODE,
        name: "Service Quality Management",
        base_path: "/tmf-api/serviceQualityManagement/v4",
        schema: include_str!("../../../../schemas/TMF657.json"),
        observers: Vec::new(),
        resources: vec![
            ResourceDecl {
                create_schema: Some("ServiceLevelObjective_Create"),
                update_schema: Some("ServiceLevelObjective_Update"),
                ..ResourceDecl::new("serviceLevelObjective", "ServiceLevelObjective")
            },
            ResourceDecl {
                create_schema: Some("ServiceLevelSpecification_Create"),
                update_schema: Some("ServiceLevelSpecification_Update"),
                references: const {
                    &[Reference::to(
                        "relatedServiceLevelObjective",
                        CODE,
                        "serviceLevelObjective",
                    )]
                },
                ..ResourceDecl::new("serviceLevelSpecification", "ServiceLevelSpecification")
            },
        ],
    }
}
