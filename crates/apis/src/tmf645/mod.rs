//! TMF645 Service Qualification v4: `checkServiceQualification` (can these services be
//! delivered here?) and `queryServiceQualification` (what can be delivered here?),
//! answered from the catalog and the resource pools (see `feasibility`).
//!
//! `instantSyncQualification=true` answers in the POST's own transaction (`done` in the
//! response); otherwise the POST stores the request `accepted` and queues a job, which
//! moves it to `inProgress`, then `done` with the answer (or `terminatedWithError`).
//! Choices are recorded in docs/wire-choices.md.

mod answer;
mod feasibility;
mod request;

use std::sync::Arc;

use serde_json::{json, Value};
use switchboard_engine::{
    ApiDecl, Engine, Error, ErrorKind, HookFuture, Hooks, JobFuture, JobHandler, NewJob,
    ResourceDecl, Result, Scope, StateMachine, WriteKind,
};

use crate::doc::text;
use crate::steps::{job_for, payload_id, settle};
use request::Kind;

pub const CODE: &str = "TMF645";

/// TMF645 `TaskStateType` (the enum says `accepted` where the prose says acknowledged).
const TASK_TRANSITIONS: &[(&str, &[&str])] = &[
    ("accepted", &["inProgress", "done", "terminatedWithError"]),
    ("inProgress", &["done", "terminatedWithError"]),
    ("done", &[]),
    ("terminatedWithError", &[]),
];

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        name: "Service Qualification Management",
        base_path: "/tmf-api/serviceQualificationManagement/v4",
        schema: include_str!("../../../../schemas/TMF645.json"),
        observers: Vec::new(),
        resources: vec![
            ResourceDecl {
                server_owned: &[
                    "state",
                    "qualificationResult",
                    "effectiveQualificationDate",
                    "estimatedResponseDate",
                    "expirationDate",
                    "serviceQualificationItem[].qualificationResult",
                    "serviceQualificationItem[].state",
                    "serviceQualificationItem[].expirationDate",
                    "serviceQualificationItem[].eligibilityUnavailabilityReason",
                    "serviceQualificationItem[].alternateServiceProposal",
                    "serviceQualificationItem[].terminationError",
                ],
                ..resource(Kind::Check, "CheckServiceQualification")
            },
            ResourceDecl {
                server_owned: &[
                    "state",
                    "effectiveQualificationDate",
                    "estimatedResponseDate",
                    "expirationDate",
                    "serviceQualificationItem",
                ],
                ..resource(Kind::Query, "QueryServiceQualification")
            },
        ],
    }
}

pub fn job_handlers() -> Vec<(String, Arc<dyn JobHandler>)> {
    [Kind::Check, Kind::Query]
        .into_iter()
        .map(|kind| -> (String, Arc<dyn JobHandler>) {
            (kind.queue().to_string(), Arc::new(Evaluate(kind)))
        })
        .collect()
}

fn resource(kind: Kind, resource_type: &'static str) -> ResourceDecl {
    ResourceDecl {
        create_schema: Some(crate::catalog_jobs::schema_name(resource_type, "_Create")),
        update_schema: Some(crate::catalog_jobs::schema_name(resource_type, "_Update")),
        state: Some(StateMachine {
            attribute: "state",
            initial: Some("accepted"),
            transitions: TASK_TRANSITIONS,
        }),
        created_at: Some(match kind {
            Kind::Check => "checkServiceQualificationDate",
            Kind::Query => "queryServiceQualificationDate",
        }),
        hooks: Some(Arc::new(QualificationHooks(kind))),
        ..ResourceDecl::new(kind.collection(), resource_type)
    }
}

struct QualificationHooks(Kind);

impl Hooks for QualificationHooks {
    /// A new request must be well formed (TMF645 mandatory attributes, and ours: a place
    /// by id, a service named); a change may not alter the question once asked.
    fn check(&self, kind: WriteKind, doc: &mut Value, previous: Option<&Value>) -> Result<()> {
        match (kind, previous) {
            (WriteKind::Create, _) => match self.0 {
                Kind::Check => {
                    request::number_items(doc)?;
                    request::check_items(doc).map(|_| ())
                }
                Kind::Query => {
                    doc["serviceQualificationItem"] = json!([]);
                    request::query(doc).map(|_| ())
                }
            },
            (WriteKind::Update, Some(previous))
                if self.0.question(doc) != self.0.question(previous) =>
            {
                Err(Error::invalid_body(
                    "the question of a qualification cannot change once asked; post a new one",
                ))
            }
            _ => Ok(()),
        }
    }

    fn jobs(&self, kind: WriteKind, doc: &Value, _previous: Option<&Value>) -> Vec<NewJob> {
        match kind {
            WriteKind::Create if text(doc, "state") == "accepted" => {
                vec![job_for(self.0.queue(), doc)]
            }
            _ => Vec::new(),
        }
    }

    fn transactional(&self) -> bool {
        true
    }

    /// On create: refuses references to nothing (400), and answers at once when asked
    /// to (`instantSyncQualification`).
    fn within<'a>(
        &'a self,
        scope: &'a mut Scope,
        kind: WriteKind,
        doc: &'a mut Value,
        _previous: Option<&'a Value>,
    ) -> HookFuture<'a> {
        Box::pin(async move {
            if kind != WriteKind::Create {
                return Ok(());
            }
            let engine = scope.engine();
            answer::check_references(engine, self.0, doc).await?;
            if request::flag(doc, "instantSyncQualification") {
                answer::evaluate(engine, self.0, doc).await?.apply(doc);
            }
            Ok(())
        })
    }
}

/// The job answering a qualification asked without `instantSyncQualification`.
struct Evaluate(Kind);

impl Evaluate {
    async fn run(&self, engine: &Engine, id: &str) -> Result<()> {
        let at = engine.served(CODE, self.0.collection())?;
        let Some(doc) = engine.document(CODE, self.0.collection(), id).await? else {
            return Ok(());
        };
        match text(&doc, "state").as_str() {
            "accepted" => {
                engine
                    .update_internal(at, id, |doc| {
                        if text(doc, "state") == "accepted" {
                            doc["state"] = json!("inProgress");
                        }
                        Ok(())
                    })
                    .await?;
            }
            // A run that stopped after moving it (crash, database away) starts over.
            "inProgress" => {}
            _ => return Ok(()),
        }
        let outcome = answer::evaluate(engine, self.0, &doc).await;
        let outcome = match outcome {
            Err(error) if error.kind == ErrorKind::Unavailable => return Err(error),
            outcome => outcome,
        };
        engine
            .update_internal(at, id, |doc| {
                if text(doc, "state") != "inProgress" {
                    return Ok(());
                }
                match &outcome {
                    Ok(answer) => answer.apply(doc),
                    Err(error) => answer::terminate(doc, &error.message),
                }
                Ok(())
            })
            .await
            .map(|_| ())
    }
}

impl JobHandler for Evaluate {
    fn run<'a>(&'a self, engine: &'a Engine, payload: &'a Value) -> JobFuture<'a> {
        Box::pin(async move { settle(Evaluate::run(self, engine, payload_id(payload)).await) })
    }
}
