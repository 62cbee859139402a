//! An incoming event with its typed decode: what the writer stores and
//! normalises.

use std::time::SystemTime;

use bytes::Bytes;
use kaizala_types::event::Event;
use kaizala_webhook::store::{IncomingEvent, QuarantinedBody};

/// An event whose body decoded into the typed model.
#[derive(Debug, Clone)]
pub(crate) struct TypedEvent {
    pub event: Event,
    pub body: Bytes,
    pub received_at: SystemTime,
}

impl TypedEvent {
    /// Decodes `incoming`; a body whose payload does not fit its event
    /// type's model (the receiver only read its head) comes back as the
    /// quarantine record to keep instead.
    pub fn decode(incoming: &IncomingEvent) -> Result<TypedEvent, QuarantinedBody> {
        match incoming.decode() {
            Ok(event) => Ok(TypedEvent {
                event,
                body: incoming.body.clone(),
                received_at: incoming.received_at,
            }),
            Err(err) => Err(incoming.quarantined(&err)),
        }
    }

    /// The dedupe key.
    pub fn event_id(&self) -> &str {
        self.event.event_id()
    }
}
