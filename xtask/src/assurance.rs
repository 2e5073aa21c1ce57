//! `cargo xtask bench-assurance`: fault correlation at fan-out. The release server runs
//! pinned to core 0 on a database of its own; the inventory is seeded through the API
//! (setup, not measured): one shared resource, one service per customer running on it,
//! one product per customer realised by that service. Then the resource is PATCHed to
//! `operationalState=disable` and the bench polls until every customer's ticket is
//! stored: the seconds from the PATCH to the problem and to the last ticket are the
//! figures. Then ticket CRUD (POST and GET by id) under wrk from core 1, beside the bare
//! axum baseline in the same run.

use std::fs;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::servers::{
    bench_database, build_server, drop_database, require, start_bare, start_server,
};
use crate::wrk::{summarize, write_script, wrk, CONNECTIONS};
use crate::Result;

const RESOURCES: &str = "/tmf-api/resourceInventoryManagement/v4/resource";
const SERVICES: &str = "/tmf-api/serviceInventory/v4/service";
const PRODUCTS: &str = "/tmf-api/productInventory/v4/product";
const INDIVIDUALS: &str = "/tmf-api/party/v4/individual";
const SERVICE_SPECS: &str = "/tmf-api/serviceCatalogManagement/v4/serviceSpecification";
const PROBLEMS: &str = "/tmf-api/serviceProblemManagement/v4/serviceProblem";
const TICKETS: &str = "/tmf-api/troubleTicket/v4/troubleTicket";
/// Requests the seeding keeps in flight.
const SEED_CONCURRENCY: usize = 16;

struct Options {
    customers: usize,
    seconds: u32,
    runs: usize,
    database_url: Option<String>,
}

fn options(args: &[String]) -> Result<Options> {
    let mut options = Options {
        customers: 2000,
        seconds: 5,
        runs: 3,
        database_url: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let value = it.next().ok_or(format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--customers" => options.customers = value.parse()?,
            "--seconds" => options.seconds = value.parse()?,
            "--runs" => options.runs = value.parse()?,
            "--database-url" => options.database_url = Some(value.clone()),
            other => return Err(format!("unknown bench-assurance option {other}").into()),
        }
    }
    Ok(options)
}

