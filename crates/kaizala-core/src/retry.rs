//! What to do after each attempt of a call — accept, refresh the token,
//! follow a relocation, wait and retry, or give up — decided by a pure
//! function of the operation, the outcome, the call's history, the policy
//! and the time. Transports perform the decision; they never decide.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

use crate::endpoint::{Auth, EndpointMeta, Server};
use crate::response::retry_after;
use crate::session::normalize_endpoint_url;

/// How hard to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (the first included) before a transient failure
    /// (5xx, timeout, broken connection, 429) is final.
    pub max_attempts: u32,
    /// First backoff step; each further retry doubles it.
    pub base_delay: Duration,
    /// Longest backoff.
    pub max_delay: Duration,
    /// Relocations (HTTP 308) followed in a row before giving up.
    pub max_relocations: u32,
    /// Retry operations that are not retry-safe (their replay may act
    /// twice) after a 5xx or a connection failure too.
    pub retry_unsafe: bool,
    /// Longest `Retry-After` waited for; a longer one fails the call at once
    /// with the wait in the error, for the caller to schedule.
    pub max_retry_after: Duration,
    /// Wait after a 429 without `Retry-After`.
    pub default_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(20),
            max_relocations: 3,
            retry_unsafe: false,
            max_retry_after: Duration::from_secs(120),
            default_retry_after: Duration::from_secs(1),
        }
    }
}

/// A shared allowance of retries, so that a failing server is not hammered
/// by every call retrying at once: retries spend from it, successes refill
/// it slowly, and when it is empty failures are final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryBudget {
    capacity: u32,
    available: u32,
}

impl RetryBudget {
    /// Cost of retrying after a server error or connection failure.
    pub const RETRY_COST: u32 = 5;
    /// Cost of retrying after a timeout (the server may be overloaded).
    pub const TIMEOUT_COST: u32 = 10;
    /// Refund of each success.
    pub const SUCCESS_REFUND: u32 = 1;

    /// A full budget of `capacity`.
    pub fn new(capacity: u32) -> Self {
        RetryBudget {
            capacity,
            available: capacity,
        }
    }

    /// What is left.
    pub fn available(&self) -> u32 {
        self.available
    }

    fn try_spend(&mut self, cost: u32) -> bool {
        if self.available >= cost {
            self.available -= cost;
            true
        } else {
            false
        }
    }

    fn refund(&mut self) {
        self.available = (self.available + Self::SUCCESS_REFUND).min(self.capacity);
    }
}

impl Default for RetryBudget {
    /// 500: a hundred retries in a row, then one per five successes.
    fn default() -> Self {
        RetryBudget::new(500)
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// The server answered.
    Response {
        /// The HTTP status of the answer.
        status: StatusCode,
        /// The answer's headers, read for `Location` (308) and `Retry-After`.
        headers: &'a HeaderMap,
    },
    /// No answer within the timeout.
    Timeout,
    /// No connection could be made: the request was not sent.
    ConnectFailed,
    /// The connection broke after the request started: it may have been acted on.
    Broken,
}

/// The history of one call so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallState {
    /// Attempts made, the one being decided on included.
    pub attempts: u32,
    /// Whether the token was already refreshed for this call.
    pub refreshed: bool,
    /// Relocations followed in a row.
    pub relocations: u32,
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A success: decode the body.
    Accept,
    /// HTTP 401 on a token-authenticated call: refresh the token, then replay.
    Refresh,
    /// HTTP 308: adopt `endpoint_url` as the tenant's endpoint, persist it,
    /// then replay.
    Relocate {
        /// The new endpoint root (normalised).
        endpoint_url: String,
    },
    /// Wait, then replay.
    Retry {
        /// How long to wait before the replay.
        after: Duration,
    },
    /// Give up: the outcome is the call's error.
    Fail,
}

