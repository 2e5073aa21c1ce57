//! Input checked against the formats its API's specification declares (`date-time`,
//! `uri`, `integer`), with a 400 naming the field; and what the server writes itself
//! (ids, hrefs, dates, states) read back valid against the same definitions.

use serde_json::{json, Value};
use switchboard_engine::schema::BodyValidator;

use crate::support::*;

fn offerings() -> String {
    format!("{CATALOG}/productOffering")
}

fn service_specifications() -> String {
    "/tmf-api/serviceCatalogManagement/v4/serviceSpecification".to_string()
}

/// A related party as TMF633 declares it (its `href` is a `uri` there; TMF620's
/// references declare no format for theirs).
fn party(href: &str) -> Value {
    json!([{"id": "1", "href": href, "@referredType": "Individual"}])
}

fn prices() -> String {
    format!("{CATALOG}/productOfferingPrice")
}

/// POSTs `body` and expects a 400 whose message names `field` (a JSON pointer).
async fn refused(server: &TestServer, path: &str, body: Value, field: &str) {
    let reply = server.post(path, &body).await;
    reply.assert_error(400);
    let message = reply.body["message"].as_str().unwrap_or_default();
    assert!(message.contains(field), "{field} in {}", reply.text);
}

#[tokio::test]
async fn values_breaking_declared_formats_are_400_naming_the_field() {
    let server = TestServer::start().await;
    let bad_dates = [
        "2024-01-01T12:99:00Z",
        "2024-13-01T12:00:00Z",
        "2024-01-01 12:00:00Z",
        "2024-01-01T12:00:00",
        "yesterday",
        "",
    ];
    for date in bad_dates {
        let body = json!({"name": "x", "validFor": {"startDateTime": date}});
        refused(&server, &offerings(), body, "/validFor/startDateTime").await;
    }
    // `uri` is an RFC 3986 URI, scheme included, in `href`s and `@schemaLocation` alike.
    for uri in [
        "",
        "C]Nôm¶8",
        "/tmf-api/productCatalogManagement/v4/x",
        "a b://c",
        "http://a b",
    ] {
        let body = json!({"name": "x", "@schemaLocation": uri});
        refused(&server, &offerings(), body, "/@schemaLocation").await;
        let body = json!({"name": "x", "relatedParty": party(uri)});
        refused(
            &server,
            &service_specifications(),
            body,
            "/relatedParty/0/href",
        )
        .await;
    }
    // An `integer` is one a 64-bit client can read: no fraction, within range.
    for number in [json!(-2.99e23), json!(1e19), json!(1.5)] {
        let body = json!({"name": "x", "recurringChargePeriodLength": number});
        refused(&server, &prices(), body, "/recurringChargePeriodLength").await;
    }
    // Nothing was stored by any of them.
    assert_eq!(server.get(&offerings()).await.body, json!([]));
    assert_eq!(server.get(&prices()).await.body, json!([]));
    assert_eq!(server.get(&service_specifications()).await.body, json!([]));
}

#[tokio::test]
async fn values_within_declared_formats_are_stored_as_sent() {
    let server = TestServer::start().await;
    let sent = json!({
        "name": "fine",
        "validFor": {
            "startDateTime": "2024-01-01T12:30:00.5+02:00",
            "endDateTime": "2024-12-31t23:59:59z",
        },
        "@schemaLocation": "https://example.com/schemas/Offering.json#/x?y=1",
    });
    let created = server.create(&offerings(), &sent).await;
    for pointer in [
        "/validFor/startDateTime",
        "/validFor/endDateTime",
        "/@schemaLocation",
    ] {
        assert_eq!(created.pointer(pointer), sent.pointer(pointer), "{pointer}");
    }
    for href in ["urn:example:party:1", "https://example.com/party/1?x=%20"] {
        let body = json!({"name": href, "relatedParty": party(href)});
        let created = server.create(&service_specifications(), &body).await;
        assert_eq!(created["relatedParty"][0]["href"], href);
    }
    let price = server
        .create(
            &prices(),
            &json!({"name": "p", "recurringChargePeriodLength": i64::MAX}),
        )
        .await;
    assert_eq!(price["recurringChargePeriodLength"], i64::MAX);
}