pub fn run(args: &[String]) -> Result<()> {
    let options = options(args)?;
    for tool in ["wrk", "taskset", "curl"] {
        require(tool)?;
    }
    let server_binary = build_server()?;
    let work = std::env::temp_dir().join(format!("switchboard-assurance-{}", std::process::id()));
    fs::create_dir_all(&work)?;
    let (_bare, bare) = start_bare()?;
    let (database, postgres) = bench_database(options.database_url.as_ref(), &work, "assurance");
    let backend = if postgres { "PostgreSQL" } else { "SQLite" };
    let (server, base) = start_server(&server_binary, &database, &[])?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let fan_out = runtime.block_on(fault_fan_out(&base, options.customers))?;

    // Ticket CRUD beside the baseline.
    let ticket = format!(
        r#"{{"description":"bench ticket","severity":"minor","ticketType":"incident","relatedParty":[{{"id":"{}","role":"customer","@referredType":"Individual"}}]}}"#,
        fan_out.party
    );
    let post = write_script(
        &work,
        "ticket-post.lua",
        &format!(
            "request = function()\n  return wrk.format(\"POST\", \"{TICKETS}\", {{[\"Content-Type\"] = \"application/json\"}}, '{ticket}')\nend\n"
        ),
    )?;
    let ids: Vec<String> = fan_out
        .ticket_ids
        .iter()
        .take(1000)
        .map(|id| format!("\"{id}\""))
        .collect();
    let get = write_script(
        &work,
        "ticket-get.lua",
        &format!(
            "local ids = {{{}}}\nrequest = function()\n  return wrk.format(\"GET\", \"{TICKETS}/\" .. ids[math.random(#ids)])\nend\n",
            ids.join(",")
        ),
    )?;
    let plain = write_script(&work, "plain.lua", "")?;
    let (mut bare_runs, mut post_runs, mut get_runs) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..options.runs {
        println!("ticket CRUD run {}/{}…", run + 1, options.runs);
        bare_runs.push(wrk(&[format!("{bare}/")], &plain, options.seconds)?);
        post_runs.push(wrk(std::slice::from_ref(&base), &post, options.seconds)?);
        get_runs.push(wrk(std::slice::from_ref(&base), &get, options.seconds)?);
    }

    let baseline = summarize(&bare_runs);
    println!();
    println!(
        "switchboard bench-assurance: {backend}, server on core 0, wrk on core 1, \
         {CONNECTIONS} connections, {}s x {} runs (medians)",
        options.seconds, options.runs
    );
    println!(
        "fault fan-out: {} customers' products on one resource; PATCH disable → problem in \
         {:.3} s, → {} tickets in {:.3} s ({:.0} tickets/s); problem impactImportanceFactor {}, \
         priority {}, affectedNumberOfServices {}",
        options.customers,
        fan_out.to_problem.as_secs_f64(),
        fan_out.tickets,
        fan_out.to_tickets.as_secs_f64(),
        fan_out.tickets as f64 / fan_out.to_tickets.as_secs_f64().max(1e-9),
        fan_out.importance,
        fan_out.priority,
        fan_out.services,
    );
    println!(
        "{:<44} {:>10} {:>9} {:>9} {:>9} {:>7}",
        "case", "req/s", "p50 ms", "p99 ms", "vs bare", "errors"
    );
    for (name, figures) in [
        ("bare axum, static 400-byte JSON (baseline)", baseline),
        ("POST troubleTicket", summarize(&post_runs)),
        ("GET troubleTicket/{id}", summarize(&get_runs)),
    ] {
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
    drop(server);
    drop_database(options.database_url.as_ref(), &database);
    let _ = fs::remove_dir_all(&work);
    Ok(())
}

/// What the fan-out measured.
struct FanOut {
    to_problem: Duration,
    to_tickets: Duration,
    tickets: u64,
    ticket_ids: Vec<String>,
    /// A customer's party id, for the tickets the CRUD case posts.
    party: String,
    importance: String,
    priority: Value,
    services: Value,
}

async fn fault_fan_out(base: &str, customers: usize) -> Result<FanOut> {
    let client = reqwest::Client::new();
    println!("seeding {customers} customers, their services and products on one resource…");
    let resource = post(
        &client,
        &format!("{base}{RESOURCES}"),
        json!({"name": "olt-7 port 1/1/1", "resourceStatus": "available", "operationalState": "enable"}),
    )
    .await?;
    let resource_id = text(&resource, "id")?;
    let specification = post(
        &client,
        &format!("{base}{SERVICE_SPECS}"),
        json!({"name": "bench access RFS", "@type": "ResourceFacingServiceSpecification"}),
    )
    .await?;
    let specification_id = text(&specification, "id")?;
    let services = post_all(
        &client,
        &format!("{base}{SERVICES}"),
        (0..customers)
            .map(|n| {
                json!({"name": format!("access {n}"), "state": "active",
                       "serviceSpecification": {"id": specification_id},
                       "supportingResource": [{"id": resource_id}]})
            })
            .collect(),
    )
    .await?;
    let parties = post_all(
        &client,
        &format!("{base}{INDIVIDUALS}"),
        (0..customers)
            .map(|n| json!({"givenName": format!("Customer {n}"), "familyName": "Bench"}))
            .collect(),
    )
    .await?;
    post_all(
        &client,
        &format!("{base}{PRODUCTS}"),
        services
            .iter()
            .zip(&parties)
            .enumerate()
            .map(|(n, (service, party))| {
                json!({"name": format!("broadband {n}"), "status": "active",
                       "realizingService": [{"id": service["id"]}],
                       "relatedParty": [{"id": party["id"], "role": "customer",
                                         "@referredType": "Individual"}]})
            })
            .collect(),
    )
    .await?;

    println!("disabling the resource…");
    let started = Instant::now();
    let patched = client
        .patch(format!("{base}{RESOURCES}/{resource_id}"))
        .header("content-type", "application/merge-patch+json")
        .body(json!({"operationalState": "disable"}).to_string())
        .send()
        .await?;
    if !patched.status().is_success() {
        return Err(format!("PATCH resource: {}", patched.text().await?).into());
    }
    let deadline = started + Duration::from_secs(120);
    let mut to_problem = None;
    let wanted = customers as u64;
    let mut tickets = 0;
    while Instant::now() < deadline {
        if to_problem.is_none() && count(&client, &format!("{base}{PROBLEMS}?limit=1")).await? > 0 {
            to_problem = Some(started.elapsed());
        }
        tickets = count(&client, &format!("{base}{TICKETS}?limit=1")).await?;
        if tickets >= wanted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let to_tickets = started.elapsed();
    if tickets < wanted {
        return Err(format!("only {tickets} of {wanted} tickets after 120 s").into());
    }
    let problem: Value = client
        .get(format!("{base}{PROBLEMS}?limit=1"))
        .send()
        .await?
        .json()
        .await?;
    let problem = problem.get(0).cloned().unwrap_or(Value::Null);
    // The problem's impact lands with its last batch of tickets.
    let mut problem = problem;
    let settle = Instant::now() + Duration::from_secs(30);
    while problem.get("impactImportanceFactor").is_none() && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(20)).await;
        problem = client
            .get(format!("{base}{PROBLEMS}/{}", text(&problem, "id")?))
            .send()
            .await?
            .json()
            .await?;
    }
    let page: Value = client
        .get(format!("{base}{TICKETS}?fields=id&limit=1000"))
        .send()
        .await?
        .json()
        .await?;
    let ticket_ids = page
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|ticket| ticket.get("id")?.as_str().map(str::to_string))
        .collect();
    Ok(FanOut {
        to_problem: to_problem.unwrap_or(to_tickets),
        to_tickets,
        tickets,
        ticket_ids,
        party: parties
            .first()
            .map(|party| text(party, "id"))
            .transpose()?
            .unwrap_or_default(),
        importance: problem
            .get("impactImportanceFactor")
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_string(),
        priority: problem.get("priority").cloned().unwrap_or(Value::Null),
        services: problem
            .get("affectedNumberOfServices")
            .cloned()
            .unwrap_or(Value::Null),
    })
}

