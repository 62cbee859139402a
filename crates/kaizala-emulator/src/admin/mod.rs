//! The admin API under `/admin/`: the emulator's own controls, documented
//! in `docs/emulator.md`. It is served only when enabled, and the emulator
//! binds to loopback by default.

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{ApiError, Reply};
use crate::shared::Shared;

/// Handles `method /admin{path}`.
pub async fn handle(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    body: &Bytes,
) -> Reply {
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let result = match (method.as_str(), segments.as_slice()) {
        ("GET", []) => Ok(index()),
        ("GET", ["clock"]) => Ok(clock(shared)),
        ("POST", ["clock"]) => set_clock(shared, body),
        ("GET", ["credentials"]) => shared
            .seeded
            .get()
            .map(Reply::ok)
            .ok_or_else(|| ApiError::not_found("the seed had no connector")),
        ("GET", ["tenants"]) => Ok(tenants(shared)),
        ("POST", ["tenants", tenant, "relocate"]) => relocate(shared, tenant, body),
        ("GET", ["pins"]) => Ok(shared
            .store
            .read(|s| Reply::ok(&json!({"pins": s.pins.values().collect::<Vec<_>>()})))),
        ("GET", ["webhooks"]) => Ok(webhooks(shared)),
        ("GET", ["webhooks", id, "deliveries"]) => Ok(shared.store.read(|s| {
            let attempts: Vec<_> = s
                .delivery_log
                .get(*id)
                .map(|log| log.iter().collect())
                .unwrap_or_default();
            Reply::ok(&json!({"webhookId": id, "attempts": attempts}))
        })),
        ("GET", ["deliveries"]) => Ok(shared
            .store
            .read(|s| Reply::ok(&json!({"pending": s.deliveries})))),
        (_, ["simulate", rest @ ..]) => {
            crate::simulation::handle(shared, method, rest, query, body).await
        }
        _ => Err(ApiError::not_found(format!(
            "no admin endpoint {method} /admin{path}"
        ))),
    };
    result.unwrap_or_else(Reply::from)
}

fn index() -> Reply {
    Reply::ok(&json!({
        "endpoints": [
            "GET /admin/clock", "POST /admin/clock {advanceMs | advanceSeconds, timeScale}",
            "GET /admin/credentials", "GET /admin/tenants", "POST /admin/tenants/{id|slug}/relocate {slug?}",
            "GET /admin/pins", "GET /admin/webhooks", "GET /admin/webhooks/{id}/deliveries", "GET /admin/deliveries",
            "GET /admin/simulate",
            "POST /admin/simulate/messages {groupId, count, text?}",
            "POST /admin/simulate/attachments {groupId, count, caption?}",
            "POST /admin/simulate/responses {groupId, actionId, count, updateFraction?, users?}",
            "POST /admin/simulate/reactions {groupId, referenceId, likes, comments}",
            "POST /admin/simulate/members {groupId, join, leave}"
        ]
    }))
}

fn clock(shared: &Shared) -> Reply {
    let now = shared.now_ms();
    Reply::ok(&json!({
        "nowMs": now,
        "now": kaizala_types::Timestamp::from_unix_millis(now).to_rfc3339(),
        "timeScale": shared.clock.scale(),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClockChange {
    #[serde(default)]
    advance_ms: Option<u64>,
    #[serde(default)]
    advance_seconds: Option<f64>,
    #[serde(default)]
    time_scale: Option<f64>,
}

fn set_clock(shared: &Shared, body: &Bytes) -> Result<Reply, ApiError> {
    let change: ClockChange = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("clock change: {e}")))?;
    if let Some(scale) = change.time_scale {
        if !(0.0..=1_000_000.0).contains(&scale) {
            return Err(ApiError::bad_field(
                "timeScale",
                "between 0 (stopped) and 1,000,000",
            ));
        }
        shared.clock.set_scale(scale);
    }
    let advance = change.advance_ms.map(Duration::from_millis).or(change
        .advance_seconds
        .filter(|s| *s >= 0.0)
        .map(Duration::from_secs_f64));
    if let Some(by) = advance {
        shared.clock.advance(by);
    }
    shared.deliveries.wake();
    Ok(clock(shared))
}

fn tenants(shared: &Shared) -> Reply {
    shared.store.read(|s| {
        let tenants: Vec<Value> = s
            .tenants
            .values()
            .map(|t| json!({"id": t.id, "name": t.name, "slug": t.slug, "endpointUrl": shared.endpoint_url(&t.slug), "oldSlugs": t.old_slugs}))
            .collect();
        Reply::ok(&json!({"tenants": tenants}))
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Relocation {
    #[serde(default)]
    slug: Option<String>,
}

/// Moves a tenant's endpoint: calls to the old one answer 308.
fn relocate(shared: &Shared, tenant: &str, body: &Bytes) -> Result<Reply, ApiError> {
    let request: Relocation = if body.iter().all(u8::is_ascii_whitespace) {
        Relocation::default()
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("relocation: {e}")))?
    };
    let fresh = request
        .slug
        .unwrap_or_else(|| format!("{}-{}", tenant, shared.ids.below(1_000_000)));
    if fresh.is_empty() || !fresh.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ApiError::bad_field("slug", "letters, digits and dashes"));
    }
    shared.store.write(|s| {
        if s.tenant_by_slug(&fresh).is_some() {
            return Err(ApiError::bad_field("slug", format!("{fresh} is taken")));
        }
        let found = s
            .tenants
            .values_mut()
            .find(|t| t.id == tenant || t.slug == tenant);
        let t = found.ok_or_else(|| ApiError::not_found(format!("no tenant {tenant}")))?;
        let old = std::mem::replace(&mut t.slug, fresh.clone());
        t.old_slugs.push(old.clone());
        Ok(Reply::ok(&json!({
            "endpointUrl": shared.endpoint_url(&fresh),
            "oldEndpointUrl": shared.endpoint_url(&old),
        })))
    })
}

fn webhooks(shared: &Shared) -> Reply {
    shared.store.read(|s| {
        let hooks: Vec<Value> = s
            .webhooks
            .values()
            .map(|w| {
                let pending = s.deliveries.iter().filter(|d| d.webhook_id == w.id).count();
                json!({"webhook": w, "pending": pending})
            })
            .collect();
        Reply::ok(&json!({"webhooks": hooks}))
    })
}
