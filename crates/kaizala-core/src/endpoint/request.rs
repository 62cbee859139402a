//! Typed endpoints: a request struct per operation, turned into an
//! `http::Request<Bytes>` and its answer parsed back, with no IO.

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::de::DeserializeOwned;

use super::{Auth, BodyKind, EndpointMeta, Operation, Server};
use crate::multipart::Multipart;
use crate::session::{Credentials, Hosts, Session};
use crate::{Error, response};

/// Characters kept as they are in a path segment: RFC 3986 unreserved, plus
/// `@` (group ids carry shard suffixes such as `…@1`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

const USER_AGENT_VALUE: &str = concat!("kaizala-rs/", env!("CARGO_PKG_VERSION"));

/// A request body, encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    /// No body.
    Empty,
    /// `application/json`.
    Json(Vec<u8>),
    /// `application/x-www-form-urlencoded`.
    Form(Vec<u8>),
    /// `multipart/form-data`.
    Multipart(Multipart),
}

/// One call of one operation: what to send, and what comes back.
///
/// Every operation of the API has a struct implementing this in
/// [`crate::ops`]; [`Endpoint::build`] and [`Endpoint::parse`] do the rest.
pub trait Endpoint {
    /// The decoded body of a successful answer.
    type Response: DeserializeOwned;

    /// Which operation this is.
    const OPERATION: Operation;

    /// Values of the path template's `{placeholders}`, in order.
    fn path_params(&self) -> Vec<&str> {
        Vec::new()
    }

    /// Query parameters (names as in the contract).
    fn query(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// The body to send: [`Body::Empty`] unless the operation takes one.
    fn body(&self) -> Result<Body, Error> {
        Ok(Body::Empty)
    }

    /// The operation's metadata.
    fn meta(&self) -> &'static EndpointMeta {
        Self::OPERATION.meta()
    }

    /// The HTTP request for this call.
    fn build(&self, context: &RequestContext<'_>) -> Result<http::Request<Bytes>, Error>
    where
        Self: Sized,
    {
        build(self, context)
    }

    /// Decodes an answer: the body of a 2xx, or the error any other status means.
    fn parse(response: http::Response<Bytes>) -> Result<Self::Response, Error>
    where
        Self: Sized,
    {
        parse::<Self>(response)
    }
}

/// What building a request needs besides the request itself.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// The roots of the token and OAuth calls.
    pub hosts: &'a Hosts,
    /// The session, for calls with an access token.
    pub session: Option<&'a Session>,
    /// The connector's credentials, for token calls.
    pub credentials: Option<&'a Credentials>,
}

/// Builds the HTTP request of `endpoint`.
pub fn build<E: Endpoint>(
    endpoint: &E,
    context: &RequestContext<'_>,
) -> Result<http::Request<Bytes>, Error> {
    let meta = endpoint.meta();
    let base = match meta.server {
        Server::Api => context.hosts.api.clone(),
        Server::OAuth => context.hosts.oauth.clone(),
        Server::Endpoint => context
            .session
            .ok_or_else(|| {
                Error::invalid_input(format!("{} needs a session (an access token)", meta.id))
            })?
            .endpoint_base(),
    };
    let mut uri = base.trim_end_matches('/').to_owned();
    uri.push_str(&fill_path(meta, &endpoint.path_params())?);
    let query = endpoint.query();
    if let Some((name, _)) = query.iter().find(|(name, _)| !meta.query.contains(name)) {
        // The contract is the list of what the server understands.
        return Err(Error::invalid_input(format!(
            "{} has no query parameter {name}",
            meta.id
        )));
    }
    if !query.is_empty() {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &query {
            serializer.append_pair(name, value);
        }
        uri.push('?');
        uri.push_str(&serializer.finish());
    }

    let mut request = http::Request::builder()
        .method(meta.method.clone())
        .uri(&uri)
        .header(ACCEPT, "application/json")
        .header(USER_AGENT, USER_AGENT_VALUE);
    let headers = request.headers_mut().expect("builder is valid so far");
    match meta.auth {
        Auth::None => {}
        Auth::Access => {
            let session = context.session.ok_or_else(|| {
                Error::invalid_input(format!("{} needs a session (an access token)", meta.id))
            })?;
            headers.insert(
                ACCESS_TOKEN,
                secret_header("accessToken", session.access_token.expose())?,
            );
        }
        Auth::Refresh => {
            let credentials = context.credentials.ok_or_else(|| {
                Error::invalid_input(format!("{} needs connector credentials", meta.id))
            })?;
            headers.insert(
                APPLICATION_ID,
                plain_header("applicationId", credentials.application_id.as_str())?,
            );
            headers.insert(
                APPLICATION_SECRET,
                secret_header("applicationSecret", credentials.application_secret.expose())?,
            );
            headers.insert(
                REFRESH_TOKEN,
                secret_header("refreshToken", credentials.refresh_token.expose())?,
            );
        }
    }
    let body = match endpoint.body()? {
        Body::Empty => Bytes::new(),
        Body::Json(bytes) => {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            bytes.into()
        }
        Body::Form(bytes) => {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            bytes.into()
        }
        Body::Multipart(multipart) => {
            headers.insert(
                CONTENT_TYPE,
                plain_header("Content-Type", &multipart.content_type())?,
            );
            multipart.into_bytes().into()
        }
    };
    debug_assert!(
        meta.body != BodyKind::None || body.is_empty(),
        "{} declares no body but built one",
        meta.id
    );
    request.body(body).map_err(|err| {
        Error::with_source(
            crate::ErrorKind::InvalidInput(format!("{}: invalid request", meta.id)),
            err,
        )
    })
}

