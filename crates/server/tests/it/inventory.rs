//! The catalog and inventory APIs declared after the first three (TMF633, TMF634,
//! TMF637, TMF638, TMF639): served by the same engine with their schemas and states.

use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn service_and_resource_catalogs_keep_the_catalog_lifecycle() {
    let server = TestServer::start().await;
    for (base, collection) in [
        (
            "/tmf-api/serviceCatalogManagement/v4",
            "serviceSpecification",
        ),
        ("/tmf-api/resourceCatalog/v4", "resourceSpecification"),
    ] {
        let path = format!("{base}/{collection}");
        let created = server.create(&path, &json!({"name": "Access"})).await;
        assert_eq!(created["lifecycleStatus"], "In study", "{path}");
        assert!(created["lastUpdate"].is_string());
        let item = format!("{path}/{}", created["id"].as_str().unwrap());
        server
            .patch(
                &item,
                "application/json",
                &json!({"lifecycleStatus": "Retired"}),
            )
            .await
            .assert_error(409);
        server
            .post(&path, &json!({"description": "no name"}))
            .await
            .assert_error(400);
    }
}

#[tokio::test]
async fn inventories_validate_and_move_through_their_states() {
    let server = TestServer::start().await;
    let products = "/tmf-api/productInventory/v4/product";
    server
        .post(products, &json!({"name": "no status"}))
        .await
        .assert_error(400);
    let product = server
        .create(products, &json!({"name": "Fiber", "status": "created"}))
        .await;
    let item = format!("{products}/{}", product["id"].as_str().unwrap());
    let active = server
        .patch(
            &item,
            "application/merge-patch+json",
            &json!({"status": "active"}),
        )
        .await;
    assert_eq!(active.body["status"], "active", "{}", active.text);
    server
        .patch(
            &item,
            "application/merge-patch+json",
            &json!({"status": "created"}),
        )
        .await
        .assert_error(409);

    let services = "/tmf-api/serviceInventory/v4/service";
    server
        .post(services, &json!({"name": "cfs", "state": "designed"}))
        .await
        .assert_error(400);
    // The specification a service realises must exist.
    server
        .post(
            services,
            &json!({"name": "cfs", "state": "designed", "serviceSpecification": {"id": "ss-1"}}),
        )
        .await
        .assert_error(400);
    let spec = server
        .create(
            "/tmf-api/serviceCatalogManagement/v4/serviceSpecification",
            &json!({"name": "Access CFS"}),
        )
        .await;
    let service = server
        .create(
            services,
            &json!({"name": "cfs", "state": "designed", "serviceSpecification": {"id": spec["id"]}}),
        )
        .await;
    assert_eq!(service["@type"], "Service");

    // TMF639 v4's create definition requires id and href; the server sets both.
    let resources = "/tmf-api/resourceInventoryManagement/v4/resource";
    let resource = server
        .create(
            resources,
            &json!({"name": "RouterXX", "resourceStatus": "available"}),
        )
        .await;
    assert!(resource["href"]
        .as_str()
        .unwrap()
        .ends_with(resource["id"].as_str().unwrap()));
    server
        .post(resources, &json!({"resourceStatus": "available"}))
        .await
        .assert_error(400);
    let listed = server
        .get(&format!("{resources}?resourceStatus=available"))
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
}

/// The decomposition chain's references must resolve: product specification → service
/// specification → resource specification (TMF620 → TMF633 → TMF634).
#[tokio::test]
async fn catalog_references_must_resolve() {
    let server = TestServer::start().await;
    let resource_specs = "/tmf-api/resourceCatalog/v4/resourceSpecification";
    let service_specs = "/tmf-api/serviceCatalogManagement/v4/serviceSpecification";
    let product_specs = format!("{CATALOG}/productSpecification");

    let dangling = server
        .post(
            service_specs,
            &json!({"name": "RFS", "resourceSpecification": [{"id": "missing-rs"}]}),
        )
        .await;
    dangling.assert_error(400);
    let message = dangling.body["message"].as_str().unwrap();
    assert!(
        message.contains("resourceSpecification") && message.contains("missing-rs"),
        "{message}"
    );

    let port = server
        .create(resource_specs, &json!({"name": "Port"}))
        .await;
    let rfs = server
        .create(
            service_specs,
            &json!({"name": "RFS", "@type": "ResourceFacingServiceSpecification",
                    "resourceSpecification": [{"id": port["id"]}]}),
        )
        .await;
    server
        .post(
            service_specs,
            &json!({"name": "CFS", "serviceSpecRelationship": [{"id": "missing-ss", "relationshipType": "dependency"}]}),
        )
        .await
        .assert_error(400);
    let cfs = server
        .create(
            service_specs,
            &json!({"name": "CFS", "@type": "CustomerFacingServiceSpecification",
                    "serviceSpecRelationship": [{"id": rfs["id"], "relationshipType": "dependency"}]}),
        )
        .await;
    let product = server
        .create(
            &product_specs,
            &json!({"name": "Fiber", "serviceSpecification": [{"id": cfs["id"]}]}),
        )
        .await;

    // A PATCH that adds a dangling reference changes nothing.
    let item = format!("{product_specs}/{}", product["id"].as_str().unwrap());
    server
        .patch(
            &item,
            "application/merge-patch+json",
            &json!({"resourceSpecification": [{"id": "missing-rs"}]}),
        )
        .await
        .assert_error(400);
    assert_eq!(server.get(&item).await.body, product);
}

