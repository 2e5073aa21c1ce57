//! The operations every declared resource gets (TMF630 §"REST API patterns"): create,
//! retrieve, list, patch, delete, and the hub. Each write is one store transaction
//! holding the document, its events and the jobs it starts.

use std::sync::Arc;

use serde_json::{Map, Value};
use switchboard_store::{ListQuery, Promoted, Store, Tx};
use tokio::sync::Notify;

use crate::decl::{ApiDecl, NewJob, Reference, ResourceDecl, WriteKind};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{self, Change};
use crate::query::{project, ColumnMap, ParsedQuery};
use crate::schema::BodyValidator;
use crate::scope::Scope;
use crate::worker::JobHandler;

/// Settings the engine needs from the operator.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Base of every `href`, e.g. `http://127.0.0.1:8080` (no trailing slash).
    pub public_url: String,
    /// Page size when a list names no `limit`.
    pub default_limit: u64,
    /// Largest `limit` honoured; larger requests get this many and a 206.
    pub max_limit: u64,
    /// Delivery attempts before an event is dead-lettered.
    pub max_attempts: i64,
    /// First retry delay; doubled on every further failure up to `backoff_max_ms`.
    pub backoff_base_ms: i64,
    pub backoff_max_ms: i64,
    /// Time allowed for one callback request.
    pub delivery_timeout_ms: u64,
    /// Lease on a claimed job; a worker that dies loses its jobs after this long.
    pub lease_ms: i64,
    /// Longest sleep of an idle worker; polling is the guarantee, wake-ups the speed.
    pub poll_interval_ms: u64,
    /// Where event callbacks may go.
    pub callbacks: crate::callbacks::CallbackPolicy,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            public_url: "http://127.0.0.1:8080".to_string(),
            default_limit: 100,
            max_limit: 1000,
            max_attempts: 8,
            backoff_base_ms: 1000,
            backoff_max_ms: 300_000,
            delivery_timeout_ms: 5000,
            lease_ms: 30_000,
            poll_interval_ms: 1000,
            callbacks: crate::callbacks::CallbackPolicy::Anywhere,
        }
    }
}

/// Addresses one declared resource: the API's and the resource's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResourceRef {
    pub api: usize,
    pub resource: usize,
}

/// A stored resource as the engine hands it out: serialised once, ready to send.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: String,
    pub version: i64,
    pub json: String,
}

impl Stored {
    /// The ETag of this version.
    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }
}

/// One page of a list: a serialised JSON array and the counts for the headers.
#[derive(Debug, Clone)]
pub struct ListResult {
    pub json: String,
    pub total: u64,
    pub count: u64,
}

/// How a PATCH body is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// RFC 7396 (`application/merge-patch+json`, and plain `application/json`).
    Merge,
    /// RFC 6902 (`application/json-patch+json`), applied atomically.
    JsonPatch,
}

pub(crate) struct ResourceRuntime {
    pub decl: ResourceDecl,
    pub kind: String,
    create_validator: Option<BodyValidator>,
    update_validator: Option<BodyValidator>,
    /// Top-level attributes the create schema declares scalar.
    scalars: std::collections::HashSet<String>,
    /// The declared references with the store kind each points into.
    references: Vec<(Reference, String)>,
}

pub struct ApiRuntime {
    pub decl: ApiDecl,
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
    pub locks: crate::scope::KeyLocks,
}

/// The engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

fn compile(
    schema: &Value,
    name: Option<&str>,
) -> std::result::Result<Option<BodyValidator>, String> {
    name.map(|name| BodyValidator::compile(schema, name))
        .transpose()
}

/// Longest value of an attribute the store indexes (`name`, `@type`, the state).
const INDEXED_MAX_CHARS: usize = 512;

