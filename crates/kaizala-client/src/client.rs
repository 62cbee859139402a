//! The client: performs calls as the core decides — session, throttle,
//! request, answer, then accept, refresh, relocate, retry or fail.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use http::StatusCode;
use kaizala_core::clock::Clock;
use kaizala_core::endpoint::{Auth, Endpoint, EndpointMeta, RequestContext, Server};
use kaizala_core::ops::auth::GetAccessToken;
use kaizala_core::response::error_for;
use kaizala_core::retry::{CallState, Decision, Outcome, RetryBudget, RetryPolicy, decide};
use kaizala_core::session::{Credentials, Hosts, Session, StoredTokens, token_update};
use kaizala_core::throttle::{Caller, Throttle};
use kaizala_core::{Error, ErrorKind};
use kaizala_types::{ApplicationId, Secret};
use tokio::sync::OnceCell;
use tracing::{Instrument, debug, field};

use crate::builder::ClientBuilder;
use crate::store::{StoreError, TokenStore};
use crate::transport::{Failure, Transport};

/// A Kaizala Connectors API client. Cheap to clone: clones share the
/// connection pool, the session, the throttle and the retry budget.
///
/// Calls go through [`Client::execute`] (any [`Endpoint`] of
/// [`kaizala_core::ops`]) or the resource handles ([`Client::groups`],
/// [`Client::group`], [`Client::webhooks`], …).
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    transport: Transport,
    options: CallOptions,
}

/// Per-call settings that override the client's.
#[derive(Debug, Clone, Copy, Default)]
struct CallOptions {
    timeout: Option<Duration>,
    retry_unsafe: Option<bool>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    hosts: Hosts,
    application: Option<(ApplicationId, Secret)>,
    refresh_token: RwLock<Option<Secret>>,
    store: Arc<dyn TokenStore>,
    /// What the store holds; its lock also orders saves.
    stored: tokio::sync::Mutex<Option<StoredTokens>>,
    loaded: OnceCell<()>,
    /// Shared, not copied, by each call: a call reads it once per attempt.
    session: RwLock<Option<Arc<Session>>>,
    /// One refresh at a time: concurrent callers wait for it and reuse its token.
    refresh_lock: tokio::sync::Mutex<()>,
    throttle: Arc<Throttle>,
    /// This connector's key in the throttle's budgets.
    connector_key: String,
    policy: RetryPolicy,
    budget: Mutex<RetryBudget>,
    clock: Arc<dyn Clock>,
    refresh_ahead: Duration,
    call_timeout: Duration,
    connect_timeout: Duration,
    jitter: AtomicU64,
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(|e| e.into_inner()).clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock.write().unwrap_or_else(|e| e.into_inner()) = value;
}

/// What went wrong below HTTP, with the host it went wrong with: hyper's
/// own message ("client error (Connect)") hides the cause in its sources.
#[derive(Debug)]
struct TransportError(String);