/// A specification cannot be deleted or retired while a launched or active entity above
/// it still refers to it.
#[tokio::test]
async fn referenced_specifications_stay_while_their_referrers_are_in_service() {
    let server = TestServer::start().await;
    let resource_specs = "/tmf-api/resourceCatalog/v4/resourceSpecification";
    let service_specs = "/tmf-api/serviceCatalogManagement/v4/serviceSpecification";
    let walk = |path: String, states: &'static [&'static str]| {
        let server = &server;
        async move {
            for state in states {
                let reply = server
                    .patch(
                        &path,
                        "application/json",
                        &json!({"lifecycleStatus": state}),
                    )
                    .await;
                assert_eq!(reply.status, 200, "{state}: {}", reply.text);
            }
        }
    };
    let port = server
        .create(
            resource_specs,
            &json!({"name": "Port", "lifecycleStatus": "Launched"}),
        )
        .await;
    let port_path = format!("{resource_specs}/{}", port["id"].as_str().unwrap());
    let rfs = server
        .create(
            service_specs,
            &json!({"name": "RFS", "resourceSpecification": [{"id": port["id"]}]}),
        )
        .await;
    let rfs_path = format!("{service_specs}/{}", rfs["id"].as_str().unwrap());

    // While the referrer is still in study, the specification may go.
    walk(rfs_path.clone(), &["In design", "In test", "Launched"]).await;
    let refused = server.delete(&port_path).await;
    refused.assert_error(409);
    let message = refused.body["message"].as_str().unwrap();
    assert!(
        message.contains("serviceSpecification") && message.contains(rfs["id"].as_str().unwrap()),
        "{message}"
    );
    server
        .patch(
            &port_path,
            "application/json",
            &json!({"lifecycleStatus": "Retired"}),
        )
        .await
        .assert_error(409);
    assert_eq!(
        server.get(&port_path).await.body["lifecycleStatus"],
        "Launched"
    );

    walk(rfs_path, &["Retired"]).await;
    walk(port_path.clone(), &["Retired"]).await;
    assert_eq!(server.delete(&port_path).await.status, 204);
}

/// A resource's administrative, operational and usage states move as X.731 has them:
/// a locked resource is unlocked before it can be shut down, usage passes through
/// `active` between `idle` and `busy`; a jump answers 409 naming the allowed moves.
#[tokio::test]
async fn resource_states_move_as_their_machines_allow() {
    let server = TestServer::start().await;
    let resources = "/tmf-api/resourceInventoryManagement/v4/resource";
    let resource = server
        .create(
            resources,
            &json!({"name": "olt-1", "administrativeState": "locked",
                    "operationalState": "disable", "usageState": "idle"}),
        )
        .await;
    let path = format!("{resources}/{}", resource["id"].as_str().unwrap());
    let patch = |body: Value| {
        let server = &server;
        let path = path.clone();
        async move {
            server
                .patch(&path, "application/merge-patch+json", &body)
                .await
        }
    };
    let refused = patch(json!({"administrativeState": "shutdown"})).await;
    refused.assert_error(409);
    assert!(
        refused.text.contains("allowed next: unlocked"),
        "{}",
        refused.text
    );
    patch(json!({"usageState": "busy"})).await.assert_error(409);
    for step in [
        json!({"administrativeState": "unlocked"}),
        json!({"administrativeState": "shutdown"}),
        json!({"administrativeState": "locked"}),
        json!({"operationalState": "enable", "usageState": "active"}),
        json!({"usageState": "busy"}),
    ] {
        let reply = patch(step.clone()).await;
        assert_eq!(reply.status, 200, "{step}: {}", reply.text);
    }
    let stored = server.get(&path).await.body;
    assert_eq!(stored["administrativeState"], "locked");
    assert_eq!(stored["usageState"], "busy");
}
