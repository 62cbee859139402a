//! The validation handshake: before creating a webhook the platform sends
//! `GET <callback>?validationToken=X` and expects `X` back as plain text.

use std::borrow::Cow;

use percent_encoding::percent_decode;

use super::VALIDATION_TOKEN_PARAM;

/// The longest validation token accepted, in bytes after decoding.
pub const MAX_VALIDATION_TOKEN_LEN: usize = 4096;

/// Why a validation request cannot be answered (the receiver answers 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// No `validationToken` parameter.
    #[error("the request has no validationToken parameter")]
    Missing,
    /// `validationToken` given more than once, so which to echo is unclear.
    #[error("the request has more than one validationToken parameter")]
    Repeated,
    /// `validationToken=` with nothing after it.
    #[error("the validationToken parameter is empty")]
    Empty,
    /// Longer than [`MAX_VALIDATION_TOKEN_LEN`] bytes once decoded.
    #[error(
        "the validationToken parameter is {len} bytes long (at most {MAX_VALIDATION_TOKEN_LEN})"
    )]
    TooLong {
        /// The decoded length.
        len: usize,
    },
    /// Decodes to bytes that are not UTF-8, which a `text/plain;
    /// charset=utf-8` answer cannot echo exactly.
    #[error("the validationToken parameter does not decode to UTF-8 text")]
    NotUtf8,
}

/// The token to echo, from the request's query string (without the `?`).
///
/// The query is decoded as `application/x-www-form-urlencoded`, the way the
/// platform's own ASP.NET stack read query strings: `%2B` is `+`, a bare
/// `+` is a space. The parameter name is matched in any letter case.
///
/// ```
/// use kaizala_core::webhook::{ValidationError, validation_token};
///
/// assert_eq!(validation_token(Some("validationToken=abc")).unwrap(), "abc");
/// assert_eq!(validation_token(Some("validationtoken=a+b%2Bc")).unwrap(), "a b+c");
/// assert_eq!(validation_token(Some("validationToken=")), Err(ValidationError::Empty));
/// assert_eq!(validation_token(None), Err(ValidationError::Missing));
/// ```
pub fn validation_token(query: Option<&str>) -> Result<String, ValidationError> {
    let mut found: Option<&str> = None;
    for pair in query.unwrap_or("").split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if decode(name).is_some_and(|name| name.eq_ignore_ascii_case(VALIDATION_TOKEN_PARAM)) {
            if found.is_some() {
                return Err(ValidationError::Repeated);
            }
            found = Some(value);
        }
    }
    let raw = found.ok_or(ValidationError::Missing)?;
    // A cheap bound before decoding: every decoded byte takes at least one
    // input byte.
    if raw.len() > 3 * MAX_VALIDATION_TOKEN_LEN {
        return Err(ValidationError::TooLong {
            len: decoded_len(raw),
        });
    }
    let token = decode(raw).ok_or(ValidationError::NotUtf8)?;
    match token.len() {
        0 => Err(ValidationError::Empty),
        len if len > MAX_VALIDATION_TOKEN_LEN => Err(ValidationError::TooLong { len }),
        _ => Ok(token.into_owned()),
    }
}

/// Form-decodes one query component; `None` if the result is not UTF-8.
fn decode(component: &str) -> Option<Cow<'_, str>> {
    if !component.contains('+') {
        return percent_decode(component.as_bytes()).decode_utf8().ok();
    }
    let plus_as_space = component.replace('+', " ");
    let decoded = percent_decode(plus_as_space.as_bytes())
        .decode_utf8()
        .ok()?;
    Some(Cow::Owned(decoded.into_owned()))
}

fn decoded_len(component: &str) -> usize {
    percent_decode(component.as_bytes()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_what_the_platform_encoded() {
        for (query, token) in [
            ("validationToken=plain", "plain"),
            ("validationToken=a%2Bb", "a+b"),
            ("validationToken=a+b", "a b"),
            ("validationToken=a%20b", "a b"),
            (
                "validationToken=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
                "<script>alert(1)</script>",
            ),
            ("other=1&validationToken=x&more=2", "x"),
            ("VALIDATIONTOKEN=x", "x"),
            ("validationToken=%E2%9C%93", "✓"),
            ("validationToken=a=b", "a=b"),
        ] {
            assert_eq!(
                validation_token(Some(query)).as_deref(),
                Ok(token),
                "{query}"
            );
        }
    }

    #[test]
    fn refuses_what_cannot_be_echoed_exactly() {
        assert_eq!(validation_token(Some("")), Err(ValidationError::Missing));
        assert_eq!(
            validation_token(Some("token=x")),
            Err(ValidationError::Missing)
        );
        assert_eq!(
            validation_token(Some("validationToken")),
            Err(ValidationError::Empty)
        );
        assert_eq!(
            validation_token(Some("validationToken=a&validationToken=b")),
            Err(ValidationError::Repeated)
        );
        assert_eq!(
            validation_token(Some("validationToken=%FF")),
            Err(ValidationError::NotUtf8)
        );
    }

    #[test]
    fn bounds_the_decoded_length() {
        let longest = "x".repeat(MAX_VALIDATION_TOKEN_LEN);
        let query = format!("validationToken={longest}");
        assert_eq!(
            validation_token(Some(&query)).unwrap().len(),
            MAX_VALIDATION_TOKEN_LEN
        );
        let query = format!("validationToken={longest}x");
        assert_eq!(
            validation_token(Some(&query)),
            Err(ValidationError::TooLong {
                len: MAX_VALIDATION_TOKEN_LEN + 1
            })
        );
        // Encoded, the limit applies to what it decodes to.
        let encoded = "%41".repeat(MAX_VALIDATION_TOKEN_LEN);
        let query = format!("validationToken={encoded}");
        assert_eq!(
            validation_token(Some(&query)).unwrap().len(),
            MAX_VALIDATION_TOKEN_LEN
        );
        let huge = "x".repeat(1 << 20);
        let query = format!("validationToken={huge}");
        assert_eq!(
            validation_token(Some(&query)),
            Err(ValidationError::TooLong { len: 1 << 20 })
        );
    }
}
