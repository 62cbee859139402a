//! The Kaizala Connectors platform, runnable locally.
//!
//! The hosted service was retired in 2023; this is a faithful stand-in to
//! develop and test against, as LocalStack and Azurite are for their clouds:
//! every operation of the API with the documented shapes (property names in
//! any letter case, as the service accepted them), tokens and their
//! rotation, permission scopes, IP allow-lists, call budgets with
//! `X-RateLimit-*` headers and 429s, endpoint relocation with 308s, and
//! webhooks — callback validation, delivery of every event type, duplicates,
//! retries over two days of a virtual clock that can run 10,000 times
//! faster, auto-disable. An admin API (off unless enabled; loopback by
//! default) moves the clock, relocates tenants, shows PINs and delivery
//! logs, and simulates users answering surveys in bulk.
//!
//! ```
//! use kaizala_emulator::{Emulator, EmulatorConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emulator = Emulator::start(EmulatorConfig::default()).await?;
//! let seeded = emulator.credentials().expect("the demo seed has a connector");
//! assert_eq!(seeded.base_url, format!("{}/v1", emulator.base_url()));
//! // Point a client (kaizala-client) at `seeded.base_url` with
//! // `seeded.application_id`, `seeded.application_secret`, `seeded.refresh_token`.
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```

pub mod admin;
pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod events;
pub mod http;
pub mod ids;
pub mod model;
pub mod seed;
pub mod shared;
pub mod simulation;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kaizala_core::throttle::Throttle;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{EmulatorConfig, Seed};
pub use seed::SeededCredentials;

use crate::clock::VirtualClock;
use crate::delivery::Deliveries;
use crate::ids::Ids;
use crate::model::State;
use crate::shared::Shared;
use crate::store::Store;

/// Why an emulator could not start.
#[derive(Debug)]
pub struct StartError(String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// Starts emulators.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// Binds, seeds (or reloads its state file) and starts serving.
    pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator, StartError> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AddrInUse => {
                    StartError(format!("{} is already in use", config.listen))
                }
                _ => StartError(format!("cannot listen on {}: {e}", config.listen)),
            })?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError(e.to_string()))?;
        let base_url = config
            .public_url
            .clone()
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{addr}"));

        let saved = match &config.state_file {
            Some(file) => Store::load(file).map_err(StartError)?,
            None => None,
        };
        let resumed = saved.is_some();
        let shared = Arc::new(Shared {
            base_url,
            clock: VirtualClock::new(config.time_scale),
            store: Arc::new(Store::new(
                saved.unwrap_or_default(),
                config.state_file.clone(),
            )),
            throttle: Throttle::new(config.throttle),
            ids: Ids::new(config.random_seed),
            deliveries: Deliveries::default(),
            seeded: std::sync::OnceLock::new(),
            config,
        });
        if !resumed {
            let seed = match &shared.config.seed {
                Seed::Empty => seed::SeedFile::default(),
                Seed::Demo => {
                    toml::from_str(seed::DEMO).map_err(|e| StartError(format!("demo seed: {e}")))?
                }
                Seed::File(path) => {
                    let text = std::fs::read_to_string(path).map_err(|e| {
                        StartError(format!("cannot read the seed file {}: {e}", path.display()))
                    })?;
                    toml::from_str(&text)
                        .map_err(|e| StartError(format!("{}: {e}", path.display())))?
                }
            };
            shared
                .store
                .write(|state| -> Result<(), String> {
                    state.seeded = seed::apply(&shared, state, &seed)?;
                    Ok(())
                })
                .map_err(|e| StartError(format!("seed: {e}")))?;
        }
        let base_url = format!("{}/v1", shared.base_url);
        let seeded = shared.store.write(|state| {
            state.seeded.as_mut().map(|credentials| {
                credentials.base_url = base_url;
                credentials.clone()
            })
        });
        if let Some(credentials) = seeded {
            let _ = shared.seeded.set(credentials);
        }
        if let Err(err) = shared.store.flush() {
            return Err(StartError(err));
        }

        let (stop, stopped) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(http::serve(listener, shared.clone(), stopped)),
            tokio::spawn(delivery::run(shared.clone())),
            tokio::spawn({
                let store = shared.store.clone();
                async move { store.save_continuously().await }
            }),
        ];
        tracing::info!(%addr, base = %shared.base_url, "Kaizala emulator listening");
        Ok(RunningEmulator {
            shared,
            addr,
            stop,
            tasks,
        })
    }
}

/// A running emulator. Dropping it stops it (without waiting); prefer
/// [`RunningEmulator::shutdown`], which drains requests and saves the state.
#[derive(Debug)]
pub struct RunningEmulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningEmulator {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its root URL, `http://127.0.0.1:PORT` (or the configured public URL).
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The API root to give a client: `{base}/v1`.
    pub fn api_url(&self) -> String {
        format!("{}/v1", self.shared.base_url)
    }

    /// The seeded connector's credentials, if the seed had a connector.
    pub fn credentials(&self) -> Option<SeededCredentials> {
        self.shared.seeded.get().cloned()
    }

    /// The virtual clock.
    pub fn clock(&self) -> &VirtualClock {
        &self.shared.clock
    }

    /// Jumps the virtual clock forward (and lets due deliveries go).
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(by);
        self.shared.deliveries.wake();
    }

    /// Reads the platform's state.
    pub fn state<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        self.shared.store.read(f)
    }

    /// Runs a simulation in-process, as `POST /admin/simulate/{what}` with
    /// `body` would (`messages`, `attachments`, `responses`, `reactions`,
    /// `members`; see `docs/emulator.md`); the summary it answers, with
    /// the events it produced by type.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use kaizala_emulator::{Emulator, EmulatorConfig};
    ///
    /// let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    /// let group = emulator.credentials().unwrap().group_id;
    /// let summary = emulator
    ///     .simulate("messages", &serde_json::json!({"groupId": group, "count": 3}))
    ///     .await
    ///     .unwrap();
    /// assert_eq!(summary["events"]["TextMessageCreated"], 3);
    /// emulator.shutdown().await;
    /// # });
    /// ```
    pub async fn simulate(
        &self,
        what: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, http::ApiError> {
        let body = bytes::Bytes::from(body.to_string());
        let reply =
            simulation::handle(&self.shared, &::http::Method::POST, &[what], &[], &body).await?;
        Ok(serde_json::from_slice(&reply.body).expect("simulations answer JSON"))
    }

    /// Internals, for the admin and simulation APIs used in-process.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops accepting, drains in-flight requests, saves the state.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(server) = self.tasks.first_mut() {
            let _ = tokio::time::timeout(Duration::from_secs(15), server).await;
        }
        for task in &self.tasks {
            task.abort();
        }
        if let Err(err) = self.shared.store.flush() {
            tracing::error!("could not save the emulator state: {err}");
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}
