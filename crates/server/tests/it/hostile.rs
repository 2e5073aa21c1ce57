//! Hostile input over HTTP: whatever a client sends, the answer is a 4xx TMF error or a
//! correct result, never a 5xx or a dropped connection, and nothing stored is lost.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

fn offerings() -> String {
    format!("{CATALOG}/productOffering")
}

/// Resources stored before the attack, with the path each is read at.
struct Seeded {
    resources: Vec<(String, Value)>,
}

impl Seeded {
    async fn create(server: &TestServer) -> Seeded {
        let bodies = [
            (
                offerings(),
                json!({"name": "Fiber", "description": "seed",
                       "category": [{"id": "c1"}], "validFor": {"startDateTime": "2024-01-01T00:00:00Z"}}),
            ),
            (offerings(), json!({"name": "Mobile"})),
            (
                format!("{CATALOG}/productOfferingPrice"),
                json!({"name": "Monthly", "price": {"unit": "EUR", "value": 9.5}}),
            ),
            (
                format!("{PARTY}/individual"),
                json!({"givenName": "Ada", "familyName": "Lovelace"}),
            ),
            (
                format!("{PARTY}/organization"),
                json!({"tradingName": "Acme"}),
            ),
        ];
        let mut resources = Vec::new();
        for (collection, body) in bodies {
            let created = server.create(&collection, &body).await;
            let path = format!("{collection}/{}", created["id"].as_str().unwrap());
            resources.push((path, created));
        }
        Seeded { resources }
    }

    /// The first seeded offering's path: the target of hostile patches.
    fn offering(&self) -> &str {
        &self.resources[0].0
    }

    /// Every seeded resource reads back unchanged at its first version, and the
    /// server still answers its health check.
    async fn assert_intact(&self, server: &TestServer) {
        let health = server.get("/health").await;
        assert_eq!(health.status, 200, "{}", health.text);
        for (path, created) in &self.resources {
            let read = server.get(path).await;
            assert_eq!(read.status, 200, "{path}: {}", read.text);
            assert_eq!(&read.body, created, "{path}");
            assert_eq!(read.header("etag"), Some("W/\"1\""), "{path}");
        }
    }

    /// As `assert_intact`, and no collection holds anything but the seeded resources.
    async fn assert_alone(&self, server: &TestServer) {
        self.assert_intact(server).await;
        for collection in [
            offerings(),
            format!("{CATALOG}/productOfferingPrice"),
            format!("{PARTY}/individual"),
            format!("{PARTY}/organization"),
        ] {
            let listed = server.get(&collection).await;
            let expected: Vec<&Value> = self
                .resources
                .iter()
                .filter(|(path, _)| path.starts_with(&format!("{collection}/")))
                .map(|(_, created)| created)
                .collect();
            let listed: Vec<&Value> = listed.body.as_array().unwrap().iter().collect();
            assert_eq!(listed, expected, "{collection}");
        }
    }
}

/// Asserts a client error with a TMF body (never a 5xx).
fn assert_client_error(reply: &Reply, what: &str) {
    let status = reply.status.as_u16();
    assert!(
        (400..500).contains(&status),
        "{what}: {status} {}",
        reply.text
    );
    reply.assert_error(status);
}

async fn send_bytes(
    server: &TestServer,
    method: Method,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> Reply {
    server
        .send(method, path, Some(content_type), Some(body.to_vec()), &[])
        .await
}

/// Sends `request` as raw bytes on a new connection and returns the status code and
/// the body of the answer; fails if the connection closes without one.
async fn raw(server: &TestServer, request: Vec<u8>) -> (u16, String) {
    let address = server.base.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // Write and read at once: the server may answer before it has read everything.
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        writer
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), reader.read_to_end(&mut answer))
        .await
        .expect("no answer within 5 s");
    drop(writing);
    let text = String::from_utf8_lossy(&answer).to_string();
    assert!(
        text.starts_with("HTTP/1.1 "),
        "no HTTP answer ({read:?}): {text:?}"
    );
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

