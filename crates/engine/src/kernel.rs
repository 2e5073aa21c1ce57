//! The types that refer to each other, and so live together: the `Engine` handle and its
//! state, the declarations it holds (`ApiDecl`, `ResourceDecl`) with the traits an API
//! implements over the engine (`Hooks`, `View`, `JobHandler`), and `Scope`, the
//! transaction a hook works in. Behaviour lives in the modules above, by concern; here
//! are only the lookups every one of them needs.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;
use switchboard_store::{Store, Tx};
use tokio::sync::{Notify, OwnedMutexGuard};

use crate::config::EngineConfig;
use crate::error::{Error, Result};
use crate::events::{Emitted, Events};
use crate::locks::KeyLocks;
use crate::model::{NewJob, Operations, Reference, ResourceRef, StateMachine, WriteKind};
use crate::schema::{BodyValidator, ErrorShape};

/// One TMF Open API.
pub struct ApiDecl {
    /// "TMF620".
    pub code: &'static str,
    /// The human name, as the index and the API documents show it: "Product Catalog
    /// Management".
    pub name: &'static str,
    /// "/tmf-api/productCatalogManagement/v4" (no trailing slash).
    pub base_path: &'static str,
    /// The compact schema file produced by `cargo xtask import-specs`.
    pub schema: &'static str,
    pub resources: Vec<ResourceDecl>,
    /// Rules of this API about other APIs' resources (a fault in the resource inventory
    /// opens a service problem): the jobs their writes start for it.
    pub observers: Vec<Observer>,
}

/// One API's rule about writes of another API's resource (or one of its own): every
/// write of `api`'s `collection` asks `observe` for jobs, queued in that write's
/// transaction like the resource's own (an outbox: a write that fails starts nothing,
/// and nothing committed is missed). The observed API knows nothing of it.
pub struct Observer {
    pub api: &'static str,
    pub collection: &'static str,
    pub observe: Arc<dyn Observe>,
}

/// What an `Observer` makes of one write.
pub trait Observe: Send + Sync {
    /// Jobs the write starts (none by default); `previous` is the stored version on
    /// update. It runs in the write path: decide from the two documents, read nothing.
    fn jobs(&self, kind: WriteKind, doc: &Value, previous: Option<&Value>) -> Vec<NewJob>;
}

/// Domain rules of one resource. Every method has a default that does nothing.
pub trait Hooks: Send + Sync {
    /// Checks or completes a document before it is stored; `previous` is the stored
    /// version on update. An error refuses the write.
    fn check(&self, _kind: WriteKind, _doc: &mut Value, _previous: Option<&Value>) -> Result<()> {
        Ok(())
    }

    /// Jobs the write starts; they commit with it.
    fn jobs(&self, _kind: WriteKind, _doc: &Value, _previous: Option<&Value>) -> Vec<NewJob> {
        Vec::new()
    }

    /// Queued jobs the write leaves without a reason, as (queue, dedup key prefix): they
    /// are dropped with it, unless already running (an order that ended needs no more
    /// `resume`).
    fn dropped_jobs(
        &self,
        _kind: WriteKind,
        _doc: &Value,
        _previous: Option<&Value>,
    ) -> Vec<(String, String)> {
        Vec::new()
    }

    /// True when `within` has work to do: the engine then runs it inside the write's
    /// transaction and retries the whole write when a concurrent one moved what it read.
    fn transactional(&self) -> bool {
        false
    }

    /// Work inside the write's transaction, after `check`: read other resources, keep
    /// internal state, complete the document from it (a reservation's allocated units).
    /// An error refuses the write and nothing of it is stored.
    fn within<'a>(
        &'a self,
        _scope: &'a mut Scope,
        _kind: WriteKind,
        _doc: &'a mut Value,
        _previous: Option<&'a Value>,
    ) -> HookFuture<'a> {
        Box::pin(async { Ok(()) })
    }
}

