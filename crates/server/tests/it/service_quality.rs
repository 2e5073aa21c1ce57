//! TMF657 Service Quality: objectives and specifications (mandatory attributes, targets
//! as decimals, the delete of a grouped objective), the measurement ingest, and breach
//! detection: a violated window opens one service problem, a conforming one resolves
//! it, missing data beyond grace is a violation, and a restart between ingest and the
//! window's end neither loses nor repeats the breach.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{eventually, TestServer};

const QUALITY: &str = "/tmf-api/serviceQualityManagement/v4";
const PROBLEMS: &str = "/tmf-api/serviceProblemManagement/v4/serviceProblem";
const SERVICE_SPECS: &str = "/tmf-api/serviceCatalogManagement/v4/serviceSpecification";
const SERVICES: &str = "/tmf-api/serviceInventory/v4/service";

fn objectives() -> String {
    format!("{QUALITY}/serviceLevelObjective")
}

fn specifications() -> String {
    format!("{QUALITY}/serviceLevelSpecification")
}

fn measurements() -> String {
    format!("{QUALITY}/measurement")
}

/// An instant of 2026-01-01 (the past: its windows are due at once).
fn on_new_year(hour: u32, minute: u32) -> String {
    format!("2026-01-01T{hour:02}:{minute:02}:00Z")
}

/// Latency at most 50 ms, as the worst sample of each hour from midnight, 2026-01-01.
fn latency_objective(name: &str) -> Value {
    json!({
        "name": name,
        "conformanceComparator": "<=",
        "conformanceTarget": "50",
        "thresholdTarget": "40",
        "conformancePeriod": {"startDateTime": on_new_year(0, 0),
                              "endDateTime": on_new_year(1, 0)},
        "serviceLevelObjectiveParameter": {
            "name": "latency",
            "parameterType": "KQI",
            "transformationAlgorithmOfKQI": "max",
        },
    })
}

/// A service whose specification lists a service level specification grouping
/// `objective`: the objective is in its scope through the catalog.
async fn service_bound_to(server: &TestServer, objective: &Value) -> String {
    let level = server
        .create(
            &specifications(),
            &json!({"name": "Gold", "relatedServiceLevelObjective": [{"id": objective["id"]}]}),
        )
        .await;
    let specification = server
        .create(
            SERVICE_SPECS,
            &json!({"name": "Business internet",
                    "serviceLevelSpecification": [{"id": level["id"], "name": "Gold"}]}),
        )
        .await;
    plain_service(server, &specification).await
}

async fn plain_service(server: &TestServer, specification: &Value) -> String {
    server
        .create_id(
            SERVICES,
            &json!({"name": "Acme HQ access", "state": "active",
                    "serviceSpecification": {"id": specification["id"]}}),
        )
        .await
}

async fn measure(server: &TestServer, service: &str, parameter: &str, at: &str, value: &str) {
    server
        .create(
            &measurements(),
            &json!({"service": {"id": service}, "parameter": parameter,
                    "observationTime": at, "value": value}),
        )
        .await;
}

