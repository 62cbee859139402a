//! `kaizala-emulator`: the Kaizala Connectors platform on your machine.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use kaizala_core::throttle::{Budget, ThrottleConfig};
use kaizala_emulator::{Emulator, EmulatorConfig, Seed};

/// Runs the Kaizala Connectors platform locally: every API operation,
/// tokens, throttling, relocation and webhooks, plus an admin API to move
/// the clock and simulate users (see docs/emulator.md).
#[derive(Debug, Parser)]
#[command(name = "kaizala-emulator", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// URL clients reach the emulator at, if not http://LISTEN.
    #[arg(long)]
    public_url: Option<String>,
    /// Initial data: `demo`, `empty`, or a TOML seed file.
    #[arg(long, default_value = "demo")]
    seed: String,
    /// Keep the state (pending webhook retries included) in this file across restarts.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Write the seeded connector's credentials here as JSON.
    #[arg(long)]
    credentials_out: Option<PathBuf>,
    /// Virtual seconds per real second (10000 runs the 2-day webhook retry schedule in ~17 s).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Calls per minute per connector.
    #[arg(long, default_value_t = 100)]
    connector_budget: u32,
    /// Calls per minute per tenant.
    #[arg(long, default_value_t = 300)]
    tenant_budget: u32,
    /// Fraction of webhook deliveries sent twice (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    duplicate_rate: f64,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = 10 * 1024 * 1024)]
    body_limit: usize,
    /// Do not serve the admin API.
    #[arg(long)]
    no_admin: bool,
    /// Seed for ids and simulated answers, for reproducible runs.
    #[arg(long)]
    random_seed: Option<u64>,
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
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kaizala-emulator: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    if !(0.0..=1.0).contains(&args.duplicate_rate) {
        return Err("--duplicate-rate is a fraction between 0 and 1".into());
    }
    if args.time_scale < 0.0 {
        return Err("--time-scale cannot be negative".into());
    }
    let seed = match args.seed.as_str() {
        "demo" => Seed::Demo,
        "empty" => Seed::Empty,
        path => Seed::File(PathBuf::from(path)),
    };
    let config = EmulatorConfig {
        listen: args.listen,
        public_url: args.public_url,
        seed,
        state_file: args.state,
        throttle: ThrottleConfig {
            connector: Budget {
                calls: args.connector_budget,
                per: Duration::from_secs(60),
            },
            tenant: Budget {
                calls: args.tenant_budget,
                per: Duration::from_secs(60),
            },
        },
        time_scale: args.time_scale,
        body_limit: args.body_limit,
        admin: !args.no_admin,
        duplicate_rate: args.duplicate_rate,
        random_seed: args.random_seed,
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start(config).await.map_err(|e| e.to_string())?;
    if let Some(path) = &args.credentials_out {
        let credentials = emulator
            .credentials()
            .ok_or("the seed has no connector to write credentials for")?;
        let json = serde_json::to_vec_pretty(&credentials).map_err(|e| e.to_string())?;
        std::fs::write(path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    println!(
        "Kaizala emulator at {} (API root {})",
        emulator.base_url(),
        emulator.api_url()
    );
    if let Some(credentials) = emulator.credentials() {
        println!(
            "connector {} — group {}, public group {}",
            credentials.application_id, credentials.group_id, credentials.public_group_id
        );
    }
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("stopping…");
    emulator.shutdown().await;
    Ok(())
}