pub type HookFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// One collection of an API.
pub struct ResourceDecl {
    /// Path segment and event payload key: "productOffering".
    pub collection: &'static str,
    /// `@type` default and event name stem: "ProductOffering".
    pub resource_type: &'static str,
    /// Definition in the compact schema that a POST body must satisfy, and that the
    /// result of a PATCH must still satisfy ("ProductOffering_Create").
    pub create_schema: Option<&'static str>,
    /// Definition that a merge-patch body must satisfy ("ProductOffering_Update").
    pub update_schema: Option<&'static str>,
    pub operations: Operations,
    pub state: Option<StateMachine>,
    /// Further state attributes with their own transitions (checked on every change,
    /// announced as attribute changes): a resource's administrative, operational and
    /// usage states.
    pub other_states: &'static [StateMachine],
    /// Set to the time of every write by the server ("lastUpdate").
    pub last_update: Option<&'static str>,
    /// Set once, at creation, by the server ("creationDate", "orderDate").
    pub created_at: Option<&'static str>,
    /// Further attributes only the server writes; id and href always are. `list[].attr`
    /// names an attribute of every entry of a list (entries matched by `id`).
    pub server_owned: &'static [&'static str],
    pub hooks: Option<Arc<dyn Hooks>>,
    /// References that must resolve to stored resources when a document is written.
    pub references: &'static [Reference],
    /// States in which this resource's references hold their targets in place: a target
    /// cannot be deleted or retired while a referrer is in one of them.
    pub in_service: &'static [&'static str],
    /// States that take this resource out of service, checked like a delete.
    pub retired: &'static [&'static str],
    /// Read-only views of one resource: `GET {base}/{collection}/{id}/{name}`.
    pub views: Vec<(&'static str, Arc<dyn View>)>,
    /// Its event names (the TMF630 ones unless its specification says otherwise) and the
    /// domain events its rules may emit.
    pub events: Events,
    /// Definitions of our own that this resource's schemas name, for a collection the
    /// specification lacks (an extension): a JSON object, name to JSON schema, merged
    /// into the API's schema file at start-up (`ApiDecl::schema_file`). A name the file
    /// defines already is refused: an extension adds, it never redefines.
    pub definitions: Option<&'static str>,
}

pub type ViewFuture<'a> = Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>>;

/// A read-only answer derived from one stored resource and what it links to (a
/// decomposition tree, an impact walk). It reads through the engine, so it sees what a
/// GET would; `query` is the raw query string of the request.
pub trait View: Send + Sync {
    fn get<'a>(&'a self, engine: &'a Engine, id: &'a str, query: &'a str) -> ViewFuture<'a>;
}

impl ResourceDecl {
    /// A collection with every operation, no state and no hooks; adjust with struct
    /// update syntax.
    pub fn new(collection: &'static str, resource_type: &'static str) -> Self {
        ResourceDecl {
            collection,
            resource_type,
            create_schema: None,
            update_schema: None,
            operations: Operations::ALL,
            state: None,
            other_states: &[],
            last_update: None,
            created_at: None,
            server_owned: &[],
            hooks: None,
            references: &[],
            in_service: &[],
            retired: &[],
            views: Vec::new(),
            events: Events::STANDARD,
            definitions: None,
        }
    }
}

impl ApiDecl {
    /// The API's schema as the engine compiles it: the compact schema file, with the
    /// definitions its resources add (`ResourceDecl::definitions`) merged in.
    pub fn schema_file(&self) -> std::result::Result<Value, String> {
        let mut schema: Value = serde_json::from_str(self.schema)
            .map_err(|error| format!("{}: schema is not JSON: {error}", self.code))?;
        let Some(definitions) = schema.get_mut("definitions").and_then(Value::as_object_mut) else {
            return Err(format!("{}: the schema file has no definitions", self.code));
        };
        for resource in &self.resources {
            let Some(own) = resource.definitions else {
                continue;
            };
            let own: serde_json::Map<String, Value> =
                serde_json::from_str(own).map_err(|error| {
                    format!(
                        "{} {}: definitions are not a JSON object: {error}",
                        self.code, resource.collection
                    )
                })?;
            for (name, definition) in own {
                if definitions.contains_key(&name) {
                    return Err(format!(
                        "{} {}: definition '{name}' is in the schema file already",
                        self.code, resource.collection
                    ));
                }
                definitions.insert(name, definition);
            }
        }
        Ok(schema)
    }
}

pub type JobFuture<'a> = Pin<Box<dyn Future<Output = std::result::Result<(), String>> + Send + 'a>>;

/// Runs the jobs of one queue. A handler must be idempotent: after a crash the same
/// job may run again.
pub trait JobHandler: Send + Sync {
    fn run<'a>(&'a self, engine: &'a Engine, payload: &'a Value) -> JobFuture<'a>;
}

pub(crate) struct ResourceRuntime {
    pub decl: ResourceDecl,
    pub kind: String,
    pub(crate) create_validator: Option<BodyValidator>,
    pub(crate) update_validator: Option<BodyValidator>,
    /// Top-level attributes the create schema declares scalar.
    pub(crate) scalars: std::collections::HashSet<String>,
    /// The declared references with the store kind each points into.
    pub(crate) references: Vec<(Reference, String)>,
    /// Other APIs' rules about this resource's writes (`ApiDecl::observers`).
    pub(crate) observers: Vec<Arc<dyn Observe>>,
}

pub struct ApiRuntime {
    pub decl: ApiDecl,
    /// The schema its resources were compiled against (`ApiDecl::schema_file`).
    pub schema: Value,
    /// How this API's `Error` definition types `code`, `reason` and `status`.
    pub error_shape: ErrorShape,
    pub(crate) resources: Vec<ResourceRuntime>,
}

impl ApiRuntime {
    pub fn resources(&self) -> impl Iterator<Item = &ResourceDecl> {
        self.resources.iter().map(|resource| &resource.decl)
    }
}

