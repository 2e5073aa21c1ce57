//! Operations endpoints (`/health`, `/ready`, `/metrics`), request ids, the declared
//! spelling of states, and callbacks that redirect.

use std::time::Duration;

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn health_ready_and_metrics_answer() {
    let server = TestServer::start().await;
    let health = server.get("/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "ok");
    let ready = server.get("/ready").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["status"], "ready");

    server
        .create(&format!("{CATALOG}/category"), &json!({"name": "Mobile"}))
        .await;
    server
        .get(&format!("{CATALOG}/category/unknown"))
        .await
        .assert_error(404);
    let metrics = server.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let text = &metrics.text;
    let created = text.lines().any(|line| {
        line.starts_with("switchboard_http_requests_total{")
            && line.contains("api=\"TMF620\"")
            && line.contains("method=\"POST\"")
            && line.contains("status=\"201\"")
    });
    let missing = text.lines().any(|line| {
        line.starts_with("switchboard_http_requests_total{")
            && line.contains("api=\"TMF620\"")
            && line.contains("status=\"404\"")
    });
    assert!(created && missing, "{text}");
    assert!(
        text.contains("switchboard_http_request_duration_seconds_bucket{"),
        "{text}"
    );
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let server = TestServer::start().await;
    let given = server
        .send(
            reqwest::Method::GET,
            &format!("{PARTY}/individual"),
            None,
            None,
            &[("x-request-id", "trace-42")],
        )
        .await;
    assert_eq!(given.header("x-request-id"), Some("trace-42"));
    let first = server.get("/nowhere").await;
    let second = server.get("/nowhere").await;
    let (first, second) = (
        first.header("x-request-id").unwrap().to_string(),
        second.header("x-request-id").unwrap().to_string(),
    );
    assert_eq!(first.len(), 36, "{first}");
    assert_ne!(first, second);
}

#[tokio::test]
async fn states_are_stored_in_their_declared_spelling() {
    let server = TestServer::start().await;
    let path = format!("{CATALOG}/productSpecification");
    let created = server
        .create(
            &path,
            &json!({"name": "Access", "lifecycleStatus": "in STUDY"}),
        )
        .await;
    assert_eq!(created["lifecycleStatus"], "In study");
    let id = created["id"].as_str().unwrap();
    let patched = server
        .patch(
            &format!("{path}/{id}"),
            "application/merge-patch+json",
            &json!({"lifecycleStatus": "IN DESIGN"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["lifecycleStatus"], "In design");
    let found = server
        .get(&format!("{path}?lifecycleStatus=In%20design"))
        .await;
    assert_eq!(found.body.as_array().unwrap().len(), 1, "{}", found.text);
    // Repeating the state in another spelling is no change at all.
    let again = server
        .patch(
            &format!("{path}/{id}"),
            "application/json",
            &json!({"lifecycleStatus": "in design"}),
        )
        .await;
    assert_eq!(again.header("etag"), patched.header("etag"));
}

#[tokio::test]
async fn a_callback_that_redirects_is_not_followed() {
    let target = Hook::start(201).await;
    let location = target.url("/elsewhere");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move || {
        let location = location.clone();
        async move {
            (
                axum::http::StatusCode::TEMPORARY_REDIRECT,
                [(axum::http::header::LOCATION, location)],
            )
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let server = TestServer::start_with(|config| config.delivery_max_attempts = 2).await;
    server
        .create(
            &format!("{PARTY}/hub"),
            &json!({"callback": format!("http://{address}/listener")}),
        )
        .await;
    server
        .create(
            &format!("{PARTY}/organization"),
            &json!({"tradingName": "Redirecting Ltd"}),
        )
        .await;
    let queue = server.queue().await;
    let dead = eventually(Duration::from_secs(5), || async {
        queue.dead().await.len() == 1
    })
    .await;
    assert!(dead, "the delivery should end dead-lettered");
    assert!(target.requests().is_empty(), "the redirect was followed");
}
