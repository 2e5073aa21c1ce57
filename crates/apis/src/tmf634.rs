//! TMF634 Resource Catalog Management v4: resource catalogs, categories, candidates and
//! specifications with their lifecycle, and the import/export jobs.

use std::sync::Arc;

use switchboard_engine::{ApiDecl, JobHandler, Reference, ResourceDecl};

use crate::catalog_jobs::{catalog_entity, catalog_job, catalog_job_handlers};
use crate::catalog_rules::{with_hooks, SpecificationRules};

pub const CODE: &str = crate::catalog::RESOURCE_CATALOG;
const EXPORT_QUEUE: &str = "tmf634.exportJob";
const IMPORT_QUEUE: &str = "tmf634.importJob";
const CATALOG_COLLECTIONS: &[&str] = &[
    "resourceCatalog",
    "resourceCategory",
    "resourceSpecification",
    "resourceCandidate",
];

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        name: "Resource Catalog Management",
        base_path: "/tmf-api/resourceCatalog/v4",
        schema: include_str!("../../../schemas/TMF634.json"),
        observers: Vec::new(),
        resources: vec![
            catalog_entity("resourceCatalog", "ResourceCatalog"),
            catalog_entity("resourceCategory", "ResourceCategory"),
            ResourceDecl {
                references: const {
                    &[Reference::to(
                        "resourceSpecification",
                        CODE,
                        "resourceSpecification",
                    )]
                },
                ..catalog_entity("resourceCandidate", "ResourceCandidate")
            },
            with_hooks(
                ResourceDecl {
                    references: const {
                        &[
                            Reference::to(
                                "resourceSpecRelationship",
                                CODE,
                                "resourceSpecification",
                            )
                            .acyclic(),
                        ]
                    },
                    ..catalog_entity("resourceSpecification", "ResourceSpecification")
                },
                SpecificationRules::resource(),
            ),
            catalog_job("importJob", "ImportJob", IMPORT_QUEUE),
            catalog_job("exportJob", "ExportJob", EXPORT_QUEUE),
        ],
    }
}

pub fn job_handlers() -> Vec<(String, Arc<dyn JobHandler>)> {
    catalog_job_handlers(CODE, EXPORT_QUEUE, IMPORT_QUEUE, CATALOG_COLLECTIONS)
}
