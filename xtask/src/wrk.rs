//! wrk runs and their figures: the Lua report every script ends with, wrk pinned to
//! core 1 against one or more servers at once, the parse of a load tool's result line,
//! and the medians of several runs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Result;

/// wrk's connections, split between the servers of a run.
pub(crate) const CONNECTIONS: u32 = 64;

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

pub(crate) fn wrk_with(
    urls: &[String],
    script: &Path,
    seconds: u32,
    clients: u32,
) -> Result<Figures> {
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
