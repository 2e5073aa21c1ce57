//! The order-to-activation chain end to end over HTTP (issue 5), on SQLite and, with
//! `SWITCHBOARD_TEST_DATABASE_URL`, PostgreSQL. One catalog: an offering of a product
//! specification (bandwidth) → one CFS (bandwidth, from the product) → two RFSs: access
//! (rate, from the CFS), with a port resource (speed, from the RFS's rate), and
//! addressing, with an IP address drawn from a TMF685 pool. Orders add, modify and delete
//! it; activation fails where a test routes an RFS to a failing simulator; cancellation
//! catches an order in flight behind a slow one; a killed server finishes its orders
//! once; three processes share 500 orders.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::process::{ProcessConfig, ServerProcess};
use crate::support::*;

const PRODUCT_CATALOG: &str = "/tmf-api/productCatalogManagement/v4";
const SERVICE_CATALOG: &str = "/tmf-api/serviceCatalogManagement/v4";
const RESOURCE_CATALOG: &str = "/tmf-api/resourceCatalog/v4";
const POOLS: &str = "/tmf-api/resourcePoolManagement/v1";
const PRODUCT_ORDERS: &str = "/tmf-api/productOrderingManagement/v4/productOrder";
const SERVICE_ORDERS: &str = "/tmf-api/serviceOrdering/v4/serviceOrder";
const RESOURCE_ORDERS: &str = "/tmf-api/resourceOrderingManagement/v4/resourceOrder";
const PRODUCTS: &str = "/tmf-api/productInventory/v4/product";
const SERVICES: &str = "/tmf-api/serviceInventory/v4/service";
const RESOURCES: &str = "/tmf-api/resourceInventoryManagement/v4/resource";
const PARTIES: &str = "/tmf-api/party/v4/organization";
const MERGE: &str = "application/merge-patch+json";
const WITHIN: Duration = Duration::from_secs(20);

/// What the tests need of a server: the in-process one or a child process.
pub trait Client {
    async fn post_json(&self, path: &str, body: &Value) -> Reply;
    async fn get_json(&self, path: &str) -> Reply;
    async fn merge(&self, path: &str, body: &Value) -> Reply;
}

impl Client for TestServer {
    async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.post(path, body).await
    }
    async fn get_json(&self, path: &str) -> Reply {
        self.get(path).await
    }
    async fn merge(&self, path: &str, body: &Value) -> Reply {
        self.patch(path, MERGE, body).await
    }
}

impl Client for ServerProcess {
    async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.post(path, body).await
    }
    async fn get_json(&self, path: &str) -> Reply {
        self.get(path).await
    }
    async fn merge(&self, path: &str, body: &Value) -> Reply {
        self.patch(path, body).await
    }
}

async fn made(client: &impl Client, path: &str, body: Value) -> String {
    let reply = client.post_json(path, &body).await;
    assert_eq!(reply.status, 201, "POST {path}: {}", reply.text);
    reply.body["id"].as_str().unwrap().to_string()
}

async fn merged(client: &impl Client, path: &str, body: Value) {
    let reply = client.merge(path, &body).await;
    assert_eq!(reply.status, 200, "PATCH {path}: {}", reply.text);
}

async fn read(client: &impl Client, path: &str) -> Value {
    let reply = client.get_json(path).await;
    // 206: a page of a longer list.
    let status = reply.status.as_u16();
    assert!(
        status == 200 || status == 206,
        "GET {path}: {status} {}",
        reply.text.chars().take(400).collect::<String>()
    );
    reply.body
}

/// Every entry of a collection (up to 1000 a page, all pages).
async fn all(client: &impl Client, path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let page = read(client, &format!("{path}?limit=1000&offset={}", out.len())).await;
        let page = page.as_array().unwrap().clone();
        let done = page.len() < 1000;
        out.extend(page);
        if done {
            return out;
        }
    }
}

/// The ids of a characteristic list, as name → value.
fn values(list: &Value) -> serde_json::Map<String, Value> {
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

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|entry| entry["id"].as_str().unwrap().to_string())
        .collect()
}

/// The catalog of the tests.
struct Catalog {
    offering: String,
    pool: String,
    customer: String,
    /// An offering whose only RFS ("doomed-rfs") tests route to a failing simulator.
    doomed: String,
}

/// The name the failing RFS specification has (tests route it by name).
const DOOMED_RFS: &str = "doomed-rfs";
/// The name of the addressing RFS specification.
const IP_RFS: &str = "addressing-rfs";

