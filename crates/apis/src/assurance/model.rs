//! What correlation reads of the documents it works on, typed: a service problem, a
//! trouble ticket, a resource's fault state, the downward links of products and
//! services. Read once with serde (stored documents are schema-valid); every other
//! attribute is left unparsed.

use serde::Deserialize;
use serde_json::{json, Value};

/// The marker of a ticket the server opened (its `channel`): a clear resolves only
/// these; a customer's own ticket is linked and left to the people working it.
pub const SYSTEM_CHANNEL: &str = "switchboard-assurance";
/// The `originatingSystem` of the problems correlation raises.
pub const ORIGINATING_SYSTEM: &str = "switchboard-assurance";

/// A reference entry: `{id, href, name, …}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Ref {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub href: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default, rename = "@referredType")]
    pub referred_type: Option<String>,
}

pub use crate::tmf656::is_open;

/// A TMF656 service problem, as correlation reads it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub id: String,
    #[serde(default)]
    pub href: Option<String>,
    /// Absent: "submitted" (not yet acknowledged), which is open.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub originating_system: Option<String>,
    #[serde(default)]
    pub affected_resource: Vec<Ref>,
    #[serde(default)]
    pub root_cause_resource: Vec<Ref>,
    #[serde(default)]
    pub affected_service: Vec<Ref>,
    #[serde(default)]
    pub trouble_ticket: Vec<Ref>,
    #[serde(default)]
    pub related_event: Vec<Ref>,
}

impl Problem {
    pub fn is_open(&self) -> bool {
        is_open(self.status.as_deref())
    }

    /// Raised by correlation (not by a client or another rule).
    pub fn raised_here(&self) -> bool {
        self.originating_system.as_deref() == Some(ORIGINATING_SYSTEM)
    }

    /// Whether a clear of `resource` ends this problem: it is its root cause, or, with
    /// no root cause named, one of the resources it affects.
    pub fn cleared_by(&self, resource: &str) -> bool {
        if self.root_cause_resource.is_empty() {
            self.affected_resource.iter().any(|r| r.id == resource)
        } else {
            self.root_cause_resource.iter().any(|r| r.id == resource)
        }
    }

    /// `{id, href, @referredType}` as a ticket's `relatedEntity` names it.
    pub fn as_related_entity(&self) -> Value {
        let mut entity = json!({
            "id": self.id,
            "role": "serviceProblem",
            "@referredType": "ServiceProblem",
        });
        if let Some(href) = &self.href {
            entity["href"] = json!(href);
        }
        entity
    }
}

/// A TMF621 trouble ticket, as correlation reads it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub id: String,
    #[serde(default)]
    pub href: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub channel: Option<Ref>,
    #[serde(default)]
    pub related_entity: Vec<Ref>,
}

impl Ticket {
    /// Opened by correlation (`SYSTEM_CHANNEL`), not by a customer or an agent.
    pub fn system_opened(&self) -> bool {
        self.channel
            .as_ref()
            .is_some_and(|channel| channel.id == SYSTEM_CHANNEL)
    }

    /// The products the ticket is about (`relatedEntity` entries referring to a Product).
    pub fn products(&self) -> impl Iterator<Item = &str> {
        self.related_entity
            .iter()
            .filter(|entity| {
                entity
                    .referred_type
                    .as_deref()
                    .is_some_and(|kind| kind.eq_ignore_ascii_case("Product"))
            })
            .map(|entity| entity.id.as_str())
    }

    pub fn as_ref_value(&self) -> Value {
        let mut reference = json!({"id": self.id, "@referredType": "TroubleTicket"});
        if let Some(href) = &self.href {
            reference["href"] = json!(href);
        }
        reference
    }
}

/// The fault state of a TMF639 resource: disabled, or in alarm.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FaultState {
    #[serde(default)]
    pub operational_state: Option<String>,
    #[serde(default)]
    pub resource_status: Option<String>,
}

impl FaultState {
    pub fn of(doc: &Value) -> FaultState {
        FaultState {
            operational_state: doc
                .get("operationalState")
                .and_then(Value::as_str)
                .map(str::to_string),
            resource_status: doc
                .get("resourceStatus")
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }

    pub fn faulted(&self) -> bool {
        self.operational_state.as_deref() == Some("disable")
            || self.resource_status.as_deref() == Some("alarm")
    }

    /// What is wrong, in words: "operationalState disable, resourceStatus alarm".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.operational_state.as_deref() == Some("disable") {
            parts.push("operationalState disable");
        }
        if self.resource_status.as_deref() == Some("alarm") {
            parts.push("resourceStatus alarm");
        }
        if parts.is_empty() {
            "cleared".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// The downward links of an inventory entry (product or service) that correlation
/// follows from a customer's ticket to what may be at fault.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Downward {
    #[serde(default)]
    pub realizing_service: Vec<Ref>,
    #[serde(default)]
    pub realizing_resource: Vec<Ref>,
    /// A bundle's member products.
    #[serde(default)]
    pub product: Vec<Ref>,
    #[serde(default)]
    pub supporting_service: Vec<Ref>,
    #[serde(default)]
    pub supporting_resource: Vec<Ref>,
}

/// A reference `{id, href, name, @referredType}` to an inventory document.
pub fn reference_to(doc: &Value, referred_type: &str) -> Value {
    let mut out = serde_json::Map::new();
    for key in ["id", "href", "name"] {
        if let Some(value) = doc.get(key) {
            out.insert(key.to_string(), value.clone());
        }
    }
    out.insert("@referredType".to_string(), json!(referred_type));
    Value::Object(out)
}
