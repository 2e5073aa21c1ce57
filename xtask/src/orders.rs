//! `cargo xtask bench-orders`: the order-to-activation benchmark (issue 5). The release
//! server runs on SQLite (or `--database-url postgres://…`) pinned to core 0 with the
//! activation simulator at zero delay and the demo data (`serve --demo`); the load runs
//! on core 1 in a child process of this tool (`order-load`), which posts product orders
//! for the demo's mobile plan, a 3-level order (one product specification → one CFS →
//! two RFSs → two resources, one drawn from an IPv4 pool), and hears each order's end
//! through a TMF622 hub subscription, so an order's latency is from its POST to its
//! `completed` event.
//!
//! Two loads, each run `--runs` times for `--seconds` (medians printed):
//! - closed: `--clients` clients, each posting its next order when the last completed
//!   (the most orders per second the server sustains, and their latency);
//! - open: orders posted at a steady `--rate` per second whatever the server does
//!   (latency at the target rate).
//!
//! `--against BINARY` runs a second, previously built `switchboard` (say the previous
//! commit's release build) through the same loads, on databases of its own, pinned to the
//! same core: the runs of the two alternate within each round (the one first changing
//! from round to round), and both rows are printed with their ratio B/A, so a
//! before/after comparison is made in one run on the same noisy machine.
//!
//! Baselines in the same script: bare axum under wrk, and POST productOffering (one
//! document write) under wrk against a second server with its own database (so the
//! orders' database holds the catalog and the orders only), so an order's cost reads as
//! a number of writes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::servers::{
    bench_database, build_server, drop_database, require, start_bare, start_server, Process,
};
use crate::wrk::{median, result_line, summarize, write_script, wrk};
use crate::Result;

const OFFERINGS: &str = "/tmf-api/productCatalogManagement/v4/productOffering";
/// What the load orders, as `order-load` takes it: the demo's mobile plan for its
/// Organization customer (crates/server/demo/demo.json).
const DEMO_ORDER: &str = "demo-mobile:demo-acme";

struct Options {
    seconds: u32,
    runs: usize,
    clients: usize,
    rate: f64,
    database_url: Option<String>,
    /// A second server binary (B) run through the same loads as the release build (A).
    against: Option<PathBuf>,
}

fn options(args: &[String]) -> Result<Options> {
    let mut options = Options {
        seconds: 10,
        runs: 3,
        clients: 32,
        rate: 300.0,
        database_url: None,
        against: None,
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
            "--against" => options.against = Some(PathBuf::from(value)),
            other => return Err(format!("unknown bench-orders option {other}").into()),
        }
    }
    if let Some(binary) = &options.against {
        if !binary.is_file() {
            return Err(format!("--against {}: no such file", binary.display()).into());
        }
    }
    Ok(options)
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

impl Measured {
    /// The medians of rate and latencies over `runs`; posted and unfinished summed.
    fn of(runs: &[Measured]) -> Measured {
        Measured {
            rate: median(runs.iter().map(|m| m.rate).collect()),
            p50_ms: median(runs.iter().map(|m| m.p50_ms).collect()),
            p99_ms: median(runs.iter().map(|m| m.p99_ms).collect()),
            posted: runs.iter().map(|m| m.posted).sum(),
            unfinished: runs.iter().map(|m| m.unfinished).sum(),
        }
    }
}

/// A server the loads run against, on a database of its own with the demo catalog.
struct Subject {
    server: Process,
    base: String,
    database: String,
    offering: String,
}

fn subject(binary: &Path, options: &Options, work: &Path, name: &str) -> Result<Subject> {
    let (database, _) = bench_database(options.database_url.as_ref(), work, name);
    // The demo data is in place before the server answers `/health`.
    let (server, base) = start_server(binary, &database, &["--activation", "simulator", "--demo"])?;
    let offering = DEMO_ORDER.to_string();
    Ok(Subject {
        server,
        base,
        database,
        offering,
    })
}

fn load(exe: &Path, subject: &Subject, mode: &str, seconds: u32) -> Result<Measured> {
    let output = Command::new("taskset")
        .args(["-c", "1"])
        .arg(exe)
        .args(["order-load", &subject.base, &subject.offering, mode])
        .arg(seconds.to_string())
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

    let backend = if options.database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    // A, the release build, and B, the `--against` binary, when given.
    let mut subjects = vec![subject(&server_binary, &options, &work, "orders")?];
    if let Some(binary) = &options.against {
        subjects.push(subject(binary, &options, &work, "orders_b")?);
    }
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
    let (mut bare_runs, mut post_runs) = (Vec::new(), Vec::new());
    // The runs of each subject, closed and open loop.
    let mut closed_runs = vec![Vec::new(); subjects.len()];
    let mut open_runs = vec![Vec::new(); subjects.len()];
    for run in 0..options.runs {
        println!("run {}/{}…", run + 1, options.runs);
        bare_runs.push(wrk(&[format!("{bare}/")], &plain, options.seconds)?);
        post_runs.push(wrk(
            &[format!("{writes_base}{OFFERINGS}")],
            &post,
            options.seconds,
        )?);
        // A and B alternate, the one first changing each round: neither always runs
        // on what the other left (page cache, WAL, CPU clocks).
        let mut order: Vec<usize> = (0..subjects.len()).collect();
        if run % 2 == 1 {
            order.reverse();
        }
        for (mode, runs) in [(&closed, &mut closed_runs), (&open, &mut open_runs)] {
            for &index in &order {
                runs[index].push(load(&exe, &subjects[index], mode, options.seconds)?);
            }
        }
    }
    for subject in subjects {
        drop(subject.server);
        drop_database(options.database_url.as_ref(), &subject.database);
    }
    drop(writes_server);
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
    if let Some(binary) = &options.against {
        println!(
            "A: {} (this tree's release build); B: {} (--against)",
            server_binary.display(),
            binary.display()
        );
    }
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
        let figures: Vec<Measured> = runs.iter().map(|runs| Measured::of(runs)).collect();
        for (index, measured) in figures.iter().enumerate() {
            let name = if index == 0 {
                &name
            } else {
                "  same, B (--against)"
            };
            order_row(name, measured, baseline.rate);
        }
        if let [a, b] = figures[..] {
            println!(
                "{:<46} {:>9.3} {:>9.3} {:>9.3}",
                "  B/A",
                b.rate / a.rate.max(1e-9),
                b.p50_ms / a.p50_ms.max(1e-9),
                b.p99_ms / a.p99_ms.max(1e-9)
            );
        }
    }
    let posted: u64 = closed_runs
        .iter()
        .chain(&open_runs)
        .flatten()
        .map(|m| m.posted)
        .sum();
    let closed_rate = Measured::of(&closed_runs[0]).rate;
    let of_a = if options.against.is_some() {
        " (A)"
    } else {
        ""
    };
    println!(
        "{posted} orders posted in all; an order{of_a} costs as much as {:.1} offering POSTs \
         (POST rate / closed-loop order rate)",
        writes.rate / closed_rate.max(1e-9)
    );
    Ok(())
}

/// One row of orders: rate, latencies, share of the bare baseline's rate, unfinished.
fn order_row(name: &str, measured: &Measured, baseline_rate: f64) {
    println!(
        "{:<46} {:>9.0} {:>9.1} {:>9.1} {:>8.2}% {:>11}",
        name,
        measured.rate,
        measured.p50_ms,
        measured.p99_ms,
        100.0 * measured.rate / baseline_rate,
        measured.unfinished,
    );
}
