//! Subscribing a webhook receiver to the platform's events, and managing
//! the subscription afterwards (features `client` and `webhook`).
//!
//! The platform validates a callback URL before it subscribes it: it sends
//! `GET {url}?validationToken=…` and expects the token back within five
//! seconds. [`WebhookRegistration::register`] takes a running
//! [`Receiver`] — it listens already, so the validation finds it — and
//! subscribes its URL; [`WebhookRegistration::register_url`] subscribes any
//! URL, for a receiver mounted in an axum router or reached through a proxy
//! (it too must answer before you register).
//!
//! ```no_run
//! # async fn run(client: kaizala::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use kaizala::registration::{Subscription, WebhookChanges, WebhookRegistration};
//! use kaizala::types::event::EventType;
//! use kaizala::webhook::{MemoryEventStore, ReceiverConfig, Server};
//!
//! // 1. The receiver listens, expecting the callback token.
//! let config = ReceiverConfig::new()
//!     .callback_token("s3cret-callback")?
//!     .path("/kaizala");
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8443").await?;
//! let receiver = Server::new(config, MemoryEventStore::new()).serve(listener);
//!
//! // 2. Subscribe it (behind a TLS proxy here, so the public URL is given).
//! let subscription = Subscription::group("5fb76f77-513e-26cf-15c5-6a8717de7cd8")
//!     .events([EventType::SurveyResponse, EventType::TextMessageCreated])
//!     .callback_token("s3cret-callback")
//!     .context("store-visits");
//! let mut webhook = WebhookRegistration::register_url(
//!     &client,
//!     "https://hooks.example.com/kaizala",
//!     subscription,
//! )
//! .await?;
//! println!("webhook {} delivers to {}", webhook.id(), webhook.callback_url());
//!
//! // 3. Later: change it, bring it back after the platform disabled it, end it.
//! webhook
//!     .update(WebhookChanges::new().events(EventType::DOCUMENTED))
//!     .await?;
//! if !webhook.is_active().await? {
//!     webhook.reactivate().await?;
//! }
//! webhook.delete().await?;
//! receiver.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! A registration is a handle: dropping it leaves the subscription in
//! place. [`WebhookRegistration::find`] picks an existing one up again
//! (after a restart, say), so a service can register only when its URL is
//! not subscribed yet.
//!
//! Every call returns the client's [`Error`]. A callback URL that failed
//! the validation is an [`ErrorKind::Api`] with status 400 whose message
//! says why (refused connection, timeout, wrong echo); a subscription that
//! no longer exists is [`ErrorKind::NotFound`]; a request that cannot be
//! right (no event types) is [`ErrorKind::InvalidInput`], before any call.

use kaizala_client::Client;
use kaizala_core::{Error, ErrorKind};
use kaizala_types::common::ResultResponse;
use kaizala_types::event::{EventType, ObjectType};
use kaizala_types::webhooks::{CreateWebhookRequest, UpdateWebhookRequest, Webhook};
use kaizala_types::{
    ActionId, ActionPackageId, Flag, GroupId, ObjectId, Secret, Timestamp, WebhookId,
};
use kaizala_webhook::{EventStore, Receiver};

/// What a webhook watches, which events it delivers, and how its callbacks
/// identify themselves.
///
/// ```
/// use kaizala::registration::Subscription;
/// use kaizala::types::event::{EventType, ObjectType};
///
/// let subscription = Subscription::group("group-id")
///     .events(EventType::DOCUMENTED)
///     .callback_token("s3cret-callback")
///     .context("dashboard");
/// assert_eq!(subscription.object_type, ObjectType::Group);
/// assert_eq!(subscription.event_types.len(), 13);
/// // The token never shows in logs.
/// assert!(!format!("{subscription:?}").contains("s3cret"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Subscription {
    /// The kind of the watched object.
    pub object_type: ObjectType,
    /// The watched object: a group id, an action id or an action package id.
    pub object_id: ObjectId,
    /// The delivered event types.
    pub event_types: Vec<EventType>,
    /// The `kz-callback-token` header of every callback.
    pub callback_token: Option<Secret>,
    /// The `context` of every callback body.
    pub context: Option<String>,
    /// When the subscription ends; `None` leaves it to the platform (two
    /// years).
    pub validity: Option<Timestamp>,
}