/// The problems opened for `objective`'s breaches, oldest first.
async fn problems_of(server: &TestServer, objective: &str) -> Vec<Value> {
    let reply = server
        .get(&format!(
            "{PROBLEMS}?firstAlert.id={objective}&sort=creationDate"
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body.as_array().unwrap().clone()
}

fn refused(reply: &crate::support::Reply, naming: &str) {
    reply.assert_error(400);
    assert!(
        reply.body["message"].as_str().unwrap().contains(naming),
        "{naming}: {}",
        reply.text
    );
}

#[tokio::test]
async fn objectives_refuse_what_cannot_be_evaluated() {
    let server = TestServer::start().await;
    let good = latency_objective("Latency");
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("conformanceTarget");
    refused(
        &server.post(&objectives(), &missing).await,
        "conformanceTarget",
    );
    let mut missing = good.clone();
    missing
        .as_object_mut()
        .unwrap()
        .remove("serviceLevelObjectiveParameter");
    refused(
        &server.post(&objectives(), &missing).await,
        "serviceLevelObjectiveParameter",
    );
    for (attribute, bad) in [
        ("conformanceTarget", "fifty"),
        ("thresholdTarget", "40ms"),
        ("toleranceTarget", "1.2.3"),
        ("conformanceComparator", "greaterThan"),
        ("graceTimes", "-1"),
    ] {
        let mut body = good.clone();
        body[attribute] = json!(bad);
        refused(&server.post(&objectives(), &body).await, attribute);
    }
    let mut body = good.clone();
    body["serviceLevelObjectiveParameter"]["transformationAlgorithmOfKQI"] = json!("mode");
    refused(
        &server.post(&objectives(), &body).await,
        "transformationAlgorithmOfKQI",
    );
    let mut body = good.clone();
    body["conformancePeriod"] = json!({"startDateTime": on_new_year(1, 0),
                                       "endDateTime": on_new_year(0, 0)});
    refused(
        &server.post(&objectives(), &body).await,
        "conformancePeriod",
    );

    let created = server.create(&objectives(), &good).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("{}/{id}", objectives());
    let read = server.get(&path).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["conformanceTarget"], "50");
    // PATCH is held to the same reading: the stored target stays as it was.
    for (attribute, bad) in [("thresholdTarget", "soon"), ("conformanceTarget", "")] {
        let reply = server
            .patch(
                &path,
                "application/merge-patch+json",
                &json!({attribute: bad}),
            )
            .await;
        refused(&reply, attribute);
    }
    let reply = server
        .patch(
            &path,
            "application/merge-patch+json",
            &json!({"conformanceTarget": "49.5", "toleranceTarget": "60"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(server.get(&path).await.body["conformanceTarget"], "49.5");
}

#[tokio::test]
async fn specifications_group_objectives_that_exist_and_hold_them() {
    let server = TestServer::start().await;
    let objective = server
        .create(&objectives(), &latency_objective("Latency"))
        .await;
    let id = objective["id"].as_str().unwrap();
    refused(
        &server
            .post(&specifications(), &json!({"name": "Gold"}))
            .await,
        "relatedServiceLevelObjective",
    );
    refused(
        &server
            .post(
                &specifications(),
                &json!({"name": "Gold", "relatedServiceLevelObjective": [{"id": "nope"}]}),
            )
            .await,
        "relatedServiceLevelObjective",
    );
    refused(
        &server
            .post(
                &specifications(),
                &json!({"relatedServiceLevelObjective": [{"id": id}]}),
            )
            .await,
        "name",
    );
    let level = server
        .create(
            &specifications(),
            &json!({"name": "Gold", "relatedServiceLevelObjective": [{"id": id}]}),
        )
        .await;
    let listed = server
        .get(&format!(
            "{}?relatedServiceLevelObjective.id={id}",
            specifications()
        ))
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1, "{}", listed.text);
    // An objective a specification groups stays until the specification lets go.
    let grouped = server.delete(&format!("{}/{id}", objectives())).await;
    grouped.assert_error(409);
    assert!(grouped.text.contains(level["id"].as_str().unwrap()));
    let level_path = format!("{}/{}", specifications(), level["id"].as_str().unwrap());
    assert_eq!(server.delete(&level_path).await.status, 204);
    assert_eq!(
        server
            .delete(&format!("{}/{id}", objectives()))
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn measurements_are_checked_stored_and_documented() {
    let server = TestServer::start().await;
    let specification = server
        .create(SERVICE_SPECS, &json!({"name": "Access"}))
        .await;
    let service = plain_service(&server, &specification).await;
    let sample = json!({"service": {"id": service}, "parameter": "latency",
                        "observationTime": on_new_year(0, 5), "value": "12.5"});
    for (attribute, bad) in [
        ("value", json!("fast")),
        ("observationTime", json!("yesterday")),
        ("service", json!({"id": "no-such-service"})),
    ] {
        let mut body = sample.clone();
        body[attribute] = bad;
        refused(&server.post(&measurements(), &body).await, attribute);
    }
    let mut body = sample.clone();
    body.as_object_mut().unwrap().remove("parameter");
    refused(&server.post(&measurements(), &body).await, "parameter");

    let created = server.create(&measurements(), &sample).await;
    assert_eq!(created["@type"], "Measurement");
    let path = format!("{}/{}", measurements(), created["id"].as_str().unwrap());
    assert_eq!(server.get(&path).await.body["value"], "12.5");
    let listed = server
        .get(&format!("{}?service.id={service}", measurements()))
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    // Samples are facts: not changed, not deleted.
    let patched = server
        .patch(
            &path,
            "application/merge-patch+json",
            &json!({"value": "1"}),
        )
        .await;
    assert_eq!(patched.status, 405);
    assert_eq!(server.delete(&path).await.status, 405);
    // The served document describes the extension.
    let document = server.get(&format!("{QUALITY}/openapi.json")).await.body;
    let schema = &document["components"]["schemas"]["Measurement"];
    assert_eq!(schema["x-switchboard-extension"], true, "{schema}");
    assert!(document["paths"]["/measurement"]["post"].is_object());
}

#[tokio::test]
async fn a_breach_opens_one_problem_and_a_conforming_window_resolves_it() {
    let server = TestServer::start().await;
    let objective = server
        .create(&objectives(), &latency_objective("Access latency"))
        .await;
    let slo = objective["id"].as_str().unwrap();
    let service = service_bound_to(&server, &objective).await;
    // Many bad samples of one hour: one breach.
    for (minute, value) in [(5, "80"), (10, "95.5"), (20, "49"), (40, "120"), (59, "51")] {
        measure(&server, &service, "latency", &on_new_year(3, minute), value).await;
    }
    // Another parameter, and another service, say nothing about this objective.
    measure(&server, &service, "jitter", &on_new_year(3, 1), "900").await;
    let queue = server.queue().await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            !problems_of(&server, slo).await.is_empty()
        })
        .await,
        "no problem opened"
    );
    queue.wait_idle().await;
    let problems = problems_of(&server, slo).await;
    assert_eq!(problems.len(), 1, "{problems:?}");
    let problem = &problems[0];
    assert_eq!(problem["category"], "system.originated");
    assert!(problem["reason"]
        .as_str()
        .unwrap()
        .contains("Access latency"));
    assert_eq!(
        problem["affectedService"],
        json!([{"id": service, "@referredType": "Service"}])
    );
    assert_eq!(problem["firstAlert"]["id"], slo);
    assert_eq!(
        problem["firstAlert"]["@referredType"],
        "ServiceLevelObjective"
    );
    assert_eq!(problem["firstAlert"]["role"], "thresholdCrossing");
    assert_eq!(problem["originatorParty"]["id"], "switchboard");
    // The window's value as all its samples make it (the worst), whatever the order in
    // which they came and the evaluations ran.
    let value = problem["characteristic"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["name"] == "sloMeasuredValue")
        .map(|entry| entry["value"].clone());
    assert_eq!(value, Some(json!("120")), "{problem}");
    assert_ne!(problem["status"], "resolved");

    // A late sample of an earlier bad hour is the same breach: still one problem.
    measure(&server, &service, "latency", &on_new_year(2, 30), "70").await;
    queue.wait_idle().await;
    assert_eq!(problems_of(&server, slo).await.len(), 1);

    // A full hour back within target resolves it.
    for minute in [0, 30, 59] {
        measure(&server, &service, "latency", &on_new_year(4, minute), "20").await;
    }
    let id = problem["id"].as_str().unwrap();
    let resolved = eventually(Duration::from_secs(10), || async {
        server.get(&format!("{PROBLEMS}/{id}")).await.body["status"] == "resolved"
    })
    .await;
    assert!(resolved, "{:?}", problems_of(&server, slo).await);
    queue.wait_idle().await;
    assert_eq!(problems_of(&server, slo).await.len(), 1);

    // A new bad hour after that is a new breach, with a problem of its own.
    measure(&server, &service, "latency", &on_new_year(6, 0), "75").await;
    queue.wait_idle().await;
    let problems = problems_of(&server, slo).await;
    assert_eq!(problems.len(), 2, "{problems:?}");
    let open: Vec<&Value> = problems
        .iter()
        .filter(|problem| problem["status"] != "resolved")
        .collect();
    assert_eq!(open.len(), 1, "{problems:?}");
    assert_ne!(open[0]["id"], problem["id"]);
}

#[tokio::test]
async fn missing_measurements_beyond_grace_are_a_breach() {
    let server = TestServer::start().await;
    let mut body = latency_objective("Reporting");
    body["graceTimes"] = json!("1");
    let objective = server.create(&objectives(), &body).await;
    let slo = objective["id"].as_str().unwrap();
    let service = service_bound_to(&server, &objective).await;
    // One good hour, then silence: the hour after is within grace, the next is not.
    measure(&server, &service, "latency", &on_new_year(10, 0), "10").await;
    let queue = server.queue().await;
    queue.wait_idle().await;
    let problems = problems_of(&server, slo).await;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0]["description"]
        .as_str()
        .unwrap()
        .contains("no measurement"));
    assert!(problems[0]["description"]
        .as_str()
        .unwrap()
        .contains(&on_new_year(12, 0)[..13]));
}

