//! A routed API request.

use std::net::IpAddr;

use bytes::Bytes;
use http::HeaderMap;
use kaizala_core::endpoint::{EndpointMeta, Operation};
use serde::de::DeserializeOwned;

use super::reply::ApiError;

/// An API request, matched to its operation.
#[derive(Debug)]
pub struct Call {
    /// The operation the method and path matched.
    pub op: Operation,
    /// Values of the path template's placeholders, decoded, in order.
    pub params: Vec<String>,
    /// Query parameters, decoded.
    pub query: Vec<(String, String)>,
    /// Request headers.
    pub headers: HeaderMap,
    /// Request body.
    pub body: Bytes,
    /// The caller's address.
    pub peer: IpAddr,
    /// The tenant endpoint the call came in through (endpoint-host operations).
    pub tenant: Option<String>,
}

impl Call {
    /// The operation's metadata.
    pub fn meta(&self) -> &'static EndpointMeta {
        self.op.meta()
    }

    /// Path value `index`.
    pub fn param(&self, index: usize) -> &str {
        self.params.get(index).map_or("", String::as_str)
    }

    /// A query parameter, matched in any letter case as the platform did.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A required query parameter.
    pub fn required_query(&self, name: &str) -> Result<&str, ApiError> {
        self.query(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            ApiError::bad_field(name, format!("the query parameter {name} is required"))
        })
    }

    /// A boolean query parameter (`true`/`false`, any case; absent is false).
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.query(name) {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") || v.is_empty() => Ok(false),
            Some(v) => Err(ApiError::bad_field(
                name,
                format!("{name} must be true or false, not {v:?}"),
            )),
        }
    }

    /// A header, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body, decoded as a model (400 naming the bad property otherwise).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request("a JSON request body is required"));
        }
        Ok(kaizala_types::from_slice::<T>(&self.body)?)
    }
}
