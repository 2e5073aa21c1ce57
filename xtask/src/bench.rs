//! `cargo xtask bench`: the CRUD benchmark. The release server runs on SQLite pinned to
//! core 0, wrk drives it from core 1 over loopback with 64 connections, and a bare axum
//! handler serving a static ~400-byte JSON document runs under the same load in the same
//! script, so every figure is also printed as a ratio to that baseline.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;

const OFFERINGS: &str = "/tmf-api/productCatalogManagement/v4/productOffering";
const POOLS: &str = "/tmf-api/resourcePoolManagement/v1/resourcePool";
const RESERVATIONS: &str = "/tmf-api/resourcePoolManagement/v1/reservation";
const RESOURCES: &str = "/tmf-api/resourceInventoryManagement/v4/resource";
const SERVICES: &str = "/tmf-api/serviceInventory/v4/service";
const PRODUCTS: &str = "/tmf-api/productInventory/v4/product";
const SERVICE_SPECS: &str = "/tmf-api/serviceCatalogManagement/v4/serviceSpecification";
const CONNECTIONS: u32 = 64;
/// Clients of the allocation case (the issue's figure).
const ALLOCATION_CLIENTS: u32 = 32;
/// Resources the impact inventory's services run on: each carries services/1000.
const IMPACT_RESOURCES: usize = 1000;

/// A static document the size of a typical offering (the baseline's answer).
const BARE_BODY: &str = r#"{"id":"7d3c5a4e-1f2b-4c8d-9e0a-b1c2d3e4f5a6","href":"http://127.0.0.1:8080/tmf-api/productCatalogManagement/v4/productOffering/7d3c5a4e-1f2b-4c8d-9e0a-b1c2d3e4f5a6","name":"Fiber 1G residential","description":"benchmark offering","lifecycleStatus":"Launched","lastUpdate":"2026-11-27T08:00:00.000Z","productSpecification":{"id":"ps-1","name":"Fiber access"},"@type":"ProductOffering","isBundle":false}"#;

struct Options {
    seconds: u32,
    runs: usize,
    items: u64,
    /// `postgres://…` to measure the PostgreSQL backend (a schema of its own is used);
    /// none for a fresh SQLite file.
    database_url: Option<String>,
    /// Server processes sharing the database (PostgreSQL only), all on core 0.
    processes: usize,
    /// Services in the inventory the impact walk runs over.
    services: u64,
}

fn options(args: &[String]) -> Result<Options> {
    let mut options = Options {
        seconds: 8,
        runs: 3,
        items: 100_000,
        database_url: None,
        processes: 1,
        services: 100_000,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let value = it.next().ok_or(format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--seconds" => options.seconds = value.parse()?,
            "--runs" => options.runs = value.parse()?,
            "--items" => options.items = value.parse()?,
            "--database-url" => options.database_url = Some(value.clone()),
            "--processes" => options.processes = value.parse::<usize>()?.max(1),
            "--services" => options.services = value.parse()?,
            other => return Err(format!("unknown bench option {other}").into()),
        }
    }
    if options.processes > 1 && options.database_url.is_none() {
        return Err("--processes above 1 needs --database-url postgres://… \
                    (an SQLite file belongs to one process)"
            .into());
    }
    Ok(options)
}

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

/// Ids of the first `count` documents of a collection, a thousand per page.
fn ids_of(base: &str, collection: &str, count: usize) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    while ids.len() < count {
        let (_, body) = curl(&format!(
            "{base}{collection}?fields=id&limit=1000&offset={}",
            ids.len()
        ))?;
        let page: serde_json::Value = serde_json::from_str(&body)?;
        let page = page.as_array().ok_or("no id list")?;
        if page.is_empty() {
            break;
        }
        ids.extend(
            page.iter()
                .filter_map(|item| item.get("id")?.as_str().map(str::to_string)),
        );
    }
    ids.truncate(count);
    Ok(ids)
}

/// Runs `script` against `urls` in 5-second rounds until `collection` holds at least
/// `wanted` documents; returns how many it holds.
fn fill(base: &str, collection: &str, urls: &[String], script: &Path, wanted: u64) -> Result<u64> {
    loop {
        let stored = count_of(&format!("{base}{collection}?limit=1"))?;
        if stored >= wanted {
            return Ok(stored);
        }
        wrk(urls, script, 5)?;
    }
}

fn lua_list(ids: &[String]) -> String {
    ids.iter()
        .map(|id| format!("\"{id}\""))
        .collect::<Vec<_>>()
        .join(",")
}

