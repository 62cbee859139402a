//! The token calls: PIN login, access tokens, OAuth 2.0 (`Tokens.md`).
//!
//! Access tokens live 24 hours and refresh tokens 365 days; a refresh token
//! used from day 328 of its life answers with a new one (the same new one on
//! every call until it is used), which the old one does not replace until
//! it expires.

use http::StatusCode;
use http::header::{HeaderValue, LOCATION};
use kaizala_core::endpoint::Operation;
use kaizala_types::auth::{
    AccessTokenResponse, GeneratePinRequest, GeneratePinResponse, LoginWithPinRequest,
    LoginWithPinResponse,
};
use kaizala_types::scope::ScopeSet;
use kaizala_types::{Secret, Timestamp};

use crate::http::{ApiError, Call, Reply, guard};
use crate::model::{AccessGrant, Connector, OAuthCode, Pin, Principal, RefreshGrant, State};
use crate::shared::Shared;

/// A day, in milliseconds.
pub const DAY_MS: i64 = 86_400_000;
/// Access tokens live a day.
pub const ACCESS_TOKEN_LIFE_MS: i64 = DAY_MS;
/// Refresh tokens live a year.
pub const REFRESH_TOKEN_LIFE_MS: i64 = 365 * DAY_MS;
/// From this age a refresh token is rotated.
pub const ROTATION_AGE_MS: i64 = 328 * DAY_MS;
/// PINs and OAuth codes live ten minutes.
pub const CODE_LIFE_MS: i64 = 10 * 60_000;

/// Runs a token call.
pub fn handle(shared: &Shared, state: &mut State, call: &Call) -> Result<Reply, ApiError> {
    match call.op {
        Operation::GeneratePin => generate_pin(shared, state, call),
        Operation::LoginWithPinAndApplicationId => login_with_pin(shared, state, call),
        Operation::GetAccessToken => access_token(shared, state, call),
        Operation::OauthAuthorize => authorize(shared, state, call),
        Operation::OauthToken => oauth_token(shared, state, call),
        other => Err(ApiError::not_found(format!(
            "{} is served on the tenant's endpoint",
            other.id()
        ))),
    }
}

fn connector<'s>(state: &'s State, app_id: &str) -> Result<&'s Connector, ApiError> {
    state
        .connectors
        .get(app_id)
        .ok_or_else(|| ApiError::unauthorized(format!("no connector {app_id}")))
}

/// A connector named in a request body: unknown is a bad request (these
/// calls carry no credential to refuse).
fn named_connector<'s>(state: &'s State, app_id: &str) -> Result<&'s Connector, ApiError> {
    state
        .connectors
        .get(app_id)
        .ok_or_else(|| ApiError::bad_field("applicationId", format!("no connector {app_id:?}")))
}

fn generate_pin(shared: &Shared, state: &mut State, call: &Call) -> Result<Reply, ApiError> {
    let request: GeneratePinRequest = call.json()?;
    named_connector(state, request.application_id.as_str())?;
    let phone = request.mobile_number.as_str();
    if state.user_by_phone(phone).is_none() {
        return Err(ApiError::bad_field(
            "mobileNumber",
            format!("{phone} is not a registered Kaizala number"),
        ));
    }
    let pin = shared.ids.pin();
    // No SMS: the PIN goes to the log and the admin API.
    tracing::info!(phone, connector = request.application_id.as_str(), pin = %pin, "PIN generated");
    state.pins.insert(
        phone.to_owned(),
        Pin {
            phone: phone.to_owned(),
            app_id: request.application_id.to_string(),
            pin,
            issued_ms: shared.now_ms(),
        },
    );
    Ok(Reply::ok(&GeneratePinResponse::default()))
}

