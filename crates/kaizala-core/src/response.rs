//! What an answer that is not a success means.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};
use kaizala_types::common::ErrorBody;
use kaizala_types::scope::{Scope, ScopeSet};

use crate::endpoint::EndpointMeta;
use crate::{Error, ErrorKind};

/// The error an answer with a non-2xx `status` stands for.
///
/// `scope` is the session's scope list, when known: a 403 then names the
/// permission the operation needs if the list lacks it. `now` resolves a
/// `Retry-After` given as an HTTP-date (without it only the seconds form is
/// read): this crate never reads a clock of its own.
pub fn error_for(
    meta: &EndpointMeta,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    scope: Option<&ScopeSet>,
    now: Option<SystemTime>,
) -> Error {
    // The platform answered errors as {"message", "errorCode", "errorCategoryKey"};
    // anything else (HTML from a proxy, nothing) still yields a status.
    let parsed: Option<ErrorBody> = kaizala_types::from_slice(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|b| b.message.clone())
        .or_else(|| plain_text(body));
    let code = parsed.and_then(|b| b.error_code);
    let kind = match status.as_u16() {
        401 => ErrorKind::Unauthorized { message },
        403 => ErrorKind::Forbidden {
            missing_scope: meta
                .scope
                .filter(|needed| scope.is_some_and(|s| !s.contains(&Scope::from_wire(needed))))
                .map(str::to_owned),
            message,
        },
        404 => ErrorKind::NotFound { message },
        429 => ErrorKind::RateLimited {
            retry_after: match now {
                Some(now) => retry_after(headers, now),
                None => seconds(headers),
            },
        },
        308 => ErrorKind::TooManyRedirects { hops: 0 },
        status => ErrorKind::Api {
            status,
            message,
            code,
        },
    };
    Error::new(kind)
}

fn plain_text(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    (!text.is_empty() && text.len() <= 512 && !text.starts_with('<')).then(|| text.to_owned())
}

/// `Retry-After` as a wait from `now`: delay-seconds, or an HTTP-date
/// (a date in the past means no wait).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(wait) = seconds(headers) {
        return Some(wait);
    }
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `Retry-After` in its delay-seconds form.
fn seconds(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Operation;
    use std::time::UNIX_EPOCH;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(name, value.parse().unwrap());
        map
    }

    #[test]
    fn retry_after_in_both_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            retry_after(&headers("retry-after", "120"), now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(
                &headers("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT"),
                now
            ),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(
                &headers("retry-after", "Sunday, 06-Nov-94 08:50:37 GMT"),
                now
            ),
            Some(Duration::from_secs(60)),
            "obsolete RFC 850 form"
        );
        assert_eq!(
            retry_after(
                &headers("retry-after", "Sun, 06 Nov 1994 08:00:00 GMT"),
                now
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("retry-after", "soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn statuses_map_to_kinds_with_the_servers_words() {
        let meta = Operation::SendMessage.meta();
        let body = br#"{"message": "Token expired", "errorCode": "InvalidToken", "errorCategoryKey": "AuthException"}"#;
        let err = error_for(
            meta,
            StatusCode::UNAUTHORIZED,
            &HeaderMap::new(),
            body,
            None,
            None,
        );
        assert_eq!(
            err.kind(),
            &ErrorKind::Unauthorized {
                message: Some("Token expired".into())
            }
        );

        let err = error_for(
            meta,
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            body,
            None,
            None,
        );
        assert_eq!(
            err.kind(),
            &ErrorKind::Api {
                status: 400,
                message: Some("Token expired".into()),
                code: Some("InvalidToken".into())
            }
        );
        let err = error_for(
            meta,
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            b"<html>bad gateway</html>",
            None,
            None,
        );
        assert_eq!(
            err.kind(),
            &ErrorKind::Api {
                status: 502,
                message: None,
                code: None
            }
        );
    }

    #[test]
    fn forbidden_names_the_missing_scope_only_when_the_token_lacks_it() {
        let meta = Operation::SendMessage.meta();
        let without = ScopeSet::new("groupinfo.read,groupmember.read");
        let err = error_for(
            meta,
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            b"",
            Some(&without),
            None,
        );
        assert_eq!(
            err.kind(),
            &ErrorKind::Forbidden {
                missing_scope: Some("textmessage.write".into()),
                message: None
            }
        );
        assert_eq!(
            err.to_string(),
            "forbidden: the token lacks the `textmessage.write` permission"
        );

        // The 2017 spelling of the same permission counts as having it.
        let with = ScopeSet::new("groupmessage.add");
        let err = error_for(
            meta,
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            b"group not granted",
            Some(&with),
            None,
        );
        assert_eq!(
            err.kind(),
            &ErrorKind::Forbidden {
                missing_scope: None,
                message: Some("group not granted".into())
            }
        );
    }
}
