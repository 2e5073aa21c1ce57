//! The catalog's decomposition chain (TMF620 → TMF633 → TMF634): relationships that may
//! not form cycles, service specification types (CFS, RFS), `valueFrom` characteristic
//! mappings, and the decomposition view of offerings and product specifications.

use serde_json::{json, Value};

use crate::support::*;

const SERVICE_SPECS: &str = "/tmf-api/serviceCatalogManagement/v4/serviceSpecification";
const RESOURCE_SPECS: &str = "/tmf-api/resourceCatalog/v4/resourceSpecification";

fn product_specs() -> String {
    format!("{CATALOG}/productSpecification")
}

fn offerings() -> String {
    format!("{CATALOG}/productOffering")
}

fn id(doc: &Value) -> &str {
    doc["id"].as_str().unwrap()
}

/// PATCHes `attribute` of `path/{id}` to `value` and returns the reply.
async fn set(server: &TestServer, path: &str, doc: &Value, attribute: &str, value: Value) -> Reply {
    server
        .patch(
            &format!("{path}/{}", id(doc)),
            "application/merge-patch+json",
            &json!({ attribute: value }),
        )
        .await
}

/// Asserts a 400 whose message names `attribute`, a cycle, and every id of `cycle` in order.
fn assert_cycle(reply: &Reply, attribute: &str, cycle: &[&Value]) {
    reply.assert_error(400);
    let message = reply.body["message"].as_str().unwrap();
    let expected = cycle
        .iter()
        .map(|doc| id(doc))
        .collect::<Vec<_>>()
        .join(" -> ");
    assert!(
        message.contains(attribute) && message.contains("cycle") && message.contains(&expected),
        "expected a cycle {expected} through {attribute}: {message}"
    );
}

#[tokio::test]
async fn service_relationships_refuse_cycles() {
    let server = TestServer::start().await;
    let spec = |name: &str| json!({"name": name});
    let a = server.create(SERVICE_SPECS, &spec("A")).await;
    let b = server.create(SERVICE_SPECS, &spec("B")).await;
    let relation = |to: &Value| json!([{"id": to["id"], "relationshipType": "dependency"}]);

    // A → B, then B → A would close A → B → A.
    assert_eq!(
        set(
            &server,
            SERVICE_SPECS,
            &a,
            "serviceSpecRelationship",
            relation(&b)
        )
        .await
        .status,
        200
    );
    let refused = set(
        &server,
        SERVICE_SPECS,
        &b,
        "serviceSpecRelationship",
        relation(&a),
    )
    .await;
    assert_cycle(&refused, "serviceSpecRelationship", &[&b, &a, &b]);
    assert!(server
        .get(&format!("{SERVICE_SPECS}/{}", id(&b)))
        .await
        .body
        .get("serviceSpecRelationship")
        .is_none());

    // A specification related to itself.
    let c = server.create(SERVICE_SPECS, &spec("C")).await;
    let refused = set(
        &server,
        SERVICE_SPECS,
        &c,
        "serviceSpecRelationship",
        relation(&c),
    )
    .await;
    assert_cycle(&refused, "serviceSpecRelationship", &[&c, &c]);

    // X → Y → Z, then Z → X.
    let z = server.create(SERVICE_SPECS, &spec("Z")).await;
    let y = server
        .create(
            SERVICE_SPECS,
            &json!({"name": "Y", "serviceSpecRelationship": relation(&z)}),
        )
        .await;
    let x = server
        .create(
            SERVICE_SPECS,
            &json!({"name": "X", "serviceSpecRelationship": relation(&y)}),
        )
        .await;
    let refused = set(
        &server,
        SERVICE_SPECS,
        &z,
        "serviceSpecRelationship",
        relation(&x),
    )
    .await;
    assert_cycle(&refused, "serviceSpecRelationship", &[&z, &x, &y, &z]);
}

/// The other relationships within one catalog collection refuse cycles alike.
#[tokio::test]
async fn bundles_and_relationships_refuse_cycles() {
    let server = TestServer::start().await;
    let product_specs = product_specs();
    let offerings = offerings();
    for (path, attribute) in [
        (RESOURCE_SPECS, "resourceSpecRelationship"),
        (product_specs.as_str(), "bundledProductSpecification"),
        (product_specs.as_str(), "productSpecificationRelationship"),
        (offerings.as_str(), "bundledProductOffering"),
    ] {
        let first = server.create(path, &json!({"name": "first"})).await;
        let second = server
            .create(
                path,
                &json!({"name": "second", attribute: [{"id": first["id"]}]}),
            )
            .await;
        let refused = set(
            &server,
            path,
            &first,
            attribute,
            json!([{"id": second["id"]}]),
        )
        .await;
        assert_cycle(&refused, attribute, &[&first, &second, &first]);
        let refused = set(
            &server,
            path,
            &first,
            attribute,
            json!([{"id": first["id"]}]),
        )
        .await;
        assert_cycle(&refused, attribute, &[&first, &first]);
    }
}

