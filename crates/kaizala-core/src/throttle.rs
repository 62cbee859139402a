//! Staying under the platform's call budgets: 100 calls a minute per
//! connector and 300 a minute per tenant (API.md), both configurable.
//!
//! Each budget is a sliding-window log: a call may go when fewer than
//! `calls` calls went in the last `per`. That bounds *every* window, as the
//! platform counts, where a GCRA limiter at the same rate lets a full burst
//! and then a full minute's rate through — nearly twice the budget in one
//! window. A call needs a slot in both budgets at once (the wait is the
//! longest of the two), which a pair of independent limiters cannot give.
//! Time is passed in, so every rule is testable without sleeping; the same
//! type throttles the emulator's server side.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, StatusCode};

use crate::response::retry_after;

/// `calls` calls per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Calls allowed in any window of length `per`.
    pub calls: u32,
    /// The length of the window.
    pub per: Duration,
}

impl Budget {
    /// `calls` calls a minute.
    pub const fn per_minute(calls: u32) -> Self {
        Budget {
            calls,
            per: Duration::from_secs(60),
        }
    }
}

/// The budgets a throttle enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Per connector (application id): 100 a minute.
    pub connector: Budget,
    /// Per tenant (endpoint), across connectors: 300 a minute.
    pub tenant: Budget,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            connector: Budget::per_minute(100),
            tenant: Budget::per_minute(300),
        }
    }
}

/// Whose budgets a call counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller<'a> {
    /// The connector (application id).
    pub connector: &'a str,
    /// The tenant (its endpoint URL).
    pub tenant: &'a str,
}

/// A granted call, with what is left (the emulator reports it as
/// `X-RateLimit-*` headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permit {
    /// The tighter budget's limit.
    pub limit: u32,
    /// Calls left in the tighter budget's current window.
    pub remaining: u32,
    /// When that budget's oldest call leaves its window.
    pub reset_after: Duration,
}

#[derive(Debug, Default)]
struct Window {
    grants: VecDeque<Instant>,
    blocked_until: Option<Instant>,
}

impl Window {
    fn prune(&mut self, now: Instant, per: Duration) {
        while self.grants.front().is_some_and(|&t| t + per <= now) {
            self.grants.pop_front();
        }
        if self.blocked_until.is_some_and(|until| until <= now) {
            self.blocked_until = None;
        }
    }

    /// How long until a call fits.
    fn wait(&self, now: Instant, budget: Budget) -> Duration {
        let full = if self.grants.len() >= budget.calls as usize {
            // The call that frees a slot is the one `calls` back from the end.
            let index = self.grants.len() - budget.calls as usize;
            (self.grants[index] + budget.per).saturating_duration_since(now)
        } else {
            Duration::ZERO
        };
        let blocked = self
            .blocked_until
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now));
        full.max(blocked)
    }

    fn remaining(&self, budget: Budget) -> u32 {
        budget.calls.saturating_sub(self.grants.len() as u32)
    }

    fn reset_after(&self, now: Instant, budget: Budget) -> Duration {
        self.grants.front().map_or(Duration::ZERO, |&t| {
            (t + budget.per).saturating_duration_since(now)
        })
    }
}

/// The window of `key`, created on first use; no allocation once it exists
/// (the common case: every call of a busy client).
fn window<'m>(map: &'m mut HashMap<String, Window>, key: &str) -> &'m mut Window {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), Window::default());
    }
    map.get_mut(key).expect("inserted above")
}

#[derive(Debug, Default)]
struct Windows {
    connectors: HashMap<String, Window>,
    tenants: HashMap<String, Window>,
}

/// Call budgets per connector and per tenant. Share one (`Arc`) among every
/// client of a process so a tenant's budget covers all its connectors.
#[derive(Debug)]
pub struct Throttle {
    config: ThrottleConfig,
    windows: Mutex<Windows>,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new(ThrottleConfig::default())
    }
}

impl Throttle {
    /// A throttle enforcing `config`.
    pub fn new(config: ThrottleConfig) -> Self {
        Throttle {
            config,
            windows: Mutex::new(Windows::default()),
        }
    }

