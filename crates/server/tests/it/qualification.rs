//! TMF645 Service Qualification over HTTP: answers computed from a catalog and pools
//! built through their own APIs (sync and async, each reason of an unqualified answer,
//! alternates, a pool running out, queries by place) and the refusal of bad input.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::*;

const QUALIFICATION: &str = "/tmf-api/serviceQualificationManagement/v4";
const SERVICE_CATALOG: &str = "/tmf-api/serviceCatalogManagement/v4";
const RESOURCE_CATALOG: &str = "/tmf-api/resourceCatalog/v4";
const POOLS: &str = "/tmf-api/resourcePoolManagement/v1";
const WITHIN: Duration = Duration::from_secs(10);

/// Two CFSs in one category: fibre, whose port pool serves Paris only (one free unit),
/// and copper, whose line pool names no place (so serves everywhere).
struct Catalog {
    fibre: String,
    copper: String,
    category: String,
    fibre_pool: String,
}

/// A CFS (Active) over one RFS over one resource specification, served by a pool of
/// `units` at `place` (everywhere when `None`). Answers the CFS and the pool.
async fn service_line(
    server: &TestServer,
    name: &str,
    units: u64,
    place: Option<&str>,
) -> (String, String) {
    let resource = server
        .create_id(
            &format!("{RESOURCE_CATALOG}/resourceSpecification"),
            &json!({"name": format!("{name}-port")}),
        )
        .await;
    let mut pool = json!({
        "name": format!("{name} ports"),
        "capacity": {"type": "count", "amount": units},
        "resourceSpecification": [{"id": resource}],
    });
    if let Some(place) = place {
        pool["place"] = json!([{"id": place}]);
    }
    let pool = server
        .create_id(&format!("{POOLS}/resourcePool"), &pool)
        .await;
    let rfs = server
        .create_id(
            &format!("{SERVICE_CATALOG}/serviceSpecification"),
            &json!({
                "name": format!("{name}-rfs"),
                "@type": "ResourceFacingServiceSpecification",
                "resourceSpecification": [{"id": resource}],
            }),
        )
        .await;
    let cfs = server
        .create_id(
            &format!("{SERVICE_CATALOG}/serviceSpecification"),
            &json!({
                "name": format!("{name}-cfs"),
                "@type": "CustomerFacingServiceSpecification",
                "lifecycleStatus": "Active",
                "serviceSpecRelationship": [{"id": rfs, "relationshipType": "dependency"}],
            }),
        )
        .await;
    (cfs, pool)
}

async fn catalog(server: &TestServer) -> Catalog {
    let (fibre, fibre_pool) = service_line(server, "fibre", 1, Some("paris")).await;
    let (copper, _) = service_line(server, "copper", 10, None).await;
    let mut candidates = Vec::new();
    for spec in [&fibre, &copper] {
        let candidate = server
            .create_id(
                &format!("{SERVICE_CATALOG}/serviceCandidate"),
                &json!({"name": "candidate", "serviceSpecification": {"id": spec}}),
            )
            .await;
        candidates.push(json!({"id": candidate}));
    }
    let category = server
        .create_id(
            &format!("{SERVICE_CATALOG}/serviceCategory"),
            &json!({"name": "access", "serviceCandidate": candidates}),
        )
        .await;
    Catalog {
        fibre,
        copper,
        category,
        fibre_pool,
    }
}

