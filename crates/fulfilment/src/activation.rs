//! Activation adapters (docs/wire-choices.md, "Fulfilment"): what turns a resource-facing
//! service of an order into a working one in the network. The built-in simulator is the
//! default; the HTTP southbound adapter sends TMF640 requests to another system and follows
//! its monitors. Which adapter serves a service specification is configuration
//! (`Activation::route`), matched by the specification's id or name.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

/// What an adapter is asked to do with one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Bring the service up (an `add` item).
    Activate,
    /// Change a live service's characteristics (a `modify` item).
    Modify,
    /// Take the service down (a `delete` item, or undoing an activation).
    Deactivate,
}

impl Action {
    fn target_state(self) -> &'static str {
        match self {
            Action::Activate | Action::Modify => "active",
            Action::Deactivate => "terminated",
        }
    }
}

pub type ActivationFuture<'a> =
    Pin<Box<dyn Future<Output = std::result::Result<(), String>> + Send + 'a>>;

/// One way of activating services. `service` is the TMF638/TMF640 shape of the service
/// (its inventory `id`, `serviceSpecification`, `serviceCharacteristic`,
/// `supportingResource`). The error says why the network refused, for the order's note.
/// A request may be repeated after a crash, with the same service id.
pub trait Adapter: Send + Sync {
    fn apply<'a>(&'a self, action: Action, service: &'a Value) -> ActivationFuture<'a>;
}

/// The built-in network simulator: answers after `delay`, and refuses a share
/// `failure_rate` (0 to 1) of the services it activates. Which ones is decided by the
/// service id, so a repeated request gets the same answer and a test can force a
/// failure (rate 1). Deactivation never fails (compensation must be able to run).
#[derive(Debug, Clone, Copy, Default)]
pub struct Simulator {
    pub delay: Duration,
    pub failure_rate: f64,
}

impl Adapter for Simulator {
    fn apply<'a>(&'a self, action: Action, service: &'a Value) -> ActivationFuture<'a> {
        Box::pin(async move {
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            if action == Action::Deactivate || self.failure_rate <= 0.0 {
                return Ok(());
            }
            let id = service
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if self.failure_rate >= 1.0 || share_of(id) < self.failure_rate {
                return Err(format!(
                    "the network simulator refused to {} service '{id}' (configured failure rate {})",
                    match action {
                        Action::Modify => "modify",
                        _ => "activate",
                    },
                    self.failure_rate
                ));
            }
            Ok(())
        })
    }
}

/// A number in [0, 1) fixed by `id` (FNV-1a, then the splitmix64 finalizer to spread
/// close ids apart), so the simulator's choice is repeatable.
fn share_of(id: &str) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^= hash >> 31;
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// The HTTP southbound adapter: a TMF640 v4 server at `base` (its
/// `…/ServiceActivationAndConfiguration/v4`). Activation POSTs `service` (201, or 202
/// with a monitor that is then followed until `completed` or `failed`); modify and
/// deactivate find the southbound service by `name` (our inventory id) and PATCH it.
#[derive(Debug, Clone)]
pub struct Http {
    pub base: String,
    pub client: reqwest::Client,
    /// How long a request, or following a monitor, may take in all.
    pub timeout: Duration,
}

impl Http {
    pub fn new(base: impl Into<String>, timeout: Duration) -> Self {
        Http {
            base: base.into().trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
            timeout,
        }
    }

