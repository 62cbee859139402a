//! The state both protocols carry between runs: per incremental stream,
//! per group, a fingerprint of each row emitted — the next run emits the
//! rows that are new or whose fingerprint changed.
//!
//! Fingerprints rather than a time cursor because responses pulled through
//! the API carry no time of their own, and an updated response keeps its id:
//! only its content tells that it changed (docs/api/decisions.md 94).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Columns that tell when the scratch sink saw a row, not what the row
/// holds: they differ on every read, so they are left out of fingerprints.
/// (`responded_at` of a response pulled without a `ResponseTime` answer is
/// when it was pulled.)
const PULL_TIMES: [&str; 5] = [
    "first_seen_at",
    "updated_at",
    "listed_at",
    "synced_at",
    "responded_at",
];

/// 64 bits of SHA-256 over a row's content: 16 hex digits in the state.
/// (A collision would hide one change of one row; at 64 bits that takes
/// billions of rows in one group.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint(u64);

impl TryFrom<String> for Fingerprint {
    type Error = &'static str;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let valid = text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit());
        match u64::from_str_radix(&text, 16) {
            Ok(n) if valid => Ok(Fingerprint(n)),
            _ => Err("a fingerprint is 16 hex digits"),
        }
    }
}

impl From<Fingerprint> for String {
    fn from(print: Fingerprint) -> String {
        format!("{:016x}", print.0)
    }
}

/// One stream's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamState {
    /// The fingerprints of the rows emitted, per group id.
    #[serde(default)]
    pub groups: BTreeMap<String, BTreeSet<Fingerprint>>,
}

/// Every stream's state, by stream name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct State {
    /// By stream name.
    pub streams: BTreeMap<String, StreamState>,
}

impl State {
    /// Of `records` (one group's rows of `stream`), those new or changed
    /// since the state; the state then holds the rows given.
    ///
    /// A row's unit is its key's first column: one response's answers are
    /// one fingerprint, so the state grows by one entry per response, and
    /// a changed answer brings all of that response's answers again.
    pub fn changed(
        &mut self,
        stream: &str,
        group: &str,
        records: Vec<Map<String, Value>>,
        unit: &str,
    ) -> Vec<Map<String, Value>> {
        let mut units: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, record) in records.iter().enumerate() {
            let key = record.get(unit).map(Value::to_string).unwrap_or_default();
            units.entry(key).or_default().push(i);
        }
        let seen = self
            .streams
            .entry(stream.to_owned())
            .or_default()
            .groups
            .entry(group.to_owned())
            .or_default();
        let mut now = BTreeSet::new();
        let mut keep = vec![false; records.len()];
        for rows in units.values() {
            let print = fingerprint(rows.iter().map(|&i| &records[i]));
            if !seen.contains(&print) {
                for &i in rows {
                    keep[i] = true;
                }
            }
            now.insert(print);
        }
        *seen = now;
        records
            .into_iter()
            .zip(keep)
            .filter_map(|(record, keep)| keep.then_some(record))
            .collect()
    }

    /// The state of `stream` (empty if none).
    pub fn of(&self, stream: &str) -> StreamState {
        self.streams.get(stream).cloned().unwrap_or_default()
    }
}

/// The fingerprint of a unit's rows, whatever their order, without
/// [`PULL_TIMES`].
fn fingerprint<'a>(rows: impl Iterator<Item = &'a Map<String, Value>>) -> Fingerprint {
    let mut texts: Vec<String> = rows
        .map(|row| {
            let content: BTreeMap<&str, &Value> = row
                .iter()
                .filter(|(name, _)| !PULL_TIMES.contains(&name.as_str()))
                .map(|(name, value)| (name.as_str(), value))
                .collect();
            serde_json::to_string(&content).unwrap_or_default()
        })
        .collect();
    texts.sort_unstable();
    let mut hash = Sha256::new();
    for text in &texts {
        hash.update(text.as_bytes());
        hash.update(b"\n");
    }
    let digest = hash.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    Fingerprint(u64::from_be_bytes(first))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(values: Value) -> Vec<Map<String, Value>> {
        serde_json::from_value(values).unwrap()
    }

    #[test]
    fn only_new_and_changed_units_come_again() {
        let mut state = State::default();
        let first = rows(json!([
            {"response_id": "a", "q": 0, "v": "x", "responded_at": "t1"},
            {"response_id": "a", "q": 1, "v": "y", "responded_at": "t1"},
            {"response_id": "b", "q": 0, "v": "z", "responded_at": "t1"},
        ]));
        assert_eq!(state.changed("answers", "g", first, "response_id").len(), 3);
        let second = rows(json!([
            {"response_id": "a", "q": 1, "v": "y", "responded_at": "t2"},
            {"response_id": "a", "q": 0, "v": "x", "responded_at": "t2"},
            {"response_id": "b", "q": 0, "v": "changed", "responded_at": "t2"},
            {"response_id": "c", "q": 0, "v": "new", "responded_at": "t2"},
        ]));
        let emitted = state.changed("answers", "g", second, "response_id");
        let ids: Vec<&Value> = emitted.iter().map(|r| &r["response_id"]).collect();
        assert_eq!(ids, [&json!("b"), &json!("c")]);
        // Another group's rows are another set.
        let other = rows(json!([{"response_id": "a", "q": 0, "v": "x"}]));
        assert_eq!(state.changed("answers", "h", other, "response_id").len(), 1);
        assert_eq!(state.of("answers").groups["g"].len(), 3);
    }

    #[test]
    fn the_state_round_trips_and_refuses_what_is_not_a_fingerprint() {
        let mut state = State::default();
        state.changed(
            "responses",
            "g",
            rows(json!([{"response_id": "a"}])),
            "response_id",
        );
        let text = serde_json::to_string(&state).unwrap();
        let back: State = serde_json::from_str(&text).unwrap();
        assert_eq!(back, state);
        let print = &back.streams["responses"].groups["g"];
        assert_eq!(
            serde_json::to_value(print).unwrap()[0]
                .as_str()
                .unwrap()
                .len(),
            16
        );
        for bad in [
            r#"{"responses": {"groups": {"g": ["xyz"]}}}"#,
            r#"{"responses": {"groups": {"g": [12]}}}"#,
            r#"{"responses": {"groups": {"g": ["+123456789abcdef"]}}}"#,
            r#"{"responses": {"groups": {"g": 5}}}"#,
        ] {
            assert!(serde_json::from_str::<State>(bad).is_err(), "{bad}");
        }
    }
}
