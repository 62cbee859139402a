//! `POST /admin/simulate/members {groupId, join, leave}`: new people join
//! the group (added by its admin: `MemberAdded`) and members leave it
//! (`MemberRemoved`), in a random order. Administrators never leave.

use bytes::Bytes;
use kaizala_types::event::EventType;
use rand::seq::SliceRandom;
use serde_json::{Map, json};

use super::request::Body;
use super::users::{self, People};
use super::{Produced, finish, random};
use crate::http::{ApiError, Reply};
use crate::model::Role;
use crate::shared::Shared;

/// Runs the simulation.
pub fn simulate(shared: &Shared, body: &Bytes) -> Result<Reply, ApiError> {
    let body = Body::parse(body, &["groupId", "join", "leave"])?;
    let group_id = body.required_string("groupId")?;
    let join = body.count("join")?.unwrap_or(0) as usize;
    let leave = body.count("leave")?.unwrap_or(0) as usize;
    if join == 0 && leave == 0 {
        return Err(ApiError::bad_field(
            "join",
            "ask for at least one person to join or leave",
        ));
    }
    let mut rng = random::for_call(shared);
    let mut produced = Produced::default();

    let (joined, left, members) = shared.store.write(|state| {
        let group = super::group(state, &group_id)?;
        produced.listen(state, &group.tenant);
        let mut leavers: Vec<String> = group
            .members
            .iter()
            .filter(|(_, role)| **role == Role::Member)
            .map(|(id, _)| id.clone())
            .collect();
        if leave > leavers.len() {
            return Err(ApiError::bad_field(
                "leave",
                format!(
                    "the group has {} members who can leave (administrators stay)",
                    leavers.len()
                ),
            ));
        }
        leavers.shuffle(&mut rng);
        leavers.truncate(leave);
        let mut turns: Vec<bool> = std::iter::repeat_n(true, join)
            .chain(std::iter::repeat_n(false, leave))
            .collect();
        turns.shuffle(&mut rng);

        let mut people = People::of(state);
        let (mut joined, mut left) = (Vec::with_capacity(join), Vec::with_capacity(leave));
        let mut leaving = leavers.into_iter();
        // Administrators stay, so the one who adds people does too.
        let admin = users::admin_of(group);
        for joins in turns {
            if joins {
                joined.push(users::recruit_one(
                    state,
                    &mut people,
                    &mut rng,
                    &shared.base_url,
                    &group_id,
                    admin.clone(),
                    &mut produced,
                ));
            } else if let Some(member) = leaving.next() {
                let group = state.groups.get_mut(&group_id).expect("checked above");
                group.members.remove(&member);
                let group = &state.groups[&group_id];
                let happening = users::membership(
                    state,
                    group,
                    EventType::MemberRemoved,
                    &member,
                    Role::Member,
                    Some(member.clone()),
                );
                produced.push(happening);
                left.push(member);
            }
        }
        Ok((joined, left, state.groups[&group_id].members.len()))
    })?;

    let mut summary = Map::new();
    summary.insert("groupId".into(), json!(group_id));
    summary.insert("joined".into(), json!(joined));
    summary.insert("left".into(), json!(left));
    summary.insert("members".into(), json!(members));
    Ok(finish(shared, produced, summary))
}