fn request_head(server: &TestServer, method: &str, target: &[u8]) -> Vec<u8> {
    let host = server.base.trim_start_matches("http://");
    let mut head = format!("{method} ").into_bytes();
    head.extend_from_slice(target);
    head.extend_from_slice(
        format!(" HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n").as_bytes(),
    );
    head
}

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_refused() {
    let server = TestServer::start().await;
    let seeded = Seeded::create(&server).await;
    let bodies: Vec<&[u8]> = vec![
        b"{",
        b"}",
        b"{\"name\": \"x\",}",
        b"{\"name\": 'x'}",
        b"{name: \"x\"}",
        b"{\"name\": \"x\"} trailing",
        b"{\"name\": \"x\"}{\"name\": \"y\"}",
        b"\xef\xbb\xbf{\"name\": \"bom\"}",
        b"{\"name\": NaN}",
        b"{\"name\": \"x\", \"percentage\": 1e400}",
        b"{\"name\": \"\\ud800\"}",
        b"{\"name\": \"\\x41\"}",
        b"{\"name\": \"\xff\xfe\"}",
        b"{\"name\": \"\xc3\"}",
        b"\x00\x00\x00",
        b"{\"name\": [\"x\"]}",
        b"{\"name\": {\"first\": \"x\"}}",
        b"{\"name\": null}",
        b"{\"name\": 12}",
        b"{\"name\": \"x\", \"category\": \"c1\"}",
        b"{\"name\": \"x\", \"category\": [{\"id\": 5}]}",
        b"{\"name\": \"x\", \"isBundle\": \"true\"}",
        b"{\"name\": \"x\", \"validFor\": \"2024\"}",
        b"{\"name\": \"x\", \"lifecycleStatus\": 7}",
        b"{\"name\": \"x\", \"lifecycleStatus\": \"'; DROP TABLE documents; --\"}",
    ];
    for body in &bodies {
        let what = String::from_utf8_lossy(body);
        let created = send_bytes(
            &server,
            Method::POST,
            &offerings(),
            "application/json",
            body,
        )
        .await;
        assert_client_error(&created, &format!("POST {what}"));
        // The same bytes as a merge patch of a stored offering.
        let patched = send_bytes(
            &server,
            Method::PATCH,
            seeded.offering(),
            "application/merge-patch+json",
            body,
        )
        .await;
        assert_client_error(&patched, &format!("PATCH {what}"));
    }
    // JSON Patch documents that are not, or that point nowhere.
    let patches: Vec<&[u8]> = vec![
        b"[",
        b"{}",
        b"[1, 2]",
        b"[{\"op\": \"add\"}]",
        b"[{\"op\": \"add\", \"path\": \"name\", \"value\": 1}]",
        b"[{\"op\": \"replace\", \"path\": \"/category/-1\", \"value\": {}}]",
        b"[{\"op\": \"replace\", \"path\": \"/category/99999999999999999999\", \"value\": {}}]",
        b"[{\"op\": \"move\", \"from\": \"/category\", \"path\": \"/category/0\"}]",
        b"[{\"op\": \"test\", \"path\": \"/~2\", \"value\": 1}]",
    ];
    for body in &patches {
        let what = String::from_utf8_lossy(body);
        let patched = send_bytes(
            &server,
            Method::PATCH,
            seeded.offering(),
            "application/json-patch+json",
            body,
        )
        .await;
        assert_client_error(&patched, &format!("JSON Patch {what}"));
    }
    seeded.assert_alone(&server).await;
}

