//! The callback body → `Event`, on any input.
//!
//! Decoding never panics. A body that decodes re-encodes to JSON that
//! decodes to the same event, and its head (what the receiver reads before
//! storing) decodes too and agrees on the id and the type.

#![no_main]

use kaizala_types::event::{Event, EventHead};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let head = EventHead::from_slice(data);
    let Ok(event) = Event::from_slice(data) else {
        return;
    };
    let head = head.unwrap_or_else(|err| panic!("the event decodes but its head does not: {err}"));
    assert_eq!(head.event_id.as_str(), event.event_id());
    assert_eq!(&head.event_type, event.event_type());
    let encoded = event.to_vec();
    let again = Event::from_slice(&encoded).unwrap_or_else(|err| {
        panic!(
            "re-encoded event does not decode: {err}\n{}",
            String::from_utf8_lossy(&encoded)
        )
    });
    assert_eq!(again, event);
});
