//! `kaizala-emulator`: the Kaizala Connectors platform on your machine.

use std::process::ExitCode;

use clap::Parser;
use kaizala_emulator::cli::{EmulatorArgs, run};

/// Runs the Kaizala Connectors platform locally: every API operation,
/// tokens, throttling, relocation and webhooks, plus an admin API to move
/// the clock and simulate users (see docs/emulator.md).
#[derive(Debug, Parser)]
#[command(name = "kaizala-emulator", version)]
struct Args {
    #[command(flatten)]
    emulator: EmulatorArgs,
    /// Log more (-v: debug, -vv: trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let level = match args.verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| format!("kaizala_emulator={level}").into()),
        )
        .with_target(false)
        .init();
    match run(args.emulator).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kaizala-emulator: {err}");
            ExitCode::FAILURE
        }
    }
}
