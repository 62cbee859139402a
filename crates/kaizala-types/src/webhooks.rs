//! Webhook subscriptions (`webHooks.md`, `WebHookValidaton.md`): create
//! (after the platform validated the callback URL), list, update, delete.
//! Deleting answers a [`ResultResponse`](crate::common::ResultResponse).

use serde_json::Value;

use crate::event::{EventType, ObjectType};
use crate::{Flag, ObjectId, Secret, Timestamp, WebhookId};

wire_object! {
    /// `POST /webhook`.
    pub struct CreateWebhookRequest {
        /// What to watch: a group id, an action id or an action package id.
        req object_id: ObjectId = "objectId",
        /// What kind of object `object_id` is.
        req object_type: ObjectType = "objectType",
        /// Which events to deliver.
        req event_types: Vec<EventType> = "eventTypes",
        /// HTTPS URL the events are POSTed to (validated first with
        /// `GET ?validationToken=…`).
        req callback_url: String = "callBackUrl",
        /// Sent back in the `kz-callback-token` header of every callback.
        opt callback_token: Secret = "callBackToken",
        /// Sent back as `context` in every callback.
        opt callback_context: String = "callBackContext",
        /// When the subscription ends (epoch; default two years).
        opt validity: Timestamp = "validity",
    }
}

impl CreateWebhookRequest {
    /// A subscription of `callback_url` to `event_types` on an object.
    pub fn new(
        object_type: ObjectType,
        object_id: impl Into<ObjectId>,
        event_types: impl IntoIterator<Item = EventType>,
        callback_url: impl Into<String>,
    ) -> Self {
        CreateWebhookRequest {
            object_id: object_id.into(),
            object_type,
            event_types: event_types.into_iter().collect(),
            callback_url: callback_url.into(),
            callback_token: None,
            callback_context: None,
            validity: None,
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// The answer of `POST /webhook`.
    pub struct CreateWebhookResponse {
        /// The new subscription's id.
        req webhook_id: WebhookId = "webhookId",
    }
}

wire_object! {
    /// The answer of `GET /webhook?objectId=…&objectType=…`.
    pub struct WebhookList {
        /// The subscriptions on the object.
        req webhooks: Vec<Webhook> = "webhooks",
    }
}

wire_object! {
    /// A webhook subscription as listed. The list spells the callback
    /// properties `callbackUrl`/`callbackToken` where requests say
    /// `callBackUrl`; both are accepted everywhere.
    pub struct Webhook {
        /// The subscription's id, which update and delete calls take.
        req id: WebhookId = "id",
        /// The watched object.
        opt object_id: ObjectId = "objectId",
        /// The watched object's kind.
        opt object_type: ObjectType = "objectType",
        /// Delivered events.
        opt events: Vec<EventType> = "events",
        /// Event filters (undocumented; kept verbatim).
        opt filters: Vec<Value> = "filters",
        /// Where events go.
        opt callback_url: String = "callbackUrl",
        /// The `kz-callback-token` header value.
        opt callback_token: Secret = "callbackToken",
        /// The `context` value.
        opt callback_context: String = "callbackContext",
        /// When it was created (epoch milliseconds).
        opt ts: Timestamp = "ts",
        /// When it ends (epoch milliseconds).
        opt validity: Timestamp = "validity",
        /// False once auto-disabled after two days of failed deliveries.
        opt active: Flag = "active",
    }
}

wire_object! {
    /// `PUT /webhook/{webhookId}`: changes any subset of the subscription.
    /// `{"Active": "true"}` re-enables an auto-disabled webhook.
    #[derive(Default)]
    pub struct UpdateWebhookRequest {
        /// New object id.
        opt object_id: ObjectId = "objectId",
        /// New object kind.
        opt object_type: ObjectType = "objectType",
        /// New event list.
        opt event_types: Vec<EventType> = "eventTypes",
        /// New callback URL.
        opt callback_url: String = "callBackUrl",
        /// New callback token.
        opt callback_token: Secret = "callBackToken",
        /// New context.
        opt callback_context: String = "callBackContext",
        /// New end of validity.
        opt validity: Timestamp = "validity",
        /// `true` re-activates the webhook. The vendor's examples send
        /// `"Active": "true"`; any letter case and the string form are
        /// accepted, and the form is kept.
        opt active: Flag = "active",
    }
}

impl UpdateWebhookRequest {
    /// The request that re-enables an auto-disabled webhook.
    pub fn reactivate() -> Self {
        UpdateWebhookRequest {
            active: Some(Flag::TRUE),
            ..Default::default()
        }
    }
}
