//! The served API documents: every route the router mounts is in them and nothing else,
//! their schemas are the API's own, the index answers JSON or HTML, and `/docs` loads
//! nothing from elsewhere.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::support::{TestServer, CATALOG};

const ORDERING: &str = "/tmf-api/productOrderingManagement/v4";
const POOLS: &str = "/tmf-api/resourcePoolManagement/v1";

/// The documents the server lists at `/openapi.json`, fetched: (entry, document).
async fn documents(server: &TestServer) -> Vec<(Value, Value)> {
    let list = server.get("/openapi.json").await;
    assert_eq!(list.status, 200, "{}", list.text);
    let mut documents = Vec::new();
    for entry in list.body["apis"].as_array().unwrap() {
        let reply = server.get(entry["openapi"].as_str().unwrap()).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert!(reply
            .header("content-type")
            .unwrap()
            .starts_with("application/json"));
        documents.push((entry.clone(), reply.body));
    }
    documents
}

/// (METHOD, full path template) of every operation of the documents.
fn documented(documents: &[(Value, Value)]) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (_, document) in documents {
        let base = document["servers"][0]["url"].as_str().unwrap();
        for (path, item) in document["paths"].as_object().unwrap() {
            for method in ["get", "post", "patch", "put", "delete", "head", "options"] {
                if item.get(method).is_some() {
                    operations.insert((method.to_ascii_uppercase(), format!("{base}{path}")));
                }
            }
        }
    }
    operations
}

#[tokio::test]
async fn every_route_is_documented_and_every_operation_is_routed() {
    let server = TestServer::start().await;
    let documents = documents(&server).await;
    // The router's own record of what it mounted, over an engine of the same APIs (on a
    // database of its own: the server's belongs to the server).
    let dir = tempfile::tempdir().unwrap();
    let config = switchboard::ServeConfig::new(
        "127.0.0.1:0",
        dir.path().join("routes.db").display().to_string(),
    );
    let (engine, _) = switchboard::build(&config).await.unwrap();
    let bases: Vec<&str> = engine.apis().iter().map(|api| api.decl.base_path).collect();
    assert_eq!(documents.len(), bases.len(), "one document per API");
    let mounted: BTreeSet<(String, String)> = switchboard::mounted_routes(&engine)
        .unwrap()
        .into_iter()
        .filter(|(_, path)| {
            bases
                .iter()
                .any(|base| path.starts_with(&format!("{base}/")))
                && !path.ends_with("/openapi.json")
        })
        .map(|(method, path)| (method.to_string(), path))
        .collect();
    let documented = documented(&documents);
    let missing: Vec<_> = mounted.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&mounted).collect();
    assert!(
        missing.is_empty(),
        "routes not in the documents: {missing:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
    // Not vacuous: what a client knows is there, and what a declaration leaves out is not.
    for expected in [
        ("GET", format!("{CATALOG}/productOffering")),
        ("PATCH", format!("{CATALOG}/productOffering/{{id}}")),
        (
            "GET",
            format!("{CATALOG}/productOffering/{{id}}/decomposition"),
        ),
        ("DELETE", format!("{CATALOG}/hub/{{id}}")),
        ("POST", format!("{ORDERING}/cancelProductOrder")),
    ] {
        let expected = (expected.0.to_string(), expected.1);
        assert!(mounted.contains(&expected), "{expected:?}");
    }
    let task = (
        "PATCH".to_string(),
        format!("{ORDERING}/cancelProductOrder/{{id}}"),
    );
    assert!(!mounted.contains(&task) && !documented.contains(&task));
    // A method a declaration leaves out answers 405, as any other not offered.
    let target = format!("file://{}/export.jsonl", server.dir.path().display());
    let created = server
        .create(
            &format!("{CATALOG}/exportJob"),
            &serde_json::json!({ "url": target }),
        )
        .await;
    let job = format!("{CATALOG}/exportJob/{}", created["id"].as_str().unwrap());
    server
        .send(
            Method::PATCH,
            &job,
            Some("application/merge-patch+json"),
            Some(b"{}".to_vec()),
            &[],
        )
        .await
        .assert_error(405);
}

