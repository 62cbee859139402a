//! The receiver's settings.

use std::time::Duration;

use kaizala_core::webhook::{CallbackTokens, HandlerRetry, Intake, TokenConfigError};
use kaizala_types::Secret;

/// How a receiver authenticates, limits and hands off callbacks.
///
/// ```
/// use std::time::Duration;
/// use kaizala_webhook::ReceiverConfig;
///
/// let config = ReceiverConfig::new()
///     .callback_token("from-the-webhook-registration")?
///     .path("/kaizala/events")
///     .body_limit(256 * 1024)
///     .read_timeout(Duration::from_secs(5));
/// assert_eq!(config.path_str(), "/kaizala/events");
/// # Ok::<(), kaizala_webhook::TokenConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    pub(crate) path: String,
    pub(crate) tokens: Option<CallbackTokens>,
    pub(crate) intake: Intake,
    pub(crate) body_limit: usize,
    pub(crate) read_timeout: Duration,
    pub(crate) shutdown_grace: Duration,
    pub(crate) handler_retry: HandlerRetry,
    pub(crate) handler_concurrency: usize,
    pub(crate) metrics_path: Option<String>,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            path: "/".to_owned(),
            tokens: None,
            intake: Intake::default(),
            body_limit: Self::DEFAULT_BODY_LIMIT,
            read_timeout: Self::DEFAULT_READ_TIMEOUT,
            shutdown_grace: Duration::from_secs(30),
            handler_retry: HandlerRetry::default(),
            handler_concurrency: 16,
            metrics_path: None,
        }
    }
}

impl ReceiverConfig {
    /// The default body limit: 1 MiB.
    pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
    /// The default time allowed to read a request's headers, and then its
    /// body: 10 s each.
    pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);

    /// The defaults: callbacks at `/`, no callback token (any sender is
    /// accepted — set one for anything reachable from outside), 1 MiB
    /// bodies, 10 s to read headers and 10 s to read a body, JSON nested at
    /// most 64 levels.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires the `kz-callback-token` header to be `token` (the
    /// `callBackToken` the webhook was created with).
    pub fn callback_token(mut self, token: impl Into<Secret>) -> Result<Self, TokenConfigError> {
        self.tokens = Some(CallbackTokens::new(token)?);
        Ok(self)
    }

    /// Also accepts `token`, while the webhook's token is being rotated.
    /// Call after [`callback_token`](Self::callback_token).
    pub fn next_callback_token(
        mut self,
        token: impl Into<Secret>,
    ) -> Result<Self, TokenConfigError> {
        self.tokens = Some(match self.tokens.take() {
            Some(tokens) => tokens.with_next(token)?,
            None => CallbackTokens::new(token)?,
        });
        Ok(self)
    }

    /// Accepts only events whose `context` is `context` (the webhook's
    /// `callBackContext`); others get the same 401 as a wrong token.
    pub fn expect_context(mut self, context: impl Into<Secret>) -> Self {
        self.intake = self.intake.expect_context(context);
        self
    }

    /// The callback's path (`/` by default). Other paths answer 404.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = absolute(path.into());
        self
    }

    /// The callback's path.
    pub fn path_str(&self) -> &str {
        &self.path
    }

    /// The largest body accepted; larger ones get 413, before they are read
    /// when their `Content-Length` says so.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The time allowed to read a request's headers, and then its body.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Bodies nested deeper are quarantined without being parsed.
    pub fn max_json_depth(mut self, levels: usize) -> Self {
        self.intake = self.intake.max_depth(levels);
        self
    }

    /// How long a graceful shutdown waits for requests in flight.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// When failed handlers run again, and when their events are
    /// dead-lettered.
    pub fn handler_retry(mut self, policy: HandlerRetry) -> Self {
        self.handler_retry = policy;
        self
    }

    /// How many events the handlers work on at once (16 by default).
    pub fn handler_concurrency(mut self, events: usize) -> Self {
        self.handler_concurrency = events.max(1);
        self
    }

    /// Also serves the counters as Prometheus text at `path` (off by
    /// default; the callback URL is public, so put it behind something
    /// that restricts access).
    pub fn metrics_path(mut self, path: impl Into<String>) -> Self {
        self.metrics_path = Some(absolute(path.into()));
        self
    }

    /// The [front](crate::front) settings a [`Server`](crate::Server) uses
    /// unless given others: this configuration's read timeout for a
    /// request's headers, and its shutdown grace.
    pub fn front_config(&self) -> crate::front::FrontConfig {
        crate::front::FrontConfig::new()
            .header_read_timeout(self.read_timeout)
            .shutdown_grace(self.shutdown_grace)
    }

    /// Whether a callback made with `token` would be accepted (compared in
    /// constant time). With no token configured, every token is. Check it
    /// before registering a webhook with the platform: a mismatch would
    /// refuse every delivery until the platform disables the webhook.
    pub fn accepts_callback_token(&self, token: Option<&str>) -> bool {
        match &self.tokens {
            Some(tokens) => tokens.verify(token.map(str::as_bytes)),
            None => true,
        }
    }

    /// Whether a callback token is required.
    pub fn requires_callback_token(&self) -> bool {
        self.tokens.is_some()
    }
}

fn absolute(path: String) -> String {
    if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    }
}
