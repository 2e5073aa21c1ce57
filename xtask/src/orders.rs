//! `cargo xtask bench-orders`: the order-to-activation benchmark (issue 5). The release
//! server runs on SQLite (or `--database-url postgres://…`) pinned to core 0 with the
//! activation simulator at zero delay; the load runs on core 1 in a child process of
//! this tool (`order-load`), which posts product orders for the 3-level catalog (one
//! product specification → one CFS → two RFSs → two resources, one drawn from an IPv4
//! pool) and hears each order's end through a TMF622 hub subscription, so an order's
//! latency is from its POST to its `completed` event.
//!
//! Two loads, each run `--runs` times for `--seconds` (medians printed):
//! - closed: `--clients` clients, each posting its next order when the last completed
//!   (the most orders per second the server sustains, and their latency);
//! - open: orders posted at a steady `--rate` per second whatever the server does
//!   (latency at the target rate).
//!
//! Baselines in the same script: bare axum under wrk, and POST productOffering (one
//! document write) under wrk against a second server with its own database (so the
//! orders' database holds the catalog and the orders only), so an order's cost reads as
//! a number of writes.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::servers::{
    bench_database, build_server, drop_database, post_id, require, start_bare, start_server,
};
use crate::wrk::{median, result_line, summarize, write_script, wrk};
use crate::Result;

const OFFERINGS: &str = "/tmf-api/productCatalogManagement/v4/productOffering";

struct Options {
    seconds: u32,
    runs: usize,
    clients: usize,
    rate: f64,
    database_url: Option<String>,
}

fn options(args: &[String]) -> Result<Options> {
    let mut options = Options {
        seconds: 10,
        runs: 3,
        clients: 32,
        rate: 300.0,
        database_url: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let value = it.next().ok_or(format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--seconds" => options.seconds = value.parse()?,
            "--runs" => options.runs = value.parse()?,
            "--clients" => options.clients = value.parse()?,
            "--rate" => options.rate = value.parse()?,
            "--database-url" => options.database_url = Some(value.clone()),
            other => return Err(format!("unknown bench-orders option {other}").into()),
        }
    }
    Ok(options)
}

fn patch(url: &str, body: &str) -> Result<()> {
    let status = Command::new("curl")
        .args(["-s", "-f", "-o", "/dev/null", "-X", "PATCH"])
        .args([
            "-H",
            "Content-Type: application/merge-patch+json",
            "-d",
            body,
            url,
        ])
        .status()?;
    if !status.success() {
        return Err(format!("PATCH {url} failed").into());
    }
    Ok(())
}

