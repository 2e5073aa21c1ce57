//! Real server processes of the `switchboard` binary, for the tests that need several
//! processes on one database or a kill -9: start one on a free port, wait for
//! `/health`, call it over HTTP, kill it, start it again on the same database. Every
//! child is killed when its `ServerProcess` is dropped, so none outlives its test.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::Reply;

/// The flags a process is started with, beside its address and database.
#[derive(Debug, Clone)]
pub struct ProcessConfig {
    pub poll_interval_ms: u64,
    pub delivery_backoff_ms: i64,
    pub delivery_timeout_ms: u64,
    pub job_lease_ms: i64,
    /// `--activation`: the adapter services are activated through.
    pub activation: String,
    /// Further `serve` flags, after the others (`--demo`, `--role api`).
    pub extra_args: Vec<String>,
}

impl Default for ProcessConfig {
    /// Quick polls and retries, as in the in-process suite; the lease is the binary's.
    fn default() -> Self {
        ProcessConfig {
            poll_interval_ms: 100,
            delivery_backoff_ms: 50,
            delivery_timeout_ms: 5000,
            job_lease_ms: 30_000,
            activation: "simulator".to_string(),
            extra_args: Vec::new(),
        }
    }
}

/// One `switchboard serve` child process.
pub struct ServerProcess {
    /// `http://127.0.0.1:PORT` of the running process.
    pub base: String,
    pub database_url: String,
    pub config: ProcessConfig,
    pub client: reqwest::Client,
    child: Option<Child>,
    /// stdout and stderr of every run, appended; shown when a start fails.
    log: PathBuf,
    _logs: tempfile::TempDir,
}

/// How long a process may take to answer `/health` (two busy cores, a debug build).
const START_WITHIN: Duration = Duration::from_secs(15);

impl ServerProcess {
    /// Starts a process on `database_url` and waits until it answers `/health`.
    pub async fn start(database_url: &str, config: ProcessConfig) -> ServerProcess {
        let logs = tempfile::tempdir().unwrap();
        let mut process = ServerProcess {
            base: String::new(),
            database_url: database_url.to_string(),
            config,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            child: None,
            log: logs.path().join("server.log"),
            _logs: logs,
        };
        process.spawn().await;
        process
    }

    /// Kills the process at once (SIGKILL: no shutdown, no settling of running jobs)
    /// and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the process if it still runs, then starts a new one on the same database
    /// (on a new free port).
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    async fn spawn(&mut self) {
        // The port is free when picked but may be taken before the child binds it: a
        // child that exits at once is started again on another one.
        for _ in 0..3 {
            let port = free_port();
            let base = format!("http://127.0.0.1:{port}");
            let log = File::options()
                .create(true)
                .append(true)
                .open(&self.log)
                .unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
                .arg("serve")
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .args(["--database-url", &self.database_url])
                .args(["--public-url", &base])
                .args([
                    "--poll-interval-ms",
                    &self.config.poll_interval_ms.to_string(),
                ])
                .args([
                    "--delivery-backoff-ms",
                    &self.config.delivery_backoff_ms.to_string(),
                ])
                .args([
                    "--delivery-timeout-ms",
                    &self.config.delivery_timeout_ms.to_string(),
                ])
                .args(["--job-lease-ms", &self.config.job_lease_ms.to_string()])
                .args(["--activation", &self.config.activation])
                // Small pools: several processes and tests share one PostgreSQL.
                .args(["--pg-connections", "4"])
                // As in-process servers (`support.rs`): a resolved ticket's auto-close,
                // due days later, would keep the queue from ever being idle.
                .args(["--ticket-auto-close", "off"])
                .args(&self.config.extra_args)
                .stdin(Stdio::null())
                .stdout(Stdio::from(log.try_clone().unwrap()))
                .stderr(Stdio::from(log))
                .spawn()
                .unwrap();
            self.child = Some(child);
            self.base = base;
            if self.wait_healthy().await {
                return;
            }
        }
        panic!(
            "switchboard did not start on {}; log:\n{}",
            self.database_url,
            self.log_tail()
        );
    }

    /// True once `/health` answers 200; false when the child exited first.
    async fn wait_healthy(&mut self) -> bool {
        let deadline = Instant::now() + START_WITHIN;
        loop {
            let exited = self
                .child
                .as_mut()
                .map(|child| child.try_wait().unwrap().is_some())
                .unwrap_or(true);
            if exited {
                self.child = None;
                return false;
            }
            let health = self
                .client
                .get(self.url("/health"))
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if health.is_ok_and(|response| response.status().is_success()) {
                return true;
            }
            if Instant::now() >= deadline {
                self.kill();
                panic!(
                    "switchboard gave no /health within {START_WITHIN:?}; log:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The end of the processes' output, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request with an optional JSON body; a transport error is an `Err` (the
    /// process may have been killed under it).
    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, reqwest::Error> {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Reply {
            status,
            headers,
            body,
            text,
        })
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.try_send(Method::GET, path, None).await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.try_send(Method::POST, path, Some(body)).await.unwrap()
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.try_send(Method::PATCH, path, Some(body))
            .await
            .unwrap()
    }

    /// Creates a resource, asserting 201, and returns its body.
    pub async fn create(&self, path: &str, body: &Value) -> Value {
        let reply = self.post(path, body).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "POST {path} on {}: {}",
            self.base,
            reply.text
        );
        reply.body
    }

    /// The sum of a Prometheus counter over every series that has all of `labels`
    /// (each like `queue="event.deliver"`), as this process counted it.
    pub async fn counter(&self, name: &str, labels: &[&str]) -> u64 {
        let text = self.get("/metrics").await.text;
        text.lines()
            .filter(|line| line.starts_with(&format!("{name}{{")))
            .filter(|line| labels.iter().all(|label| line.contains(label)))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .map(|value| value as u64)
            .sum()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A loopback port nothing listens on at this moment.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
