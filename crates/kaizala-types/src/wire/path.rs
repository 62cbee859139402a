//! The JSON path of the value that failed to decode.
//!
//! serde's error type is opaque (`D::Error: de::Error` can only be built from a
//! message), so the path cannot travel inside it. Instead, every container this
//! crate decodes records its segment on a thread-local stack *while an error
//! unwinds through it* — nothing is recorded on the success path, so the
//! bookkeeping costs nothing when decoding succeeds. The public entry points
//! ([`crate::from_slice`] and friends) clear the stack before decoding and read
//! it back (innermost segment first, hence reversed) when decoding fails.

use std::cell::RefCell;
use std::fmt::Write as _;

/// Bound on recorded segments so a program that never calls our entry points
/// (and so never clears the stack) cannot grow it without limit.
const MAX_SEGMENTS: usize = 512;

enum Segment {
    Key(&'static str),
    OwnedKey(String),
    Index(usize),
}

thread_local! {
    static UNWINDING: RefCell<Vec<Segment>> = const { RefCell::new(Vec::new()) };
}

fn push(segment: Segment) {
    UNWINDING.with(|stack| {
        let mut stack = stack.borrow_mut();
        if stack.len() < MAX_SEGMENTS {
            stack.push(segment);
        }
    });
}

/// Records that the error unwinding now came from the value of `key`.
pub(crate) fn key(key: &'static str) {
    push(Segment::Key(key));
}

/// Like [`key`] for a key only known at run time (map entries).
pub(crate) fn owned_key(key: &str) {
    push(Segment::OwnedKey(key.to_owned()));
}

/// Records that the error unwinding now came from array element `index`.
pub(crate) fn index(index: usize) {
    push(Segment::Index(index));
}

/// Current depth of the stack, to roll back segments recorded by a decode
/// attempt whose error was recovered from.
pub(crate) fn mark() -> usize {
    UNWINDING.with(|stack| stack.borrow().len())
}

/// Drops segments recorded after `mark`.
pub(crate) fn rollback(mark: usize) {
    UNWINDING.with(|stack| stack.borrow_mut().truncate(mark));
}

/// Forgets every recorded segment (start of a top-level decode).
pub(crate) fn clear() {
    rollback(0);
}

/// Takes the recorded path, outermost first, formatted like
/// `data.responseDetails.responseWithQuestions[2].answer`; empty at the root.
pub(crate) fn take() -> String {
    let segments = UNWINDING.with(|stack| std::mem::take(&mut *stack.borrow_mut()));
    let mut out = String::new();
    for segment in segments.iter().rev() {
        match segment {
            Segment::Key(k) => push_key(&mut out, k),
            Segment::OwnedKey(k) => push_key(&mut out, k),
            Segment::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

fn push_key(out: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '@');
    if plain {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(key);
    } else {
        // Keys such as phone numbers (`+91…`) or ones with dots are quoted so
        // the path stays unambiguous.
        let _ = write!(out, "[{}]", serde_json::Value::from(key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_innermost_last() {
        clear();
        key("answer");
        index(2);
        key("responseWithQuestions");
        key("responseDetails");
        key("data");
        assert_eq!(
            take(),
            "data.responseDetails.responseWithQuestions[2].answer"
        );
        assert_eq!(take(), "", "take empties the stack");
    }

    #[test]
    fn quotes_keys_that_are_not_identifiers() {
        clear();
        key("isAdded");
        owned_key("+911111111111");
        key("result");
        assert_eq!(take(), r#"result["+911111111111"].isAdded"#);
    }

    #[test]
    fn rollback_forgets_recovered_attempts() {
        clear();
        key("outer");
        let m = mark();
        key("attempt");
        rollback(m);
        assert_eq!(take(), "outer");
    }

    #[test]
    fn growth_is_bounded() {
        clear();
        for i in 0..(MAX_SEGMENTS * 2) {
            index(i);
        }
        assert_eq!(mark(), MAX_SEGMENTS);
        clear();
    }
}
