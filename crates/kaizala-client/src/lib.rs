//! An async client for the Kaizala Connectors API, on hyper 1 and rustls.
//!
//! It performs what [`kaizala_core`] decides: it obtains the access token
//! and refreshes it five minutes before it expires (one refresh for all
//! concurrent calls, a rotated refresh token saved to the [`TokenStore`]
//! before use), stays under the 100-calls-a-minute-per-connector and
//! 300-per-tenant budgets, follows HTTP 308 relocations, waits out 429s,
//! and retries server errors and broken connections for the calls that are
//! safe to retry. Every call has a `tracing` span (operation, attempt,
//! status; never a token).
//!
//! ```
//! use kaizala_client::{Client, JsonFileTokenStore};
//! use kaizala_core::session::Credentials;
//!
//! let client = Client::builder()
//!     .credentials(Credentials::new("connector-id", "connector-secret", "refresh-token"))
//!     // Keep rotated refresh tokens across restarts (mode 0600, atomic writes).
//!     .token_store(JsonFileTokenStore::new(std::env::temp_dir().join("kaizala-tokens.json")))
//!     .build()?;
//!
//! // Handles are cheap and can move into tasks.
//! let messages = client.group("group-id").messages();
//! let surveys = client.group("group-id").actions();
//! # let _ = (messages, surveys);
//! # Ok::<(), kaizala_core::Error>(())
//! ```
//!
//! Calls return futures (and paginated lists, [`futures_util::Stream`]s):
//!
//! ```no_run
//! # async fn demo(client: kaizala_client::Client) -> Result<(), kaizala_core::Error> {
//! use futures_util::TryStreamExt;
//! use kaizala_types::actions::ActionType;
//!
//! for group in client.groups().list().await? {
//!     println!("{}", group.group_name.as_deref().unwrap_or("(unnamed)"));
//! }
//! let sent = client.group("group-id").messages().send("hello from kaizala-rs").await?;
//! let surveys: Vec<_> = client.group("group-id").actions().list(ActionType::Survey).try_collect().await?;
//! # let _ = (sent, surveys);
//! # Ok(()) }
//! ```

mod builder;
mod client;
mod paging;
pub mod resources;
mod store;
mod transport;

pub use builder::{ClientBuilder, env};
pub use client::Client;
pub use kaizala_core::{Error, ErrorKind};
pub use store::{JsonFileTokenStore, MemoryTokenStore, StoreError, TokenStore};
