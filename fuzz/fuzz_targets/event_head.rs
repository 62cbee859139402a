//! `EventHead` and the nesting check, compared with `serde_json`, on any
//! input.
//!
//! A body whose head decodes is JSON `serde_json` reads, and an object; a
//! body `serde_json` refuses has no head. On JSON `serde_json` reads,
//! `nesting_exceeds` answers exactly as the depth of the parsed value
//! says (duplicate keys included), at every limit up to one past that
//! depth.

#![no_main]

use kaizala_core::webhook::nesting_exceeds;
use kaizala_types::event::EventHead;
use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;

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
    if value.is_ok() {
        // The depth of the text, duplicate keys included (a `Value` keeps
        // only the last of them, and so can be shallower than the text).
        let Depth(depth) = serde_json::from_slice(data).expect("serde_json read it once");
        for limit in 0..=depth + 1 {
            assert_eq!(
                nesting_exceeds(data, limit),
                depth > limit,
                "depth {depth}, limit {limit}"
            );
        }
    }
});

/// How many arrays and objects nest at the deepest point of a document.
struct Depth(usize);

impl<'de> Deserialize<'de> for Depth {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DepthVisitor)
    }
}

struct DepthVisitor;

impl<'de> Visitor<'de> for DepthVisitor {
    type Value = Depth;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Depth, E> {
        Ok(Depth(0))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Depth, E> {
        Ok(Depth(0))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Depth, E> {
        Ok(Depth(0))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Depth, E> {
        Ok(Depth(0))
    }
    fn visit_str<E>(self, _: &str) -> Result<Depth, E> {
        Ok(Depth(0))
    }
    fn visit_unit<E>(self) -> Result<Depth, E> {
        Ok(Depth(0))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Depth, A::Error> {
        let mut deepest = 0;
        while let Some(Depth(depth)) = seq.next_element()? {
            deepest = deepest.max(depth);
        }
        Ok(Depth(deepest + 1))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Depth, A::Error> {
        let mut deepest = 0;
        while let Some((IgnoredAny, Depth(depth))) = map.next_entry()? {
            deepest = deepest.max(depth);
        }
        Ok(Depth(deepest + 1))
    }
}
