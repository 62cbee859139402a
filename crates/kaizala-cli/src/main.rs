//! `kaizala`: Kaizala data into your dashboards.
//!
//! Webhook events (push) and API data (pull) into SQL tables — SQLite by
//! default, PostgreSQL when one machine is not enough — plus export, a
//! dashboard page, and the platform's emulator for local work. Start with
//! `kaizala demo`.

mod commands;
mod credentials;
mod dashboard;
mod error;
#[cfg(feature = "parquet")]
mod parquet;
mod progress;
mod temporary;

use std::process::ExitCode;

use clap::Parser;

use crate::commands::Command;

/// Kaizala data into your dashboards: webhook ingest and API sync into
/// SQLite or PostgreSQL, export, a dashboard page, and a local emulator of
/// the platform. Start with `kaizala demo`.
#[derive(Debug, Parser)]
#[command(name = "kaizala", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log what happens (-v: info, -vv: debug, -vvv: trace) on stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn main() -> ExitCode {
    // A failure is one line and an exit code, never a panic message with a
    // backtrace; a panic is a bug, said as such.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_owned());
        eprintln!("kaizala: internal error: {message} (please report it)");
    }));
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("kaizala: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(commands::run(cli.command));
    // Background tasks (servers, writers) end with the runtime.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kaizala: {err}");
            if let Some(hint) = err.hint_text() {
                eprintln!("  hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{level},sqlx=warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
