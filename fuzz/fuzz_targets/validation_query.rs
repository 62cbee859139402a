//! The webhook validation query, on any query string.
//!
//! `validation_token` never panics, and the token it accepts is the one
//! value of the `validationToken` parameter (any letter case) as
//! `form_urlencoded` (the URL standard's parser) decodes it.

#![no_main]

use kaizala_core::webhook::{VALIDATION_TOKEN_PARAM, validation_token};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(token) = validation_token(Some(query)) else {
        return;
    };
    let values: Vec<String> = form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| name.eq_ignore_ascii_case(VALIDATION_TOKEN_PARAM))
        .map(|(_, value)| value.into_owned())
        .collect();
    assert_eq!(values, [token], "{query:?}");
});