    /// The budgets it enforces.
    pub fn config(&self) -> ThrottleConfig {
        self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Windows> {
        // A panic elsewhere cannot leave the windows inconsistent: each
        // update is a single push or assignment.
        self.windows.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a slot in both budgets at `now`, or says how long to wait
    /// (the longest of the two budgets' waits) without taking anything.
    pub fn try_acquire(&self, caller: Caller<'_>, now: Instant) -> Result<Permit, Duration> {
        let ThrottleConfig {
            connector: c_budget,
            tenant: t_budget,
        } = self.config;
        let mut windows = self.lock();
        let Windows {
            connectors,
            tenants,
        } = &mut *windows;
        let c = window(connectors, caller.connector);
        let t = window(tenants, caller.tenant);
        c.prune(now, c_budget.per);
        t.prune(now, t_budget.per);
        let wait = c.wait(now, c_budget).max(t.wait(now, t_budget));
        if !wait.is_zero() {
            return Err(wait);
        }
        c.grants.push_back(now);
        t.grants.push_back(now);
        let (c_left, t_left) = (c.remaining(c_budget), t.remaining(t_budget));
        Ok(if c_left <= t_left {
            Permit {
                limit: c_budget.calls,
                remaining: c_left,
                reset_after: c.reset_after(now, c_budget),
            }
        } else {
            Permit {
                limit: t_budget.calls,
                remaining: t_left,
                reset_after: t.reset_after(now, t_budget),
            }
        })
    }

    /// Blocks both budgets until `until` (the server said to stop). A
    /// shorter block never cuts a longer one short.
    pub fn block(&self, caller: Caller<'_>, until: Instant) {
        let mut windows = self.lock();
        let extend = |window: &mut Window| {
            window.blocked_until = Some(window.blocked_until.map_or(until, |b| b.max(until)));
        };
        extend(
            windows
                .connectors
                .entry(caller.connector.to_owned())
                .or_default(),
        );
        extend(windows.tenants.entry(caller.tenant.to_owned()).or_default());
    }

    /// Learns from an answer: a 429 blocks the budgets for its `Retry-After`
    /// (or `default_wait`); `X-RateLimit-Remaining: 0` blocks them until
    /// `X-RateLimit-Reset` (epoch seconds). No block outlasts the longer
    /// budget window: a reset further off than that is not believable (a
    /// server whose clock is off, say) and must not stall the caller.
    pub fn observe(
        &self,
        caller: Caller<'_>,
        status: StatusCode,
        headers: &HeaderMap,
        now: Instant,
        wall: SystemTime,
        default_wait: Duration,
    ) {
        let longest = self.config.connector.per.max(self.config.tenant.per);
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after(headers, wall).unwrap_or(default_wait);
            self.block(caller, now + wait.min(longest));
        }
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if header("x-ratelimit-remaining") == Some(0) {
            let reset =
                header("x-ratelimit-reset").map(|secs| UNIX_EPOCH + Duration::from_secs(secs));
            let wait = reset
                .and_then(|at| at.duration_since(wall).ok())
                .unwrap_or(default_wait);
            self.block(caller, now + wait.min(longest));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn caller<'a>(connector: &'a str, tenant: &'a str) -> Caller<'a> {
        Caller { connector, tenant }
    }

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    #[test]
    fn a_full_connector_budget_waits_for_its_oldest_call() {
        let throttle = Throttle::new(ThrottleConfig {
            connector: Budget::per_minute(3),
            tenant: Budget::per_minute(10),
        });
        let t0 = Instant::now();
        for ms in [0, 10, 20] {
            throttle
                .try_acquire(caller("app", "tenant"), at(t0, ms))
                .unwrap();
        }
        assert_eq!(
            throttle.try_acquire(caller("app", "tenant"), at(t0, 30)),
            Err(Duration::from_millis(59_970))
        );
        // Another connector of the tenant is not held up…
        let permit = throttle
            .try_acquire(caller("other", "tenant"), at(t0, 30))
            .unwrap();
        assert_eq!(permit.remaining, 2);
        // …and the slot frees exactly when the oldest call is a minute old.
        assert!(
            throttle
                .try_acquire(caller("app", "tenant"), at(t0, 59_999))
                .is_err()
        );
        assert!(
            throttle
                .try_acquire(caller("app", "tenant"), at(t0, 60_000))
                .is_ok()
        );
    }

    #[test]
    fn the_wait_is_the_longest_of_both_budgets() {
        let throttle = Throttle::new(ThrottleConfig {
            connector: Budget::per_minute(5),
            tenant: Budget::per_minute(2),
        });
        let t0 = Instant::now();
        throttle.try_acquire(caller("a", "t"), at(t0, 0)).unwrap();
        throttle
            .try_acquire(caller("b", "t"), at(t0, 1_000))
            .unwrap();
        // "a" has room, the tenant does not: the tenant's wait counts.
        assert_eq!(
            throttle.try_acquire(caller("a", "t"), at(t0, 2_000)),
            Err(Duration::from_millis(58_000))
        );
        // A refused call takes nothing from either budget.
        assert!(
            throttle
                .try_acquire(caller("a", "t2"), at(t0, 2_000))
                .is_ok()
        );
    }

    #[test]
    fn a_429_or_an_exhausted_remaining_header_blocks_until_the_reset() {
        let throttle = Throttle::default();
        let t0 = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "30".parse().unwrap());
        throttle.observe(
            caller("app", "t"),
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
            t0,
            wall,
            Duration::from_secs(1),
        );
        assert_eq!(
            throttle.try_acquire(caller("app", "t"), t0),
            Err(Duration::from_secs(30))
        );
        assert_eq!(
            throttle.try_acquire(caller("app", "t"), at(t0, 29_000)),
            Err(Duration::from_secs(1))
        );
        assert!(
            throttle
                .try_acquire(caller("app", "t"), at(t0, 30_000))
                .is_ok()
        );

        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
        headers.insert("x-ratelimit-reset", "1700000045".parse().unwrap());
        throttle.observe(
            caller("app2", "t2"),
            StatusCode::OK,
            &headers,
            t0,
            wall,
            Duration::from_secs(1),
        );
        assert_eq!(
            throttle.try_acquire(caller("app2", "t2"), t0),
            Err(Duration::from_secs(45))
        );
        // A later, shorter block never shortens an earlier, longer one.
        throttle.block(caller("app2", "t2"), at(t0, 1_000));
        assert_eq!(
            throttle.try_acquire(caller("app2", "t2"), t0),
            Err(Duration::from_secs(45))
        );
    }

    #[test]
    fn an_unbelievable_reset_blocks_for_one_window_at_most() {
        let throttle = Throttle::default();
        let t0 = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
        headers.insert("x-ratelimit-reset", "1700003600".parse().unwrap()); // an hour off
        throttle.observe(
            caller("app", "t"),
            StatusCode::OK,
            &headers,
            t0,
            wall,
            Duration::from_secs(1),
        );
        assert_eq!(
            throttle.try_acquire(caller("app", "t"), t0),
            Err(Duration::from_secs(60))
        );
    }

    #[test]
    fn permits_report_the_tighter_budget() {
        let throttle = Throttle::default();
        let t0 = Instant::now();
        let permit = throttle.try_acquire(caller("app", "t"), t0).unwrap();
        assert_eq!(
            permit,
            Permit {
                limit: 100,
                remaining: 99,
                reset_after: Duration::from_secs(60)
            }
        );
    }

    /// A request arrives at `arrival` for a connector and a tenant.
    #[derive(Debug, Clone)]
    struct Arrival {
        arrival_ms: u64,
        connector: u8,
        tenant: u8,
    }

    /// Bursts as well as trickles: the span the arrivals fall in is itself
    /// random, from one millisecond to five minutes.
    fn arrivals() -> impl Strategy<Value = Vec<Arrival>> {
        (1u64..300_000).prop_flat_map(|span| {
            prop::collection::vec(
                (0..span, 0u8..4, 0u8..2).prop_map(|(arrival_ms, connector, tenant)| Arrival {
                    arrival_ms,
                    connector,
                    tenant,
                }),
                1..700,
            )
        })
    }

    #[test]
    fn a_burst_drains_one_window_at_a_time() {
        let throttle = Throttle::default();
        let t0 = Instant::now();
        let mut grants = Vec::new();
        // All 250 arrive at once; each waits as told (time only moves forward).
        let mut now = 0;
        for _ in 0..250 {
            loop {
                match throttle.try_acquire(caller("app", "t"), at(t0, now)) {
                    Ok(_) => break,
                    Err(wait) => now += wait.as_millis() as u64,
                }
            }
            grants.push(now);
        }
        assert_eq!(grants.iter().filter(|&&t| t == 0).count(), 100);
        assert_eq!(grants.iter().filter(|&&t| t == 60_000).count(), 100);
        assert_eq!(grants.iter().filter(|&&t| t == 120_000).count(), 50);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Whatever the arrival pattern, callers that wait as told are all
        /// served, and no 60 s window holds more than 100 calls of a
        /// connector or 300 of a tenant.
        #[test]
        fn no_window_exceeds_either_budget(mut requests in arrivals()) {
            requests.sort_by_key(|r| r.arrival_ms);
            let throttle = Throttle::default();
            let t0 = Instant::now();
            // Pending requests, retried in time order as a real caller would
            // after sleeping the wait it was given.
            let mut pending: Vec<(u64, usize)> = requests.iter().enumerate().map(|(i, r)| (r.arrival_ms, i)).collect();
            let mut granted: Vec<(u64, usize)> = Vec::new();
            while let Some(pos) = (0..pending.len()).min_by_key(|&i| pending[i]) {
                let (time, index) = pending[pos];
                let request = &requests[index];
                let (connector, tenant) = (format!("c{}", request.connector), format!("t{}", request.tenant));
                match throttle.try_acquire(Caller { connector: &connector, tenant: &tenant }, at(t0, time)) {
                    Ok(_) => {
                        granted.push((time, index));
                        pending.swap_remove(pos);
                    }
                    Err(wait) => {
                        prop_assert!(!wait.is_zero());
                        pending[pos].0 = time + wait.as_millis() as u64;
                    }
                }
            }
            prop_assert_eq!(granted.len(), requests.len());
            for (key, limit, of) in [
                ("connector", 100usize, Box::new(|i: usize| requests[i].connector) as Box<dyn Fn(usize) -> u8>),
                ("tenant", 300usize, Box::new(|i: usize| requests[i].tenant)),
            ] {
                for id in 0..4u8 {
                    let mut times: Vec<u64> = granted.iter().filter(|(_, i)| of(*i) == id).map(|(t, _)| *t).collect();
                    times.sort_unstable();
                    for (i, start) in times.iter().enumerate() {
                        let in_window = times[i..].iter().take_while(|t| **t < start + 60_000).count();
                        prop_assert!(in_window <= limit, "{} {} holds {} calls in [{}, {}+60s)", key, id, in_window, start, start);
                    }
                }
            }
        }
    }
}
