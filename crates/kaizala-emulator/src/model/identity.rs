//! Tenants, connectors and the tokens they hold.

use kaizala_types::Secret;
use serde::{Deserialize, Serialize};

/// An organisation: its groups, users and connectors share one endpoint
/// (`{base}/t/{slug}`) and one call budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    /// The tenant's id, by which the other records name it.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Current endpoint path segment: calls go to `{base}/t/{slug}/v1/…`.
    pub slug: String,
    /// Earlier slugs, answered with 308 and the new endpoint.
    #[serde(default)]
    pub old_slugs: Vec<String>,
}

/// A registered connector (a third-party system).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connector {
    /// `applicationId`.
    pub app_id: String,
    /// `applicationSecret`.
    pub secret: Secret,
    /// Display name.
    pub name: String,
    /// Tenant it was registered in.
    pub tenant: String,
    /// Permissions it was registered with, 2021 vocabulary (`groupinfo.read`, …).
    pub scopes: Vec<String>,
    /// Addresses allowed to call with its tokens (exact IPs or CIDR blocks);
    /// empty allows any.
    #[serde(default)]
    pub ip_allow: Vec<String>,
    /// OAuth redirect URLs it may use.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// Whose access a token carries (`Tokens.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "camelCase")]
pub enum Principal {
    /// A group token: that group (and its sub-groups) only.
    Group(String),
    /// A user token: the groups the user is in; every group of the tenant
    /// for a tenant admin.
    User(String),
}

/// A refresh token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshGrant {
    /// The token string the connector presents.
    pub token: Secret,
    /// The connector it was granted to.
    pub app_id: String,
    /// Whose access it carries.
    pub principal: Principal,
    /// Issued, epoch ms (virtual clock).
    pub issued_ms: i64,
    /// Expires, epoch ms (365 days after issue).
    pub expires_ms: i64,
    /// The token issued to replace it (from day 328 on).
    #[serde(default)]
    pub rotated_to: Option<Secret>,
}

/// An access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessGrant {
    /// The token string, sent in the `accessToken` header.
    pub token: Secret,
    /// The connector it was issued to (`applicationId`).
    pub app_id: String,
    /// The connector's tenant.
    pub tenant: String,
    /// Whose access it carries.
    pub principal: Principal,
    /// The permissions it carries: its connector's scopes (2021 vocabulary).
    pub scopes: Vec<String>,
    /// Expires, epoch ms (24 h after issue).
    pub expires_ms: i64,
}

/// A PIN "texted" for the PIN login.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pin {
    /// The number the PIN was texted to.
    pub phone: String,
    /// The connector that asked.
    pub app_id: String,
    /// The digits the login must send back.
    pub pin: String,
    /// Issued, epoch ms.
    pub issued_ms: i64,
}

/// An OAuth authorization code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthCode {
    /// The code appended to the redirect URL, to trade for tokens.
    pub code: String,
    /// The connector (`client_id`).
    pub app_id: String,
    /// The user who signed in.
    pub user_id: String,
    /// Issued, epoch ms (codes last ten minutes).
    pub issued_ms: i64,
}