#[tokio::test]
async fn a_restart_between_ingest_and_window_end_neither_loses_nor_repeats_the_breach() {
    let server = TestServer::start().await;
    let specification = server
        .create(SERVICE_SPECS, &json!({"name": "Access"}))
        .await;
    let service = plain_service(&server, &specification).await;
    // Windows of six seconds from midnight, 2026-01-01 (so on every multiple of six
    // seconds since the epoch), in scope through the parameter's related entity. The
    // samples go in early in a window: it ends seconds after they are posted.
    let objective = server
        .create(
            &objectives(),
            &json!({
                "name": "Availability",
                "conformanceComparator": ">=",
                "conformanceTarget": "99.9",
                "conformancePeriod": {"startDateTime": on_new_year(0, 0),
                                      "endDateTime": "2026-01-01T00:00:06Z"},
                "serviceLevelObjectiveParameter": {
                    "name": "availability",
                    "relatedEntity": [{"id": service, "role": "monitoredService",
                                       "@referredType": "Service"}],
                },
            }),
        )
        .await;
    let into_window = || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        now.as_millis() % 6000
    };
    while into_window() > 1500 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let now = switchboard_engine::now_rfc3339();
    let slo = objective["id"].as_str().unwrap();
    for value in ["97", "98.5", "99.95"] {
        measure(&server, &service, "availability", &now, value).await;
    }
    // The window has not ended: nothing is decided before the restart.
    assert!(problems_of(&server, slo).await.is_empty());
    let server = server.restart().await;
    assert!(
        eventually(Duration::from_secs(15), || async {
            !problems_of(&server, slo).await.is_empty()
        })
        .await,
        "the breach was lost over the restart"
    );
    server.queue().await.wait_idle().await;
    let problems = problems_of(&server, slo).await;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["affectedService"][0]["id"], service.as_str());
}
