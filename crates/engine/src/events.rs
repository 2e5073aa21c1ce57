//! TMF events and hub subscriptions. An event is built for each change and, inside the
//! same transaction, copied into the job queue once per subscription whose query it
//! matches; the worker then delivers it. Nothing is sent before the change commits,
//! and nothing committed is left unsent.

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

impl Change {
    fn suffix(self) -> &'static str {
        match self {
            Change::Create => "CreateEvent",
            Change::AttributeValueChange => "AttributeValueChangeEvent",
            Change::StateChange => "StateChangeEvent",
            Change::Delete => "DeleteEvent",
        }
    }
}

/// Builds `{eventId, eventTime, eventType, event: {<collection>: resource}}`.
pub fn event(resource_type: &str, collection: &str, change: Change, resource: &Value) -> Value {
    let mut payload = Map::new();
    payload.insert(collection.to_string(), resource.clone());
    json!({
        "eventId": uuid::Uuid::new_v4().to_string(),
        "eventTime": crate::clock::now_rfc3339(),
        "eventType": format!("{resource_type}{}", change.suffix()),
        "event": Value::Object(payload),
    })
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