/// A check of one service at one place, with reasons; `extra` adds request attributes.
fn check_of(spec: &str, place: &str, extra: Value) -> Value {
    let mut body = json!({
        "instantSyncQualification": true,
        "provideUnavailabilityReason": true,
        "serviceQualificationItem": [{
            "id": "item-1",
            "service": {
                "serviceSpecification": {"id": spec},
                "place": [{"id": place, "role": "installationAddress"}],
            },
        }],
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

async fn check(server: &TestServer, body: &Value) -> Value {
    server
        .create(&format!("{QUALIFICATION}/checkServiceQualification"), body)
        .await
}

/// The answer's item: (result, reason codes).
fn item_result(answer: &Value) -> (String, Vec<String>) {
    let item = &answer["serviceQualificationItem"][0];
    let codes = item["eligibilityUnavailabilityReason"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|reason| reason["code"].as_str().unwrap().to_string())
        .collect();
    (
        item["qualificationResult"].as_str().unwrap().to_string(),
        codes,
    )
}

#[tokio::test]
async fn a_sync_check_answers_qualified_with_an_expiration_and_is_stored() {
    let server = TestServer::start().await;
    let catalog = catalog(&server).await;
    let answer = check(&server, &check_of(&catalog.fibre, "paris", json!({}))).await;
    assert_eq!(answer["state"], "done", "{answer}");
    assert_eq!(answer["qualificationResult"], "qualified", "{answer}");
    assert_eq!(item_result(&answer), ("qualified".into(), vec![]));
    let item = &answer["serviceQualificationItem"][0];
    assert!(item["expirationDate"].is_string(), "{answer}");
    assert!(answer["effectiveQualificationDate"].is_string(), "{answer}");
    assert!(answer["checkServiceQualificationDate"].is_string());
    let stored = server
        .get(
            answer["href"]
                .as_str()
                .unwrap()
                .trim_start_matches(&server.base),
        )
        .await;
    assert_eq!(stored.status, 200);
    assert_eq!(stored.body, answer);
}

#[tokio::test]
async fn an_unqualified_check_says_why_for_each_reason() {
    let server = TestServer::start().await;
    let catalog = catalog(&server).await;
    // A place no fibre pool serves.
    let answer = check(&server, &check_of(&catalog.fibre, "lyon", json!({}))).await;
    assert_eq!(answer["qualificationResult"], "unqualified", "{answer}");
    assert_eq!(
        item_result(&answer),
        ("unqualified".into(), vec!["noCoverage".into()])
    );
    assert!(answer["serviceQualificationItem"][0]["expirationDate"].is_null());
    // A retired specification.
    let path = format!("{SERVICE_CATALOG}/serviceSpecification/{}", catalog.copper);
    let retired = server
        .patch(
            &path,
            "application/merge-patch+json",
            &json!({"lifecycleStatus": "Retired"}),
        )
        .await;
    assert_eq!(retired.status, 200, "{}", retired.text);
    let answer = check(&server, &check_of(&catalog.copper, "paris", json!({}))).await;
    assert_eq!(
        item_result(&answer),
        ("unqualified".into(), vec!["specNotAvailable".into()])
    );
    let label = &answer["serviceQualificationItem"][0]["eligibilityUnavailabilityReason"][0];
    assert!(
        label["label"].as_str().unwrap().contains("Retired"),
        "{label}"
    );
    // Reasons only when asked for.
    let quiet = check_of(
        &catalog.copper,
        "paris",
        json!({"provideUnavailabilityReason": false}),
    );
    let answer = check(&server, &quiet).await;
    assert_eq!(item_result(&answer), ("unqualified".into(), vec![]));
}

/// Takes every free unit of `pool` through a TMF685 reservation.
async fn exhaust(server: &TestServer, pool: &str, units: u64) {
    let reservation = json!({
        "relatedParty": {"id": "customer-1", "@referredType": "Organization"},
        "reservationItem": [{"quantity": units, "resourceCapacity": {"resourcePool": {"id": pool}}}],
    });
    server
        .create(&format!("{POOLS}/reservation"), &reservation)
        .await;
}

#[tokio::test]
async fn an_exhausted_pool_turns_a_qualified_answer_unqualified() {
    let server = TestServer::start().await;
    let catalog = catalog(&server).await;
    let body = check_of(&catalog.fibre, "paris", json!({}));
    assert_eq!(
        check(&server, &body).await["qualificationResult"],
        "qualified"
    );
    exhaust(&server, &catalog.fibre_pool, 1).await;
    let answer = check(&server, &body).await;
    assert_eq!(
        item_result(&answer),
        ("unqualified".into(), vec!["insufficientCapacity".into()])
    );
    let label = answer["serviceQualificationItem"][0]["eligibilityUnavailabilityReason"][0]
        ["label"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(label.contains(&catalog.fibre_pool), "{label}");
}

#[tokio::test]
async fn an_alternative_is_proposed_when_asked_and_one_qualifies_there() {
    let server = TestServer::start().await;
    let catalog = catalog(&server).await;
    let asked = check_of(&catalog.fibre, "lyon", json!({"provideAlternative": true}));
    let answer = check(&server, &asked).await;
    assert_eq!(answer["qualificationResult"], "alternate", "{answer}");
    let item = &answer["serviceQualificationItem"][0];
    assert_eq!(item["qualificationResult"], "alternate");
    let proposals = item["alternateServiceProposal"].as_array().unwrap();
    assert_eq!(proposals.len(), 1, "{answer}");
    let service = &proposals[0]["alternateService"];
    assert_eq!(
        service["serviceSpecification"]["id"],
        catalog.copper.as_str()
    );
    assert_eq!(service["place"][0]["id"], "lyon");
    assert!(item["expirationDate"].is_string());
    // Without the flag: unqualified, no proposal.
    let answer = check(&server, &check_of(&catalog.fibre, "lyon", json!({}))).await;
    assert_eq!(answer["qualificationResult"], "unqualified");
    assert!(answer["serviceQualificationItem"][0]["alternateServiceProposal"].is_null());
}

#[tokio::test]
async fn an_async_check_is_accepted_then_done_with_its_state_events() {
    let server = TestServer::start().await;
    let catalog = catalog(&server).await;
    let listener = Listener::start(0).await;
    let hub = server
        .post(
            &format!("{QUALIFICATION}/hub"),
            &json!({"callback": listener.url}),
        )
        .await;
    assert_eq!(hub.status, 201, "{}", hub.text);
    let body = check_of(
        &catalog.fibre,
        "paris",
        json!({"instantSyncQualification": false}),
    );
    let accepted = check(&server, &body).await;
    assert_eq!(accepted["state"], "accepted", "{accepted}");
    assert!(accepted.get("qualificationResult").is_none(), "{accepted}");
    // The answer's attributes change with its state: an attribute change event follows.
    let events: Vec<Value> = listener
        .wait_for(4, WITHIN)
        .await
        .into_iter()
        .filter(|event| event["eventType"] != "CheckServiceQualificationAttributeValueChangeEvent")
        .collect();
    let seen: Vec<(String, String)> = events
        .iter()
        .map(|event| {
            (
                event["eventType"].as_str().unwrap().to_string(),
                event["event"]["checkServiceQualification"]["state"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "CheckServiceQualificationCreateEvent".into(),
                "accepted".into()
            ),
            (
                "CheckServiceQualificationStateChangeEvent".into(),
                "inProgress".into()
            ),
            (
                "CheckServiceQualificationStateChangeEvent".into(),
                "done".into()
            ),
        ],
        "{events:?}"
    );
    let done = &events[2]["event"]["checkServiceQualification"];
    assert_eq!(done["qualificationResult"], "qualified", "{done}");
    let path = format!(
        "{QUALIFICATION}/checkServiceQualification/{}",
        accepted["id"].as_str().unwrap()
    );
    assert_eq!(server.get(&path).await.body["state"], "done");
    // Qualifications, the catalog and the pools behind them read back valid against
    // each API's own definitions (TMF645's `accepted`, not `acknowledged`).
    assert!(crate::formats::assert_every_document_valid(&server).await > 5);
}

async fn query(server: &TestServer, criteria: Value) -> Vec<String> {
    let answer = server
        .create(
            &format!("{QUALIFICATION}/queryServiceQualification"),
            &json!({"instantSyncQualification": true, "searchCriteria": criteria}),
        )
        .await;
    assert_eq!(answer["state"], "done", "{answer}");
    answer["serviceQualificationItem"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            item["service"]["serviceSpecification"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn a_query_lists_what_can_be_delivered_at_a_place() {
    let server = TestServer::start().await;
    let catalog = catalog(&server).await;
    let at =
        |place: &str| json!({"service": {"place": [{"id": place, "role": "installationAddress"}]}});
    let mut paris = query(&server, at("paris")).await;
    paris.sort();
    let mut both = vec![catalog.fibre.clone(), catalog.copper.clone()];
    both.sort();
    assert_eq!(paris, both);
    assert_eq!(
        query(&server, at("lyon")).await,
        vec![catalog.copper.clone()]
    );
    let mut in_category = at("lyon");
    in_category["category"] = json!({"id": catalog.category});
    assert_eq!(
        query(&server, in_category).await,
        vec![catalog.copper.clone()]
    );
    exhaust(&server, &catalog.fibre_pool, 1).await;
    assert_eq!(
        query(&server, at("paris")).await,
        vec![catalog.copper.clone()]
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_a_tmf_error_naming_it() {
    let server = TestServer::start().await;
    let catalog = catalog(&server).await;
    let checks = format!("{QUALIFICATION}/checkServiceQualification");
    let refused = |reply: Reply, words: &[&str]| {
        reply.assert_error(400);
        let message = reply.body["message"].as_str().unwrap();
        for word in words {
            assert!(message.contains(word), "{message} lacks {word}");
        }
    };
    let unknown = check_of("no-such-spec", "paris", json!({}));
    refused(
        server.post(&checks, &unknown).await,
        &["item-1", "no-such-spec"],
    );
    let mut no_place = check_of(&catalog.fibre, "paris", json!({}));
    no_place["serviceQualificationItem"][0]["service"]["place"] = json!([]);
    refused(server.post(&checks, &no_place).await, &["item-1", "place"]);
    let malformed =
        json!({"serviceQualificationItem": [{"id": "x", "category": {"id": catalog.category}}]});
    refused(
        server.post(&checks, &malformed).await,
        &["'x'", "serviceSpecification"],
    );
    let not_an_object = json!({"serviceQualificationItem": [{"service": "fibre"}]});
    server.post(&checks, &not_an_object).await.assert_error(400);
    let queries = format!("{QUALIFICATION}/queryServiceQualification");
    let no_criteria = json!({"instantSyncQualification": true});
    server.post(&queries, &no_criteria).await.assert_error(400);
    let no_place =
        json!({"searchCriteria": {"service": {"serviceSpecification": {"id": catalog.fibre}}}});
    refused(server.post(&queries, &no_place).await, &["place"]);
    // Nothing refused was stored.
    assert_eq!(server.get(&checks).await.body, json!([]));
}
