//! Configuring a [`Client`].

use std::sync::Arc;
use std::time::Duration;

use kaizala_core::Error;
use kaizala_core::clock::{Clock, SystemClock};
use kaizala_core::retry::{RetryBudget, RetryPolicy};
use kaizala_core::session::{Credentials, Hosts};
use kaizala_core::throttle::{Throttle, ThrottleConfig};
use kaizala_types::{ApplicationId, Secret};

use crate::client::Client;
use crate::store::{MemoryTokenStore, TokenStore};

/// Builds a [`Client`]. Every setting has a sane default; only credentials
/// (or, for the PIN and OAuth flows, the connector id and secret) are needed.
///
/// ```
/// use std::time::Duration;
/// use kaizala_client::Client;
/// use kaizala_core::session::Credentials;
///
/// let client = Client::builder()
///     .credentials(Credentials::new("connector-id", "connector-secret", "refresh-token"))
///     .base_url("http://127.0.0.1:8080/v1")
///     .timeout(Duration::from_secs(30))
///     .build()?;
/// # Ok::<(), kaizala_core::Error>(())
/// ```
#[derive(Debug)]
pub struct ClientBuilder {
    pub(crate) credentials: Option<Credentials>,
    pub(crate) application: Option<(ApplicationId, Secret)>,
    pub(crate) hosts: Hosts,
    pub(crate) store: Arc<dyn TokenStore>,
    pub(crate) connect_timeout: Duration,
    pub(crate) call_timeout: Duration,
    pub(crate) throttle: Arc<Throttle>,
    pub(crate) policy: RetryPolicy,
    pub(crate) budget: RetryBudget,
    pub(crate) refresh_ahead: Duration,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            credentials: None,
            application: None,
            hosts: Hosts::default(),
            store: Arc::new(MemoryTokenStore::new()),
            connect_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(60),
            throttle: Arc::new(Throttle::default()),
            policy: RetryPolicy::default(),
            budget: RetryBudget::default(),
            refresh_ahead: Duration::from_secs(5 * 60),
            clock: Arc::new(SystemClock),
        }
    }
}

/// Environment variables read by [`ClientBuilder::from_env`].
pub mod env {
    /// Optional: the API root (default `https://api.kaiza.la/v1`), e.g. an emulator's.
    pub const BASE_URL: &str = "KAIZALA_BASE_URL";
    /// The connector's id.
    pub const APPLICATION_ID: &str = "KAIZALA_APPLICATION_ID";
    /// The connector's secret.
    pub const APPLICATION_SECRET: &str = "KAIZALA_APPLICATION_SECRET";
    /// The refresh token granted to the connector.
    pub const REFRESH_TOKEN: &str = "KAIZALA_REFRESH_TOKEN";
}

impl ClientBuilder {
    /// A builder with the defaults: API at `https://api.kaiza.la/v1`,
    /// tokens kept in memory, 10 s to connect, 60 s per call, 100 calls a
    /// minute per connector and 300 per tenant, up to 4 attempts for
    /// transient failures of retry-safe calls, tokens refreshed 5 minutes
    /// before they expire.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder configured from `KAIZALA_APPLICATION_ID`,
    /// `KAIZALA_APPLICATION_SECRET`, `KAIZALA_REFRESH_TOKEN` and, optionally,
    /// `KAIZALA_BASE_URL`.
    pub fn from_env() -> Result<Self, Error> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| {
                    Error::invalid_input(format!("environment variable {name} is not set"))
                })
        };
        let mut builder = ClientBuilder::new().credentials(Credentials::new(
            var(env::APPLICATION_ID)?,
            var(env::APPLICATION_SECRET)?,
            var(env::REFRESH_TOKEN)?,
        ));
        if let Ok(base) = var(env::BASE_URL) {
            builder = builder.base_url(&base);
        }
        Ok(builder)
    }

    /// The connector's id, secret and refresh token.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Only the connector's id and secret, for the PIN login and OAuth flows
    /// that produce a refresh token.
    pub fn application(mut self, id: impl Into<ApplicationId>, secret: impl Into<Secret>) -> Self {
        self.application = Some((id.into(), secret.into()));
        self
    }

    /// The API root for the token calls (default `https://api.kaiza.la/v1`);
    /// point it at an emulator. The tenant's endpoint comes with each token.
    pub fn base_url(mut self, url: &str) -> Self {
        self.hosts.api = url.trim_end_matches('/').to_owned();
        self
    }

    /// The OAuth root (default `https://ds.kaiza.la/api`).
    pub fn oauth_base_url(mut self, url: &str) -> Self {
        self.hosts.oauth = url.trim_end_matches('/').to_owned();
        self
    }

    /// Where tokens are kept between runs (default: in memory only).
    pub fn token_store(mut self, store: impl TokenStore + 'static) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// Time allowed to open a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for each attempt of a call, answer included (default 60 s,
    /// the platform's own suggestion).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// Call budgets (default 100 a minute per connector, 300 per tenant).
    pub fn throttle(mut self, config: ThrottleConfig) -> Self {
        self.throttle = Arc::new(Throttle::new(config));
        self
    }

    /// A throttle shared with other clients of the same tenant, so that their
    /// calls count against one tenant budget.
    pub fn shared_throttle(mut self, throttle: Arc<Throttle>) -> Self {
        self.throttle = throttle;
        self
    }

    /// How hard to retry.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The retry allowance shared by every call of the client.
    pub fn retry_budget(mut self, budget: RetryBudget) -> Self {
        self.budget = budget;
        self
    }

    /// How long before expiry the access token is renewed (default 5 minutes).
    pub fn refresh_ahead(mut self, ahead: Duration) -> Self {
        self.refresh_ahead = ahead;
        self
    }

    /// The clock (tests use a [`kaizala_core::clock::ManualClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the client. No call is made: the access token is fetched on
    /// first use, so this fails only when TLS cannot be set up.
    pub fn build(self) -> Result<Client, Error> {
        Client::from_builder(self)
    }
}
