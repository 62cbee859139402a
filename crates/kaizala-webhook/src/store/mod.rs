//! Where acknowledged events go: the [`EventStore`] the receiver hands each
//! event to before it answers 2xx, and the [`EventQueue`] its handlers run
//! from afterwards.

mod memory;

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use kaizala_types::DecodeError;
use kaizala_types::event::{Event, EventHead, EventType};

pub use memory::MemoryEventStore;

/// An authenticated event, as received: the body, and its head read from it.
///
/// The receiver decodes only the head (id, type, context) before it hands
/// the event to the store: that is all deduplication needs, and a full
/// decode costs more than the rest of the request. [`decode`](Self::decode)
/// gives the typed [`Event`] to a store that normalises it (and handlers
/// get it decoded after the ack).
///
/// ```
/// use std::time::SystemTime;
/// use kaizala_webhook::store::IncomingEvent;
///
/// let body = r#"{"eventId": "e1", "eventType": "TextMessageCreated", "data": {"text": "hi"}}"#;
/// let incoming = IncomingEvent::new(body, SystemTime::now())?;
/// assert_eq!(incoming.event_id(), "e1");
/// assert_eq!(incoming.decode()?.text_message().unwrap().text.as_deref(), Some("hi"));
/// # Ok::<(), kaizala_types::DecodeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct IncomingEvent {
    /// The event's id, type and context.
    pub head: EventHead,
    /// The body exactly as received (keep it: it is the record of what the
    /// platform sent, and the typed model may not know every field).
    pub body: Bytes,
    /// When the receiver read it.
    pub received_at: SystemTime,
}

impl IncomingEvent {
    /// An event from its body: fails when the body is not a webhook event
    /// (not JSON, or no `eventId` and `eventType`), as the receiver would
    /// quarantine it.
    pub fn new(body: impl Into<Bytes>, received_at: SystemTime) -> Result<Self, DecodeError> {
        let body = body.into();
        Ok(IncomingEvent {
            head: EventHead::from_slice(&body)?,
            body,
            received_at,
        })
    }

    /// The event's id, the dedupe key.
    pub fn event_id(&self) -> &str {
        self.head.event_id.as_str()
    }

    /// The event's type.
    pub fn event_type(&self) -> &EventType {
        &self.head.event_type
    }

    /// The typed event, decoded from the body. It can fail where the head
    /// did not: a payload that does not fit its event type's model (the
    /// error names the JSON path at fault). A store that needs the typed
    /// event keeps such a body in quarantine and answers
    /// [`Stored::Quarantined`].
    pub fn decode(&self) -> Result<Event, DecodeError> {
        Event::from_slice(&self.body)
    }

    /// What a store keeps in quarantine for this event when
    /// [`decode`](Self::decode) failed with `err`: the body, code
    /// `not_an_event`, the reason with the JSON path at fault.
    pub fn quarantined(&self, err: &DecodeError) -> QuarantinedBody {
        QuarantinedBody {
            body: self.body.clone(),
            reason_code: "not_an_event",
            reason: format!("not a typed webhook event: {err}"),
            received_at: self.received_at,
        }
    }
}

/// An authenticated body that is not a webhook event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedBody {
    /// The body exactly as received (any bytes, not necessarily UTF-8).
    pub body: Bytes,
    /// The reason's short code (`empty`, `too_deep`, `not_json`,
    /// `not_an_event`).
    pub reason_code: &'static str,
    /// The reason in words, with the JSON path at fault where there is one.
    pub reason: String,
    /// When the receiver read it.
    pub received_at: SystemTime,
}

/// What [`EventStore::store`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// The event is new and is now durably stored.
    New,
    /// An event with this `eventId` was stored before; nothing changed.
    Duplicate,
    /// The store could not use the event (say, its payload does not fit
    /// the typed model a normalising store needs) and kept its body in
    /// quarantine instead, durably: the receiver acknowledges it and counts
    /// it as quarantined.
    Quarantined,
}

/// A store that cannot take an event now; the receiver answers 503 so
/// that the platform delivers it again later.
#[derive(Debug, thiserror::Error)]
#[error("event store: {message}")]
pub struct StoreError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// An error described by `message`.
    pub fn new(message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
            source: None,
        }
    }

    /// An error caused by `source`.
    pub fn caused_by(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        StoreError {
            message: message.into(),
            source: Some(source.into()),
        }
    }
}