impl Subscription {
    /// Events of `object_id`, an object of kind `object_type`. Choose the
    /// event types with [`events`](Self::events).
    pub fn new(object_type: ObjectType, object_id: impl Into<ObjectId>) -> Self {
        Subscription {
            object_type,
            object_id: object_id.into(),
            event_types: Vec::new(),
            callback_token: None,
            context: None,
            validity: None,
        }
    }

    /// Events of a group and its sub-groups.
    pub fn group(group: impl Into<GroupId>) -> Self {
        Self::new(ObjectType::Group, group.into().into_string())
    }

    /// Events of one action instance (its responses).
    pub fn action(action: impl Into<ActionId>) -> Self {
        Self::new(ObjectType::Action, action.into().into_string())
    }

    /// Events of every instance of an action package.
    pub fn action_package(package: impl Into<ActionPackageId>) -> Self {
        Self::new(ObjectType::ActionPackage, package.into().into_string())
    }

    /// The event types to deliver (replacing any chosen before);
    /// [`EventType::DOCUMENTED`] is all of them.
    pub fn events(mut self, event_types: impl IntoIterator<Item = EventType>) -> Self {
        self.event_types = event_types.into_iter().collect();
        self
    }

    /// The `kz-callback-token` header of every callback: give the receiver
    /// the same token ([`ReceiverConfig::callback_token`]). Without one,
    /// anybody who learns the URL can post events to it.
    ///
    /// [`ReceiverConfig::callback_token`]: kaizala_webhook::ReceiverConfig::callback_token
    pub fn callback_token(mut self, token: impl Into<Secret>) -> Self {
        self.callback_token = Some(token.into());
        self
    }

    /// The `context` of every callback body.
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }

    /// When the subscription ends (two years after creation by default).
    pub fn validity(mut self, until: Timestamp) -> Self {
        self.validity = Some(until);
        self
    }

    /// The `POST /webhook` request subscribing `callback_url`.
    pub fn to_request(&self, callback_url: impl Into<String>) -> CreateWebhookRequest {
        let mut request = CreateWebhookRequest::new(
            self.object_type.clone(),
            self.object_id.clone(),
            self.event_types.iter().cloned(),
            callback_url,
        );
        request.callback_token = self.callback_token.clone();
        request.callback_context = self.context.clone();
        request.validity = self.validity.clone();
        request
    }

    /// What a listed webhook subscribes to.
    fn listed(webhook: &Webhook, object_type: &ObjectType, object_id: &ObjectId) -> Self {
        Subscription {
            object_type: webhook
                .object_type
                .clone()
                .unwrap_or_else(|| object_type.clone()),
            object_id: webhook
                .object_id
                .clone()
                .unwrap_or_else(|| object_id.clone()),
            event_types: webhook.events.clone().unwrap_or_default(),
            callback_token: webhook.callback_token.clone(),
            context: webhook.callback_context.clone(),
            validity: webhook.validity.clone(),
        }
    }
}

/// Changes to a subscription, for [`WebhookRegistration::update`]. Only
/// what is set changes.
///
/// Rotating the callback token without losing events: let the receiver
/// accept both tokens ([`ReceiverConfig::next_callback_token`]), update the
/// subscription to the new one, then drop the old one from the receiver.
///
/// ```
/// use kaizala::registration::WebhookChanges;
/// use kaizala::types::event::EventType;
/// use kaizala::types::webhooks::UpdateWebhookRequest;
///
/// let changes = WebhookChanges::new()
///     .events([EventType::SurveyResponse])
///     .callback_token("next-s3cret");
/// let request = UpdateWebhookRequest::from(changes);
/// assert_eq!(request.event_types, Some(vec![EventType::SurveyResponse]));
/// assert!(request.callback_url.is_none());
/// ```
///
/// [`ReceiverConfig::next_callback_token`]: kaizala_webhook::ReceiverConfig::next_callback_token
#[derive(Debug, Clone, Default)]
pub struct WebhookChanges {
    request: UpdateWebhookRequest,
}

