//! Dev-tool entry point: command-line parsing and the `import-specs` / `check-specs` commands.
//!
//! `cargo xtask import-specs <SPEC_DIR> [--out DIR]` reads the official TM Forum Swagger 2.0
//! files in SPEC_DIR (one file per API, see [`select`]) and writes one compact, project-owned
//! schema file per API to `<workspace>/schemas/TMFxxx.json` (or `DIR`). The output keeps only
//! structure (see [`convert`]): no descriptions, examples, titles or vendor extensions.
//!
//! `cargo xtask check-specs <SPEC_DIR> [--out DIR]` regenerates into a temporary directory and
//! exits non-zero if any generated file differs from, or is missing in, the committed directory,
//! or if the committed directory holds a `TMF*.json` file that would not be generated.

mod assurance;
mod bench;
mod convert;
mod order_load;
mod orders;
mod paths;
mod select;
mod servers;
mod swagger;
mod wrk;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Error type used throughout the tool.
pub type Error = Box<dyn std::error::Error>;
/// Result alias used throughout the tool.
pub type Result<T> = std::result::Result<T, Error>;

const USAGE: &str = "\
usage:
  cargo xtask import-specs <SPEC_DIR> [--out DIR]   write schemas/TMFxxx.json from the official specs
  cargo xtask check-specs  <SPEC_DIR> [--out DIR]   fail if schemas/ is not what import-specs writes
  cargo xtask bench [--seconds N] [--runs N] [--items N]
                                                    CRUD benchmark against a bare axum baseline
  cargo xtask bench-assurance [--customers N] [--seconds N] [--runs N] [--database-url URL]
                                                    fault → tickets fan-out time, ticket CRUD vs bare axum
  cargo xtask bench-orders [--seconds N] [--runs N] [--clients N] [--rate R] [--database-url URL]
                           [--against BINARY]       orders/s and order-to-completed latency of the chain
                                                    (and of BINARY, with the ratio B/A)
  cargo xtask order-load <BASE> <OFFERING:CUSTOMER> closed:N|open:R <SECONDS>
                                                    one bench-orders load run against a server
                                                    started with --demo: demo-mobile:demo-acme
  cargo xtask bare-server <ADDR>                    the baseline: bare axum serving static JSON

DIR defaults to <workspace root>/schemas.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Parsed arguments shared by both commands.
struct Options {
    spec_dir: PathBuf,
    out_dir: PathBuf,
}

fn parse_options(args: &[String]) -> Result<Options> {
    let mut spec_dir = None;
    let mut out_dir = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--out" {
            let dir = it.next().ok_or("--out needs a directory")?;
            out_dir = Some(PathBuf::from(dir));
        } else if let Some(dir) = arg.strip_prefix("--out=") {
            out_dir = Some(PathBuf::from(dir));
        } else if arg.starts_with('-') {
            return Err(format!("unknown option {arg}\n{USAGE}").into());
        } else if spec_dir.is_none() {
            spec_dir = Some(PathBuf::from(arg));
        } else {
            return Err(format!("unexpected argument {arg}\n{USAGE}").into());
        }
    }
    let spec_dir = spec_dir.ok_or_else(|| format!("missing <SPEC_DIR>\n{USAGE}"))?;
    let out_dir = match out_dir {
        Some(dir) => dir,
        None => workspace_root()?.join("schemas"),
    };
    Ok(Options { spec_dir, out_dir })
}

pub(crate) fn workspace_root() -> Result<PathBuf> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .ok_or("xtask manifest directory has no parent")?;
    Ok(root.to_path_buf())
}

