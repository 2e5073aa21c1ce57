//! Every error status over HTTP, each with the TMF error body
//! `{code, reason, message, status, @type: "Error"}`.

use reqwest::Method;
use serde_json::json;

use crate::support::*;

fn message(reply: &Reply) -> &str {
    reply.body["message"].as_str().unwrap()
}

async fn post_raw(server: &TestServer, path: &str, content_type: &str, body: &[u8]) -> Reply {
    server
        .send(
            Method::POST,
            path,
            Some(content_type),
            Some(body.to_vec()),
            &[],
        )
        .await
}

#[tokio::test]
async fn malformed_and_invalid_bodies_are_400() {
    let server = TestServer::start().await;
    let offerings = format!("{CATALOG}/productOffering");

    let truncated = post_raw(&server, &offerings, "application/json", b"{\"name\": ").await;
    truncated.assert_error(400);
    assert!(
        message(&truncated).contains("not valid JSON"),
        "{}",
        truncated.text
    );

    let empty = post_raw(&server, &offerings, "application/json", b"").await;
    empty.assert_error(400);

    for not_object in ["[1, 2]", "\"name\"", "42", "null", "true"] {
        let reply = post_raw(
            &server,
            &offerings,
            "application/json",
            not_object.as_bytes(),
        )
        .await;
        reply.assert_error(400);
        assert!(
            message(&reply).contains("JSON object"),
            "{not_object}: {}",
            reply.text
        );
    }

    let nameless = server
        .post(&offerings, &json!({"description": "no name"}))
        .await;
    nameless.assert_error(400);
    assert!(message(&nameless).contains("name"), "{}", nameless.text);

    let numeric_given_name = server
        .post(
            &format!("{PARTY}/individual"),
            &json!({"givenName": 7, "familyName": "Lovelace"}),
        )
        .await;
    numeric_given_name.assert_error(400);
    assert!(
        message(&numeric_given_name).contains("/givenName"),
        "{}",
        numeric_given_name.text
    );

    let untraded = server
        .post(&format!("{PARTY}/organization"), &json!({"name": "Acme"}))
        .await;
    untraded.assert_error(400);
    assert!(
        message(&untraded).contains("tradingName"),
        "{}",
        untraded.text
    );

    let bad_state = server
        .post(
            &offerings,
            &json!({"name": "x", "lifecycleStatus": "Bogus"}),
        )
        .await;
    bad_state.assert_error(400);
    assert!(
        message(&bad_state).contains("In study"),
        "{}",
        bad_state.text
    );

    // None of the refused bodies was stored.
    let listed = server.get(&offerings).await;
    assert_eq!(listed.body, json!([]));
    assert_eq!(
        server.get(&format!("{PARTY}/individual")).await.body,
        json!([])
    );
    assert_eq!(
        server.get(&format!("{PARTY}/organization")).await.body,
        json!([])
    );
}

#[tokio::test]
async fn unknown_ids_and_paths_are_404() {
    let server = TestServer::start().await;
    let missing = server
        .get(&format!("{CATALOG}/productOffering/no-such-id"))
        .await;
    missing.assert_error(404);
    assert!(message(&missing).contains("no-such-id"), "{}", missing.text);

    server
        .patch(
            &format!("{CATALOG}/productOffering/no-such-id"),
            "application/merge-patch+json",
            &json!({"name": "x"}),
        )
        .await
        .assert_error(404);
    server
        .delete(&format!("{PARTY}/individual/no-such-id"))
        .await
        .assert_error(404);
    server
        .get(&format!("{CATALOG}/hub/no-such-id"))
        .await
        .assert_error(404);
    // `/` is the index of the APIs (see `openapi.rs`).
    for path in [
        "/tmf-api",
        "/tmf-api/productCatalogManagement/v4/nothing",
        "/tmf-api/productCatalogManagement/v5/productOffering",
        "/tmf-api/productCatalogManagement/v4/productOffering/a/b",
    ] {
        server.get(path).await.assert_error(404);
    }
}

#[tokio::test]
async fn methods_not_offered_are_405() {
    let server = TestServer::start().await;
    let offerings = format!("{CATALOG}/productOffering");
    let created = server.create(&offerings, &json!({"name": "x"})).await;
    let item = format!("{offerings}/{}", created["id"].as_str().unwrap());
    let body = Some(json!({"name": "y"}).to_string().into_bytes());
    let cases = [
        (Method::PUT, offerings.clone()),
        (Method::DELETE, offerings.clone()),
        (Method::PATCH, offerings.clone()),
        (Method::POST, item.clone()),
        (Method::PUT, item.clone()),
        (Method::PUT, format!("{CATALOG}/hub")),
    ];
    for (method, path) in cases {
        let reply = server
            .send(
                method.clone(),
                &path,
                Some("application/json"),
                body.clone(),
                &[],
            )
            .await;
        reply.assert_error(405);
        assert!(message(&reply).contains(method.as_str()), "{}", reply.text);
    }
    // Nothing was replaced or deleted.
    assert_eq!(server.get(&item).await.body, created);
}

