//! Groups (`groups.md`): create, list, get.

use crate::common::MemberRole;
use crate::{Flag, GroupId, PhoneNumber};

wire_enum! {
    /// What kind of group.
    pub enum GroupType {
        /// A conversation group.
        Group = "Group",
        /// A managed public group (subscribers instead of members); creating
        /// one needs a tenant-level user token.
        ConnectGroup = "ConnectGroup",
    }
}

wire_object! {
    /// `POST /groups`.
    pub struct CreateGroupRequest {
        /// Group name.
        req name: String = "name",
        /// Message shown to new members.
        opt welcome_message: String = "welcomeMessage",
        /// Members to add; the token's user is added as admin by default.
        opt members: Vec<PhoneNumber> = "members",
        /// `Group` (default) or `ConnectGroup`.
        opt group_type: GroupType = "groupType",
    }
}

impl CreateGroupRequest {
    /// A group named `name` with `welcome_message` for new members.
    pub fn new(name: impl Into<String>, welcome_message: impl Into<String>) -> Self {
        CreateGroupRequest {
            name: name.into(),
            welcome_message: Some(welcome_message.into()),
            members: None,
            group_type: None,
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// The answer of `POST /groups`.
    pub struct CreateGroupResponse {
        /// The new group's id.
        req group_id: GroupId = "groupId",
        /// The group's name.
        opt group_name: String = "groupName",
        /// Whether every requested member was added.
        opt members_added: Flag = "membersAdded",
    }
}

wire_object! {
    /// The answer of `GET /groups` and `GET /groups/{groupId}`.
    pub struct GroupList {
        /// The groups the token can see (one for `GET /groups/{groupId}`).
        req groups: Vec<GroupInfo> = "groups",
    }
}

wire_object! {
    /// A group as listed. Counts and flags beyond id and name appear only
    /// with `showDetail=true`.
    pub struct GroupInfo {
        /// The group's id: the `{groupId}` of the group calls.
        req group_id: GroupId = "groupId",
        /// The name members see.
        opt group_name: String = "groupName",
        /// URL of the group's picture (documented as `groupImageURL`, sent as
        /// `groupImageUrl`; both accepted).
        opt group_image_url: String = "groupImageUrl",
        /// Whether it has sub-groups.
        opt has_sub_groups: Flag = "hasSubGroups",
        /// Whether it is a sub-group of another group.
        opt has_parent_groups: Flag = "hasParentGroups",
        /// The token user's role in it.
        opt caller_role: MemberRole = "callerRole",
        /// Number of direct sub-groups.
        opt current_level_sub_group_count: u64 = "currentLevelSubGroupCount",
        /// Number of direct parent groups.
        opt current_level_parent_group_count: u64 = "currentLevelParentGroupCount",
        /// Users across the whole hierarchy.
        opt user_count: u64 = "userCount",
        /// Distinct users across the hierarchy.
        opt unique_user_count: u64 = "uniqueUserCount",
        /// Members at this level.
        opt current_level_user_count: u64 = "currentLevelUserCount",
        /// Members at this level who have not installed Kaizala yet.
        opt current_level_un_provisioned_user_count: u64 = "currentLevelUnProvisionedUserCount",
        /// Such members across the hierarchy.
        opt un_provisioned_user_count: u64 = "unProvisionedUserCount",
        /// Whether it is an organisation (tenant) group.
        opt is_mapped_to_tenant: Flag = "isMappedToTenant",
        /// `Group` or `ConnectGroup`.
        opt group_type: GroupType = "groupType",
        /// Whether the id already existed (sub-group creation).
        opt is_duplicate: Flag = "isDuplicate",
        /// Whether the caller may edit it.
        opt is_editable: Flag = "isEditable",
        /// Whether the caller may read its details.
        opt is_details_readable: Flag = "isDetailsReadable",
        /// Message shown to new members.
        opt welcome_message: String = "welcomeMessage",
        /// Its sub-groups (`GET /groups/{groupId}/subGroups`).
        opt sub_groups: Vec<SubGroup> = "subGroups",
    }
}

wire_object! {
    /// A sub-group as listed under its parent (deeper levels, with
    /// `fetchAllGroups=true`, stay in `extra` as received).
    pub struct SubGroup {
        /// The sub-group's id: the `{groupId}` of the group calls.
        req group_id: GroupId = "groupId",
        /// The name members see.
        opt group_name: String = "groupName",
        /// URL of the group's picture.
        opt group_image_url: String = "groupImageUrl",
        /// Whether it has sub-groups of its own.
        opt has_sub_groups: Flag = "hasSubGroups",
        /// Whether it has parent groups (it does).
        opt has_parent_groups: Flag = "hasParentGroups",
        /// Whether it is an organisation group.
        opt is_mapped_to_tenant: Flag = "isMappedToTenant",
        /// `Group` or `ConnectGroup`.
        opt group_type: GroupType = "groupType",
        /// Whether the id already existed.
        opt is_duplicate: Flag = "isDuplicate",
        /// Message shown to new members.
        opt welcome_message: String = "welcomeMessage",
    }
}
