//! Catalog import and export jobs (TMF620 `importJob`/`exportJob`, reused by TMF633 and
//! TMF634): creating a job queues it; the worker reads or writes the file its `url`
//! names and records the outcome on the job resource.

use std::sync::Arc;

use serde_json::{json, Value};
use switchboard_engine::{
    file_url_path, Engine, Hooks, JobHandler, NewJob, Operations, ResourceDecl, ResourceRef,
    WriteKind,
};

use crate::lifecycle::{catalog_lifecycle, job_status};

/// A catalog entity (TMF620/633/634): `name` mandatory, the catalog lifecycle,
/// `lastUpdate` kept by the server.
pub fn catalog_entity(collection: &'static str, resource_type: &'static str) -> ResourceDecl {
    ResourceDecl {
        create_schema: Some(schema_name(resource_type, "_Create")),
        update_schema: Some(schema_name(resource_type, "_Update")),
        state: Some(catalog_lifecycle()),
        last_update: Some("lastUpdate"),
        in_service: crate::lifecycle::CATALOG_IN_SERVICE,
        retired: &["Retired", "Obsolete"],
        ..ResourceDecl::new(collection, resource_type)
    }
}

/// The definition name `<Type><suffix>` of a compact schema.
pub fn schema_name(resource_type: &'static str, suffix: &str) -> &'static str {
    // Declarations are built once at start-up; leaking the few names is harmless and
    // keeps the declaration types simple `&'static str`.
    Box::leak(format!("{resource_type}{suffix}").into_boxed_str())
}

/// An import or export job resource whose creation queues its work on `queue`.
pub fn catalog_job(
    collection: &'static str,
    resource_type: &'static str,
    queue: &'static str,
) -> ResourceDecl {
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

/// The export and import handlers of one catalog API.
pub fn catalog_job_handlers(
    api: &'static str,
    export_queue: &'static str,
    import_queue: &'static str,
    collections: &'static [&'static str],
) -> Vec<(String, Arc<dyn JobHandler>)> {
    let job = |job_collection, direction| -> Arc<dyn JobHandler> {
        Arc::new(CatalogJob {
            api,
            job_collection,
            collections,
            direction,
        })
    };
    vec![
        (
            export_queue.to_string(),
            job("exportJob", Direction::Export),
        ),
        (
            import_queue.to_string(),
            job("importJob", Direction::Import),
        ),
    ]
}

/// Queues the job's work when the job resource is created.
pub struct JobHooks {
    pub queue: &'static str,
}

impl Hooks for JobHooks {
    fn check(
        &self,
        kind: WriteKind,
        doc: &mut Value,
        _previous: Option<&Value>,
    ) -> switchboard_engine::Result<()> {
        if kind == WriteKind::Create {
            let url = doc.get("url").and_then(Value::as_str).unwrap_or_default();
            file_url_path(url)?;
        }
        Ok(())
    }

    fn jobs(&self, kind: WriteKind, doc: &Value, _previous: Option<&Value>) -> Vec<NewJob> {
        match kind {
            WriteKind::Create => vec![crate::steps::job_for(self.queue, doc)],
            _ => Vec::new(),
        }
    }
}

fn job_ref(engine: &Engine, api: &str, collection: &str) -> Result<ResourceRef, String> {
    engine
        .resource_ref(api, collection)
        .ok_or_else(|| format!("{api} has no {collection}"))
}

fn api_index(engine: &Engine, api: &str) -> Result<usize, String> {
    engine
        .apis()
        .iter()
        .position(|runtime| runtime.decl.code == api)
        .ok_or_else(|| format!("{api} is not served"))
}

/// Reads the job resource; `None` when it is gone or already finished (a rerun after
/// a crash must not redo the work).
async fn pending_job(
    engine: &Engine,
    at: ResourceRef,
    payload: &Value,
) -> Result<Option<(String, String)>, String> {
    let id = payload
        .get("id")
        .and_then(Value::as_str)
        .ok_or("job payload without id")?;
    let job = match engine.retrieve(at, id, "").await {
        Ok(job) => job,
        Err(error) if error.kind == switchboard_engine::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.to_string()),
    };
    let doc: Value = serde_json::from_str(&job.json).map_err(|error| error.to_string())?;
    let status = doc
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if matches!(status, "Succeeded" | "Failed") {
        return Ok(None);
    }
    let url = doc
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok(Some((id.to_string(), url)))
}

