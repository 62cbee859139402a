//! Identifiers, tokens and PINs, from one seedable random source so a run
//! with `random_seed` set is reproducible.

use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

/// The emulator's randomness.
#[derive(Debug)]
pub struct Ids {
    rng: Mutex<StdRng>,
}

impl Ids {
    /// Seeded from `seed`, or from the OS.
    pub fn new(seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Ids {
            rng: Mutex::new(rng),
        }
    }

    /// Runs `f` with the random source.
    pub fn with<R>(&self, f: impl FnOnce(&mut StdRng) -> R) -> R {
        f(&mut self.rng.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// A GUID-shaped id, like the platform's.
    pub fn guid(&self) -> String {
        let n: u128 = self.with(|rng| rng.random());
        let hex = format!("{n:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    /// An opaque token with a readable prefix (`kz-at-…`).
    pub fn token(&self, prefix: &str) -> String {
        let mut bytes = [0u8; 24];
        self.with(|rng| rng.fill_bytes(&mut bytes));
        let body: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("{prefix}-{body}")
    }

    /// A four-digit PIN.
    pub fn pin(&self) -> String {
        format!("{:04}", self.with(|rng| rng.random_range(0..10_000)))
    }

    /// A number in `range`.
    pub fn below(&self, bound: u64) -> u64 {
        self.with(|rng| rng.random_range(0..bound.max(1)))
    }

    /// True with probability `p`.
    pub fn chance(&self, p: f64) -> bool {
        p > 0.0 && self.with(|rng| rng.random_bool(p.min(1.0)))
    }
}
