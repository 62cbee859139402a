//! The sans-IO protocol core of kaizala-rs, a toolkit for the Kaizala
//! Connectors REST API.
//!
//! This crate knows the protocol and does no IO: it never opens a socket,
//! spawns a task or reads a clock of its own, so the same code drives the
//! hyper client, the webhook receiver and the local emulator, and every rule
//! can be tested without a network.
//!
//! For now it holds the endpoint table, generated from the API contract
//! (`docs/api/openapi.yaml`) by `cargo xtask codegen`: one
//! [`endpoint::EndpointMeta`] per [`endpoint::Operation`], with its method,
//! path, host, credentials, permission scope, retry safety and body encoding.
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

pub use error::{Error, ErrorKind};
