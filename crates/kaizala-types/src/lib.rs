//! Wire models of the Kaizala Connectors API: every request body, response
//! body and webhook event, as [`serde`] types.
//!
//! This crate depends on `serde` and `serde_json` only, so a service that just
//! parses webhook callbacks can use it alone.
//!
//! # What the models put up with
//!
//! The platform's JSON was loose, and these models accept what it really sent:
//!
//! - property names in any letter case (`Message`, `Answers`, `Active`) and
//!   both spellings of inconsistent ones (`callBackUrl`/`callbackUrl`,
//!   `groupImageURL`/`groupImageUrl`);
//! - booleans as strings ([`Flag`]), timestamps as epoch seconds, epoch
//!   milliseconds or ISO 8601 ([`Timestamp`]), numbers as numeric strings
//!   ([`Numeric`]), survey answers whose JSON type follows the question type
//!   ([`actions::Answer`]);
//! - unknown properties, event types and enum values, which are kept (in each
//!   model's `extra` map, in [`event::EventData::Unknown`], in `Other(String)`
//!   variants) rather than dropped, so decoding then encoding gives back the
//!   same JSON, with property names in their documented spelling.
//!
//! Decoding errors name the JSON path at fault ([`DecodeError::path`]).
//!
//! # Example: a webhook callback
//!
//! ```
//! use kaizala_types::event::{Event, EventData, EventType};
//!
//! let body = br#"{
//!     "objectId": "8c2950-9be8-45d6-97f5-bb7013930027",
//!     "objectType": "Group",
//!     "eventType": "SurveyResponse",
//!     "eventId": "3e49b367-acf6-48a7-a675-6bf4d372a070",
//!     "data": {
//!         "actionId": "920f9802-62dafb-9bc2-8d3ba5c43609",
//!         "responseId": "420e9ef0-2a6d-405-a2bf-2688648ce79a",
//!         "responder": "+91xxxxxxxxx",
//!         "responseDetails": {"responseWithQuestions": [
//!             {"title": "Rice 5KG", "type": "Numeric", "options": [], "answer": 2.0},
//!             {"title": "Outlet", "type": "SingleOption", "options": [{"title": "ABC Traders"}], "answer": ["ABC Traders"]}
//!         ]},
//!         "surveyVersion": 3
//!     },
//!     "fromUser": "+91xxxxxxxx"
//! }"#;
//!
//! let event = Event::from_slice(body)?;
//! assert_eq!(event.event_type(), &EventType::SurveyResponse);
//! assert_eq!(event.event_type().to_string(), "SurveyResponse");
//! assert_eq!(event.event_id(), "3e49b367-acf6-48a7-a675-6bf4d372a070");
//!
//! let Some(EventData::Action(response)) = event.data() else { panic!("typed payload") };
//! let questions = response.questions();
//! assert_eq!(questions[0].answer.as_ref().and_then(|a| a.as_f64()), Some(2.0));
//! assert_eq!(questions[1].answer.as_ref().unwrap().as_options(), Some(&["ABC Traders".to_owned()][..]));
//!
//! // Nothing was lost, not even the undocumented `surveyVersion`:
//! let again: serde_json::Value = serde_json::from_slice(&event.to_vec())?;
//! assert_eq!(again, serde_json::from_slice::<serde_json::Value>(body)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[macro_use]
mod wire;
#[cfg(test)]
mod arb;
mod error;
mod ids;
mod phone;
mod scalar;

pub mod actions;
pub mod auth;
pub mod common;
pub mod event;
pub mod groups;
pub mod media;
pub mod members;
pub mod messages;
pub mod reactions;
pub mod responses;
pub mod scope;
pub mod subgroups;
pub mod subscribers;
pub mod webhooks;

pub use error::{DecodeError, DecodeErrorKind};
pub use ids::{
    ActionId, ActionPackageId, ApplicationId, EventId, GroupId, ObjectId, ReactionId, ReferenceId,
    ResponseId, UserId, WebhookId,
};
pub use phone::{InvalidPhoneNumber, PhoneNumber};
pub use scalar::{Cursor, Flag, InvalidTimestamp, Numeric, Secret, Timestamp, TimestampFormat};

/// Properties a model does not know, kept verbatim so nothing is lost.
pub type Extra = serde_json::Map<String, serde_json::Value>;

use serde::de::{Deserialize, DeserializeOwned};

/// Decodes a model from JSON bytes, naming the JSON path on failure.
///
/// ```
/// use kaizala_types::messages::SendMessageRequest;
///
/// // The vendor's own example capitalises `Message`.
/// let request: SendMessageRequest = kaizala_types::from_slice(br#"{"Message": "hi"}"#)?;
/// assert_eq!(request.message, "hi");
/// assert_eq!(kaizala_types::to_string(&request), r#"{"message":"hi"}"#);
/// # Ok::<(), kaizala_types::DecodeError>(())
/// ```
pub fn from_slice<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, DecodeError> {
    with_path(|| serde_json::from_slice(bytes))
}

/// Decodes a model from a JSON string, naming the JSON path on failure.
pub fn from_str<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, DecodeError> {
    with_path(|| serde_json::from_str(text))
}

/// Decodes a model from a JSON value, naming the JSON path on failure.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, DecodeError> {
    with_path(|| serde_json::from_value(value))
}

/// Encodes a model as compact JSON in its canonical form.
pub fn to_string<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // Models are maps of strings, numbers and JSON values: nothing in them
    // can make serde_json fail (it only fails on non-string map keys, which
    // no model has, or on I/O, which a String does not do).
    serde_json::to_string(value).expect("models always encode")
}

/// Encodes a model as compact JSON bytes in its canonical form.
pub fn to_vec<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("models always encode")
}

fn with_path<T>(decode: impl FnOnce() -> Result<T, serde_json::Error>) -> Result<T, DecodeError> {
    wire::path::clear();
    decode().map_err(|err| DecodeError::from_json(&err, wire::path::take()))
}

#[cfg(test)]
mod round_trip;
