//! `cargo xtask bench`: the CRUD benchmark. The release server runs on SQLite pinned to
//! core 0, wrk drives it from core 1 over loopback with 64 connections, and a bare axum
//! handler serving a static ~400-byte JSON document runs under the same load in the same
//! script, so every figure is also printed as a ratio to that baseline.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::servers::{
    bench_database, build_server, curl, drop_database, post_id, require, start_bare, start_server,
};
use crate::wrk::{summarize, write_script, wrk, wrk_with, CONNECTIONS};
use crate::Result;

const OFFERINGS: &str = "/tmf-api/productCatalogManagement/v4/productOffering";
const POOLS: &str = "/tmf-api/resourcePoolManagement/v1/resourcePool";
const RESERVATIONS: &str = "/tmf-api/resourcePoolManagement/v1/reservation";
const RESOURCES: &str = "/tmf-api/resourceInventoryManagement/v4/resource";
const SERVICES: &str = "/tmf-api/serviceInventory/v4/service";
const PRODUCTS: &str = "/tmf-api/productInventory/v4/product";
const SERVICE_SPECS: &str = "/tmf-api/serviceCatalogManagement/v4/serviceSpecification";
/// Clients of the allocation case (the issue's figure).
const ALLOCATION_CLIENTS: u32 = 32;
/// Resources the impact inventory's services run on: each carries services/1000.
const IMPACT_RESOURCES: usize = 1000;

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

fn total_count(base: &str, query: &str) -> Result<u64> {
    count_of(&format!("{base}{OFFERINGS}?{query}"))
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
