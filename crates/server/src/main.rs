//! The `switchboard` command line: `serve` runs the server; `migrate`, `export` and
//! `import` look after its database.

use clap::{Parser, Subcommand};
use switchboard::transfer::{ExportConfig, ImportConfig};
use switchboard::{MigrateConfig, ServeConfig};

/// The allocator: the engine allocates and frees many small JSON values per request, which
/// mimalloc serves with per-thread free lists (glibc's malloc took ~30 % of the order bench).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "switchboard", version, about = "TM Forum Open API platform")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every API and run the background jobs (or one of the two: --role).
    Serve(ServeConfig),
    /// Create the database's tables and indexes, or bring them up to date, and exit.
    Migrate(MigrateConfig),
    /// Write every document and pending job as JSON lines (to move to another database).
    Export(ExportConfig),
    /// Fill an empty database from `switchboard export` output.
    Import(ImportConfig),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    switchboard::telemetry::init_logs();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(config) => serve(config).await,
        Command::Migrate(config) => switchboard::migrate(&config)
            .await
            .map(|done| println!("{done}")),
        // Standard output may be the data: the summary goes to stderr.
        Command::Export(config) => switchboard::transfer::export(&config)
            .await
            .map(|done| eprintln!("{done}")),
        Command::Import(config) => switchboard::transfer::import(&config)
            .await
            .map(|done| eprintln!("{done}")),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "switchboard stopped");
            eprintln!("switchboard: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(config: ServeConfig) -> switchboard::anyhow_free::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", config.listen))?;
    let mut config = config;
    // With port 0 the real port is known only now; hrefs must carry it.
    if config.public_url.is_none() {
        config.public_url = Some(format!("http://{}", listener.local_addr()?));
    }
    switchboard::serve(config, listener, shutdown_signal()).await
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
