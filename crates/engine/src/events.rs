//! TMF events and hub subscriptions. An event is built for each change (named as its
//! resource declares) or emitted by a domain rule and, inside the same transaction,
//! copied into the job queue once per subscription whose query it matches; the worker
//! then delivers it. Nothing is sent before the change commits, and nothing committed is
//! left unsent.

use serde_json::{json, Map, Value};
use switchboard_store::Tx;

use crate::error::{Error, Result};
use crate::query::{matches, ParsedQuery};

/// The job queue that carries event deliveries.
pub const DELIVERY_QUEUE: &str = "event.deliver";

/// What happened to a resource, in TMF event-name terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Create,
    AttributeValueChange,
    StateChange,
    Delete,
}

/// The event names of one resource, as suffixes after its `resourceType`: the event
/// type is `{resource_type}{suffix}` ("ProductOffering" + "CreateEvent"). The four
/// changes the engine announces default to their TMF630 names (`Events::STANDARD`);
/// an API whose specification names one otherwise overrides it (TMF621's state change is
/// `StatusChangeEvent`), and `domain` lists the events its rules may emit besides
/// (`InformationRequiredEvent`), each with `Scope::emit` or `Together::emit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Events {
    pub create: &'static str,
    pub attribute_value_change: &'static str,
    pub state_change: &'static str,
    pub delete: &'static str,
    /// Domain events the resource may emit; emitting any other is a programming error.
    pub domain: &'static [&'static str],
}

impl Events {
    /// The TMF630 names, and no domain events.
    pub const STANDARD: Events = Events {
        create: "CreateEvent",
        attribute_value_change: "AttributeValueChangeEvent",
        state_change: "StateChangeEvent",
        delete: "DeleteEvent",
        domain: &[],
    };

    /// The suffix that announces `change`.
    pub fn suffix(&self, change: Change) -> &'static str {
        match change {
            Change::Create => self.create,
            Change::AttributeValueChange => self.attribute_value_change,
            Change::StateChange => self.state_change,
            Change::Delete => self.delete,
        }
    }

    /// Whether `suffix` is a declared domain event.
    pub fn declares(&self, suffix: &str) -> bool {
        self.domain.contains(&suffix)
    }
}

impl Default for Events {
    fn default() -> Self {
        Events::STANDARD
    }
}

/// The attributes every event has, which an emitted event's extra fields may not replace.
const ENVELOPE: [&str; 5] = ["eventId", "eventTime", "eventType", "timeOcurred", "event"];

/// Builds `{eventId, eventTime, eventType, timeOcurred, event: {<collection>: resource}}`,
/// the type being `{resource_type}{suffix}`. Every v4 event definition has both times,
/// `timeOcurred` (the v4 spelling) for when the change happened: here the same instant,
/// as the event is built in the change's transaction.
pub fn event(resource_type: &str, collection: &str, suffix: &str, resource: &Value) -> Value {
    let mut payload = Map::new();
    payload.insert(collection.to_string(), resource.clone());
    let now = crate::clock::now_rfc3339();
    json!({
        "eventId": uuid::Uuid::new_v4().to_string(),
        "eventTime": now,
        "eventType": format!("{resource_type}{suffix}"),
        "timeOcurred": now,
        "event": Value::Object(payload),
    })
}

/// A domain event: `event`'s body with `extra`'s TMF fields beside `event` (a
/// `fieldPath`, a `milestone`); a field of the envelope in `extra` is a programming
/// error.
pub fn domain_event(
    resource_type: &str,
    collection: &str,
    suffix: &str,
    resource: &Value,
    extra: Map<String, Value>,
) -> Result<Value> {
    if let Some(key) = extra.keys().find(|key| ENVELOPE.contains(&key.as_str())) {
        return Err(Error::internal(format!(
            "{resource_type}{suffix}: '{key}' is set by the engine, not by the emitter"
        )));
    }
    let mut body = event(resource_type, collection, suffix, resource);
    if let Value::Object(object) = &mut body {
        object.extend(extra);
    }
    Ok(body)
}

/// A domain event emitted in a write's transaction, waiting for the fan-out of its API
/// with the change events.
#[derive(Debug)]
pub(crate) struct Emitted {
    /// The API whose subscribers hear it (its index, as in `ResourceRef::api`).
    pub api: usize,
    pub event: Value,
}

/// The store kind under which an API keeps its hub subscriptions.
pub fn hub_kind(api_code: &str) -> String {
    format!("{api_code}/hub")
}

/// Checks a `POST /hub` body and returns the subscription document to store.
pub fn subscription(body: &Value, id: &str, href: &str) -> Result<Value> {
    let Value::Object(object) = body else {
        return Err(Error::invalid_body("the body must be a JSON object"));
    };
    let callback = match object.get("callback") {
        Some(Value::String(callback)) => callback.clone(),
        Some(_) => return Err(Error::invalid_body("'callback' must be a string")),
        None => return Err(Error::invalid_body("'callback' is mandatory")),
    };
    let url = reqwest::Url::parse(&callback)
        .map_err(|error| Error::invalid_body(format!("'callback' is not a valid URL: {error}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid_body(
            "'callback' must be an http or https URL",
        ));
    }
    let query = match object.get("query") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(query)) => query.clone(),
        Some(_) => return Err(Error::invalid_body("'query' must be a string")),
    };
    ParsedQuery::parse(&query)?;
    Ok(json!({"id": id, "href": href, "callback": callback, "query": query}))
}

/// Every delivery queued for a subscription has a dedup key starting with this, so
/// that unsubscribing can cancel what is still waiting for it.
pub fn delivery_key_prefix(subscription_id: &str) -> String {
    format!("{subscription_id}:")
}

/// Queues one delivery of `event` per subscription of the API whose query matches it.
/// `events` is called only when the API has subscriptions: most writes have none, and
/// building an event copies the whole resource.
pub async fn fan_out(
    tx: &mut Tx,
    api_code: &str,
    events: impl FnOnce() -> Vec<Value>,
) -> Result<usize> {
    let subscriptions = tx.all(&hub_kind(api_code)).await?;
    if subscriptions.is_empty() {
        return Ok(0);
    }
    let events = events();
    let mut queued = 0;
    for stored in subscriptions {
        let Ok(subscription) = serde_json::from_str::<Value>(&stored.json) else {
            continue;
        };
        let query = subscription
            .get("query")
            .and_then(Value::as_str)
            .unwrap_or_default();
        // A query that no longer parses (stored by an older version) matches nothing
        // rather than everything.
        let Ok(parsed) = ParsedQuery::parse(query) else {
            continue;
        };
        for event in &events {
            if !matches(&parsed.conditions, event) {
                continue;
            }
            let delivery = json!({
                "subscription": stored.id,
                "callback": subscription.get("callback"),
                "event": event,
            });
            let dedup = format!(
                "{}{}",
                delivery_key_prefix(&stored.id),
                event
                    .get("eventId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            );
            tx.enqueue(
                DELIVERY_QUEUE,
                &delivery.to_string(),
                Some(&dedup),
                switchboard_store::now_millis(),
            )
            .await?;
            queued += 1;
        }
    }
    Ok(queued)
}