/// The catalog of the issue's 3-level order and a customer; answers
/// `OFFERING:CUSTOMER`, as `order-load` takes it.
fn catalog(base: &str) -> Result<String> {
    let customer = post_id(
        &format!("{base}/tmf-api/party/v4/organization"),
        r#"{"name":"Bench customer","tradingName":"Bench"}"#,
    )?;
    let pool = post_id(
        &format!("{base}/tmf-api/resourcePoolManagement/v1/resourcePool"),
        r#"{"name":"bench addresses","capacity":{"type":"ipv4","cidr":"10.0.0.0/8"}}"#,
    )?;
    let specs = format!("{base}/tmf-api/serviceCatalogManagement/v4/serviceSpecification");
    let resources = format!("{base}/tmf-api/resourceCatalog/v4/resourceSpecification");
    let products = format!("{base}/tmf-api/productCatalogManagement/v4/productSpecification");
    let product = post_id(
        &products,
        r#"{"name":"Internet","productSpecCharacteristic":[{"name":"bandwidth","valueType":"string","productSpecCharacteristicValue":[{"value":"100M","isDefault":true},{"value":"1G"}]}]}"#,
    )?;
    let cfs = post_id(
        &specs,
        &format!(
            r#"{{"name":"internet-cfs","@type":"CustomerFacingServiceSpecification","specCharacteristic":[{{"name":"bandwidth","valueType":"string","valueFrom":{{"productSpecification":{{"id":"{product}"}},"characteristic":"bandwidth"}}}}]}}"#
        ),
    )?;
    let access = post_id(
        &specs,
        &format!(
            r#"{{"name":"access-rfs","@type":"ResourceFacingServiceSpecification","specCharacteristic":[{{"name":"rate","valueType":"string","valueFrom":{{"serviceSpecification":{{"id":"{cfs}"}},"characteristic":"bandwidth"}}}}]}}"#
        ),
    )?;
    let addressing = post_id(
        &specs,
        r#"{"name":"addressing-rfs","@type":"ResourceFacingServiceSpecification"}"#,
    )?;
    let port = post_id(
        &resources,
        &format!(
            r#"{{"name":"access-port","resourceSpecCharacteristic":[{{"name":"speed","valueType":"string","valueFrom":{{"serviceSpecification":{{"id":"{access}"}},"characteristic":"rate"}}}}]}}"#
        ),
    )?;
    let address = post_id(
        &resources,
        &format!(
            r#"{{"name":"ip-address","resourcePool":{{"id":"{pool}","characteristic":"ipAddress"}},"resourceSpecCharacteristic":[{{"name":"ipAddress","valueType":"string"}}]}}"#
        ),
    )?;
    patch(
        &format!("{specs}/{access}"),
        &format!(r#"{{"resourceSpecification":[{{"id":"{port}"}}]}}"#),
    )?;
    patch(
        &format!("{specs}/{addressing}"),
        &format!(r#"{{"resourceSpecification":[{{"id":"{address}"}}]}}"#),
    )?;
    patch(
        &format!("{specs}/{cfs}"),
        &format!(
            r#"{{"serviceSpecRelationship":[{{"id":"{access}","relationshipType":"dependency"}},{{"id":"{addressing}","relationshipType":"dependency"}}]}}"#
        ),
    )?;
    patch(
        &format!("{products}/{product}"),
        &format!(r#"{{"serviceSpecification":[{{"id":"{cfs}"}}]}}"#),
    )?;
    let offering = post_id(
        &format!("{base}{OFFERINGS}"),
        &format!(
            r#"{{"name":"Internet 1G","lifecycleStatus":"Launched","productSpecification":{{"id":"{product}"}}}}"#
        ),
    )?;
    Ok(format!("{offering}:{customer}"))
}

/// `order-catalog BASE`: makes the bench's catalog on a running server and prints
/// `OFFERING:CUSTOMER` for `order-load` (profiling one case by hand).
pub fn order_catalog(args: &[String]) -> Result<()> {
    let [base] = args else {
        return Err("order-catalog BASE".into());
    };
    println!("{}", catalog(base)?);
    Ok(())
}

/// What one load run measured.
#[derive(Debug, Clone, Copy)]
struct Measured {
    /// Orders completed per second of the run.
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Orders posted in the run.
    posted: u64,
    /// Orders that ended otherwise than completed, or not at all within 30 s.
    unfinished: u64,
}

fn load(exe: &PathBuf, base: &str, offering: &str, mode: &str, seconds: u32) -> Result<Measured> {
    let output = Command::new("taskset")
        .args(["-c", "1"])
        .arg(exe)
        .args(["order-load", base, offering, mode, &seconds.to_string()])
        .stderr(Stdio::inherit())
        .output()?;
    let [rate, p50_ms, p99_ms, posted, unfinished] =
        result_line(&output.stdout, "ORDERS ", "order-load")?;
    Ok(Measured {
        rate,
        p50_ms,
        p99_ms,
        posted: posted as u64,
        unfinished: unfinished as u64,
    })
}

pub fn run(args: &[String]) -> Result<()> {
    let options = options(args)?;
    for tool in ["wrk", "taskset", "curl"] {
        require(tool)?;
    }
    let server_binary = build_server()?;
    let exe = std::env::current_exe()?;
    let work = std::env::temp_dir().join(format!("switchboard-orders-{}", std::process::id()));
    fs::create_dir_all(&work)?;

    let (_bare, bare) = start_bare()?;

    let (database, postgres) = bench_database(options.database_url.as_ref(), &work, "orders");
    let backend = if postgres { "PostgreSQL" } else { "SQLite" };
    let (server, base) = start_server(&server_binary, &database, &["--activation", "simulator"])?;
    let offering = catalog(&base)?;
    // The write baseline has a server and database of its own: its hundreds of thousands
    // of offerings are not the orders' data (they would measure a database bloated by
    // another load, not the chain).
    let (writes_database, _) = bench_database(options.database_url.as_ref(), &work, "writes");
    let (writes_server, writes_base) = start_server(&server_binary, &writes_database, &[])?;

    let plain = write_script(&work, "plain.lua", "")?;
    let post = write_script(
        &work,
        "post.lua",
        r#"
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"name":"offering %d","lifecycleStatus":"In study"}', n)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
"#,
    )?;
    let closed = format!("closed:{}", options.clients);
    let open = format!("open:{}", options.rate);
    let (mut bare_runs, mut post_runs, mut closed_runs, mut open_runs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..options.runs {
        println!("run {}/{}…", run + 1, options.runs);
        bare_runs.push(wrk(&[format!("{bare}/")], &plain, options.seconds)?);
        post_runs.push(wrk(
            &[format!("{writes_base}{OFFERINGS}")],
            &post,
            options.seconds,
        )?);
        closed_runs.push(load(&exe, &base, &offering, &closed, options.seconds)?);
        open_runs.push(load(&exe, &base, &offering, &open, options.seconds)?);
    }
    drop(server);
    drop(writes_server);
    drop_database(options.database_url.as_ref(), &database);
    drop_database(options.database_url.as_ref(), &writes_database);
    let _ = fs::remove_dir_all(&work);

    let baseline = summarize(&bare_runs);
    let writes = summarize(&post_runs);
    println!();
    println!(
        "switchboard bench-orders: {backend}, simulator at zero delay, server on core 0, load on \
         core 1, {}s x {} runs (medians)",
        options.seconds, options.runs
    );
    println!(
        "an order: product order → service order (1 CFS) → resource order (2 resources, one \
         IPv4 pool unit) → 2 RFS activations → 3 services, 2 resources, 1 product"
    );
    println!(
        "{:<46} {:>9} {:>9} {:>9} {:>9} {:>11}",
        "case", "per s", "p50 ms", "p99 ms", "vs bare", "unfinished"
    );
    println!(
        "{:<46} {:>9.0} {:>9.3} {:>9.3} {:>8.1}% {:>11}",
        "bare axum, static JSON (baseline, wrk 64 conn)",
        baseline.rate,
        baseline.p50_ms,
        baseline.p99_ms,
        100.0,
        baseline.errors
    );
    println!(
        "{:<46} {:>9.0} {:>9.3} {:>9.3} {:>8.1}% {:>11}",
        "POST productOffering (one write, wrk 64 conn)",
        writes.rate,
        writes.p50_ms,
        writes.p99_ms,
        100.0 * writes.rate / baseline.rate,
        writes.errors
    );
    for (name, runs) in [
        (
            format!("orders, {} clients closed loop", options.clients),
            &closed_runs,
        ),
        (
            format!("orders, open loop at {}/s", options.rate),
            &open_runs,
        ),
    ] {
        let rate = median(runs.iter().map(|m| m.rate).collect());
        println!(
            "{:<46} {:>9.0} {:>9.1} {:>9.1} {:>8.2}% {:>11}",
            name,
            rate,
            median(runs.iter().map(|m| m.p50_ms).collect()),
            median(runs.iter().map(|m| m.p99_ms).collect()),
            100.0 * rate / baseline.rate,
            runs.iter().map(|m| m.unfinished).sum::<u64>(),
        );
    }
    let posted: u64 = closed_runs.iter().chain(&open_runs).map(|m| m.posted).sum();
    let closed_rate = median(closed_runs.iter().map(|m| m.rate).collect());
    println!(
        "{posted} orders posted in all; an order costs as much as {:.1} offering POSTs \
         (POST rate / closed-loop order rate)",
        writes.rate / closed_rate.max(1e-9)
    );
    Ok(())
}
