//! `EventHead` and the nesting check, compared with `serde_json`, on any
//! input.
//!
//! A body whose head decodes is JSON `serde_json` reads, and an object; a
//! body `serde_json` refuses has no head. On JSON `serde_json` reads,
//! `nesting_exceeds` answers exactly as the depth of the parsed value
//! says, at every limit up to one past that depth.

#![no_main]

use kaizala_core::webhook::nesting_exceeds;
use kaizala_types::event::EventHead;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Below serde_json's own recursion limit (128), so both parsers see the
/// same documents.
const DEEPEST: usize = 100;

fuzz_target!(|data: &[u8]| {
    if nesting_exceeds(data, DEEPEST) {
        return;
    }
    let value = serde_json::from_slice::<Value>(data);
    match (EventHead::from_slice(data), &value) {
        (Ok(_), Ok(value)) => assert!(value.is_object(), "a head in a non-object: {value}"),
        (Ok(head), Err(err)) => panic!("a head ({head:?}) in a body serde_json refuses: {err}"),
        (Err(_), _) => {}
    }
    if let Ok(value) = value {
        let depth = depth(&value);
        for limit in 0..=depth + 1 {
            assert_eq!(
                nesting_exceeds(data, limit),
                depth > limit,
                "depth {depth}, limit {limit}"
            );
        }
    }
});

/// How many arrays and objects nest at the deepest point.
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