/// Records the outcome on the job resource (and so emits its state-change event).
async fn finish(
    engine: &Engine,
    at: ResourceRef,
    id: &str,
    outcome: Result<(), String>,
) -> Result<(), String> {
    let now = switchboard_engine::now_rfc3339();
    let result = engine
        .update_internal(at, id, |doc| {
            doc["completionDate"] = Value::String(now.clone());
            match &outcome {
                Ok(()) => doc["status"] = json!("Succeeded"),
                Err(error) => {
                    doc["status"] = json!("Failed");
                    doc["errorLog"] = Value::String(error.clone());
                }
            }
            Ok(())
        })
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(error) if error.kind == switchboard_engine::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error.to_string()),
    }
}

/// Which way a catalog job moves data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Write the collections to the job's file.
    Export,
    /// Read the job's file into the collections.
    Import,
}

/// The worker side of an import or export job resource.
pub struct CatalogJob {
    pub api: &'static str,
    pub job_collection: &'static str,
    /// What an export writes (an import takes whatever collections the file holds).
    pub collections: &'static [&'static str],
    pub direction: Direction,
}

impl JobHandler for CatalogJob {
    fn run<'a>(
        &'a self,
        engine: &'a Engine,
        payload: &'a Value,
    ) -> switchboard_engine::worker::JobFuture<'a> {
        Box::pin(async move {
            let at = job_ref(engine, self.api, self.job_collection)?;
            let Some((id, url)) = pending_job(engine, at, payload).await? else {
                return Ok(());
            };
            let outcome = async {
                let path = file_url_path(&url).map_err(|error| error.message)?;
                let api = api_index(engine, self.api)?;
                match self.direction {
                    Direction::Export => export(engine, api, self.collections, &path).await,
                    Direction::Import => import(engine, api, &path).await,
                }
            }
            .await;
            match outcome {
                Ok(()) => finish(engine, at, &id, Ok(())).await,
                Err(Stop::Fail(log)) => finish(engine, at, &id, Err(log)).await,
                Err(Stop::Retry(error)) => Err(error),
            }
        })
    }
}

/// Why a job's work stopped short.
enum Stop {
    /// The job failed (a file it cannot read, data it cannot store): recorded on the job
    /// resource as `Failed` with this `errorLog`.
    Fail(String),
    /// The database was unavailable, which is no outcome of the job: the queue runs it
    /// again after a backoff instead.
    Retry(String),
}

impl From<String> for Stop {
    fn from(log: String) -> Self {
        Stop::Fail(log)
    }
}

impl Stop {
    fn of(error: switchboard_engine::Error, log: String) -> Stop {
        if error.kind == switchboard_engine::ErrorKind::Unavailable {
            Stop::Retry(error.to_string())
        } else {
            Stop::Fail(log)
        }
    }
}

async fn export(
    engine: &Engine,
    api: usize,
    collections: &[&str],
    path: &std::path::Path,
) -> Result<(), Stop> {
    let data = engine.dump(api, collections).await.map_err(|error| {
        let log = error.to_string();
        Stop::of(error, log)
    })?;
    let text = serde_json::to_vec_pretty(&data).map_err(|error| error.to_string())?;
    // Write beside the target and rename, so a reader never sees half a file.
    let partial = path.with_extension("partial");
    let cannot_write = |error: std::io::Error| format!("cannot write {}: {error}", path.display());
    tokio::fs::write(&partial, text)
        .await
        .map_err(cannot_write)?;
    tokio::fs::rename(&partial, path)
        .await
        .map_err(|error| Stop::Fail(cannot_write(error)))
}

async fn import(engine: &Engine, api: usize, path: &std::path::Path) -> Result<(), Stop> {
    let text = tokio::fs::read(path)
        .await
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let data: Value = serde_json::from_slice(&text)
        .map_err(|error| format!("{} is not JSON: {error}", path.display()))?;
    engine
        .restore(api, &data)
        .await
        .map(|_| ())
        .map_err(|error| {
            let log = error.message.clone();
            Stop::of(error, log)
        })
}
