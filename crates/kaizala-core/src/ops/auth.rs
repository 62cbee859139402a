//! Authentication: PIN login, the access token, OAuth 2.0.

use kaizala_types::ApplicationId;
use kaizala_types::auth::{
    AccessTokenResponse, GeneratePinRequest, GeneratePinResponse, LoginWithPinRequest,
    LoginWithPinResponse, OAuthTokenRequest,
};

use crate::Error;
use crate::endpoint::{Body, Endpoint, Operation};
use crate::session::Hosts;

endpoint! {
    /// `POST /generatePin`: texts a PIN to a registered phone number.
    GeneratePin => GeneratePin -> GeneratePinResponse {
        /// The phone number to text the PIN to, and the connector's id.
        json request: GeneratePinRequest,
    }
}

endpoint! {
    /// `POST /loginWithPinAndApplicationId`: trades the PIN for a refresh token.
    LoginWithPin => LoginWithPinAndApplicationId -> LoginWithPinResponse {
        /// The phone number, the connector's id and the PIN it received.
        json request: LoginWithPinRequest,
    }
}

endpoint! {
    /// `GET /accessToken`: a new access token from the connector's
    /// credentials (sent as headers from the request context).
    GetAccessToken => GetAccessToken -> AccessTokenResponse {}
}

/// `POST https://ds.kaiza.la/api/oauth/token`: trades an OAuth code for
/// tokens (form-encoded body).
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthToken {
    /// The connector's id and secret and the authorization code, sent form-encoded.
    pub request: OAuthTokenRequest,
}

impl Endpoint for OAuthToken {
    type Response = AccessTokenResponse;
    const OPERATION: Operation = Operation::OauthToken;

    fn body(&self) -> Result<Body, Error> {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", self.request.client_id.as_str())
            .append_pair("client_secret", self.request.client_secret.expose())
            .append_pair("code", self.request.code.expose())
            .finish();
        Ok(Body::Form(form.into_bytes()))
    }
}

/// The OAuth authorize page to open in a browser: after sign-in it redirects
/// to `redirect_uri?code=…`, and the code goes into [`OAuthToken`].
///
/// ```
/// use kaizala_core::ops::auth::authorize_url;
/// use kaizala_core::session::Hosts;
///
/// assert_eq!(
///     authorize_url(&Hosts::default(), &"2AB9B8".into(), "https://example.com/cb?x=1"),
///     "https://ds.kaiza.la/api/Oauth/Authorize?client_id=2AB9B8&redirect_uri=https%3A%2F%2Fexample.com%2Fcb%3Fx%3D1"
/// );
/// ```
pub fn authorize_url(hosts: &Hosts, client_id: &ApplicationId, redirect_uri: &str) -> String {
    let meta = Operation::OauthAuthorize.meta();
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client_id.as_str())
        .append_pair("redirect_uri", redirect_uri)
        .finish();
    format!("{}{}?{query}", hosts.oauth.trim_end_matches('/'), meta.path)
}
