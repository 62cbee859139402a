//! `kaizala`: Kaizala data into your dashboards.
//!
//! Webhook events (push) and API data (pull) into SQL tables — SQLite by
//! default, PostgreSQL when one machine is not enough — plus export, a
//! dashboard page, and the platform's emulator for local work. Start with
//! `kaizala demo`.

mod access;
mod commands;
mod connectors;
mod credentials;
mod dashboard;
mod error;
mod front;
mod log;
mod odata;
mod operations;
#[cfg(feature = "parquet")]
mod parquet;
mod progress;
mod temporary;

use std::process::ExitCode;

use clap::Parser;

use crate::commands::Command;
use crate::log::LogFormat;

/// mimalloc rather than the C library's allocator: the projector and the
/// receiver allocate many small, short-lived values (decoded JSON, row
/// values) on several threads, where glibc's malloc and free took over
/// two fifths of the projector's own CPU time (docs/benchmarks.md). Its
/// `override` feature (the workspace's `Cargo.toml`) puts SQLite's own
/// allocations on it too: every text value bound to a statement is copied
/// into memory SQLite allocates and frees.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// How lines on stderr are written: `text`, or `json` (one JSON object
    /// a line, the command's own messages too). Colours only on a terminal,
    /// and never with NO_COLOR set.
    #[arg(long, global = true, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    log_format: LogFormat,
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
    log::init(cli.verbose, cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            log::failure(format_args!("cannot start the async runtime: {err}"), None);
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(commands::run(cli.command));
    // Background tasks (servers, writers) end with the runtime.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            log::failure(&err, err.hint_text());
            ExitCode::FAILURE
        }
    }
}
