//! Getting a refresh token (PIN login, OAuth) and managing the session.

use kaizala_core::Error;
use kaizala_core::ops::auth::{GeneratePin, LoginWithPin, OAuthToken, authorize_url};
use kaizala_core::session::{Session, token_update};
use kaizala_types::PhoneNumber;
use kaizala_types::Secret;
use kaizala_types::auth::{
    GeneratePinRequest, LoginWithPinRequest, LoginWithPinResponse, OAuthTokenRequest,
};

use crate::Client;

/// `client.auth()`.
#[derive(Debug, Clone)]
pub struct AuthApi {
    pub(crate) client: Client,
}

impl AuthApi {
    /// Texts a PIN to `phone` (a number registered with Kaizala).
    pub async fn generate_pin(&self, phone: PhoneNumber) -> Result<(), Error> {
        let (application_id, _) = self.client.application()?;
        self.client
            .execute(&GeneratePin {
                request: GeneratePinRequest::new(phone, application_id),
            })
            .await
            .map(drop)
    }

    /// Trades the PIN (as received, leading zeros included) for a refresh
    /// token, which the client adopts (and stores) for its calls from now on.
    pub async fn login_with_pin(
        &self,
        phone: PhoneNumber,
        pin: &str,
    ) -> Result<LoginWithPinResponse, Error> {
        let (application_id, _) = self.client.application()?;
        let request = LoginWithPinRequest::new(phone, application_id, pin)
            .ok_or_else(|| Error::invalid_input("a PIN is made of digits only"))?;
        let response = self.client.execute(&LoginWithPin { request }).await?;
        self.client
            .adopt_refresh_token(response.refresh_token.clone())
            .await?;
        Ok(response)
    }

    /// The OAuth page to send a user to; it redirects to `redirect_uri?code=…`.
    pub fn authorize_url(&self, redirect_uri: &str) -> Result<String, Error> {
        let (application_id, _) = self.client.application()?;
        Ok(authorize_url(
            &self.client.inner_hosts(),
            &application_id,
            redirect_uri,
        ))
    }

    /// Trades an OAuth code for a session (and a refresh token, when the
    /// answer carries one), which the client adopts.
    pub async fn exchange_code(&self, code: impl Into<Secret>) -> Result<Session, Error> {
        let (client_id, client_secret) = self.client.application()?;
        let response = self
            .client
            .execute(&OAuthToken {
                request: OAuthTokenRequest::new(client_id, client_secret, code.into()),
            })
            .await?;
        let update = token_update(&response)?;
        if let Some(refresh_token) = update.rotated_refresh_token.clone() {
            self.client.adopt_refresh_token(refresh_token).await?;
        }
        let session = self
            .client
            .install(update.session, update.rotated_refresh_token)
            .await?;
        Ok((*session).clone())
    }

    /// Gets a new access token now, whatever the current one's expiry.
    pub async fn refresh(&self) -> Result<Session, Error> {
        let stale = self.client.session().map(|s| s.access_token);
        match stale {
            Some(stale) => self.client.refresh(Some(&stale)).await,
            None => self.client.refresh(None).await,
        }
        .map(|session| (*session).clone())
    }
}
