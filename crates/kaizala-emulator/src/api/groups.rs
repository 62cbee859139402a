//! Groups (`groups.md`): create, list, get.
//!
//! A user token creates groups (its user becomes their admin); managed
//! public groups (`ConnectGroup`) take a tenant administrator's user token.
//! A group token reaches one group and its sub-groups, so it creates
//! sub-groups (`subgroups.rs`) but no top-level group.

use std::collections::{BTreeMap, BTreeSet};

use kaizala_types::Flag;
use kaizala_types::groups::{CreateGroupRequest, CreateGroupResponse, GroupList, GroupType};

use super::Ctx;
use super::convert;
use crate::http::{ApiError, Reply, guard};
use crate::model::{Group, Principal, Role, State};

/// `POST /groups`: creates a group with the token's user as admin and the
/// listed numbers as members (unknown numbers become unprovisioned users).
pub fn create(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let request: CreateGroupRequest = ctx.call.json()?;
    let name = request.name.trim();
    if name.is_empty() {
        return Err(ApiError::bad_field("name", "a group needs a name"));
    }
    let group_type = match &request.group_type {
        None | Some(GroupType::Group) => "Group",
        Some(GroupType::ConnectGroup) => "ConnectGroup",
        Some(other) => {
            return Err(ApiError::bad_field(
                "groupType",
                format!("{other} is not Group or ConnectGroup"),
            ));
        }
    };
    let user = match &ctx.grant.principal {
        Principal::User(user) => user.clone(),
        Principal::Group(_) => {
            return Err(ApiError::forbidden(
                "a group token reaches its own group only: create top-level groups with a user token (or sub-groups of the token's group)",
            ));
        }
    };
    if group_type == "ConnectGroup" && !convert::is_tenant_admin(state, &user, &ctx.grant.tenant) {
        return Err(ApiError::forbidden(
            "only a tenant administrator's user token creates managed public groups (ConnectGroup)",
        ));
    }

    let mut members = BTreeMap::from([(user.clone(), Role::Admin)]);
    for phone in request.members.iter().flatten() {
        let member = convert::user_for_phone(ctx.shared, state, phone);
        members.entry(member).or_insert(Role::Member);
    }
    let group = Group {
        id: ctx.shared.ids.guid(),
        tenant: ctx.grant.tenant.clone(),
        name: name.to_owned(),
        group_type: group_type.to_owned(),
        welcome_message: request.welcome_message.clone().unwrap_or_default(),
        image_url: String::new(),
        members,
        subscribers: BTreeSet::new(),
        parents: BTreeSet::new(),
        children: BTreeSet::new(),
        created_ms: ctx.now_ms,
    };
    let answer = CreateGroupResponse {
        group_id: group.id.as_str().into(),
        group_name: Some(group.name.clone()),
        members_added: Some(Flag::TRUE),
        extra: Default::default(),
    };
    state.groups.insert(group.id.clone(), group);
    Ok(Reply::ok(&answer))
}

/// `GET /groups[?showDetail=true][&fetchAllGroups=true]`: the groups the
/// token reaches — only the top of what it reaches unless `fetchAllGroups`.
pub fn list(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let detail = ctx.call.flag("showDetail")?;
    let all_levels = ctx.call.flag("fetchAllGroups")?;
    let caller = guard::actor(state, ctx.grant);
    let reached: Vec<&Group> = state
        .groups
        .values()
        .filter(|g| guard::reaches(state, ctx.grant, g))
        .collect();
    let reached_ids: BTreeSet<&str> = reached.iter().map(|g| g.id.as_str()).collect();
    let mut listed: Vec<&Group> = reached
        .into_iter()
        .filter(|g| all_levels || !g.parents.iter().any(|p| reached_ids.contains(p.as_str())))
        .collect();
    listed.sort_by(|a, b| (a.created_ms, &a.name, &a.id).cmp(&(b.created_ms, &b.name, &b.id)));
    let groups = listed
        .into_iter()
        .map(|g| convert::group_info(state, ctx.grant, caller.as_deref(), g, detail))
        .collect();
    Ok(Reply::ok(&GroupList {
        groups,
        extra: Default::default(),
    }))
}

/// `GET /groups/{groupId}`: `{"groups": [the group]}`, with every detail.
pub fn get(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let group = ctx.group(state, 0)?;
    let caller = guard::actor(state, ctx.grant);
    let info = convert::group_info(state, ctx.grant, caller.as_deref(), group, true);
    Ok(Reply::ok(&GroupList {
        groups: vec![info],
        extra: Default::default(),
    }))
}
