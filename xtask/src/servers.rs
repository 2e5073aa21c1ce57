//! What every benchmark stands on: the release server (built, started on core 0 on a
//! database of its own, and that database dropped again), the bare axum baseline, and
//! the curl calls that seed and probe a server.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;

/// A static document the size of a typical offering (the baseline's answer).
const BARE_BODY: &str = r#"{"id":"7d3c5a4e-1f2b-4c8d-9e0a-b1c2d3e4f5a6","href":"http://127.0.0.1:8080/tmf-api/productCatalogManagement/v4/productOffering/7d3c5a4e-1f2b-4c8d-9e0a-b1c2d3e4f5a6","name":"Fiber 1G residential","description":"benchmark offering","lifecycleStatus":"Launched","lastUpdate":"2026-11-27T08:00:00.000Z","productSpecification":{"id":"ps-1","name":"Fiber access"},"@type":"ProductOffering","isBundle":false}"#;

/// Serves `BARE_BODY` on every GET: the ceiling any handler on this stack can reach.
pub fn bare_server(address: &str) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let app = axum::Router::new().fallback(|| async {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                BARE_BODY,
            )
        });
        axum::serve(listener, app).await?;
        Ok::<(), crate::Error>(())
    })
}

pub(crate) struct Process(pub(crate) Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub(crate) fn require(tool: &str) -> Result<()> {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()?
        .success();
    if found {
        return Ok(());
    }
    Err(format!("{tool} is not installed (apt-get install {tool})").into())
}

/// POSTs a JSON body and returns the created resource's id.
pub(crate) fn post_id(url: &str, body: &str) -> Result<String> {
    let output = Command::new("curl")
        .args([
            "-s",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
            url,
        ])
        .output()?;
    let created: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    created
        .get("id")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("POST {url} created nothing: {created}").into())
}

/// `curl` a URL; returns (headers, body).
pub(crate) fn curl(url: &str) -> Result<(String, String)> {
    let output = Command::new("curl").args(["-s", "-D", "-", url]).output()?;
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let (headers, body) = text
        .split_once("\r\n\r\n")
        .map(|(h, b)| (h.to_string(), b.to_string()))
        .unwrap_or_default();
    Ok((headers, body))
}

pub(crate) fn wait_up(url: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok((headers, _)) = curl(url) {
            if headers.starts_with("HTTP/1.1 200") {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("{url} did not come up").into())
}

/// Builds the release server; answers the binary's path.
pub(crate) fn build_server() -> Result<PathBuf> {
    let root = crate::workspace_root()?;
    println!("building the release server…");
    let built = Command::new("cargo")
        .args(["build", "--release", "-p", "switchboard"])
        .current_dir(&root)
        .status()?;
    if !built.success() {
        return Err("cargo build failed".into());
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    Ok(target.join("release/switchboard"))
}

/// Starts the bare axum baseline on core 0; answers its process and base URL.
pub(crate) fn start_bare() -> Result<(Process, String)> {
    let bare_port = free_port()?;
    let bare_process = Process(
        Command::new("taskset")
            .args(["-c", "0"])
            .arg(std::env::current_exe()?)
            .args(["bare-server", &format!("127.0.0.1:{bare_port}")])
            .stdout(Stdio::null())
            .spawn()?,
    );
    let bare = format!("http://127.0.0.1:{bare_port}");
    wait_up(&format!("{bare}/"))?;
    Ok((bare_process, bare))
}

/// Where a bench keeps its data: a schema of its own on the PostgreSQL server `url`
/// (dropped by `drop_database`), else an SQLite file in `work`. Answers the database
/// URL and whether it is PostgreSQL.
pub(crate) fn bench_database(url: Option<&String>, work: &Path, name: &str) -> (String, bool) {
    match url {
        Some(url) => {
            let schema = format!("{name}_{}", std::process::id());
            let separator = if url.contains('?') { '&' } else { '?' };
            (format!("{url}{separator}schema={schema}"), true)
        }
        None => (work.join(format!("{name}.db")).display().to_string(), false),
    }
}

/// Drops a bench's PostgreSQL schema again (psql, where installed).
pub(crate) fn drop_database(url: Option<&String>, database: &str) {
    if let (Some(url), Some(schema)) = (url, database.split("schema=").nth(1)) {
        let _ = Command::new("psql")
            .args([url.as_str(), "-q", "-c"])
            .arg(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .env("PGOPTIONS", "--client-min-messages=warning")
            .status();
    }
}

/// Starts a server on core 0 on `database` with `flags`; answers it and its base URL
/// once it is healthy.
pub(crate) fn start_server(
    binary: &Path,
    database: &str,
    flags: &[&str],
) -> Result<(Process, String)> {
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let server = Process(
        Command::new("taskset")
            .args(["-c", "0"])
            .arg(binary)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", database])
            .args(flags)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()?,
    );
    wait_up(&format!("{base}/health"))?;
    Ok((server, base))
}
