//! Webhook subscriptions (`webHooks.md`). Creating one first validates the
//! callback URL (`WebHookValidaton.md`); deliveries are the delivery
//! engine's (`crate::delivery`).

use kaizala_types::common::ResultResponse;
use kaizala_types::event::{EventType, ObjectType};
use kaizala_types::webhooks::{
    CreateWebhookRequest, CreateWebhookResponse, UpdateWebhookRequest, Webhook as WireWebhook,
    WebhookList,
};
use kaizala_types::{Flag, Timestamp};

use super::Ctx;
use crate::http::{ApiError, Reply, guard};
use crate::model::{AccessGrant, State, Webhook};
use crate::shared::Shared;

/// Default validity: two years.
const DEFAULT_VALIDITY_MS: i64 = 2 * 365 * super::auth::DAY_MS;

/// `POST /webhook`: checks the request, validates the callback URL (outside
/// the state lock: it takes a network round trip), then subscribes.
pub async fn create(shared: &Shared, grant: &AccessGrant, body: &[u8]) -> Result<Reply, ApiError> {
    let request: CreateWebhookRequest = kaizala_types::from_slice(body)?;
    shared.store.read(|state| {
        check_object(
            state,
            grant,
            request.object_type.as_str(),
            request.object_id.as_str(),
        )
    })?;
    check_events(&request.event_types, "eventTypes")?;
    check_url(&request.callback_url, "callBackUrl")?;
    let token = shared.ids.token("kz-validate");
    shared
        .deliveries
        .validate(
            &request.callback_url,
            &token,
            shared.config.validation_timeout,
        )
        .await
        .map_err(|failed| {
            ApiError::bad_field(
                "callBackUrl",
                format!("callback URL validation failed: {}", failed.0),
            )
        })?;
    let now = shared.now_ms();
    let webhook = Webhook {
        id: shared.ids.guid(),
        tenant: grant.tenant.clone(),
        app_id: grant.app_id.clone(),
        object_id: request.object_id.to_string(),
        object_type: ObjectType::from_wire(request.object_type.as_str()).to_string(),
        events: request
            .event_types
            .iter()
            .map(ToString::to_string)
            .collect(),
        callback_url: request.callback_url.clone(),
        callback_token: request.callback_token.clone(),
        callback_context: request.callback_context.clone(),
        validity_ms: request
            .validity
            .as_ref()
            .map_or(now + DEFAULT_VALIDITY_MS, Timestamp::unix_millis),
        active: true,
        created_ms: now,
    };
    let id = webhook.id.clone();
    shared
        .store
        .write(|state| state.webhooks.insert(id.clone(), webhook));
    Ok(Reply::ok(&CreateWebhookResponse {
        webhook_id: id.into(),
        extra: Default::default(),
    }))
}

/// The watched object must exist and be reachable with the token.
fn check_object(
    state: &State,
    grant: &AccessGrant,
    object_type: &str,
    object_id: &str,
) -> Result<(), ApiError> {
    match ObjectType::from_wire(object_type) {
        // The object is named in the body or the query, not the path: an
        // unknown one is a bad request, not a missing resource.
        ObjectType::Group
            if state
                .groups
                .get(object_id)
                .is_none_or(|g| g.tenant != grant.tenant) =>
        {
            Err(ApiError::bad_field(
                "objectId",
                format!("no group {object_id}"),
            ))
        }
        ObjectType::Group => guard::group(state, grant, object_id).map(drop),
        ObjectType::Action => {
            let action = state
                .actions
                .get(object_id)
                .ok_or_else(|| ApiError::bad_field("objectId", format!("no action {object_id}")))?;
            guard::group(state, grant, &action.group_id).map(drop)
        }
        // Packages live in the Kaizala management portal, not in the emulator.
        ObjectType::ActionPackage => Ok(()),
        other => Err(ApiError::bad_field(
            "objectType",
            format!("{other} is not Group, Action or ActionPackage"),
        )),
    }
}

fn check_events(events: &[EventType], field: &str) -> Result<(), ApiError> {
    if events.is_empty() {
        return Err(ApiError::bad_field(
            field,
            "subscribe to at least one event type",
        ));
    }
    match events.iter().position(|e| !e.is_known()) {
        Some(i) => Err(ApiError::bad_field(
            format!("{field}[{i}]"),
            format!("{} is not an event type", events[i]),
        )),
        None => Ok(()),
    }
}

