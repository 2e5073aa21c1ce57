//! Event names per declaration and domain events, over a real store: a tiny declared API
//! on a temp SQLite file (and on PostgreSQL when `SWITCHBOARD_TEST_DATABASE_URL` is
//! set), with the deliveries read back from the job queue, where the fan-out put them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use serde_json::{json, Map, Value};
use switchboard_engine::events::DELIVERY_QUEUE;
use switchboard_engine::{
    ApiDecl, Engine, EngineConfig, ErrorKind, Events, HookFuture, Hooks, PatchKind, ResourceDecl,
    ResourceRef, Scope, StateMachine, WriteKind,
};
use switchboard_store::{Store, StoreConfig};

const API: &str = "TMF999";

/// Every body is an object; nothing else is checked.
const SCHEMA: &str = r#"{"definitions": {"Any": {"type": "object"}}}"#;

const STATES: &[(&str, &[&str])] = &[("new", &["resolved"]), ("resolved", &[])];

/// The ticket's rules: a body asking for information emits `InformationRequiredEvent`
/// (with the `fieldPath` it lacks); `refuse` then fails the write; `bogus` emits an event
/// the ticket does not declare.
struct TicketRules;

impl Hooks for TicketRules {
    fn transactional(&self) -> bool {
        true
    }

    fn within<'a>(
        &'a self,
        scope: &'a mut Scope,
        _kind: WriteKind,
        doc: &'a mut Value,
        _previous: Option<&'a Value>,
    ) -> HookFuture<'a> {
        Box::pin(async move {
            if doc.get("needsInfo") == Some(&json!(true)) {
                let mut extra = Map::new();
                extra.insert("fieldPath".into(), json!("$.description"));
                scope.emit("troubleTicket", "InformationRequiredEvent", doc, extra)?;
            }
            if doc.get("bogus") == Some(&json!(true)) {
                scope.emit("troubleTicket", "UnknownEvent", doc, Map::new())?;
            }
            if doc.get("refuse") == Some(&json!(true)) {
                return Err(switchboard_engine::Error::bad_request("refused"));
            }
            Ok(())
        })
    }
}

fn api() -> ApiDecl {
    ApiDecl {
        code: API,
        name: "Test",
        base_path: "/tmf-api/test/v4",
        schema: SCHEMA,
        observers: Vec::new(),
        resources: vec![
            ResourceDecl {
                state: Some(StateMachine {
                    attribute: "state",
                    initial: Some("new"),
                    transitions: STATES,
                }),
                ..ResourceDecl::new("widget", "Widget")
            },
            ResourceDecl {
                state: Some(StateMachine {
                    attribute: "status",
                    initial: Some("new"),
                    transitions: STATES,
                }),
                hooks: Some(Arc::new(TicketRules)),
                events: Events {
                    state_change: "StatusChangeEvent",
                    domain: &["InformationRequiredEvent", "ResolvedEvent"],
                    ..Events::STANDARD
                },
                ..ResourceDecl::new("troubleTicket", "TroubleTicket")
            },
        ],
    }
}

