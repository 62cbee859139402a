//! The receiving side of the webhook protocol (`webHooks.md`), without IO.
//!
//! A receiver answers two kinds of request on its callback URL:
//!
//! - the **validation** GET the platform sends before it creates a webhook
//!   (`?validationToken=X`, answered with `X` as plain text within 5 s):
//!   [`validation_token`] reads and checks `X`;
//! - the **event** POSTs: [`CallbackTokens`] authenticates the
//!   `kz-callback-token` header in constant time, then [`Intake`] reads the
//!   body's head ([`EventHead`](kaizala_types::event::EventHead): id, type,
//!   context) or finds the reason it must be quarantined (kept,
//!   acknowledged, never dropped).
//!
//! After the acknowledgement, handlers run from the store;
//! [`HandlerRetry`] decides when a failed handler runs again and when its
//! event is dead-lettered.
//!
//! ```
//! use kaizala_core::webhook::{CallbackTokens, Intake, Intook, validation_token};
//!
//! // The validation handshake.
//! assert_eq!(validation_token(Some("validationToken=a%2Bb")).unwrap(), "a+b");
//!
//! // An event POST.
//! let tokens = CallbackTokens::new("s3cret")?;
//! assert!(tokens.verify(Some(b"s3cret")));
//! assert!(!tokens.verify(None));
//! let body = br#"{"eventId": "e1", "eventType": "TextMessageCreated", "data": {"text": "hi"}}"#;
//! match Intake::default().take(body) {
//!     Intook::Event(head) => assert_eq!(head.event_id, "e1"),
//!     Intook::Quarantine(reason) => panic!("{reason}"),
//!     Intook::WrongContext => unreachable!("no context is expected"),
//! }
//! # Ok::<(), kaizala_core::webhook::TokenConfigError>(())
//! ```

mod callback_token;
mod depth;
mod handler_retry;
mod intake;
mod validation;

pub use callback_token::{CallbackTokens, MAX_CALLBACK_TOKEN_LEN, TokenConfigError};
pub use depth::nesting_exceeds;
pub use handler_retry::{HandlerRetry, NextStep};
pub use intake::{Intake, Intook, QuarantineReason};
pub use validation::{MAX_VALIDATION_TOKEN_LEN, ValidationError, validation_token};

/// The header that carries the webhook's callback token.
pub const CALLBACK_TOKEN_HEADER: &str = "kz-callback-token";

/// The query parameter of the validation request.
pub const VALIDATION_TOKEN_PARAM: &str = "validationToken";