impl TransportError {
    fn new(target: &str, error: &(dyn std::error::Error + 'static)) -> Self {
        let mut causes: Vec<String> = Vec::new();
        let mut current = Some(error);
        while let Some(err) = current {
            let text = err.to_string();
            if !causes.iter().any(|c| c.contains(&text)) {
                causes.push(text);
            }
            current = err.source();
        }
        // The innermost causes are the telling ones.
        let detail = causes
            .iter()
            .rev()
            .take(2)
            .rev()
            .cloned()
            .collect::<Vec<_>>()
            .join(": ");
        TransportError(format!("{target}: {detail}"))
    }

    fn timeout(target: &str) -> Self {
        TransportError(target.to_owned())
    }
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransportError {}

fn store_error(err: StoreError) -> Error {
    Error::with_source(
        ErrorKind::InvalidInput(format!("token store failed: {err}")),
        err,
    )
}

impl Client {
    /// A builder with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A builder configured from the environment (see [`ClientBuilder::from_env`]).
    pub fn builder_from_env() -> Result<ClientBuilder, Error> {
        ClientBuilder::from_env()
    }

    pub(crate) fn from_builder(builder: ClientBuilder) -> Result<Client, Error> {
        let transport = Transport::new(builder.connect_timeout).map_err(|e| {
            Error::with_source(ErrorKind::InvalidInput("cannot set up TLS".into()), e)
        })?;
        let application = builder
            .credentials
            .as_ref()
            .map(|c| (c.application_id.clone(), c.application_secret.clone()))
            .or(builder.application);
        let seed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0x9e37_79b9_7f4a_7c15, |d| d.as_nanos() as u64)
            | 1;
        let connector_key = application
            .as_ref()
            .map_or_else(|| "unnamed-connector".to_owned(), |(id, _)| id.to_string());
        let inner = Inner {
            hosts: builder.hosts,
            application,
            refresh_token: RwLock::new(builder.credentials.map(|c| c.refresh_token)),
            store: builder.store,
            stored: tokio::sync::Mutex::new(None),
            loaded: OnceCell::new(),
            session: RwLock::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
            throttle: builder.throttle,
            connector_key,
            policy: builder.policy,
            budget: Mutex::new(builder.budget),
            clock: builder.clock,
            refresh_ahead: builder.refresh_ahead,
            call_timeout: builder.call_timeout,
            connect_timeout: builder.connect_timeout,
            jitter: AtomicU64::new(seed),
        };
        Ok(Client {
            inner: Arc::new(inner),
            transport,
            options: CallOptions::default(),
        })
    }

    /// This client with another timeout for each attempt of its calls.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            options: CallOptions {
                timeout: Some(timeout),
                ..self.options
            },
            ..self.clone()
        }
    }

    /// This client with another connect timeout (a separate connection pool).
    pub fn with_connect_timeout(&self, timeout: Duration) -> Result<Client, Error> {
        let transport = Transport::new(timeout).map_err(|e| {
            Error::with_source(ErrorKind::InvalidInput("cannot set up TLS".into()), e)
        })?;
        Ok(Client {
            transport,
            ..self.clone()
        })
    }

    /// This client retrying (or not) calls that are not retry-safe after
    /// server errors and connection failures — only for calls whose
    /// duplication you can tolerate.
    pub fn retrying_unsafe(&self, retry: bool) -> Client {
        Client {
            options: CallOptions {
                retry_unsafe: Some(retry),
                ..self.options
            },
            ..self.clone()
        }
    }

    pub(crate) fn inner_hosts(&self) -> Hosts {
        self.inner.hosts.clone()
    }

    /// Listing and creating groups.
    pub fn groups(&self) -> crate::resources::groups::Groups {
        crate::resources::groups::Groups {
            client: self.clone(),
        }
    }

    /// One group: its details, sub-groups, members, subscribers, messages,
    /// actions and reactions.
    pub fn group(&self, id: impl Into<kaizala_types::GroupId>) -> crate::resources::groups::Group {
        crate::resources::groups::Group {
            client: self.clone(),
            id: id.into(),
        }
    }

    /// Media uploads.
    pub fn media(&self) -> crate::resources::media::Media {
        crate::resources::media::Media {
            client: self.clone(),
        }
    }

    /// Webhook subscriptions.
    pub fn webhooks(&self) -> crate::resources::webhooks::Webhooks {
        crate::resources::webhooks::Webhooks {
            client: self.clone(),
        }
    }

    /// PIN login, OAuth, and the session.
    pub fn auth(&self) -> crate::resources::auth::AuthApi {
        crate::resources::auth::AuthApi {
            client: self.clone(),
        }
    }

    /// The connect timeout of this client's connection pool.
    pub fn connect_timeout(&self) -> Duration {
        self.inner.connect_timeout
    }

    /// The current session, if a token has been obtained.
    pub fn session(&self) -> Option<Session> {
        read(&self.inner.session).map(|s| (*s).clone())
    }

    /// Performs one call of `endpoint`: waits for the throttle, obtains or
    /// refreshes the access token, follows relocations, retries what is safe
    /// to retry, and decodes the answer.
    pub async fn execute<E: Endpoint>(&self, endpoint: &E) -> Result<E::Response, Error> {
        let meta = endpoint.meta();
        // One span per call, recording how many attempts it took and the
        // final status; one child span per attempt with its own status.
        let span = tracing::info_span!(
            "kaizala.call",
            operation = meta.id,
            attempts = field::Empty,
            status = field::Empty
        );
        self.call(endpoint, meta).instrument(span).await
    }

    async fn call<E: Endpoint>(
        &self,
        endpoint: &E,
        meta: &'static EndpointMeta,
    ) -> Result<E::Response, Error> {
        self.load().await?;
        let inner = &*self.inner;
        let policy = RetryPolicy {
            retry_unsafe: self
                .options
                .retry_unsafe
                .unwrap_or(inner.policy.retry_unsafe),
            ..inner.policy.clone()
        };
        let timeout = self.options.timeout.unwrap_or(inner.call_timeout);
        let mut state = CallState::default();
        let call_span = tracing::Span::current();
        loop {
            state.attempts += 1;
            let attempt_span =
                tracing::debug_span!("attempt", number = state.attempts, status = field::Empty);
            let session = match meta.auth {
                Auth::Access => Some(self.current_session().await?),
                _ => None,
            };
            let credentials = match meta.auth {
                Auth::Refresh => Some(self.credentials()?),
                _ => None,
            };
            let caller = match (&session, meta.server) {
                (Some(session), Server::Endpoint) => Some(Caller {
                    connector: &inner.connector_key,
                    tenant: &session.endpoint_url,
                }),
                _ => None,
            };
            if let Some(caller) = caller {
                self.wait_for_throttle(caller).await;
            }
            let context = RequestContext {
                hosts: &inner.hosts,
                session: session.as_deref(),
                credentials: credentials.as_ref(),
            };
            let request = endpoint.build(&context)?;
            let target = request
                .uri()
                .authority()
                .map_or_else(String::new, |a| a.to_string());
            let result = self
                .transport
                .send(request, timeout)
                .instrument(attempt_span.clone())
                .await;
            let now = inner.clock.now();
            let outcome = match &result {
                Ok(response) => {
                    attempt_span.record("status", response.status().as_u16());
                    if let Some(caller) = caller {
                        inner.throttle.observe(
                            caller,
                            response.status(),
                            response.headers(),
                            inner.clock.instant(),
                            now,
                            policy.default_retry_after,
                        );
                    }
                    Outcome::Response {
                        status: response.status(),
                        headers: response.headers(),
                    }
                }
                Err(Failure::Timeout) => Outcome::Timeout,
                Err(Failure::Connect(_)) => Outcome::ConnectFailed,
                Err(Failure::Broken(_)) => Outcome::Broken,
            };
            let decision = {
                let mut budget = inner.budget.lock().unwrap_or_else(|e| e.into_inner());
                decide(
                    meta,
                    &outcome,
                    &state,
                    &policy,
                    &mut budget,
                    now,
                    self.jitter(),
                )
            };
            if matches!(decision, Decision::Accept | Decision::Fail) {
                // Recorded once, at the end: the call span's summary.
                call_span.record("attempts", state.attempts);
                if let Ok(response) = &result {
                    call_span.record("status", response.status().as_u16());
                }
                debug!(parent: &call_span, ok = decision == Decision::Accept, "call finished");
            }
            match decision {
                Decision::Accept => {
                    let response =
                        result.map_err(|_| Error::invalid_input("accepted a failed attempt"))?;
                    return E::parse(response);
                }
                Decision::Refresh => {
                    debug!(parent: &attempt_span, "401: refreshing the access token, then replaying");
                    let stale = session.map(|s| s.access_token.clone());
                    self.refresh(stale.as_ref()).await?;
                    state.refreshed = true;
                }
                Decision::Relocate { endpoint_url } => {
                    debug!(parent: &attempt_span, %endpoint_url, "308: the tenant's endpoint moved");
                    self.relocate(endpoint_url).await?;
                    state.relocations += 1;
                }
                Decision::Retry { after } => {
                    debug!(parent: &attempt_span, wait_ms = after.as_millis() as u64, "retrying");
                    tokio::time::sleep(after).await;
                }
                Decision::Fail => {
                    return Err(self.failure(
                        meta,
                        result,
                        session.as_deref(),
                        now,
                        &state,
                        &target,
                    ));
                }
            }
        }
    }

    fn failure(
        &self,
        meta: &EndpointMeta,
        result: Result<http::Response<bytes::Bytes>, Failure>,
        session: Option<&Session>,
        now: SystemTime,
        state: &CallState,
        target: &str,
    ) -> Error {
        match result {
            Ok(response) if response.status() == StatusCode::PERMANENT_REDIRECT => {
                Error::new(ErrorKind::TooManyRedirects {
                    hops: state.relocations + 1,
                })
            }
            Ok(response) => {
                let (parts, body) = response.into_parts();
                error_for(
                    meta,
                    parts.status,
                    &parts.headers,
                    &body,
                    session.map(|s| &s.scope),
                    Some(now),
                )
            }
            Err(Failure::Timeout) => {
                Error::with_source(ErrorKind::Timeout, TransportError::timeout(target))
            }
            Err(Failure::Connect(source) | Failure::Broken(source)) => {
                Error::with_source(ErrorKind::Transport, TransportError::new(target, &*source))
            }
        }
    }

    fn jitter(&self) -> u64 {
        // xorshift64*: plenty for spreading retries, no dependency.
        let mut x = self.inner.jitter.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.inner.jitter.store(x, Ordering::Relaxed);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    async fn wait_for_throttle(&self, caller: Caller<'_>) {
        loop {
            match self
                .inner
                .throttle
                .try_acquire(caller, self.inner.clock.instant())
            {
                Ok(_) => return,
                Err(wait) => {
                    debug!(
                        wait_ms = wait.as_millis() as u64,
                        "throttled by the client's own budget"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Loads the token store once.
    async fn load(&self) -> Result<(), Error> {
        self.inner
            .loaded
            .get_or_try_init(|| async {
                let loaded = self.inner.store.load().await.map_err(store_error)?;
                let mut stored = self.inner.stored.lock().await;
                if let Some(tokens) = loaded {
                    // A rotated refresh token in the store is newer than the
                    // configured one.
                    write(
                        &self.inner.refresh_token,
                        Some(tokens.refresh_token.clone()),
                    );
                    write(&self.inner.session, tokens.session().map(Arc::new));
                    *stored = Some(tokens);
                } else if let Some(refresh_token) = read(&self.inner.refresh_token) {
                    *stored = Some(StoredTokens::new(refresh_token));
                }
                Ok::<(), Error>(())
            })
            .await?;
        Ok(())
    }

    pub(crate) fn credentials(&self) -> Result<Credentials, Error> {
        let (id, secret) = self
            .inner
            .application
            .clone()
            .ok_or_else(|| Error::invalid_input("no connector credentials configured"))?;
        let refresh = read(&self.inner.refresh_token).ok_or_else(|| {
            Error::invalid_input(
                "no refresh token: configure one, or log in with a PIN or OAuth first",
            )
        })?;
        Ok(Credentials {
            application_id: id,
            application_secret: secret,
            refresh_token: refresh,
        })
    }

    pub(crate) fn application(&self) -> Result<(ApplicationId, Secret), Error> {
        self.inner
            .application
            .clone()
            .ok_or_else(|| Error::invalid_input("no connector id and secret configured"))
    }

    /// A session that is not about to expire.
    async fn current_session(&self) -> Result<Arc<Session>, Error> {
        if let Some(session) = read(&self.inner.session)
            && !session.needs_refresh(self.inner.clock.now(), self.inner.refresh_ahead)
        {
            return Ok(session);
        }
        self.refresh(None).await
    }

    /// Gets a new access token — once, however many calls ask at the same
    /// time. `stale` is the token a 401 refused: a session holding another
    /// token is already the refreshed one.
    pub(crate) async fn refresh(&self, stale: Option<&Secret>) -> Result<Arc<Session>, Error> {
        let _one_at_a_time = self.inner.refresh_lock.lock().await;
        if let Some(session) = read(&self.inner.session) {
            let fresh = !session.needs_refresh(self.inner.clock.now(), self.inner.refresh_ahead);
            let replaced = stale.is_some_and(|stale| session.access_token != *stale);
            if fresh && (stale.is_none() || replaced) {
                return Ok(session);
            }
        }
        debug!("requesting an access token");
        let response = Box::pin(self.execute(&GetAccessToken {})).await?;
        let update = token_update(&response)?;
        self.install(update.session, update.rotated_refresh_token)
            .await
    }

    /// Persists, then uses, a new session (and a rotated refresh token).
    pub(crate) async fn install(
        &self,
        session: Session,
        rotated: Option<Secret>,
    ) -> Result<Arc<Session>, Error> {
        let mut stored = self.inner.stored.lock().await;
        // Without any refresh token (an OAuth session that came without one)
        // there is nothing worth storing: the session lives until it expires.
        if let Some(refresh_token) = rotated.clone().or_else(|| read(&self.inner.refresh_token)) {
            let mut tokens = stored
                .clone()
                .unwrap_or_else(|| StoredTokens::new(refresh_token.clone()));
            tokens.refresh_token = refresh_token;
            tokens.set_session(&session);
            // Saved before anything uses it: a rotated refresh token that is
            // lost would lock the connector out when the old one expires.
            self.inner.store.save(&tokens).await.map_err(store_error)?;
            *stored = Some(tokens);
        }
        if rotated.is_some() {
            write(&self.inner.refresh_token, rotated);
        }
        let session = Arc::new(session);
        write(&self.inner.session, Some(session.clone()));
        Ok(session)
    }

    /// Stores a new refresh token (PIN login), dropping any session.
    pub(crate) async fn adopt_refresh_token(&self, refresh_token: Secret) -> Result<(), Error> {
        self.load().await?;
        let mut stored = self.inner.stored.lock().await;
        let tokens = StoredTokens::new(refresh_token.clone());
        self.inner.store.save(&tokens).await.map_err(store_error)?;
        *stored = Some(tokens);
        write(&self.inner.refresh_token, Some(refresh_token));
        write(&self.inner.session, None);
        Ok(())
    }

    async fn relocate(&self, endpoint_url: String) -> Result<(), Error> {
        let mut stored = self.inner.stored.lock().await;
        if let Some(tokens) = stored.as_mut() {
            tokens.endpoint_url = Some(endpoint_url.clone());
            self.inner.store.save(tokens).await.map_err(store_error)?;
        }
        let mut session = self
            .inner
            .session
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(session) = session.as_mut() {
            Arc::make_mut(session).endpoint_url = endpoint_url;
        }
        Ok(())
    }
}
