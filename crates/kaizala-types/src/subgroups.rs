//! Sub-groups (`subGroups.md`, Swagger): list, create, add existing, remove.
//! Removing answers a [`ResultResponse`](crate::common::ResultResponse).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::groups::{GroupInfo, GroupList};
use crate::{Flag, GroupId, PhoneNumber};

/// The answer of `GET /groups/{groupId}/subGroups`.
///
/// `subGroups.md` shows `{"groups": [{…, "subGroups": […]}]}`; the vendor's
/// Swagger example is the bare parent group `{…, "subGroups": […]}`. Both are
/// accepted and re-encoded in the form they came in.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // decoded once per call, never stored in bulk
pub enum SubGroupList {
    /// `{"groups": [...]}`.
    Groups(GroupList),
    /// The parent group itself.
    Group(GroupInfo),
}

impl SubGroupList {
    /// The parent group(s), each with its `sub_groups`.
    pub fn groups(&self) -> &[GroupInfo] {
        match self {
            SubGroupList::Groups(list) => &list.groups,
            SubGroupList::Group(group) => std::slice::from_ref(group),
        }
    }
}

impl Serialize for SubGroupList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SubGroupList::Groups(list) => list.serialize(serializer),
            SubGroupList::Group(group) => group.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for SubGroupList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShapeVisitor;
        impl<'de> Visitor<'de> for ShapeVisitor {
            type Value = serde_json::Map<String, Value>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object (SubGroupList)")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                serde_json::Map::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        // Small response, read rarely: buffering it to tell the shapes apart
        // is simpler than a second visitor.
        let object = deserializer.deserialize_map(ShapeVisitor)?;
        let listed = object.keys().any(|k| k.eq_ignore_ascii_case("groups"));
        let value = Value::Object(object);
        if listed {
            GroupList::deserialize(value).map(SubGroupList::Groups)
        } else {
            GroupInfo::deserialize(value).map(SubGroupList::Group)
        }
        .map_err(de::Error::custom)
    }
}

impl crate::wire::Wire for SubGroupList {
    fn decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        SubGroupList::deserialize(deserializer)
    }
}

#[cfg(test)]
impl crate::arb::Arb for SubGroupList {
    fn arb() -> proptest::strategy::BoxedStrategy<Self> {
        use proptest::prelude::*;
        prop_oneof![
            GroupList::arb().prop_map(SubGroupList::Groups),
            GroupInfo::arb().prop_map(SubGroupList::Group),
        ]
        .boxed()
    }
}

wire_object! {
    /// `POST /groups/{groupId}/subGroups`: creates a sub-group.
    pub struct CreateSubGroupRequest {
        /// Name of the sub-group.
        req group_name: String = "groupName",
        /// Picture URL (upload it through `/media` first).
        opt group_image_url: String = "groupImageUrl",
        /// Members to add.
        opt members: Vec<PhoneNumber> = "members",
        /// Message shown to new members.
        opt welcome_message: String = "welcomeMessage",
        /// `false` keeps the calling user out of the new group.
        opt add_user_to_group: Flag = "addUserToGroup",
    }
}

impl CreateSubGroupRequest {
    /// A sub-group named `group_name`.
    pub fn new(group_name: impl Into<String>) -> Self {
        CreateSubGroupRequest {
            group_name: group_name.into(),
            group_image_url: None,
            members: None,
            welcome_message: None,
            add_user_to_group: None,
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// The answer of `POST /groups/{groupId}/subGroups`.
    pub struct CreateSubGroupResponse {
        /// The new sub-group's id.
        req group_id: GroupId = "groupId",
        /// The name it was created with.
        opt group_name: String = "groupName",
    }
}

wire_object! {
    /// `PUT /groups/{groupId}/subGroups`: makes existing groups sub-groups.
    pub struct AddSubGroupsRequest {
        /// Ids of the groups to add.
        req sub_groups: Vec<GroupId> = "subGroups",
    }
}

impl AddSubGroupsRequest {
    /// Adds `sub_groups` under the path's group.
    pub fn new(sub_groups: impl IntoIterator<Item = GroupId>) -> Self {
        AddSubGroupsRequest {
            sub_groups: sub_groups.into_iter().collect(),
            extra: crate::Extra::new(),
        }
    }
}
