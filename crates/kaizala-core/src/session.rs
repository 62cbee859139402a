//! Who is calling and where: connector credentials, the access-token
//! session, the hosts, and the token lifecycle rules (refresh ahead of
//! expiry, adopt a rotated refresh token, follow a relocated endpoint).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kaizala_types::auth::AccessTokenResponse;
use kaizala_types::scope::ScopeSet;
use kaizala_types::{ApplicationId, Secret};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The fixed API root of the retired service.
pub const DEFAULT_API_BASE: &str = "https://api.kaiza.la/v1";
/// The fixed OAuth root of the retired service.
pub const DEFAULT_OAUTH_BASE: &str = "https://ds.kaiza.la/api";

/// The roots of the two fixed hosts (the third, the tenant's endpoint, comes
/// with each access token). Point them at an emulator to develop locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hosts {
    /// Root of the token calls, `https://api.kaiza.la/v1` by default.
    pub api: String,
    /// Root of the OAuth calls, `https://ds.kaiza.la/api` by default.
    pub oauth: String,
}

impl Default for Hosts {
    fn default() -> Self {
        Hosts {
            api: DEFAULT_API_BASE.to_owned(),
            oauth: DEFAULT_OAUTH_BASE.to_owned(),
        }
    }
}

impl Hosts {
    /// Hosts rooted at `api` (trailing `/` ignored), OAuth at the default.
    pub fn with_api(api: &str) -> Self {
        Hosts {
            api: api.trim_end_matches('/').to_owned(),
            ..Hosts::default()
        }
    }
}

/// A connector's credentials: its id and secret, and the refresh token a
/// group or tenant admin granted it. `Debug` shows the id only.
#[derive(Clone)]
pub struct Credentials {
    /// The connector's id (`applicationId`).
    pub application_id: ApplicationId,
    /// The connector's secret (`applicationSecret`).
    pub application_secret: Secret,
    /// The refresh token (valid 365 days; rotated from day 328).
    pub refresh_token: Secret,
}

impl Credentials {
    /// Credentials from their three parts.
    pub fn new(
        application_id: impl Into<ApplicationId>,
        application_secret: impl Into<Secret>,
        refresh_token: impl Into<Secret>,
    ) -> Self {
        Credentials {
            application_id: application_id.into(),
            application_secret: application_secret.into(),
            refresh_token: refresh_token.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("application_id", &self.application_id)
            .field("application_secret", &self.application_secret)
            .field("refresh_token", &self.refresh_token)
            .finish()
    }
}

/// A live access token and where to use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Sent as the `accessToken` header.
    pub access_token: Secret,
    /// When the token stops working.
    pub expires_at: SystemTime,
    /// The tenant's endpoint root, without trailing `/` (calls go to
    /// `{endpoint_url}/v1/...`).
    pub endpoint_url: String,
    /// The permissions the token carries.
    pub scope: ScopeSet,
}

impl Session {
    /// The root of calls to the tenant's endpoint: `{endpoint_url}/v1`.
    pub fn endpoint_base(&self) -> String {
        format!("{}/v1", self.endpoint_url)
    }

    /// Whether the token is missing, expired, or expires within `ahead`.
    pub fn needs_refresh(&self, now: SystemTime, ahead: Duration) -> bool {
        now + ahead >= self.expires_at
    }
}

/// Normalises an `endpointUrl` (or a 308 `Location`): no trailing `/`, no
/// `/v1` suffix (the path is added per call), scheme and host in lower case.
pub fn normalize_endpoint_url(url: &str) -> Result<String, Error> {
    let trimmed = url.trim().trim_end_matches('/');
    let trimmed = trimmed
        .strip_suffix("/v1")
        .unwrap_or(trimmed)
        .trim_end_matches('/');
    let uri: http::Uri = trimmed
        .parse()
        .map_err(|_| Error::invalid_input(format!("endpoint URL {url:?} is not a URL")))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(Error::invalid_input(format!(
            "endpoint URL {url:?} is not absolute"
        )));
    };
    let path = uri.path().trim_end_matches('/');
    Ok(format!(
        "{}://{}{path}",
        scheme.to_ascii_lowercase(),
        authority.as_str().to_ascii_lowercase()
    ))
}

/// What a token response changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUpdate {
    /// The new session.
    pub session: Session,
    /// A rotated refresh token (day 328 on): persist it before using the
    /// session, or the connector stops working when the old one expires.
    pub rotated_refresh_token: Option<Secret>,
}