/// A part shared by two parents (a diamond) is not a cycle, and the tree shows it under each.
#[tokio::test]
async fn a_shared_part_is_accepted_and_expanded_under_each_parent() {
    let server = TestServer::start().await;
    let relation = |to: &Value| json!({"id": to["id"], "relationshipType": "dependency"});
    let shared = server
        .create(
            SERVICE_SPECS,
            &json!({"name": "Shared", "@type": "ResourceFacingServiceSpecification"}),
        )
        .await;
    let left = server
        .create(
            SERVICE_SPECS,
            &json!({"name": "Left", "serviceSpecRelationship": [relation(&shared)]}),
        )
        .await;
    let right = server
        .create(
            SERVICE_SPECS,
            &json!({"name": "Right", "serviceSpecRelationship": [relation(&shared)]}),
        )
        .await;
    let top = server
        .create(
            SERVICE_SPECS,
            &json!({"name": "Top", "@type": "CustomerFacingServiceSpecification",
                    "serviceSpecRelationship": [relation(&left), relation(&right)]}),
        )
        .await;
    let product = server
        .create(
            &product_specs(),
            &json!({"name": "P", "serviceSpecification": [{"id": top["id"]}]}),
        )
        .await;
    let tree = server
        .get(&format!(
            "{}/{}/decomposition",
            product_specs(),
            id(&product)
        ))
        .await;
    assert_eq!(tree.status, 200, "{}", tree.text);
    let middle = &tree.body["productSpecification"]["services"][0]["services"];
    assert_eq!(middle.as_array().unwrap().len(), 2);
    for part in middle.as_array().unwrap() {
        assert_eq!(part["services"][0]["id"], shared["id"]);
        assert_eq!(part["services"][0]["role"], "RFS");
    }
    assert_eq!(tree.body["problems"], json!([]));
}

#[tokio::test]
async fn service_specifications_are_base_type_cfs_or_rfs() {
    let server = TestServer::start().await;
    for (type_name, base_type) in [
        (None, None),
        (Some("ServiceSpecification"), None),
        (Some("CustomerFacingServiceSpecification"), None),
        (Some("ResourceFacingServiceSpecification"), None),
        (
            Some("FiberAccessCfs"),
            Some("CustomerFacingServiceSpecification"),
        ),
    ] {
        let mut body = json!({"name": "S"});
        if let Some(type_name) = type_name {
            body["@type"] = json!(type_name);
        }
        if let Some(base_type) = base_type {
            body["@baseType"] = json!(base_type);
        }
        server.create(SERVICE_SPECS, &body).await;
    }
    let refused = server
        .post(SERVICE_SPECS, &json!({"name": "S", "@type": "Widget"}))
        .await;
    refused.assert_error(400);
    let message = refused.body["message"].as_str().unwrap();
    assert!(
        message.contains("Widget")
            && message.contains("CustomerFacingServiceSpecification")
            && message.contains("ResourceFacingServiceSpecification"),
        "{message}"
    );
    let cfs = server
        .create(
            SERVICE_SPECS,
            &json!({"name": "S", "@type": "CustomerFacingServiceSpecification"}),
        )
        .await;
    set(&server, SERVICE_SPECS, &cfs, "@type", json!("Widget"))
        .await
        .assert_error(400);
}

