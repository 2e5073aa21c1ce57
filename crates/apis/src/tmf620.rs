//! TMF620 Product Catalog Management v4: catalogs, categories, offerings, prices and
//! specifications with their lifecycle, and the import/export jobs.

use std::sync::Arc;

use switchboard_engine::{ApiDecl, JobHandler, Operations, ResourceDecl};

use crate::catalog_jobs::{CatalogJob, Direction, JobHooks};
use crate::lifecycle::{catalog_lifecycle, job_status};

pub const CODE: &str = "TMF620";
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

fn catalog_entity(collection: &'static str, resource_type: &'static str) -> ResourceDecl {
    ResourceDecl {
        create_schema: Some(schema_name(resource_type, "_Create")),
        update_schema: Some(schema_name(resource_type, "_Update")),
        state: Some(catalog_lifecycle()),
        last_update: Some("lastUpdate"),
        ..ResourceDecl::new(collection, resource_type)
    }
}

fn schema_name(resource_type: &'static str, suffix: &str) -> &'static str {
    // Declarations are built once at start-up; leaking the few names is harmless and
    // keeps the declaration types simple `&'static str`.
    Box::leak(format!("{resource_type}{suffix}").into_boxed_str())
}

fn job(collection: &'static str, resource_type: &'static str, queue: &'static str) -> ResourceDecl {
    ResourceDecl {
        create_schema: Some(schema_name(resource_type, "_Create")),
        operations: Operations::TASK,
        state: Some(job_status()),
        created_at: Some("creationDate"),
        server_owned: &["completionDate", "errorLog", "status"],
        hooks: Some(Arc::new(JobHooks { queue })),
        ..ResourceDecl::new(collection, resource_type)
    }
}

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        base_path: "/tmf-api/productCatalogManagement/v4",
        schema: include_str!("../../../schemas/TMF620.json"),
        resources: vec![
            catalog_entity("catalog", "Catalog"),
            catalog_entity("category", "Category"),
            catalog_entity("productOffering", "ProductOffering"),
            catalog_entity("productOfferingPrice", "ProductOfferingPrice"),
            catalog_entity("productSpecification", "ProductSpecification"),
            job("importJob", "ImportJob", IMPORT_QUEUE),
            job("exportJob", "ExportJob", EXPORT_QUEUE),
        ],
    }
}

pub fn job_handlers() -> Vec<(String, Arc<dyn JobHandler>)> {
    let job = |job_collection, direction| -> Arc<dyn JobHandler> {
        Arc::new(CatalogJob {
            api: CODE,
            job_collection,
            collections: CATALOG_COLLECTIONS,
            direction,
        })
    };
    vec![
        (
            EXPORT_QUEUE.to_string(),
            job("exportJob", Direction::Export),
        ),
        (
            IMPORT_QUEUE.to_string(),
            job("importJob", Direction::Import),
        ),
    ]
}
