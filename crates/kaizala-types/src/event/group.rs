//! `GroupAdded`, `GroupRemoved` (no payload is documented: the group
//! properties the platform uses elsewhere are modelled, the rest is kept).

use crate::GroupId;

wire_object! {
    /// Payload of `GroupAdded` and `GroupRemoved`: a group joined or left
    /// the watched group's hierarchy.
    #[derive(Default)]
    pub struct GroupEventData {
        /// The group added or removed.
        opt group_id: GroupId = "groupId",
        /// The added or removed group's name.
        opt group_name: String = "groupName",
        /// Its picture URL.
        opt group_image_url: String = "groupImageUrl",
        /// The parent it was added to or removed from.
        opt parent_group_id: GroupId = "parentGroupId",
    }
}