fn text(doc: &Value, key: &str) -> Result<String> {
    doc.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("no {key} in {doc}").into())
}

async fn post(client: &reqwest::Client, url: &str, body: Value) -> Result<Value> {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await?;
    let status = response.status();
    let created: Value = response.json().await?;
    if !status.is_success() {
        return Err(format!("POST {url}: {status} {created}").into());
    }
    Ok(created)
}

/// POSTs every body, `SEED_CONCURRENCY` at a time; answers what was created, in order.
async fn post_all(client: &reqwest::Client, url: &str, bodies: Vec<Value>) -> Result<Vec<Value>> {
    let mut created = Vec::with_capacity(bodies.len());
    for chunk in bodies.chunks(SEED_CONCURRENCY) {
        let mut set = tokio::task::JoinSet::new();
        for (index, body) in chunk.iter().enumerate() {
            let (client, url, body) = (client.clone(), url.to_string(), body.clone());
            set.spawn(async move {
                post(&client, &url, body)
                    .await
                    .map(|doc| (index, doc))
                    .map_err(|error| error.to_string())
            });
        }
        let mut batch: Vec<(usize, Value)> = Vec::with_capacity(chunk.len());
        while let Some(joined) = set.join_next().await {
            batch.push(joined??);
        }
        batch.sort_by_key(|(index, _)| *index);
        created.extend(batch.into_iter().map(|(_, doc)| doc));
    }
    Ok(created)
}

/// The `X-Total-Count` of a list.
async fn count(client: &reqwest::Client, url: &str) -> Result<u64> {
    let response = client.get(url).send().await?;
    response
        .headers()
        .get("x-total-count")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .ok_or_else(|| format!("no X-Total-Count from {url}").into())
}