pub(crate) struct Inner {
    pub store: Store,
    pub config: EngineConfig,
    pub apis: Vec<ApiRuntime>,
    pub wake: Arc<Notify>,
    /// The earliest time (ms since the epoch) a job this process queued for later (or
    /// a retry) falls due since the worker last looked; `i64::MAX`: none.
    pub queued_due: std::sync::atomic::AtomicI64,
    pub handlers: std::collections::HashMap<String, Arc<dyn JobHandler>>,
    pub http: reqwest::Client,
    pub locks: KeyLocks,
}

/// The engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl Engine {
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    pub fn apis(&self) -> &[ApiRuntime] {
        &self.inner.apis
    }

    /// Finds a resource by API code and collection name.
    pub fn resource_ref(&self, api_code: &str, collection: &str) -> Option<ResourceRef> {
        let api = self
            .inner
            .apis
            .iter()
            .position(|api| api.decl.code == api_code)?;
        let resource = self.inner.apis[api]
            .resources
            .iter()
            .position(|resource| resource.decl.collection == collection)?;
        Some(ResourceRef { api, resource })
    }

    pub(crate) fn api(&self, index: usize) -> Result<&ApiRuntime> {
        self.inner
            .apis
            .get(index)
            .ok_or_else(|| Error::internal("unknown API"))
    }

    pub(crate) fn runtime(&self, at: ResourceRef) -> Result<(&ApiRuntime, &ResourceRuntime)> {
        let api = self.api(at.api)?;
        let resource = api
            .resources
            .get(at.resource)
            .ok_or_else(|| Error::internal("unknown resource"))?;
        Ok((api, resource))
    }

    pub fn decl(&self, at: ResourceRef) -> Result<&ResourceDecl> {
        Ok(&self.runtime(at)?.1.decl)
    }

    /// Wakes the workers after a commit that queued jobs.
    pub(crate) fn wake(&self) {
        self.inner.wake.notify_waiters();
    }

    /// A job of this process falls due at `at` (ms since the epoch), maybe sooner than
    /// the next one the worker knows of.
    pub(crate) fn due_at(&self, at: i64) {
        self.inner
            .queued_due
            .fetch_min(at, std::sync::atomic::Ordering::AcqRel);
    }

    /// Where `api`'s `collection` is served; an internal error when it is not (a
    /// declaration naming an API this build lacks).
    pub fn served(&self, api: &str, collection: &str) -> Result<ResourceRef> {
        self.resource_ref(api, collection)
            .ok_or_else(|| Error::internal(format!("{api} {collection} is not served")))
    }

    /// The 404 of a resource that is not stored.
    pub(crate) fn not_found(&self, resource: &ResourceRuntime, id: &str) -> Error {
        Error::not_found(format!("no {} with id '{id}'", resource.decl.collection))
    }

    /// Refuses (405) an operation the collection does not offer.
    pub(crate) fn allowed(
        &self,
        resource: &ResourceRuntime,
        allowed: bool,
        what: &str,
    ) -> Result<()> {
        if allowed {
            return Ok(());
        }
        Err(Error::method_not_allowed(format!(
            "{what} is not offered on {}",
            resource.decl.collection
        )))
    }
}

/// A hook's view of the write transaction.
pub struct Scope {
    pub(crate) engine: Engine,
    pub(crate) api: &'static str,
    pub(crate) tx: Tx,
    pub(crate) jobs: Vec<NewJob>,
    /// Domain events emitted so far (`Scope::emit`), fanned out at commit.
    pub(crate) emitted: Vec<Emitted>,
    /// The key locks held, by key: a transaction of several writes takes each once.
    pub(crate) guards: Vec<(String, OwnedMutexGuard<()>)>,
}

impl Scope {
    pub(crate) fn new(engine: Engine, api: &'static str, tx: Tx) -> Scope {
        Scope {
            engine,
            api,
            tx,
            jobs: Vec::new(),
            emitted: Vec::new(),
            guards: Vec::new(),
        }
    }

    /// The API whose internal state the next write's hooks keep (a transaction of
    /// several writes may span APIs).
    pub(crate) fn set_api(&mut self, api: &'static str) {
        self.api = api;
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The transaction back, with the jobs queued and the events emitted; the locks go
    /// with it, released once its writes are submitted.
    pub(crate) fn finish(mut self) -> Finished {
        for (_, guard) in self.guards {
            self.tx.release_on_submit(Box::new(guard));
        }
        Finished {
            tx: self.tx,
            jobs: self.jobs,
            emitted: self.emitted,
        }
    }
}

/// A write's transaction as its hooks left it, ready for the commit's tail.
pub(crate) struct Finished {
    pub tx: Tx,
    pub jobs: Vec<NewJob>,
    pub emitted: Vec<Emitted>,
}

impl Finished {
    /// A transaction no hook worked in: no jobs, no domain events.
    pub fn of(tx: Tx) -> Finished {
        Finished {
            tx,
            jobs: Vec::new(),
            emitted: Vec::new(),
        }
    }
}