async fn catalog(client: &impl Client, cidr: &str) -> Catalog {
    let pool = made(
        client,
        &format!("{POOLS}/resourcePool"),
        json!({"name": "customer addresses", "capacity": {"type": "ipv4", "cidr": cidr}}),
    )
    .await;
    let product_spec = made(
        client,
        &format!("{PRODUCT_CATALOG}/productSpecification"),
        json!({
            "name": "Internet",
            "productSpecCharacteristic": [{
                "name": "bandwidth", "valueType": "string",
                "productSpecCharacteristicValue": [
                    {"value": "100M", "isDefault": true}, {"value": "1G"}
                ],
            }],
        }),
    )
    .await;
    let cfs = made(
        client,
        &format!("{SERVICE_CATALOG}/serviceSpecification"),
        json!({
            "name": "internet-cfs",
            "@type": "CustomerFacingServiceSpecification",
            "specCharacteristic": [{
                "name": "bandwidth", "valueType": "string",
                "valueFrom": {"productSpecification": {"id": product_spec}, "characteristic": "bandwidth"},
            }],
        }),
    )
    .await;
    let access = made(
        client,
        &format!("{SERVICE_CATALOG}/serviceSpecification"),
        json!({
            "name": "access-rfs",
            "@type": "ResourceFacingServiceSpecification",
            "specCharacteristic": [{
                "name": "rate", "valueType": "string",
                "valueFrom": {"serviceSpecification": {"id": cfs}, "characteristic": "bandwidth"},
            }],
        }),
    )
    .await;
    let addressing = made(
        client,
        &format!("{SERVICE_CATALOG}/serviceSpecification"),
        json!({"name": IP_RFS, "@type": "ResourceFacingServiceSpecification"}),
    )
    .await;
    let port = made(
        client,
        &format!("{RESOURCE_CATALOG}/resourceSpecification"),
        json!({
            "name": "access-port",
            "resourceSpecCharacteristic": [{
                "name": "speed", "valueType": "string",
                "valueFrom": {"serviceSpecification": {"id": access}, "characteristic": "rate"},
            }],
        }),
    )
    .await;
    let address = made(
        client,
        &format!("{RESOURCE_CATALOG}/resourceSpecification"),
        json!({
            "name": "ip-address",
            "resourcePool": {"id": pool, "characteristic": "ipAddress"},
            "resourceSpecCharacteristic": [{"name": "ipAddress", "valueType": "string"}],
        }),
    )
    .await;
    merged(
        client,
        &format!("{SERVICE_CATALOG}/serviceSpecification/{access}"),
        json!({"resourceSpecification": [{"id": port}]}),
    )
    .await;
    merged(
        client,
        &format!("{SERVICE_CATALOG}/serviceSpecification/{addressing}"),
        json!({"resourceSpecification": [{"id": address}]}),
    )
    .await;
    merged(
        client,
        &format!("{SERVICE_CATALOG}/serviceSpecification/{cfs}"),
        json!({"serviceSpecRelationship": [
            {"id": access, "relationshipType": "dependency"},
            {"id": addressing, "relationshipType": "dependency"},
        ]}),
    )
    .await;
    merged(
        client,
        &format!("{PRODUCT_CATALOG}/productSpecification/{product_spec}"),
        json!({"serviceSpecification": [{"id": cfs}]}),
    )
    .await;
    let offering = made(
        client,
        &format!("{PRODUCT_CATALOG}/productOffering"),
        json!({
            "name": "Internet 100",
            "lifecycleStatus": "Launched",
            "productSpecification": {"id": product_spec},
        }),
    )
    .await;
    // The doomed line: offering → spec → CFS → one RFS without resources.
    let doomed_rfs = made(
        client,
        &format!("{SERVICE_CATALOG}/serviceSpecification"),
        json!({"name": DOOMED_RFS, "@type": "ResourceFacingServiceSpecification"}),
    )
    .await;
    let doomed_cfs = made(
        client,
        &format!("{SERVICE_CATALOG}/serviceSpecification"),
        json!({
            "name": "doomed-cfs",
            "@type": "CustomerFacingServiceSpecification",
            "serviceSpecRelationship": [{"id": doomed_rfs, "relationshipType": "dependency"}],
        }),
    )
    .await;
    let doomed_spec = made(
        client,
        &format!("{PRODUCT_CATALOG}/productSpecification"),
        json!({"name": "Doomed", "serviceSpecification": [{"id": doomed_cfs}]}),
    )
    .await;
    let doomed = made(
        client,
        &format!("{PRODUCT_CATALOG}/productOffering"),
        json!({"name": "Doomed", "lifecycleStatus": "Launched", "productSpecification": {"id": doomed_spec}}),
    )
    .await;
    let customer = made(
        client,
        PARTIES,
        json!({"name": "ACME", "tradingName": "ACME"}),
    )
    .await;
    Catalog {
        offering,
        pool,
        customer,
        doomed,
    }
}

fn add_item(id: &str, offering: &str, bandwidth: Option<&str>) -> Value {
    let mut item = json!({"id": id, "action": "add", "productOffering": {"id": offering}});
    if let Some(bandwidth) = bandwidth {
        item["product"] =
            json!({"productCharacteristic": [{"name": "bandwidth", "value": bandwidth}]});
    }
    item
}

