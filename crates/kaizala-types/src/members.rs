//! Group members (`members.md`): list, add, remove. Adding and removing
//! answer a [`ResultResponse`](crate::common::ResultResponse).

use crate::common::MemberRole;
use crate::{Flag, PhoneNumber, UserId};

wire_object! {
    /// The answer of `GET /groups/{groupId}/members`.
    pub struct MemberList {
        /// The group's members.
        req members: Vec<Member> = "members",
    }
}

wire_object! {
    /// A group member.
    pub struct Member {
        /// The member's user id (the `{memberId}` of `DELETE …/members/{memberId}`).
        req id: UserId = "id",
        /// `Admin` or `Member`.
        opt role: MemberRole = "role",
        /// Phone number (as sent; may be masked or absent).
        opt mobile_number: String = "mobileNumber",
        /// Whether the user has installed Kaizala.
        opt is_provisioned: Flag = "isProvisioned",
        /// Display name.
        opt name: String = "name",
        /// Profile picture URL.
        opt profile_pic: String = "profilePic",
    }
}

wire_object! {
    /// `PUT /groups/{groupId}/members`.
    pub struct AddMembersRequest {
        /// Phone numbers of the members to add.
        req members: Vec<PhoneNumber> = "members",
    }
}

impl AddMembersRequest {
    /// Adds `members` to the path's group.
    pub fn new(members: impl IntoIterator<Item = PhoneNumber>) -> Self {
        AddMembersRequest {
            members: members.into_iter().collect(),
            extra: crate::Extra::new(),
        }
    }
}
