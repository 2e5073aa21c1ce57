//! Catalog import and export jobs (TMF620 `importJob`/`exportJob`, reused by TMF633 and
//! TMF634): creating a job queues it; the worker reads or writes the file its `url`
//! names and records the outcome on the job resource.

use serde_json::{json, Value};
use switchboard_engine::{
    file_url_path, Engine, Hooks, JobHandler, NewJob, ResourceRef, WriteKind,
};

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
        if kind != WriteKind::Create {
            return Vec::new();
        }
        let id = doc.get("id").and_then(Value::as_str).unwrap_or_default();
        vec![NewJob {
            queue: self.queue.to_string(),
            payload: json!({"id": id}),
            dedup_key: Some(format!("{}:{id}", self.queue)),
        }]
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
            doc["completionDate"] = Value::String(now);
            match outcome {
                Ok(()) => doc["status"] = json!("Succeeded"),
                Err(error) => {
                    doc["status"] = json!("Failed");
                    doc["errorLog"] = Value::String(error);
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

pub struct CatalogExport {
    pub api: &'static str,
    pub job_collection: &'static str,
    pub collections: &'static [&'static str],
}

impl JobHandler for CatalogExport {
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
                let data = engine
                    .dump(api_index(engine, self.api)?, self.collections)
                    .await
                    .map_err(|error| error.to_string())?;
                let text = serde_json::to_vec_pretty(&data).map_err(|error| error.to_string())?;
                // Write beside the target and rename, so a reader never sees half a file.
                let partial = path.with_extension("partial");
                tokio::fs::write(&partial, text)
                    .await
                    .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
                tokio::fs::rename(&partial, &path)
                    .await
                    .map_err(|error| format!("cannot write {}: {error}", path.display()))
            }
            .await;
            finish(engine, at, &id, outcome).await
        })
    }
}

pub struct CatalogImport {
    pub api: &'static str,
    pub job_collection: &'static str,
}

impl JobHandler for CatalogImport {
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
                let text = tokio::fs::read(&path)
                    .await
                    .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
                let data: Value = serde_json::from_slice(&text)
                    .map_err(|error| format!("{} is not JSON: {error}", path.display()))?;
                engine
                    .restore(api_index(engine, self.api)?, &data)
                    .await
                    .map(|_| ())
                    .map_err(|error| error.message)
            }
            .await;
            finish(engine, at, &id, outcome).await
        })
    }
}
