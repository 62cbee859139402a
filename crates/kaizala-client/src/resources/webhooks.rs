//! Webhook subscriptions.

use kaizala_core::Error;
use kaizala_core::ops::webhooks::{CreateWebhook, DeleteWebhook, ListWebhooks, UpdateWebhook};
use kaizala_types::common::ResultResponse;
use kaizala_types::event::ObjectType;
use kaizala_types::webhooks::{
    CreateWebhookRequest, CreateWebhookResponse, UpdateWebhookRequest, Webhook,
};
use kaizala_types::{ObjectId, WebhookId};

use crate::Client;

/// `client.webhooks()`.
#[derive(Debug, Clone)]
pub struct Webhooks {
    pub(crate) client: Client,
}

impl Webhooks {
    /// Subscribes a callback URL. The platform first checks the URL answers
    /// `GET ?validationToken=…` within 5 s, so the receiver must be listening.
    pub async fn create(
        &self,
        request: CreateWebhookRequest,
    ) -> Result<CreateWebhookResponse, Error> {
        self.client.execute(&CreateWebhook { request }).await
    }

    /// The subscriptions on an object.
    pub async fn list(
        &self,
        object_type: ObjectType,
        object_id: impl Into<ObjectId>,
    ) -> Result<Vec<Webhook>, Error> {
        let call = ListWebhooks {
            object_id: object_id.into(),
            object_type,
        };
        Ok(self.client.execute(&call).await?.webhooks)
    }

    /// Changes a subscription.
    pub async fn update(
        &self,
        webhook: impl Into<WebhookId>,
        request: UpdateWebhookRequest,
    ) -> Result<ResultResponse, Error> {
        self.client
            .execute(&UpdateWebhook {
                webhook_id: webhook.into(),
                request,
            })
            .await
    }

    /// Re-enables a subscription the platform disabled after two days of
    /// failed deliveries.
    pub async fn reactivate(&self, webhook: impl Into<WebhookId>) -> Result<ResultResponse, Error> {
        self.update(webhook, UpdateWebhookRequest::reactivate())
            .await
    }

    /// Deletes a subscription.
    pub async fn delete(&self, webhook: impl Into<WebhookId>) -> Result<ResultResponse, Error> {
        self.client
            .execute(&DeleteWebhook {
                webhook_id: webhook.into(),
            })
            .await
    }
}