#[tokio::test]
async fn conflicts_and_preconditions_are_409_and_412() {
    let server = TestServer::start().await;
    let created = server
        .create(&format!("{CATALOG}/catalog"), &json!({"name": "c"}))
        .await;
    let item = format!("{CATALOG}/catalog/{}", created["id"].as_str().unwrap());
    let launched = server
        .patch(
            &item,
            "application/merge-patch+json",
            &json!({"lifecycleStatus": "Launched"}),
        )
        .await;
    launched.assert_error(409);
    assert_eq!(launched.body["reason"], "Invalid state transition");

    let stale = server
        .send(
            Method::PATCH,
            &item,
            Some("application/merge-patch+json"),
            Some(json!({"name": "d"}).to_string().into_bytes()),
            &[("if-match", "W/\"9\"")],
        )
        .await;
    stale.assert_error(412);
    assert!(message(&stale).contains("W/\"1\""), "{}", stale.text);
    assert_eq!(server.get(&item).await.body, created);
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let server = TestServer::start_with(|config| config.max_body_bytes = 1024).await;
    let offerings = format!("{CATALOG}/productOffering");
    let big = json!({"name": "x".repeat(2000)});
    let reply = server.post(&offerings, &big).await;
    reply.assert_error(413);
    assert!(message(&reply).contains("1024"), "{}", reply.text);

    let created = server.create(&offerings, &json!({"name": "small"})).await;
    let item = format!("{offerings}/{}", created["id"].as_str().unwrap());
    server
        .patch(&item, "application/merge-patch+json", &big)
        .await
        .assert_error(413);
    assert_eq!(server.get(&item).await.body, created);
    // Exactly at the limit is still read.
    let padding = 1024 - json!({"name": "y", "description": ""}).to_string().len();
    let at_limit = json!({"name": "y", "description": "y".repeat(padding)});
    assert_eq!(at_limit.to_string().len(), 1024);
    assert_eq!(server.post(&offerings, &at_limit).await.status, 201);

    let default = TestServer::start().await;
    let over_a_mebibyte = json!({"name": "z".repeat((1 << 20) + 10)});
    default
        .post(&offerings, &over_a_mebibyte)
        .await
        .assert_error(413);
    assert_eq!(default.get(&offerings).await.body, json!([]));
}

#[tokio::test]
async fn unsupported_content_types_are_415() {
    let server = TestServer::start().await;
    let offerings = format!("{CATALOG}/productOffering");
    let body = json!({"name": "x"}).to_string();
    for content_type in [
        "text/plain",
        "application/xml",
        "application/merge-patch+json",
    ] {
        post_raw(&server, &offerings, content_type, body.as_bytes())
            .await
            .assert_error(415);
    }
    let created = server.create(&offerings, &json!({"name": "x"})).await;
    let item = format!("{offerings}/{}", created["id"].as_str().unwrap());
    for content_type in ["application/xml", "text/plain", "multipart/form-data"] {
        server
            .patch(&item, content_type, &json!({"name": "y"}))
            .await
            .assert_error(415);
    }
    assert_eq!(server.get(&item).await.body, created);
    assert_eq!(server.get(&offerings).await.body, json!([created]));
}

#[tokio::test]
async fn invalid_queries_are_400() {
    let server = TestServer::start().await;
    let offerings = format!("{CATALOG}/productOffering");
    for query in [
        "limit=abc",
        "limit=-1",
        "offset=1.5",
        "offset=99999999999999999999999",
        "name.regex=(",
        "fields=na%22me",
        "sort=-",
    ] {
        let reply = server.get(&format!("{offerings}?{query}")).await;
        reply.assert_error(400);
        assert_eq!(reply.body["reason"], "Invalid query", "{query}");
    }
    let reply = server.get(&format!("{offerings}/some-id?fields=a'b")).await;
    reply.assert_error(400);
}

/// Each API answers errors in the shape of its own `Error` definition: TMF685 v1 types
/// `code`, `reason` and `status` as integers, TMF620 (as TMF630) as strings. Every body
/// is checked against the `Error` definition of the API's schema file.
#[tokio::test]
async fn each_api_answers_errors_in_its_own_error_shape() {
    use switchboard_engine::schema::BodyValidator;
    let server = TestServer::start().await;
    let apis = [
        (
            "/tmf-api/resourcePoolManagement/v1",
            "resourcePool",
            include_str!("../../../../schemas/TMF685.json"),
            true,
        ),
        (
            CATALOG,
            "productOffering",
            include_str!("../../../../schemas/TMF620.json"),
            false,
        ),
    ];
    for (base, collection, schema, integers) in apis {
        let schema: serde_json::Value = serde_json::from_str(schema).unwrap();
        let error = BodyValidator::compile(&schema, "Error").unwrap();
        let collection = format!("{base}/{collection}");
        let replies = [
            (
                400,
                post_raw(&server, &collection, "application/json", b"{").await,
            ),
            (404, server.get(&format!("{collection}/no-such-id")).await),
            // A path under the API's base that no route serves (the router's fallback).
            (404, server.get(&format!("{base}/noSuchCollection")).await),
            (
                405,
                server.send(Method::PUT, &collection, None, None, &[]).await,
            ),
            (400, server.get(&format!("{collection}?limit=x")).await),
            (
                415,
                post_raw(&server, &collection, "text/plain", b"{}").await,
            ),
        ];
        for (status, reply) in replies {
            reply.assert_error(status);
            assert_eq!(reply.body["status"].is_number(), integers, "{}", reply.text);
            assert_eq!(reply.body["code"].is_number(), integers, "{}", reply.text);
            error
                .check(&reply.body)
                .unwrap_or_else(|problem| panic!("{base}: {problem:?}: {}", reply.text));
        }
        // The text reason is not lost where `reason` is a number: it leads the message.
        let reply = server.get(&format!("{collection}?limit=x")).await;
        assert!(
            message(&reply).starts_with("Invalid query") == integers,
            "{}",
            reply.text
        );
    }
    // Outside every API's base path the TMF630 shape stays.
    let reply = server.get("/tmf-api/resourcePoolManagementX/v1").await;
    reply.assert_error(404);
    assert_eq!(reply.body["code"], "404", "{}", reply.text);
}
