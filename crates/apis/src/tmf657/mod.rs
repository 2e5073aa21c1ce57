//! TMF657 Service Quality Management v4: service level objectives (one measurable
//! target each) and the specifications that group them, plain CRUD with no status; and
//! our extension, the `measurement` ingest, from which breaches of the objectives open
//! and resolve TMF656 service problems.
//!
//! Modules, each importing only those listed before it: `objective` (an objective read
//! into typed terms, refusing what cannot be evaluated), `coverage` (the objectives in
//! scope of a service), `measurement` (the ingest, and the evaluation jobs a sample
//! queues), `breach` (the problem a violation opens, marks or resolves), `evaluation`
//! (the job: a window's samples, verdicts, the decision).

mod breach;
mod coverage;
mod evaluation;
mod measurement;
mod objective;

use std::sync::Arc;

use serde_json::Value;
use switchboard_engine::{
    ApiDecl, Error, HookFuture, Hooks, Operations, Reference, ResourceDecl, Result, Scope,
    WriteKind,
};

use crate::registration::Jobs;
use crate::settings::Settings;

pub use breach::SYSTEM_PARTY;
pub use measurement::EVALUATE_QUEUE;

pub const CODE: &str = "TMF657";

/// Samples are written once and read back: no PATCH, no DELETE.
const MEASUREMENTS: Operations = Operations {
    list: true,
    create: true,
    retrieve: true,
    patch: false,
    delete: false,
};

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
                hooks: Some(Arc::new(ObjectiveHooks)),
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
            ResourceDecl {
                create_schema: Some("Measurement_Create"),
                operations: MEASUREMENTS,
                references: const { &[Reference::to("service", "TMF638", "service")] },
                hooks: Some(Arc::new(measurement::MeasurementHooks)),
                definitions: Some(measurement::DEFINITIONS),
                ..ResourceDecl::new("measurement", "Measurement")
            },
        ],
    }
}

/// The evaluation of objectives' windows.
pub fn job_handlers() -> Jobs {
    vec![(
        EVALUATE_QUEUE.to_string(),
        Arc::new(evaluation::Evaluate) as Arc<dyn switchboard_engine::JobHandler>,
    )]
}

/// An objective is read as the rules evaluate it on every create and change, so one
/// they cannot evaluate is refused (400 naming the attribute), not skipped later; and
/// one a specification still groups is not deleted (409).
struct ObjectiveHooks;

impl Hooks for ObjectiveHooks {
    fn check(&self, kind: WriteKind, doc: &mut Value, _previous: Option<&Value>) -> Result<()> {
        if kind != WriteKind::Delete {
            objective::Objective::read(doc)?;
        }
        Ok(())
    }

    fn transactional(&self) -> bool {
        true
    }

    fn within<'a>(
        &'a self,
        scope: &'a mut Scope,
        kind: WriteKind,
        doc: &'a mut Value,
        _previous: Option<&'a Value>,
    ) -> HookFuture<'a> {
        Box::pin(async move {
            if kind != WriteKind::Delete {
                return Ok(());
            }
            let id = crate::doc::text(doc, "id");
            let found = scope
                .engine()
                .referrers(
                    (CODE, "serviceLevelObjective"),
                    std::slice::from_ref(&id),
                    &[(CODE, "serviceLevelSpecification")],
                    1,
                )
                .await?;
            match found.first() {
                Some((_, _, specification)) => Err(Error::conflict(format!(
                    "serviceLevelObjective '{id}' cannot be deleted: serviceLevelSpecification \
                     '{}' refers to it through 'relatedServiceLevelObjective'",
                    crate::doc::text(specification, "id")
                ))),
                None => Ok(()),
            }
        })
    }
}