impl WebhookChanges {
    /// No changes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Delivers these event types instead.
    pub fn events(mut self, event_types: impl IntoIterator<Item = EventType>) -> Self {
        self.request.event_types = Some(event_types.into_iter().collect());
        self
    }

    /// Delivers to this URL instead. The receiver there must answer like
    /// the old one: it must accept the same callback token.
    pub fn callback_url(mut self, url: impl Into<String>) -> Self {
        self.request.callback_url = Some(url.into());
        self
    }

    /// Sends this `kz-callback-token` from now on.
    pub fn callback_token(mut self, token: impl Into<Secret>) -> Self {
        self.request.callback_token = Some(token.into());
        self
    }

    /// Sends this `context` from now on.
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.request.callback_context = Some(context.into());
        self
    }

    /// Ends the subscription at `until`.
    pub fn validity(mut self, until: Timestamp) -> Self {
        self.request.validity = Some(until);
        self
    }

    /// Watches another object.
    pub fn object(mut self, object_type: ObjectType, object_id: impl Into<ObjectId>) -> Self {
        self.request.object_type = Some(object_type);
        self.request.object_id = Some(object_id.into());
        self
    }
}

impl From<WebhookChanges> for UpdateWebhookRequest {
    fn from(changes: WebhookChanges) -> Self {
        changes.request
    }
}

/// A webhook subscription of this connector: created by
/// [`register`](Self::register) or [`register_url`](Self::register_url),
/// or found again with [`find`](Self::find) and [`list`](Self::list).
///
/// Dropping it leaves the subscription in place; [`delete`](Self::delete)
/// ends it. See the [module documentation](self) for an example.
#[derive(Debug)]
pub struct WebhookRegistration {
    client: Client,
    id: WebhookId,
    callback_url: String,
    subscription: Subscription,
}

impl WebhookRegistration {
    /// Subscribes a running receiver's URL ([`Receiver::url`]:
    /// `http://ADDR/PATH`, the address it listens on).
    ///
    /// The receiver listens already, so the platform's validation request
    /// finds it. Its address must be one the platform can reach: fine for
    /// the emulator on the same machine, or a receiver listening on a
    /// public address; behind a proxy or NAT, use
    /// [`register_url`](Self::register_url) with the public URL.
    pub async fn register<S: EventStore>(
        client: &Client,
        receiver: &Receiver<S>,
        subscription: Subscription,
    ) -> Result<Self, Error> {
        // A token the receiver refuses would turn every delivery into a 401
        // until the platform disables the webhook: fail now instead.
        let token = subscription.callback_token.as_ref().map(Secret::expose);
        if !receiver.config().accepts_callback_token(token) {
            return Err(Error::invalid_input(if token.is_none() {
                "the receiver requires a callback token and the subscription sets none"
            } else {
                "the receiver does not accept the subscription's callback token"
            }));
        }
        Self::register_url(client, receiver.url(), subscription).await
    }

    /// Subscribes `callback_url`, which must already answer the platform's
    /// validation request (`GET ?validationToken=X` → `X`, within 5 s).
    pub async fn register_url(
        client: &Client,
        callback_url: impl Into<String>,
        subscription: Subscription,
    ) -> Result<Self, Error> {
        if subscription.event_types.is_empty() {
            return Err(no_event_types());
        }
        let callback_url = callback_url.into();
        let created = client
            .webhooks()
            .create(subscription.to_request(callback_url.clone()))
            .await?;
        Ok(WebhookRegistration {
            client: client.clone(),
            id: created.webhook_id,
            callback_url,
            subscription,
        })
    }

    /// The subscriptions on an object, as handles.
    pub async fn list(
        client: &Client,
        object_type: ObjectType,
        object_id: impl Into<ObjectId>,
    ) -> Result<Vec<Self>, Error> {
        let object_id = object_id.into();
        let listed = client
            .webhooks()
            .list(object_type.clone(), object_id.clone())
            .await?;
        Ok(listed
            .into_iter()
            .map(|webhook| WebhookRegistration {
                client: client.clone(),
                subscription: Subscription::listed(&webhook, &object_type, &object_id),
                callback_url: webhook.callback_url.unwrap_or_default(),
                id: webhook.id,
            })
            .collect())
    }

