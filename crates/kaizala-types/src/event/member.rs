//! `MemberAdded`, `MemberRemoved`.

use crate::UserId;
use crate::common::MemberRole;

wire_object! {
    /// Payload of `MemberAdded` and `MemberRemoved`.
    #[derive(Default)]
    pub struct MemberEventData {
        /// The member's phone number (as sent).
        opt member: String = "member",
        /// The member's user id.
        opt member_id: UserId = "memberId",
        /// The member's name.
        opt member_name: String = "memberName",
        /// The member's picture URL.
        opt member_profile_pic: String = "memberProfilePic",
        /// The member's role.
        opt role: MemberRole = "type",
    }
}
