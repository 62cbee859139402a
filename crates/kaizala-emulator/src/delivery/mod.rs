//! Webhook validation and delivery: events are matched to subscriptions,
//! queued in the state (so pending retries survive a restart), and sent by
//! a scheduler that runs on the virtual clock.

mod schedule;
mod sender;

pub use schedule::{RETRY_DELAYS_MS, next_delay};
pub use sender::{Answer, Sender};

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use kaizala_types::event::{Event, ObjectType};
use tokio::sync::{Notify, Semaphore};

use crate::events::Happening;
use crate::model::{Delivery, DeliveryAttempt, DeliveryOutcome, State, Webhook};
use crate::shared::Shared;

/// At most this many deliveries are in flight at once.
const CONCURRENCY: usize = 64;

/// The delivery engine's handle.
#[derive(Debug, Default)]
pub struct Deliveries {
    wake: Notify,
    sender: Sender,
}

/// Why a callback URL failed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationFailed(pub String);

impl Deliveries {
    /// Wakes the scheduler (new deliveries, a clock jump).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The validation handshake of `WebHookValidaton.md`: `GET
    /// {url}?validationToken={token}` must answer 2xx with the token as the
    /// body within `timeout`.
    pub async fn validate(
        &self,
        url: &str,
        token: &str,
        timeout: Duration,
    ) -> Result<(), ValidationFailed> {
        let separator = if url.contains('?') { '&' } else { '?' };
        let target = format!("{url}{separator}validationToken={token}");
        let request = http::Request::get(&target)
            .header(http::header::USER_AGENT, "kaizala-emulator")
            .body(Bytes::new())
            .map_err(|_| ValidationFailed(format!("{url} is not a valid URL")))?;
        match self.sender.send(request, timeout).await {
            Answer::Status(status, body) if (200..300).contains(&status) => {
                if std::str::from_utf8(&body).map(str::trim) == Ok(token) {
                    Ok(())
                } else {
                    Err(ValidationFailed(format!(
                        "{url} answered the validation request without echoing the validation token"
                    )))
                }
            }
            Answer::Status(status, _) => Err(ValidationFailed(format!(
                "{url} answered the validation request with HTTP {status}"
            ))),
            Answer::Timeout => Err(ValidationFailed(format!(
                "{url} did not answer the validation request within {} s",
                timeout.as_secs_f64()
            ))),
            Answer::Failed(reason) => Err(ValidationFailed(format!(
                "{url} could not be reached: {reason}"
            ))),
        }
    }
}

/// Queues one callback per webhook that watches what happened.
pub fn publish(shared: &Shared, happenings: Vec<Happening>) {
    if happenings.is_empty() {
        return;
    }
    let now = shared.now_ms();
    let queued = shared.store.write(|state| {
        let mut queued = 0;
        for happening in happenings {
            let watchers: Vec<Webhook> = state
                .webhooks
                .values()
                .filter(|w| watches(state, w, &happening, now))
                .cloned()
                .collect();
            for webhook in watchers {
                let event_id = shared.ids.guid();
                let payload = envelope(state, &webhook, &happening, &event_id);
                let delivery = Delivery {
                    id: shared.ids.guid(),
                    webhook_id: webhook.id.clone(),
                    event_id: event_id.clone(),
                    event_type: happening.event_type.to_string(),
                    payload,
                    attempts: 0,
                    due_ms: now,
                    duplicate: false,
                    in_flight: false,
                };
                if shared.ids.chance(shared.config.duplicate_rate) {
                    state.deliveries.push(Delivery {
                        id: shared.ids.guid(),
                        duplicate: true,
                        ..delivery.clone()
                    });
                }
                state.deliveries.push(delivery);
                queued += 1;
            }
        }
        queued
    });
    if queued > 0 {
        shared.deliveries.wake();
    }
}

fn watches(state: &State, webhook: &Webhook, happening: &Happening, now: i64) -> bool {
    if !webhook.active || webhook.validity_ms <= now || webhook.tenant != happening.tenant {
        return false;
    }
    let wanted = webhook
        .events
        .iter()
        .any(|e| e.eq_ignore_ascii_case(happening.event_type.as_str()));
    if !wanted {
        return false;
    }
    match ObjectType::from_wire(&webhook.object_type) {
        ObjectType::Group => state.is_within(&happening.group_id, &webhook.object_id),
        ObjectType::Action => happening.action_id.as_deref() == Some(webhook.object_id.as_str()),
        ObjectType::ActionPackage => {
            happening.package_id.as_deref() == Some(webhook.object_id.as_str())
        }
        _ => false,
    }
}