/// Durable storage for received events.
///
/// The receiver acknowledges an event only after [`store`](Self::store) (or
/// [`quarantine`](Self::quarantine)) has returned `Ok`, so "returned" must
/// mean "will survive a crash" for a store that claims durability. `store`
/// must be idempotent on `eventId` under concurrency: of any number of
/// simultaneous calls with one id, exactly one returns [`Stored::New`].
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Stores an event unless one with its `eventId` is already stored.
    async fn store(&self, event: &IncomingEvent) -> Result<Stored, StoreError>;

    /// Keeps an authenticated body that is not an event.
    async fn quarantine(&self, body: &QuarantinedBody) -> Result<(), StoreError>;
}

/// A stored event waiting for its handler.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    /// The event's id.
    pub event_id: String,
    /// The body as received.
    pub body: Bytes,
    /// Handler runs so far (0 for a new event).
    pub attempts: u32,
}

/// An event whose handler kept failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The event's id.
    pub event_id: String,
    /// Its type's wire name.
    pub event_type: String,
    /// Handler runs made.
    pub attempts: u32,
    /// The last handler error.
    pub error: String,
    /// When it was dead-lettered.
    pub at: SystemTime,
}

/// The handler state of stored events: what is due, what failed, what is
/// dead. The receiver's processor is its only user, and runs one at a time
/// per store.
#[async_trait]
pub trait EventQueue: EventStore {
    /// Up to `limit` events due for their handler at `now`, oldest first:
    /// new ones, and failed ones whose retry time has come. Events handled
    /// or dead-lettered are never returned.
    ///
    /// The events returned are *claimed*: not returned again until the
    /// processor reports on them (`handled`, `retry_later`, `dead_letter`)
    /// or a lease of the store's choosing (minutes) runs out — so events a
    /// crashed or abandoned processor held fall due again, and several
    /// processors on one store never run the same event at once.
    async fn due(&self, now: SystemTime, limit: usize) -> Result<Vec<PendingEvent>, StoreError>;

    /// The earliest retry time among failed events, if any.
    async fn next_retry(&self) -> Result<Option<SystemTime>, StoreError>;

    /// The handler succeeded (or there is none for this event type).
    async fn handled(&self, event_id: &str) -> Result<(), StoreError>;

    /// The handler failed for the `attempts`-th time; run it again at
    /// `retry_at`.
    async fn retry_later(
        &self,
        event_id: &str,
        attempts: u32,
        retry_at: SystemTime,
        error: &str,
    ) -> Result<(), StoreError>;

    /// The handler failed for the last time.
    async fn dead_letter(
        &self,
        event_id: &str,
        event_type: &str,
        attempts: u32,
        error: &str,
        at: SystemTime,
    ) -> Result<(), StoreError>;

    /// The dead-lettered events, oldest first.
    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError>;

    /// Makes a dead-lettered event due again, with its attempts reset.
    /// Returns whether there was such an event.
    async fn replay(&self, event_id: &str) -> Result<bool, StoreError>;
}

#[async_trait]
impl<S: EventStore + ?Sized> EventStore for Arc<S> {
    async fn store(&self, event: &IncomingEvent) -> Result<Stored, StoreError> {
        (**self).store(event).await
    }

    async fn quarantine(&self, body: &QuarantinedBody) -> Result<(), StoreError> {
        (**self).quarantine(body).await
    }
}

#[async_trait]
impl<S: EventQueue + ?Sized> EventQueue for Arc<S> {
    async fn due(&self, now: SystemTime, limit: usize) -> Result<Vec<PendingEvent>, StoreError> {
        (**self).due(now, limit).await
    }

    async fn next_retry(&self) -> Result<Option<SystemTime>, StoreError> {
        (**self).next_retry().await
    }

    async fn handled(&self, event_id: &str) -> Result<(), StoreError> {
        (**self).handled(event_id).await
    }

    async fn retry_later(
        &self,
        event_id: &str,
        attempts: u32,
        retry_at: SystemTime,
        error: &str,
    ) -> Result<(), StoreError> {
        (**self)
            .retry_later(event_id, attempts, retry_at, error)
            .await
    }

    async fn dead_letter(
        &self,
        event_id: &str,
        event_type: &str,
        attempts: u32,
        error: &str,
        at: SystemTime,
    ) -> Result<(), StoreError> {
        (**self)
            .dead_letter(event_id, event_type, attempts, error, at)
            .await
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        (**self).dead_letters().await
    }

    async fn replay(&self, event_id: &str) -> Result<bool, StoreError> {
        (**self).replay(event_id).await
    }
}