fn login_with_pin(shared: &Shared, state: &mut State, call: &Call) -> Result<Reply, ApiError> {
    let request: LoginWithPinRequest = call.json()?;
    let app_id = request.application_id.to_string();
    let scopes = named_connector(state, &app_id)?.scopes.clone();
    let phone = request.mobile_number.as_str();
    let given = request.pin.to_string();
    let now = shared.now_ms();
    let valid = state.pins.get(phone).is_some_and(|pin| {
        pin.app_id == app_id
            && now - pin.issued_ms <= CODE_LIFE_MS
            && pin.pin.trim_start_matches('0') == given.trim_start_matches('0')
    });
    if !valid {
        return Err(ApiError::unauthorized("the PIN is wrong or has expired"));
    }
    state.pins.remove(phone);
    let user = state
        .user_by_phone(phone)
        .map(|u| u.id.clone())
        .ok_or_else(|| ApiError::bad_field("mobileNumber", "unknown number"))?;
    let grant = issue_refresh_token(shared, state, &app_id, Principal::User(user));
    let response = LoginWithPinResponse {
        refresh_token: grant.token,
        granted_scope: Some(ScopeSet::new(scopes.join(","))),
        refresh_token_expiry: Some(Timestamp::from_unix_millis(grant.expires_ms)),
        extra: Default::default(),
    };
    Ok(Reply::ok(&response))
}

/// Grants a new refresh token.
pub fn issue_refresh_token(
    shared: &Shared,
    state: &mut State,
    app_id: &str,
    principal: Principal,
) -> RefreshGrant {
    let now = shared.now_ms();
    let grant = RefreshGrant {
        token: Secret::new(shared.ids.token("kz-rt")),
        app_id: app_id.to_owned(),
        principal,
        issued_ms: now,
        expires_ms: now + REFRESH_TOKEN_LIFE_MS,
        rotated_to: None,
    };
    state
        .refresh_tokens
        .insert(grant.token.clone(), grant.clone());
    grant
}

fn access_token(shared: &Shared, state: &mut State, call: &Call) -> Result<Reply, ApiError> {
    let app_id = call
        .header("applicationId")
        .ok_or_else(|| ApiError::unauthorized("the applicationId header is missing"))?;
    let secret = call
        .header("applicationSecret")
        .ok_or_else(|| ApiError::unauthorized("the applicationSecret header is missing"))?;
    let token = call
        .header("refreshToken")
        .ok_or_else(|| ApiError::unauthorized("the refreshToken header is missing"))?;
    let connector = connector(state, app_id)?.clone();
    if connector.secret.expose() != secret {
        return Err(ApiError::unauthorized("the application secret is wrong"));
    }
    guard::allow_ip(state, app_id, call.peer)?;
    let now = shared.now_ms();
    let grant = state
        .refresh_tokens
        .get(token)
        .filter(|g| g.app_id == app_id)
        .cloned()
        .ok_or_else(|| {
            ApiError::unauthorized("the refresh token is not valid for this connector")
        })?;
    if grant.expires_ms <= now {
        return Err(ApiError::unauthorized("the refresh token has expired"));
    }
    let rotated = if now - grant.issued_ms >= ROTATION_AGE_MS {
        let next = match grant
            .rotated_to
            .as_ref()
            .and_then(|t| state.refresh_tokens.get(t))
        {
            Some(next) => next.clone(),
            None => {
                let next = issue_refresh_token(shared, state, app_id, grant.principal.clone());
                if let Some(old) = state.refresh_tokens.get_mut(token) {
                    old.rotated_to = Some(next.token.clone());
                }
                next
            }
        };
        Some(next.token)
    } else {
        None
    };
    let response = issue_access_token(shared, state, &connector, grant.principal, rotated)?;
    Ok(Reply::ok(&response))
}

/// Issues an access token (and its answer) for `principal`.
fn issue_access_token(
    shared: &Shared,
    state: &mut State,
    connector: &Connector,
    principal: Principal,
    refresh_token: Option<Secret>,
) -> Result<AccessTokenResponse, ApiError> {
    let tenant = state
        .tenants
        .get(&connector.tenant)
        .ok_or_else(|| ApiError::unauthorized("the connector's tenant no longer exists"))?;
    let now = shared.now_ms();
    let grant = AccessGrant {
        token: Secret::new(shared.ids.token("kz-at")),
        app_id: connector.app_id.clone(),
        tenant: connector.tenant.clone(),
        principal,
        scopes: connector.scopes.clone(),
        expires_ms: now + ACCESS_TOKEN_LIFE_MS,
    };
    let endpoint = format!("{}/", shared.endpoint_url(&tenant.slug));
    // Expired tokens are of no use to anyone: forget them as new ones come.
    state.access_tokens.retain(|_, g| g.expires_ms > now);
    state
        .access_tokens
        .insert(grant.token.clone(), grant.clone());
    Ok(AccessTokenResponse {
        access_token: grant.token,
        endpoint_url: endpoint,
        access_token_expiry: Timestamp::from_unix_millis(grant.expires_ms),
        refresh_token: Some(refresh_token.unwrap_or_else(|| Secret::new(""))),
        scope: Some(ScopeSet::new(connector.scopes.join(","))),
        extra: Default::default(),
    })
}