/// The callback body: the documented envelope around the typed data.
fn envelope(
    state: &State,
    webhook: &Webhook,
    happening: &Happening,
    event_id: &str,
) -> serde_json::Value {
    let mut event = Event::new(
        event_id,
        happening.event_type.clone(),
        Some(happening.data.clone()),
    )
    .unwrap_or_else(|| {
        Event::new(event_id, happening.event_type.clone(), None).expect("no data always fits")
    });
    event.object_id = Some(webhook.object_id.as_str().into());
    event.object_type = Some(ObjectType::from_wire(&webhook.object_type));
    event.context = webhook.callback_context.clone();
    // Real traffic carried the group at the top level too: a parent group's
    // subscription learns which sub-group an event came from.
    event.group_id = Some(happening.group_id.as_str().into());
    if let Some(user) = happening
        .from_user
        .as_ref()
        .and_then(|id| state.users.get(id))
    {
        event.from_user = Some(user.phone.clone());
        event.from_user_id = Some(user.id.as_str().into());
        event.from_user_name = Some(user.name.clone());
        event.from_user_profile_pic = Some(user.profile_pic.clone());
    }
    serde_json::to_value(&event).unwrap_or_default()
}

/// Sends due deliveries until the emulator stops.
pub async fn run(shared: Arc<Shared>) {
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    loop {
        let now = shared.now_ms();
        let (due, next) = shared.store.write(|state| {
            let mut due = Vec::new();
            let mut next: Option<i64> = None;
            for delivery in state.deliveries.iter_mut().filter(|d| !d.in_flight) {
                if delivery.due_ms <= now {
                    delivery.in_flight = true;
                    due.push(delivery.clone());
                } else {
                    next = Some(next.map_or(delivery.due_ms, |n| n.min(delivery.due_ms)));
                }
            }
            (due, next)
        });
        for delivery in due {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                attempt(&shared, delivery).await;
                drop(slot);
            });
        }
        let wait = next.and_then(|at| shared.clock.real_delay(at - shared.now_ms()));
        match wait {
            // Re-check at least once a second: the clock may be moved.
            Some(wait) => {
                let _ = tokio::time::timeout(
                    wait.min(Duration::from_secs(1)),
                    shared.deliveries.wake.notified(),
                )
                .await;
            }
            None => {
                let _ =
                    tokio::time::timeout(Duration::from_secs(1), shared.deliveries.wake.notified())
                        .await;
            }
        }
    }
}

async fn attempt(shared: &Shared, delivery: Delivery) {
    let webhook = shared
        .store
        .read(|s| s.webhooks.get(&delivery.webhook_id).cloned());
    let Some(webhook) = webhook.filter(|w| w.active) else {
        // Deleted or disabled meanwhile: nothing to deliver to.
        shared
            .store
            .write(|s| s.deliveries.retain(|d| d.id != delivery.id));
        return;
    };
    let mut request = http::Request::post(&webhook.callback_url)
        .header(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )
        .header(http::header::USER_AGENT, "kaizala-emulator");
    if let Some(token) = &webhook.callback_token
        && let Ok(mut value) = HeaderValue::from_str(token.expose())
    {
        value.set_sensitive(true);
        request = request.header("kz-callback-token", value);
    }
    let body = Bytes::from(serde_json::to_vec(&delivery.payload).unwrap_or_default());
    let outcome = match request.body(body) {
        Err(_) => DeliveryOutcome::Failed {
            status: None,
            reason: "the callback URL is not valid".into(),
        },
        Ok(request) => match shared
            .deliveries
            .sender
            .send(request, shared.config.delivery_timeout)
            .await
        {
            Answer::Status(status, _) if (200..300).contains(&status) => {
                DeliveryOutcome::Delivered { status }
            }
            Answer::Status(status, _) => DeliveryOutcome::Failed {
                status: Some(status),
                reason: format!("answered HTTP {status}"),
            },
            Answer::Timeout => DeliveryOutcome::Failed {
                status: None,
                reason: "no answer in time".into(),
            },
            Answer::Failed(reason) => DeliveryOutcome::Failed {
                status: None,
                reason,
            },
        },
    };
    let now = shared.now_ms();
    let attempts = delivery.attempts + 1;
    let delivered = matches!(outcome, DeliveryOutcome::Delivered { .. });
    shared.store.write(|state| {
        state.log_attempt(DeliveryAttempt {
            webhook_id: webhook.id.clone(),
            event_id: delivery.event_id.clone(),
            event_type: delivery.event_type.clone(),
            attempt: attempts,
            at_ms: now,
            duplicate: delivery.duplicate,
            outcome,
        });
        let retry_at = (!delivered).then(|| next_delay(attempts).map(|d| now + d)).flatten();
        match retry_at {
            Some(due) => {
                if let Some(pending) = state.deliveries.iter_mut().find(|d| d.id == delivery.id) {
                    pending.attempts = attempts;
                    pending.due_ms = due;
                    pending.in_flight = false;
                }
                // The scheduler may be sleeping past this retry's time.
                shared.deliveries.wake();
            }
            None => {
                state.deliveries.retain(|d| d.id != delivery.id);
                if !delivered {
                    // Two days of failures: disabled until `PUT {"Active": true}`.
                    if let Some(hook) = state.webhooks.get_mut(&webhook.id) {
                        hook.active = false;
                    }
                    state.deliveries.retain(|d| d.webhook_id != webhook.id);
                    tracing::warn!(webhook = %webhook.id, "webhook disabled after its retries ran out");
                }
            }
        }
    });
}
