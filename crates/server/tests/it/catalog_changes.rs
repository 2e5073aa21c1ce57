//! A catalog change between two orders: the chain parses each specification version once
//! and reuses it for later orders (`fulfilment::spec_cache`), so these tests check that
//! the order after a PATCH of a specification decomposes by the new version, on SQLite
//! and, with `SWITCHBOARD_TEST_DATABASE_URL`, PostgreSQL.

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use crate::support::*;

const PRODUCT_CATALOG: &str = "/tmf-api/productCatalogManagement/v4";
const SERVICE_CATALOG: &str = "/tmf-api/serviceCatalogManagement/v4";
const PRODUCT_ORDERS: &str = "/tmf-api/productOrderingManagement/v4/productOrder";
const PRODUCTS: &str = "/tmf-api/productInventory/v4/product";
const SERVICES: &str = "/tmf-api/serviceInventory/v4/service";
const PARTIES: &str = "/tmf-api/party/v4/organization";
const MERGE: &str = "application/merge-patch+json";

/// An offering of a product specification (bandwidth, tier) → a CFS whose `speed`
/// comes from the product's bandwidth → an RFS whose `rate` comes from the CFS's speed.
struct Catalog {
    offering: String,
    cfs: String,
    product_spec: String,
    customer: String,
}

async fn merged(server: &TestServer, path: &str, body: Value) {
    let reply = server.patch(path, MERGE, &body).await;
    assert_eq!(reply.status, 200, "PATCH {path}: {}", reply.text);
}

fn speed_from(product_spec: &str, characteristic: &str) -> Value {
    json!([{
        "name": "speed", "valueType": "string",
        "valueFrom": {"productSpecification": {"id": product_spec}, "characteristic": characteristic},
    }])
}

async fn catalog(server: &TestServer) -> Catalog {
    let product_spec = server
        .create_id(
            &format!("{PRODUCT_CATALOG}/productSpecification"),
            &json!({
                "name": "Internet",
                "productSpecCharacteristic": [
                    {"name": "bandwidth", "valueType": "string"},
                    {"name": "tier", "valueType": "string"},
                ],
            }),
        )
        .await;
    let cfs = server
        .create_id(
            &format!("{SERVICE_CATALOG}/serviceSpecification"),
            &json!({
                "name": "internet-cfs",
                "@type": "CustomerFacingServiceSpecification",
                "specCharacteristic": speed_from(&product_spec, "bandwidth"),
            }),
        )
        .await;
    let rfs = server
        .create_id(
            &format!("{SERVICE_CATALOG}/serviceSpecification"),
            &json!({
                "name": "access-rfs",
                "@type": "ResourceFacingServiceSpecification",
                "specCharacteristic": [{
                    "name": "rate", "valueType": "string",
                    "valueFrom": {"serviceSpecification": {"id": cfs}, "characteristic": "speed"},
                }],
            }),
        )
        .await;
    merged(
        server,
        &format!("{SERVICE_CATALOG}/serviceSpecification/{cfs}"),
        json!({"serviceSpecRelationship": [{"id": rfs, "relationshipType": "dependency"}]}),
    )
    .await;
    merged(
        server,
        &format!("{PRODUCT_CATALOG}/productSpecification/{product_spec}"),
        json!({"serviceSpecification": [{"id": cfs}]}),
    )
    .await;
    let offering = server
        .create_id(
            &format!("{PRODUCT_CATALOG}/productOffering"),
            &json!({
                "name": "Internet",
                "lifecycleStatus": "Launched",
                "productSpecification": {"id": product_spec},
            }),
        )
        .await;
    let customer = server
        .create_id(PARTIES, &json!({"name": "ACME", "tradingName": "ACME"}))
        .await;
    Catalog {
        offering,
        cfs,
        product_spec,
        customer,
    }
}

fn values(list: &Value) -> Map<String, Value> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|entry| {
            (
                entry["name"].as_str().unwrap().to_string(),
                entry["value"].clone(),
            )
        })
        .collect()
}

/// Orders the offering with these product values, waits for the order to complete, and
/// returns the values of the CFS and of the RFS it made.
async fn order(
    server: &TestServer,
    catalog: &Catalog,
    bandwidth: &str,
    tier: &str,
) -> (Map<String, Value>, Map<String, Value>) {
    let body = json!({
        "relatedParty": [{"id": catalog.customer, "role": "customer", "@referredType": "Organization"}],
        "productOrderItem": [{
            "id": "1", "action": "add", "productOffering": {"id": catalog.offering},
            "product": {"productCharacteristic": [
                {"name": "bandwidth", "value": bandwidth}, {"name": "tier", "value": tier},
            ]},
        }],
    });
    let id = server.create_id(PRODUCT_ORDERS, &body).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let order = server.get(&format!("{PRODUCT_ORDERS}/{id}")).await.body;
        if order["state"] == "completed" {
            break;
        }
        assert!(
            order["state"] == "acknowledged" || order["state"] == "inProgress",
            "{order}"
        );
        assert!(
            Instant::now() < deadline,
            "order {id} not completed: {order}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let products = server.get(&format!("{PRODUCTS}?limit=1000")).await.body;
    let product = products
        .as_array()
        .unwrap()
        .iter()
        .find(|product| product["productOrderItem"][0]["productOrderId"] == id.as_str())
        .unwrap_or_else(|| panic!("no product of order {id}: {products}"))
        .clone();
    let cfs_id = product["realizingService"][0]["id"].as_str().unwrap();
    let cfs = server.get(&format!("{SERVICES}/{cfs_id}")).await.body;
    assert_eq!(cfs["serviceSpecification"]["id"], catalog.cfs.as_str());
    let rfs_id = cfs["supportingService"][0]["id"].as_str().unwrap();
    let rfs = server.get(&format!("{SERVICES}/{rfs_id}")).await.body;
    (
        values(&cfs["serviceCharacteristic"]),
        values(&rfs["serviceCharacteristic"]),
    )
}

#[tokio::test]
async fn an_order_after_a_mapping_change_uses_the_new_mapping() {
    let server = TestServer::start().await;
    let catalog = catalog(&server).await;

    let (cfs, rfs) = order(&server, &catalog, "1G", "gold").await;
    assert_eq!(cfs["speed"], "1G");
    assert_eq!(rfs["rate"], "1G");
    // The same specification versions again (parsed before), with other values.
    let (cfs, rfs) = order(&server, &catalog, "10G", "silver").await;
    assert_eq!(cfs["speed"], "10G");
    assert_eq!(rfs["rate"], "10G");

    // The CFS's speed now comes from the product's tier.
    merged(
        &server,
        &format!("{SERVICE_CATALOG}/serviceSpecification/{}", catalog.cfs),
        json!({"specCharacteristic": speed_from(&catalog.product_spec, "tier")}),
    )
    .await;
    let (cfs, rfs) = order(&server, &catalog, "1G", "gold").await;
    assert_eq!(cfs["speed"], "gold", "the CFS read by the old mapping");
    assert_eq!(
        rfs["rate"], "gold",
        "the RFS's source read by the old mapping"
    );
}
