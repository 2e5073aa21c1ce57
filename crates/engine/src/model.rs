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
///
/// A table that names `StateMachine::ABSENT` gives the document without the attribute
/// a place in the machine (TMF656's "submitted" problem, which no enum value names):
/// a move from absent is checked against its row, and the attribute may be removed
/// where a row allows the move to it. A table that does not name it keeps the default:
/// any known state may be set where there was none, and the attribute is never removed.
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
    /// In a transition table, the state of a document without the attribute; never a
    /// value of it.
    pub const ABSENT: &'static str = "(absent)";

    /// Whether the table gives the absent attribute a place (see `ABSENT`).
    pub fn declares_absent(&self) -> bool {
        self.transitions
            .iter()
            .any(|(from, to)| *from == Self::ABSENT || to.contains(&Self::ABSENT))
    }

    /// Whether `state` is a value of the attribute (`ABSENT` never is).
    pub fn knows(&self, state: &str) -> bool {
        if state == Self::ABSENT {
            return false;
        }
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

    /// The values of the attribute the table names (not `ABSENT`).
    pub fn states(&self) -> Vec<&'static str> {
        let mut states: Vec<&'static str> = Vec::new();
        for (from, to) in self.transitions {
            for state in std::iter::once(from).chain(to.iter()) {
                if *state != Self::ABSENT && !states.iter().any(|s| s.eq_ignore_ascii_case(state)) {
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
    /// Only entries whose `@referredType` is one of these (any case) are references of
    /// this kind: a list naming entities of several kinds (`relatedEntity[]`) declares
    /// one reference per kind it checks, and entries of any other type are left alone.
    /// Empty: every entry.
    pub referred_types: &'static [&'static str],
    /// Entries whose `href` is an absolute URL outside this server's public URL name
    /// another system's resources: they are neither checked nor indexed.
    pub foreign_allowed: bool,
}

impl Reference {
    pub const fn to(attribute: &'static str, api: &'static str, collection: &'static str) -> Self {
        Reference {
            attribute,
            item: None,
            api,
            collection,
            acyclic: false,
            referred_types: &[],
            foreign_allowed: false,
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

    /// Only entries whose `@referredType` is one of `types` are of this reference.
    pub const fn of_types(self, types: &'static [&'static str]) -> Self {
        Reference {
            referred_types: types,
            ..self
        }
    }

    /// Entries naming another server's resources by `href` are not of this reference.
    pub const fn foreign_allowed(self) -> Self {
        Reference {
            foreign_allowed: true,
            ..self
        }
    }

    /// The reference objects in `doc` of this reference's types.
    fn targets<'a>(&self, doc: &'a Value) -> Vec<&'a Value> {
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
            .filter(|target| {
                self.referred_types.is_empty()
                    || target
                        .get("@referredType")
                        .and_then(Value::as_str)
                        .is_some_and(|referred| {
                            self.referred_types
                                .iter()
                                .any(|wanted| wanted.eq_ignore_ascii_case(referred))
                        })
            })
            .collect()
    }

    /// The ids this reference names in `doc`.
    pub fn ids<'a>(&self, doc: &'a Value) -> Vec<&'a str> {
        self.targets(doc)
            .into_iter()
            .filter_map(|target| target.get("id").and_then(Value::as_str))
            .collect()
    }

    /// The ids this reference names in `doc` on the server at `public_url`: those of
    /// another server's resources left out where they are allowed.
    pub fn local_ids<'a>(&self, doc: &'a Value, public_url: &str) -> Vec<&'a str> {
        self.targets(doc)
            .into_iter()
            .filter(|target| !(self.foreign_allowed && is_foreign(target, public_url)))
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

    /// `added_ids` on the server at `public_url` (see `local_ids`).
    pub fn added_local_ids<'a>(
        &self,
        doc: &'a Value,
        previous: Option<&Value>,
        public_url: &str,
    ) -> Vec<&'a str> {
        let before = previous
            .map(|previous| self.local_ids(previous, public_url))
            .unwrap_or_default();
        self.local_ids(doc, public_url)
            .into_iter()
            .filter(|id| !before.contains(id))
            .collect()
    }
}

/// Whether a reference object names another server's resource: its `href` is an
/// absolute URL (`scheme://`) not under `public_url`.
fn is_foreign(target: &Value, public_url: &str) -> bool {
    let Some(href) = target.get("href").and_then(Value::as_str) else {
        return false;
    };
    if !href.contains("://") {
        return false;
    }
    let base = public_url.trim_end_matches('/');
    let local = href
        .get(..base.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(base))
        && matches!(href.as_bytes().get(base.len()), None | Some(b'/'));
    !local
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_references_take_their_types_and_leave_foreign_hrefs_alone() {
        const PRODUCTS: Reference = Reference::to("relatedEntity", "TMF637", "product")
            .of_types(&["Product"])
            .foreign_allowed();
        let doc = json!({"relatedEntity": [
            {"id": "p1", "@referredType": "Product"},
            {"id": "p2", "@referredType": "product",
             "href": "http://here:8080/tmf-api/productInventory/v4/product/p2"},
            {"id": "p3", "@referredType": "Product",
             "href": "https://partner.example/tmf-api/productInventory/v4/product/p3"},
            {"id": "p4", "@referredType": "Product", "href": "http://here:80801/x/p4"},
            {"id": "s1", "@referredType": "Service"},
            {"id": "x1"},
        ]});
        assert_eq!(PRODUCTS.ids(&doc), ["p1", "p2", "p3", "p4"]);
        assert_eq!(PRODUCTS.local_ids(&doc, "http://here:8080"), ["p1", "p2"]);
        let previous = json!({"relatedEntity": [{"id": "p1", "@referredType": "Product"}]});
        assert_eq!(
            PRODUCTS.added_local_ids(&doc, Some(&previous), "http://HERE:8080/"),
            ["p2"]
        );
        // Without `foreign_allowed` every entry of the type is checked.
        let strict = Reference::to("relatedEntity", "TMF637", "product").of_types(&["Product"]);
        assert_eq!(
            strict.local_ids(&doc, "http://here:8080"),
            ["p1", "p2", "p3", "p4"]
        );
    }
}
