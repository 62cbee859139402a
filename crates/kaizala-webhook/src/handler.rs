//! What runs on stored events, after the acknowledgement.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use kaizala_types::event::{
    ActionEventData, AnnouncementData, AttachmentData, Event, EventType, GroupEventData,
    JobCreatedData, MemberEventData, TextMessageData,
};

/// A handler's failure: any error. The event is retried with backoff, then
/// dead-lettered.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// Work to do with each stored event.
///
/// Delivery is at least once — a handler may see an event again after a
/// failure, a crash, or a replay — so handlers must be idempotent. Closures
/// `Fn(Arc<Event>) -> impl Future<Output = Result<(), HandlerError>>` are
/// handlers.
#[async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Handles one event.
    async fn handle(&self, event: Arc<Event>) -> Result<(), HandlerError>;
}

#[async_trait]
impl<F, Fut> EventHandler for F
where
    F: Fn(Arc<Event>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    async fn handle(&self, event: Arc<Event>) -> Result<(), HandlerError> {
        self(event).await
    }
}

/// An event whose payload is known to be a `T`, for handlers registered
/// with [`Handlers::on_payload`].
pub struct Typed<T> {
    event: Arc<Event>,
    payload: PhantomData<fn() -> T>,
}

impl<T: Payload> Typed<T> {
    /// The whole event.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// The payload, which the event always carries: handlers of `T` are only
    /// called for events that have one.
    pub fn data(&self) -> &T {
        T::of(&self.event).expect("dispatched on the payload's presence")
    }
}

impl<T> fmt::Debug for Typed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Typed").field(&self.event).finish()
    }
}

/// A typed event payload ([`TextMessageData`], [`ActionEventData`], …).
pub trait Payload: Send + Sync + 'static {
    /// The event types that carry this payload.
    fn event_types() -> &'static [EventType];
    /// The payload of `event`, if it carries one of this type.
    fn of(event: &Event) -> Option<&Self>;
}

macro_rules! payloads {
    ($($ty:ty => $accessor:ident [$($event_type:ident),+];)+) => {$(
        impl Payload for $ty {
            fn event_types() -> &'static [EventType] {
                &[$(EventType::$event_type),+]
            }
            fn of(event: &Event) -> Option<&Self> {
                event.$accessor()
            }
        }
    )+};
}

payloads! {
    TextMessageData => text_message [TextMessageCreated];
    AttachmentData => attachment [AttachmentCreated];
    AnnouncementData => announcement [Announcement];
    JobCreatedData => job_created [JobCreated];
    ActionEventData => action [
        ActionCreated, SurveyCreated, ActionResponse, SurveyResponse, JobResponse,
        PollCreated, PollResponse, LetsMeetCreated, LetsMeetResponse
    ];
    MemberEventData => member [MemberAdded, MemberRemoved];
    GroupEventData => group [GroupAdded, GroupRemoved];
}

/// Adapts a `Fn(Typed<T>)` to an [`EventHandler`].
struct TypedHandler<T, F> {
    handler: F,
    payload: PhantomData<fn() -> T>,
}

#[async_trait]
impl<T, F, Fut> EventHandler for TypedHandler<T, F>
where
    T: Payload,
    F: Fn(Typed<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    async fn handle(&self, event: Arc<Event>) -> Result<(), HandlerError> {
        if T::of(&event).is_none() {
            // The event's type carries this payload but its `data` is
            // absent: nothing for a typed handler to do.
            return Ok(());
        }
        (self.handler)(Typed {
            event,
            payload: PhantomData,
        })
        .await
    }
}

/// The handlers of a receiver, by event type.
///
/// Each event runs exactly one handler: the one registered for its type,
/// else the fallback ([`on_any`](Self::on_any)), else none (the event is
/// marked handled at once).
///
/// ```
/// use std::sync::Arc;
/// use kaizala_types::event::{Event, EventType, TextMessageData};
/// use kaizala_webhook::{Handlers, Typed};
///
/// let handlers = Handlers::new()
///     .on(EventType::MemberAdded, |event: Arc<Event>| async move {
///         println!("welcome, {:?}", event.member().and_then(|m| m.member_name.clone()));
///         Ok(())
///     })
///     .on_payload(|message: Typed<TextMessageData>| async move {
///         println!("said: {:?}", message.data().text);
///         Ok(())
///     })
///     .on_any(|event: Arc<Event>| async move {
///         println!("{} {}", event.event_type(), event.event_id());
///         Ok(())
///     });
/// assert!(handlers.handles(&EventType::TextMessageCreated));
/// ```
#[derive(Clone, Default)]
pub struct Handlers {
    by_type: HashMap<EventType, Arc<dyn EventHandler>>,
    fallback: Option<Arc<dyn EventHandler>>,
}

impl Handlers {
    /// No handlers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `handler` for events of `event_type` (replacing an earlier one).
    pub fn on(mut self, event_type: EventType, handler: impl EventHandler) -> Self {
        self.by_type.insert(event_type, Arc::new(handler));
        self
    }

    /// Runs `handler` for every event type that carries a `T` payload.
    pub fn on_payload<T, F, Fut>(mut self, handler: F) -> Self
    where
        T: Payload,
        F: Fn(Typed<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        let handler: Arc<dyn EventHandler> = Arc::new(TypedHandler {
            handler,
            payload: PhantomData,
        });
        for event_type in T::event_types() {
            self.by_type
                .insert(event_type.clone(), Arc::clone(&handler));
        }
        self
    }

    /// Runs `handler` for events no other handler takes, unknown types
    /// included.
    pub fn on_any(mut self, handler: impl EventHandler) -> Self {
        self.fallback = Some(Arc::new(handler));
        self
    }

    /// Whether an event of `event_type` runs a handler.
    pub fn handles(&self, event_type: &EventType) -> bool {
        self.fallback.is_some() || self.by_type.contains_key(event_type)
    }

    /// Whether no handler is registered.
    pub fn is_empty(&self) -> bool {
        self.fallback.is_none() && self.by_type.is_empty()
    }

    pub(crate) fn for_type(&self, event_type: &EventType) -> Option<&Arc<dyn EventHandler>> {
        self.by_type.get(event_type).or(self.fallback.as_ref())
    }
}

impl fmt::Debug for Handlers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut types: Vec<String> = self.by_type.keys().map(ToString::to_string).collect();
        types.sort();
        f.debug_struct("Handlers")
            .field("types", &types)
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}