/// Decides what follows an attempt. `random` feeds the backoff jitter (pass a
/// random number; tests pass fixed ones).
pub fn decide(
    meta: &EndpointMeta,
    outcome: &Outcome<'_>,
    state: &CallState,
    policy: &RetryPolicy,
    budget: &mut RetryBudget,
    now: SystemTime,
    random: u64,
) -> Decision {
    match *outcome {
        Outcome::Response { status, .. } if status.is_success() => {
            budget.refund();
            Decision::Accept
        }
        Outcome::Response {
            status: StatusCode::UNAUTHORIZED,
            ..
        } => {
            if meta.auth == Auth::Access && !state.refreshed {
                Decision::Refresh
            } else {
                Decision::Fail
            }
        }
        Outcome::Response {
            status: StatusCode::PERMANENT_REDIRECT,
            headers,
        } => {
            let location = headers
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|url| normalize_endpoint_url(url).ok());
            match location {
                Some(endpoint_url)
                    if meta.server == Server::Endpoint
                        && state.relocations < policy.max_relocations =>
                {
                    Decision::Relocate { endpoint_url }
                }
                _ => Decision::Fail,
            }
        }
        Outcome::Response {
            status: StatusCode::TOO_MANY_REQUESTS,
            headers,
        } => {
            // The server did not act on the call: replaying is always safe
            // and costs no budget, but is still bounded by max_attempts.
            let wait = retry_after(headers, now).unwrap_or(policy.default_retry_after);
            if state.attempts >= policy.max_attempts || wait > policy.max_retry_after {
                Decision::Fail
            } else {
                Decision::Retry { after: wait }
            }
        }
        Outcome::Response { status, .. } if status.is_server_error() => {
            transient(meta, state, policy, budget, RetryBudget::RETRY_COST, random)
        }
        Outcome::Response { .. } => Decision::Fail,
        Outcome::Timeout => transient(
            meta,
            state,
            policy,
            budget,
            RetryBudget::TIMEOUT_COST,
            random,
        ),
        Outcome::ConnectFailed | Outcome::Broken => {
            transient(meta, state, policy, budget, RetryBudget::RETRY_COST, random)
        }
    }
}

fn transient(
    meta: &EndpointMeta,
    state: &CallState,
    policy: &RetryPolicy,
    budget: &mut RetryBudget,
    cost: u32,
    random: u64,
) -> Decision {
    if !(meta.retry_safe || policy.retry_unsafe)
        || state.attempts >= policy.max_attempts
        || !budget.try_spend(cost)
    {
        return Decision::Fail;
    }
    Decision::Retry {
        after: backoff(policy, state.attempts, random),
    }
}

