//! The impact view (resource or service → everything that relies on it, up to the
//! customers) over the inventories (TMF637, TMF638, TMF639), and the inventory
//! references it walks: each must resolve, and supporting services cannot form a cycle.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::*;

const RESOURCES: &str = "/tmf-api/resourceInventoryManagement/v4/resource";
const SERVICES: &str = "/tmf-api/serviceInventory/v4/service";
const PRODUCTS: &str = "/tmf-api/productInventory/v4/product";
const SERVICE_SPECS: &str = "/tmf-api/serviceCatalogManagement/v4/serviceSpecification";
const RESOURCE_SPECS: &str = "/tmf-api/resourceCatalog/v4/resourceSpecification";
const WITHIN: Duration = Duration::from_secs(5);

fn id(doc: &Value) -> String {
    doc["id"].as_str().unwrap().to_string()
}

/// `{id, href}`: the reference shape every v4 inventory accepts.
fn reference(doc: &Value) -> Value {
    json!({"id": doc["id"], "href": doc["href"]})
}

/// The catalog entities the inventory refers to.
struct Catalog {
    port: Value,
    rfs: Value,
    cfs: Value,
    product_specification: Value,
    offering: Value,
}

async fn catalog(server: &TestServer) -> Catalog {
    let port = server
        .create(RESOURCE_SPECS, &json!({"name": "Port"}))
        .await;
    let rfs = server
        .create(
            SERVICE_SPECS,
            &json!({"name": "Access RFS", "@type": "ResourceFacingServiceSpecification",
                    "resourceSpecification": [{"id": port["id"]}]}),
        )
        .await;
    let cfs = server
        .create(
            SERVICE_SPECS,
            &json!({"name": "Internet CFS", "@type": "CustomerFacingServiceSpecification",
                    "serviceSpecRelationship": [{"id": rfs["id"], "relationshipType": "dependency"}]}),
        )
        .await;
    let product_specification = server
        .create(
            &format!("{CATALOG}/productSpecification"),
            &json!({"name": "Fiber", "serviceSpecification": [{"id": cfs["id"]}]}),
        )
        .await;
    let offering = server
        .create(
            &format!("{CATALOG}/productOffering"),
            &json!({"name": "Fiber 1G", "productSpecification": {"id": product_specification["id"]}}),
        )
        .await;
    Catalog {
        port,
        rfs,
        cfs,
        product_specification,
        offering,
    }
}

async fn resource(server: &TestServer, catalog: &Catalog, name: &str, related: &[&Value]) -> Value {
    let relationships: Vec<Value> = related
        .iter()
        .map(|to| json!({"relationshipType": "isTargeted", "resource": reference(to)}))
        .collect();
    server
        .create(
            RESOURCES,
            &json!({
                "name": name,
                "resourceStatus": "available",
                "resourceSpecification": reference(&catalog.port),
                "resourceRelationship": relationships,
            }),
        )
        .await
}

async fn service(server: &TestServer, specification: &Value, name: &str, on: Value) -> Value {
    let mut body = json!({
        "name": name,
        "state": "designed",
        "serviceSpecification": {"id": specification["id"]},
    });
    for (key, value) in on.as_object().unwrap() {
        body[key] = value.clone();
    }
    server.create(SERVICES, &body).await
}

fn customer(party: &Value) -> Value {
    json!({"id": party["id"], "name": party["name"], "role": "customer",
           "@referredType": "Individual"})
}

async fn product(
    server: &TestServer,
    catalog: &Catalog,
    name: &str,
    parties: &[&Value],
    on: Value,
) -> Value {
    let mut body = json!({
        "name": name,
        "status": "created",
        "productSpecification": {"id": catalog.product_specification["id"]},
        "productOffering": {"id": catalog.offering["id"]},
        "relatedParty": parties.iter().map(|party| customer(party)).collect::<Vec<_>>(),
    });
    for (key, value) in on.as_object().unwrap() {
        body[key] = value.clone();
    }
    server.create(PRODUCTS, &body).await
}

async fn individual(server: &TestServer, name: &str) -> Value {
    let party = server
        .create(
            &format!("{PARTY}/individual"),
            &json!({"givenName": name, "familyName": "Tester"}),
        )
        .await;
    json!({"id": party["id"], "name": name})
}

