//! Subscribers of managed public groups (`subscribers.md`): list a page at
//! a time, add and remove by phone number. Other groups have no
//! subscribers: 400.

use std::collections::BTreeMap;

use kaizala_types::subscribers::{
    ListSubscribersRequest, Subscriber, SubscriberChangeResponse, SubscriberList,
    SubscriberOutcome, SubscribersRequest,
};
use kaizala_types::{Cursor, Flag};

use super::Ctx;
use super::convert;
use crate::http::{ApiError, Reply};
use crate::model::{Group, State};

/// Marks the emulator's subscriber cursors.
const CURSOR_PREFIX: &str = "sub1.";

fn public<'s>(ctx: &Ctx<'_>, state: &'s State) -> Result<&'s Group, ApiError> {
    let group = ctx.group(state, 0)?;
    if group.is_public() {
        Ok(group)
    } else {
        Err(ApiError::bad_request(format!(
            "{} is not a managed public group (ConnectGroup): it has members, not subscribers",
            group.id
        )))
    }
}

/// `POST /groups/{groupId}/subscribers`: a page of subscribers (`count`,
/// default and at most 50), in a stable order; `cursor` is in the answer
/// only when another page follows. An empty body asks for the first page.
pub fn list(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let group = public(ctx, state)?;
    let request: ListSubscribersRequest = if ctx.call.body.iter().all(u8::is_ascii_whitespace) {
        ListSubscribersRequest::default()
    } else {
        ctx.call.json()?
    };
    let count = match request.count {
        None => ListSubscribersRequest::MAX_COUNT,
        Some(0) => {
            return Err(ApiError::bad_field(
                "count",
                "ask for at least one subscriber",
            ));
        }
        Some(n) => n.min(ListSubscribersRequest::MAX_COUNT),
    } as usize;
    let after = match &request.cursor {
        None => None,
        Some(cursor) => Some(decode_cursor(cursor).ok_or_else(|| {
            ApiError::bad_field("cursor", "not a cursor this endpoint handed out: send back the previous page's cursor as it was")
        })?),
    };
    let mut remaining = group.subscribers.iter().filter(|id| {
        after
            .as_ref()
            .is_none_or(|after| id.as_str() > after.as_str())
    });
    let page: Vec<&String> = remaining.by_ref().take(count).collect();
    let more = remaining.next().is_some();
    let subscribers = page
        .iter()
        .map(|id| {
            let user = state.users.get(id.as_str());
            Subscriber {
                id: Some(id.as_str().into()),
                mobile_number: user.map(|u| u.phone.clone()),
                name: user.map(|u| u.name.clone()),
                profile_pic: user.map(|u| u.profile_pic.clone()),
                is_provisioned: Some(Flag::from(user.is_some_and(|u| u.provisioned))),
                extra: Default::default(),
            }
        })
        .collect();
    let cursor = match page.last() {
        Some(last) if more => Some(encode_cursor(last)),
        _ => None,
    };
    Ok(Reply::ok(&SubscriberList {
        subscribers,
        cursor,
        extra: Default::default(),
    }))
}

/// `PUT /groups/{groupId}/subscribers/add`: one outcome per number as sent
/// (unknown numbers become unprovisioned users; numbers already subscribed
/// count as added).
pub fn add(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let group_id = public(ctx, state)?.id.clone();
    let request: SubscribersRequest = ctx.call.json()?;
    if request.subscribers.is_empty() {
        return Err(ApiError::bad_field(
            "subscribers",
            "name at least one phone number",
        ));
    }
    let mut result = BTreeMap::new();
    for phone in &request.subscribers {
        let user = convert::user_for_phone(ctx.shared, state, phone);
        if let Some(group) = state.groups.get_mut(&group_id) {
            group.subscribers.insert(user);
        }
        let outcome = SubscriberOutcome {
            is_added: Some(Flag::TRUE),
            ..Default::default()
        };
        result.insert(phone.as_str().to_owned(), outcome);
    }
    Ok(Reply::ok(&SubscriberChangeResponse {
        result,
        extra: Default::default(),
    }))
}

/// `PUT /groups/{groupId}/subscribers/remove`: one outcome per number;
/// numbers that were not subscribed say so (`isRemoved: false`, `reason`).
pub fn remove(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let group_id = public(ctx, state)?.id.clone();
    let request: SubscribersRequest = ctx.call.json()?;
    if request.subscribers.is_empty() {
        return Err(ApiError::bad_field(
            "subscribers",
            "name at least one phone number",
        ));
    }
    let mut result = BTreeMap::new();
    for phone in &request.subscribers {
        let user = state.user_by_phone(phone.as_str()).map(|u| u.id.clone());
        let removed = match (user, state.groups.get_mut(&group_id)) {
            (Some(user), Some(group)) => group.subscribers.remove(&user),
            _ => false,
        };
        let outcome = SubscriberOutcome {
            is_removed: Some(Flag::from(removed)),
            reason: (!removed).then(|| "not a subscriber of this group".to_owned()),
            ..Default::default()
        };
        result.insert(phone.as_str().to_owned(), outcome);
    }
    Ok(Reply::ok(&SubscriberChangeResponse {
        result,
        extra: Default::default(),
    }))
}

/// The cursor after `user_id`: opaque to clients (hex of the last id seen,
/// so a page never repeats or skips a subscriber when others come or go).
fn encode_cursor(user_id: &str) -> Cursor {
    let hex: String = user_id.bytes().map(|b| format!("{b:02x}")).collect();
    Cursor::Text(format!("{CURSOR_PREFIX}{hex}"))
}

fn decode_cursor(cursor: &Cursor) -> Option<String> {
    let text = cursor.to_string();
    let hex = text.strip_prefix(CURSOR_PREFIX)?;
    if hex.len() % 2 != 0 || !hex.is_ascii() {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_strangers() {
        let cursor = encode_cursor("0a1b-c");
        assert_eq!(decode_cursor(&cursor).as_deref(), Some("0a1b-c"));
        assert_eq!(decode_cursor(&Cursor::from("abc")), None);
        assert_eq!(decode_cursor(&Cursor::from("sub1.zz")), None);
        assert_eq!(decode_cursor(&Cursor::from(12_u64)), None);
    }
}