fn check_url(url: &str, field: &str) -> Result<(), ApiError> {
    let uri: http::Uri = url
        .parse()
        .map_err(|_| ApiError::bad_field(field, format!("{url:?} is not a URL")))?;
    match uri.scheme_str() {
        Some("https" | "http") if uri.authority().is_some() => Ok(()),
        _ => Err(ApiError::bad_field(
            field,
            "the callback URL must be an absolute http(s) URL",
        )),
    }
}

fn wire(webhook: &Webhook) -> WireWebhook {
    WireWebhook {
        id: webhook.id.as_str().into(),
        object_id: Some(webhook.object_id.as_str().into()),
        object_type: Some(ObjectType::from_wire(&webhook.object_type)),
        events: Some(
            webhook
                .events
                .iter()
                .map(|e| EventType::from_wire(e))
                .collect(),
        ),
        filters: Some(Vec::new()),
        callback_url: Some(webhook.callback_url.clone()),
        callback_token: webhook.callback_token.clone(),
        callback_context: webhook.callback_context.clone(),
        ts: Some(Timestamp::from_unix_millis(webhook.created_ms)),
        validity: Some(Timestamp::from_unix_millis(webhook.validity_ms)),
        active: Some(Flag::from(webhook.active)),
        extra: Default::default(),
    }
}

/// `GET /webhook?objectId=…&objectType=…`.
pub fn list(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let object_id = ctx.call.required_query("objectId")?;
    let object_type = ObjectType::from_wire(ctx.call.required_query("objectType")?);
    if !object_type.is_known() {
        return Err(ApiError::bad_field(
            "objectType",
            "objectType is Group, Action or ActionPackage",
        ));
    }
    check_object(state, ctx.grant, object_type.as_str(), object_id)?;
    let webhooks = state
        .webhooks
        .values()
        .filter(|w| {
            w.tenant == ctx.grant.tenant
                && w.object_id == object_id
                && w.object_type == object_type.as_str()
        })
        .map(wire)
        .collect();
    Ok(Reply::ok(&WebhookList {
        webhooks,
        extra: Default::default(),
    }))
}

fn own<'s>(
    state: &'s mut State,
    grant: &AccessGrant,
    id: &str,
) -> Result<&'s mut Webhook, ApiError> {
    state
        .webhooks
        .get_mut(id)
        .filter(|w| w.tenant == grant.tenant)
        .ok_or_else(|| ApiError::not_found(format!("no webhook {id}")))
}

/// `PUT /webhook/{webhookId}`: any subset of the fields; `Active: true`
/// re-enables a webhook disabled after failed deliveries.
pub fn update(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let request: UpdateWebhookRequest = ctx.call.json()?;
    if let Some(events) = &request.event_types {
        check_events(events, "eventTypes")?;
    }
    if let Some(url) = &request.callback_url {
        check_url(url, "callBackUrl")?;
    }
    if let (Some(kind), Some(id)) = (&request.object_type, &request.object_id) {
        check_object(state, ctx.grant, kind.as_str(), id.as_str())?;
    }
    let webhook = own(state, ctx.grant, ctx.call.param(0))?;
    if let Some(id) = request.object_id {
        webhook.object_id = id.into_string();
    }
    if let Some(kind) = request.object_type {
        webhook.object_type = kind.to_string();
    }
    if let Some(events) = request.event_types {
        webhook.events = events.iter().map(ToString::to_string).collect();
    }
    if let Some(url) = request.callback_url {
        webhook.callback_url = url;
    }
    if let Some(token) = request.callback_token {
        webhook.callback_token = Some(token);
    }
    if let Some(context) = request.callback_context {
        webhook.callback_context = Some(context);
    }
    if let Some(validity) = request.validity {
        webhook.validity_ms = validity.unix_millis();
    }
    if let Some(active) = request.active {
        webhook.active = active.get();
    }
    Ok(Reply::ok(&ResultResponse {
        result: Some(Flag::TRUE),
        extra: Default::default(),
    }))
}

/// `DELETE /webhook/{webhookId}`.
pub fn delete(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let id = ctx.call.param(0).to_owned();
    own(state, ctx.grant, &id)?;
    state.webhooks.remove(&id);
    state.deliveries.retain(|d| d.webhook_id != id);
    Ok(Reply::ok(&ResultResponse {
        result: Some(Flag::TRUE),
        extra: Default::default(),
    }))
}
