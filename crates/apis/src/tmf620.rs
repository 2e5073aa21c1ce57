//! TMF620 Product Catalog Management v4: catalogs, categories, offerings, prices and
//! specifications with their lifecycle, and the import/export jobs.

use std::sync::Arc;

use switchboard_engine::{ApiDecl, JobHandler, Reference, ResourceDecl};

use crate::catalog_jobs::{catalog_entity, catalog_job, catalog_job_handlers};
use crate::catalog_rules::{with_hooks, ProductSpecificationRules};
use crate::decomposition::Decomposition;

pub const CODE: &str = crate::catalog::PRODUCT_CATALOG;
const EXPORT_QUEUE: &str = "tmf620.exportJob";
const IMPORT_QUEUE: &str = "tmf620.importJob";
/// What an export writes and an import reads.
const CATALOG_COLLECTIONS: &[&str] = &[
    "catalog",
    "category",
    "productSpecification",
    "productOfferingPrice",
    "productOffering",
];

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        name: "Product Catalog Management",
        base_path: "/tmf-api/productCatalogManagement/v4",
        schema: include_str!("../../../schemas/TMF620.json"),
        observers: Vec::new(),
        resources: vec![
            catalog_entity("catalog", "Catalog"),
            catalog_entity("category", "Category"),
            ResourceDecl {
                // A bundle's parts are offerings; an offering cannot contain itself.
                references: const {
                    &[Reference::to("bundledProductOffering", CODE, "productOffering").acyclic()]
                },
                views: vec![("decomposition", Arc::new(Decomposition::OfOffering))],
                ..catalog_entity("productOffering", "ProductOffering")
            },
            catalog_entity("productOfferingPrice", "ProductOfferingPrice"),
            with_hooks(
                ResourceDecl {
                    references: const {
                        &[
                            Reference::to(
                                "serviceSpecification",
                                crate::catalog::SERVICE_CATALOG,
                                "serviceSpecification",
                            ),
                            Reference::to(
                                "resourceSpecification",
                                crate::catalog::RESOURCE_CATALOG,
                                "resourceSpecification",
                            ),
                            Reference::to(
                                "bundledProductSpecification",
                                CODE,
                                "productSpecification",
                            )
                            .acyclic(),
                            Reference::to(
                                "productSpecificationRelationship",
                                CODE,
                                "productSpecification",
                            )
                            .acyclic(),
                        ]
                    },
                    views: vec![(
                        "decomposition",
                        Arc::new(Decomposition::OfProductSpecification),
                    )],
                    ..catalog_entity("productSpecification", "ProductSpecification")
                },
                Arc::new(ProductSpecificationRules),
            ),
            catalog_job("importJob", "ImportJob", IMPORT_QUEUE),
            catalog_job("exportJob", "ExportJob", EXPORT_QUEUE),
        ],
    }
}

pub fn job_handlers() -> Vec<(String, Arc<dyn JobHandler>)> {
    catalog_job_handlers(CODE, EXPORT_QUEUE, IMPORT_QUEUE, CATALOG_COLLECTIONS)
}
