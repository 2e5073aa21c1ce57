//! TMF633 Service Catalog Management v4: service catalogs, categories, candidates and
//! specifications with their lifecycle, and the import/export jobs.

use std::sync::Arc;

use switchboard_engine::{ApiDecl, JobHandler, Reference, ResourceDecl};

use crate::catalog_jobs::{catalog_entity, catalog_job, catalog_job_handlers};
use crate::catalog_rules::{with_hooks, SpecificationRules};

pub const CODE: &str = crate::catalog::SERVICE_CATALOG;
const EXPORT_QUEUE: &str = "tmf633.exportJob";
const IMPORT_QUEUE: &str = "tmf633.importJob";
const CATALOG_COLLECTIONS: &[&str] = &[
    "serviceCatalog",
    "serviceCategory",
    "serviceSpecification",
    "serviceCandidate",
];

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        name: "Service Catalog Management",
        base_path: "/tmf-api/serviceCatalogManagement/v4",
        schema: include_str!("../../../schemas/TMF633.json"),
        observers: Vec::new(),
        resources: vec![
            catalog_entity("serviceCatalog", "ServiceCatalog"),
            catalog_entity("serviceCategory", "ServiceCategory"),
            ResourceDecl {
                references: const {
                    &[Reference::to(
                        "serviceSpecification",
                        CODE,
                        "serviceSpecification",
                    )]
                },
                ..catalog_entity("serviceCandidate", "ServiceCandidate")
            },
            // serviceSpecRelationship is how a CFS names its RFSs (a decomposition, so
            // cycles are refused); the rules check `@type`, which gives the role, and the
            // `valueFrom` mappings of characteristics.
            with_hooks(
                ResourceDecl {
                    references: const {
                        &[
                            Reference::to("serviceSpecRelationship", CODE, "serviceSpecification")
                                .acyclic(),
                            Reference::to(
                                "resourceSpecification",
                                crate::catalog::RESOURCE_CATALOG,
                                "resourceSpecification",
                            ),
                        ]
                    },
                    ..catalog_entity("serviceSpecification", "ServiceSpecification")
                },
                SpecificationRules::service(),
            ),
            catalog_job("importJob", "ImportJob", IMPORT_QUEUE),
            catalog_job("exportJob", "ExportJob", EXPORT_QUEUE),
        ],
    }
}

pub fn job_handlers() -> Vec<(String, Arc<dyn JobHandler>)> {
    catalog_job_handlers(CODE, EXPORT_QUEUE, IMPORT_QUEUE, CATALOG_COLLECTIONS)
}
