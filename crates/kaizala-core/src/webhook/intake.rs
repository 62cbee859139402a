//! Turning an authenticated callback body into an event to store, or into
//! the reason it is quarantined.
//!
//! Only the event's head (id, type, context) is decoded here: that is all a
//! receiver needs before it stores the body and acknowledges, and it costs a
//! fraction of a full decode. The typed [`Event`](kaizala_types::event::Event)
//! is decoded from the stored body by whoever needs it, after the ack
//! (`docs/webhook.md`, "What is checked before the ack").

use std::fmt;

use kaizala_types::event::EventHead;
use kaizala_types::{DecodeError, DecodeErrorKind, Secret};

use super::callback_token::same_secret;
use super::depth::nesting_exceeds;

/// What [`Intake::take`] made of a body.
#[derive(Debug)]
pub enum Intook {
    /// A webhook event (a JSON object with a non-empty `eventId` and an
    /// `eventType`): store it, then acknowledge.
    Event(EventHead),
    /// Not an event: keep the body in quarantine, then acknowledge, so
    /// nothing is lost and the platform does not retry (and finally disable
    /// the webhook) over a body it will never send differently.
    Quarantine(QuarantineReason),
    /// An event for another subscription: its `context` is not the one this
    /// receiver expects. Refuse it like a wrong callback token.
    WrongContext,
}

/// Why a body was quarantined.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuarantineReason {
    /// The body is empty.
    Empty,
    /// Nested deeper than the intake's limit.
    TooDeep {
        /// The deepest nesting the intake accepts, in levels.
        limit: usize,
    },
    /// Not JSON (or not UTF-8).
    NotJson(DecodeError),
    /// JSON, but not a webhook event (e.g. no `eventId`, or a value of the
    /// wrong type at the path the error names).
    NotAnEvent(DecodeError),
    /// An event whose `eventId` is empty: it could not be told apart from
    /// any other such event (the store dedupes on the id), so it is kept
    /// here instead. Its code is `not_an_event`.
    EmptyEventId,
}

impl QuarantineReason {
    /// A short stable name for counters and storage: `empty`, `too_deep`,
    /// `not_json`, `not_an_event`.
    pub fn code(&self) -> &'static str {
        match self {
            QuarantineReason::Empty => "empty",
            QuarantineReason::TooDeep { .. } => "too_deep",
            QuarantineReason::NotJson(_) => "not_json",
            QuarantineReason::NotAnEvent(_) | QuarantineReason::EmptyEventId => "not_an_event",
        }
    }
}

impl fmt::Display for QuarantineReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuarantineReason::Empty => f.write_str("empty body"),
            QuarantineReason::TooDeep { limit } => {
                write!(f, "JSON nested deeper than {limit} levels")
            }
            QuarantineReason::NotJson(err) => write!(f, "not JSON: {err}"),
            QuarantineReason::NotAnEvent(err) => write!(f, "not a webhook event: {err}"),
            QuarantineReason::EmptyEventId => {
                f.write_str("not a webhook event: the eventId is empty")
            }
        }
    }
}

/// The rules a callback body goes through once its token is accepted.
///
/// ```
/// use kaizala_core::webhook::{Intake, Intook, QuarantineReason};
///
/// let intake = Intake::default().expect_context("tenant-42");
/// let body = br#"{"eventId": "e1", "eventType": "MemberAdded", "context": "tenant-42"}"#;
/// assert!(matches!(intake.take(body), Intook::Event(_)));
/// let body = br#"{"eventId": "e1", "eventType": "MemberAdded", "context": "tenant-7"}"#;
/// assert!(matches!(intake.take(body), Intook::WrongContext));
/// match intake.take(br#"{"eventType": "MemberAdded"}"#) {
///     Intook::Quarantine(reason) => assert_eq!(reason.code(), "not_an_event"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Intake {
    max_depth: usize,
    context: Option<Secret>,
}

impl Default for Intake {
    fn default() -> Self {
        Intake {
            max_depth: Self::DEFAULT_MAX_DEPTH,
            context: None,
        }
    }
}

impl Intake {
    /// The default nesting limit. Real callbacks nest about six levels (an
    /// answer's attachment list inside a response inside `data`).
    pub const DEFAULT_MAX_DEPTH: usize = 64;

    /// Bodies nested deeper than `levels` are quarantined unparsed.
    pub fn max_depth(mut self, levels: usize) -> Self {
        self.max_depth = levels;
        self
    }

