//! `MemberAdded`/`MemberRemoved` → `member_changes` and `members`; members
//! and subscribers as the API lists them.

use kaizala_types::event::{EventType, MemberEventData};
use kaizala_types::members::Member;
use kaizala_types::subscribers::Subscriber;

use super::{Envelope, Rows};
use crate::write::Arg;

/// The role written for subscribers of a managed public group.
pub(crate) const SUBSCRIBER: &str = "Subscriber";

/// A row of `member_changes`: one per event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MemberChangeRow {
    pub event_id: String,
    pub group_id: Option<String>,
    pub member_id: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    /// `added` or `removed`.
    pub change_type: &'static str,
    pub by_user_id: Option<String>,
    pub by_user_name: Option<String>,
    pub changed_at: i64,
}

/// A row of `members`, keyed by (group, member id — or the phone number
/// when the event carried no id). `None` columns keep what is stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MemberRow {
    pub group_id: String,
    pub member_id: String,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    pub is_provisioned: Option<bool>,
    pub profile_pic: Option<String>,
    pub joined_at: Option<i64>,
    /// When a sync last listed them (`None` from events).
    pub listed_at: Option<i64>,
    pub seen_at: i64,
}

impl MemberRow {
    /// The values of `members`' columns, in order.
    pub fn args(self) -> Vec<Arg> {
        vec![
            self.group_id.into(),
            self.member_id.into(),
            self.phone.into(),
            self.name.into(),
            self.role.into(),
            self.is_provisioned.into(),
            self.profile_pic.into(),
            self.joined_at.into(),
            self.listed_at.into(),
            self.seen_at.into(),
        ]
    }
}

impl MemberChangeRow {
    /// The values of `member_changes`' columns, in order.
    pub fn args(self) -> Vec<Arg> {
        vec![
            self.event_id.into(),
            self.group_id.into(),
            self.member_id.into(),
            self.phone.into(),
            self.name.into(),
            self.role.into(),
            self.change_type.into(),
            self.by_user_id.into(),
            self.by_user_name.into(),
            self.changed_at.into(),
        ]
    }
}

/// A change to `members`, applied in log order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum MemberOp {
    Upsert(MemberRow),
    Remove {
        group_id: String,
        member_id: String,
    },
    /// A sync finished listing a group's members (or its subscribers):
    /// those of that kind it did not list since `since` are gone.
    ListingDone {
        group_id: String,
        subscribers: bool,
        since: i64,
    },
}

impl MemberOp {
    /// The row it changes; `None` for a whole group's listing.
    pub fn key(&self) -> Option<(&str, &str)> {
        match self {
            MemberOp::Upsert(row) => Some((&row.group_id, &row.member_id)),
            MemberOp::Remove {
                group_id,
                member_id,
            } => Some((group_id, member_id)),
            MemberOp::ListingDone { .. } => None,
        }
    }
}

pub(crate) fn from_event(envelope: &Envelope<'_>, data: Option<&MemberEventData>, rows: &mut Rows) {
    let event = envelope.event;
    let added = *event.event_type() == EventType::MemberAdded;
    let member_id = data
        .and_then(|d| d.member_id.as_ref())
        .map(|u| u.to_string());
    let phone = data.and_then(|d| d.member.clone());
    let key = member_id.clone().or_else(|| phone.clone());
    let change = MemberChangeRow {
        event_id: envelope.event_id.to_owned(),
        group_id: envelope.group_id.clone(),
        member_id: member_id.clone(),
        phone: phone.clone(),
        name: data.and_then(|d| d.member_name.clone()),
        role: data.and_then(|d| d.role.as_ref()).map(|r| r.to_string()),
        change_type: if added { "added" } else { "removed" },
        by_user_id: envelope.sender_id(),
        by_user_name: event.from_user_name.clone(),
        changed_at: envelope.received_at,
    };
    if let (Some(group_id), Some(member_id)) = (envelope.group_id.clone(), key) {
        rows.members.push(if added {
            MemberOp::Upsert(MemberRow {
                group_id,
                member_id,
                phone,
                name: change.name.clone(),
                role: change.role.clone(),
                is_provisioned: None,
                profile_pic: data.and_then(|d| d.member_profile_pic.clone()),
                joined_at: Some(envelope.received_at),
                listed_at: None,
                seen_at: envelope.received_at,
            })
        } else {
            MemberOp::Remove {
                group_id,
                member_id,
            }
        });
    }
    rows.member_changes.push(change);
}

/// A member as `GET …/members` lists it.
pub(crate) fn from_member(group_id: &str, member: &Member, seen_at: i64) -> MemberRow {
    MemberRow {
        group_id: group_id.to_owned(),
        member_id: member.id.to_string(),
        phone: member.mobile_number.clone(),
        name: member.name.clone(),
        role: member.role.as_ref().map(|r| r.to_string()),
        is_provisioned: member.is_provisioned.map(|f| f.get()),
        profile_pic: member.profile_pic.clone(),
        joined_at: None,
        listed_at: Some(seen_at),
        seen_at,
    }
}

/// A subscriber as `POST …/subscribers` lists it (`None` without id or
/// number to key it by).
pub(crate) fn from_subscriber(group_id: &str, sub: &Subscriber, seen_at: i64) -> Option<MemberRow> {
    let member_id = sub
        .id
        .as_ref()
        .map(|u| u.to_string())
        .or_else(|| sub.mobile_number.clone())?;
    Some(MemberRow {
        group_id: group_id.to_owned(),
        member_id,
        phone: sub.mobile_number.clone(),
        name: sub.name.clone().filter(|n| !n.is_empty()),
        role: Some(SUBSCRIBER.to_owned()),
        is_provisioned: sub.is_provisioned.map(|f| f.get()),
        profile_pic: sub.profile_pic.clone().filter(|p| !p.is_empty()),
        joined_at: None,
        listed_at: Some(seen_at),
        seen_at,
    })
}