    async fn send(&self, action: Action, service: &Value) -> std::result::Result<(), String> {
        let id = service
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut body = service.clone();
        if let Some(fields) = body.as_object_mut() {
            fields.remove("id");
            fields.remove("href");
            fields.insert("name".into(), json!(id));
            fields.insert("state".into(), json!(action.target_state()));
        }
        let existing = match action {
            Action::Activate => None,
            Action::Modify | Action::Deactivate => self.find(id).await?,
        };
        let request = match (&existing, action) {
            (Some(southbound), _) => self
                .client
                .patch(format!("{}/service/{southbound}", self.base))
                .header("content-type", "application/merge-patch+json")
                .json(&body),
            (None, Action::Deactivate) => return Ok(()), // never reached the network
            (None, _) => self
                .client
                .post(format!("{}/service", self.base))
                .json(&body),
        };
        let response = request
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|error| format!("southbound {}: {error}", self.base))?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        match status.as_u16() {
            200 | 201 => {
                let state = answer.get("state").and_then(Value::as_str);
                match state {
                    Some(state) if state != action.target_state() => Err(format!(
                        "southbound {} answered service '{id}' in state {state}, not {}",
                        self.base,
                        action.target_state()
                    )),
                    _ => Ok(()),
                }
            }
            202 => self.follow(&answer).await,
            code => Err(format!(
                "southbound {} answered {code}: {}",
                self.base,
                answer
                    .get("message")
                    .or_else(|| answer.get("reason"))
                    .map(Value::to_string)
                    .unwrap_or_default()
            )),
        }
    }

    /// The southbound id of the service named `name`, if the southbound has it.
    async fn find(&self, name: &str) -> std::result::Result<Option<String>, String> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/service", self.base),
            &[("name", name), ("fields", "id")],
        )
        .map_err(|error| format!("southbound {}: {error}", self.base))?;
        let response = self
            .client
            .get(url)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|error| format!("southbound {}: {error}", self.base))?;
        if !response.status().is_success() {
            return Err(format!(
                "southbound {} answered {} to a lookup of '{name}'",
                self.base,
                response.status()
            ));
        }
        let found: Value = response
            .json()
            .await
            .map_err(|error| format!("southbound {}: {error}", self.base))?;
        Ok(found
            .as_array()
            .and_then(|list| list.first())
            .and_then(|service| service.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string))
    }

    /// Follows a TMF640 monitor (`href`) until it is `completed` or `failed`.
    async fn follow(&self, monitor: &Value) -> std::result::Result<(), String> {
        let Some(href) = monitor.get("href").and_then(Value::as_str) else {
            return Err(format!(
                "southbound {} answered 202 without a monitor href",
                self.base
            ));
        };
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut pause = Duration::from_millis(20);
        loop {
            let current: Value = self
                .client
                .get(href)
                .timeout(self.timeout)
                .send()
                .await
                .map_err(|error| format!("monitor {href}: {error}"))?
                .json()
                .await
                .map_err(|error| format!("monitor {href}: {error}"))?;
            match current.get("state").and_then(Value::as_str) {
                Some("completed") => return Ok(()),
                Some("failed") => return Err(format!("monitor {href} reports the request failed")),
                _ => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "monitor {href} did not finish within {:?}",
                    self.timeout
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}

impl Adapter for Http {
    fn apply<'a>(&'a self, action: Action, service: &'a Value) -> ActivationFuture<'a> {
        Box::pin(self.send(action, service))
    }
}

/// Which adapter activates which service specification.
#[derive(Clone)]
pub struct Activation {
    /// (specification id or name, adapter), the first match wins.
    routes: Vec<(String, Arc<dyn Adapter>)>,
    fallback: Arc<dyn Adapter>,
}

impl Default for Activation {
    fn default() -> Self {
        Activation::new(Arc::new(Simulator::default()))
    }
}

impl Activation {
    /// Every specification goes to `fallback` unless routed elsewhere.
    pub fn new(fallback: Arc<dyn Adapter>) -> Self {
        Activation {
            routes: Vec::new(),
            fallback,
        }
    }

    /// Services of the specification with this id or name go to `adapter`.
    pub fn route(mut self, specification: impl Into<String>, adapter: Arc<dyn Adapter>) -> Self {
        self.routes.push((specification.into(), adapter));
        self
    }

    /// Reads an adapter as configured on the command line: `simulator`,
    /// `simulator:DELAY_MS`, `simulator:DELAY_MS:FAILURE_RATE`, or an `http://`/`https://`
    /// TMF640 base URL.
    pub fn parse_adapter(
        text: &str,
        timeout: Duration,
    ) -> std::result::Result<Arc<dyn Adapter>, String> {
        if text.starts_with("http://") || text.starts_with("https://") {
            reqwest::Url::parse(text).map_err(|error| format!("'{text}': {error}"))?;
            return Ok(Arc::new(Http::new(text, timeout)));
        }
        let mut parts = text.split(':');
        if parts.next() != Some("simulator") {
            return Err(format!(
                "'{text}' is not an adapter: use simulator[:DELAY_MS[:FAILURE_RATE]] or an http(s):// URL"
            ));
        }
        let delay = match parts.next() {
            Some(ms) => ms.parse::<u64>().map_err(|_| {
                format!("'{text}': the delay '{ms}' is not a number of milliseconds")
            })?,
            None => 0,
        };
        let failure_rate = match parts.next() {
            Some(rate) => rate
                .parse::<f64>()
                .ok()
                .filter(|rate| (0.0..=1.0).contains(rate))
                .ok_or_else(|| {
                    format!("'{text}': the failure rate '{rate}' is not between 0 and 1")
                })?,
            None => 0.0,
        };
        if parts.next().is_some() {
            return Err(format!("'{text}': too many parts"));
        }
        Ok(Arc::new(Simulator {
            delay: Duration::from_millis(delay),
            failure_rate,
        }))
    }

    /// Has the adapter the service's specification is routed to do `action` with it.
    pub async fn apply(&self, action: Action, service: &Value) -> std::result::Result<(), String> {
        let specification = service.get("serviceSpecification").unwrap_or(&Value::Null);
        self.adapter(specification).apply(action, service).await
    }

    /// The adapter for services of `specification` (its `{id, name}` reference).
    pub fn adapter(&self, specification: &Value) -> &dyn Adapter {
        let id = specification.get("id").and_then(Value::as_str);
        let name = specification.get("name").and_then(Value::as_str);
        self.routes
            .iter()
            .find(|(key, _)| Some(key.as_str()) == id || Some(key.as_str()) == name)
            .map(|(_, adapter)| adapter.as_ref())
            .unwrap_or(self.fallback.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapters_parse_from_configuration() {
        let timeout = Duration::from_secs(1);
        assert!(Activation::parse_adapter("simulator", timeout).is_ok());
        assert!(Activation::parse_adapter("simulator:5:0.5", timeout).is_ok());
        assert!(Activation::parse_adapter("http://127.0.0.1:9/tmf", timeout).is_ok());
        for bad in [
            "simulator:x",
            "simulator:1:2",
            "simulator:1:0.1:3",
            "ftp://x",
            "sim",
        ] {
            assert!(Activation::parse_adapter(bad, timeout).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_simulator_fails_the_same_share_each_time() {
        let ids: Vec<String> = (0..2000).map(|n| format!("service-{n}")).collect();
        let failing = ids.iter().filter(|id| share_of(id) < 0.25).count();
        assert!((400..600).contains(&failing), "{failing} of 2000 at 0.25");
        assert_eq!(share_of("a"), share_of("a"));
    }

    #[tokio::test]
    async fn a_simulator_at_rate_one_refuses_activation_but_not_deactivation() {
        let simulator = Simulator {
            delay: Duration::ZERO,
            failure_rate: 1.0,
        };
        let service = json!({"id": "s1"});
        assert!(simulator.apply(Action::Activate, &service).await.is_err());
        assert!(simulator.apply(Action::Deactivate, &service).await.is_ok());
    }
}
