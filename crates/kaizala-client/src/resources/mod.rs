//! The API by resource: handles returned by [`Client`](crate::Client)
//! methods, each a cheap clone of the client plus the ids it is about.

pub mod actions;
pub mod auth;
pub mod groups;
pub mod media;
pub mod members;
pub mod messages;
pub mod reactions;
pub mod subgroups;
pub mod subscribers;
pub mod webhooks;
