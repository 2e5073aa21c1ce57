//! Hub subscriptions (TMF630 "Notification management"): register, read and delete them
//! on every API, and the events they receive: what each change emits, what a
//! subscription query lets through, and where the event is POSTed.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::*;

const APIS: [&str; 3] = [CATALOG, PARTY, PARTY_ROLE];
const WITHIN: Duration = Duration::from_secs(5);

/// Registers a subscription, asserting 201, and returns its id.
async fn subscribe(server: &TestServer, base: &str, callback: &str, query: &str) -> String {
    let reply = server
        .post(
            &format!("{base}/hub"),
            &json!({"callback": callback, "query": query}),
        )
        .await;
    assert_eq!(reply.status, 201, "POST {base}/hub: {}", reply.text);
    reply.body["id"].as_str().unwrap().to_string()
}

/// `2024-05-01T10:00:00.123Z`: UTC with milliseconds, as the server writes dates.
fn is_instant(text: &str) -> bool {
    text.len() == 24
        && text.chars().enumerate().all(|(index, c)| match index {
            4 | 7 => c == '-',
            10 => c == 'T',
            13 | 16 => c == ':',
            19 => c == '.',
            23 => c == 'Z',
            _ => c.is_ascii_digit(),
        })
}

/// Asserts the TMF event envelope and that it carries `resource` under `collection`.
fn assert_event(event: &Value, event_type: &str, collection: &str, resource: &Value) {
    let keys: Vec<&str> = event
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["eventId", "eventTime", "eventType", "timeOcurred", "event"],
        "{event}"
    );
    assert_eq!(event["eventType"], event_type, "{event}");
    assert_eq!(event["eventId"].as_str().unwrap().len(), 36, "{event}");
    assert!(is_instant(event["eventTime"].as_str().unwrap()), "{event}");
    assert_eq!(event["timeOcurred"], event["eventTime"], "{event}");
    assert_eq!(event["event"], json!({ collection: resource }), "{event}");
}

