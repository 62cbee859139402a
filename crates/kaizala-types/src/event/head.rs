//! The envelope of a webhook event, decoded without its payload.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::EventType;
use crate::wire::{Wire, WireSeed, path};
use crate::{DecodeError, EventId};

/// What a receiver needs to know of an event before it stores it: its id
/// (the dedupe key), its type and its `context` — read from the body
/// without decoding anything else.
///
/// Every other property is skipped, but the whole body is still checked to
/// be JSON, so a body with a valid head is a JSON object carrying an
/// `eventId` and an `eventType`. Keys match as [`Event`](super::Event)'s
/// do: the documented spelling, or the same letters in any case.
///
/// It costs a fraction of a full decode: no allocation but the id (and the
/// context, when there is one), which is what lets a receiver acknowledge
/// an event faster than it could parse it.
///
/// ```
/// use kaizala_types::event::{EventHead, EventType};
///
/// let head = EventHead::from_slice(
///     br#"{"eventType": "TextMessageCreated", "eventId": "e-1", "data": {"text": "hi"}}"#,
/// )?;
/// assert_eq!(head.event_id, "e-1");
/// assert_eq!(head.event_type, EventType::TextMessageCreated);
/// assert_eq!(head.context, None);
///
/// let err = EventHead::from_slice(br#"{"eventType": "TextMessageCreated"}"#).unwrap_err();
/// assert_eq!(err.message(), "missing field `eventId`");
/// # Ok::<(), kaizala_types::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventHead {
    /// The `eventId`; duplicate deliveries of one event share it.
    pub event_id: EventId,
    /// The `eventType`, which says how the body's `data` decodes.
    pub event_type: EventType,
    /// The subscription's `callBackContext`, when the body carries one.
    pub context: Option<String>,
}

impl EventHead {
    /// Reads the head of a webhook body; fails like [`Event::from_slice`](super::Event::from_slice)
    /// on a body that is not JSON, and with a [`Data`](crate::DecodeErrorKind::Data)
    /// error when it is not an object with an `eventId` and an `eventType`.
    pub fn from_slice(body: &[u8]) -> Result<Self, DecodeError> {
        // The properties skipped are not decoded, and serde_json does not
        // check the UTF-8 of strings it skips: check the whole body first
        // (std's check is vectorised; it costs little next to the parse).
        let text = std::str::from_utf8(body).map_err(|err| DecodeError::not_utf8(body, err))?;
        crate::from_str(text)
    }
}

/// The properties the head reads.
#[derive(Clone, Copy)]
enum Field {
    EventId,
    EventType,
    Context,
    Other,
}