fn order_of(catalog: &Catalog, items: Vec<Value>) -> Value {
    json!({
        "relatedParty": [{"id": catalog.customer, "role": "customer", "@referredType": "Organization"}],
        "productOrderItem": items,
    })
}

/// Waits until the product order has ended and returns it.
async fn ended(client: &impl Client, id: &str) -> Value {
    let path = format!("{PRODUCT_ORDERS}/{id}");
    let deadline = Instant::now() + WITHIN;
    loop {
        let order = read(client, &path).await;
        let state = order["state"].as_str().unwrap_or_default().to_string();
        if ["completed", "failed", "partial", "rejected", "cancelled"].contains(&state.as_str()) {
            return order;
        }
        assert!(
            Instant::now() < deadline,
            "order {id} still {state}: {order}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Posts a product order and waits for its end.
async fn place(client: &impl Client, body: &Value) -> Value {
    let id = made(client, PRODUCT_ORDERS, body.clone()).await;
    ended(client, &id).await
}

/// Units the pool has out (allocated) and in total.
async fn pool_usage(client: &impl Client, pool: &str) -> (u64, u64) {
    let availability = read(client, &format!("{POOLS}/resourcePool/{pool}/availability")).await;
    let allocated = availability["allocatedAmount"]
        .as_u64()
        .unwrap_or_else(|| panic!("{availability}"));
    let total = availability["totalAmount"]
        .as_u64()
        .unwrap_or_else(|| panic!("{availability}"));
    (allocated, total)
}

/// The service orders made for a product order.
async fn service_orders_of(client: &impl Client, order: &str) -> Vec<Value> {
    all(client, SERVICE_ORDERS)
        .await
        .into_iter()
        .filter(|so| {
            so["externalReference"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|reference| reference["name"] == order)
        })
        .collect()
}

/// Services not terminated.
async fn live_services(client: &impl Client) -> Vec<Value> {
    all(client, SERVICES)
        .await
        .into_iter()
        .filter(|service| service["state"] != "terminated")
        .collect()
}

/// Products not terminated.
async fn live_products(client: &impl Client) -> Vec<Value> {
    all(client, PRODUCTS)
        .await
        .into_iter()
        .filter(|product| product["status"] != "terminated")
        .collect()
}

/// The inventory an add order left, checked link by link: the product realized by one
/// CFS, supported by two RFSs, each supported by its resource; returns the product.
async fn assert_inventory_of(
    client: &impl Client,
    catalog: &Catalog,
    order: &Value,
    bandwidth: &str,
) -> Value {
    let order_id = order["id"].as_str().unwrap();
    let products: Vec<Value> = all(client, PRODUCTS)
        .await
        .into_iter()
        .filter(|product| product["productOrderItem"][0]["productOrderId"] == order_id)
        .collect();
    assert_eq!(products.len(), 1, "{products:?}");
    let product = &products[0];
    assert_eq!(product["status"], "active", "{product}");
    assert_eq!(product["productOffering"]["id"], catalog.offering.as_str());
    assert_eq!(product["relatedParty"][0]["id"], catalog.customer.as_str());
    assert_eq!(
        values(&product["productCharacteristic"])["bandwidth"],
        bandwidth
    );
    let realizing = ids(&product["realizingService"]);
    assert_eq!(realizing.len(), 1, "{product}");
    let cfs = read(client, &format!("{SERVICES}/{}", realizing[0])).await;
    assert_eq!(cfs["state"], "active");
    assert_eq!(
        values(&cfs["serviceCharacteristic"])["bandwidth"],
        bandwidth,
        "{cfs}"
    );
    let supporting = ids(&cfs["supportingService"]);
    assert_eq!(supporting.len(), 2, "{cfs}");
    let mut resources = Vec::new();
    for rfs_id in &supporting {
        let rfs = read(client, &format!("{SERVICES}/{rfs_id}")).await;
        assert_eq!(rfs["state"], "active", "{rfs}");
        let held = ids(&rfs["supportingResource"]);
        assert_eq!(held.len(), 1, "{rfs}");
        let resource = read(client, &format!("{RESOURCES}/{}", held[0])).await;
        if rfs["name"] == IP_RFS {
            let address = values(&resource["resourceCharacteristic"])["ipAddress"].clone();
            assert!(address.as_str().unwrap().starts_with("10."), "{resource}");
            assert_eq!(resource["name"], address);
        } else {
            assert_eq!(
                values(&rfs["serviceCharacteristic"])["rate"],
                bandwidth,
                "{rfs}"
            );
            assert_eq!(
                values(&resource["resourceCharacteristic"])["speed"],
                bandwidth,
                "{resource}"
            );
        }
        resources.push(resource);
    }
    product.clone()
}

/// The order item names `product` by reference: its id, href and referred type.
fn assert_names_product(item: &Value, product: &Value) {
    let named = &item["product"];
    assert_eq!(named["id"], product["id"], "{item}");
    assert_eq!(named["href"], product["href"], "{item}");
    assert!(named["href"]
        .as_str()
        .unwrap()
        .contains("/tmf-api/productInventory/v4/product/"));
    assert_eq!(named["@referredType"], "Product", "{item}");
}

#[tokio::test]
async fn an_add_order_runs_down_the_chain_and_fills_the_three_inventories() {
    let server = TestServer::start().await;
    let catalog = catalog(&server, "10.0.0.0/24").await;
    let order = place(
        &server,
        &order_of(&catalog, vec![add_item("1", &catalog.offering, Some("1G"))]),
    )
    .await;
    assert_eq!(order["state"], "completed", "{order}");
    assert_eq!(order["productOrderItem"][0]["state"], "completed");
    assert!(order["completionDate"].is_string(), "{order}");
    let order_id = order["id"].as_str().unwrap();

    let service_orders = service_orders_of(&server, order_id).await;
    assert_eq!(service_orders.len(), 1, "{service_orders:?}");
    let service_order = &service_orders[0];
    assert_eq!(service_order["state"], "completed", "{service_order}");
    assert_eq!(
        service_order["serviceOrderItem"].as_array().unwrap().len(),
        1
    );
    let resource_orders: Vec<Value> = all(&server, RESOURCE_ORDERS)
        .await
        .into_iter()
        .filter(|ro| ro["externalReference"][0]["id"] == service_order["id"])
        .collect();
    assert_eq!(resource_orders.len(), 1);
    assert_eq!(
        resource_orders[0]["state"], "completed",
        "{}",
        resource_orders[0]
    );
    assert_eq!(resource_orders[0]["orderItem"].as_array().unwrap().len(), 2);

    let product = assert_inventory_of(&server, &catalog, &order, "1G").await;
    assert_eq!(pool_usage(&server, &catalog.pool).await.0, 1);
    // The item names the product it created, beside the values the client gave.
    assert_names_product(&order["productOrderItem"][0], &product);
    assert_eq!(
        values(&order["productOrderItem"][0]["product"]["productCharacteristic"])["bandwidth"],
        "1G",
        "{order}"
    );

    // The characteristic default applies when the order gives none.
    let order = place(
        &server,
        &order_of(&catalog, vec![add_item("1", &catalog.offering, None)]),
    )
    .await;
    assert_eq!(order["state"], "completed", "{order}");
    assert_inventory_of(&server, &catalog, &order, "100M").await;
    assert_eq!(pool_usage(&server, &catalog.pool).await.0, 2);
    // All the chain wrote reads back valid against each API's own definitions.
    assert!(crate::formats::assert_every_document_valid(&server).await > 20);
}

#[tokio::test]
async fn a_modify_order_changes_a_characteristic_all_the_way_down() {
    let server = TestServer::start().await;
    let catalog = catalog(&server, "10.0.0.0/24").await;
    let added = place(
        &server,
        &order_of(
            &catalog,
            vec![add_item("1", &catalog.offering, Some("100M"))],
        ),
    )
    .await;
    assert_eq!(added["state"], "completed", "{added}");
    let product = assert_inventory_of(&server, &catalog, &added, "100M").await;
    let product_id = product["id"].as_str().unwrap();
    let address_before: Vec<Value> = all(&server, RESOURCES)
        .await
        .into_iter()
        .filter(|resource| resource["name"].as_str().unwrap().starts_with("10."))
        .collect();

    let modify = json!({
        "id": "1", "action": "modify",
        "product": {"id": product_id, "productCharacteristic": [{"name": "bandwidth", "value": "1G"}]},
    });
    let modified = place(&server, &order_of(&catalog, vec![modify])).await;
    assert_eq!(modified["state"], "completed", "{modified}");

    let product = read(&server, &format!("{PRODUCTS}/{product_id}")).await;
    assert_names_product(&modified["productOrderItem"][0], &product);
    assert_eq!(
        values(&product["productCharacteristic"])["bandwidth"],
        "1G",
        "{product}"
    );
    assert_eq!(
        product["productOrderItem"].as_array().unwrap().len(),
        2,
        "{product}"
    );
    let cfs = read(
        &server,
        &format!("{SERVICES}/{}", ids(&product["realizingService"])[0]),
    )
    .await;
    assert_eq!(
        values(&cfs["serviceCharacteristic"])["bandwidth"],
        "1G",
        "{cfs}"
    );
    for rfs_id in ids(&cfs["supportingService"]) {
        let rfs = read(&server, &format!("{SERVICES}/{rfs_id}")).await;
        let resource = read(
            &server,
            &format!("{RESOURCES}/{}", ids(&rfs["supportingResource"])[0]),
        )
        .await;
        if rfs["name"] == IP_RFS {
            // The unit the pool handed out stays.
            assert_eq!(address_before.len(), 1);
            assert_eq!(
                resource["resourceCharacteristic"],
                address_before[0]["resourceCharacteristic"]
            );
        } else {
            assert_eq!(values(&rfs["serviceCharacteristic"])["rate"], "1G", "{rfs}");
            assert_eq!(
                values(&resource["resourceCharacteristic"])["speed"],
                "1G",
                "{resource}"
            );
        }
    }
    assert_eq!(pool_usage(&server, &catalog.pool).await.0, 1);
}

#[tokio::test]
async fn a_delete_order_terminates_everything_and_the_pool_gets_its_unit_back() {
    let server = TestServer::start().await;
    let catalog = catalog(&server, "10.0.0.0/24").await;
    let added = place(
        &server,
        &order_of(&catalog, vec![add_item("1", &catalog.offering, None)]),
    )
    .await;
    let product = assert_inventory_of(&server, &catalog, &added, "100M").await;
    assert_eq!(pool_usage(&server, &catalog.pool).await.0, 1);

    let delete = json!({"id": "1", "action": "delete", "product": {"id": product["id"]}});
    let deleted = place(&server, &order_of(&catalog, vec![delete])).await;
    assert_eq!(deleted["state"], "completed", "{deleted}");

    let product = read(
        &server,
        &format!("{PRODUCTS}/{}", product["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(product["status"], "terminated", "{product}");
    assert!(product["terminationDate"].is_string());
    assert_names_product(&deleted["productOrderItem"][0], &product);
    assert!(live_services(&server).await.is_empty());
    assert_eq!(
        all(&server, SERVICES).await.len(),
        3,
        "the terminated services stay as history"
    );
    assert!(
        all(&server, RESOURCES).await.is_empty(),
        "resources leave the inventory"
    );
    assert_eq!(pool_usage(&server, &catalog.pool).await.0, 0);

    // The unit handed back is handed out again.
    let again = place(
        &server,
        &order_of(&catalog, vec![add_item("1", &catalog.offering, None)]),
    )
    .await;
    assert_eq!(again["state"], "completed", "{again}");
    let addresses: Vec<Value> = all(&server, RESOURCES)
        .await
        .into_iter()
        .filter_map(|resource| {
            values(&resource["resourceCharacteristic"])
                .get("ipAddress")
                .cloned()
        })
        .collect();
    assert_eq!(addresses, vec![json!("10.0.0.1")]);
}

#[tokio::test]
async fn an_order_for_an_unknown_or_retired_offering_is_rejected_with_the_reason() {
    let server = TestServer::start().await;
    let catalog = catalog(&server, "10.0.0.0/24").await;
    let unknown = place(
        &server,
        &order_of(&catalog, vec![add_item("1", "no-such-offering", None)]),
    )
    .await;
    assert_eq!(unknown["state"], "rejected", "{unknown}");
    assert!(
        unknown["note"][0]["text"]
            .as_str()
            .unwrap()
            .contains("no-such-offering"),
        "{unknown}"
    );

    merged(
        &server,
        &format!("{PRODUCT_CATALOG}/productOffering/{}", catalog.offering),
        json!({"lifecycleStatus": "Retired"}),
    )
    .await;
    let retired = place(
        &server,
        &order_of(&catalog, vec![add_item("1", &catalog.offering, None)]),
    )
    .await;
    assert_eq!(retired["state"], "rejected", "{retired}");
    assert!(
        retired["note"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Retired"),
        "{retired}"
    );
    assert!(all(&server, SERVICE_ORDERS).await.is_empty());
    assert!(all(&server, PRODUCTS).await.is_empty());
    assert_eq!(pool_usage(&server, &catalog.pool).await.0, 0);
}

#[tokio::test]
async fn a_failed_activation_leaves_the_order_failed_with_nothing_reserved_or_orphaned() {
    let server = TestServer::start_with(|config| {
        config.activation_routes = vec![format!("{IP_RFS}=simulator:0:1")];
    })
    .await;
    let catalog = catalog(&server, "10.0.0.0/24").await;
    let failed = place(
        &server,
        &order_of(&catalog, vec![add_item("7", &catalog.offering, None)]),
    )
    .await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert_eq!(failed["productOrderItem"][0]["state"], "failed");
    let note = failed["note"][0]["text"].as_str().unwrap();
    assert!(
        note.contains("item 7") && note.contains("simulator refused"),
        "{note}"
    );
    let service_orders = service_orders_of(&server, failed["id"].as_str().unwrap()).await;
    assert_eq!(
        service_orders[0]["state"], "failed",
        "{}",
        service_orders[0]
    );

    server.queue().await.wait_idle().await;
    assert_eq!(
        pool_usage(&server, &catalog.pool).await.0,
        0,
        "the unit went back"
    );
    assert!(
        all(&server, RESOURCES).await.is_empty(),
        "no orphan resource"
    );
    assert!(live_services(&server).await.is_empty(), "no live service");
    assert!(all(&server, PRODUCTS).await.is_empty(), "no product");
}

#[tokio::test]
async fn a_two_item_order_with_one_failing_item_ends_partial_naming_it() {
    let server = TestServer::start_with(|config| {
        config.activation_routes = vec![format!("{DOOMED_RFS}=simulator:0:1")];
    })
    .await;
    let catalog = catalog(&server, "10.0.0.0/24").await;
    let body = order_of(
        &catalog,
        vec![
            add_item("good", &catalog.offering, None),
            add_item("bad", &catalog.doomed, None),
        ],
    );
    let partial = place(&server, &body).await;
    assert_eq!(partial["state"], "partial", "{partial}");
    let states: Vec<(&str, &str)> = partial["productOrderItem"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["id"].as_str().unwrap(),
                item["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(states, vec![("good", "completed"), ("bad", "failed")]);
    // Only the completed item names a product.
    assert!(
        partial["productOrderItem"][0]["product"]["id"].is_string(),
        "{partial}"
    );
    assert!(
        partial["productOrderItem"][1]["product"]
            .get("id")
            .is_none(),
        "{partial}"
    );
    let notes: Vec<&str> = partial["note"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| note["text"].as_str().unwrap())
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("item bad"), "{notes:?}");

    server.queue().await.wait_idle().await;
    assert_inventory_of(&server, &catalog, &partial, "100M").await;
    assert_eq!(live_products(&server).await.len(), 1);
    assert_eq!(
        live_services(&server).await.len(),
        3,
        "only the good item's services"
    );
    assert_eq!(pool_usage(&server, &catalog.pool).await.0, 1);
    // A partial order and its failed item read back valid.
    assert!(crate::formats::assert_every_document_valid(&server).await > 10);
}

#[tokio::test]
async fn a_cancelled_in_flight_order_ends_cancelled_and_gives_everything_back() {
    let server =
        TestServer::start_with(|config| config.activation = "simulator:1500".to_string()).await;
    let catalog = catalog(&server, "10.0.0.0/24").await;
    let id = made(
        &server,
        PRODUCT_ORDERS,
        order_of(&catalog, vec![add_item("1", &catalog.offering, None)]),
    )
    .await;
    // In flight: its resources are out, its activation under way.
    let reserved = eventually(WITHIN, || async {
        pool_usage(&server, &catalog.pool).await.0 == 1
    })
    .await;
    assert!(reserved);
    let task = made(
        &server,
        "/tmf-api/productOrderingManagement/v4/cancelProductOrder",
        json!({"productOrder": {"id": id}, "cancellationReason": "changed my mind"}),
    )
    .await;
    let cancelled = ended(&server, &id).await;
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
    assert_eq!(cancelled["cancellationReason"], "changed my mind");
    assert_eq!(cancelled["productOrderItem"][0]["state"], "cancelled");
    let task = read(
        &server,
        &format!("/tmf-api/productOrderingManagement/v4/cancelProductOrder/{task}"),
    )
    .await;
    assert_eq!(task["state"], "done", "{task}");
    let service_orders = service_orders_of(&server, &id).await;
    assert_eq!(
        service_orders[0]["state"], "cancelled",
        "{}",
        service_orders[0]
    );

    // Once the activation that was under way returns, its writer undoes it too.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    server.queue().await.wait_idle().await;
    assert_eq!(pool_usage(&server, &catalog.pool).await.0, 0);
    assert!(all(&server, RESOURCES).await.is_empty());
    assert!(live_services(&server).await.is_empty());
    assert!(live_products(&server).await.is_empty());
    // Cancel tasks (TMF622's and TMF641's own), cancelled orders and what was undone
    // read back valid against each API's own definitions.
    assert!(crate::formats::assert_every_document_valid(&server).await > 10);
}

/// Counts what `orders` add orders must have left: one product, one CFS and two RFSs
/// live, two resources and one distinct unit each, and as many units out of the pool.
async fn assert_exactly_once(client: &impl Client, catalog: &Catalog, orders: &[String]) {
    for id in orders {
        let order = ended(client, id).await;
        assert_eq!(order["state"], "completed", "{order}");
    }
    let products = live_products(client).await;
    assert_eq!(products.len(), orders.len(), "one product per order");
    let ordered: HashSet<String> = products
        .iter()
        .map(|product| {
            product["productOrderItem"][0]["productOrderId"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ordered, orders.iter().cloned().collect::<HashSet<_>>());
    assert_eq!(
        live_services(client).await.len(),
        3 * orders.len(),
        "a CFS and two RFSs per order"
    );
    let resources = all(client, RESOURCES).await;
    assert_eq!(resources.len(), 2 * orders.len(), "two resources per order");
    let addresses: HashSet<Value> = resources
        .iter()
        .filter_map(|resource| {
            values(&resource["resourceCharacteristic"])
                .get("ipAddress")
                .cloned()
        })
        .collect();
    assert_eq!(
        addresses.len(),
        orders.len(),
        "a distinct address per order"
    );
    assert_eq!(
        pool_usage(client, &catalog.pool).await.0,
        orders.len() as u64
    );
}

#[tokio::test]
async fn a_server_killed_mid_order_finishes_every_order_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&dir);
    let config = ProcessConfig {
        job_lease_ms: 1500,
        activation: "simulator:400".to_string(),
        ..ProcessConfig::default()
    };
    let mut server = ServerProcess::start(&url, config).await;
    let catalog = catalog(&server, "10.0.0.0/24").await;
    let mut orders = Vec::new();
    for n in 0..20 {
        orders.push(
            made(
                &server,
                PRODUCT_ORDERS,
                order_of(
                    &catalog,
                    vec![add_item(&n.to_string(), &catalog.offering, None)],
                ),
            )
            .await,
        );
    }
    // Orders are now at every step: some activating, some waiting their turn.
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill();
    server.restart().await;
    assert_exactly_once(&server, &catalog, &orders).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set SWITCHBOARD_TEST_DATABASE_URL"]
async fn three_processes_share_500_orders_and_complete_each_once() {
    postgres_url();
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&dir);
    let config = ProcessConfig::default();
    let (a, b, c) = tokio::join!(
        ServerProcess::start(&url, config.clone()),
        ServerProcess::start(&url, config.clone()),
        ServerProcess::start(&url, config),
    );
    let processes = std::sync::Arc::new(vec![a, b, c]);
    let catalog = std::sync::Arc::new(catalog(&processes[0], "10.0.0.0/22").await);
    let mut clients = tokio::task::JoinSet::new();
    const CLIENTS: usize = 10;
    for client in 0..CLIENTS {
        let processes = processes.clone();
        let catalog = catalog.clone();
        clients.spawn(async move {
            let mut ids = Vec::new();
            for n in (client..500).step_by(CLIENTS) {
                let process = &processes[n % 3];
                let body = order_of(&catalog, vec![add_item("1", &catalog.offering, None)]);
                ids.push(made(process, PRODUCT_ORDERS, body).await);
            }
            ids
        });
    }
    let orders: Vec<String> = clients.join_all().await.into_iter().flatten().collect();
    assert_eq!(orders.len(), 500);
    assert_exactly_once(&processes[1], &catalog, &orders).await;
}

/// A TMF640 southbound that answers each activation 202 with a monitor, reports the
/// monitor in progress once, then completed (or failed, for a service whose
/// specification's name is `refuse`), finds services by name and takes PATCHes; it records every request as
/// (method, path, the state asked for).
struct Southbound {
    base: String,
    requests: std::sync::Arc<std::sync::Mutex<Vec<(String, String, Value)>>>,
}

impl Southbound {
    async fn start(refuse: &'static str) -> Southbound {
        use axum::extract::{Path, Query, State};
        use axum::routing::{get, patch, post};
        use std::sync::{Arc, Mutex};
        #[derive(Default)]
        struct Known {
            /// By southbound id: (our name, specification name, state); monitor polls.
            services: Vec<(String, String, String)>,
            polls: std::collections::HashMap<usize, usize>,
        }
        type Shared = (
            Arc<Mutex<Known>>,
            Arc<Mutex<Vec<(String, String, Value)>>>,
            String,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/tmf640", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let shared: Shared = (Arc::default(), requests.clone(), base.clone());
        let app = axum::Router::new()
            .route(
                "/tmf640/service",
                post(|State((known, log, base)): State<Shared>, body: axum::Json<Value>| async move {
                    log.lock().unwrap().push(("POST".into(), "/service".into(), body["state"].clone()));
                    let mut known = known.lock().unwrap();
                    let name = body["name"].as_str().unwrap_or_default().to_string();
                    let spec = body["serviceSpecification"]["name"].as_str().unwrap_or_default().to_string();
                    known.services.push((name, spec, "active".into()));
                    let id = known.services.len() - 1;
                    (
                        axum::http::StatusCode::ACCEPTED,
                        axum::Json(json!({"id": id.to_string(), "href": format!("{base}/monitor/{id}"), "state": "inProgress"})),
                    )
                })
                .get(|State((known, log, _)): State<Shared>, Query(query): Query<std::collections::HashMap<String, String>>| async move {
                    log.lock().unwrap().push(("GET".into(), "/service".into(), Value::Null));
                    let known = known.lock().unwrap();
                    let name = query.get("name").cloned().unwrap_or_default();
                    let found: Vec<Value> = known
                        .services
                        .iter()
                        .enumerate()
                        .filter(|(_, (known, _, _))| *known == name)
                        .map(|(id, _)| json!({"id": id.to_string()}))
                        .collect();
                    axum::Json(Value::Array(found))
                }),
            )
            .route(
                "/tmf640/service/{id}",
                patch(|State((known, log, _)): State<Shared>, Path(id): Path<usize>, body: axum::Json<Value>| async move {
                    log.lock().unwrap().push(("PATCH".into(), format!("/service/{id}"), body["state"].clone()));
                    let mut known = known.lock().unwrap();
                    let state = body["state"].as_str().unwrap_or_default().to_string();
                    if let Some(service) = known.services.get_mut(id) {
                        service.2 = state.clone();
                    }
                    axum::Json(json!({"id": id.to_string(), "state": state}))
                }),
            )
            .route(
                "/tmf640/monitor/{id}",
                get(move |State((known, log, _)): State<Shared>, Path(id): Path<usize>| async move {
                    log.lock().unwrap().push(("GET".into(), format!("/monitor/{id}"), Value::Null));
                    let mut known = known.lock().unwrap();
                    let polls = known.polls.entry(id).or_default();
                    *polls += 1;
                    let state = if *polls == 1 {
                        "inProgress"
                    } else if known.services.get(id).is_some_and(|(_, spec, _)| spec == refuse) {
                        "failed"
                    } else {
                        "completed"
                    };
                    axum::Json(json!({"id": id.to_string(), "state": state}))
                }),
            )
            .with_state(shared);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Southbound { base, requests }
    }

    fn requests(&self) -> Vec<(String, String, Value)> {
        self.requests.lock().unwrap().clone()
    }

    /// The states asked for by the requests of `method`, in order.
    fn states_by(&self, method: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|(known, _, _)| known == method)
            .map(|(_, _, state)| state)
            .collect()
    }
}

/// A southbound refusing `refuse`, a server routing both RFSs of the catalog to it (the
/// doomed one stays on the simulator), the catalog, and an add order placed and ended.
async fn southbound_order(refuse: &'static str) -> (Southbound, TestServer, Catalog, Value) {
    let southbound = Southbound::start(refuse).await;
    let route = southbound.base.clone();
    let server = TestServer::start_with(move |config| {
        config.activation_routes = vec![format!("access-rfs={route}"), format!("{IP_RFS}={route}")];
    })
    .await;
    let catalog = catalog(&server, "10.0.0.0/24").await;
    let body = order_of(&catalog, vec![add_item("1", &catalog.offering, None)]);
    let order = place(&server, &body).await;
    (southbound, server, catalog, order)
}

#[tokio::test]
async fn an_http_southbound_activates_follows_its_monitors_and_takes_services_down() {
    let (southbound, server, catalog, added) = southbound_order("never").await;
    assert_eq!(added["state"], "completed", "{added}");
    let product = assert_inventory_of(&server, &catalog, &added, "100M").await;
    let requests = southbound.requests();
    assert_eq!(
        southbound.states_by("POST"),
        vec![json!("active"), json!("active")],
        "{requests:?}"
    );
    let polls = requests
        .iter()
        .filter(|(_, path, _)| path.starts_with("/monitor/"))
        .count();
    assert_eq!(
        polls, 4,
        "each monitor followed until completed: {requests:?}"
    );

    let delete = json!({"id": "1", "action": "delete", "product": {"id": product["id"]}});
    let deleted = place(&server, &order_of(&catalog, vec![delete])).await;
    assert_eq!(deleted["state"], "completed", "{deleted}");
    assert_eq!(
        southbound.states_by("PATCH"),
        vec![json!("terminated"), json!("terminated")],
        "{:?}",
        southbound.requests()
    );
    assert!(live_services(&server).await.is_empty());
}

#[tokio::test]
async fn a_southbound_monitor_that_fails_fails_the_order_and_undoes_the_other_activation() {
    let (southbound, server, catalog, failed) = southbound_order(IP_RFS).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    let note = failed["note"][0]["text"].as_str().unwrap();
    assert!(note.contains("reports the request failed"), "{failed}");
    server.queue().await.wait_idle().await;
    // The access RFS was brought up first, so it is taken down again.
    assert_eq!(
        southbound.states_by("PATCH"),
        vec![json!("terminated")],
        "{:?}",
        southbound.requests()
    );
    assert!(live_services(&server).await.is_empty());
    assert!(all(&server, RESOURCES).await.is_empty());
    assert_eq!(pool_usage(&server, &catalog.pool).await.0, 0);
}