/// The backends to run on: SQLite always, PostgreSQL when a URL is given.
fn backends() -> Vec<bool> {
    let postgres = std::env::var("SWITCHBOARD_TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty());
    if postgres {
        vec![false, true]
    } else {
        vec![false]
    }
}

struct Fixture {
    engine: Engine,
    widget: ResourceRef,
    ticket: ResourceRef,
    _dir: tempfile::TempDir,
}

async fn fixture(postgres: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = if postgres {
        let base = std::env::var("SWITCHBOARD_TEST_DATABASE_URL").unwrap();
        let separator = if base.contains('?') { '&' } else { '?' };
        format!(
            "{base}{separator}schema=t_{}",
            uuid::Uuid::new_v4().simple()
        )
    } else {
        dir.path().join("events.db").display().to_string()
    };
    let store = Store::open(&StoreConfig::new(url)).await.unwrap();
    let engine = Engine::new(store, EngineConfig::default(), vec![api()], Vec::new()).unwrap();
    Fixture {
        widget: engine.served(API, "widget").unwrap(),
        ticket: engine.served(API, "troubleTicket").unwrap(),
        engine,
        _dir: dir,
    }
}

impl Fixture {
    /// Registers a subscription with `query`; answers its id.
    async fn subscribe(&self, query: &str) -> String {
        let body = json!({"callback": "http://127.0.0.1:9/listener", "query": query});
        self.engine.hub_create(0, body).await.unwrap().id
    }

    /// The deliveries queued so far, as (subscription id, event), claimed off the queue.
    async fn deliveries(&self) -> Vec<(String, Value)> {
        let jobs = self.engine.store().claim(1000, 60_000).await.unwrap();
        jobs.into_iter()
            .filter(|job| job.queue == DELIVERY_QUEUE)
            .map(|job| {
                let payload: Value = serde_json::from_str(&job.payload).unwrap();
                let subscription = payload["subscription"].as_str().unwrap().to_string();
                (subscription, payload["event"].clone())
            })
            .collect()
    }

    /// The event types queued for `subscription`, in queue order.
    async fn types_for(&self, subscription: &str) -> Vec<String> {
        self.deliveries()
            .await
            .into_iter()
            .filter(|(id, _)| id == subscription)
            .map(|(_, event)| event["eventType"].as_str().unwrap().to_string())
            .collect()
    }
}

fn id_of(stored: &switchboard_engine::Stored) -> String {
    stored.id.clone()
}

#[tokio::test]
async fn default_names_are_the_tmf630_ones() {
    for postgres in backends() {
        let fx = fixture(postgres).await;
        let all = fx.subscribe("").await;
        let id = id_of(
            &fx.engine
                .create(fx.widget, json!({"name": "a"}))
                .await
                .unwrap(),
        );
        fx.engine
            .patch(
                fx.widget,
                &id,
                PatchKind::Merge,
                json!({"state": "resolved", "name": "b"}),
                None,
            )
            .await
            .unwrap();
        fx.engine.delete(fx.widget, &id, None).await.unwrap();
        assert_eq!(
            fx.types_for(&all).await,
            [
                "WidgetCreateEvent",
                "WidgetStateChangeEvent",
                "WidgetAttributeValueChangeEvent",
                "WidgetDeleteEvent"
            ],
            "postgres: {postgres}"
        );
    }
}

#[tokio::test]
async fn an_overridden_state_change_name_is_used() {
    for postgres in backends() {
        let fx = fixture(postgres).await;
        let all = fx.subscribe("").await;
        let id = id_of(&fx.engine.create(fx.ticket, json!({})).await.unwrap());
        fx.engine
            .patch(
                fx.ticket,
                &id,
                PatchKind::Merge,
                json!({"status": "resolved"}),
                None,
            )
            .await
            .unwrap();
        assert_eq!(
            fx.types_for(&all).await,
            ["TroubleTicketCreateEvent", "TroubleTicketStatusChangeEvent"],
            "postgres: {postgres}"
        );
    }
}

#[tokio::test]
async fn a_domain_event_emitted_within_a_write_reaches_matching_subscribers_only() {
    for postgres in backends() {
        let fx = fixture(postgres).await;
        let wanted = fx
            .subscribe("eventType=TroubleTicketInformationRequiredEvent")
            .await;
        let other = fx.subscribe("eventType=TroubleTicketResolvedEvent").await;
        let id = id_of(
            &fx.engine
                .create(fx.ticket, json!({"needsInfo": true}))
                .await
                .unwrap(),
        );
        let deliveries = fx.deliveries().await;
        assert!(
            deliveries
                .iter()
                .all(|(subscription, _)| subscription != &other),
            "postgres: {postgres}: {deliveries:?}"
        );
        let [(subscription, event)] = deliveries.as_slice() else {
            panic!("postgres: {postgres}: one delivery expected: {deliveries:?}");
        };
        assert_eq!(subscription, &wanted);
        assert_eq!(event["eventType"], "TroubleTicketInformationRequiredEvent");
        assert_eq!(event["fieldPath"], "$.description");
        assert_eq!(event["event"]["troubleTicket"]["id"], json!(id));
        assert!(event["eventId"].is_string() && event["eventTime"].is_string());
    }
}

#[tokio::test]
async fn a_write_that_fails_emits_nothing() {
    for postgres in backends() {
        let fx = fixture(postgres).await;
        fx.subscribe("").await;
        let refused = fx
            .engine
            .create(fx.ticket, json!({"needsInfo": true, "refuse": true}))
            .await
            .unwrap_err();
        assert_eq!(refused.kind, ErrorKind::BadRequest);
        let id = id_of(&fx.engine.create(fx.ticket, json!({})).await.unwrap());
        fx.deliveries().await;
        let refused = fx
            .engine
            .patch(
                fx.ticket,
                &id,
                PatchKind::Merge,
                json!({"needsInfo": true, "refuse": true}),
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(refused.kind, ErrorKind::BadRequest);
        assert_eq!(fx.deliveries().await, [], "postgres: {postgres}");
    }
}

#[tokio::test]
async fn an_undeclared_domain_event_is_an_internal_error() {
    for postgres in backends() {
        let fx = fixture(postgres).await;
        fx.subscribe("").await;
        let error = fx
            .engine
            .create(fx.ticket, json!({"bogus": true}))
            .await
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Internal);
        assert!(error.message.contains("UnknownEvent"), "{error}");
        let mut together = fx.engine.together(false).await.unwrap();
        let error = together
            .emit(fx.widget, "ResolvedEvent", &json!({}), Map::new())
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Internal);
        let mut extra = Map::new();
        extra.insert("eventType".into(), json!("Spoofed"));
        let error = together
            .emit(fx.ticket, "ResolvedEvent", &json!({}), extra)
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Internal);
        assert_eq!(fx.deliveries().await, [], "postgres: {postgres}");
    }
}