/// On write, a `valueFrom` must be well formed and point down the chain; whether its
/// source exists is the decomposition view's to say.
#[tokio::test]
async fn value_from_is_checked_on_write() {
    let server = TestServer::start().await;
    let cases = [
        (
            SERVICE_SPECS,
            "specCharacteristic",
            json!({"serviceSpecification": {"id": "s"}}),
            "needs 'characteristic'",
        ),
        (
            SERVICE_SPECS,
            "specCharacteristic",
            json!({"resourceSpecification": {"id": "r"}, "characteristic": "x"}),
            "flow down",
        ),
        (
            RESOURCE_SPECS,
            "resourceSpecCharacteristic",
            json!({"characteristic": "x"}),
            "exactly one source",
        ),
        (
            RESOURCE_SPECS,
            "resourceSpecCharacteristic",
            json!([{"serviceSpecification": {"id": "s"}, "characteristic": "x"}, 7]),
            "[1] must be an object",
        ),
    ];
    for (path, attribute, value_from, expected) in cases {
        let refused = server
            .post(
                path,
                &json!({"name": "S", attribute: [{"name": "speed", "valueFrom": value_from}]}),
            )
            .await;
        refused.assert_error(400);
        let message = refused.body["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("{attribute}[0] ('speed').valueFrom"))
                && message.contains(expected),
            "{expected}: {message}"
        );
    }
    // A specification does not feed itself.
    let spec = server
        .create(
            RESOURCE_SPECS,
            &json!({"name": "S", "resourceSpecCharacteristic": [{"name": "a"}]}),
        )
        .await;
    let own = json!([{"name": "b", "valueFrom": {"resourceSpecification": {"id": spec["id"]}, "characteristic": "a"}}]);
    let refused = set(
        &server,
        RESOURCE_SPECS,
        &spec,
        "resourceSpecCharacteristic",
        own,
    )
    .await;
    refused.assert_error(400);
    assert!(
        refused.body["message"].as_str().unwrap().contains("itself"),
        "{}",
        refused.text
    );
}

/// The catalog of the decomposition tests: a product specification with one CFS, which
/// names two RFSs; the first names a port, which names an optic.
struct Chain {
    product: Value,
    cfs: Value,
    rfs_port: Value,
    rfs_vlan: Value,
    port: Value,
    optic: Value,
}