fn count_of(url: &str) -> Result<u64> {
    let (headers, _) = curl(url)?;
    headers
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("x-total-count")
                .then(|| value.trim().parse().ok())?
        })
        .ok_or_else(|| "no X-Total-Count header".into())
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

fn total_count(base: &str, query: &str) -> Result<u64> {
    count_of(&format!("{base}{OFFERINGS}?{query}"))
}

/// One wrk run's figures.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Figures {
    pub(crate) rate: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) errors: u64,
}

const REPORT: &str = r#"
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %d %d %.4f %.4f %d\n", summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
"#;

/// One wrk per server URL at once (the connections split between them), all on core
/// 1; rates add up, latencies are the worst of the runs.
pub(crate) fn wrk(urls: &[String], script: &Path, seconds: u32) -> Result<Figures> {
    wrk_with(urls, script, seconds, CONNECTIONS)
}

fn wrk_with(urls: &[String], script: &Path, seconds: u32, clients: u32) -> Result<Figures> {
    let connections = (clients as usize / urls.len()).max(1) as u32;
    let runs: Vec<std::result::Result<Figures, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = urls
            .iter()
            .map(|url| {
                scope.spawn(move || {
                    wrk_one(url, script, seconds, connections).map_err(|error| error.to_string())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err("wrk thread failed".to_string()))
            })
            .collect()
    });
    let mut total = Figures {
        rate: 0.0,
        p50_ms: 0.0,
        p99_ms: 0.0,
        errors: 0,
    };
    for run in runs {
        let run = run?;
        total.rate += run.rate;
        total.p50_ms = total.p50_ms.max(run.p50_ms);
        total.p99_ms = total.p99_ms.max(run.p99_ms);
        total.errors += run.errors;
    }
    Ok(total)
}

fn wrk_one(url: &str, script: &Path, seconds: u32, connections: u32) -> Result<Figures> {
    let output = Command::new("taskset")
        .args(["-c", "1", "wrk", "-t1"])
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("-s")
        .arg(script)
        .arg(url)
        .output()?;
    let [requests, micros, p50, p99, errors] = result_line(&output.stdout, "RESULT ", "wrk")?;
    Ok(Figures {
        rate: requests / (micros / 1e6),
        p50_ms: p50,
        p99_ms: p99,
        errors: errors as u64,
    })
}

/// The `N` numbers of the line starting with `tag` that a load tool (`tool`) printed.
pub(crate) fn result_line<const N: usize>(
    stdout: &[u8],
    tag: &str,
    tool: &str,
) -> Result<[f64; N]> {
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .find(|line| line.starts_with(tag))
        .ok_or_else(|| format!("{tool} printed no result: {text}"))?;
    let fields: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|field| field.parse().ok())
        .collect();
    fields
        .try_into()
        .map_err(|_| format!("unreadable {tool} result: {line}").into())
}

pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

pub(crate) fn summarize(runs: &[Figures]) -> Figures {
    Figures {
        rate: median(runs.iter().map(|f| f.rate).collect()),
        p50_ms: median(runs.iter().map(|f| f.p50_ms).collect()),
        p99_ms: median(runs.iter().map(|f| f.p99_ms).collect()),
        errors: runs.iter().map(|f| f.errors).sum(),
    }
}

