//! `serve --demo`: the demo data loads through the engine, a second start changes
//! nothing, every demo offering orders to completion for a demo customer, who then owns
//! the product with its services and resources, and the commands the demo prints run.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::*;

const ORDERS: &str = "/tmf-api/productOrderingManagement/v4/productOrder";
const PRODUCTS: &str = "/tmf-api/productInventory/v4/product";
const SERVICES: &str = "/tmf-api/serviceInventory/v4/service";
const RESOURCES: &str = "/tmf-api/resourceInventoryManagement/v4/resource";

/// The demo's collections and how many documents each holds.
const EXPECTED: &[(&str, usize)] = &[
    ("/tmf-api/productCatalogManagement/v4/productOffering", 4),
    (
        "/tmf-api/productCatalogManagement/v4/productSpecification",
        4,
    ),
    (
        "/tmf-api/productCatalogManagement/v4/productOfferingPrice",
        7,
    ),
    ("/tmf-api/productCatalogManagement/v4/category", 2),
    ("/tmf-api/productCatalogManagement/v4/catalog", 1),
    (
        "/tmf-api/serviceCatalogManagement/v4/serviceSpecification",
        6,
    ),
    ("/tmf-api/resourceCatalog/v4/resourceSpecification", 5),
    ("/tmf-api/resourcePoolManagement/v1/resourcePool", 3),
    ("/tmf-api/party/v4/individual", 1),
    ("/tmf-api/party/v4/organization", 1),
    ("/tmf-api/partyRoleManagement/v4/partyRole", 2),
];

/// Documents whose version a second start must leave as it is (the patched ones too).
const WATCHED: &[&str] = &[
    "/tmf-api/productCatalogManagement/v4/productSpecification/demo-ps-fibre-100",
    "/tmf-api/serviceCatalogManagement/v4/serviceSpecification/demo-cfs-broadband",
    "/tmf-api/serviceCatalogManagement/v4/serviceSpecification/demo-rfs-fibre-access",
    "/tmf-api/productCatalogManagement/v4/productOffering/demo-mobile",
    "/tmf-api/resourcePoolManagement/v1/resourcePool/demo-pool-access-vlan",
];

async fn demo_server() -> TestServer {
    TestServer::start_with(|config| config.demo = true).await
}