#[tokio::test]
async fn together_emits_with_its_commit_and_not_when_dropped() {
    for postgres in backends() {
        let fx = fixture(postgres).await;
        let resolved = fx.subscribe("eventType=TroubleTicketResolvedEvent").await;
        let mut extra = Map::new();
        extra.insert("milestone".into(), json!({"name": "done"}));

        let mut dropped = fx.engine.together(false).await.unwrap();
        let (doc, _) = dropped.ensure(fx.ticket, "t-1", json!({})).await.unwrap();
        dropped
            .emit(fx.ticket, "ResolvedEvent", &doc, extra.clone())
            .unwrap();
        drop(dropped);
        assert_eq!(fx.deliveries().await, [], "postgres: {postgres}");

        let mut together = fx.engine.together(false).await.unwrap();
        let (doc, _) = together.ensure(fx.ticket, "t-1", json!({})).await.unwrap();
        together
            .emit(fx.ticket, "ResolvedEvent", &doc, extra)
            .unwrap();
        together.commit().await.unwrap();
        let deliveries = fx.deliveries().await;
        let [(subscription, event)] = deliveries.as_slice() else {
            panic!("postgres: {postgres}: one delivery expected: {deliveries:?}");
        };
        assert_eq!(subscription, &resolved);
        assert_eq!(event["eventType"], "TroubleTicketResolvedEvent");
        assert_eq!(event["milestone"]["name"], "done");
        assert_eq!(event["event"]["troubleTicket"]["id"], "t-1");
    }
}

#[tokio::test]
async fn a_failed_write_in_together_forgets_what_its_hooks_emitted() {
    for postgres in backends() {
        let fx = fixture(postgres).await;
        let all = fx.subscribe("").await;
        let mut together = fx.engine.together(false).await.unwrap();
        together
            .ensure(fx.ticket, "t-1", json!({"needsInfo": true, "refuse": true}))
            .await
            .unwrap_err();
        together.ensure(fx.widget, "w-1", json!({})).await.unwrap();
        together.commit().await.unwrap();
        assert_eq!(
            fx.types_for(&all).await,
            ["WidgetCreateEvent"],
            "postgres: {postgres}"
        );
    }
}
