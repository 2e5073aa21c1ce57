//! Plain data the engine's interface speaks in, referring to nothing of the engine: the
//! parts of a declaration (operations, state machines, references, jobs, write kinds),
//! the address of a declared resource, and what reads and writes answer.

use serde_json::Value;

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
