//! The platform's state: everything the emulator knows, serialisable so
//! `--state FILE` can keep it (pending webhook retries included) across
//! restarts.

mod activity;
mod directory;
mod identity;
mod webhook;

pub use activity::{Action, ActionResponse, MediaFile, Message, Reaction};
pub use directory::{Group, Role, User};
pub use identity::{AccessGrant, Connector, OAuthCode, Pin, Principal, RefreshGrant, Tenant};
pub use webhook::{Delivery, DeliveryAttempt, DeliveryOutcome, Webhook};

use std::collections::{BTreeMap, VecDeque};

use kaizala_types::Secret;
use serde::{Deserialize, Serialize};

/// How many delivery attempts are remembered per webhook.
pub const DELIVERY_LOG_LIMIT: usize = 1000;

/// The whole platform.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Organisations, by id.
    pub tenants: BTreeMap<String, Tenant>,
    /// Kaizala users, by id.
    pub users: BTreeMap<String, User>,
    /// Registered connectors, by application id.
    pub connectors: BTreeMap<String, Connector>,
    /// Refresh tokens, by token.
    pub refresh_tokens: BTreeMap<Secret, RefreshGrant>,
    /// Access tokens, by token.
    pub access_tokens: BTreeMap<Secret, AccessGrant>,
    /// PINs sent (logged, not texted), by phone number.
    pub pins: BTreeMap<String, Pin>,
    /// OAuth authorization codes, by code.
    pub oauth_codes: BTreeMap<String, OAuthCode>,
    /// Conversation groups, by id.
    pub groups: BTreeMap<String, Group>,
    /// Text messages, oldest first.
    pub messages: Vec<Message>,
    /// Actions (surveys, jobs, polls, …, media posts), by action id.
    pub actions: BTreeMap<String, Action>,
    /// Uploaded media, by media resource.
    pub media: BTreeMap<String, MediaFile>,
    /// Reactions, by reaction id.
    pub reactions: BTreeMap<String, Reaction>,
    /// Webhook subscriptions, by id.
    pub webhooks: BTreeMap<String, Webhook>,
    /// Webhook deliveries waiting for their (next) attempt.
    pub deliveries: Vec<Delivery>,
    /// Recent delivery attempts, per webhook id.
    pub delivery_log: BTreeMap<String, VecDeque<DeliveryAttempt>>,
    /// The seeded connector's credentials (their `baseUrl` is refreshed
    /// when a saved state is loaded by an emulator on another address).
    pub seeded: Option<crate::seed::SeededCredentials>,
}

impl State {
    /// Whether `group` is `root` or one of its sub-groups, at any depth (a
    /// token or webhook on a parent group reaches its sub-groups). Walks up
    /// from `group` through its parents; a cycle ends the walk.
    pub fn is_within(&self, group: &str, root: &str) -> bool {
        let mut pending = vec![group];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(id) = pending.pop() {
            if id == root {
                return true;
            }
            if seen.insert(id)
                && let Some(g) = self.groups.get(id)
            {
                pending.extend(g.parents.iter().map(String::as_str));
            }
        }
        false
    }

    /// The user with this phone number.
    pub fn user_by_phone(&self, phone: &str) -> Option<&User> {
        self.users.values().find(|u| u.phone == phone)
    }

    /// The tenant whose endpoint is, or was, at `slug`.
    pub fn tenant_by_slug(&self, slug: &str) -> Option<&Tenant> {
        self.tenants
            .values()
            .find(|t| t.slug == slug || t.old_slugs.iter().any(|s| s == slug))
    }

    /// Appends to a webhook's delivery log, forgetting the oldest entries.
    pub fn log_attempt(&mut self, attempt: DeliveryAttempt) {
        let log = self
            .delivery_log
            .entry(attempt.webhook_id.clone())
            .or_default();
        log.push_back(attempt);
        while log.len() > DELIVERY_LOG_LIMIT {
            log.pop_front();
        }
    }
}
