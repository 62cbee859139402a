//! Static metadata of one API operation, as declared in `docs/api/openapi.yaml`.

use http::Method;

use super::Operation;

/// Which host an operation is sent to.
///
/// The token endpoints live on fixed hosts; every other call goes to the
/// `endpointUrl` returned with the access token (and moved by HTTP 308).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Server {
    /// The fixed API root, `https://api.kaiza.la/v1`.
    Api,
    /// The per-tenant `{endpointUrl}/v1` returned with the access token.
    Endpoint,
    /// The OAuth host, `https://ds.kaiza.la/api`.
    OAuth,
}

/// Which credentials an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Auth {
    /// No credentials (PIN login, OAuth).
    None,
    /// `applicationId`, `applicationSecret` and `refreshToken` headers.
    Refresh,
    /// The `accessToken` header.
    Access,
}

/// How the request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BodyKind {
    /// No request body.
    None,
    /// `application/json`.
    Json,
    /// `multipart/form-data` (media upload).
    Multipart,
    /// `application/x-www-form-urlencoded` (OAuth code exchange).
    Form,
}

/// Metadata of one operation: everything a transport, a router or a
/// document needs to know about it without knowing its Rust types.
#[derive(Debug, Clone)]
pub struct EndpointMeta {
    /// The operation this entry describes.
    pub operation: Operation,
    /// The contract's `operationId` (camelCase, e.g. `sendMessage`).
    pub id: &'static str,
    /// HTTP method.
    pub method: Method,
    /// Path template relative to the server root, with `{name}` placeholders
    /// (e.g. `/groups/{groupId}/messages`).
    pub path: &'static str,
    /// Host the call goes to.
    pub server: Server,
    /// Credentials the call needs.
    pub auth: Auth,
    /// Permission scope the token must carry, in the 2021 vocabulary
    /// (e.g. `textmessage.write`); `None` for the auth endpoints.
    pub scope: Option<&'static str>,
    /// Whether replaying the call after a failure cannot do harm
    /// (reads, and writes whose replay converges to the same state).
    pub retry_safe: bool,
    /// How the request body is encoded.
    pub body: BodyKind,
    /// One-line summary from the contract.
    pub summary: &'static str,
    /// Names of the query parameters the contract declares.
    pub query: &'static [&'static str],
}
