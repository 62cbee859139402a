//! Sub-groups (`subGroups.md`): list, create, add existing groups, remove.
//! A group may have several parents; the hierarchy never loops. Changes
//! are announced on the parent as `GroupAdded` / `GroupRemoved`.

use std::collections::{BTreeMap, BTreeSet};

use kaizala_types::common::ResultResponse;
use kaizala_types::event::{EventData, EventType};
use kaizala_types::groups::GroupList;
use kaizala_types::subgroups::{
    AddSubGroupsRequest, CreateSubGroupRequest, CreateSubGroupResponse,
};
use kaizala_types::{Flag, GroupId};

use super::Ctx;
use super::convert;
use crate::events::Happening;
use crate::http::{ApiError, Reply, guard};
use crate::model::{Group, Role, State};

/// `GET /groups/{groupId}/subGroups[?fetchAllGroups=true]`: the group with
/// its direct sub-groups; with `fetchAllGroups`, each sub-group carries its
/// own `subGroups`, down the whole hierarchy.
pub fn list(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let deep = ctx.call.flag("fetchAllGroups")?;
    let group = ctx.group(state, 0)?;
    let mut info = convert::group_info(state, ctx.grant, None, group, false);
    let mut seen = BTreeSet::from([group.id.clone()]);
    let children: Vec<&Group> = group
        .children
        .iter()
        .filter_map(|id| state.groups.get(id))
        .collect();
    seen.extend(children.iter().map(|c| c.id.clone()));
    let sub_groups = children
        .into_iter()
        .map(|child| convert::sub_group(state, child, deep, &mut seen))
        .collect();
    info.sub_groups = Some(sub_groups);
    Ok(Reply::ok(&GroupList {
        groups: vec![info],
        extra: Default::default(),
    }))
}

/// `POST /groups/{groupId}/subGroups`: a new group under this one, with
/// the calling user as its admin unless `addUserToGroup` is false.
pub fn create(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let parent = ctx.group(state, 0)?;
    let (parent_id, tenant) = (parent.id.clone(), parent.tenant.clone());
    let request: CreateSubGroupRequest = ctx.call.json()?;
    let name = request.group_name.trim();
    if name.is_empty() {
        return Err(ApiError::bad_field("groupName", "a group needs a name"));
    }
    let actor = ctx.actor(state)?;
    let mut members = BTreeMap::new();
    if request.add_user_to_group.is_none_or(Flag::get) {
        members.insert(actor.clone(), Role::Admin);
    }
    for phone in request.members.iter().flatten() {
        let member = convert::user_for_phone(ctx.shared, state, phone);
        members.entry(member).or_insert(Role::Member);
    }
    let group = Group {
        id: ctx.shared.ids.guid(),
        tenant: tenant.clone(),
        name: name.to_owned(),
        group_type: "Group".to_owned(),
        welcome_message: request.welcome_message.clone().unwrap_or_default(),
        image_url: request.group_image_url.clone().unwrap_or_default(),
        members,
        subscribers: BTreeSet::new(),
        parents: BTreeSet::from([parent_id.clone()]),
        children: BTreeSet::new(),
        created_ms: ctx.now_ms,
    };
    let answer = CreateSubGroupResponse {
        group_id: group.id.as_str().into(),
        group_name: Some(group.name.clone()),
        extra: Default::default(),
    };
    let data = convert::group_event(&group, &parent_id);
    if let Some(parent) = state.groups.get_mut(&parent_id) {
        parent.children.insert(group.id.clone());
    }
    state.groups.insert(group.id.clone(), group);
    ctx.happened(hierarchy_changed(
        tenant,
        parent_id,
        EventType::GroupAdded,
        actor,
        data,
    ));
    Ok(Reply::ok(&answer))
}

/// `PUT /groups/{groupId}/subGroups`: makes existing groups (each one the
/// token reaches) sub-groups of this one. Groups already under it are left
/// as they are; a group cannot go under itself or under its own sub-groups.
pub fn add(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let parent = ctx.group(state, 0)?;
    let (parent_id, tenant) = (parent.id.clone(), parent.tenant.clone());
    let request: AddSubGroupsRequest = ctx.call.json()?;
    if request.sub_groups.is_empty() {
        return Err(ApiError::bad_field("subGroups", "name at least one group"));
    }
    let mut added: Vec<String> = Vec::new();
    for (i, id) in request.sub_groups.iter().map(GroupId::as_str).enumerate() {
        let field = format!("subGroups[{i}]");
        let child = guard::group(state, ctx.grant, id).map_err(|mut err| {
            err.field = Some(field.clone());
            err
        })?;
        if child.id == parent_id || state.is_within(&parent_id, &child.id) {
            return Err(ApiError::bad_field(
                field,
                format!("{id} is this group or above it: the hierarchy cannot loop"),
            ));
        }
        if !child.parents.contains(&parent_id) && !added.contains(&child.id) {
            added.push(child.id.clone());
        }
    }
    let actor = ctx.actor(state)?;
    for child_id in added {
        let Some(child) = state.groups.get_mut(&child_id) else {
            continue;
        };
        child.parents.insert(parent_id.clone());
        let data = convert::group_event(child, &parent_id);
        if let Some(parent) = state.groups.get_mut(&parent_id) {
            parent.children.insert(child_id);
        }
        ctx.happened(hierarchy_changed(
            tenant.clone(),
            parent_id.clone(),
            EventType::GroupAdded,
            actor.clone(),
            data,
        ));
    }
    Ok(Reply::ok(&ResultResponse {
        result: Some(Flag::TRUE),
        extra: Default::default(),
    }))
}

/// `DELETE /groups/{groupId}/subGroups/{subGroupId}`: detaches a direct
/// sub-group (404 if it is not one); the group itself remains.
pub fn remove(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let parent = ctx.group(state, 0)?;
    let (parent_id, tenant) = (parent.id.clone(), parent.tenant.clone());
    let child_id = ctx.call.param(1).to_owned();
    if !parent.children.contains(&child_id) {
        return Err(ApiError::not_found(format!(
            "{child_id} is not a sub-group of {parent_id}"
        )));
    }
    let actor = ctx.actor(state)?;
    if let Some(parent) = state.groups.get_mut(&parent_id) {
        parent.children.remove(&child_id);
    }
    if let Some(child) = state.groups.get_mut(&child_id) {
        child.parents.remove(&parent_id);
        let data = convert::group_event(child, &parent_id);
        ctx.happened(hierarchy_changed(
            tenant,
            parent_id,
            EventType::GroupRemoved,
            actor,
            data,
        ));
    }
    Ok(Reply::ok(&ResultResponse {
        result: Some(Flag::TRUE),
        extra: Default::default(),
    }))
}

fn hierarchy_changed(
    tenant: String,
    parent_id: String,
    event_type: EventType,
    actor: String,
    data: kaizala_types::event::GroupEventData,
) -> Happening {
    Happening {
        tenant,
        group_id: parent_id,
        event_type,
        action_id: None,
        package_id: None,
        from_user: Some(actor),
        data: EventData::Group(data),
    }
}
