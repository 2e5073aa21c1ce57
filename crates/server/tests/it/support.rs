//! The test harness: start and restart a server on a temp SQLite file, call it, and
//! receive its events on a local listener.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use switchboard::ServeConfig;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const CATALOG: &str = "/tmf-api/productCatalogManagement/v4";
pub const PARTY: &str = "/tmf-api/party/v4";
pub const PARTY_ROLE: &str = "/tmf-api/partyRoleManagement/v4";

/// The database a new test server uses: a fresh schema of the PostgreSQL server named by
/// `SWITCHBOARD_TEST_DATABASE_URL` when it is set, else a new SQLite file in `dir`.
pub fn database_url(dir: &tempfile::TempDir) -> String {
    let postgres = std::env::var("SWITCHBOARD_TEST_DATABASE_URL").ok();
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        // Straight to the stream, past the test harness's capture: the run says which
        // backend it tested.
        use std::io::Write;
        let line = match postgres.as_deref() {
            Some(url) if !url.is_empty() => {
                format!("integration tests: backend PostgreSQL ({url}), a schema per test")
            }
            _ => "integration tests: backend SQLite only; PostgreSQL was NOT tested \
                  (set SWITCHBOARD_TEST_DATABASE_URL=postgres://… to test it)"
                .to_string(),
        };
        let _ = writeln!(std::io::stderr(), "{line}");
    });
    match postgres {
        Some(url) if !url.is_empty() => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let separator = if url.contains('?') { '&' } else { '?' };
            format!("{url}{separator}schema={schema}")
        }
        _ => dir.path().join("switchboard.db").display().to_string(),
    }
}

/// The PostgreSQL server of `SWITCHBOARD_TEST_DATABASE_URL`, for a test that cannot run
/// without one. Such tests are `#[ignore = "needs PostgreSQL: …"]`: `cargo test` reports
/// them as ignored, never as passed; `.ci/run` runs them with `--include-ignored` on its
/// PostgreSQL pass and fails if any test was still ignored there. Run without the
/// variable (`--include-ignored` on SQLite), such a test fails here.
pub fn postgres_url() -> String {
    match std::env::var("SWITCHBOARD_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!("this test needs PostgreSQL: set SWITCHBOARD_TEST_DATABASE_URL"),
    }
}

pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub dir: Arc<tempfile::TempDir>,
    pub config: ServeConfig,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

