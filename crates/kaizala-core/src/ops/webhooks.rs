//! Webhook subscriptions.

use kaizala_types::common::ResultResponse;
use kaizala_types::event::ObjectType;
use kaizala_types::webhooks::{
    CreateWebhookRequest, CreateWebhookResponse, UpdateWebhookRequest, WebhookList,
};
use kaizala_types::{ObjectId, WebhookId};

endpoint! {
    /// `POST /webhook`: subscribes a callback URL (validated first by the
    /// platform with `GET ?validationToken=…`).
    CreateWebhook => CreateWebhook -> CreateWebhookResponse {
        /// The object to watch, the event types and where to deliver them.
        json request: CreateWebhookRequest,
    }
}

endpoint! {
    /// `GET /webhook?objectId=…&objectType=…`.
    ListWebhooks => ListWebhooks -> WebhookList {
        /// The watched object.
        query object_id: ObjectId = "objectId",
        /// Whether `object_id` is a group, an action or an action package.
        query object_type: ObjectType = "objectType",
    }
}

endpoint! {
    /// `PUT /webhook/{webhookId}`: changes (or re-activates) a subscription.
    UpdateWebhook => UpdateWebhook -> ResultResponse {
        /// The subscription to change.
        path webhook_id: WebhookId,
        /// The fields to change; those left `None` stay as they are.
        json request: UpdateWebhookRequest,
    }
}

endpoint! {
    /// `DELETE /webhook/{webhookId}`.
    DeleteWebhook => DeleteWebhook -> ResultResponse {
        /// The subscription to delete.
        path webhook_id: WebhookId,
    }
}
