//! What every part of a running emulator shares.

use std::sync::Arc;

use kaizala_core::throttle::Throttle;

use crate::clock::VirtualClock;
use crate::config::EmulatorConfig;
use crate::delivery::Deliveries;
use crate::ids::Ids;
use crate::store::Store;

/// A running emulator's internals.
#[derive(Debug)]
pub struct Shared {
    /// The settings it was started with.
    pub config: EmulatorConfig,
    /// Where clients reach it, without trailing `/` (`http://127.0.0.1:PORT`).
    pub base_url: String,
    /// Virtual time.
    pub clock: VirtualClock,
    /// The platform's state.
    pub store: Arc<Store>,
    /// Call budgets.
    pub throttle: Throttle,
    /// Randomness.
    pub ids: Ids,
    /// The webhook delivery engine.
    pub deliveries: Deliveries,
    /// The seeded connector's credentials.
    pub seeded: std::sync::OnceLock<crate::seed::SeededCredentials>,
}

impl Shared {
    /// Virtual epoch milliseconds now.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A tenant's endpoint root: `endpointUrl` in token answers.
    pub fn endpoint_url(&self, slug: &str) -> String {
        format!("{}/t/{slug}", self.base_url)
    }
}
