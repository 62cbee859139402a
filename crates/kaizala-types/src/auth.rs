//! Authentication: PIN login, access tokens, the OAuth 2.0 code exchange
//! (`Tokens.md`, Swagger "Authentication APIs").
//!
//! The access-token call itself takes no body: `applicationId`,
//! `applicationSecret` and `refreshToken` travel as HTTP headers.

use crate::scope::ScopeSet;
use crate::{ApplicationId, Numeric, PhoneNumber, Secret, Timestamp};

wire_object! {
    /// `POST /generatePin`: sends a PIN by SMS to a registered number.
    pub struct GeneratePinRequest {
        /// The number that receives the PIN.
        req mobile_number: PhoneNumber = "mobileNumber",
        /// The connector's id.
        req application_id: ApplicationId = "applicationId",
    }
}

impl GeneratePinRequest {
    /// A request for `mobile_number` on behalf of connector `application_id`.
    pub fn new(mobile_number: PhoneNumber, application_id: impl Into<ApplicationId>) -> Self {
        GeneratePinRequest {
            mobile_number,
            application_id: application_id.into(),
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// The answer of `POST /generatePin`: an empty object.
    #[derive(Default)]
    pub struct GeneratePinResponse {}
}

wire_object! {
    /// `POST /loginWithPinAndApplicationId`: trades the SMS PIN for a
    /// refresh token.
    pub struct LoginWithPinRequest {
        /// The number the PIN was sent to.
        req mobile_number: PhoneNumber = "mobileNumber",
        /// The connector's id.
        req application_id: ApplicationId = "applicationId",
        /// The PIN; a JSON number in the vendor's example, a string accepted
        /// too (so leading zeros survive).
        req pin: Numeric = "pin",
    }
}

impl LoginWithPinRequest {
    /// A login request with the PIN as typed. It is sent as a JSON number,
    /// as in the vendor's example, unless that would lose a leading zero, in
    /// which case it is sent as a string. `None` if the PIN is not digits.
    ///
    /// ```
    /// use kaizala_types::auth::LoginWithPinRequest;
    ///
    /// let phone = "+919910870005".parse().unwrap();
    /// let request = LoginWithPinRequest::new(phone, "app", "0042").unwrap();
    /// assert_eq!(kaizala_types::to_string(&request.pin), r#""0042""#);
    /// let phone = "+919910870005".parse().unwrap();
    /// let request = LoginWithPinRequest::new(phone, "app", "8876").unwrap();
    /// assert_eq!(kaizala_types::to_string(&request.pin), "8876");
    /// ```
    pub fn new(
        mobile_number: PhoneNumber,
        application_id: impl Into<ApplicationId>,
        pin: &str,
    ) -> Option<Self> {
        if pin.is_empty() || !pin.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let pin = match pin.parse::<i64>() {
            Ok(number) if !pin.starts_with('0') || pin == "0" => Numeric::from(number),
            _ => Numeric::Text(pin.to_owned()),
        };
        Some(LoginWithPinRequest {
            mobile_number,
            application_id: application_id.into(),
            pin,
            extra: crate::Extra::new(),
        })
    }
}

wire_object! {
    /// The answer of `POST /loginWithPinAndApplicationId`.
    pub struct LoginWithPinResponse {
        /// The new refresh token (valid 365 days).
        req refresh_token: Secret = "refreshToken",
        /// Comma-separated scopes granted to the connector.
        opt granted_scope: ScopeSet = "grantedScope",
        /// When the refresh token expires (epoch milliseconds).
        opt refresh_token_expiry: Timestamp = "refreshTokenExpiry",
    }
}

wire_object! {
    /// The answer of `GET /accessToken` and of the OAuth `POST /oauth/token`.
    pub struct AccessTokenResponse {
        /// The access token (valid 24 hours), sent as the `accessToken` header.
        req access_token: Secret = "accessToken",
        /// Base URL for every further call (`{endpointUrl}/v1/...`); it may or
        /// may not end with `/`.
        req endpoint_url: String = "endpointUrl",
        /// When the access token expires (epoch milliseconds).
        req access_token_expiry: Timestamp = "accessTokenExpiry",
        /// A new refresh token, sent from day 328 of the current one's
        /// 365-day life; `null` or `""` before that. Persist it when present.
        opt refresh_token: Secret = "refreshToken",
        /// Comma-separated scopes the token carries.
        opt scope: ScopeSet = "scope",
    }
}

impl AccessTokenResponse {
    /// The rotated refresh token, if this response carries one (an empty
    /// string means none).
    pub fn new_refresh_token(&self) -> Option<&Secret> {
        self.refresh_token
            .as_ref()
            .filter(|token| !token.is_empty())
    }
}

wire_object! {
    /// Form fields of the OAuth code exchange, `POST https://ds.kaiza.la/api/oauth/token`
    /// (sent `application/x-www-form-urlencoded`).
    pub struct OAuthTokenRequest {
        /// The connector's id.
        req client_id: ApplicationId = "client_id",
        /// The connector's secret.
        req client_secret: Secret = "client_secret",
        /// The code the authorize page appended to the redirect URL.
        req code: Secret = "code",
    }
}

impl OAuthTokenRequest {
    /// An exchange of `code` for tokens.
    pub fn new(client_id: impl Into<ApplicationId>, client_secret: Secret, code: Secret) -> Self {
        OAuthTokenRequest {
            client_id: client_id.into(),
            client_secret,
            code,
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// Query of the OAuth authorize page,
    /// `GET https://ds.kaiza.la/api/Oauth/Authorize?client_id=…&redirect_uri=…`.
    pub struct OAuthAuthorizeQuery {
        /// The connector's id.
        req client_id: ApplicationId = "client_id",
        /// Where the page sends the browser back, with `?code=…`.
        req redirect_uri: String = "redirect_uri",
    }
}