    /// Only events whose `context` (the webhook's `callBackContext`) is
    /// `context` are accepted; others are [`Intook::WrongContext`].
    pub fn expect_context(mut self, context: impl Into<Secret>) -> Self {
        self.context = Some(context.into());
        self
    }

    /// Classifies a body.
    pub fn take(&self, body: &[u8]) -> Intook {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Intook::Quarantine(QuarantineReason::Empty);
        }
        if nesting_exceeds(body, self.max_depth) {
            return Intook::Quarantine(QuarantineReason::TooDeep {
                limit: self.max_depth,
            });
        }
        let head = match EventHead::from_slice(body) {
            Ok(event) => event,
            Err(err) => {
                return Intook::Quarantine(match err.kind() {
                    DecodeErrorKind::Data => QuarantineReason::NotAnEvent(err),
                    _ => QuarantineReason::NotJson(err),
                });
            }
        };
        if let Some(expected) = &self.context
            && !same_secret(
                expected.expose().as_bytes(),
                head.context.as_deref().map(str::as_bytes),
            )
        {
            return Intook::WrongContext;
        }
        if head.event_id.as_str().is_empty() {
            return Intook::Quarantine(QuarantineReason::EmptyEventId);
        }
        Intook::Event(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(intook: Intook) -> QuarantineReason {
        match intook {
            Intook::Quarantine(reason) => reason,
            other => panic!("not quarantined: {other:?}"),
        }
    }

    #[test]
    fn events_pass_whatever_their_type() {
        let intake = Intake::default();
        for body in [
            &br#"{"eventId": "e", "eventType": "SurveyResponse", "data": {}}"#[..],
            br#"{"EventId": "e", "EVENTTYPE": "StickerSent", "data": [1, 2]}"#,
            br#"{"eventId": "e", "eventType": "TextMessageCreated"}"#,
        ] {
            let Intook::Event(head) = intake.take(body) else {
                panic!("{}", String::from_utf8_lossy(body));
            };
            assert_eq!(head.event_id, "e");
        }
    }

    #[test]
    fn everything_else_is_quarantined_with_a_reason() {
        let intake = Intake::default();
        assert_eq!(reason(intake.take(b"")), QuarantineReason::Empty);
        assert_eq!(reason(intake.take(b" \n")), QuarantineReason::Empty);
        assert_eq!(reason(intake.take(b"{")).code(), "not_json");
        assert_eq!(reason(intake.take(b"not json")).code(), "not_json");
        assert_eq!(
            reason(intake.take(b"{\"eventId\": \"\xff\"}")).code(),
            "not_json"
        );
        assert_eq!(reason(intake.take(b"[]")).code(), "not_an_event");
        assert_eq!(reason(intake.take(b"{}")).code(), "not_an_event");
        assert_eq!(
            reason(intake.take(br#"{"eventId": "", "eventType": "X"}"#)),
            QuarantineReason::EmptyEventId
        );
        let wrong = reason(intake.take(br#"{"eventId": 7, "eventType": "X"}"#));
        match wrong {
            QuarantineReason::NotAnEvent(err) => assert_eq!(err.path(), "eventId"),
            other => panic!("{other:?}"),
        }
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert_eq!(
            reason(intake.take(deep.as_bytes())),
            QuarantineReason::TooDeep { limit: 64 }
        );
    }

    #[test]
    fn the_depth_limit_is_configurable() {
        let body = br#"{"eventId": "e", "eventType": "X", "data": {"a": {"b": [1]}}}"#;
        assert!(matches!(
            Intake::default().max_depth(4).take(body),
            Intook::Event(_)
        ));
        assert_eq!(
            reason(Intake::default().max_depth(3).take(body)),
            QuarantineReason::TooDeep { limit: 3 }
        );
    }

    #[test]
    fn a_missing_context_is_wrong_when_one_is_expected() {
        let intake = Intake::default().expect_context("ctx");
        let body = br#"{"eventId": "e", "eventType": "X"}"#;
        assert!(matches!(intake.take(body), Intook::WrongContext));
        assert!(matches!(Intake::default().take(body), Intook::Event(_)));
    }

    #[test]
    fn debug_hides_the_expected_context() {
        let intake = Intake::default().expect_context("hidden-ctx");
        assert!(!format!("{intake:?}").contains("hidden-ctx"));
    }
}
