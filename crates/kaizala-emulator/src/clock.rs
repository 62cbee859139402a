//! The emulator's virtual clock: real time scaled by a factor, plus any
//! jumps the admin API makes. Token lifetimes, webhook validity and the
//! webhook retry schedule all run on it, so a two-day schedule can pass in
//! seconds and a 328-day-old refresh token can be reached on demand.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kaizala_core::clock::Clock;

#[derive(Debug, Clone, Copy)]
struct Anchor {
    real: Instant,
    virtual_ms: f64,
    scale: f64,
}

/// Scaled time. Cheap to read; changes (scale, jumps) re-anchor it so the
/// virtual time never jumps backwards by accident.
#[derive(Debug)]
pub struct VirtualClock {
    anchor: Mutex<Anchor>,
    /// A real instant and the virtual time it stands for, to express virtual
    /// time as `Instant`s (which cannot be built from a number).
    base: (Instant, i64),
}

impl VirtualClock {
    /// A clock reading the real time now, running `scale` times faster.
    pub fn new(scale: f64) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
            * 1000.0;
        let real = Instant::now();
        VirtualClock {
            anchor: Mutex::new(Anchor {
                real,
                virtual_ms: now,
                scale: scale.max(0.0),
            }),
            base: (real, now as i64),
        }
    }

    fn anchor(&self) -> Anchor {
        *self.anchor.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Virtual milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        let a = self.anchor();
        (a.virtual_ms + a.real.elapsed().as_secs_f64() * 1000.0 * a.scale) as i64
    }

    /// Virtual seconds per real second.
    pub fn scale(&self) -> f64 {
        self.anchor().scale
    }

    /// Changes the time scale from now on.
    pub fn set_scale(&self, scale: f64) {
        let mut a = self.anchor.lock().unwrap_or_else(|e| e.into_inner());
        let now = a.virtual_ms + a.real.elapsed().as_secs_f64() * 1000.0 * a.scale;
        *a = Anchor {
            real: Instant::now(),
            virtual_ms: now,
            scale: scale.max(0.0),
        };
    }

    /// Jumps forward by `by` of virtual time.
    pub fn advance(&self, by: Duration) {
        let mut a = self.anchor.lock().unwrap_or_else(|e| e.into_inner());
        a.virtual_ms += by.as_secs_f64() * 1000.0;
    }

    /// How long to wait in real time for `virtual_ms` to pass (`None` if
    /// the clock is stopped).
    pub fn real_delay(&self, virtual_ms: i64) -> Option<Duration> {
        let scale = self.scale();
        if virtual_ms <= 0 {
            return Some(Duration::ZERO);
        }
        (scale > 0.0).then(|| Duration::from_secs_f64(virtual_ms as f64 / 1000.0 / scale))
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(u64::try_from(self.now_ms()).unwrap_or(0))
    }

    /// Virtual time as an `Instant`, for code written against [`Clock`].
    /// (The call budgets do not use it: they run on real time, the clock
    /// clients pace themselves by.)
    fn instant(&self) -> Instant {
        let (base, base_ms) = self.base;
        // Virtual time only moves forward, so the offset is never negative.
        base + Duration::from_millis(u64::try_from(self.now_ms() - base_ms).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_time_and_jumps() {
        let clock = VirtualClock::new(0.0);
        let start = clock.now_ms();
        clock.advance(Duration::from_secs(86_400));
        assert_eq!(clock.now_ms() - start, 86_400_000);
        assert_eq!(
            clock.real_delay(1000),
            None,
            "a stopped clock never gets there"
        );
        clock.set_scale(10_000.0);
        assert_eq!(
            clock.real_delay(172_800_000),
            Some(Duration::from_secs_f64(17.28))
        );
        let before = clock.now_ms();
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            clock.now_ms() - before >= 200_000,
            "20 ms real is at least 200 s virtual"
        );
    }
}