/// Decodes the answer to `E`.
pub fn parse<E: Endpoint>(response: http::Response<Bytes>) -> Result<E::Response, Error> {
    let (parts, body) = response.into_parts();
    if !parts.status.is_success() {
        return Err(response::error_for(
            E::OPERATION.meta(),
            parts.status,
            &parts.headers,
            &body,
            None,
            None,
        ));
    }
    // Calls that only succeed or fail may answer with no body at all.
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &body
    };
    Ok(kaizala_types::from_slice(body)?)
}

/// The `accessToken` header.
pub const ACCESS_TOKEN: HeaderName = HeaderName::from_static("accesstoken");
/// The `applicationId` header of the token call.
pub const APPLICATION_ID: HeaderName = HeaderName::from_static("applicationid");
/// The `applicationSecret` header of the token call.
pub const APPLICATION_SECRET: HeaderName = HeaderName::from_static("applicationsecret");
/// The `refreshToken` header of the token call.
pub const REFRESH_TOKEN: HeaderName = HeaderName::from_static("refreshtoken");

fn fill_path(meta: &EndpointMeta, params: &[&str]) -> Result<String, Error> {
    let mut out = String::with_capacity(meta.path.len() + 64);
    let mut rest = meta.path;
    let mut values = params.iter();
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .map(|i| open + i)
            .expect("contract paths close their placeholders");
        let name = &rest[open + 1..close];
        let value = values
            .next()
            .ok_or_else(|| Error::invalid_input(format!("{}: no value for {{{name}}}", meta.id)))?;
        if value.is_empty() {
            return Err(Error::invalid_input(format!(
                "{}: {name} must not be empty",
                meta.id
            )));
        }
        out.push_str(&rest[..open]);
        out.extend(utf8_percent_encode(value, SEGMENT));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    if values.next().is_some() {
        return Err(Error::invalid_input(format!(
            "{}: more path values than placeholders",
            meta.id
        )));
    }
    Ok(out)
}

fn plain_header(name: &str, value: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(value)
        .map_err(|_| Error::invalid_input(format!("{name} {value:?} cannot be sent in a header")))
}

/// A header carrying a secret: marked sensitive (never logged by hyper,
/// never indexed by HTTP/2 compression), and never echoed in the error.
fn secret_header(name: &str, value: &str) -> Result<HeaderValue, Error> {
    let mut header = HeaderValue::from_str(value).map_err(|_| {
        Error::invalid_input(format!(
            "{name} holds characters that cannot be sent in a header"
        ))
    })?;
    header.set_sensitive(true);
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_values_are_encoded_as_segments() {
        let meta = Operation::RemoveMember.meta();
        assert_eq!(
            fill_path(meta, &["g-1@1", "a/b c+d"]).unwrap(),
            "/groups/g-1@1/members/a%2Fb%20c%2Bd"
        );
        assert!(
            fill_path(meta, &["g"])
                .unwrap_err()
                .to_string()
                .contains("no value for {memberId}")
        );
        assert!(
            fill_path(meta, &["", "m"])
                .unwrap_err()
                .to_string()
                .contains("groupId must not be empty")
        );
        assert!(fill_path(meta, &["g", "m", "x"]).is_err());
    }

    #[test]
    fn secrets_in_headers_are_sensitive_and_never_echoed() {
        let header = secret_header("accessToken", "tok").unwrap();
        assert!(header.is_sensitive());
        let err = secret_header("accessToken", "bad\nsecret").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
