//! Create, retrieve, list, patch and delete on each of the three APIs.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn offering_lifecycle_over_http() {
    let server = TestServer::start().await;
    let path = format!("{CATALOG}/productOffering");
    let created = server
        .create(
            &path,
            &json!({"name": "Fiber 1G", "productSpecification": {"id": "9881"}}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["href"], format!("{}{path}/{id}", server.base));
    assert_eq!(created["@type"], "ProductOffering");
    assert_eq!(created["lifecycleStatus"], "In study");
    assert!(created["lastUpdate"].as_str().unwrap().ends_with('Z'));
    assert_eq!(created["productSpecification"]["id"], "9881");

    let read = server.get(&format!("{path}/{id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, created);
    let another = server.post(&path, &json!({"name": "Fiber 10G"})).await;
    assert_eq!(another.status, 201);
    assert_eq!(another.header("location"), another.body["href"].as_str());
    assert_eq!(read.header("etag"), Some("W/\"1\""));

    let patched = server
        .patch(
            &format!("{path}/{id}"),
            "application/json",
            &json!({"name": "Fiber 2G"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["name"], "Fiber 2G");
    assert_eq!(patched.header("etag"), Some("W/\"2\""));

    let deleted = server.delete(&format!("{path}/{id}")).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.text.is_empty());
    server.get(&format!("{path}/{id}")).await.assert_error(404);
    server
        .delete(&format!("{path}/{id}"))
        .await
        .assert_error(404);
}

#[tokio::test]
async fn party_and_party_role_apis_are_served() {
    let server = TestServer::start().await;
    let individual = server
        .create(
            &format!("{PARTY}/individual"),
            &json!({"givenName": "Ada", "familyName": "Lovelace"}),
        )
        .await;
    assert_eq!(individual["@type"], "Individual");
    assert_eq!(individual["status"], "initialized");
    let organization = server
        .create(
            &format!("{PARTY}/organization"),
            &json!({"tradingName": "Acme"}),
        )
        .await;
    assert_eq!(organization["@type"], "Organization");
    let role = server
        .create(
            &format!("{PARTY_ROLE}/partyRole"),
            &json!({"name": "customer", "engagedParty": {"id": individual["id"], "@referredType": "Individual"}}),
        )
        .await;
    assert_eq!(role["@type"], "PartyRole");
    let listed = server
        .get(&format!(
            "{PARTY_ROLE}/partyRole?engagedParty.id={}",
            individual["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn data_survives_a_restart() {
    let server = TestServer::start().await;
    let created = server
        .create(
            &format!("{CATALOG}/catalog"),
            &json!({"name": "Residential"}),
        )
        .await;
    let server = server.restart().await;
    let read = server
        .get(&format!(
            "{CATALOG}/catalog/{}",
            created["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["name"], "Residential");
}
