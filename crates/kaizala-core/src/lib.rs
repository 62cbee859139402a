//! The sans-IO protocol core of kaizala-rs, a toolkit for the Kaizala
//! Connectors REST API.
//!
//! This crate knows the protocol and does no IO: it never opens a socket,
//! spawns a task or reads a clock of its own, so the same code drives the
//! hyper client, the webhook receiver and the local emulator, and every rule
//! can be tested without a network.
//!
//! - [`endpoint`]: the endpoint table, generated from the API contract
//!   (`docs/api/openapi.yaml`) by `cargo xtask codegen` — one
//!   [`endpoint::EndpointMeta`] per [`endpoint::Operation`], with its method,
//!   path, host, credentials, permission scope, retry safety and body
//!   encoding — and the [`endpoint::Endpoint`] trait that builds requests and
//!   parses answers; [`ops`] holds one typed endpoint per operation.
//! - [`session`]: credentials, sessions and the token answers.
//! - [`retry`], [`throttle`], [`pagination`]: what to do after each answer,
//!   when the next call may go, and where the next page starts.
//! - [`webhook`]: the receiving side — the validation handshake, callback
//!   token checks in constant time, what to quarantine, handler retries.
//!
//! ```
//! use http::Method;
//! use kaizala_core::endpoint::{Auth, Operation, Server};
//!
//! let meta = Operation::SendMessage.meta();
//! assert_eq!(meta.method, Method::POST);
//! assert_eq!(meta.path, "/groups/{groupId}/messages");
//! assert_eq!(meta.scope, Some("textmessage.write"));
//! assert_eq!(meta.server, Server::Endpoint);
//! assert_eq!(meta.auth, Auth::Access);
//! assert!(!meta.retry_safe, "a replay would post the message twice");
//! ```

pub mod clock;
pub mod endpoint;
mod error;
pub mod multipart;
pub mod ops;
pub mod pagination;
pub mod response;
pub mod retry;
pub mod session;
pub mod throttle;
pub mod webhook;

pub use error::{Error, ErrorKind};
