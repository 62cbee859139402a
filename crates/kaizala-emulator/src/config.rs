//! How an emulator runs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use kaizala_core::throttle::ThrottleConfig;

/// Where the initial tenants, users, connectors and groups come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seed {
    /// Nothing: an empty platform (build it through the admin API).
    Empty,
    /// The built-in demo data set (see `docs/emulator.md`).
    Demo,
    /// A TOML file in the format of `docs/emulator.md`.
    File(PathBuf),
}

/// Settings of an [`Emulator`](crate::Emulator). `Default` is a demo
/// platform on a random loopback port with the documented limits.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The URL clients reach the emulator at, if not `http://{listen}`
    /// (behind a proxy, say). Token answers point `endpointUrl` under it.
    pub public_url: Option<String>,
    /// Initial data.
    pub seed: Seed,
    /// File that keeps the state (and pending webhook retries) across
    /// restarts; `None` keeps everything in memory.
    pub state_file: Option<PathBuf>,
    /// Call budgets per connector and per tenant.
    pub throttle: ThrottleConfig,
    /// Virtual seconds per real second: 10,000 runs the webhook retry
    /// schedule's two days in about seventeen seconds.
    pub time_scale: f64,
    /// Largest request body accepted (413 beyond).
    pub body_limit: usize,
    /// Serve the admin API under `/admin/`.
    pub admin: bool,
    /// Fraction (0–1) of webhook deliveries sent twice, with the same `eventId`.
    pub duplicate_rate: f64,
    /// Time a callback URL has to echo its validation token.
    pub validation_timeout: Duration,
    /// Time a webhook delivery has to be acknowledged.
    pub delivery_timeout: Duration,
    /// Seed of the emulator's randomness (ids, simulated answers), for
    /// reproducible runs; `None` seeds from the OS.
    pub random_seed: Option<u64>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            seed: Seed::Demo,
            state_file: None,
            throttle: ThrottleConfig::default(),
            time_scale: 1.0,
            body_limit: 10 * 1024 * 1024,
            admin: true,
            duplicate_rate: 0.0,
            validation_timeout: Duration::from_secs(5),
            delivery_timeout: Duration::from_secs(10),
            random_seed: None,
        }
    }
}
