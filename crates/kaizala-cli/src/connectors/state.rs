//! The state both protocols carry between runs: per incremental stream,
//! per group, the newest cursor value emitted (epoch ms) — the next run
//! emits what is newer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One stream's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamState {
    /// The newest cursor value emitted, per group id.
    #[serde(default)]
    pub groups: BTreeMap<String, i64>,
}

/// Every stream's state, by stream name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct State {
    /// By stream name.
    pub streams: BTreeMap<String, StreamState>,
}

impl State {
    /// The cursor of `stream` for `group`.
    pub fn cursor(&self, stream: &str, group: &str) -> Option<i64> {
        self.streams.get(stream)?.groups.get(group).copied()
    }

    /// Moves the cursor of `stream` for `group` forward to `at`.
    pub fn advance(&mut self, stream: &str, group: &str, at: i64) {
        let cursor = self
            .streams
            .entry(stream.to_owned())
            .or_default()
            .groups
            .entry(group.to_owned())
            .or_insert(at);
        *cursor = (*cursor).max(at);
    }

    /// The state of `stream` (empty if none).
    pub fn of(&self, stream: &str) -> StreamState {
        self.streams.get(stream).cloned().unwrap_or_default()
    }
}
