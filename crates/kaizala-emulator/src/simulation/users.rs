//! Virtual users: people with Indian names and `+91` mobile numbers who join
//! groups (announced with `MemberAdded`) to act in them.

use std::collections::HashSet;

use kaizala_types::common::MemberRole;
use kaizala_types::event::{EventData, EventType, MemberEventData};
use rand::Rng;
use rand::rngs::StdRng;

use super::Produced;
use super::corpus;
use super::random::{self, pick};
use crate::events::Happening;
use crate::model::{Group, Role, State, User};

/// The phone numbers in use, so new people get numbers of their own.
#[derive(Debug)]
pub struct People {
    phones: HashSet<String>,
}

impl People {
    /// The people of `state`.
    pub fn of(state: &State) -> People {
        People {
            phones: state.users.values().map(|u| u.phone.clone()).collect(),
        }
    }

    /// A new virtual user (a provisioned Kaizala user with a fresh number).
    pub fn create(&mut self, state: &mut State, rng: &mut StdRng, base_url: &str) -> String {
        let phone = loop {
            let first = rng.random_range(6..10);
            let rest: u64 = rng.random_range(0..1_000_000_000);
            let phone = format!("+91{first}{rest:09}");
            if self.phones.insert(phone.clone()) {
                break phone;
            }
        };
        self.create_with_phone(state, rng, base_url, phone)
    }

    /// A new virtual user with this number (which must be free).
    pub fn create_with_phone(
        &mut self,
        state: &mut State,
        rng: &mut StdRng,
        base_url: &str,
        phone: String,
    ) -> String {
        self.phones.insert(phone.clone());
        let id = random::guid(rng);
        let name = format!(
            "{} {}",
            pick(rng, corpus::FIRST_NAMES),
            pick(rng, corpus::SURNAMES)
        );
        // Most people set a picture; the platform sends "" for the others.
        let profile_pic = if rng.random_bool(0.7) {
            format!("{base_url}/media/profiles/{id}.jpg")
        } else {
            String::new()
        };
        state.users.insert(
            id.clone(),
            User {
                id: id.clone(),
                tenant: None,
                phone,
                name,
                profile_pic,
                provisioned: true,
                tenant_admin: false,
            },
        );
        id
    }
}

/// The payload of `MemberAdded`/`MemberRemoved` about `user`.
pub fn member_data(user: &User, role: Role) -> MemberEventData {
    MemberEventData {
        member: Some(user.phone.clone()),
        member_id: Some(user.id.as_str().into()),
        member_name: Some(user.name.clone()),
        member_profile_pic: Some(user.profile_pic.clone()),
        role: Some(match role {
            Role::Admin => MemberRole::Admin,
            Role::Member => MemberRole::Member,
        }),
        ..Default::default()
    }
}

/// A `MemberAdded` or `MemberRemoved` happening.
pub fn membership(
    state: &State,
    group: &Group,
    event_type: EventType,
    user_id: &str,
    role: Role,
    by: Option<String>,
) -> Happening {
    let data = state
        .users
        .get(user_id)
        .map(|u| member_data(u, role))
        .unwrap_or_default();
    Happening {
        tenant: group.tenant.clone(),
        group_id: group.id.clone(),
        event_type,
        action_id: None,
        package_id: None,
        from_user: by,
        data: EventData::Member(data),
    }
}

/// The group's first administrator: who adds people.
pub fn admin_of(group: &Group) -> Option<String> {
    group
        .members
        .iter()
        .find(|(_, role)| **role == Role::Admin)
        .or_else(|| group.members.iter().next())
        .map(|(id, _)| id.clone())
}

/// Adds `user_id` to the group as a member, announced as added by `by`.
fn add_member(
    state: &mut State,
    group_id: &str,
    user_id: &str,
    by: Option<String>,
    out: &mut Produced,
) {
    let Some(group) = state.groups.get_mut(group_id) else {
        return;
    };
    if group.members.contains_key(user_id) {
        return;
    }
    group.members.insert(user_id.to_owned(), Role::Member);
    let group = &state.groups[group_id];
    let happening = membership(
        state,
        group,
        EventType::MemberAdded,
        user_id,
        Role::Member,
        by,
    );
    out.push(happening);
}

/// Creates a virtual user and adds them to the group, announced as added
/// by `by`; their id.
pub fn recruit_one(
    state: &mut State,
    people: &mut People,
    rng: &mut StdRng,
    base_url: &str,
    group_id: &str,
    by: Option<String>,
    out: &mut Produced,
) -> String {
    let id = people.create(state, rng, base_url);
    add_member(state, group_id, &id, by, out);
    out.created_users += 1;
    id
}

/// Creates `n` virtual users and adds them to the group (the group's
/// administrator adds them); their ids.
pub fn recruit(
    state: &mut State,
    people: &mut People,
    rng: &mut StdRng,
    base_url: &str,
    group_id: &str,
    n: usize,
    out: &mut Produced,
) -> Vec<String> {
    let admin = state.groups.get(group_id).and_then(admin_of);
    (0..n)
        .map(|_| recruit_one(state, people, rng, base_url, group_id, admin.clone(), out))
        .collect()
}