/// The OAuth sign-in page. There is no real sign-in: `phone=` (a registered
/// number) signs in at once and redirects; without it, a form asks for one.
fn authorize(shared: &Shared, state: &mut State, call: &Call) -> Result<Reply, ApiError> {
    let app_id = call.required_query("client_id")?;
    let redirect = call.required_query("redirect_uri")?;
    let connector = state
        .connectors
        .get(app_id)
        .ok_or_else(|| ApiError::bad_field("client_id", format!("no connector {app_id}")))?;
    if !connector.redirect_uris.is_empty() && !connector.redirect_uris.iter().any(|r| r == redirect)
    {
        return Err(ApiError::bad_field(
            "redirect_uri",
            "the redirect URL is not registered for this connector",
        ));
    }
    let Some(phone) = call.query("phone").map(|p| {
        // `+` in a query reads as a space; a number typed as `phone=+91…`
        // must still work.
        let digits = p.trim();
        if digits.starts_with('+') {
            digits.to_owned()
        } else {
            format!("+{digits}")
        }
    }) else {
        let page = format!(
            "<!doctype html><title>Kaizala sign-in (emulator)</title><form method=get>\
             <input type=hidden name=client_id value=\"{}\"><input type=hidden name=redirect_uri value=\"{}\">\
             <label>Registered phone number <input name=phone placeholder=+919910870005></label>\
             <button>Sign in</button></form>",
            html_escape(app_id),
            html_escape(redirect)
        );
        let mut reply = Reply::text(StatusCode::OK, page);
        reply.content_type = "text/html; charset=utf-8";
        return Ok(reply);
    };
    let user = state
        .user_by_phone(&phone)
        .map(|u| u.id.clone())
        .ok_or_else(|| {
            ApiError::bad_field(
                "phone",
                format!("{phone} is not a registered Kaizala number"),
            )
        })?;
    let code = shared.ids.token("kz-code");
    state.oauth_codes.insert(
        code.clone(),
        OAuthCode {
            code: code.clone(),
            app_id: app_id.to_owned(),
            user_id: user,
            issued_ms: shared.now_ms(),
        },
    );
    let separator = if redirect.contains('?') { '&' } else { '?' };
    let location = format!("{redirect}{separator}code={code}");
    let value = HeaderValue::from_str(&location)
        .map_err(|_| ApiError::bad_field("redirect_uri", "not a valid URL"))?;
    Ok(Reply::text(StatusCode::FOUND, "").header(LOCATION, value))
}

fn oauth_token(shared: &Shared, state: &mut State, call: &Call) -> Result<Reply, ApiError> {
    let fields = form(&call.body);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| ApiError::bad_field(name, format!("the form field {name} is required")))
    };
    let (app_id, secret, code) = (field("client_id")?, field("client_secret")?, field("code")?);
    let connector = connector(state, &app_id)?.clone();
    if connector.secret.expose() != secret {
        return Err(ApiError::unauthorized("the client secret is wrong"));
    }
    let now = shared.now_ms();
    let grant = state
        .oauth_codes
        .remove(&code)
        .filter(|c| c.app_id == app_id && now - c.issued_ms <= CODE_LIFE_MS)
        .ok_or_else(|| {
            ApiError::unauthorized("the code is not valid (unknown, used or expired)")
        })?;
    // The code flow answers with a refresh token too: without one an OAuth
    // client could not renew its access token (the documents do not say).
    let refresh = issue_refresh_token(
        shared,
        state,
        &app_id,
        Principal::User(grant.user_id.clone()),
    );
    let response = issue_access_token(
        shared,
        state,
        &connector,
        Principal::User(grant.user_id),
        Some(refresh.token),
    )?;
    Ok(Reply::ok(&response))
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