impl Field {
    const NAMES: [(&'static str, Field); 3] = [
        ("eventId", Field::EventId),
        ("eventType", Field::EventType),
        ("context", Field::Context),
    ];

    fn of(key: &str) -> Field {
        Self::NAMES
            .iter()
            .find(|(name, _)| *name == key)
            .or_else(|| {
                Self::NAMES
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(key))
            })
            .map_or(Field::Other, |(_, field)| *field)
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a property name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Field, E> {
                Ok(Field::of(key))
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for EventHead {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeadVisitor;
        impl<'de> Visitor<'de> for HeadVisitor {
            type Value = EventHead;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a webhook event object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventHead, A::Error> {
                let mut event_id = None;
                let mut event_type = None;
                let mut context = None;
                // The first occurrence of a property counts; a repeated one is
                // skipped like any other property.
                while let Some(field) = map.next_key::<Field>()? {
                    match field {
                        Field::EventId if event_id.is_none() => {
                            event_id = Some(value(&mut map, "eventId")?);
                        }
                        Field::EventType if event_type.is_none() => {
                            event_type = Some(value(&mut map, "eventType")?);
                        }
                        Field::Context if context.is_none() => {
                            context = Some(value::<Option<String>, _>(&mut map, "context")?);
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(EventHead {
                    event_id: event_id.ok_or_else(|| de::Error::missing_field("eventId"))?,
                    event_type: event_type.ok_or_else(|| de::Error::missing_field("eventType"))?,
                    context: context.flatten(),
                })
            }
        }
        deserializer.deserialize_map(HeadVisitor)
    }
}

/// The next value, decoded as the full models decode it; on failure the
/// error's path names `key`.
fn value<'de, T: Wire, A: MapAccess<'de>>(map: &mut A, key: &'static str) -> Result<T, A::Error> {
    map.next_value_seed(WireSeed::<T>::new())
        .inspect_err(|_| path::key(key))
}

/// `EventHead` is decoded like the models it summarises.
impl Wire for EventHead {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DecodeErrorKind;
    use crate::event::Event;

    #[test]
    fn reads_the_head_in_any_letter_case_and_skips_the_rest() {
        let head = EventHead::from_slice(
            br#"{"data": {"deep": [[[{"x": 1}]]]}, "EVENTID": "e-9",
                "eventtype": "SurveyResponse", "Context": "ctx", "extra": null}"#,
        )
        .unwrap();
        assert_eq!(head.event_id, "e-9");
        assert_eq!(head.event_type, EventType::SurveyResponse);
        assert_eq!(head.context.as_deref(), Some("ctx"));
    }

    #[test]
    fn invalid_utf8_in_a_skipped_property_is_found() {
        let err = EventHead::from_slice(b"{\"eventId\": \"e\",\n  \"x\": \"\xff\"}").unwrap_err();
        assert_eq!(err.to_string(), "invalid UTF-8 (line 2, column 9)");
    }

    #[test]
    fn unknown_types_are_kept() {
        let head =
            EventHead::from_slice(br#"{"eventId": "e", "eventType": "StickerSent"}"#).unwrap();
        assert_eq!(head.event_type.to_string(), "StickerSent");
    }

    #[test]
    fn bad_bodies_fail_like_a_full_decode() {
        for (body, kind) in [
            (&b"not json"[..], DecodeErrorKind::Syntax),
            (
                br#"{"eventId": "e", "eventType": "X", "data": [1,"#,
                DecodeErrorKind::Eof,
            ),
            (
                br#"{"eventId": "e", "eventType": "X"} trailing"#,
                DecodeErrorKind::Syntax,
            ),
            (br#"[1, 2]"#, DecodeErrorKind::Data),
            (
                br#"{"eventId": 7, "eventType": "X"}"#,
                DecodeErrorKind::Data,
            ),
            (br#"{"eventType": "X"}"#, DecodeErrorKind::Data),
            (br#"{"eventId": "e"}"#, DecodeErrorKind::Data),
            (
                b"{\"eventId\": \"e\", \"eventType\": \"X\",\n \"data\": \"\xed\xa0\x80\"}",
                DecodeErrorKind::Syntax,
            ),
        ] {
            let head = EventHead::from_slice(body).unwrap_err();
            assert_eq!(head.kind(), kind, "{}", String::from_utf8_lossy(body));
            let full = Event::from_slice(body).unwrap_err();
            assert_eq!(full.kind(), kind, "{}", String::from_utf8_lossy(body));
            if kind == DecodeErrorKind::Data {
                assert_eq!(
                    head.path(),
                    full.path(),
                    "{}",
                    String::from_utf8_lossy(body)
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]
        /// On every event the full decoder accepts, the head agrees with it.
        #[test]
        fn agrees_with_the_full_decode(event in <Event as crate::arb::Arb>::arb()) {
            let body = event.to_vec();
            let head = EventHead::from_slice(&body).unwrap();
            proptest::prop_assert_eq!(&head.event_id, event.event_id());
            proptest::prop_assert_eq!(&head.event_type, event.event_type());
            proptest::prop_assert_eq!(head.context.as_deref(), event.context.as_deref());
        }
    }
}