    /// The subscription of `callback_url` (compared exactly) on an object,
    /// if there is one.
    pub async fn find(
        client: &Client,
        object_type: ObjectType,
        object_id: impl Into<ObjectId>,
        callback_url: &str,
    ) -> Result<Option<Self>, Error> {
        Ok(Self::list(client, object_type, object_id)
            .await?
            .into_iter()
            .find(|registration| registration.callback_url == callback_url))
    }

    /// The subscription's id.
    pub fn id(&self) -> &WebhookId {
        &self.id
    }

    /// Where the platform delivers events.
    pub fn callback_url(&self) -> &str {
        &self.callback_url
    }

    /// What it subscribes to, as registered and updated through this handle
    /// (or as listed, for a handle from [`find`](Self::find) or
    /// [`list`](Self::list)).
    pub fn subscription(&self) -> &Subscription {
        &self.subscription
    }

    /// The subscription as the platform has it now, `active` included.
    /// [`ErrorKind::NotFound`] when it no longer exists.
    pub async fn fetch(&self) -> Result<Webhook, Error> {
        let listed = self
            .client
            .webhooks()
            .list(
                self.subscription.object_type.clone(),
                self.subscription.object_id.clone(),
            )
            .await?;
        listed
            .into_iter()
            .find(|webhook| webhook.id == self.id)
            .ok_or_else(|| {
                Error::new(ErrorKind::NotFound {
                    message: Some(format!(
                        "no webhook {} on {} {}",
                        self.id, self.subscription.object_type, self.subscription.object_id
                    )),
                })
            })
    }

    /// Whether the platform delivers to it: false once it was disabled
    /// after two days of failed deliveries (see
    /// [`reactivate`](Self::reactivate)).
    pub async fn is_active(&self) -> Result<bool, Error> {
        Ok(self.fetch().await?.active.is_none_or(Flag::get))
    }

    /// Changes the subscription: a [`WebhookChanges`], or a whole
    /// [`UpdateWebhookRequest`].
    pub async fn update(&mut self, changes: impl Into<UpdateWebhookRequest>) -> Result<(), Error> {
        let changes = changes.into();
        if changes.event_types.as_ref().is_some_and(Vec::is_empty) {
            return Err(no_event_types());
        }
        let answer = self
            .client
            .webhooks()
            .update(self.id.clone(), changes.clone())
            .await?;
        succeeded(answer, "updating", &self.id)?;
        let subscription = &mut self.subscription;
        if let Some(object_type) = changes.object_type {
            subscription.object_type = object_type;
        }
        if let Some(object_id) = changes.object_id {
            subscription.object_id = object_id;
        }
        if let Some(event_types) = changes.event_types {
            subscription.event_types = event_types;
        }
        if let Some(url) = changes.callback_url {
            self.callback_url = url;
        }
        if let Some(token) = changes.callback_token {
            subscription.callback_token = Some(token);
        }
        if let Some(context) = changes.callback_context {
            subscription.context = Some(context);
        }
        if let Some(validity) = changes.validity {
            subscription.validity = Some(validity);
        }
        Ok(())
    }

    /// Re-enables the subscription after the platform disabled it (its
    /// deliveries failed for two days). Events from the time it was
    /// disabled are not delivered.
    pub async fn reactivate(&self) -> Result<(), Error> {
        let answer = self.client.webhooks().reactivate(self.id.clone()).await?;
        succeeded(answer, "re-activating", &self.id)
    }

    /// Ends the subscription.
    pub async fn delete(self) -> Result<(), Error> {
        let answer = self.client.webhooks().delete(self.id.clone()).await?;
        succeeded(answer, "deleting", &self.id)
    }
}

fn no_event_types() -> Error {
    Error::invalid_input("a webhook subscription needs at least one event type")
}

/// A 2xx answer that says `"result": false` is a refusal.
fn succeeded(answer: ResultResponse, doing: &str, id: &WebhookId) -> Result<(), Error> {
    match answer.result {
        Some(flag) if !flag.get() => Err(Error::new(ErrorKind::Api {
            status: 200,
            message: Some(format!(
                "{doing} webhook {id}: the platform answered \"result\": false"
            )),
            code: None,
        })),
        _ => Ok(()),
    }
}
