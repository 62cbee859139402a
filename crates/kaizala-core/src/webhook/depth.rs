//! A bound on JSON nesting, checked before any parser recurses.

/// Whether `json` nests arrays and objects deeper than `limit`.
///
/// A linear scan that only tracks strings and brackets; it does not
/// validate anything else (the parser does), so it is cheap enough to run on
/// every body before decoding, and it answers for a 10,000-deep document
/// without recursing.
///
/// ```
/// use kaizala_core::webhook::nesting_exceeds;
///
/// assert!(!nesting_exceeds(br#"{"a": [1, {"b": "[[[["}]}"#, 3));
/// assert!(nesting_exceeds(br#"{"a": [1, {"b": [2]}]}"#, 3));
/// ```
pub fn nesting_exceeds(json: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&byte) = json.get(at) {
        at += 1;
        match byte {
            b'"' => at = string_end(json, at),
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Where the string whose contents start at `from` ends: just past its
/// closing quote (or the end of the input). Strings are most of a body, so
/// they are skipped with `memchr`'s vectorised search rather than a byte at
/// a time.
fn string_end(json: &[u8], mut from: usize) -> usize {
    while let Some(found) = memchr::memchr2(b'"', b'\\', &json[from.min(json.len())..]) {
        let at = from + found;
        if json[at] == b'"' {
            return at + 1;
        }
        // A backslash: the byte after it is escaped, whatever it is.
        from = at + 2;
    }
    json.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_structure() {
        assert!(!nesting_exceeds(b"", 0));
        assert!(!nesting_exceeds(b"42", 0));
        assert!(nesting_exceeds(b"[]", 0));
        assert!(!nesting_exceeds(b"[]", 1));
        assert!(!nesting_exceeds(b"[][][]", 1));
        assert!(nesting_exceeds(b"[[]]", 1));
        assert!(!nesting_exceeds(br#"["\"[[[[", "\\"]"#, 1));
        assert!(!nesting_exceeds(br#"{"k\\": "}}}{{{"}"#, 1));
    }

    #[test]
    fn deep_documents_are_caught_early() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(nesting_exceeds(deep.as_bytes(), 64));
        assert!(!nesting_exceeds(deep.as_bytes(), 10_000));
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_the_depth_of_a_parsed_value(value in json_value()) {
            let text = serde_json::to_vec(&value).unwrap();
            let depth = depth_of(&value);
            proptest::prop_assert!(!nesting_exceeds(&text, depth));
            if depth > 0 {
                proptest::prop_assert!(nesting_exceeds(&text, depth - 1));
            }
        }
    }

    fn depth_of(value: &serde_json::Value) -> usize {
        match value {
            serde_json::Value::Array(items) => 1 + items.iter().map(depth_of).max().unwrap_or(0),
            serde_json::Value::Object(map) => 1 + map.values().map(depth_of).max().unwrap_or(0),
            _ => 0,
        }
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "[\\[\\]{}\"\\\\a-z ]{0,8}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(6, 48, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("[\\[{\"a-z]{0,4}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
