//! The emulator's command line, shared by the `kaizala-emulator` binary and
//! `kaizala emulator`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use kaizala_core::throttle::{Budget, ThrottleConfig};

use crate::{Emulator, EmulatorConfig, Seed};

/// Runs the Kaizala Connectors platform locally: every API operation,
/// tokens, throttling, relocation and webhooks, plus an admin API to move
/// the clock and simulate users (see docs/emulator.md).
#[derive(Debug, Clone, clap::Args)]
pub struct EmulatorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// URL clients reach the emulator at, if not http://LISTEN.
    #[arg(long)]
    pub public_url: Option<String>,
    /// Initial data: `demo`, `empty`, or a TOML seed file.
    #[arg(long, default_value = "demo")]
    pub seed: String,
    /// Keep the state (pending webhook retries included) in this file across restarts.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Write the seeded connector's credentials here as JSON.
    #[arg(long)]
    pub credentials_out: Option<PathBuf>,
    /// Virtual seconds per real second (10000 runs the 2-day webhook retry schedule in ~17 s).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Calls per minute per connector.
    #[arg(long, default_value_t = 100)]
    pub connector_budget: u32,
    /// Calls per minute per tenant.
    #[arg(long, default_value_t = 300)]
    pub tenant_budget: u32,
    /// Fraction of webhook deliveries sent twice (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub duplicate_rate: f64,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = 10 * 1024 * 1024)]
    pub body_limit: usize,
    /// Do not serve the admin API.
    #[arg(long)]
    pub no_admin: bool,
    /// Seed for ids and simulated answers, for reproducible runs.
    #[arg(long)]
    pub random_seed: Option<u64>,
}

/// Runs the emulator as the command line asks, until Ctrl-C.
pub async fn run(args: EmulatorArgs) -> Result<(), String> {
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
