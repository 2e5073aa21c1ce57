//! The `switchboard` command line: `serve` runs the server (`demo`: with the demo data);
//! `migrate`, `export` and `import` look after its database.

use clap::{Parser, Subcommand};
use switchboard::transfer::{ExportConfig, ImportConfig};
use switchboard::{ConfigError, LogFormat, MigrateConfig, ServeConfig};

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
    /// `serve --demo`: load the demo catalog and customers, print the commands that
    /// order from it, and serve.
    Demo(ServeConfig),
    /// Create the database's tables and indexes, or bring them up to date, and exit.
    Migrate(MigrateConfig),
    /// Write every document and pending job as JSON lines (to move to another database).
    Export(ExportConfig),
    /// Fill an empty database from `switchboard export` output.
    Import(ImportConfig),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    switchboard::telemetry::init_logs(match &cli.command {
        Command::Serve(config) => config.log_format,
        _ => LogFormat::Text,
    });
    let result = match cli.command {
        Command::Serve(config) => serve(config).await,
        Command::Demo(config) => {
            serve(ServeConfig {
                demo: true,
                ..config
            })
            .await
        }
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
        // A setting to correct: one line naming it, and clap's status for usage errors.
        Err(error) if error.is::<ConfigError>() => {
            eprintln!("switchboard: {error}");
            std::process::ExitCode::from(2)
        }
        Err(error) => {
            tracing::error!(%error, "switchboard stopped");
            eprintln!("switchboard: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Checks the settings, takes the port, then serves until SIGTERM or ctrl-c.
async fn serve(config: ServeConfig) -> switchboard::anyhow_free::Result<()> {
    config.check()?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|error| {
            ConfigError(format!(
                "--listen {}: cannot listen there ({error}); choose another address or \
                 port, or stop the process that holds it",
                config.listen
            ))
        })?;
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