/// Exponential backoff with "equal jitter": half the step fixed, half random,
/// so retries spread out but never fire at once.
pub fn backoff(policy: &RetryPolicy, attempts: u32, random: u64) -> Duration {
    let exponent = attempts.saturating_sub(1).min(20);
    let step = policy
        .base_delay
        .saturating_mul(1 << exponent)
        .min(policy.max_delay);
    let half = step / 2;
    let span = u64::try_from(half.as_micros())
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    half + Duration::from_micros(random % span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Operation;
    use std::time::UNIX_EPOCH;

    const NOW: SystemTime = UNIX_EPOCH;

    fn response(status: u16, headers: &HeaderMap) -> Outcome<'_> {
        Outcome::Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
        }
    }

    fn decide_once(op: Operation, outcome: Outcome<'_>, state: CallState) -> Decision {
        decide(
            op.meta(),
            &outcome,
            &state,
            &RetryPolicy::default(),
            &mut RetryBudget::default(),
            NOW,
            0,
        )
    }

    fn first() -> CallState {
        CallState {
            attempts: 1,
            ..CallState::default()
        }
    }

    #[test]
    fn success_is_accepted_and_refills_the_budget() {
        let mut budget = RetryBudget::new(10);
        budget.try_spend(5);
        let none = HeaderMap::new();
        let decision = decide(
            Operation::ListGroups.meta(),
            &response(200, &none),
            &first(),
            &RetryPolicy::default(),
            &mut budget,
            NOW,
            0,
        );
        assert_eq!(decision, Decision::Accept);
        assert_eq!(budget.available(), 6);
    }

    #[test]
    fn unauthorized_refreshes_once() {
        let none = HeaderMap::new();
        assert_eq!(
            decide_once(Operation::ListGroups, response(401, &none), first()),
            Decision::Refresh
        );
        let refreshed = CallState {
            refreshed: true,
            attempts: 2,
            ..CallState::default()
        };
        assert_eq!(
            decide_once(Operation::ListGroups, response(401, &none), refreshed),
            Decision::Fail
        );
        // The token call itself failing with 401 means bad credentials: no loop.
        assert_eq!(
            decide_once(Operation::GetAccessToken, response(401, &none), first()),
            Decision::Fail
        );
    }

    #[test]
    fn relocation_follows_location_up_to_the_hop_limit() {
        let mut headers = HeaderMap::new();
        headers.insert("location", "https://KMS-Beta.kaiza.la/".parse().unwrap());
        let mut state = first();
        for hop in 0..3 {
            state.relocations = hop;
            assert_eq!(
                decide_once(Operation::SendMessage, response(308, &headers), state),
                Decision::Relocate {
                    endpoint_url: "https://kms-beta.kaiza.la".into()
                },
                "hop {hop}"
            );
        }
        state.relocations = 3;
        assert_eq!(
            decide_once(Operation::SendMessage, response(308, &headers), state),
            Decision::Fail
        );
        // Without a usable Location there is nowhere to go.
        let none = HeaderMap::new();
        assert_eq!(
            decide_once(Operation::SendMessage, response(308, &none), first()),
            Decision::Fail
        );
    }

    #[test]
    fn too_many_requests_waits_as_told_in_both_forms() {
        let mut seconds = HeaderMap::new();
        seconds.insert("retry-after", "7".parse().unwrap());
        assert_eq!(
            decide_once(Operation::SendMessage, response(429, &seconds), first()),
            Decision::Retry {
                after: Duration::from_secs(7)
            },
            "even a POST: the server did not act on it"
        );
        let mut date = HeaderMap::new();
        date.insert(
            "retry-after",
            httpdate::fmt_http_date(NOW + Duration::from_secs(42))
                .parse()
                .unwrap(),
        );
        assert_eq!(
            decide_once(Operation::ListGroups, response(429, &date), first()),
            Decision::Retry {
                after: Duration::from_secs(42)
            }
        );
        let none = HeaderMap::new();
        assert_eq!(
            decide_once(Operation::ListGroups, response(429, &none), first()),
            Decision::Retry {
                after: Duration::from_secs(1)
            }
        );
        let mut long = HeaderMap::new();
        long.insert("retry-after", "3600".parse().unwrap());
        assert_eq!(
            decide_once(Operation::ListGroups, response(429, &long), first()),
            Decision::Fail
        );
        let last = CallState {
            attempts: 4,
            ..CallState::default()
        };
        assert_eq!(
            decide_once(Operation::ListGroups, response(429, &seconds), last),
            Decision::Fail
        );
    }

    #[test]
    fn post_is_not_retried_on_server_errors_by_default() {
        let none = HeaderMap::new();
        assert_eq!(
            decide_once(Operation::SendMessage, response(503, &none), first()),
            Decision::Fail
        );
        assert_eq!(
            decide_once(Operation::SendMessage, Outcome::Timeout, first()),
            Decision::Fail
        );
        assert_eq!(
            decide_once(Operation::CreateAction, Outcome::ConnectFailed, first()),
            Decision::Fail
        );
        let opt_in = RetryPolicy {
            retry_unsafe: true,
            ..RetryPolicy::default()
        };
        let decision = decide(
            Operation::SendMessage.meta(),
            &response(503, &none),
            &first(),
            &opt_in,
            &mut RetryBudget::default(),
            NOW,
            0,
        );
        assert!(matches!(decision, Decision::Retry { .. }), "{decision:?}");
    }

    #[test]
    fn retry_safe_calls_back_off_exponentially_with_jitter() {
        let none = HeaderMap::new();
        let policy = RetryPolicy::default();
        for (attempts, low, high) in [(1, 125, 250), (2, 250, 500), (3, 500, 1000)] {
            let state = CallState {
                attempts,
                ..CallState::default()
            };
            for random in [0, 1, u64::MAX / 3, u64::MAX] {
                let Decision::Retry { after } = decide(
                    Operation::ListSubscribers.meta(),
                    &response(502, &none),
                    &state,
                    &policy,
                    &mut RetryBudget::default(),
                    NOW,
                    random,
                ) else {
                    panic!("a read is retried");
                };
                assert!(
                    after >= Duration::from_millis(low) && after <= Duration::from_millis(high),
                    "attempt {attempts}: {after:?}"
                );
            }
        }
        let capped = backoff(&policy, 30, u64::MAX);
        assert!(capped <= policy.max_delay, "{capped:?}");
        let fourth = CallState {
            attempts: 4,
            ..CallState::default()
        };
        assert_eq!(
            decide_once(Operation::ListGroups, response(500, &none), fourth),
            Decision::Fail
        );
    }

    #[test]
    fn an_exhausted_budget_stops_retries_until_successes_refill_it() {
        let none = HeaderMap::new();
        let mut budget = RetryBudget::new(12);
        let policy = RetryPolicy::default();
        let mut decisions = Vec::new();
        for _ in 0..4 {
            decisions.push(decide(
                Operation::ListGroups.meta(),
                &response(500, &none),
                &first(),
                &policy,
                &mut budget,
                NOW,
                0,
            ));
        }
        assert!(matches!(decisions[0], Decision::Retry { .. }));
        assert!(matches!(decisions[1], Decision::Retry { .. }));
        assert_eq!(
            decisions[2..],
            [Decision::Fail, Decision::Fail],
            "12 - 5 - 5 = 2 < 5"
        );
        assert_eq!(budget.available(), 2);
        // Timeouts cost more.
        let mut budget = RetryBudget::new(9);
        assert_eq!(
            decide(
                Operation::ListGroups.meta(),
                &Outcome::Timeout,
                &first(),
                &policy,
                &mut budget,
                NOW,
                0
            ),
            Decision::Fail
        );
        for _ in 0..3 {
            budget.refund();
        }
        assert_eq!(budget.available(), 9, "refunds never exceed the capacity");
    }

    #[test]
    fn client_errors_are_final() {
        let none = HeaderMap::new();
        for status in [400, 403, 404, 413, 415] {
            assert_eq!(
                decide_once(Operation::ListGroups, response(status, &none), first()),
                Decision::Fail,
                "{status}"
            );
        }
    }
}
