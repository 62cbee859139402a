//! Webhook subscriptions and their deliveries.

use kaizala_types::Secret;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    /// The subscription's id, the `{webhookId}` of webhook calls.
    pub id: String,
    /// Tenant of the connector that created it.
    pub tenant: String,
    /// Connector that created it.
    pub app_id: String,
    /// Watched object: a group id, an action id or an action package id.
    pub object_id: String,
    /// `Group`, `Action` or `ActionPackage`.
    pub object_type: String,
    /// Subscribed event types (wire names).
    pub events: Vec<String>,
    /// Where events go.
    pub callback_url: String,
    /// Sent as `kz-callback-token`.
    #[serde(default)]
    pub callback_token: Option<Secret>,
    /// Sent as `context`.
    #[serde(default)]
    pub callback_context: Option<String>,
    /// Ends, epoch ms.
    pub validity_ms: i64,
    /// False once disabled after its retries ran out.
    pub active: bool,
    /// Created, epoch ms.
    pub created_ms: i64,
}

/// An event on its way to a webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Id of this delivery.
    pub id: String,
    /// The webhook it goes to.
    pub webhook_id: String,
    /// The event's id (shared by duplicates).
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// The callback body.
    pub payload: Value,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due, epoch ms (virtual clock).
    pub due_ms: i64,
    /// An injected duplicate.
    #[serde(default)]
    pub duplicate: bool,
    /// Being attempted right now (not saved: after a restart it is due again).
    #[serde(skip)]
    pub in_flight: bool,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum DeliveryOutcome {
    /// A 2xx answer.
    Delivered {
        /// The 2xx status received.
        status: u16,
    },
    /// Anything else: a non-2xx (redirects included), a timeout, a refused
    /// or broken connection.
    Failed {
        /// The status, when there was an answer.
        #[serde(default)]
        status: Option<u16>,
        /// What went wrong.
        reason: String,
    },
}

/// One attempt, for the admin delivery log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    /// The webhook attempted.
    pub webhook_id: String,
    /// The event's id (shared by duplicates).
    pub event_id: String,
    /// The event's type (wire name).
    pub event_type: String,
    /// 1 for the first attempt, 2 for the first retry, ….
    pub attempt: u32,
    /// When, epoch ms (virtual clock).
    pub at_ms: i64,
    /// An injected duplicate.
    pub duplicate: bool,
    /// The result.
    pub outcome: DeliveryOutcome,
}