#[tokio::test]
async fn documents_use_the_apis_own_definitions() {
    let server = TestServer::start().await;
    for (entry, document) in documents(&server).await {
        let id = entry["id"].as_str().unwrap();
        assert_eq!(document["openapi"], "3.0.3");
        assert_eq!(document["servers"][0]["url"], entry["basePath"]);
        assert_eq!(document["info"]["version"], entry["version"]);
        let schemas = document["components"]["schemas"].as_object().unwrap();
        // Every reference resolves inside the document; none is left in the schema
        // file's form.
        let text = document.to_string();
        assert!(!text.contains("#/definitions/"), "{id}");
        for piece in text.split("\"$ref\":\"").skip(1) {
            let target = piece.split('"').next().unwrap();
            let name = target.strip_prefix("#/components/schemas/").unwrap();
            assert!(schemas.contains_key(name), "{id}: {target} is not defined");
        }
        // Errors are the API's own Error definition.
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let Some(responses) = operation.get("responses") else {
                    continue;
                };
                for (status, response) in responses.as_object().unwrap() {
                    if status.starts_with('4') || status.starts_with('5') {
                        assert_eq!(
                            response["content"]["application/json"]["schema"]["$ref"],
                            "#/components/schemas/Error",
                            "{id} {method} {path} {status}"
                        );
                    }
                }
            }
        }
    }
    let documents = documents(&server).await;
    let find = |id: &str| {
        documents
            .iter()
            .find(|(entry, _)| entry["id"] == id)
            .map(|(_, document)| document.clone())
            .unwrap()
    };
    // TMF685 v1's Error has integer codes, the others string ones: each its own.
    assert_eq!(
        find("TMF685")["components"]["schemas"]["Error"]["properties"]["code"]["type"],
        "integer"
    );
    assert_eq!(
        find("TMF620")["components"]["schemas"]["Error"]["properties"]["code"]["type"],
        "string"
    );
    let catalog = find("TMF620");
    let offerings = &catalog["paths"]["/productOffering"];
    assert_eq!(
        offerings["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ProductOffering_Create"
    );
    assert_eq!(
        offerings["post"]["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ProductOffering"
    );
    let list = &offerings["get"];
    let names: Vec<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "fields",
        "offset",
        "limit",
        "sort",
        "name",
        "lifecycleStatus",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    for status in ["200", "206"] {
        let headers = &list["responses"][status]["headers"];
        assert_eq!(headers["X-Total-Count"]["schema"]["type"], "integer");
        assert_eq!(headers["X-Result-Count"]["schema"]["type"], "integer");
    }
    let patch = &catalog["paths"]["/productOffering/{id}"]["patch"]["requestBody"]["content"];
    assert_eq!(
        patch["application/merge-patch+json"]["schema"]["$ref"],
        "#/components/schemas/ProductOffering_Update"
    );
    assert_eq!(
        patch["application/json-patch+json"]["schema"]["$ref"],
        "#/components/schemas/JsonPatch"
    );
    // What the server sets is marked; what the specification lacks is our extension.
    let offering = &catalog["components"]["schemas"]["ProductOffering"]["properties"];
    assert_eq!(offering["lastUpdate"]["readOnly"], true);
    assert_eq!(offering["id"]["readOnly"], true);
    let pools = find("TMF685");
    assert_eq!(pools["servers"][0]["url"], POOLS);
    let view = &catalog["paths"]["/productOffering/{id}/decomposition"]["get"];
    assert_eq!(view["x-switchboard-extension"], true);
}

#[tokio::test]
async fn the_index_answers_json_or_html() {
    let server = TestServer::start().await;
    let apis = server.get("/openapi.json").await.body["apis"].clone();
    for accept in [
        None,
        Some("application/json"),
        Some("*/*"),
        Some("text/html;q=0.5, application/json"),
    ] {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
        let reply = server.send(Method::GET, "/", None, None, &headers).await;
        assert_eq!(reply.status, 200);
        assert!(
            reply
                .header("content-type")
                .unwrap()
                .starts_with("application/json"),
            "{accept:?}"
        );
        assert_eq!(reply.body["apis"], apis);
        assert_eq!(reply.body["docs"], "/docs");
    }
    let pools = apis
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "TMF685")
        .unwrap();
    assert_eq!(pools["name"], "Resource Pool Management");
    assert_eq!(pools["version"], "1.0");
    assert_eq!(pools["basePath"], POOLS);
    assert_eq!(pools["openapi"], format!("{POOLS}/openapi.json"));
    assert_eq!(pools["docs"], "/docs?api=TMF685");
    // A browser's Accept.
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let reply = server
        .send(Method::GET, "/", None, None, &[("accept", browser)])
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(reply.header("vary"), Some("accept"));
    for api in apis.as_array().unwrap() {
        for key in ["name", "openapi", "basePath"] {
            assert!(
                reply.text.contains(api[key].as_str().unwrap()),
                "{key} of {api}"
            );
        }
    }
}

#[tokio::test]
async fn the_docs_page_loads_only_its_own_files() {
    let server = TestServer::start().await;
    let page = server.get("/docs").await;
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(
        !page.text.contains("http://") && !page.text.contains("https://"),
        "{}",
        page.text
    );
    let linked: Vec<&str> = page
        .text
        .split(['"', '\''])
        .filter(|piece| piece.starts_with("/docs/"))
        .collect();
    assert_eq!(linked.len(), 5, "{linked:?}");
    for path in linked {
        let reply = server.get(path).await;
        assert_eq!(reply.status, 200, "{path}");
        if path != "/docs/init.js" {
            assert!(
                reply.header("cache-control").unwrap().contains("immutable"),
                "{path}"
            );
            assert!(reply.text.len() > 500, "{path}");
        }
    }
    let init = server.get("/docs/init.js").await.text;
    for (entry, _) in documents(&server).await {
        assert!(init.contains(entry["openapi"].as_str().unwrap()), "{entry}");
    }
    assert!(init.contains("validatorUrl: null"));
}