async fn chain(server: &TestServer) -> Chain {
    let optic = server
        .create(
            RESOURCE_SPECS,
            &json!({"name": "Optic", "version": "1.0", "@type": "PhysicalResourceSpecification",
                    "resourceSpecCharacteristic": [{"name": "wavelength", "valueType": "number"}]}),
        )
        .await;
    let product = server
        .create(
            &product_specs(),
            &json!({"name": "Fiber", "version": "2.1",
                    "productSpecCharacteristic": [{"name": "bandwidth", "valueType": "number"}]}),
        )
        .await;
    // The RFSs' mappings name the CFS, created after them: patched in below.
    let rfs_port = server
        .create(
            SERVICE_SPECS,
            &json!({"name": "Access port", "@type": "ResourceFacingServiceSpecification"}),
        )
        .await;
    let rfs_vlan = server
        .create(
            SERVICE_SPECS,
            &json!({"name": "VLAN", "@type": "ResourceFacingServiceSpecification",
                    "specCharacteristic": [{"name": "vlanId", "valueType": "integer"}]}),
        )
        .await;
    let cfs = server
        .create(
            SERVICE_SPECS,
            &json!({"name": "Internet", "@type": "CustomerFacingServiceSpecification",
                    "specCharacteristic": [{"name": "speed", "valueType": "number",
                        "valueFrom": {"productSpecification": {"id": product["id"]},
                                      "characteristic": "bandwidth"}}],
                    "serviceSpecRelationship": [
                        {"id": rfs_port["id"], "relationshipType": "dependency"},
                        {"id": rfs_vlan["id"], "relationshipType": "dependency"}]}),
        )
        .await;
    let rate = json!([{"name": "rate", "valueFrom": {"serviceSpecification": {"id": cfs["id"]},
                                                     "characteristic": "speed"}}]);
    let reply = set(server, SERVICE_SPECS, &rfs_port, "specCharacteristic", rate).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let rfs_port = reply.body;
    let port = server
        .create(
            RESOURCE_SPECS,
            &json!({"name": "Port", "@type": "LogicalResourceSpecification",
                    "resourceSpecCharacteristic": [{"name": "portSpeed",
                        "valueFrom": {"serviceSpecification": {"id": rfs_port["id"]},
                                      "characteristic": "rate"}}],
                    "resourceSpecRelationship": [{"id": optic["id"], "relationshipType": "requires"}]}),
        )
        .await;
    let reply = set(
        server,
        SERVICE_SPECS,
        &rfs_port,
        "resourceSpecification",
        json!([{"id": port["id"]}]),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let rfs_port = reply.body;
    let reply = set(
        server,
        &product_specs(),
        &product,
        "serviceSpecification",
        json!([{"id": cfs["id"]}]),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    Chain {
        product: reply.body,
        cfs,
        rfs_port,
        rfs_vlan,
        port,
        optic,
    }
}

/// The node summary every entity shows.
fn node(doc: &Value) -> Value {
    let mut node = json!({});
    for key in ["id", "href", "name", "version", "lifecycleStatus", "@type"] {
        if let Some(value) = doc.get(key) {
            node[key] = value.clone();
        }
    }
    node
}

fn source(entity: &str, doc: &Value, characteristic: &str, applies: bool) -> Value {
    json!([{entity: {"id": doc["id"]}, "characteristic": characteristic,
            "resolved": true, "applies": applies}])
}

/// The expected tree of the chain's product specification.
fn product_tree(chain: &Chain) -> Value {
    let mut optic = node(&chain.optic);
    optic["relationshipType"] = json!("requires");
    optic["characteristic"] = json!([{"name": "wavelength", "valueType": "number"}]);
    optic["resources"] = json!([]);

    let mut port = node(&chain.port);
    port["characteristic"] = json!([{"name": "portSpeed",
        "valueFrom": source("serviceSpecification", &chain.rfs_port, "rate", true)}]);
    port["resources"] = json!([optic]);

    let mut rfs_port = node(&chain.rfs_port);
    rfs_port["relationshipType"] = json!("dependency");
    rfs_port["role"] = json!("RFS");
    rfs_port["characteristic"] = json!([{"name": "rate",
        "valueFrom": source("serviceSpecification", &chain.cfs, "speed", true)}]);
    rfs_port["services"] = json!([]);
    rfs_port["resources"] = json!([port]);

    let mut rfs_vlan = node(&chain.rfs_vlan);
    rfs_vlan["relationshipType"] = json!("dependency");
    rfs_vlan["role"] = json!("RFS");
    rfs_vlan["characteristic"] = json!([{"name": "vlanId", "valueType": "integer"}]);
    rfs_vlan["services"] = json!([]);
    rfs_vlan["resources"] = json!([]);

    let mut cfs = node(&chain.cfs);
    cfs["role"] = json!("CFS");
    cfs["characteristic"] = json!([{"name": "speed", "valueType": "number",
        "valueFrom": source("productSpecification", &chain.product, "bandwidth", true)}]);
    cfs["services"] = json!([rfs_port, rfs_vlan]);
    cfs["resources"] = json!([]);

    let mut product = node(&chain.product);
    product["characteristic"] = json!([{"name": "bandwidth", "valueType": "number"}]);
    product["bundledProductSpecification"] = json!([]);
    product["services"] = json!([cfs]);
    product["resources"] = json!([]);
    product
}

#[tokio::test]
async fn a_product_specification_decomposes_into_services_and_resources() {
    let server = TestServer::start().await;
    let chain = chain(&server).await;
    let tree = server
        .get(&format!(
            "{}/{}/decomposition",
            product_specs(),
            id(&chain.product)
        ))
        .await;
    assert_eq!(tree.status, 200, "{}", tree.text);
    assert_eq!(
        tree.body,
        json!({"productSpecification": product_tree(&chain), "problems": []}),
        "{}",
        tree.text
    );
}

#[tokio::test]
async fn an_offering_decomposes_through_its_bundle() {
    let server = TestServer::start().await;
    let chain = chain(&server).await;
    let offering = server
        .create(
            &offerings(),
            &json!({"name": "Fiber 1G", "productSpecification": {"id": chain.product["id"]}}),
        )
        .await;
    let bundle = server
        .create(
            &offerings(),
            &json!({"name": "Home pack", "isBundle": true,
                    "bundledProductOffering": [{"id": offering["id"]}]}),
        )
        .await;
    let tree = server
        .get(&format!("{}/{}/decomposition", offerings(), id(&bundle)))
        .await;
    assert_eq!(tree.status, 200, "{}", tree.text);

    let mut inner = node(&offering);
    inner["productSpecification"] = product_tree(&chain);
    inner["bundledProductOffering"] = json!([]);
    let mut outer = node(&bundle);
    outer["productSpecification"] = Value::Null;
    outer["bundledProductOffering"] = json!([inner]);
    assert_eq!(
        tree.body,
        json!({"productOffering": outer, "problems": []}),
        "{}",
        tree.text
    );
}

#[tokio::test]
async fn an_unknown_root_is_not_found() {
    let server = TestServer::start().await;
    for path in [product_specs(), offerings()] {
        let reply = server
            .get(&format!("{path}/no-such-id/decomposition"))
            .await;
        reply.assert_error(404);
        assert!(
            reply.body["message"]
                .as_str()
                .unwrap()
                .contains("no-such-id"),
            "{}",
            reply.text
        );
    }
}

/// What a write would get wrong is refused: a mapping to a specification or
/// characteristic that does not exist, a product naming an RFS directly, an RFS naming a
/// CFS. What goes wrong later is listed by the tree, and the rest still answered: a
/// source characteristic renamed since, a specification deleted since it was named, an
/// offering's missing specification.
#[tokio::test]
async fn the_tree_reports_what_does_not_resolve() {
    let server = TestServer::start().await;
    let chain = chain(&server).await;

    let to = |id: &Value, characteristic: &str| {
        json!([{"name": "speed", "valueFrom":
            {"productSpecification": {"id": id}, "characteristic": characteristic}}])
    };
    let reply = set(
        &server,
        SERVICE_SPECS,
        &chain.cfs,
        "specCharacteristic",
        to(&chain.product["id"], "throughput"),
    )
    .await;
    reply.assert_error(400);
    assert!(reply.text.contains("'throughput'"), "{}", reply.text);
    let reply = set(
        &server,
        SERVICE_SPECS,
        &chain.cfs,
        "specCharacteristic",
        to(&json!("nope"), "bandwidth"),
    )
    .await;
    reply.assert_error(400);
    assert!(
        reply.text.contains("'nope', which does not exist"),
        "{}",
        reply.text
    );
    let services = json!([{"id": chain.cfs["id"]}, {"id": chain.rfs_port["id"]}]);
    let reply = set(
        &server,
        &product_specs(),
        &chain.product,
        "serviceSpecification",
        services,
    )
    .await;
    reply.assert_error(400);
    assert!(
        reply.text.contains("RFS") && reply.text.contains(id(&chain.rfs_port)),
        "{}",
        reply.text
    );
    let other_cfs = server
        .create(
            SERVICE_SPECS,
            &json!({"name": "Voice", "@type": "CustomerFacingServiceSpecification"}),
        )
        .await;
    let reply = set(
        &server,
        SERVICE_SPECS,
        &chain.rfs_vlan,
        "serviceSpecRelationship",
        json!([{"id": other_cfs["id"], "relationshipType": "dependency"}]),
    )
    .await;
    reply.assert_error(400);
    assert!(reply.text.contains("whose role is CFS"), "{}", reply.text);

    // The CFS's speed comes from the product's bandwidth, and from one of a product that
    // is not in this tree (it resolves, but does not apply); then the product renames
    // its characteristic, so the first source no longer resolves.
    let other = server
        .create(
            &product_specs(),
            &json!({"name": "Other", "productSpecCharacteristic": [{"name": "bandwidth"}]}),
        )
        .await;
    let speed = json!([{"name": "speed", "valueFrom": [
        {"productSpecification": {"id": chain.product["id"]}, "characteristic": "bandwidth"},
        {"productSpecification": {"id": other["id"]}, "characteristic": "bandwidth"}]}]);
    let reply = set(
        &server,
        SERVICE_SPECS,
        &chain.cfs,
        "specCharacteristic",
        speed,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = set(
        &server,
        &product_specs(),
        &chain.product,
        "productSpecCharacteristic",
        json!([{"name": "throughput", "valueType": "number"}]),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // The VLAN RFS is deleted (nothing in service holds it).
    let vlan = format!("{SERVICE_SPECS}/{}", id(&chain.rfs_vlan));
    assert_eq!(server.delete(&vlan).await.status, 204);

    let tree = server
        .get(&format!(
            "{}/{}/decomposition",
            product_specs(),
            id(&chain.product)
        ))
        .await;
    assert_eq!(tree.status, 200, "{}", tree.text);
    let cfs = &tree.body["productSpecification"]["services"][0];
    assert_eq!(
        cfs["characteristic"][0]["valueFrom"],
        json!([
            {"productSpecification": {"id": chain.product["id"]}, "characteristic": "bandwidth",
             "resolved": false, "applies": false},
            {"productSpecification": {"id": other["id"]}, "characteristic": "bandwidth",
             "resolved": true, "applies": false}
        ])
    );
    assert_eq!(
        cfs["services"][1],
        json!({"id": chain.rfs_vlan["id"], "missing": true})
    );

    let problems = tree.body["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{}", tree.text);
    assert_eq!(problems[0]["serviceSpecification"]["id"], chain.cfs["id"]);
    assert_eq!(problems[0]["characteristic"], "speed");
    let message = problems[0]["message"].as_str().unwrap();
    assert!(
        message.contains("'bandwidth'") && message.contains(id(&chain.product)),
        "{message}"
    );
    assert_eq!(problems[1]["serviceSpecification"]["id"], chain.cfs["id"]);
    assert!(problems[1]["message"]
        .as_str()
        .unwrap()
        .contains(id(&chain.rfs_vlan)));

    // An offering may name a specification that does not exist (TMF620 CTK): shown as missing.
    let offering = server
        .create(
            &offerings(),
            &json!({"name": "Ghost", "productSpecification": {"id": "gone"}}),
        )
        .await;
    let tree = server
        .get(&format!("{}/{}/decomposition", offerings(), id(&offering)))
        .await;
    assert_eq!(tree.status, 200, "{}", tree.text);
    assert_eq!(
        tree.body["productOffering"]["productSpecification"],
        json!({"id": "gone", "missing": true})
    );
    assert_eq!(
        tree.body["problems"][0]["productOffering"]["id"],
        offering["id"]
    );
}

/// A tree is bounded: beyond `MAX_DEPTH` levels the view refuses, naming where.
#[tokio::test]
async fn a_tree_deeper_than_sixteen_levels_is_refused() {
    let server = TestServer::start().await;
    let mut below = server.create(SERVICE_SPECS, &json!({"name": "S0"})).await;
    for level in 1..16 {
        below = server
            .create(
                SERVICE_SPECS,
                &json!({"name": format!("S{level}"),
                        "serviceSpecRelationship": [{"id": below["id"], "relationshipType": "dependency"}]}),
            )
            .await;
    }
    let product = server
        .create(
            &product_specs(),
            &json!({"name": "Deep", "serviceSpecification": [{"id": below["id"]}]}),
        )
        .await;
    let reply = server
        .get(&format!(
            "{}/{}/decomposition",
            product_specs(),
            id(&product)
        ))
        .await;
    reply.assert_error(409);
    let message = reply.body["message"].as_str().unwrap();
    assert!(message.contains("deeper than 16 levels"), "{message}");

    // Fifteen service levels under the product are sixteen in all: answered.
    let top = &server
        .get(&format!("{SERVICE_SPECS}/{}", id(&below)))
        .await
        .body;
    let shallower = top["serviceSpecRelationship"][0]["id"].clone();
    let reply = set(
        &server,
        &product_specs(),
        &product,
        "serviceSpecification",
        json!([{ "id": shallower }]),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = server
        .get(&format!(
            "{}/{}/decomposition",
            product_specs(),
            id(&product)
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

/// Imports store documents as given, so a cycle can still reach the store that way: the
/// view refuses to expand it and names it.
#[tokio::test]
async fn an_imported_cycle_is_named_by_the_view() {
    let server = TestServer::start().await;
    let data = json!({"serviceSpecification": [
        {"id": "ss-a", "name": "A", "lifecycleStatus": "In study",
         "serviceSpecRelationship": [{"id": "ss-b", "relationshipType": "dependency"}]},
        {"id": "ss-b", "name": "B", "lifecycleStatus": "In study",
         "serviceSpecRelationship": [{"id": "ss-a", "relationshipType": "dependency"}]},
    ]});
    let file = server.dir.path().join("cycle.json");
    std::fs::write(&file, data.to_string()).unwrap();
    let jobs = "/tmf-api/serviceCatalogManagement/v4/importJob";
    let job = server
        .create(jobs, &json!({"url": format!("file://{}", file.display())}))
        .await;
    let job_path = format!("{jobs}/{}", id(&job));
    let finished = eventually(std::time::Duration::from_secs(10), || async {
        server.get(&job_path).await.body["status"] == "Succeeded"
    })
    .await;
    assert!(finished, "{}", server.get(&job_path).await.text);

    let product = server
        .create(
            &product_specs(),
            &json!({"name": "Loop", "serviceSpecification": [{"id": "ss-a"}]}),
        )
        .await;
    let reply = server
        .get(&format!(
            "{}/{}/decomposition",
            product_specs(),
            id(&product)
        ))
        .await;
    reply.assert_error(409);
    let message = reply.body["message"].as_str().unwrap();
    assert!(
        message.contains("cycle") && message.contains("ss-a -> ss-b -> ss-a"),
        "{message}"
    );
}
