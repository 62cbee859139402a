//! The crash campaign's parts: the stream of events it delivers
//! ([`feed`]), what the tables must then hold ([`oracle`]), and table
//! snapshots to compare with a rebuild ([`snapshot`]); and the same kill
//! with the emulator delivering ([`platform`]).

pub mod feed;
pub mod oracle;
pub mod platform;
pub mod snapshot;