pub(crate) fn write_script(dir: &Path, name: &str, body: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    fs::write(&path, format!("{body}\n{REPORT}"))?;
    Ok(path)
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

pub fn run(args: &[String]) -> Result<()> {
    let options = options(args)?;
    for tool in ["wrk", "taskset", "curl"] {
        require(tool)?;
    }
    let server_binary = build_server()?;
    let work = std::env::temp_dir().join(format!("switchboard-bench-{}", std::process::id()));
    fs::create_dir_all(&work)?;

    let (_bare, bare) = start_bare()?;

    let (database, postgres) = bench_database(options.database_url.as_ref(), &work, "bench");
    let backend = if postgres {
        format!("PostgreSQL, {} server process(es)", options.processes)
    } else {
        "SQLite".to_string()
    };
    let mut servers = Vec::new();
    let mut bases = Vec::new();
    for _ in 0..options.processes {
        let (server, base) = start_server(&server_binary, &database, &[])?;
        servers.push(server);
        bases.push(base);
    }
    let base = bases[0].clone();
    let at = |suffix: &str| -> Vec<String> {
        bases.iter().map(|base| format!("{base}{suffix}")).collect()
    };

    let plain = write_script(&work, "plain.lua", "")?;
    let post = write_script(
        &work,
        "post.lua",
        r#"
local states = {"In study", "In design", "In test", "Launched"}
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"name":"offering %d","description":"benchmark offering","lifecycleStatus":"%s","productSpecification":{"id":"ps-%d"}}', n, states[(n % 4) + 1], n % 100)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
"#,
    )?;

    // POST: measured while seeding the store; topped up to the wanted size afterwards.
    let mut post_runs = Vec::new();
    for _ in 0..options.runs {
        post_runs.push(wrk(&at(OFFERINGS), &post, options.seconds)?);
    }
    fill(&base, OFFERINGS, &at(OFFERINGS), &post, options.items)?;
    if let (Some(url), Some(schema)) = (&options.database_url, database.split("schema=").nth(1)) {
        // As a database in service would be after autovacuum: statistics and a visibility
        // map current, so counts can use index-only scans (psql, where installed).
        let _ = Command::new("psql")
            .args([url.as_str(), "-q", "-c"])
            .arg(format!("VACUUM ANALYZE {schema}.documents"))
            .status();
    }
    let stored = total_count(&base, "limit=1")?;
    let launched = total_count(&base, "lifecycleStatus=Launched&limit=1")?;

    let (_, ids) = curl(&format!(
        "{base}{OFFERINGS}?fields=id&limit=1000&offset=5000"
    ))?;
    let ids: serde_json::Value = serde_json::from_str(&ids)?;
    let ids: Vec<String> = ids
        .as_array()
        .ok_or("no id list")?
        .iter()
        .filter_map(|item| item.get("id")?.as_str().map(|id| format!("\"{id}\"")))
        .collect();
    let get = write_script(
        &work,
        "get.lua",
        &format!(
            "local ids = {{{}}}\nrequest = function()\n  return wrk.format(\"GET\", \"{OFFERINGS}/\" .. ids[math.random(#ids)])\nend\n",
            ids.join(",")
        ),
    )?;

    // Pages at a thousand different offsets: most miss the page cache, so this case
    // measures the database path of a filtered, counted page.
    let list_spread = write_script(
        &work,
        "list-spread.lua",
        &format!(
            "request = function()\n  return wrk.format(\"GET\", \"{OFFERINGS}?lifecycleStatus=Launched&limit=20&offset=\" .. math.random(0, 999))\nend\n"
        ),
    )?;

    let mut bare_runs = Vec::new();
    let mut get_runs = Vec::new();
    let mut list_runs = Vec::new();
    let mut spread_runs = Vec::new();
    for run in 0..options.runs {
        println!("run {}/{}…", run + 1, options.runs);
        bare_runs.push(wrk(&[format!("{bare}/")], &plain, options.seconds)?);
        get_runs.push(wrk(&at(""), &get, options.seconds)?);
        list_runs.push(wrk(
            &at(&format!("{OFFERINGS}?lifecycleStatus=Launched&limit=20")),
            &plain,
            options.seconds,
        )?);
        spread_runs.push(wrk(&at(""), &list_spread, options.seconds)?);
    }
    // Allocation: one pool, 32 clients reserving one unit each request.
    let pool = post_id(
        &format!("{base}{POOLS}"),
        r#"{"name":"bench pool","capacity":{"type":"count","amount":100000000}}"#,
    )?;
    let reserve = write_script(
        &work,
        "reserve.lua",
        &format!(
            r#"
local body = '{{"relatedParty":{{"id":"bench"}},"reservationItem":[{{"quantity":1,"resourceCapacity":{{"resourcePool":{{"id":"{pool}"}}}}}}]}}'
request = function()
  return wrk.format("POST", "{RESERVATIONS}", {{["Content-Type"] = "application/json"}}, body)
end
"#
        ),
    )?;
    let mut reserve_runs = Vec::new();
    for _ in 0..options.runs {
        reserve_runs.push(wrk_with(
            &at(""),
            &reserve,
            options.seconds,
            ALLOCATION_CLIENTS,
        )?);
    }
    let (_, availability) = curl(&format!("{base}{POOLS}/{pool}/availability"))?;
    let allocated = serde_json::from_str::<serde_json::Value>(&availability)?
        .get("allocatedAmount")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    let reserved = count_of(&format!("{base}{RESERVATIONS}?limit=1"))?;

    // Impact: services on 1000 resources, a product on every tenth service, walked from
    // random resources (each carries services/1000 services and their products).
    println!("seeding {} services for the impact walk…", options.services);
    let spec = post_id(
        &format!("{base}{SERVICE_SPECS}"),
        r#"{"name":"bench RFS","@type":"ResourceFacingServiceSpecification"}"#,
    )?;
    let mut resources = Vec::new();
    for index in 0..IMPACT_RESOURCES {
        resources.push(post_id(
            &format!("{base}{RESOURCES}"),
            &format!(r#"{{"name":"port {index}","resourceStatus":"available"}}"#),
        )?);
    }
    let seed_services = write_script(
        &work,
        "services.lua",
        &format!(
            r#"
local resources = {{{}}}
local n = 0
request = function()
  n = n + 1
  local body = string.format('{{"name":"service %d","state":"active","serviceSpecification":{{"id":"{spec}"}},"supportingResource":[{{"id":"%s"}}]}}', n, resources[(n % #resources) + 1])
  return wrk.format("POST", "{SERVICES}", {{["Content-Type"] = "application/json"}}, body)
end
"#,
            lua_list(&resources)
        ),
    )?;
    let services_stored = fill(&base, SERVICES, &at(""), &seed_services, options.services)?;
    let products_wanted = options.services / 10;
    let service_ids = ids_of(&base, SERVICES, products_wanted as usize)?;
    let seed_products = write_script(
        &work,
        "products.lua",
        &format!(
            r#"
local services = {{{}}}
local n = 0
request = function()
  n = n + 1
  local body = string.format('{{"name":"product %d","status":"active","realizingService":[{{"id":"%s"}}],"relatedParty":[{{"id":"customer-%d","role":"customer","@referredType":"Individual"}}]}}', n, services[(n % #services) + 1], n % 5000)
  return wrk.format("POST", "{PRODUCTS}", {{["Content-Type"] = "application/json"}}, body)
end
"#,
            lua_list(&service_ids)
        ),
    )?;
    let products_stored = fill(&base, PRODUCTS, &at(""), &seed_products, products_wanted)?;
    let (_, sample) = curl(&format!("{base}{RESOURCES}/{}/impact", resources[0]))?;
    let sample: serde_json::Value = serde_json::from_str(&sample)?;
    let walked = |key: &str| {
        sample
            .get(key)
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len)
    };
    let (walked_services, walked_products, walked_parties) = (
        walked("services"),
        walked("products"),
        walked("relatedParties"),
    );
    let impact = write_script(
        &work,
        "impact.lua",
        &format!(
            "local ids = {{{}}}\nrequest = function()\n  return wrk.format(\"GET\", \"{RESOURCES}/\" .. ids[math.random(#ids)] .. \"/impact\")\nend\n",
            lua_list(&resources)
        ),
    )?;
    let mut impact_runs = Vec::new();
    for _ in 0..options.runs {
        impact_runs.push(wrk(&at(""), &impact, options.seconds)?);
    }

    let baseline = summarize(&bare_runs);
    println!();
    println!(
        "switchboard bench: {backend}, server on core 0, wrk on core 1, {CONNECTIONS} connections, \
         {}s x {} runs (medians); {stored} offerings stored, {launched} Launched",
        options.seconds, options.runs
    );
    println!(
        "{:<44} {:>10} {:>9} {:>9} {:>9} {:>7}",
        "case", "req/s", "p50 ms", "p99 ms", "vs bare", "errors"
    );
    let cases = [
        ("bare axum, static 400-byte JSON (baseline)", baseline),
        ("GET productOffering/{id}", summarize(&get_runs)),
        ("POST productOffering", summarize(&post_runs)),
        (
            "GET ?lifecycleStatus=Launched&limit=20",
            summarize(&list_runs),
        ),
        (
            "  same, offset random in 0..999 (cache misses)",
            summarize(&spread_runs),
        ),
        (
            "POST reservation, one pool, 32 clients",
            summarize(&reserve_runs),
        ),
        ("GET resource/{id}/impact", summarize(&impact_runs)),
    ];
    for (name, figures) in cases {
        println!(
            "{:<44} {:>10.0} {:>9.3} {:>9.3} {:>8.1}% {:>7}",
            name,
            figures.rate,
            figures.p50_ms,
            figures.p99_ms,
            100.0 * figures.rate / baseline.rate,
            figures.errors
        );
    }
    println!(
        "allocation: {allocated} units allocated, {reserved} reservations stored (equal: no unit \
         handed out twice or lost)"
    );
    println!(
        "impact: {services_stored} services on {IMPACT_RESOURCES} resources, {products_stored} \
         products; one walk visits {walked_services} services, {walked_products} products, \
         {walked_parties} parties"
    );
    drop(servers);
    drop_database(options.database_url.as_ref(), &database);
    let _ = fs::remove_dir_all(&work);
    Ok(())
}