/// The document as stored. Text holding NUL is refused: PostgreSQL cannot store it, and
/// both backends must accept the same documents.
pub(crate) fn storable_json(doc: &Value) -> Result<String> {
    fn has_nul(value: &Value) -> bool {
        match value {
            Value::String(text) => text.contains('\0'),
            Value::Array(items) => items.iter().any(has_nul),
            Value::Object(object) => object
                .iter()
                .any(|(key, value)| key.contains('\0') || has_nul(value)),
            _ => false,
        }
    }
    if has_nul(doc) {
        return Err(Error::invalid_body(
            "text may not contain the NUL character (\\u0000)",
        ));
    }
    Ok(doc.to_string())
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

/// A stored document as JSON; stored text that does not parse is a fault of ours.
pub(crate) fn parse_stored(json: &str) -> Result<Value> {
    serde_json::from_str(json)
        .map_err(|error| Error::internal(format!("stored JSON unreadable: {error}")))
}

fn string_at(doc: &Value, key: &str) -> Option<String> {
    doc.get(key).and_then(Value::as_str).map(str::to_string)
}

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
            let schema: Value = serde_json::from_str(api.schema)
                .map_err(|error| format!("{}: schema is not JSON: {error}", api.code))?;
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
                });
            }
            runtimes.push(ApiRuntime {
                decl: api,
                resources,
            });
        }
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

    /// The absolute `href` of a resource (the `Location` of a 201).
    pub fn location(&self, at: ResourceRef, id: &str) -> Result<String> {
        let (api, resource) = self.runtime(at)?;
        Ok(self.href(api, resource.decl.collection, id))
    }

    fn href(&self, api: &ApiRuntime, collection: &str, id: &str) -> String {
        format!(
            "{}{}/{}/{}",
            self.inner.config.public_url, api.decl.base_path, collection, id
        )
    }

    fn columns<'a>(&self, resource: &'a ResourceRuntime) -> ColumnMap<'a> {
        ColumnMap {
            state: resource.decl.state.as_ref().map(|state| state.attribute),
            last_update: resource.decl.last_update,
            scalars: &resource.scalars,
        }
    }

    /// The values the store indexes beside the document; each is bounded, as an index
    /// entry is (PostgreSQL refuses B-tree entries over about 2.7 kB).
    fn promoted(resource: &ResourceRuntime, doc: &Value) -> Result<Promoted> {
        let promoted = Promoted {
            name: string_at(doc, "name"),
            state: resource
                .decl
                .state
                .as_ref()
                .and_then(|state| string_at(doc, state.attribute)),
            type_name: string_at(doc, "@type"),
            updated: resource
                .decl
                .last_update
                .and_then(|attribute| string_at(doc, attribute)),
            links: resource
                .references
                .iter()
                .flat_map(|(reference, kind)| {
                    reference
                        .ids(doc)
                        .into_iter()
                        .map(|id| switchboard_store::link(kind, id))
                })
                .collect::<std::collections::BTreeSet<String>>()
                .into_iter()
                .collect(),
        };
        let named = [
            ("name", &promoted.name),
            ("@type", &promoted.type_name),
            (
                resource
                    .decl
                    .state
                    .as_ref()
                    .map_or("state", |s| s.attribute),
                &promoted.state,
            ),
            (
                resource.decl.last_update.unwrap_or("lastUpdate"),
                &promoted.updated,
            ),
        ];
        for (attribute, value) in named {
            if value
                .as_ref()
                .is_some_and(|value| value.chars().count() > INDEXED_MAX_CHARS)
            {
                return Err(Error::invalid_body(format!(
                    "'{attribute}' may hold at most {INDEXED_MAX_CHARS} characters"
                )));
            }
        }
        Ok(promoted)
    }

    fn allowed(&self, resource: &ResourceRuntime, allowed: bool, what: &str) -> Result<()> {
        if allowed {
            return Ok(());
        }
        Err(Error::method_not_allowed(format!(
            "{what} is not offered on {}",
            resource.decl.collection
        )))
    }

    /// POST on a collection (TMF630 "Create resource"): validates, stamps the
    /// server-owned attributes, stores, and emits the create event. The id is a UUIDv7:
    /// ids made later sort later, so the store's id indexes grow at their end.
    pub async fn create(&self, at: ResourceRef, body: Value) -> Result<Stored> {
        self.create_as(at, body, uuid::Uuid::now_v7().to_string(), false)
            .await
            .map(|(stored, _)| stored)
    }

    /// Creates a document under an id the caller derived (a fulfilment step's
    /// idempotency key), as a POST would otherwise (except that the server's own body may
    /// set server-owned attributes, such as the state an order starts in): a document already stored under that
    /// id is answered as it is, unchanged, with `false` (the step ran before).
    /// No read comes first: the step run twice is the exception, and the primary key
    /// answers it. Any refusal is checked against the store too, since a write the
    /// first run made may now fail a rule (a pool since exhausted, say).
    pub async fn ensure(&self, at: ResourceRef, id: &str, body: Value) -> Result<(Value, bool)> {
        match self.create_as(at, body, id.to_string(), true).await {
            Ok((_, doc)) => Ok((doc, true)),
            Err(error) => {
                let kind = &self.runtime(at)?.1.kind;
                match self.inner.store.get(kind, id).await? {
                    Some(stored) => Ok((parse_stored(&stored.json)?, false)),
                    None => Err(error),
                }
            }
        }
    }

    /// `internal`: the server's own create, which may set server-owned attributes.
    /// Answers what was stored, as text and as the document.
    async fn create_as(
        &self,
        at: ResourceRef,
        body: Value,
        id: String,
        internal: bool,
    ) -> Result<(Stored, Value)> {
        let (api, resource) = self.runtime(at)?;
        let doc = self.prepare_new(at, body, &id, internal)?;
        let Some(hooks) = transactional(&resource.decl) else {
            let scope = Scope::new(self.clone(), api.decl.code, self.inner.store.begin().await?);
            return self.create_in(api, resource, &id, doc, scope).await;
        };
        let mut attempt = 0;
        loop {
            let mut attempt_doc = doc.clone();
            let mut scope =
                Scope::new(self.clone(), api.decl.code, self.inner.store.begin().await?);
            hooks
                .within(&mut scope, WriteKind::Create, &mut attempt_doc, None)
                .await?;
            match self.create_in(api, resource, &id, attempt_doc, scope).await {
                Err(error) if error.concurrent && attempt < CONCURRENT_RETRIES => attempt += 1,
                outcome => return outcome,
            }
        }
    }

    /// A new document as it is to be stored under `id`: validated, stamped (server-owned
    /// attributes), and checked by its hooks; the transactional ones come after.
    pub(crate) fn prepare_new(
        &self,
        at: ResourceRef,
        body: Value,
        id: &str,
        internal: bool,
    ) -> Result<Value> {
        let (api, resource) = self.runtime(at)?;
        self.allowed(resource, resource.decl.operations.create, "POST")?;
        let Value::Object(mut object) = body else {
            return Err(Error::invalid_body("the body must be a JSON object"));
        };
        // The server owns these: whatever the client sent is replaced.
        for key in ["id", "href"] {
            object.remove(key);
        }
        let mut doc = Value::Object(object);
        if let Some(validator) = &resource.create_validator {
            validator.check(&doc)?;
        }
        self.stamp_new(api, resource, &mut doc, id, internal)?;
        if let Some(hooks) = &resource.decl.hooks {
            hooks.check(WriteKind::Create, &mut doc, None)?;
        }
        Ok(doc)
    }

    /// Stores a prepared new document in the scope's transaction and commits.
    async fn create_in(
        &self,
        api: &ApiRuntime,
        resource: &ResourceRuntime,
        id: &str,
        doc: Value,
        mut scope: Scope,
    ) -> Result<(Stored, Value)> {
        let json = self.insert_in(&mut scope, resource, id, &doc).await?;
        let (tx, jobs) = scope.finish();
        self.finish(
            tx,
            api,
            || vec![announce(resource, Change::Create, &doc)],
            jobs,
        )
        .await?;
        let stored = Stored {
            id: id.to_string(),
            version: 1,
            json,
        };
        Ok((stored, doc))
    }

    /// A prepared new document written into `scope`'s transaction (references checked,
    /// the jobs its hooks start queued); the caller commits it. Answers its JSON text.
    pub(crate) async fn insert_in(
        &self,
        scope: &mut Scope,
        resource: &ResourceRuntime,
        id: &str,
        doc: &Value,
    ) -> Result<String> {
        let json = storable_json(doc)?;
        self.check_references(&mut scope.tx, resource, id, doc, None)
            .await?;
        scope
            .tx
            .insert(&resource.kind, id, &json, &Self::promoted(resource, doc)?)
            .await?;
        scope
            .jobs
            .extend(hook_jobs(&resource.decl, WriteKind::Create, doc, None));
        Ok(json)
    }

    /// Sets id, href, `@type`, the dates and the initial state of a new document, and
    /// checks a state the client chose. Server-owned attributes a client sent are
    /// dropped; the server's own (`internal`) are kept.
    fn stamp_new(
        &self,
        api: &ApiRuntime,
        resource: &ResourceRuntime,
        doc: &mut Value,
        id: &str,
        internal: bool,
    ) -> Result<()> {
        let href = self.href(api, resource.decl.collection, id);
        let now = crate::now_rfc3339();
        let Value::Object(object) = doc else {
            return Err(Error::invalid_body("the body must be a JSON object"));
        };
        let mut stamped = Map::new();
        stamped.insert("id".into(), Value::String(id.to_string()));
        stamped.insert("href".into(), Value::String(href));
        for (key, value) in std::mem::take(object) {
            stamped.insert(key, value);
        }
        if !stamped.contains_key("@type") {
            stamped.insert(
                "@type".into(),
                Value::String(resource.decl.resource_type.to_string()),
            );
        }
        if !internal {
            for attribute in resource.decl.server_owned {
                stamped.remove(*attribute);
            }
        }
        if let Some(attribute) = resource.decl.created_at {
            stamped.insert(attribute.into(), Value::String(now.clone()));
        }
        if let Some(attribute) = resource.decl.last_update {
            stamped.insert(attribute.into(), Value::String(now));
        }
        if let Some(state) = &resource.decl.state {
            match stamped.get(state.attribute) {
                None | Some(Value::Null) => {
                    if let Some(initial) = state.initial {
                        stamped.insert(state.attribute.into(), Value::String(initial.into()));
                    }
                }
                Some(Value::String(value)) if state.knows(value) => {
                    if let Some(canonical) = state.canonical(value) {
                        stamped.insert(state.attribute.into(), Value::String(canonical.into()));
                    }
                }
                Some(other) => {
                    return Err(Error::invalid_body(format!(
                        "'{}' {} is not a known state; known states: {}",
                        state.attribute,
                        other,
                        state.states().join(", ")
                    )))
                }
            }
        }
        *object = stamped;
        Ok(())
    }

    /// Refuses a document whose declared references name resources that do not exist,
    /// or that would close a cycle through an acyclic reference. On an update only the
    /// references it adds are checked: one whose target was deleted since (as an
    /// inventory allows) does not block unrelated changes.
    async fn check_references(
        &self,
        tx: &mut Tx,
        resource: &ResourceRuntime,
        id: &str,
        doc: &Value,
        previous: Option<&Value>,
    ) -> Result<()> {
        for reference in resource.decl.references {
            let ids = reference.added_ids(doc, previous);
            if ids.is_empty() {
                continue;
            }
            let kind = self.referred_kind(reference)?;
            for target in &ids {
                if tx.get(&kind, target).await?.is_none() {
                    return Err(Error::invalid_body(format!(
                        "'{}' refers to {} {} '{target}', which does not exist",
                        reference.attribute, reference.api, reference.collection
                    )));
                }
            }
            if reference.acyclic && kind == resource.kind {
                self.check_acyclic(tx, reference, &kind, id, &ids).await?;
            }
        }
        Ok(())
    }

    /// Walks `reference` from `start` and refuses when the walk comes back to `id`.
    async fn check_acyclic(
        &self,
        tx: &mut Tx,
        reference: &Reference,
        kind: &str,
        id: &str,
        start: &[&str],
    ) -> Result<()> {
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut queue: Vec<(String, Vec<String>)> = start
            .iter()
            .map(|target| (target.to_string(), vec![id.to_string()]))
            .collect();
        while let Some((current, path)) = queue.pop() {
            if current == id {
                let mut cycle = path;
                cycle.push(id.to_string());
                return Err(Error::invalid_body(format!(
                    "'{}' would close a cycle: {}",
                    reference.attribute,
                    cycle.join(" -> ")
                )));
            }
            if !seen.insert(current.clone()) {
                continue;
            }
            let Some(stored) = tx.get(kind, &current).await? else {
                continue;
            };
            let doc = parse_stored(&stored.json)?;
            for next in reference.ids(&doc) {
                let mut longer = path.clone();
                longer.push(current.clone());
                queue.push((next.to_string(), longer));
            }
        }
        Ok(())
    }

    /// The store kind a reference points into.
    fn referred_kind(&self, reference: &Reference) -> Result<String> {
        let Some(target) = self.resource_ref(reference.api, reference.collection) else {
            return Err(Error::internal(format!(
                "reference to {} {} which is not served",
                reference.api, reference.collection
            )));
        };
        Ok(self.runtime(target)?.1.kind.clone())
    }

    /// Documents of the `from` collections that refer, through a declared reference, to
    /// any of `ids` of `api`'s `collection`: (where the referrer is, the id it refers
    /// to, the referrer), at most `limit`, in one lookup of the store's link index.
    pub async fn referrers(
        &self,
        target: (&str, &str),
        ids: &[String],
        from: &[(&str, &str)],
        limit: i64,
    ) -> Result<Vec<(ResourceRef, String, Value)>> {
        let (api, collection) = target;
        let target_kind = self.runtime(self.served(api, collection)?)?.1.kind.clone();
        let mut kinds = Vec::new();
        let mut refs = Vec::new();
        for (api, collection) in from {
            let at = self.served(api, collection)?;
            kinds.push(self.runtime(at)?.1.kind.clone());
            refs.push(at);
        }
        let keys: Vec<String> = ids
            .iter()
            .map(|id| switchboard_store::link(&target_kind, id))
            .collect();
        let prefix = format!("{target_kind} ");
        let found = self.inner.store.referrers(&keys, &kinds, limit).await?;
        let mut out = Vec::with_capacity(found.len());
        for referrer in found {
            let Some(position) = kinds.iter().position(|kind| *kind == referrer.kind) else {
                continue;
            };
            let target_id = referrer
                .target
                .strip_prefix(&prefix)
                .unwrap_or_default()
                .to_string();
            out.push((
                refs[position],
                target_id,
                parse_stored(&referrer.document.json)?,
            ));
        }
        Ok(out)
    }

    /// Refuses to take a resource out of service (`what`: "deleted", "retired") while a
    /// resource in service refers to it (a launched offering's specification, say).
    async fn check_unreferenced(&self, at: ResourceRef, id: &str, what: &str) -> Result<()> {
        let (target_api, target) = self.runtime(at)?;
        for api in &self.inner.apis {
            for referrer in &api.resources {
                let decl = &referrer.decl;
                let (Some(state), false) = (&decl.state, decl.in_service.is_empty()) else {
                    continue;
                };
                let through: Vec<&Reference> = decl
                    .references
                    .iter()
                    .filter(|reference| {
                        reference.api == target_api.decl.code
                            && reference.collection == target.decl.collection
                    })
                    .collect();
                if through.is_empty() {
                    continue;
                }
                let found = self
                    .inner
                    .store
                    .referrers(
                        &[switchboard_store::link(&target.kind, id)],
                        std::slice::from_ref(&referrer.kind),
                        i64::MAX,
                    )
                    .await?;
                for found in found {
                    let doc = parse_stored(&found.document.json)?;
                    let current = string_at(&doc, state.attribute).unwrap_or_default();
                    if !decl
                        .in_service
                        .iter()
                        .any(|in_service| in_service.eq_ignore_ascii_case(&current))
                    {
                        continue;
                    }
                    let attribute = through
                        .iter()
                        .find(|reference| reference.ids(&doc).contains(&id))
                        .map_or("?", |reference| reference.attribute);
                    return Err(Error::conflict(format!(
                        "{} '{id}' cannot be {what}: {} '{}' ({} {current}) refers to it through '{attribute}'",
                        target.decl.collection,
                        decl.collection,
                        found.document.id,
                        state.attribute,
                    )));
                }
            }
        }
        Ok(())
    }

    /// Writes events and jobs of a change, commits, and wakes the workers. The events
    /// are built only when the API has subscriptions to match them against.
    async fn finish(
        &self,
        mut tx: Tx,
        api: &ApiRuntime,
        events: impl FnOnce() -> Vec<Value>,
        jobs: Vec<NewJob>,
    ) -> Result<()> {
        let queued = events::fan_out(&mut tx, api.decl.code, events).await?;
        self.commit_with(tx, jobs, queued).await
    }

    /// Queues `jobs` in `tx`, commits, and wakes the workers when anything was queued
    /// (`queued` jobs already were, e.g. event deliveries).
    pub(crate) async fn commit_with(
        &self,
        mut tx: Tx,
        jobs: Vec<NewJob>,
        mut queued: usize,
    ) -> Result<()> {
        let now = switchboard_store::now_millis();
        let later = jobs
            .iter()
            .filter_map(|job| job.run_at.filter(|at| *at > now))
            .min();
        for job in &jobs {
            tx.enqueue(
                &job.queue,
                &job.payload.to_string(),
                job.dedup_key.as_deref(),
                job.run_at.unwrap_or(now),
            )
            .await?;
            queued += 1;
        }
        tx.commit().await?;
        if let Some(at) = later {
            self.due_at(at);
        }
        if queued > 0 {
            self.wake();
        }
        Ok(())
    }

    /// GET on a resource (TMF630 "Retrieve resource"), optionally projected.
    pub async fn retrieve(&self, at: ResourceRef, id: &str, query: &str) -> Result<Stored> {
        let (_, resource) = self.runtime(at)?;
        self.allowed(resource, resource.decl.operations.retrieve, "GET by id")?;
        let parsed = ParsedQuery::parse(query)?;
        let Some(document) = self.inner.store.get(&resource.kind, id).await? else {
            return Err(self.not_found(resource, id));
        };
        let json = match &parsed.fields {
            None => document.json,
            Some(fields) => {
                let doc: Value = parse_stored(&document.json)?;
                project(&doc, fields).to_string()
            }
        };
        Ok(Stored {
            id: document.id,
            version: document.version,
            json,
        })
    }

    /// GET on a declared view of a resource (`{collection}/{id}/{name}`).
    pub async fn view(&self, at: ResourceRef, id: &str, name: &str, query: &str) -> Result<Value> {
        let (_, resource) = self.runtime(at)?;
        let Some((_, view)) = resource.decl.views.iter().find(|(known, _)| *known == name) else {
            return Err(Error::not_found(format!(
                "{} has no view '{name}'",
                resource.decl.collection
            )));
        };
        view.get(self, id, query).await
    }

    /// The stored document of `api`'s `collection` with this id, parsed (views and
    /// domain logic read through this).
    pub async fn document(&self, api: &str, collection: &str, id: &str) -> Result<Option<Value>> {
        self.document_as(api, collection, id).await
    }

    /// `document` read into `T`: a type of the few attributes a caller looks at costs a
    /// fraction of the whole document's parse (an order's state, say).
    pub async fn document_as<T: serde::de::DeserializeOwned>(
        &self,
        api: &str,
        collection: &str,
        id: &str,
    ) -> Result<Option<T>> {
        let at = self.served(api, collection)?;
        let (_, resource) = self.runtime(at)?;
        match self.inner.store.get(&resource.kind, id).await? {
            Some(document) => serde_json::from_str(&document.json)
                .map(Some)
                .map_err(|error| Error::internal(format!("stored JSON unreadable: {error}"))),
            None => Ok(None),
        }
    }

    /// Internal state `name`/`id` an API keeps through `Scope::put_internal`, as last
    /// committed (views read it; writes go through a scope).
    pub async fn internal(
        &self,
        api: &str,
        name: &str,
        id: &str,
    ) -> Result<Option<crate::scope::Internal>> {
        match self.inner.store.get(&format!("{api}:{name}"), id).await? {
            Some(document) => Ok(Some(crate::scope::Internal {
                version: document.version,
                value: parse_stored(&document.json)?,
            })),
            None => Ok(None),
        }
    }

    /// Like `document`, but a missing document is a 404 naming it.
    pub async fn require(&self, api: &str, collection: &str, id: &str) -> Result<Value> {
        self.document(api, collection, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("no {collection} with id '{id}'")))
    }

    /// Where `api`'s `collection` is served; an internal error when it is not (a
    /// declaration naming an API this build lacks).
    pub fn served(&self, api: &str, collection: &str) -> Result<ResourceRef> {
        self.resource_ref(api, collection)
            .ok_or_else(|| Error::internal(format!("{api} {collection} is not served")))
    }

    fn not_found(&self, resource: &ResourceRuntime, id: &str) -> Error {
        Error::not_found(format!("no {} with id '{id}'", resource.decl.collection))
    }

    /// GET on a collection (TMF630 "Query resources"): filters, sort, projection, page.
    pub async fn list(&self, at: ResourceRef, query: &str) -> Result<ListResult> {
        let (_, resource) = self.runtime(at)?;
        self.allowed(
            resource,
            resource.decl.operations.list,
            "GET on the collection",
        )?;
        let parsed = ParsedQuery::parse(query)?;
        let columns = self.columns(resource);
        let config = &self.inner.config;
        let limit = parsed
            .limit
            .unwrap_or(config.default_limit)
            .min(config.max_limit);
        let list = ListQuery {
            kind: resource.kind.clone(),
            conditions: columns.conditions(parsed.conditions.clone()),
            sort: columns.sort(&parsed.sort),
            offset: parsed.offset.unwrap_or(0),
            limit,
        };
        let page = self.inner.store.list(&list).await?;
        let json = match &parsed.fields {
            None => format!("[{}]", page.items),
            Some(fields) => {
                let items = parse_stored(&format!("[{}]", page.items))?;
                let projected: Vec<Value> = items
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|doc| project(doc, fields))
                    .collect();
                Value::Array(projected).to_string()
            }
        };
        Ok(ListResult {
            json,
            total: page.total,
            count: page.count,
        })
    }

    /// PATCH (TMF630 "Partial update"): merge or JSON Patch, then the same checks as a
    /// create, the state machine, optimistic concurrency and the change events.
    pub async fn patch(
        &self,
        at: ResourceRef,
        id: &str,
        kind: PatchKind,
        body: Value,
        if_match: Option<&str>,
    ) -> Result<Stored> {
        let (_, resource) = self.runtime(at)?;
        self.allowed(resource, resource.decl.operations.patch, "PATCH")?;
        if kind == PatchKind::Merge {
            if !body.is_object() {
                return Err(Error::invalid_body("a merge patch must be a JSON object"));
            }
            if let Some(validator) = &resource.update_validator {
                // Nulls remove attributes (RFC 7396); the schema speaks of values only.
                validator.check(&without_nulls(&body))?;
            }
        }
        self.update(at, id, if_match, |doc, decl| {
            apply_patch(doc, kind, &body, decl)
        })
        .await
    }

    /// A change made by the server itself (jobs, domain hooks): no server-owned check,
    /// same validation, state machine, events and concurrency as a PATCH.
    pub async fn update_internal(
        &self,
        at: ResourceRef,
        id: &str,
        change: impl Fn(&mut Value) -> Result<()> + Sync,
    ) -> Result<Stored> {
        self.update(at, id, None, |doc, _| change(doc)).await
    }

    /// A change, run again when its transactional hook met a concurrent write.
    async fn update(
        &self,
        at: ResourceRef,
        id: &str,
        if_match: Option<&str>,
        change: impl Fn(&mut Value, &ResourceDecl) -> Result<()> + Sync,
    ) -> Result<Stored> {
        let mut stored = self
            .update_all(&[Update {
                at,
                id,
                if_match,
                change: &change,
            }])
            .await?;
        stored
            .pop()
            .ok_or_else(|| Error::internal("an update answered no document"))
    }

    /// Server-made changes to several documents of one API in one transaction: a reader
    /// sees all of them or none (e.g. an order `cancelled` with its cancel tasks `done`).
    /// Each change is what `update_internal` would do to its document alone; one that
    /// changes nothing writes nothing. Every document must exist.
    pub async fn update_internal_together(&self, changes: &[InternalChange<'_>]) -> Result<()> {
        let changes: Vec<_> = changes
            .iter()
            .map(|&(at, id, change)| (at, id, move |doc: &mut Value, _: &ResourceDecl| change(doc)))
            .collect();
        let updates: Vec<Update> = changes
            .iter()
            .map(|(at, id, change)| Update {
                at: *at,
                id,
                if_match: None,
                change,
            })
            .collect();
        self.update_all(&updates).await.map(|_| ())
    }

    /// Changes to documents of one API in one transaction, run again when a
    /// transactional hook met a concurrent write; what each document is afterwards.
    async fn update_all(&self, updates: &[Update<'_>]) -> Result<Vec<Stored>> {
        let mut attempt = 0;
        loop {
            match self.update_all_once(updates).await {
                Err(error)
                    if updates
                        .iter()
                        .any(|update| self.runs_again(update.at, &error, attempt)) =>
                {
                    attempt += 1
                }
                outcome => return outcome,
            }
        }
    }

    async fn update_all_once(&self, updates: &[Update<'_>]) -> Result<Vec<Stored>> {
        let Some(first) = updates.first() else {
            return Ok(Vec::new());
        };
        if updates.iter().any(|update| update.at.api != first.at.api) {
            return Err(Error::internal("changes made together must be of one API"));
        }
        let api = self.api(first.at.api)?;
        let tx = self.inner.store.begin().await?;
        let mut scope = Scope::new(self.clone(), api.decl.code, tx);
        let mut changed = Vec::with_capacity(updates.len());
        for update in updates {
            let (_, resource) = self.runtime(update.at)?;
            let change = self
                .change_in(
                    &mut scope,
                    update.at,
                    update.id,
                    update.if_match,
                    update.change,
                )
                .await?;
            changed.push((resource, change));
        }
        if changed.iter().any(|(_, change)| change.written) {
            let (tx, jobs) = scope.finish();
            let events = || {
                changed
                    .iter()
                    .flat_map(|(resource, change)| change.events(resource))
                    .collect()
            };
            self.finish(tx, api, events, jobs).await?;
        }
        Ok(changed
            .into_iter()
            .map(|(_, change)| change.stored)
            .collect())
    }

    /// One document's change written into `scope`'s transaction (validation, state
    /// machine, hooks, references); the caller commits it.
    pub(crate) async fn change_in(
        &self,
        scope: &mut Scope,
        at: ResourceRef,
        id: &str,
        if_match: Option<&str>,
        change: &(dyn Fn(&mut Value, &ResourceDecl) -> Result<()> + Sync),
    ) -> Result<Changed> {
        let (_, resource) = self.runtime(at)?;
        let Some(current) = scope.tx.get(&resource.kind, id).await? else {
            return Err(self.not_found(resource, id));
        };
        check_if_match(if_match, current.version)?;
        let previous: Value = parse_stored(&current.json)?;
        let mut doc = previous.clone();
        change(&mut doc, &resource.decl)?;
        canonical_state(&resource.decl, &mut doc);
        if !doc.is_object() {
            return Err(Error::invalid_body(
                "the patched resource must stay a JSON object",
            ));
        }
        // Identity never changes, whatever the patch did.
        for key in ["id", "href"] {
            if let Some(value) = previous.get(key) {
                doc[key] = value.clone();
            }
        }
        if doc == previous {
            return Ok(Changed {
                stored: Stored {
                    id: current.id,
                    version: current.version,
                    json: current.json,
                },
                written: false,
                changes: Vec::new(),
                doc,
            });
        }
        if let Some(validator) = &resource.create_validator {
            validator.check(&doc)?;
        }
        let mut changes = Vec::new();
        if let Some(state) = &resource.decl.state {
            let before = string_at(&previous, state.attribute);
            let after = doc.get(state.attribute);
            match (before.as_deref(), after) {
                (Some(_), None | Some(Value::Null)) => {
                    return Err(Error::invalid_body(format!(
                        "'{}' cannot be removed",
                        state.attribute
                    )))
                }
                (None, None | Some(Value::Null)) => {}
                (Some(from), Some(Value::String(to))) => {
                    if !state.knows(to) {
                        return Err(Error::invalid_body(format!(
                            "'{}' '{to}' is not a known state; known states: {}",
                            state.attribute,
                            state.states().join(", ")
                        )));
                    }
                    if !state.allows(from, to) {
                        let next = state.next_states(from);
                        return Err(Error::invalid_transition(format!(
                            "'{}' cannot go from '{from}' to '{to}'; allowed next: {}",
                            state.attribute,
                            if next.is_empty() {
                                "none (final state)".to_string()
                            } else {
                                next.join(", ")
                            }
                        )));
                    }
                    if from != to {
                        changes.push(Change::StateChange);
                        let retiring = |state: &str| {
                            resource
                                .decl
                                .retired
                                .iter()
                                .any(|retired| retired.eq_ignore_ascii_case(state))
                        };
                        if retiring(to) && !retiring(from) {
                            self.check_unreferenced(at, id, "retired").await?;
                        }
                    }
                }
                (None, Some(Value::String(to))) if !state.knows(to) => {
                    return Err(Error::invalid_body(format!(
                        "'{}' '{to}' is not a known state",
                        state.attribute
                    )));
                }
                (_, Some(Value::String(_))) => changes.push(Change::StateChange),
                (_, Some(_)) => {
                    return Err(Error::invalid_body(format!(
                        "'{}' must be a string",
                        state.attribute
                    )))
                }
            }
        }
        check_other_states(&resource.decl, &previous, &doc)?;
        if attributes_changed(&previous, &doc, &resource.decl) {
            changes.push(Change::AttributeValueChange);
        }
        if let Some(attribute) = resource.decl.last_update {
            doc[attribute] = Value::String(crate::now_rfc3339());
        }
        if let Some(hooks) = &resource.decl.hooks {
            hooks.check(WriteKind::Update, &mut doc, Some(&previous))?;
        }
        if let Some(hooks) = transactional(&resource.decl) {
            hooks
                .within(scope, WriteKind::Update, &mut doc, Some(&previous))
                .await?;
        }
        self.check_references(&mut scope.tx, resource, id, &doc, Some(&previous))
            .await?;
        let json = storable_json(&doc)?;
        let version = scope
            .tx
            .update(
                &resource.kind,
                id,
                current.version,
                &json,
                &Self::promoted(resource, &doc)?,
            )
            .await?;
        scope.jobs.extend(hook_jobs(
            &resource.decl,
            WriteKind::Update,
            &doc,
            Some(&previous),
        ));
        if let Some(hooks) = &resource.decl.hooks {
            for (queue, prefix) in hooks.dropped_jobs(WriteKind::Update, &doc, Some(&previous)) {
                scope.tx.cancel_jobs(&queue, &prefix).await?;
            }
        }
        Ok(Changed {
            stored: Stored {
                id: id.to_string(),
                version,
                json,
            },
            written: true,
            changes,
            doc,
        })
    }

    /// DELETE (TMF630 "Delete resource"): removes it and emits the delete event.
    pub async fn delete(&self, at: ResourceRef, id: &str, if_match: Option<&str>) -> Result<()> {
        let mut attempt = 0;
        loop {
            match self.delete_once(at, id, if_match).await {
                Err(error) if self.runs_again(at, &error, attempt) => attempt += 1,
                outcome => return outcome,
            }
        }
    }

    /// Whether a write of `at` that failed with `error` on its `attempt` is run again: it
    /// met a concurrent change, and its hook works in the transaction (without one, the
    /// conflict is the client's to resolve: 409).
    fn runs_again(&self, at: ResourceRef, error: &Error, attempt: u32) -> bool {
        error.concurrent
            && attempt < CONCURRENT_RETRIES
            && self
                .decl(at)
                .is_ok_and(|decl| transactional(decl).is_some())
    }

    async fn delete_once(&self, at: ResourceRef, id: &str, if_match: Option<&str>) -> Result<()> {
        let (api, resource) = self.runtime(at)?;
        self.allowed(resource, resource.decl.operations.delete, "DELETE")?;
        let tx = self.inner.store.begin().await?;
        let mut scope = Scope::new(self.clone(), api.decl.code, tx);
        let Some(current) = scope.tx.get(&resource.kind, id).await? else {
            return Err(self.not_found(resource, id));
        };
        check_if_match(if_match, current.version)?;
        let mut doc: Value = parse_stored(&current.json)?;
        if let Some(hooks) = &resource.decl.hooks {
            hooks.check(WriteKind::Delete, &mut doc, None)?;
        }
        if let Some(hooks) = transactional(&resource.decl) {
            hooks
                .within(&mut scope, WriteKind::Delete, &mut doc, None)
                .await?;
        }
        let (mut tx, mut jobs) = scope.finish();
        self.check_unreferenced(at, id, "deleted").await?;
        tx.delete(&resource.kind, id).await?;
        jobs.extend(hook_jobs(&resource.decl, WriteKind::Delete, &doc, None));
        self.finish(
            tx,
            api,
            || vec![announce(resource, Change::Delete, &doc)],
            jobs,
        )
        .await?;
        Ok(())
    }

    /// Every document of the given collections of an API, keyed by collection
    /// (catalog export).
    pub async fn dump(&self, api_index: usize, collections: &[&str]) -> Result<Value> {
        let api = self.api(api_index)?;
        let mut out = Map::new();
        for resource in &api.resources {
            if !collections.contains(&resource.decl.collection) {
                continue;
            }
            let documents = self.inner.store.all(&resource.kind).await?;
            let mut items = Vec::with_capacity(documents.len());
            for document in documents {
                items.push(parse_stored(&document.json)?);
            }
            out.insert(resource.decl.collection.to_string(), Value::Array(items));
        }
        Ok(Value::Object(out))
    }

    /// Stores documents that carry their own ids (catalog import): each is validated,
    /// inserted or replaced, and announced with its create or change event. All of
    /// them commit together or none does.
    pub async fn restore(&self, api_index: usize, data: &Value) -> Result<usize> {
        let api = self.api(api_index)?;
        let Value::Object(collections) = data else {
            return Err(Error::invalid_body(
                "an import must be a JSON object of collections",
            ));
        };
        let mut tx = self.inner.store.begin().await?;
        let mut events = Vec::new();
        let mut count = 0;
        for (collection, items) in collections {
            let Some(resource) = api
                .resources
                .iter()
                .find(|r| r.decl.collection == collection)
            else {
                return Err(Error::invalid_body(format!(
                    "unknown collection '{collection}'"
                )));
            };
            let Value::Array(items) = items else {
                return Err(Error::invalid_body(format!(
                    "'{collection}' must be an array"
                )));
            };
            for item in items {
                let mut doc = item.clone();
                let Some(id) = string_at(&doc, "id") else {
                    return Err(Error::invalid_body(format!(
                        "every imported {collection} needs a string id"
                    )));
                };
                if let Some(validator) = &resource.create_validator {
                    validator.check(&doc)?;
                }
                doc["href"] = Value::String(self.href(api, collection, &id));
                let json = storable_json(&doc)?;
                let promoted = Self::promoted(resource, &doc)?;
                let change = match tx.get(&resource.kind, &id).await? {
                    Some(current) => {
                        tx.update(&resource.kind, &id, current.version, &json, &promoted)
                            .await?;
                        Change::AttributeValueChange
                    }
                    None => {
                        tx.insert(&resource.kind, &id, &json, &promoted).await?;
                        Change::Create
                    }
                };
                events.push(announce(resource, change, &doc));
                count += 1;
            }
        }
        self.finish(tx, api, move || events, Vec::new()).await?;
        Ok(count)
    }

    /// `POST {base}/hub`: registers a subscription.
    pub async fn hub_create(&self, api_index: usize, body: Value) -> Result<Stored> {
        let api = self.api(api_index)?;
        let id = uuid::Uuid::now_v7().to_string();
        let href = format!(
            "{}{}/hub/{id}",
            self.inner.config.public_url, api.decl.base_path
        );
        let doc = events::subscription(&body, &id, &href)?;
        if let Some(callback) = doc
            .get("callback")
            .and_then(Value::as_str)
            .and_then(|callback| reqwest::Url::parse(callback).ok())
        {
            self.inner.config.callbacks.check(&callback).await?;
        }
        let json = storable_json(&doc)?;
        let mut tx = self.inner.store.begin().await?;
        tx.insert(
            &events::hub_kind(api.decl.code),
            &id,
            &json,
            &Promoted::default(),
        )
        .await?;
        tx.commit().await?;
        Ok(Stored {
            id,
            version: 1,
            json,
        })
    }

    pub async fn hub_get(&self, api_index: usize, id: &str) -> Result<Stored> {
        let api = self.api(api_index)?;
        match self
            .inner
            .store
            .get(&events::hub_kind(api.decl.code), id)
            .await?
        {
            Some(document) => Ok(Stored {
                id: document.id,
                version: document.version,
                json: document.json,
            }),
            None => Err(Error::not_found(format!(
                "no hub subscription with id '{id}'"
            ))),
        }
    }

    pub async fn hub_delete(&self, api_index: usize, id: &str) -> Result<()> {
        let api = self.api(api_index)?;
        let mut tx = self.inner.store.begin().await?;
        if !tx.delete(&events::hub_kind(api.decl.code), id).await? {
            return Err(Error::not_found(format!(
                "no hub subscription with id '{id}'"
            )));
        }
        // Unsubscribing also stops the retries of events already queued for it.
        tx.cancel_jobs(events::DELIVERY_QUEUE, &events::delivery_key_prefix(id))
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Further state attributes (a resource's administrative, operational and usage states)
/// move only as their machines allow: 409 naming the allowed next states otherwise.
/// Their changes are announced as attribute changes.
fn check_other_states(decl: &ResourceDecl, previous: &Value, doc: &Value) -> Result<()> {
    for machine in decl.other_states {
        let before = previous.get(machine.attribute).and_then(Value::as_str);
        let after = doc.get(machine.attribute).and_then(Value::as_str);
        let (Some(from), Some(to)) = (before, after) else {
            continue;
        };
        if machine.knows(from) && machine.knows(to) && !machine.allows(from, to) {
            let next = machine.next_states(from);
            return Err(Error::invalid_transition(format!(
                "'{}' cannot go from '{from}' to '{to}'; allowed next: {}",
                machine.attribute,
                if next.is_empty() {
                    "none (final state)".to_string()
                } else {
                    next.join(", ")
                }
            )));
        }
    }
    Ok(())
}

/// Times a write whose hook works in its transaction is run again after a concurrent
/// write moved what the hook read.
const CONCURRENT_RETRIES: u32 = 64;

/// The hooks of a resource when they work inside the write's transaction.
pub(crate) fn transactional(decl: &ResourceDecl) -> Option<&Arc<dyn crate::decl::Hooks>> {
    decl.hooks.as_ref().filter(|hooks| hooks.transactional())
}

fn check_if_match(if_match: Option<&str>, version: i64) -> Result<()> {
    let Some(if_match) = if_match else {
        return Ok(());
    };
    let current = format!("\"{version}\"");
    let matched = if_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == current);
    if matched {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::PreconditionFailed,
        "Precondition failed",
        format!("If-Match {if_match} does not match the current version W/{current}"),
    ))
}

/// The jobs a resource's hooks start for a write (none without hooks).
fn hook_jobs(
    decl: &ResourceDecl,
    kind: WriteKind,
    doc: &Value,
    previous: Option<&Value>,
) -> Vec<NewJob> {
    decl.hooks
        .as_ref()
        .map(|hooks| hooks.jobs(kind, doc, previous))
        .unwrap_or_default()
}

/// One of the changes `Engine::update_internal_together` makes: where, which document,
/// and what to do to it.
pub type InternalChange<'a> = (
    ResourceRef,
    &'a str,
    &'a (dyn Fn(&mut Value) -> Result<()> + Sync),
);

/// One document's change among those `Engine::update_all` makes in one transaction.
struct Update<'a> {
    at: ResourceRef,
    id: &'a str,
    if_match: Option<&'a str>,
    change: &'a (dyn Fn(&mut Value, &ResourceDecl) -> Result<()> + Sync),
}

/// A document's change written into a transaction, with what it announces.
pub(crate) struct Changed {
    pub(crate) stored: Stored,
    /// False when the change left the document as it was (nothing was written).
    pub(crate) written: bool,
    pub(crate) changes: Vec<Change>,
    pub(crate) doc: Value,
}

impl Changed {
    fn events(&self, resource: &ResourceRuntime) -> Vec<Value> {
        self.changes
            .iter()
            .map(|change| announce(resource, *change, &self.doc))
            .collect()
    }
}

/// The TMF event of `change` to `resource`'s document.
pub(crate) fn announce(resource: &ResourceRuntime, change: Change, doc: &Value) -> Value {
    events::event(
        resource.decl.resource_type,
        resource.decl.collection,
        change,
        doc,
    )
}

/// Writes the state in its declared spelling ("in STUDY" is stored as "In study").
fn canonical_state(decl: &ResourceDecl, doc: &mut Value) {
    let Some(state) = &decl.state else {
        return;
    };
    let canonical = doc
        .get(state.attribute)
        .and_then(Value::as_str)
        .and_then(|value| state.canonical(value));
    if let Some(canonical) = canonical {
        doc[state.attribute] = Value::String(canonical.to_string());
    }
}

/// A merge patch without its `null`s (which only remove attributes).
fn without_nulls(patch: &Value) -> Value {
    match patch {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(_, value)| !value.is_null())
                .map(|(key, value)| (key.clone(), without_nulls(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The attributes a client may not write: id, href, the dates the server keeps, and
/// whatever the declaration adds.
fn server_owned(decl: &ResourceDecl) -> Vec<&'static str> {
    let mut owned = vec!["id", "href"];
    owned.extend(decl.last_update);
    owned.extend(decl.created_at);
    owned.extend(decl.server_owned.iter().copied());
    owned
}

fn apply_patch(doc: &mut Value, kind: PatchKind, body: &Value, decl: &ResourceDecl) -> Result<()> {
    let owned = server_owned(decl);
    // `list[].attr`: an attribute of each entry of a list (an order item's state).
    let nested: Vec<(&str, &str)> = owned
        .iter()
        .filter_map(|key| key.split_once("[]."))
        .collect();
    let before: Vec<(&str, &str, Option<Value>)> = nested
        .iter()
        .map(|(list, attribute)| (*list, *attribute, doc.get(*list).cloned()))
        .collect();
    apply_top_level_patch(doc, kind, body, &owned)?;
    for (list, attribute, previous) in before {
        check_entries_kept(list, attribute, previous.as_ref(), doc.get(list))?;
    }
    Ok(())
}

/// Refuses a change of `attribute` in any entry of `list` (entries matched by `id`); a
/// new entry may not set it either.
fn check_entries_kept(
    list: &str,
    attribute: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<()> {
    let Some(Value::Array(after)) = after else {
        return Ok(());
    };
    let before: Vec<&Value> = match before {
        Some(Value::Array(entries)) => entries.iter().collect(),
        _ => Vec::new(),
    };
    for entry in after {
        let id = entry.get("id");
        let previous = before
            .iter()
            .find(|old| id.is_some() && old.get("id") == id)
            .and_then(|old| old.get(attribute));
        if entry.get(attribute).is_some() && entry.get(attribute) != previous {
            return Err(Error::bad_request(format!(
                "'{list}[].{attribute}' is set by the server and cannot be changed"
            )));
        }
        if entry.get(attribute).is_none() && previous.is_some() {
            return Err(Error::bad_request(format!(
                "'{list}[].{attribute}' is set by the server and cannot be removed"
            )));
        }
    }
    Ok(())
}

fn apply_top_level_patch(
    doc: &mut Value,
    kind: PatchKind,
    body: &Value,
    owned: &[&str],
) -> Result<()> {
    match kind {
        PatchKind::Merge => {
            // Echoing a server-owned value unchanged is harmless (a client patching
            // back what it read); changing or removing one is refused.
            for key in owned {
                if let Some(value) = body.get(*key) {
                    if doc.get(*key) != Some(value) {
                        return Err(Error::bad_request(format!(
                            "'{key}' is set by the server and cannot be changed"
                        )));
                    }
                }
            }
            json_patch::merge(doc, body);
            Ok(())
        }
        PatchKind::JsonPatch => {
            let patch: json_patch::Patch =
                serde_json::from_value(body.clone()).map_err(|error| {
                    Error::invalid_body(format!("not a JSON Patch (RFC 6902) document: {error}"))
                })?;
            for operation in &patch.0 {
                let path = operation.path().to_string();
                let top = path.split('/').nth(1).unwrap_or_default();
                let is_test = matches!(operation, json_patch::PatchOperation::Test(_));
                if !is_test && owned.contains(&top) {
                    return Err(Error::bad_request(format!(
                        "'{top}' is set by the server and cannot be changed"
                    )));
                }
                if let json_patch::PatchOperation::Move(movement) = operation {
                    let from = movement.from.to_string();
                    let from_top = from.split('/').nth(1).unwrap_or_default();
                    if owned.contains(&from_top) {
                        return Err(Error::bad_request(format!(
                            "'{from_top}' is set by the server and cannot be moved"
                        )));
                    }
                }
            }
            json_patch::patch(doc, &patch)
                .map_err(|error| Error::invalid_body(format!("the JSON Patch failed: {error}")))
        }
    }
}

/// True when anything but the state and the server's dates differs.
fn attributes_changed(previous: &Value, doc: &Value, decl: &ResourceDecl) -> bool {
    let (Value::Object(before), Value::Object(after)) = (previous, doc) else {
        return previous != doc;
    };
    let ignored: Vec<&str> = decl
        .state
        .iter()
        .map(|state| state.attribute)
        .chain(decl.last_update)
        .collect();
    let differs = |a: &Map<String, Value>, b: &Map<String, Value>| {
        a.iter()
            .any(|(key, value)| !ignored.contains(&key.as_str()) && b.get(key) != Some(value))
    };
    differs(before, after) || differs(after, before)
}
