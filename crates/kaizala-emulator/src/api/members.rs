//! Group members (`members.md`): list, add by phone number, remove by id.
//! Each member added or removed is announced as `MemberAdded` /
//! `MemberRemoved`, from the user the token acts as.

use kaizala_types::Flag;
use kaizala_types::common::ResultResponse;
use kaizala_types::event::{EventData, EventType};
use kaizala_types::members::{AddMembersRequest, Member, MemberList};

use super::Ctx;
use super::convert;
use crate::events::Happening;
use crate::http::{ApiError, Reply};
use crate::model::{Role, State};

/// `GET /groups/{groupId}/members`: admins first, then by phone number.
pub fn list(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let group = ctx.group(state, 0)?;
    let mut members: Vec<Member> = group
        .members
        .iter()
        .map(|(id, role)| {
            let user = state.users.get(id);
            Member {
                id: id.as_str().into(),
                role: Some(convert::wire_role(*role)),
                mobile_number: user.map(|u| u.phone.clone()),
                is_provisioned: Some(Flag::from(user.is_some_and(|u| u.provisioned))),
                name: user.map(|u| u.name.clone()),
                profile_pic: user.map(|u| u.profile_pic.clone()),
                extra: Default::default(),
            }
        })
        .collect();
    members.sort_by_key(|m| {
        (
            m.role != Some(kaizala_types::common::MemberRole::Admin),
            m.mobile_number.clone(),
        )
    });
    Ok(Reply::ok(&MemberList {
        members,
        extra: Default::default(),
    }))
}

/// `PUT /groups/{groupId}/members`: adds members by phone number (unknown
/// numbers become unprovisioned users); numbers already in the group are
/// left as they are. `{"result": true}` once every number is a member.
pub fn add(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let group = ctx.group(state, 0)?;
    let (group_id, tenant) = (group.id.clone(), group.tenant.clone());
    let request: AddMembersRequest = ctx.call.json()?;
    if request.members.is_empty() {
        return Err(ApiError::bad_field(
            "members",
            "name at least one phone number",
        ));
    }
    let actor = ctx.actor(state)?;
    for phone in &request.members {
        let user = convert::user_for_phone(ctx.shared, state, phone);
        let Some(group) = state.groups.get_mut(&group_id) else {
            break;
        };
        if group.members.contains_key(&user) {
            continue;
        }
        group.members.insert(user.clone(), Role::Member);
        let data = convert::member_event(state, &user, Role::Member);
        ctx.happened(membership_changed(
            &tenant,
            &group_id,
            EventType::MemberAdded,
            &actor,
            data,
        ));
    }
    Ok(Reply::ok(&ResultResponse {
        result: Some(Flag::TRUE),
        extra: Default::default(),
    }))
}

/// `DELETE /groups/{groupId}/members/{memberId}`: 404 unless a member.
pub fn remove(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let group = ctx.group(state, 0)?;
    let (group_id, tenant) = (group.id.clone(), group.tenant.clone());
    let member = ctx.call.param(1).to_owned();
    let Some(role) = group.members.get(&member).copied() else {
        return Err(ApiError::not_found(format!(
            "{member} is not a member of {group_id}"
        )));
    };
    let actor = ctx.actor(state)?;
    if let Some(group) = state.groups.get_mut(&group_id) {
        group.members.remove(&member);
    }
    let data = convert::member_event(state, &member, role);
    ctx.happened(membership_changed(
        &tenant,
        &group_id,
        EventType::MemberRemoved,
        &actor,
        data,
    ));
    Ok(Reply::ok(&ResultResponse {
        result: Some(Flag::TRUE),
        extra: Default::default(),
    }))
}

fn membership_changed(
    tenant: &str,
    group_id: &str,
    event_type: EventType,
    actor: &str,
    data: kaizala_types::event::MemberEventData,
) -> Happening {
    Happening {
        tenant: tenant.to_owned(),
        group_id: group_id.to_owned(),
        event_type,
        action_id: None,
        package_id: None,
        from_user: Some(actor.to_owned()),
        data: EventData::Member(data),
    }
}