#[tokio::test]
async fn a_patch_breaking_a_format_is_400_and_changes_nothing() {
    let server = TestServer::start().await;
    let created = server.create(&offerings(), &json!({"name": "x"})).await;
    let path = format!("{}/{}", offerings(), created["id"].as_str().unwrap());
    for (content_type, body) in [
        (
            "application/merge-patch+json",
            json!({"validFor": {"startDateTime": "2024-01-01T25:00:00Z"}}),
        ),
        (
            "application/json-patch+json",
            json!([{"op": "add", "path": "/@schemaLocation", "value": "not a uri"}]),
        ),
    ] {
        let reply = server.patch(&path, content_type, &body).await;
        reply.assert_error(400);
    }
    assert_eq!(server.get(&path).await.body, created);
}

/// What the server writes (id, href, `@type`, `lastUpdate`, the initial state) is valid
/// against the API's own entity definition, formats included.
#[tokio::test]
async fn what_the_server_writes_reads_back_valid() {
    let server = TestServer::start().await;
    let catalog: Value =
        serde_json::from_str(include_str!("../../../../schemas/TMF620.json")).unwrap();
    let party: Value =
        serde_json::from_str(include_str!("../../../../schemas/TMF632.json")).unwrap();
    let cases = [
        (
            &catalog,
            "ProductOffering",
            offerings(),
            json!({"name": "o"}),
        ),
        (
            &catalog,
            "ProductOfferingPrice",
            prices(),
            json!({"name": "p"}),
        ),
        (
            &party,
            "Individual",
            format!("{PARTY}/individual"),
            json!({"givenName": "A", "familyName": "B"}),
        ),
    ];
    for (schema, definition, path, body) in cases {
        let validator = BodyValidator::compile(schema, definition).unwrap();
        let created = server.create(&path, &body).await;
        assert!(created["href"].as_str().unwrap().starts_with("http://"));
        validator
            .check(&created)
            .unwrap_or_else(|error| panic!("{definition}: {error:?}: {created}"));
        let listed = server.get(&path).await;
        for item in listed.body.as_array().unwrap() {
            validator
                .check(item)
                .unwrap_or_else(|error| panic!("{definition}: {error:?}: {item}"));
        }
    }
}

/// Every document every API serves on `server` is valid against its API's own entity
/// definition (formats and enums included): what the order chain, the pools and the
/// cancel tasks write as much as what clients posted. Returns how many were checked.
pub async fn assert_every_document_valid(server: &TestServer) -> usize {
    let mut checked = 0;
    for registration in switchboard_apis::all(&Default::default()) {
        let api = registration.decl;
        let schema: Value = api.schema_file().unwrap();
        for resource in &api.resources {
            let path = format!("{}/{}?limit=1000", api.base_path, resource.collection);
            let listed = server.get(&path).await;
            let documents = listed.body.as_array().unwrap_or_else(|| panic!("{path}"));
            if documents.is_empty() {
                continue;
            }
            let validator = BodyValidator::compile(&schema, resource.resource_type)
                .unwrap_or_else(|error| panic!("{}: {error}", api.code));
            for document in documents {
                validator.check(document).unwrap_or_else(|error| {
                    panic!(
                        "{} {}: {error:?}: {document}",
                        api.code, resource.collection
                    )
                });
                checked += 1;
            }
        }
    }
    checked
}

/// A state outside its API's own enum is a 400 naming the attribute, on create and on
/// PATCH, whichever check (schema or state machine) sees it first.
#[tokio::test]
async fn states_outside_the_apis_enums_are_400_naming_the_field() {
    let server = TestServer::start().await;
    let resources = "/tmf-api/resourceInventoryManagement/v4/resource";
    for (attribute, value) in [
        ("resourceStatus", "bogus"),
        ("usageState", "Idle "),
        ("administrativeState", "acknowledged"),
    ] {
        let body = json!({"name": "r", attribute: value});
        refused(&server, resources, body, attribute).await;
    }
    let individuals = format!("{PARTY}/individual");
    let body = json!({"givenName": "A", "familyName": "B", "status": "accepted"});
    refused(&server, &individuals, body, "status").await;
    let created = server
        .create(&individuals, &json!({"givenName": "A", "familyName": "B"}))
        .await;
    let path = format!("{individuals}/{}", created["id"].as_str().unwrap());
    let reply = server
        .patch(
            &path,
            "application/merge-patch+json",
            &json!({"status": "done"}),
        )
        .await;
    reply.assert_error(400);
    assert!(reply.text.contains("status"), "{}", reply.text);
    assert_eq!(server.get(&path).await.body, created);
}
