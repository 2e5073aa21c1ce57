//! Declarations: what an API module tells the engine about itself. An API is data
//! (base path, resources, schemas, state machines) plus a few domain hooks.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use crate::engine::Engine;
use crate::error::Result;
use crate::scope::Scope;

/// One TMF Open API.
pub struct ApiDecl {
    /// "TMF620".
    pub code: &'static str,
    /// "/tmf-api/productCatalogManagement/v4" (no trailing slash).
    pub base_path: &'static str,
    /// The compact schema file produced by `cargo xtask import-specs`.
    pub schema: &'static str,
    pub resources: Vec<ResourceDecl>,
}

/// The operations a collection offers (TMF630: GET list, POST, GET/{id}, PATCH, DELETE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operations {
    pub list: bool,
    pub create: bool,
    pub retrieve: bool,
    pub patch: bool,
    pub delete: bool,
}

impl Operations {
    pub const ALL: Operations = Operations {
        list: true,
        create: true,
        retrieve: true,
        patch: true,
        delete: true,
    };
    /// Task resources and jobs: created and read, never changed by a client.
    pub const TASK: Operations = Operations {
        list: true,
        create: true,
        retrieve: true,
        patch: false,
        delete: true,
    };
}

/// A state attribute and the moves it may make. States compare case-insensitively,
/// since TMF examples spell them inconsistently ("In study", "In Study"). An empty
/// transition table declares a free-text status: any value, any change, still
/// announced with a state-change event.
#[derive(Debug, Clone)]
pub struct StateMachine {
    /// The attribute holding the state ("lifecycleStatus", "status", "state").
    pub attribute: &'static str,
    /// Set on create when the client sends none.
    pub initial: Option<&'static str>,
    /// (from, allowed next states). A state absent here is terminal.
    pub transitions: &'static [(&'static str, &'static [&'static str])],
}

impl StateMachine {
    pub fn knows(&self, state: &str) -> bool {
        self.transitions.is_empty()
            || self.transitions.iter().any(|(from, to)| {
                from.eq_ignore_ascii_case(state) || to.iter().any(|t| t.eq_ignore_ascii_case(state))
            })
    }

    pub fn allows(&self, from: &str, to: &str) -> bool {
        self.transitions.is_empty()
            || from.eq_ignore_ascii_case(to)
            || self.transitions.iter().any(|(state, next)| {
                state.eq_ignore_ascii_case(from) && next.iter().any(|n| n.eq_ignore_ascii_case(to))
            })
    }

    /// The declared spelling of a state given in any case; `None` for an unknown state
    /// or a free-text status. States are stored in this spelling, so that filters find
    /// them as declared.
    pub fn canonical(&self, state: &str) -> Option<&'static str> {
        self.states()
            .into_iter()
            .find(|known| known.eq_ignore_ascii_case(state))
    }

    pub fn next_states(&self, from: &str) -> Vec<&'static str> {
        self.transitions
            .iter()
            .filter(|(state, _)| state.eq_ignore_ascii_case(from))
            .flat_map(|(_, next)| next.iter().copied())
            .collect()
    }

    pub fn states(&self) -> Vec<&'static str> {
        let mut states: Vec<&'static str> = Vec::new();
        for (from, to) in self.transitions {
            for state in std::iter::once(from).chain(to.iter()) {
                if !states.iter().any(|s| s.eq_ignore_ascii_case(state)) {
                    states.push(state);
                }
            }
        }
        states
    }
}

/// A job to queue in the same transaction as the change that starts it.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub queue: String,
    pub payload: Value,
    /// Jobs with the same key are queued once (idempotent steps).
    pub dedup_key: Option<String>,
    /// When the job falls due (ms since the epoch); `None`: at once.
    pub run_at: Option<i64>,
}

/// What a write is doing, as hooks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Create,
    Update,
    Delete,
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
}

pub type ViewFuture<'a> = Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>>;

/// A read-only answer derived from one stored resource and what it links to (a
/// decomposition tree, an impact walk). It reads through the engine, so it sees what a
/// GET would; `query` is the raw query string of the request.
pub trait View: Send + Sync {
    fn get<'a>(&'a self, engine: &'a Engine, id: &'a str, query: &'a str) -> ViewFuture<'a>;
}

/// A reference attribute (an object with an `id`, or an array of them) that must name an
/// existing resource of `api`'s `collection`: a write naming one that does not exist is
/// refused with 400, naming the dangling reference. The store indexes every declared
/// reference, so that who refers to a resource is found without a scan (`Engine::referrers`).
#[derive(Debug, Clone, Copy)]
pub struct Reference {
    /// Top-level attribute holding the reference(s): "serviceSpecification".
    pub attribute: &'static str,
    /// The key inside each entry that holds the reference object, when the entry is a
    /// relationship wrapping it (`service` in `serviceRelationship[].service`); `None`
    /// when the entry itself carries the `id`.
    pub item: Option<&'static str>,
    /// API code of the referred resource: "TMF633".
    pub api: &'static str,
    /// Collection of the referred resource: "serviceSpecification".
    pub collection: &'static str,
    /// Refuses a write that would close a cycle through this reference (a relationship
    /// within one collection, such as serviceSpecRelationship).
    pub acyclic: bool,
}

impl Reference {
    pub const fn to(attribute: &'static str, api: &'static str, collection: &'static str) -> Self {
        Reference {
            attribute,
            item: None,
            api,
            collection,
            acyclic: false,
        }
    }

    /// The reference sits under `item` in each entry of the attribute.
    pub const fn within(self, item: &'static str) -> Self {
        Reference {
            item: Some(item),
            ..self
        }
    }

    /// Cycles through this reference are refused.
    pub const fn acyclic(self) -> Self {
        Reference {
            acyclic: true,
            ..self
        }
    }

    /// The ids this reference names in `doc`.
    pub fn ids<'a>(&self, doc: &'a Value) -> Vec<&'a str> {
        let entries: Vec<&Value> = match doc.get(self.attribute) {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(item @ Value::Object(_)) => vec![item],
            _ => Vec::new(),
        };
        entries
            .into_iter()
            .filter_map(|entry| match self.item {
                Some(key) => entry.get(key),
                None => Some(entry),
            })
            .filter_map(|target| target.get("id").and_then(Value::as_str))
            .collect()
    }

    /// The ids this reference names in `doc` and did not in `previous` (all of them on a
    /// create): what a write adds, and so what it must check.
    pub fn added_ids<'a>(&self, doc: &'a Value, previous: Option<&Value>) -> Vec<&'a str> {
        let before = previous
            .map(|previous| self.ids(previous))
            .unwrap_or_default();
        self.ids(doc)
            .into_iter()
            .filter(|id| !before.contains(id))
            .collect()
    }
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
        }
    }
}