/// A response with its body read.
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts a TMF error body with this status.
    /// A TMF error body with `status`: `code` and `status` the status as strings
    /// (TMF630), or, for an API whose `Error` types them so (TMF685 v1), as integers
    /// with `reason` too.
    pub fn assert_error(&self, status: u16) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(self.body["@type"], "Error", "body: {}", self.text);
        if self.body["status"].is_number() {
            for field in ["code", "reason", "status"] {
                assert_eq!(self.body[field], status, "{field}: {}", self.text);
            }
        } else {
            for field in ["code", "status"] {
                assert_eq!(
                    self.body[field],
                    status.to_string(),
                    "{field}: {}",
                    self.text
                );
            }
            assert!(self.body["reason"].is_string(), "body: {}", self.text);
        }
        assert!(self.body["message"].is_string(), "body: {}", self.text);
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts on a new temp database, after `adjust` changes the configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut ServeConfig)) -> TestServer {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let mut config = ServeConfig::new("127.0.0.1:0", database_url(&dir));
        config.poll_interval_ms = 100;
        // Small pools: the tests of a run share one PostgreSQL server.
        config.pg_connections = 4;
        config.delivery_backoff_ms = 50;
        // A resolved ticket's auto-close would wait in the queue for days, and
        // `Queue::wait_idle` for it: the tests of the auto-close set their own delay.
        config.ticket_auto_close = "off".to_string();
        adjust(&mut config);
        Self::launch(config, dir).await
    }

    async fn launch(mut config: ServeConfig, dir: Arc<tempfile::TempDir>) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        config.listen = address.to_string();
        config.public_url = Some(format!("http://{address}"));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let serve_config = config.clone();
        let handle = tokio::spawn(async move {
            switchboard::serve(serve_config, listener, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        let server = TestServer {
            base: format!("http://{address}"),
            client: reqwest::Client::new(),
            dir,
            config,
            shutdown: Some(shutdown),
            handle: Some(handle),
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(response) = self.client.get(self.url("/health")).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("server did not become ready");
    }

    /// Stops the server and starts a new one on the same database file.
    pub async fn restart(mut self) -> TestServer {
        self.stop().await;
        let config = self.config.clone();
        Self::launch(config, self.dir.clone()).await
    }

    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(handle) = self.handle.take() {
            let _ = handle.await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request with an optional JSON body and content type.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(
            Method::POST,
            path,
            Some("application/json"),
            Some(body.to_string().into_bytes()),
            &[],
        )
        .await
    }

    pub async fn patch(&self, path: &str, content_type: &str, body: &Value) -> Reply {
        self.send(
            Method::PATCH,
            path,
            Some(content_type),
            Some(body.to_string().into_bytes()),
            &[],
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None, None, &[]).await
    }

    /// Creates a resource, asserting 201, and returns its body.
    pub async fn create(&self, path: &str, body: &Value) -> Value {
        let reply = self.post(path, body).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "POST {path}: {}",
            reply.text
        );
        reply.body
    }

    /// Creates a resource, asserting 201, and returns its id.
    pub async fn create_id(&self, path: &str, body: &Value) -> String {
        self.create(path, body).await["id"]
            .as_str()
            .expect("a created resource has an id")
            .to_string()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A local HTTP endpoint that records the events POSTed to it; it answers 500 to the
/// first `failures` requests, then 201.
pub struct Listener {
    pub url: String,
    pub received: Arc<Mutex<Vec<Value>>>,
    pub attempts: Arc<Mutex<usize>>,
    _task: JoinHandle<()>,
}

impl Listener {
    pub async fn start(failures: usize) -> Listener {
        let received = Arc::new(Mutex::new(Vec::new()));
        let attempts = Arc::new(Mutex::new(0usize));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let app = {
            let received = received.clone();
            let attempts = attempts.clone();
            axum::Router::new().fallback(move |body: axum::body::Bytes| {
                let received = received.clone();
                let attempts = attempts.clone();
                async move {
                    let attempt = {
                        let mut count = attempts.lock().unwrap();
                        *count += 1;
                        *count
                    };
                    if attempt <= failures {
                        return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    if let Ok(value) = serde_json::from_slice::<Value>(&body) {
                        received.lock().unwrap().push(value);
                    }
                    axum::http::StatusCode::CREATED
                }
            })
        };
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Listener {
            url: format!("http://{address}/listener"),
            received,
            attempts,
            _task: task,
        }
    }

    /// Waits until at least `count` events arrived (or the deadline passes) and returns them.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let events = self.received.lock().unwrap().clone();
            if events.len() >= count || Instant::now() >= deadline {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn events(&self) -> Vec<Value> {
        self.received.lock().unwrap().clone()
    }
}

/// Polls `check` until it holds or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The server's job queue, read from its database file. Tests otherwise see only HTTP;
/// "no job left" is what turns "nothing more arrived" into a final answer.
pub struct Queue {
    store: switchboard_store::Store,
}

impl TestServer {
    /// Opens the server's database beside it (WAL lets both read and write).
    pub async fn queue(&self) -> Queue {
        let config = switchboard_store::StoreConfig::new(self.config.database_url.clone());
        Queue {
            store: switchboard_store::Store::open(&config).await.unwrap(),
        }
    }
}

impl Queue {
    /// Opens the job queue of any database URL (servers in other processes included).
    pub async fn open(database_url: &str) -> Queue {
        let config = switchboard_store::StoreConfig::new(database_url.to_string());
        Queue {
            store: switchboard_store::Store::open(&config).await.unwrap(),
        }
    }

    /// Jobs not finished yet: ready, waiting for a retry, or leased by a worker.
    pub async fn pending(&self) -> i64 {
        self.store.pending_jobs().await.unwrap()
    }

    pub async fn dead(&self) -> Vec<switchboard_store::DeadJob> {
        self.store.dead_jobs().await.unwrap()
    }

    /// Waits until every queued job has completed or died; panics after 5 s.
    pub async fn wait_idle(&self) {
        let idle = eventually(Duration::from_secs(5), || async {
            self.pending().await == 0
        })
        .await;
        assert!(
            idle,
            "{} jobs still pending after 5 s",
            self.pending().await
        );
    }
}

/// One request a `Hook` received, with the status it was answered with.
#[derive(Debug, Clone)]
pub struct HookRequest {
    pub method: String,
    /// Path and query, as the request line carried them.
    pub target: String,
    pub content_type: Option<String>,
    pub body: Value,
    pub answered: u16,
}

/// A local callback endpoint whose answer the test switches at will (a subscriber
/// that is down, then back); it records every request, refused ones included.
pub struct Hook {
    pub address: SocketAddr,
    status: Arc<std::sync::atomic::AtomicU16>,
    requests: Arc<Mutex<Vec<HookRequest>>>,
    _task: JoinHandle<()>,
}

impl Hook {
    pub async fn start(status: u16) -> Hook {
        let status = Arc::new(std::sync::atomic::AtomicU16::new(status));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = {
            let status = status.clone();
            let requests = requests.clone();
            axum::Router::new().fallback(move |request: axum::extract::Request| {
                let status = status.clone();
                let requests = requests.clone();
                async move {
                    let answered = status.load(std::sync::atomic::Ordering::SeqCst);
                    let method = request.method().to_string();
                    let target = request
                        .uri()
                        .path_and_query()
                        .map(|target| target.as_str().to_string())
                        .unwrap_or_default();
                    let content_type = request
                        .headers()
                        .get("content-type")
                        .and_then(|value| value.to_str().ok())
                        .map(str::to_string);
                    let bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
                        .await
                        .unwrap_or_default();
                    requests.lock().unwrap().push(HookRequest {
                        method,
                        target,
                        content_type,
                        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                        answered,
                    });
                    axum::http::StatusCode::from_u16(answered).unwrap()
                }
            })
        };
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Hook {
            address,
            status,
            requests,
            _task: task,
        }
    }

    /// The callback URL for `path_and_query` on this endpoint.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.address)
    }

    /// From now on, answer every request with `status`.
    pub fn answer(&self, status: u16) {
        self.status
            .store(status, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<HookRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// The requests answered with a 2xx: the deliveries that succeeded.
    pub fn delivered(&self) -> Vec<HookRequest> {
        self.requests()
            .into_iter()
            .filter(|request| (200..300).contains(&request.answered))
            .collect()
    }
}

/// A callback URL on which nothing listens: the port stays bound (so no other test can
/// take it) but never accepts, so every connection is refused at once.
pub fn refusing_callback() -> (tokio::net::TcpSocket, String) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let address = socket.local_addr().unwrap();
    (socket, format!("http://{address}/listener"))
}
