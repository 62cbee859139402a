//! The Kaizala Connectors toolkit in one dependency.
//!
//! | module | crate | what |
//! |---|---|---|
//! | [`types`] | `kaizala-types` | wire models of every request, response and webhook event |
//! | [`core`] | `kaizala-core` | the sans-IO protocol: endpoints, sessions, throttle, retry decisions, pagination |
//! | `client` | `kaizala-client` | the async hyper client (feature `client`, on by default) |
//! | `webhook` | `kaizala-webhook` | the webhook receiver: validation, callback-token check, limits, durable hand-off, dedupe, handlers (feature `webhook`, on by default) |
//! | `registration` | (this crate) | subscribing a receiver to events and managing the subscription: `WebhookRegistration` (features `client` and `webhook`) |
//! | `emulator` | `kaizala-emulator` | the platform, in process, to develop and test against (feature `emulator`) |
//! | `sink` | `kaizala-sink` | events and pulled data into SQLite or PostgreSQL tables and the `kz_*` views (feature `sink`) |
//!
//! At the root: [`Error`] and [`ErrorKind`] (every call's error),
//! [`Credentials`], and with `client` the [`Client`]; [`prelude`] brings
//! those and the event types in with one `use`.
//!
//! # Four ways to depend on it
//!
//! ```toml
//! # 1. Parse callbacks only, in any framework: the models, no runtime.
//! kaizala-types = "0.1"
//! # 2. A receiver that never calls the API: no client, no rustls client stack.
//! kaizala = { version = "0.1", default-features = false, features = ["webhook"] }
//! # 3. The SDK: client, receiver, registration (the default).
//! kaizala = "0.1"
//! # 4. The data path too: the SQL sink, and the emulator for tests.
//! kaizala = { version = "0.1", features = ["sink"] }
//! # [dev-dependencies]
//! # kaizala = { version = "0.1", features = ["emulator"] }
//! ```
//!
//! `client` and `webhook` are on by default; `registration` is there when
//! both are. Without default features the facade is the transport-free
//! models and protocol core, and pulls in no async runtime.
//!
//! # A guide
//!
//! ## 1. Credentials and a client
//!
//! A connector is registered once (Kaizala management portal); a group or
//! tenant admin then grants it a **refresh token**. With its id, secret and
//! that token, the client manages access tokens itself: it obtains one on the
//! first call, renews it five minutes before it expires, and saves a rotated
//! refresh token (sent from day 328 of the old one's life) before using it.
//!
//! ```
//! # #[cfg(feature = "client")] {
//! use kaizala::Client;
//! use kaizala::core::session::Credentials;
//!
//! let client = Client::builder()
//!     .credentials(Credentials::new("connector-id", "connector-secret", "refresh-token"))
//!     // .base_url("http://127.0.0.1:8080/v1")  // an emulator, for development
//!     .build()?;
//!
//! // Secrets never show in logs or Debug output.
//! assert!(!format!("{client:?}").contains("connector-secret"));
//! # }
//! # Ok::<(), kaizala::core::Error>(())
//! ```
//!
//! `Client::builder_from_env()` reads `KAIZALA_APPLICATION_ID`,
//! `KAIZALA_APPLICATION_SECRET`, `KAIZALA_REFRESH_TOKEN` and, optionally,
//! `KAIZALA_BASE_URL`.
//!
//! ## 2. Calls
//!
//! Calls are grouped by resource and return typed answers; lists that come
//! in pages are `Stream`s. The client stays under the platform's budgets
//! (100 calls a minute per connector, 300 per tenant), follows relocations,
//! waits out `429`s and retries what is safe to retry.
//!
//! ```no_run
//! # #[cfg(feature = "client")]
//! # async fn calls(client: kaizala::Client) -> Result<(), kaizala::core::Error> {
//! use futures_util::TryStreamExt;
//! use kaizala::types::actions::{ActionType, QuestionSpec, QuestionType, SurveyBody};
//!
//! let groups = client.groups().list().await?;
//! let team = client.group(groups[0].group_id.clone());
//! team.messages().send("Stock count today").await?;
//!
//! let survey = SurveyBody::new(
//!     "Store visit",
//!     vec![
//!         QuestionSpec::new("Outlet", QuestionType::Text),
//!         QuestionSpec::with_options("Shelf stocked?", QuestionType::SingleOption, ["Yes", "No"]),
//!     ],
//! );
//! let posted = team.actions().create_survey(survey).await?;
//! let surveys: Vec<_> = team.actions().list(ActionType::Survey).try_collect().await?;
//! # let _ = (posted, surveys);
//! # Ok(()) }
//! ```
//!
//! Errors are one type, [`core::Error`], whose [`core::ErrorKind`] tells a
//! missing permission from a throttled call or a broken connection, and
//! whose `is_retryable()` says whether trying later may help.
//!
//! ## 3. Webhook events
//!
//! The platform POSTs each event to a subscribed callback URL.
//! [`types::event::Event`] decodes the body — typed per event type,
//! tolerant of the platform's quirks, and lossless:
//!
//! ```
//! use kaizala::types::event::{Event, EventData};
//!
//! let body = br#"{"eventId": "e1", "eventType": "SurveyResponse", "objectType": "Group",
//!   "data": {"responder": "+91xxxxxxxx", "responseDetails": {"responseWithQuestions": [
//!     {"title": "Shelf stocked?", "type": "SingleOption", "answer": ["Yes"]}]}}}"#;
//! let event = Event::from_slice(body)?;
//! let Some(EventData::Action(response)) = event.data() else { unreachable!() };
//! assert_eq!(response.questions()[0].answer.as_ref().and_then(|a| a.as_options()), Some(&["Yes".to_owned()][..]));
//! # Ok::<(), kaizala::types::DecodeError>(())
//! ```
//!
//! The receiver (`kaizala::webhook`, feature `webhook`) answers the
//! platform's validation request, checks the `kz-callback-token`, stores
//! each event once before acknowledging it, and runs handlers after the
//! acknowledgement. Once it listens, `kaizala::registration` subscribes
//! it:
//!
//! ```no_run
//! # #[cfg(all(feature = "client", feature = "webhook"))]
//! # async fn receive(client: kaizala::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use kaizala::registration::{Subscription, WebhookRegistration};
//! use kaizala::types::event::{Event, EventType};
//! use kaizala::webhook::{Handlers, MemoryEventStore, ReceiverConfig, Server};
//!
//! let config = ReceiverConfig::new().callback_token("s3cret-callback")?;
//! let handlers = Handlers::new().on_any(|event: Arc<Event>| async move {
//!     println!("{} {}", event.event_type(), event.event_id());
//!     Ok(())
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
//! let receiver = Server::new(config, MemoryEventStore::new())
//!     .handlers(handlers)
//!     .serve(listener);
//!
//! let subscription = Subscription::group("group-id")
//!     .events(EventType::DOCUMENTED)
//!     .callback_token("s3cret-callback");
//! // The receiver's own URL suits an emulator on this machine; give the
//! // hosted platform your public URL with `register_url`.
//! let webhook = WebhookRegistration::register(&client, &receiver, subscription).await?;
//! println!("subscribed as {}", webhook.id());
//! # Ok(()) }
//! ```
//!
//! ## 4. Without the client
//!
//! Everything the client does is decided in [`core`], which does no IO: use
//! its endpoints with any HTTP stack.
//!
//! ```
//! use kaizala::core::endpoint::{Endpoint, RequestContext};
//! use kaizala::core::ops::groups::ListGroups;
//! use kaizala::core::session::{Hosts, Session};
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! let session = Session {
//!     access_token: "token".into(),
//!     expires_at: UNIX_EPOCH + Duration::from_secs(4_000_000_000),
//!     endpoint_url: "https://kms.kaiza.la".into(),
//!     scope: Default::default(),
//! };
//! let hosts = Hosts::default();
//! let request = ListGroups { show_detail: Some(true), fetch_all_groups: None }
//!     .build(&RequestContext { hosts: &hosts, session: Some(&session), credentials: None })?;
//! assert_eq!(request.uri(), "https://kms.kaiza.la/v1/groups?showDetail=true");
//! # Ok::<(), kaizala::core::Error>(())
//! ```

pub use kaizala_core as core;
pub use kaizala_types as types;

/// The async hyper client (feature `client`).
#[cfg(feature = "client")]
pub use kaizala_client as client;

#[cfg(feature = "client")]
pub use kaizala_client::{Client, ClientBuilder};

/// The webhook receiver (feature `webhook`).
#[cfg(feature = "webhook")]
pub use kaizala_webhook as webhook;

#[cfg(feature = "emulator")]
pub use kaizala_emulator as emulator;

#[cfg(feature = "sink")]
pub use kaizala_sink as sink;

pub use kaizala_core::session::Credentials;
pub use kaizala_core::{Error, ErrorKind};

/// What most programs use, in one `use kaizala::prelude::*;`: the error,
/// credentials and the client, the event and its types, and with
/// `webhook` the receiver's configuration and server.
///
/// ```
/// use kaizala::prelude::*;
///
/// let event = Event::from_slice(br#"{"eventId": "e1", "eventType": "TextMessageCreated"}"#)?;
/// assert_eq!(event.event_type(), &EventType::TextMessageCreated);
/// # Ok::<(), kaizala::types::DecodeError>(())
/// ```
pub mod prelude {
    #[cfg(feature = "client")]
    pub use crate::Client;
    pub use crate::{Credentials, Error, ErrorKind};
    pub use kaizala_types::event::{Event, EventData, EventType};
    #[cfg(feature = "webhook")]
    pub use kaizala_webhook::{ReceiverConfig, Server, WebhookService};
}

#[cfg(all(feature = "client", feature = "webhook"))]
pub mod registration;
