//! Group members.

use kaizala_types::common::ResultResponse;
use kaizala_types::members::{AddMembersRequest, MemberList};
use kaizala_types::{GroupId, UserId};

endpoint! {
    /// `GET /groups/{groupId}/members`.
    ListMembers => ListMembers -> MemberList {
        /// The group whose members are listed.
        path group_id: GroupId,
    }
}

endpoint! {
    /// `PUT /groups/{groupId}/members`: adds members by phone number.
    AddMembers => AddMembers -> ResultResponse {
        /// The group to add the members to.
        path group_id: GroupId,
        /// The phone numbers of the members to add.
        json request: AddMembersRequest,
    }
}

endpoint! {
    /// `DELETE /groups/{groupId}/members/{memberId}`.
    RemoveMember => RemoveMember -> ResultResponse {
        /// The group to remove the member from.
        path group_id: GroupId,
        /// The member's id (from [`ListMembers`]).
        path member_id: UserId,
    }
}