fn run(args: &[String]) -> Result<ExitCode> {
    let Some((command, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return Ok(ExitCode::FAILURE);
    };
    match command.as_str() {
        "import-specs" => {
            let opts = parse_options(rest)?;
            import_specs(&opts.spec_dir, &opts.out_dir, true)?;
            Ok(ExitCode::SUCCESS)
        }
        "check-specs" => {
            let opts = parse_options(rest)?;
            check_specs(&opts.spec_dir, &opts.out_dir)
        }
        "bench" => bench::run(rest).map(|()| ExitCode::SUCCESS),
        "bench-assurance" => assurance::run(rest).map(|()| ExitCode::SUCCESS),
        "bench-orders" => orders::run(rest).map(|()| ExitCode::SUCCESS),
        "order-load" => order_load::order_load(rest).map(|()| ExitCode::SUCCESS),
        "bare-server" => {
            let address = rest.first().ok_or("bare-server needs an address")?;
            servers::bare_server(address)?;
            Ok(ExitCode::SUCCESS)
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown command {other}\n{USAGE}").into()),
    }
}

/// Generates every schema file into `out_dir`; returns the file names written, in API order.
/// With `verbose`, prints one line per file and the source oddities found.
fn import_specs(spec_dir: &Path, out_dir: &Path, verbose: bool) -> Result<Vec<String>> {
    let selected = select::select_spec_files(spec_dir)?;
    if selected.is_empty() {
        return Err(format!("no TMF*.swagger.json files in {}", spec_dir.display()).into());
    }
    fs::create_dir_all(out_dir).map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let mut written = Vec::new();
    for spec in &selected {
        let text = fs::read_to_string(&spec.path)
            .map_err(|e| format!("cannot read {}: {e}", spec.path.display()))?;
        let doc: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("cannot parse {}: {e}", spec.path.display()))?;
        let converted = convert::convert(&spec.api, &doc)
            .map_err(|e| format!("{}: {e}", spec.path.display()))?;
        if verbose {
            for warning in &converted.warnings {
                eprintln!("warning: {}: {warning}", spec.api);
            }
        }
        let file_name = format!("{}.json", spec.api);
        let target = out_dir.join(&file_name);
        fs::write(&target, convert::render(&converted.output)?)
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        if verbose {
            println!(
                "{} <- {} ({} definitions, {} collections, {} events)",
                target.display(),
                spec.file_name(),
                converted.definition_count,
                converted.collection_count,
                converted.event_count,
            );
        }
        written.push(file_name);
    }
    Ok(written)
}

/// Regenerates into a temporary directory and compares with `committed_dir`.
fn check_specs(spec_dir: &Path, committed_dir: &Path) -> Result<ExitCode> {
    let tmp = std::env::temp_dir().join(format!("xtask-check-specs-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    let generated = import_specs(spec_dir, &tmp, false)?;

    let mut problems = Vec::new();
    for name in &generated {
        let fresh = fs::read(tmp.join(name))?;
        let committed_path = committed_dir.join(name);
        match fs::read(&committed_path) {
            Ok(committed) if committed == fresh => {}
            Ok(_) => problems.push(format!("{} differs", committed_path.display())),
            Err(_) => problems.push(format!("{} is missing", committed_path.display())),
        }
    }
    if let Ok(entries) = fs::read_dir(committed_dir) {
        let mut extra: Vec<String> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| name.starts_with("TMF") && name.ends_with(".json"))
            .filter(|name| !generated.contains(name))
            .collect();
        extra.sort();
        for name in extra {
            problems.push(format!(
                "{} is not generated by import-specs",
                committed_dir.join(name).display()
            ));
        }
    }

    if problems.is_empty() {
        fs::remove_dir_all(&tmp)?;
        println!(
            "check-specs: {} files in {} are up to date",
            generated.len(),
            committed_dir.display()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for problem in &problems {
            eprintln!("check-specs: {problem}");
        }
        eprintln!(
            "check-specs: freshly generated files kept in {} (compare with: diff -r {} {}); \
             run `cargo xtask import-specs {}` to update",
            tmp.display(),
            committed_dir.display(),
            tmp.display(),
            spec_dir.display()
        );
        Ok(ExitCode::FAILURE)
    }
}