/// The ids listed under `key` of an impact answer, with the element each relies on.
fn listed(impact: &Value, key: &str) -> BTreeSet<(String, String)> {
    impact[key]
        .as_array()
        .unwrap_or_else(|| panic!("no '{key}' in {impact}"))
        .iter()
        .map(|entry| {
            (
                entry["id"].as_str().unwrap().to_string(),
                entry["reliesOn"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The parties of an impact answer with the products each holds.
fn parties(impact: &Value) -> BTreeSet<(String, BTreeSet<String>)> {
    impact["relatedParties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|party| {
            let products = party["products"]
                .as_array()
                .unwrap()
                .iter()
                .map(|product| product.as_str().unwrap().to_string())
                .collect();
            (party["id"].as_str().unwrap().to_string(), products)
        })
        .collect()
}

fn pairs(entries: &[(&Value, &Value)]) -> BTreeSet<(String, String)> {
    entries
        .iter()
        .map(|(doc, relies_on)| (id(doc), id(relies_on)))
        .collect()
}

async fn impact(server: &TestServer, path: &str) -> Value {
    let reply = server.get(&format!("{path}/impact")).await;
    assert_eq!(reply.status, 200, "GET {path}/impact: {}", reply.text);
    assert_eq!(reply.body["truncated"], false, "{}", reply.text);
    reply.body
}

/// R1 (a port) ← R2 (related to R1) ← RFS (supported by R2) ← CFS (supported by the
/// RFS) ← P1 (realised by the CFS, held by Ada and Bob) ← P3 (a bundle of P1, held by
/// Cy); and beside it R3 ← S3 ← P2 (held by Dee), which nothing above relies on.
#[tokio::test]
async fn the_impact_of_a_resource_reaches_services_products_and_customers() {
    let server = TestServer::start().await;
    let catalog = catalog(&server).await;
    let (ada, bob, cy, dee) = (
        individual(&server, "Ada").await,
        individual(&server, "Bob").await,
        individual(&server, "Cy").await,
        individual(&server, "Dee").await,
    );

    let r1 = resource(&server, &catalog, "port-1", &[]).await;
    let r2 = resource(&server, &catalog, "lag-1", &[&r1]).await;
    let rfs = service(
        &server,
        &catalog.rfs,
        "access",
        json!({"supportingResource": [reference(&r2)]}),
    )
    .await;
    let cfs = service(
        &server,
        &catalog.cfs,
        "internet",
        json!({"supportingService": [reference(&rfs)]}),
    )
    .await;
    let p1 = product(
        &server,
        &catalog,
        "fiber at home",
        &[&ada, &bob],
        json!({"realizingService": [reference(&cfs)]}),
    )
    .await;
    let p3 = product(
        &server,
        &catalog,
        "home bundle",
        &[&cy],
        json!({"isBundle": true, "product": [reference(&p1)]}),
    )
    .await;

    let r3 = resource(&server, &catalog, "port-2", &[]).await;
    let s3 = service(
        &server,
        &catalog.rfs,
        "other access",
        json!({"supportingResource": [reference(&r3)]}),
    )
    .await;
    let p2 = product(
        &server,
        &catalog,
        "fiber next door",
        &[&dee],
        json!({"realizingService": [reference(&s3)]}),
    )
    .await;

    let answer = impact(&server, &format!("{RESOURCES}/{}", id(&r1))).await;
    assert_eq!(answer["resource"]["id"], r1["id"], "{answer}");
    assert_eq!(answer["resource"]["name"], "port-1", "{answer}");
    assert_eq!(
        listed(&answer, "resources"),
        pairs(&[(&r2, &r1)]),
        "{answer}"
    );
    assert_eq!(
        listed(&answer, "services"),
        pairs(&[(&rfs, &r2), (&cfs, &rfs)]),
        "{answer}"
    );
    assert_eq!(
        listed(&answer, "products"),
        pairs(&[(&p1, &cfs), (&p3, &p1)]),
        "{answer}"
    );
    let expected: BTreeSet<(String, BTreeSet<String>)> = [(&ada, &p1), (&bob, &p1), (&cy, &p3)]
        .iter()
        .map(|(party, product)| (id(party), BTreeSet::from([id(product)])))
        .collect();
    assert_eq!(parties(&answer), expected, "{answer}");
    let ada_entry = answer["relatedParties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|party| party["id"] == ada["id"])
        .unwrap();
    assert_eq!(ada_entry["role"], "customer");
    assert_eq!(ada_entry["name"], "Ada");
    assert_eq!(ada_entry["@referredType"], "Individual");
    // Summaries carry what assurance needs about each element.
    let service_entry = answer["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["id"] == rfs["id"])
        .unwrap();
    assert_eq!(service_entry["state"], "designed");
    assert_eq!(service_entry["href"], rfs["href"]);
    assert_eq!(
        service_entry["serviceSpecification"]["id"],
        catalog.rfs["id"]
    );

    // Nothing of the other branch is suspect.
    let text = answer.to_string();
    for unrelated in [&r3, &s3, &p2, &dee] {
        assert!(!text.contains(&id(unrelated)), "{unrelated} in {answer}");
    }

    // From the middle: the impact of R2 is the same minus R2; of the other port, only
    // its own branch.
    let answer = impact(&server, &format!("{RESOURCES}/{}", id(&r2))).await;
    assert!(listed(&answer, "resources").is_empty(), "{answer}");
    assert_eq!(listed(&answer, "services").len(), 2, "{answer}");
    let answer = impact(&server, &format!("{RESOURCES}/{}", id(&r3))).await;
    assert_eq!(
        listed(&answer, "services"),
        pairs(&[(&s3, &r3)]),
        "{answer}"
    );
    assert_eq!(
        listed(&answer, "products"),
        pairs(&[(&p2, &s3)]),
        "{answer}"
    );
    assert_eq!(
        parties(&answer),
        BTreeSet::from([(id(&dee), BTreeSet::from([id(&p2)]))])
    );

    // The impact of a service starts above it.
    let answer = impact(&server, &format!("{SERVICES}/{}", id(&rfs))).await;
    assert_eq!(answer["service"]["id"], rfs["id"], "{answer}");
    assert!(answer.get("resource").is_none(), "{answer}");
    assert!(listed(&answer, "resources").is_empty(), "{answer}");
    assert_eq!(
        listed(&answer, "services"),
        pairs(&[(&cfs, &rfs)]),
        "{answer}"
    );
    assert_eq!(
        listed(&answer, "products"),
        pairs(&[(&p1, &cfs), (&p3, &p1)]),
        "{answer}"
    );
    assert_eq!(parties(&answer).len(), 3, "{answer}");
    // Nothing relies on the bundle's top.
    let answer = impact(&server, &format!("{SERVICES}/{}", id(&s3))).await;
    assert_eq!(listed(&answer, "products"), pairs(&[(&p2, &s3)]));
}

/// Every way to rely on something counts: a product realised directly by a resource, a
/// service related to another, a product related to another; and a party holding two
/// impacted products is listed once with both.
#[tokio::test]
async fn every_declared_reference_is_walked_and_parties_are_listed_once() {
    let server = TestServer::start().await;
    let catalog = catalog(&server).await;
    let ada = individual(&server, "Ada").await;
    let r1 = resource(&server, &catalog, "port-1", &[]).await;
    let direct = product(
        &server,
        &catalog,
        "dark fiber",
        &[&ada],
        json!({"realizingResource": [reference(&r1)]}),
    )
    .await;
    let rfs = service(
        &server,
        &catalog.rfs,
        "access",
        json!({"supportingResource": [reference(&r1)]}),
    )
    .await;
    let peer = service(
        &server,
        &catalog.cfs,
        "monitoring",
        json!({"serviceRelationship": [{"relationshipType": "reliesOn",
                                        "service": reference(&rfs)}]}),
    )
    .await;
    let related = product(
        &server,
        &catalog,
        "support plan",
        &[&ada],
        json!({"productRelationship": [{"relationshipType": "addOn",
                                        "product": reference(&direct)}]}),
    )
    .await;

    let answer = impact(&server, &format!("{RESOURCES}/{}", id(&r1))).await;
    assert_eq!(
        listed(&answer, "services"),
        pairs(&[(&rfs, &r1), (&peer, &rfs)]),
        "{answer}"
    );
    assert_eq!(
        listed(&answer, "products"),
        pairs(&[(&direct, &r1), (&related, &direct)]),
        "{answer}"
    );
    assert_eq!(
        parties(&answer),
        BTreeSet::from([(id(&ada), BTreeSet::from([id(&direct), id(&related)]))]),
        "{answer}"
    );

    // A reference removed by a PATCH is no longer walked.
    let patched = server
        .patch(
            &format!("{PRODUCTS}/{}", id(&direct)),
            "application/merge-patch+json",
            &json!({"realizingResource": []}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let answer = impact(&server, &format!("{RESOURCES}/{}", id(&r1))).await;
    assert!(listed(&answer, "products").is_empty(), "{answer}");
    assert!(parties(&answer).is_empty(), "{answer}");
}

#[tokio::test]
async fn the_impact_of_an_unknown_element_is_not_found() {
    let server = TestServer::start().await;
    for path in [
        format!("{RESOURCES}/no-such-resource/impact"),
        format!("{SERVICES}/no-such-service/impact"),
    ] {
        server.get(&path).await.assert_error(404);
    }
    // A lone resource impacts nothing.
    let catalog = catalog(&server).await;
    let lone = resource(&server, &catalog, "spare", &[]).await;
    let answer = impact(&server, &format!("{RESOURCES}/{}", id(&lone))).await;
    for key in ["resources", "services", "products", "relatedParties"] {
        assert_eq!(answer[key], json!([]), "{key}: {answer}");
    }
}

/// Asserts a 400 whose message names the attribute and the missing id.
fn assert_dangling(reply: &Reply, attribute: &str, missing: &str) {
    reply.assert_error(400);
    let message = reply.body["message"].as_str().unwrap();
    assert!(
        message.contains(attribute) && message.contains(missing),
        "expected {attribute} / {missing} in: {message}"
    );
}

#[tokio::test]
async fn inventory_references_must_resolve() {
    let server = TestServer::start().await;
    let catalog = catalog(&server).await;
    let r1 = resource(&server, &catalog, "port-1", &[]).await;
    let missing = json!({"id": "missing-1", "href": "http://example.com/missing-1"});

    let reply = server
        .post(
            RESOURCES,
            &json!({"name": "x", "resourceSpecification": {"id": "missing-1"}}),
        )
        .await;
    assert_dangling(&reply, "resourceSpecification", "missing-1");
    let reply = server
        .post(
            RESOURCES,
            &json!({"name": "x", "resourceRelationship": [
                {"relationshipType": "isTargeted", "resource": missing}]}),
        )
        .await;
    assert_dangling(&reply, "resourceRelationship", "missing-1");

    let reply = server
        .post(
            SERVICES,
            &json!({"name": "x", "state": "designed",
                    "serviceSpecification": {"id": "missing-1"}}),
        )
        .await;
    assert_dangling(&reply, "serviceSpecification", "missing-1");
    let on_spec = json!({"id": catalog.rfs["id"]});
    for (attribute, value) in [
        ("supportingResource", json!([missing])),
        ("supportingService", json!([missing])),
        (
            "serviceRelationship",
            json!([{"relationshipType": "reliesOn", "service": missing}]),
        ),
    ] {
        let mut body = json!({"name": "x", "state": "designed", "serviceSpecification": on_spec});
        body[attribute] = value;
        let reply = server.post(SERVICES, &body).await;
        assert_dangling(&reply, attribute, "missing-1");
    }

    for (attribute, value) in [
        ("productSpecification", json!({"id": "missing-1"})),
        ("productOffering", json!({"id": "missing-1"})),
        ("realizingService", json!([missing])),
        ("realizingResource", json!([missing])),
        ("product", json!([missing])),
        (
            "productRelationship",
            json!([{"relationshipType": "addOn", "product": missing}]),
        ),
    ] {
        let mut body = json!({"name": "x", "status": "created"});
        body[attribute] = value;
        let reply = server.post(PRODUCTS, &body).await;
        assert_dangling(&reply, attribute, "missing-1");
    }
    // A service specification is not a resource: the kind matters, not just the id.
    let reply = server
        .post(
            PRODUCTS,
            &json!({"name": "x", "status": "created",
                    "realizingResource": [{"id": catalog.rfs["id"]}]}),
        )
        .await;
    assert_dangling(
        &reply,
        "realizingResource",
        catalog.rfs["id"].as_str().unwrap(),
    );

    // A PATCH that adds a dangling reference changes nothing.
    let path = format!("{RESOURCES}/{}", id(&r1));
    let reply = server
        .patch(
            &path,
            "application/merge-patch+json",
            &json!({"resourceRelationship": [
                {"relationshipType": "isTargeted", "resource": missing}]}),
        )
        .await;
    assert_dangling(&reply, "resourceRelationship", "missing-1");
    assert_eq!(server.get(&path).await.body, r1);
    for (path, kind) in [
        (RESOURCES, "resource"),
        (SERVICES, "service"),
        (PRODUCTS, "product"),
    ] {
        let stored = server.get(path).await;
        let expected = usize::from(kind == "resource");
        assert_eq!(
            stored.body.as_array().unwrap().len(),
            expected,
            "{kind}: {}",
            stored.text
        );
    }
}

#[tokio::test]
async fn supporting_services_cannot_form_a_cycle() {
    let server = TestServer::start().await;
    let catalog = catalog(&server).await;
    let a = service(&server, &catalog.rfs, "a", json!({})).await;
    let b = service(
        &server,
        &catalog.rfs,
        "b",
        json!({"supportingService": [reference(&a)]}),
    )
    .await;
    let c = service(
        &server,
        &catalog.cfs,
        "c",
        json!({"supportingService": [reference(&b)]}),
    )
    .await;

    let a_path = format!("{SERVICES}/{}", id(&a));
    for closing in [&c, &b, &a] {
        let reply = server
            .patch(
                &a_path,
                "application/merge-patch+json",
                &json!({"supportingService": [reference(closing)]}),
            )
            .await;
        reply.assert_error(400);
        let message = reply.body["message"].as_str().unwrap();
        assert!(
            message.contains("supportingService") && message.contains("cycle"),
            "{message}"
        );
    }
    assert_eq!(server.get(&a_path).await.body, a);

    // The impact of A walks the chain once, not forever.
    let answer = impact(&server, &a_path).await;
    assert_eq!(
        listed(&answer, "services"),
        pairs(&[(&b, &a), (&c, &b)]),
        "{answer}"
    );

    // A bundle cannot contain itself either.
    let p = product(&server, &catalog, "p", &[], json!({})).await;
    let reply = server
        .patch(
            &format!("{PRODUCTS}/{}", id(&p)),
            "application/merge-patch+json",
            &json!({"product": [reference(&p)]}),
        )
        .await;
    reply.assert_error(400);
}

#[tokio::test]
async fn inventory_state_changes_emit_state_change_events() {
    let server = TestServer::start().await;
    let products = Listener::start(0).await;
    let services = Listener::start(0).await;
    for (base, listener, event_type) in [
        (
            "/tmf-api/productInventory/v4",
            &products,
            "ProductStateChangeEvent",
        ),
        (
            "/tmf-api/serviceInventory/v4",
            &services,
            "ServiceStateChangeEvent",
        ),
    ] {
        let reply = server
            .post(
                &format!("{base}/hub"),
                &json!({"callback": listener.url, "query": format!("eventType={event_type}")}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let catalog = catalog(&server).await;
    let cfs = service(&server, &catalog.cfs, "internet", json!({})).await;
    let p1 = product(
        &server,
        &catalog,
        "fiber",
        &[],
        json!({"realizingService": [reference(&cfs)]}),
    )
    .await;

    let active = server
        .patch(
            &format!("{SERVICES}/{}", id(&cfs)),
            "application/merge-patch+json",
            &json!({"state": "active"}),
        )
        .await;
    assert_eq!(active.status, 200, "{}", active.text);
    let events = services.wait_for(1, WITHIN).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["eventType"], "ServiceStateChangeEvent");
    assert_eq!(events[0]["event"]["service"], active.body);

    let active = server
        .patch(
            &format!("{PRODUCTS}/{}", id(&p1)),
            "application/merge-patch+json",
            &json!({"status": "active"}),
        )
        .await;
    assert_eq!(active.status, 200, "{}", active.text);
    let events = products.wait_for(1, WITHIN).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["eventType"], "ProductStateChangeEvent");
    assert_eq!(events[0]["event"]["product"], active.body);

    server.queue().await.wait_idle().await;
    assert_eq!(products.events().len(), 1);
    assert_eq!(services.events().len(), 1);
}

/// What a live service relies on stays: deleting its resource is refused (409 naming the
/// service) until the service is terminated; after that the resource may go, and the
/// terminated service's now dangling reference does not block other changes to it.
#[tokio::test]
async fn a_live_service_holds_its_resources_in_place() {
    let server = TestServer::start().await;
    let catalog = catalog(&server).await;
    let port = resource(&server, &catalog, "port", &[]).await;
    let rfs = service(
        &server,
        &catalog.rfs,
        "rfs",
        json!({"supportingResource": [reference(&port)]}),
    )
    .await;
    let port_path = format!("{RESOURCES}/{}", id(&port));
    let refused = server.delete(&port_path).await;
    refused.assert_error(409);
    assert!(refused.text.contains(&id(&rfs)), "{}", refused.text);

    let rfs_path = format!("{SERVICES}/{}", id(&rfs));
    let terminated = server
        .patch(
            &rfs_path,
            "application/merge-patch+json",
            &json!({"state": "terminated"}),
        )
        .await;
    assert_eq!(terminated.status, 200, "{}", terminated.text);
    assert_eq!(server.delete(&port_path).await.status, 204);
    let renamed = server
        .patch(
            &rfs_path,
            "application/merge-patch+json",
            &json!({"name": "rfs (history)"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    // A reference the change adds must still resolve.
    let dangling = server
        .patch(
            &rfs_path,
            "application/merge-patch+json",
            &json!({"supportingResource": [reference(&port), {"id": "nope", "href": "http://example.com/nope"}]}),
        )
        .await;
    dangling.assert_error(400);
    assert!(dangling.text.contains("nope"), "{}", dangling.text);
}
