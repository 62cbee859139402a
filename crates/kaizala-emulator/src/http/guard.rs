//! Who is calling, may they, and may they now: the access token, the
//! connector's IP allow-list, the call budgets, the permission scope, and
//! which groups the token reaches.

use std::net::IpAddr;

use kaizala_core::endpoint::Auth;
use kaizala_core::throttle::{Caller, Permit};
use kaizala_types::scope::Scope;

use super::call::Call;
use super::reply::ApiError;
use crate::model::{AccessGrant, Group, Principal, State};
use crate::shared::Shared;

/// Checks the access token of an endpoint-host call.
pub fn authenticate(shared: &Shared, state: &State, call: &Call) -> Result<AccessGrant, ApiError> {
    let token = call
        .header("accessToken")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("the accessToken header is missing"))?;
    let grant = state
        .access_tokens
        .get(token)
        .ok_or_else(|| ApiError::unauthorized("the access token is not valid"))?;
    if grant.expires_ms <= shared.now_ms() {
        return Err(ApiError::unauthorized("the access token has expired"));
    }
    let tenant = state.tenants.get(&grant.tenant);
    if let (Some(slug), Some(tenant)) = (&call.tenant, tenant)
        && tenant.slug != *slug
    {
        return Err(ApiError::unauthorized(
            "the access token belongs to another tenant's endpoint",
        ));
    }
    allow_ip(state, &grant.app_id, call.peer)?;
    Ok(grant.clone())
}

/// The connector's IP allow-list.
pub fn allow_ip(state: &State, app_id: &str, peer: IpAddr) -> Result<(), ApiError> {
    let Some(connector) = state.connectors.get(app_id) else {
        return Ok(());
    };
    if connector.ip_allow.is_empty() || connector.ip_allow.iter().any(|rule| ip_matches(rule, peer))
    {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "calls from {peer} are not allowed for this connector"
        )))
    }
}

fn ip_matches(rule: &str, peer: IpAddr) -> bool {
    let (address, bits) = match rule.split_once('/') {
        Some((address, bits)) => (address, bits.parse::<u32>().ok()),
        None => (rule, None),
    };
    let Ok(network) = address.trim().parse::<IpAddr>() else {
        return false;
    };
    match (network, peer) {
        (IpAddr::V4(n), IpAddr::V4(p)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(p) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(p)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(p) & mask
        }
        _ => false,
    }
}

/// The operation's permission scope.
pub fn authorize(call: &Call, grant: &AccessGrant) -> Result<(), ApiError> {
    let meta = call.meta();
    if meta.auth != Auth::Access {
        return Ok(());
    }
    let Some(needed) = meta.scope else {
        return Ok(());
    };
    let needed = Scope::from_wire(needed);
    if grant.scopes.iter().any(|s| Scope::from_wire(s) == needed) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "the token lacks the {needed} permission"
        )))
    }
}

/// Takes a slot in the connector's and the tenant's budgets, or says how
/// long to wait (429).
pub fn throttle(shared: &Shared, app_id: &str, tenant: &str) -> Result<Permit, ApiError> {
    // Real time, not the virtual clock: clients pace themselves by their
    // own clocks, and a moved virtual clock must not stall or flood them.
    shared
        .throttle
        .try_acquire(
            Caller {
                connector: app_id,
                tenant,
            },
            std::time::Instant::now(),
        )
        .map_err(|wait| ApiError::throttled(wait.as_secs_f64().ceil().max(1.0) as u64))
}

/// Whether the token reaches `group`: a group token its group and that
/// group's sub-groups; a user token the groups the user is in, or every
/// group of the tenant for a tenant admin.
pub fn reaches(state: &State, grant: &AccessGrant, group: &Group) -> bool {
    if group.tenant != grant.tenant {
        return false;
    }
    match &grant.principal {
        Principal::Group(root) => state.is_within(&group.id, root),
        Principal::User(user) => {
            state.users.get(user).is_some_and(|u| {
                u.tenant_admin && u.tenant.as_deref() == Some(group.tenant.as_str())
            }) || group.members.contains_key(user)
                || group.subscribers.contains(user)
        }
    }
}

/// The group named by a call, if it exists and the token reaches it (404
/// otherwise, or 403 when it exists in the tenant but is not granted).
pub fn group<'s>(state: &'s State, grant: &AccessGrant, id: &str) -> Result<&'s Group, ApiError> {
    let group = state
        .groups
        .get(id)
        .filter(|g| g.tenant == grant.tenant)
        .ok_or_else(|| ApiError::not_found(format!("no group {id}")))?;
    if reaches(state, grant, group) {
        Ok(group)
    } else {
        Err(ApiError::forbidden(format!(
            "the group {id} is not granted to this token"
        )))
    }
}

/// The user a token acts as: its user, or, for a group token, the group's
/// first admin (the admin who granted it).
pub fn actor(state: &State, grant: &AccessGrant) -> Option<String> {
    match &grant.principal {
        Principal::User(user) => Some(user.clone()),
        Principal::Group(group) => state.groups.get(group).and_then(|g| {
            g.members
                .iter()
                .find(|(_, role)| **role == crate::model::Role::Admin)
                .or_else(|| g.members.iter().next())
                .map(|(user, _)| user.clone())
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_take_addresses_and_blocks() {
        let peer: IpAddr = "10.1.2.3".parse().unwrap();
        assert!(ip_matches("10.1.2.3", peer));
        assert!(ip_matches("10.1.0.0/16", peer));
        assert!(!ip_matches("10.2.0.0/16", peer));
        assert!(ip_matches("0.0.0.0/0", peer));
        assert!(!ip_matches("::1", peer));
        assert!(ip_matches("::1/128", "::1".parse().unwrap()));
        assert!(!ip_matches("not an address", peer));
    }
}
