//! Building the engine: each declaration compiled against its API's schema (validators,
//! the attributes stored as scalars, where references point), the callback client, and
//! the wake-ups of other processes.

use std::sync::Arc;

use serde_json::Value;
use switchboard_store::Store;
use tokio::sync::Notify;

use crate::config::EngineConfig;
use crate::kernel::{ApiDecl, ApiRuntime, Engine, Inner, JobHandler, ResourceRuntime};
use crate::schema::{BodyValidator, ErrorShape};

impl Engine {
    /// Builds the engine over declared APIs; fails when a declaration does not fit its
    /// schema (a programming error, caught at start-up).
    pub fn new(
        store: Store,
        config: EngineConfig,
        apis: Vec<ApiDecl>,
        handlers: Vec<(String, Arc<dyn JobHandler>)>,
    ) -> std::result::Result<Engine, String> {
        let mut runtimes = Vec::new();
        for api in apis {
            let schema = api.schema_file()?;
            let mut resources = Vec::new();
            let mut api = api;
            for decl in std::mem::take(&mut api.resources) {
                let create_validator = compile(&schema, decl.create_schema)
                    .map_err(|error| format!("{}: {error}", api.code))?;
                let update_validator = decl
                    .update_schema
                    .map(|name| BodyValidator::compile_partial(&schema, name))
                    .transpose()
                    .map_err(|error| format!("{}: {error}", api.code))?;
                let scalars = scalar_attributes(&schema, decl.create_schema);
                let references = decl
                    .references
                    .iter()
                    .map(|reference| {
                        (
                            *reference,
                            format!("{}/{}", reference.api, reference.collection),
                        )
                    })
                    .collect();
                resources.push(ResourceRuntime {
                    scalars,
                    references,
                    kind: format!("{}/{}", api.code, decl.collection),
                    decl,
                    create_validator,
                    update_validator,
                    observers: Vec::new(),
                });
            }
            runtimes.push(ApiRuntime {
                error_shape: ErrorShape::of(&schema),
                schema,
                decl: api,
                resources,
            });
        }
        attach_observers(&mut runtimes)?;
        // Redirects are not followed: a 3xx would turn the event POST into a GET to
        // wherever the subscriber points, and the callback registered is the one used.
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(config.delivery_timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(crate::callbacks::resolver(config.callbacks))
            .build()
            .map_err(|error| format!("http client: {error}"))?;
        // Commits of other processes wake this worker too, where the store can tell.
        let wake = Arc::new(Notify::new());
        store.forward_wakeups(wake.clone());
        Ok(Engine {
            inner: Arc::new(Inner {
                store,
                config,
                apis: runtimes,
                wake,
                queued_due: std::sync::atomic::AtomicI64::new(i64::MAX),
                handlers: handlers.into_iter().collect(),
                http,
                locks: Default::default(),
            }),
        })
    }
}

/// Hands each API's observers to the resources they watch; one watching a resource
/// this build does not serve is a programming error.
fn attach_observers(runtimes: &mut [ApiRuntime]) -> std::result::Result<(), String> {
    let mut attached = Vec::new();
    for api in runtimes.iter_mut() {
        for observer in std::mem::take(&mut api.decl.observers) {
            attached.push((api.decl.code, observer));
        }
    }
    for (by, observer) in attached {
        let resource = runtimes
            .iter_mut()
            .filter(|api| api.decl.code == observer.api)
            .flat_map(|api| api.resources.iter_mut())
            .find(|resource| resource.decl.collection == observer.collection)
            .ok_or_else(|| {
                format!(
                    "{by} observes {} {}, which is not served",
                    observer.api, observer.collection
                )
            })?;
        resource.observers.push(observer.observe);
    }
    Ok(())
}

fn compile(
    schema: &Value,
    name: Option<&str>,
) -> std::result::Result<Option<BodyValidator>, String> {
    name.map(|name| BodyValidator::compile(schema, name))
        .transpose()
}

/// The top-level attributes a definition declares as strings (directly or through a
/// `$ref` to a string type such as an enum). A body that puts anything else there fails
/// validation, so stored documents hold strings (or nothing) under these names.
fn scalar_attributes(
    schema: &Value,
    definition: Option<&str>,
) -> std::collections::HashSet<String> {
    let definitions = &schema["definitions"];
    let is_scalar = |property: &Value| {
        let target = match property.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference.trim_start_matches("#/definitions/");
                &definitions[name]
            }
            None => property,
        };
        target
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind == "string")
    };
    let Some(definition) = definition else {
        return Default::default();
    };
    match definitions[definition].get("properties") {
        Some(Value::Object(properties)) => properties
            .iter()
            .filter(|(_, property)| is_scalar(property))
            .map(|(name, _)| name.clone())
            .collect(),
        _ => Default::default(),
    }
}
