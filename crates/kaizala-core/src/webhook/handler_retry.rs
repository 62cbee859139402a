//! When a failed event handler runs again, and when it stops trying.

use std::time::Duration;

/// What to do after a handler failed on an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Run the handler again after this long.
    RetryAfter(Duration),
    /// Stop: move the event to the dead letters, from where it can be
    /// listed and replayed.
    DeadLetter,
}

/// Exponential backoff for event handlers: `base`, `2 × base`, `4 × base`,
/// … capped at `max_delay`, for at most `max_attempts` runs in all.
///
/// ```
/// use std::time::Duration;
/// use kaizala_core::webhook::{HandlerRetry, NextStep};
///
/// let policy = HandlerRetry::default();
/// assert_eq!(policy.after_failure(1), NextStep::RetryAfter(Duration::from_secs(1)));
/// assert_eq!(policy.after_failure(3), NextStep::RetryAfter(Duration::from_secs(4)));
/// assert_eq!(policy.after_failure(policy.max_attempts), NextStep::DeadLetter);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandlerRetry {
    /// The wait after the first failure.
    pub base: Duration,
    /// The longest wait between two runs.
    pub max_delay: Duration,
    /// Runs in all (the first included) before the event is dead-lettered.
    pub max_attempts: u32,
}

impl Default for HandlerRetry {
    /// 1 s, 2 s, 4 s, … up to 5 min between runs; 8 runs (about 4 min of
    /// trying in all) before dead-lettering.
    fn default() -> Self {
        HandlerRetry {
            base: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            max_attempts: 8,
        }
    }
}

impl HandlerRetry {
    /// The step after the `attempts`-th run (counting from 1) failed.
    pub fn after_failure(&self, attempts: u32) -> NextStep {
        if attempts >= self.max_attempts {
            return NextStep::DeadLetter;
        }
        let doublings = attempts.saturating_sub(1).min(31);
        let delay = self
            .base
            .checked_mul(1 << doublings)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        NextStep::RetryAfter(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_then_dead_letters() {
        let policy = HandlerRetry {
            base: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            max_attempts: 6,
        };
        let steps: Vec<NextStep> = (1..=6).map(|n| policy.after_failure(n)).collect();
        let ms = |n| NextStep::RetryAfter(Duration::from_millis(n));
        assert_eq!(
            steps,
            [
                ms(100),
                ms(200),
                ms(400),
                ms(500),
                ms(500),
                NextStep::DeadLetter
            ]
        );
        assert_eq!(policy.after_failure(7), NextStep::DeadLetter);
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        let policy = HandlerRetry {
            max_attempts: u32::MAX,
            ..HandlerRetry::default()
        };
        assert_eq!(
            policy.after_failure(u32::MAX - 1),
            NextStep::RetryAfter(policy.max_delay)
        );
    }

    #[test]
    fn one_attempt_means_no_retry() {
        let policy = HandlerRetry {
            max_attempts: 1,
            ..HandlerRetry::default()
        };
        assert_eq!(policy.after_failure(1), NextStep::DeadLetter);
    }
}