/// Reads an access-token (or OAuth token) response.
pub fn token_update(response: &AccessTokenResponse) -> Result<TokenUpdate, Error> {
    let millis = response.access_token_expiry.unix_millis();
    let expires_at = UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0));
    Ok(TokenUpdate {
        session: Session {
            access_token: response.access_token.clone(),
            expires_at,
            endpoint_url: normalize_endpoint_url(&response.endpoint_url)?,
            scope: response.scope.clone().unwrap_or_default(),
        },
        rotated_refresh_token: response.new_refresh_token().cloned(),
    })
}

/// What a token store keeps between runs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredTokens {
    /// The current refresh token (the rotated one once there is one).
    pub refresh_token: Secret,
    /// The tenant's endpoint root, as last learnt (token response or 308).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// The last access token, so a restart within its life needs no refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<Secret>,
    /// Its expiry, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_expiry: Option<u64>,
    /// The scope list of the last access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeSet>,
}

impl fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredTokens")
            .field("refresh_token", &self.refresh_token)
            .field("endpoint_url", &self.endpoint_url)
            .field("access_token", &self.access_token)
            .field("access_token_expiry", &self.access_token_expiry)
            .finish()
    }
}

impl StoredTokens {
    /// Only a refresh token.
    pub fn new(refresh_token: Secret) -> Self {
        StoredTokens {
            refresh_token,
            endpoint_url: None,
            access_token: None,
            access_token_expiry: None,
            scope: None,
        }
    }

    /// The stored session, if a complete one was stored.
    pub fn session(&self) -> Option<Session> {
        Some(Session {
            access_token: self.access_token.clone()?,
            expires_at: UNIX_EPOCH + Duration::from_millis(self.access_token_expiry?),
            endpoint_url: self.endpoint_url.clone()?,
            scope: self.scope.clone().unwrap_or_default(),
        })
    }

    /// Records a session (and its endpoint).
    pub fn set_session(&mut self, session: &Session) {
        self.endpoint_url = Some(session.endpoint_url.clone());
        self.access_token = Some(session.access_token.clone());
        self.access_token_expiry = session
            .expires_at
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|d| u64::try_from(d.as_millis()).ok());
        self.scope = Some(session.scope.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls_are_normalised() {
        for (input, expected) in [
            ("https://kms-alpha.kaiza.la/", "https://kms-alpha.kaiza.la"),
            (
                "https://inc-000.KaizalaMessaging.osi.office.net",
                "https://inc-000.kaizalamessaging.osi.office.net",
            ),
            ("HTTPS://Example.com/v1/", "https://example.com"),
            (
                "http://127.0.0.1:8080/tenant-a/",
                "http://127.0.0.1:8080/tenant-a",
            ),
        ] {
            assert_eq!(normalize_endpoint_url(input).unwrap(), expected, "{input}");
        }
        assert!(normalize_endpoint_url("not a url").is_err());
        assert!(normalize_endpoint_url("/relative").is_err());
    }

    #[test]
    fn token_response_becomes_a_session() {
        let response: AccessTokenResponse = kaizala_types::from_str(
            r#"{"accessToken": "a", "endpointUrl": "https://kms-alpha.kaiza.la/", "accessTokenExpiry": 1518481686294, "refreshToken": "", "scope": "token.write"}"#,
        )
        .unwrap();
        let update = token_update(&response).unwrap();
        assert_eq!(
            update.session.endpoint_base(),
            "https://kms-alpha.kaiza.la/v1"
        );
        assert_eq!(
            update.session.expires_at,
            UNIX_EPOCH + Duration::from_millis(1_518_481_686_294)
        );
        assert_eq!(
            update.rotated_refresh_token, None,
            "an empty refreshToken is no rotation"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let credentials = Credentials::new("app", "very-secret", "refresh-me");
        let shown = format!("{credentials:?}");
        assert!(
            shown.contains("app")
                && !shown.contains("very-secret")
                && !shown.contains("refresh-me"),
            "{shown}"
        );
        let mut stored = StoredTokens::new(Secret::new("refresh-me"));
        stored.access_token = Some(Secret::new("access-me"));
        let shown = format!("{stored:?}");
        assert!(
            !shown.contains("refresh-me") && !shown.contains("access-me"),
            "{shown}"
        );
    }

    #[test]
    fn refresh_is_due_ahead_of_expiry() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let session = Session {
            access_token: Secret::new("a"),
            expires_at: now + Duration::from_secs(301),
            endpoint_url: "https://e".into(),
            scope: ScopeSet::default(),
        };
        let ahead = Duration::from_secs(300);
        assert!(!session.needs_refresh(now, ahead));
        assert!(session.needs_refresh(now + Duration::from_secs(1), ahead));
    }
}