fn event_types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|event| event["eventType"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn hub_subscriptions_are_registered_read_and_deleted_on_every_api() {
    let server = TestServer::start().await;
    for base in APIS {
        let callback = "http://127.0.0.1:9/listener";
        let query = "eventType=SomethingCreateEvent";
        let created = server
            .post(
                &format!("{base}/hub"),
                &json!({"callback": callback, "query": query}),
            )
            .await;
        assert_eq!(created.status, 201, "{base}: {}", created.text);
        let id = created.body["id"].as_str().unwrap().to_string();
        assert!(!id.is_empty());
        assert_eq!(
            created.body,
            json!({
                "id": id,
                "href": server.url(&format!("{base}/hub/{id}")),
                "callback": callback,
                "query": query,
            })
        );

        let read = server.get(&format!("{base}/hub/{id}")).await;
        assert_eq!(read.status, 200, "{}", read.text);
        assert_eq!(read.body, created.body);

        // Subscriptions belong to the API they were registered on.
        for other in APIS.iter().filter(|other| **other != base) {
            server
                .get(&format!("{other}/hub/{id}"))
                .await
                .assert_error(404);
        }

        let deleted = server.delete(&format!("{base}/hub/{id}")).await;
        assert_eq!(deleted.status, 204, "{}", deleted.text);
        assert!(deleted.text.is_empty());
        server
            .get(&format!("{base}/hub/{id}"))
            .await
            .assert_error(404);
        server
            .delete(&format!("{base}/hub/{id}"))
            .await
            .assert_error(404);
    }
}

#[tokio::test]
async fn a_subscription_without_query_is_stored_with_an_empty_one() {
    let server = TestServer::start().await;
    let reply = server
        .post(
            &format!("{PARTY}/hub"),
            &json!({"callback": "https://subscriber.example/events"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["callback"], "https://subscriber.example/events");
    assert_eq!(reply.body["query"], "");
}

#[tokio::test]
async fn invalid_hub_bodies_are_refused_with_a_tmf_error() {
    let server = TestServer::start().await;
    let valid = "http://127.0.0.1:9/listener";
    let cases = [
        (
            json!({"query": "eventType=IndividualCreateEvent"}),
            "Invalid body",
            "'callback' is mandatory",
        ),
        (
            json!({"callback": "not a url"}),
            "Invalid body",
            "not a valid URL",
        ),
        (
            json!({"callback": "ftp://files.example/events"}),
            "Invalid body",
            "http or https",
        ),
        (
            json!({"callback": 42}),
            "Invalid body",
            "'callback' must be a string",
        ),
        (json!([valid]), "Invalid body", "JSON object"),
        (
            json!({"callback": valid, "query": 7}),
            "Invalid body",
            "'query' must be a string",
        ),
        (
            json!({"callback": valid, "query": "a'b=1"}),
            "Invalid query",
            "not a valid attribute path",
        ),
        (
            json!({"callback": valid, "query": "name.regex=("}),
            "Invalid query",
            "invalid regular expression",
        ),
    ];
    for base in APIS {
        for (body, reason, message) in &cases {
            let reply = server.post(&format!("{base}/hub"), body).await;
            reply.assert_error(400);
            assert_eq!(reply.body["reason"], *reason, "{body}: {}", reply.text);
            let text = reply.body["message"].as_str().unwrap();
            assert!(text.contains(message), "{body}: {text}");
        }
        let not_json = server
            .send(
                reqwest::Method::POST,
                &format!("{base}/hub"),
                Some("application/json"),
                Some(b"{callback".to_vec()),
                &[],
            )
            .await;
        not_json.assert_error(400);
    }
}

#[tokio::test]
async fn a_create_event_carries_the_created_resource() {
    let server = TestServer::start().await;
    let listener = Listener::start(0).await;
    subscribe(&server, PARTY, &listener.url, "").await;
    let created = server
        .create(
            &format!("{PARTY}/individual"),
            &json!({"givenName": "Ada", "familyName": "Lovelace"}),
        )
        .await;
    let events = listener.wait_for(1, WITHIN).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_event(&events[0], "IndividualCreateEvent", "individual", &created);
    server.queue().await.wait_idle().await;
    assert_eq!(listener.events().len(), 1);
    assert_eq!(*listener.attempts.lock().unwrap(), 1);
}

#[tokio::test]
async fn offering_changes_emit_attribute_state_and_delete_events() {
    let server = TestServer::start().await;
    let listener = Listener::start(0).await;
    subscribe(&server, CATALOG, &listener.url, "").await;
    let path = format!("{CATALOG}/productOffering");

    let created = server
        .create(&path, &json!({"name": "Fiber 1G", "isSellable": true}))
        .await;
    let id = created["id"].as_str().unwrap();
    let item = format!("{path}/{id}");
    let events = listener.wait_for(1, WITHIN).await;
    assert_event(
        &events[0],
        "ProductOfferingCreateEvent",
        "productOffering",
        &created,
    );
    // The event is built after the write it announces.
    assert!(events[0]["eventTime"].as_str().unwrap() >= created["lastUpdate"].as_str().unwrap());

    // Each step waits for its event, so the order of arrival is the order of changes.
    let renamed = server
        .patch(
            &item,
            "application/merge-patch+json",
            &json!({"name": "Fiber 2G"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let events = listener.wait_for(2, WITHIN).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_event(
        &events[1],
        "ProductOfferingAttributeValueChangeEvent",
        "productOffering",
        &renamed.body,
    );

    // Only the state changes: a state-change event and no attribute-value change.
    let designed = server
        .patch(
            &item,
            "application/merge-patch+json",
            &json!({"lifecycleStatus": "In design"}),
        )
        .await;
    assert_eq!(designed.status, 200, "{}", designed.text);
    let events = listener.wait_for(3, WITHIN).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_event(
        &events[2],
        "ProductOfferingStateChangeEvent",
        "productOffering",
        &designed.body,
    );

    let deleted = server.delete(&item).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let events = listener.wait_for(4, WITHIN).await;
    assert_eq!(events.len(), 4, "{events:?}");
    assert_event(
        &events[3],
        "ProductOfferingDeleteEvent",
        "productOffering",
        &designed.body,
    );

    server.queue().await.wait_idle().await;
    let events = listener.events();
    assert_eq!(
        event_types(&events),
        [
            "ProductOfferingCreateEvent",
            "ProductOfferingAttributeValueChangeEvent",
            "ProductOfferingStateChangeEvent",
            "ProductOfferingDeleteEvent",
        ]
    );
    let ids: HashSet<&str> = events
        .iter()
        .map(|event| event["eventId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 4, "event ids repeat: {events:?}");
}

#[tokio::test]
async fn a_patch_of_state_and_attributes_emits_both_events_and_a_no_op_patch_none() {
    let server = TestServer::start().await;
    let listener = Listener::start(0).await;
    subscribe(&server, CATALOG, &listener.url, "").await;
    let path = format!("{CATALOG}/productOffering");
    let created = server.create(&path, &json!({"name": "Fiber 1G"})).await;
    let item = format!("{path}/{}", created["id"].as_str().unwrap());

    let patched = server
        .patch(
            &item,
            "application/merge-patch+json",
            &json!({"name": "Fiber 2G", "lifecycleStatus": "In design"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    // Writing back what is stored changes nothing and announces nothing.
    let unchanged = server
        .patch(
            &item,
            "application/merge-patch+json",
            &json!({"name": "Fiber 2G"}),
        )
        .await;
    assert_eq!(unchanged.status, 200, "{}", unchanged.text);
    assert_eq!(unchanged.body, patched.body);

    server.queue().await.wait_idle().await;
    let events = listener.events();
    assert_eq!(events.len(), 3, "{events:?}");
    let mut changes: Vec<&Value> = events
        .iter()
        .filter(|event| event["eventType"] != "ProductOfferingCreateEvent")
        .collect();
    changes.sort_by_key(|event| event["eventType"].as_str().unwrap().to_string());
    assert_eq!(changes.len(), 2, "{events:?}");
    assert_event(
        changes[0],
        "ProductOfferingAttributeValueChangeEvent",
        "productOffering",
        &patched.body,
    );
    assert_event(
        changes[1],
        "ProductOfferingStateChangeEvent",
        "productOffering",
        &patched.body,
    );
}

#[tokio::test]
async fn events_are_posted_to_the_callback_exactly_as_registered() {
    let server = TestServer::start().await;
    let hook = Hook::start(204).await;
    let target = "/listener/v4/events?token=a%20b&tenant=7";
    subscribe(&server, PARTY_ROLE, &hook.url(target), "").await;
    let created = server
        .create(
            &format!("{PARTY_ROLE}/partyRole"),
            &json!({"name": "customer"}),
        )
        .await;
    server.queue().await.wait_idle().await;
    let requests = hook.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.target, target);
    assert!(
        request
            .content_type
            .as_deref()
            .is_some_and(|value| value.starts_with("application/json")),
        "{request:?}"
    );
    assert_event(&request.body, "PartyRoleCreateEvent", "partyRole", &created);
}

#[tokio::test]
async fn a_query_on_the_event_type_lets_only_that_type_through() {
    let server = TestServer::start().await;
    let creates = Listener::start(0).await;
    let everything = Listener::start(0).await;
    subscribe(
        &server,
        PARTY,
        &creates.url,
        "eventType=IndividualCreateEvent",
    )
    .await;
    subscribe(&server, PARTY, &everything.url, "").await;

    let individual = server
        .create(
            &format!("{PARTY}/individual"),
            &json!({"givenName": "Ada", "familyName": "Lovelace"}),
        )
        .await;
    let item = format!("{PARTY}/individual/{}", individual["id"].as_str().unwrap());
    server
        .create(
            &format!("{PARTY}/organization"),
            &json!({"tradingName": "Acme"}),
        )
        .await;
    let renamed = server
        .patch(&item, "application/json", &json!({"givenName": "Augusta"}))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let validated = server
        .patch(&item, "application/json", &json!({"status": "validated"}))
        .await;
    assert_eq!(validated.status, 200, "{}", validated.text);
    assert_eq!(server.delete(&item).await.status, 204);

    server.queue().await.wait_idle().await;
    let mut all = event_types(&everything.events());
    all.sort();
    assert_eq!(
        all,
        [
            "IndividualAttributeValueChangeEvent",
            "IndividualCreateEvent",
            "IndividualDeleteEvent",
            "IndividualStateChangeEvent",
            "OrganizationCreateEvent",
        ]
    );
    let events = creates.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_event(
        &events[0],
        "IndividualCreateEvent",
        "individual",
        &individual,
    );
}

#[tokio::test]
async fn a_query_on_the_resource_state_lets_only_matching_events_through() {
    let server = TestServer::start().await;
    let in_design = Listener::start(0).await;
    let in_design_encoded = Listener::start(0).await;
    let everything = Listener::start(0).await;
    subscribe(
        &server,
        CATALOG,
        &in_design.url,
        "event.productOffering.lifecycleStatus=In design",
    )
    .await;
    subscribe(
        &server,
        CATALOG,
        &in_design_encoded.url,
        "event.productOffering.lifecycleStatus=In%20design",
    )
    .await;
    subscribe(&server, CATALOG, &everything.url, "").await;
    let path = format!("{CATALOG}/productOffering");

    // In study: no match.
    let first = server.create(&path, &json!({"name": "Fiber 1G"})).await;
    let first_id = first["id"].as_str().unwrap().to_string();
    let item = format!("{path}/{first_id}");
    // Into design (match), renamed while in design (match), on to test (no match).
    for patch in [
        json!({"lifecycleStatus": "In design"}),
        json!({"name": "Fiber 2G"}),
        json!({"lifecycleStatus": "In test"}),
    ] {
        let reply = server.patch(&item, "application/json", &patch).await;
        assert_eq!(reply.status, 200, "{patch}: {}", reply.text);
    }
    // Deleted while in test: no match.
    assert_eq!(server.delete(&item).await.status, 204);
    // Created in design: match.
    let second = server
        .create(
            &path,
            &json!({"name": "Fiber 10G", "lifecycleStatus": "In design"}),
        )
        .await;
    let second_id = second["id"].as_str().unwrap().to_string();

    server.queue().await.wait_idle().await;
    assert_eq!(everything.events().len(), 6, "{:?}", everything.events());
    let summary = |events: Vec<Value>| {
        let mut summary: Vec<(String, String, String)> = events
            .iter()
            .map(|event| {
                let offering = &event["event"]["productOffering"];
                (
                    event["eventType"].as_str().unwrap().to_string(),
                    offering["id"].as_str().unwrap().to_string(),
                    offering["lifecycleStatus"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        summary.sort();
        summary
    };
    let expected = {
        let mut expected = vec![
            (
                "ProductOfferingAttributeValueChangeEvent".to_string(),
                first_id.clone(),
                "In design".to_string(),
            ),
            (
                "ProductOfferingStateChangeEvent".to_string(),
                first_id.clone(),
                "In design".to_string(),
            ),
            (
                "ProductOfferingCreateEvent".to_string(),
                second_id.clone(),
                "In design".to_string(),
            ),
        ];
        expected.sort();
        expected
    };
    assert_eq!(summary(in_design.events()), expected);
    assert_eq!(summary(in_design_encoded.events()), expected);
}

#[tokio::test]
async fn a_deleted_subscription_receives_nothing_more() {
    let server = TestServer::start().await;
    let leaving = Listener::start(0).await;
    let staying = Listener::start(0).await;
    let leaving_id = subscribe(&server, PARTY, &leaving.url, "").await;
    subscribe(&server, PARTY, &staying.url, "").await;
    let queue = server.queue().await;

    let first = server
        .create(
            &format!("{PARTY}/individual"),
            &json!({"givenName": "Ada", "familyName": "Lovelace"}),
        )
        .await;
    queue.wait_idle().await;
    assert_eq!(leaving.events().len(), 1);

    let deleted = server.delete(&format!("{PARTY}/hub/{leaving_id}")).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let second = server
        .create(
            &format!("{PARTY}/individual"),
            &json!({"givenName": "Grace", "familyName": "Hopper"}),
        )
        .await;
    queue.wait_idle().await;

    let kept = staying.events();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_event(&kept[1], "IndividualCreateEvent", "individual", &second);
    let gone = leaving.events();
    assert_eq!(gone.len(), 1, "{gone:?}");
    assert_event(&gone[0], "IndividualCreateEvent", "individual", &first);
    assert_eq!(*leaving.attempts.lock().unwrap(), 1);
}

#[tokio::test]
async fn deleting_a_subscription_cancels_its_pending_retries() {
    // A 2 s backoff keeps the retry well after the unsubscribe: no attempt can be in
    // flight when the subscription goes.
    let server = TestServer::start_with(|config| config.delivery_backoff_ms = 2000).await;
    let hook = Hook::start(503).await;
    let id = subscribe(&server, PARTY, &hook.url("/listener"), "").await;
    server
        .create(
            &format!("{PARTY}/individual"),
            &json!({"givenName": "Ada", "familyName": "Lovelace"}),
        )
        .await;
    let tried = eventually(WITHIN, || async { !hook.requests().is_empty() }).await;
    assert!(tried, "no first attempt");

    let deleted = server.delete(&format!("{PARTY}/hub/{id}")).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    hook.answer(201);
    let queue = server.queue().await;
    assert_eq!(queue.pending().await, 0, "a retry is still queued");
    assert!(queue.dead().await.is_empty());
    let requests = hook.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].answered, 503);
}

#[tokio::test]
async fn a_subscription_sees_only_the_events_of_its_own_api() {
    let server = TestServer::start().await;
    let listener = Listener::start(0).await;
    subscribe(&server, CATALOG, &listener.url, "").await;
    let individual = server
        .create(
            &format!("{PARTY}/individual"),
            &json!({"givenName": "Ada", "familyName": "Lovelace"}),
        )
        .await;
    server
        .create(
            &format!("{PARTY_ROLE}/partyRole"),
            &json!({"name": "customer", "engagedParty": {"id": individual["id"], "@referredType": "Individual"}}),
        )
        .await;
    let catalog = server
        .create(
            &format!("{CATALOG}/catalog"),
            &json!({"name": "Residential"}),
        )
        .await;
    server.queue().await.wait_idle().await;
    let events = listener.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_event(&events[0], "CatalogCreateEvent", "catalog", &catalog);
}

/// A server that does not listen on loopback calls back only to public addresses: a
/// subscription to a loopback, private or link-local address, written or resolved, is
/// refused with 400 (docs/wire-choices.md, "Events and the hub"). The same server on loopback (every other test
/// here) calls back anywhere.
#[tokio::test]
async fn a_server_guarded_against_ssrf_refuses_private_callbacks() {
    let server = TestServer::start_with(|config| {
        config.private_callbacks = Some(switchboard::config::PrivateCallbacks::Deny)
    })
    .await;
    for callback in [
        "http://127.0.0.1:9/listener",
        "http://localhost:9/listener",
        "http://[::1]:9/listener",
        "http://10.1.2.3/listener",
        "http://169.254.169.254/latest/meta-data",
    ] {
        let reply = server
            .post(
                &format!("{PARTY}/hub"),
                &json!({"callback": callback, "query": ""}),
            )
            .await;
        reply.assert_error(400);
        assert!(
            reply.text.contains("private, loopback or reserved"),
            "{callback}: {}",
            reply.text
        );
    }
    // A name that does not resolve is refused; a public address is accepted (nothing is
    // sent until an event happens).
    let reply = server
        .post(
            &format!("{PARTY}/hub"),
            &json!({"callback": "http://192.0.2.1.nip.invalid/listener"}),
        )
        .await;
    reply.assert_error(400);
    let reply = server
        .post(
            &format!("{PARTY}/hub"),
            &json!({"callback": "http://8.8.8.8/listener"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}