#[tokio::test]
async fn deep_nesting_is_refused_not_recursed() {
    let server = TestServer::start().await;
    let seeded = Seeded::create(&server).await;
    let depth = 10_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    let as_attribute = format!("{{\"name\": \"deep\", \"extra\": {objects}}}");
    let as_patch_value =
        format!("[{{\"op\": \"add\", \"path\": \"/extra\", \"value\": {arrays}}}]");
    let unclosed = "[".repeat(depth);
    for body in [&arrays, &objects, &as_attribute, &unclosed] {
        let created = send_bytes(
            &server,
            Method::POST,
            &offerings(),
            "application/json",
            body.as_bytes(),
        )
        .await;
        assert_client_error(&created, "POST deep");
        let patched = send_bytes(
            &server,
            Method::PATCH,
            seeded.offering(),
            "application/merge-patch+json",
            body.as_bytes(),
        )
        .await;
        assert_client_error(&patched, "PATCH deep");
    }
    let patched = send_bytes(
        &server,
        Method::PATCH,
        seeded.offering(),
        "application/json-patch+json",
        as_patch_value.as_bytes(),
    )
    .await;
    assert_client_error(&patched, "JSON Patch deep");
    let subscribed = send_bytes(
        &server,
        Method::POST,
        &format!("{CATALOG}/hub"),
        "application/json",
        objects.as_bytes(),
    )
    .await;
    assert_client_error(&subscribed, "hub deep");
    seeded.assert_alone(&server).await;

    // Nesting within the parser's limit is ordinary data: stored and read back whole,
    // and a filter deeper than the path limit is refused.
    let moderate = 100;
    let nested = format!(
        "{}\"bottom\"{}",
        "{\"a\":".repeat(moderate),
        "}".repeat(moderate)
    );
    let body = format!("{{\"name\": \"nested\", \"extra\": {nested}}}");
    let created = send_bytes(
        &server,
        Method::POST,
        &offerings(),
        "application/json",
        body.as_bytes(),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let read = server
        .get(&format!(
            "{}/{}",
            offerings(),
            created.body["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(read.body, created.body);
    let expected: Value = serde_json::from_str(&nested).unwrap();
    assert_eq!(read.body["extra"], expected);
    let eight = server
        .get(&format!("{}?extra.a.a.a.a.a.a.a=bottom", offerings()))
        .await;
    assert_eq!(eight.status, 200, "{}", eight.text);
    assert_eq!(eight.body, json!([]));
    let nine = server
        .get(&format!("{}?extra.a.a.a.a.a.a.a.a=bottom", offerings()))
        .await;
    assert_client_error(&nine, "nine-segment path");
    seeded.assert_intact(&server).await;
}

#[tokio::test]
async fn huge_strings_are_stored_or_refused_whole() {
    let server = TestServer::start().await;
    let seeded = Seeded::create(&server).await;
    // Under the 1 MiB default limit: an ordinary, if large, description.
    let long_text = "n".repeat(900 * 1024);
    let created = server
        .create(
            &offerings(),
            &json!({"name": "Long", "description": long_text}),
        )
        .await;
    let path = format!("{}/{}", offerings(), created["id"].as_str().unwrap());
    let read = server.get(&path).await;
    assert_eq!(read.status, 200);
    assert_eq!(
        read.body["description"].as_str().unwrap().len(),
        long_text.len()
    );
    assert_eq!(read.body, created);
    let found = server
        .get(&format!(
            "{}?description.regex=^n{{255}}&fields=id",
            offerings()
        ))
        .await;
    assert_eq!(
        found.body,
        json!([{"id": created["id"], "href": created["href"]}])
    );

    // Attributes the store indexes are bounded (512 characters); text never holds NUL.
    let reply = server
        .post(&offerings(), &json!({"name": "n".repeat(513)}))
        .await;
    reply.assert_error(400);
    assert!(reply.body["message"].as_str().unwrap().contains("'name'"));
    server
        .create(&offerings(), &json!({"name": "n".repeat(512)}))
        .await;
    server
        .post(
            &offerings(),
            &json!({"name": "nul", "description": "a\u{0}b"}),
        )
        .await
        .assert_error(400);

    // Over it: refused, whether announced by Content-Length or not.
    let too_long = json!({"name": "x".repeat(2 << 20)});
    server.post(&offerings(), &too_long).await.assert_error(413);
    server
        .patch(&path, "application/merge-patch+json", &too_long)
        .await
        .assert_error(413);
    let mut chunked = request_head(&server, "POST", offerings().as_bytes());
    chunked
        .extend_from_slice(b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    let chunk = "x".repeat(64 * 1024);
    let opening = "{\"name\": \"";
    chunked.extend_from_slice(format!("{:x}\r\n{opening}\r\n", opening.len()).as_bytes());
    for _ in 0..32 {
        chunked.extend_from_slice(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, body) = raw(&server, chunked).await;
    assert_eq!(status, 413, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["@type"], "Error");

    assert_eq!(server.get(&path).await.body, created);
    seeded.assert_intact(&server).await;
}

#[tokio::test]
async fn invalid_utf8_and_percent_encoding_are_refused() {
    let server = TestServer::start().await;
    let seeded = Seeded::create(&server).await;
    // Percent-encoded bytes that are not UTF-8, in values, keys and the path.
    for query in [
        "name=%FF",
        "name=%E2%82",
        "%FF=x",
        "name.regex=%C0%80",
        "fields=%FE",
    ] {
        let reply = server.get(&format!("{}?{query}", offerings())).await;
        assert_client_error(&reply, query);
    }
    // Broken escapes are read literally, like any other text.
    for query in ["name=%ZZ", "name=%", "name=100%25", "name=%2"] {
        let reply = server.get(&format!("{}?{query}", offerings())).await;
        assert_eq!(reply.status, 200, "{query}: {}", reply.text);
        assert_eq!(reply.body, json!([]), "{query}");
    }
    for id in ["%FF", "%C0%80", "%00", "..%2F..%2Fetc%2Fpasswd", "%2e%2e"] {
        let path = format!("{}/{id}", offerings());
        assert_client_error(&server.get(&path).await, &path);
        let patched = server
            .patch(&path, "application/merge-patch+json", &json!({"name": "x"}))
            .await;
        assert_client_error(&patched, &path);
        assert_client_error(&server.delete(&path).await, &path);
    }
    // Raw bytes above 0x7F in the request target never reach a handler: the HTTP
    // parser answers a bare 400 (no TMF body is possible there), but it answers.
    for target in [
        [offerings().as_bytes(), b"?name=\xff\xfe"].concat(),
        [offerings().as_bytes(), b"/\xff"].concat(),
    ] {
        let mut request = request_head(&server, "GET", &target);
        request.extend_from_slice(b"\r\n");
        let (status, body) = raw(&server, request).await;
        assert_eq!(status, 400, "{body}");
    }
    seeded.assert_alone(&server).await;
}

#[tokio::test]
async fn hostile_filters_are_refused_or_answered_correctly() {
    let server = TestServer::start().await;
    let seeded = Seeded::create(&server).await;
    let path = offerings();
    let empty = [
        "name=' OR 1=1 --",
        "name=x' OR '1'='1",
        "name=Fiber'--",
        "description=' OR 1=1 --",
        "description=\") OR 1=1 --",
        "name.regex=' OR 1=1 --",
        "name=%00",
        "name=Fiber%00",
        "$=1",
        "@type=' OR 1=1",
        "category.id=c1') OR ('1'='1",
        "validFor.startDateTime.gt=9999-12-31T23:59:59Z",
        "validFor.startDateTime.lt=0000-01-01T00:00:00Z",
        "name.gt=\u{10FFFF}",
        "name.regex=(a+)+$",
        "name.regex=^(a|aa)+$",
    ];
    for query in empty {
        let reply = server.get(&format!("{path}?{query}")).await;
        assert_eq!(reply.status, 200, "{query}: {}", reply.text);
        assert_eq!(reply.body, json!([]), "{query}");
    }
    let refused = [
        "na\"me=x",
        "na'me=x",
        "name\"]=x",
        "a\\b=x",
        "$..x=1",
        "a..b=1",
        ".name=x",
        "name.=x",
        "na%00me=x",
        "a.b.c.d.e.f.g.h.i=1",
        "name(=1",
        "name.regex=(",
        "name.regex=[z-a]",
        "name.regex=\\",
        "name.regex=(?P<n>a)(?P<n>b)",
        "name.regex=(\\w{100}){100}",
        "name.regex=a{256}",
        "name.regex=a{2,300}",
        "sort=na\"me",
        "fields=a'b",
        "fields=a..b",
    ];
    for query in refused {
        let reply = server.get(&format!("{path}?{query}")).await;
        assert_client_error(&reply, query);
    }
    let long_regex = format!("name.regex={}", "a".repeat(257));
    assert_client_error(
        &server.get(&format!("{path}?{long_regex}")).await,
        "long regex",
    );
    let longest_regex = format!("name.regex={}", "a".repeat(256));
    let reply = server.get(&format!("{path}?{longest_regex}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let too_many: String = (0..33).map(|index| format!("a{index}=1&")).collect();
    assert_client_error(
        &server.get(&format!("{path}?{too_many}")).await,
        "33 conditions",
    );
    let segment = "s".repeat(129);
    assert_client_error(
        &server.get(&format!("{path}?{segment}=1")).await,
        "long segment",
    );

    // Against stored values built to make a backtracking engine explode.
    // (`name` is indexed and so bounded to 512 characters; `description` is not.)
    let trap = format!("{}b", "a".repeat(30_000));
    let bait = "a".repeat(30_000);
    let trapped = server
        .create(
            &path,
            &json!({"name": &trap[29_500..], "description": trap}),
        )
        .await;
    let baited = server
        .create(&path, &json!({"name": &bait[..500], "description": bait}))
        .await;
    for attribute in ["name", "description"] {
        // `+` is escaped: in a query string a raw one is a space (form encoding).
        for pattern in ["(a%2B)%2B$", "^(a|aa)%2B$", "^(a*)*$", "(a%2B)%2B%24"] {
            let started = std::time::Instant::now();
            let reply = server
                .get(&format!("{path}?{attribute}.regex={pattern}&fields=id"))
                .await;
            assert_eq!(reply.status, 200, "{pattern}: {}", reply.text);
            assert_eq!(
                reply.body,
                json!([{"id": baited["id"], "href": baited["href"]}]),
                "{attribute} {pattern}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{pattern} took {:?}",
                started.elapsed()
            );
        }
    }
    for created in [&trapped, &baited] {
        server
            .delete(&format!("{path}/{}", created["id"].as_str().unwrap()))
            .await;
    }
    seeded.assert_alone(&server).await;
}

#[tokio::test]
async fn oversized_query_lists_are_refused_or_answered() {
    let server = TestServer::start().await;
    let seeded = Seeded::create(&server).await;
    let path = offerings();
    let fiber = &seeded.resources[0].1;
    let only_fiber = json!([{"id": fiber["id"], "href": fiber["href"]}]);
    // Alternatives: up to 256 per filter, in a column or in the document, with numbers
    // and dates among them; more is refused before it reaches the database.
    let many = |count: usize, last: &str| {
        let mut values: Vec<String> = (1..count).map(|index| format!("n{index}")).collect();
        values[0] = "7".to_string();
        values[1] = "2024-01-01T00:00:00Z".to_string();
        values.push(last.to_string());
        values.join(",")
    };
    for attribute in ["name", "description"] {
        let last = if attribute == "name" { "Fiber" } else { "seed" };
        let most = server
            .get(&format!("{path}?{attribute}={}&fields=id", many(256, last)))
            .await;
        assert_eq!(most.status, 200, "{attribute}: {}", most.text);
        assert_eq!(most.body, only_fiber, "{attribute}");
        let negated = server
            .get(&format!(
                "{path}?{attribute}.ne={}&fields=id",
                many(256, last)
            ))
            .await;
        assert_eq!(negated.status, 200, "{attribute}: {}", negated.text);
        assert_eq!(negated.body.as_array().unwrap().len(), 1, "{attribute}");
        let too_many = server
            .get(&format!("{path}?{attribute}={}", many(257, last)))
            .await;
        assert_client_error(&too_many, &format!("257 values of {attribute}"));
        let far_too_many = server
            .get(&format!("{path}?{attribute}={}", many(5000, last)))
            .await;
        assert_client_error(&far_too_many, &format!("5000 values of {attribute}"));
    }
    // In all, up to 1024 values: four filters of 256, 8 levels deep, dates in one and
    // numbers in the others, are answered quickly; one value more is refused.
    let dates: Vec<String> = (0..256)
        .map(|second| format!("2024-01-01T00:{:02}:{:02}Z", second / 60, second % 60))
        .collect();
    let numbers: Vec<String> = (0..256).map(|number| number.to_string()).collect();
    let heavy: String = (0..4)
        .map(|index| {
            let values = if index == 0 { &dates } else { &numbers };
            format!("a{index}.b.c.d.e.f.g.h.gte={}&", values.join(","))
        })
        .collect();
    let started = std::time::Instant::now();
    let reply = server.get(&format!("{path}?{heavy}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body, json!([]));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    let spread: String = (0..31)
        .map(|index| format!("a{index}.b.c.d.e.f.g.h={}&", numbers[..33].join(",")))
        .collect();
    let reply = server.get(&format!("{path}?{spread}name=Fiber")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body, json!([]));
    for over in [
        format!("{heavy}name=Fiber"),
        format!("{spread}name=Fiber,Mobile"),
    ] {
        let reply = server.get(&format!("{path}?{over}")).await;
        assert_client_error(&reply, "1025 values");
        assert!(reply.text.contains("1024 values in all"), "{}", reply.text);
    }

    // Sort keys: up to 16.
    let sixteen = ["name", "-description", "price.value", "-lastUpdate"]
        .repeat(4)
        .join(",");
    let reply = server.get(&format!("{path}?sort={sixteen}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body.as_array().unwrap().len(), 2);
    for keys in [17, 5000] {
        let sort = vec!["name"; keys].join(",");
        let reply = server.get(&format!("{path}?sort={sort}")).await;
        assert_client_error(&reply, &format!("{keys} sort keys"));
    }
    // Projection runs in memory: many fields are merely slow to ignore.
    let fields: Vec<String> = (0..5000).map(|index| format!("f{index}")).collect();
    let reply = server
        .get(&format!("{path}?fields=name,{}", fields.join(",")))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body.as_array().unwrap().len(), 2);
    assert_eq!(reply.body[0]["name"], "Fiber");

    let long_value = format!("{path}?name={}", "v".repeat(60 * 1024));
    let reply = server.get(&long_value).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body, json!([]));
    seeded.assert_alone(&server).await;
}

#[tokio::test]
async fn odd_methods_and_headers_are_answered() {
    let server = TestServer::start().await;
    let seeded = Seeded::create(&server).await;
    let custom = Method::from_bytes(b"FROBNICATE").unwrap();
    for path in [offerings(), seeded.offering().to_string()] {
        let reply = server.send(custom.clone(), &path, None, None, &[]).await;
        assert_client_error(&reply, "custom method");
    }
    let body = json!({"name": "x"}).to_string().into_bytes();
    for content_type in ["", "application/", ";;;", "application/json-seq"] {
        let reply = server
            .send(
                Method::POST,
                &offerings(),
                Some(content_type),
                Some(body.clone()),
                &[],
            )
            .await;
        assert_client_error(&reply, content_type);
    }
    for if_match in [
        "",
        "garbage",
        "W/",
        "\"",
        "W/\"-1\"",
        "W/\"99999999999999999999\"",
    ] {
        let reply = server
            .send(
                Method::PATCH,
                seeded.offering(),
                Some("application/merge-patch+json"),
                Some(body.clone()),
                &[("if-match", if_match)],
            )
            .await;
        assert_client_error(&reply, if_match);
    }
    // A Content-Length larger than the body, then the connection closed early: a body
    // cut short, not one over the limit.
    let mut lying = request_head(&server, "POST", offerings().as_bytes());
    lying.extend_from_slice(
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\": \"x\"}",
    );
    let address = server.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream.write_all(&lying).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("the server kept the connection open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    let error: Value = serde_json::from_str(body).unwrap();
    assert_eq!(error["@type"], "Error");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("could not be read"),
        "{error}"
    );
    seeded.assert_alone(&server).await;
}