async fn counts(server: &TestServer) -> Vec<(String, usize)> {
    let mut counts = Vec::new();
    for (path, _) in EXPECTED {
        let reply = server.get(path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        counts.push((path.to_string(), reply.body.as_array().unwrap().len()));
    }
    counts
}

async fn etags(server: &TestServer) -> Vec<String> {
    let mut etags = Vec::new();
    for path in WATCHED {
        let reply = server.get(path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        etags.push(reply.header("etag").unwrap().to_string());
    }
    etags
}

#[tokio::test]
async fn the_demo_loads_and_a_second_start_changes_nothing() {
    let server = demo_server().await;
    let first = counts(&server).await;
    let expected: Vec<(String, usize)> = EXPECTED
        .iter()
        .map(|(path, count)| (path.to_string(), *count))
        .collect();
    assert_eq!(first, expected);
    // The links went in: the offering decomposes down to its pools without a problem.
    let tree = server
        .get("/tmf-api/productCatalogManagement/v4/productOffering/demo-fibre-100/decomposition")
        .await;
    assert_eq!(tree.status, 200, "{}", tree.text);
    assert_eq!(tree.body["problems"], json!([]), "{}", tree.text);
    assert!(tree.text.contains("demo-rs-access-vlan"), "{}", tree.text);
    assert!(
        tree.text.contains("demo-rs-broadband-ipv4"),
        "{}",
        tree.text
    );
    let before = etags(&server).await;

    let server = server.restart().await;
    assert_eq!(counts(&server).await, expected);
    assert_eq!(etags(&server).await, before, "a second start wrote again");
}

/// Posts an order of `offering` for `customer` and waits for its end.
async fn order(server: &TestServer, offering: &str, customer: (&str, &str)) -> Value {
    let body = json!({
        "relatedParty": [{"id": customer.0, "role": "customer", "@referredType": customer.1}],
        "productOrderItem": [{"id": "1", "action": "add", "productOffering": {"id": offering}}],
    });
    let id = server.create_id(ORDERS, &body).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let order = server.get(&format!("{ORDERS}/{id}")).await.body;
        let state = order["state"].as_str().unwrap_or_default().to_string();
        if !["acknowledged", "inProgress"].contains(&state.as_str()) {
            return order;
        }
        assert!(Instant::now() < deadline, "order still {state}: {order}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The characteristic `name` of an entry's list `attribute`.
fn value_of(entry: &Value, attribute: &str, name: &str) -> Value {
    entry[attribute]
        .as_array()
        .into_iter()
        .flatten()
        .find(|characteristic| characteristic["name"] == name)
        .map(|characteristic| characteristic["value"].clone())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn every_demo_offering_orders_to_completion_and_the_customer_owns_it() {
    let server = demo_server().await;
    let cases = [
        ("demo-fibre-100", "100M", ("demo-jane", "Individual")),
        ("demo-fibre-500", "500M", ("demo-acme", "Organization")),
        ("demo-fibre-1000", "1G", ("demo-acme", "Organization")),
        ("demo-mobile", "20GB", ("demo-jane", "Individual")),
    ];
    for (offering, value, customer) in cases {
        let order = order(&server, offering, customer).await;
        assert_eq!(order["state"], "completed", "{offering}: {order}");
        let product_id = order["productOrderItem"][0]["product"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{order}"))
            .to_string();
        let product = server.get(&format!("{PRODUCTS}/{product_id}")).await.body;
        assert_eq!(product["status"], "active", "{product}");
        assert_eq!(product["productOffering"]["id"], offering);
        assert_eq!(product["relatedParty"][0]["id"], customer.0);
        let (characteristic, mapped) = if offering == "demo-mobile" {
            ("dataAllowance", "dataCap")
        } else {
            ("downloadSpeed", "rate")
        };
        assert_eq!(
            value_of(&product, "productCharacteristic", characteristic),
            value
        );
        // The CFS and its two RFSs, each holding its resources.
        let cfs_id = product["realizingService"][0]["id"].as_str().unwrap();
        let cfs = server.get(&format!("{SERVICES}/{cfs_id}")).await.body;
        assert_eq!(cfs["state"], "active", "{cfs}");
        let rfss = cfs["supportingService"].as_array().unwrap();
        assert_eq!(rfss.len(), 2, "{cfs}");
        let mut resources = Vec::new();
        let mut mapped_values = Vec::new();
        for rfs in rfss {
            let rfs = server
                .get(&format!("{SERVICES}/{}", rfs["id"].as_str().unwrap()))
                .await
                .body;
            assert_eq!(rfs["state"], "active", "{rfs}");
            for held in rfs["supportingResource"].as_array().unwrap() {
                let id = held["id"].as_str().unwrap();
                resources.push(server.get(&format!("{RESOURCES}/{id}")).await.body);
            }
            let derived = value_of(&rfs, "serviceCharacteristic", mapped);
            if derived != Value::Null {
                mapped_values.push(derived);
            }
        }
        // The value flowed from the product through the CFS to one RFS.
        assert_eq!(mapped_values, vec![json!(value)], "{offering}");
        let has = |name: &str| {
            resources
                .iter()
                .any(|resource| value_of(resource, "resourceCharacteristic", name).is_string())
        };
        assert!(has("ipAddress"), "{offering}: {resources:?}");
        if offering == "demo-mobile" {
            assert_eq!(resources.len(), 2, "SIM profile and address: {resources:?}");
        } else {
            assert_eq!(resources.len(), 3, "ONT port, VLAN, address: {resources:?}");
            assert!(has("vlanId"), "{resources:?}");
        }
    }
    // What each customer owns.
    for (customer, owned) in [("demo-jane", 2), ("demo-acme", 2)] {
        let products = server
            .get(&format!("{PRODUCTS}?relatedParty.id={customer}"))
            .await
            .body;
        assert_eq!(products.as_array().unwrap().len(), owned, "{products}");
    }
}

#[tokio::test]
async fn the_commands_the_demo_prints_order_and_show_the_product() {
    let server = demo_server().await;
    let commands = switchboard::demo::commands(&server.base);
    assert!(
        commands.contains(&format!("{}/tmf-api/", server.base)),
        "{commands}"
    );
    let script = format!("set -euo pipefail\n{commands}");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .args(["-c", &script])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The order as shown, completed, then the customer's one product with its router.
    // (PostgreSQL writes JSON with a space after each colon.)
    let compact = stdout.replace(": ", ":");
    assert!(compact.contains(r#""state":"completed""#), "{stdout}");
    let products = server
        .get(&format!("{PRODUCTS}?relatedParty.id=demo-acme"))
        .await;
    let products = products.body.as_array().unwrap().clone();
    assert_eq!(products.len(), 1, "{products:?}");
    assert_eq!(
        value_of(&products[0], "productCharacteristic", "router"),
        "own"
    );
    assert!(
        stdout.contains(products[0]["id"].as_str().unwrap()),
        "{stdout}"
    );
}
