//! Subscribers of managed public groups.

use kaizala_types::GroupId;
use kaizala_types::subscribers::{
    ListSubscribersRequest, SubscriberChangeResponse, SubscriberList, SubscribersRequest,
};

endpoint! {
    /// `POST /groups/{groupId}/subscribers`: one page of subscribers (a read
    /// sent as POST; see [`crate::pagination`]).
    ListSubscribers => ListSubscribers -> SubscriberList {
        /// The public group.
        path group_id: GroupId,
        /// Cursor and page size.
        json request: ListSubscribersRequest,
    }
}

endpoint! {
    /// `PUT /groups/{groupId}/subscribers/add`.
    AddSubscribers => AddSubscribers -> SubscriberChangeResponse {
        /// The public group.
        path group_id: GroupId,
        /// The numbers to add.
        json request: SubscribersRequest,
    }
}

endpoint! {
    /// `PUT /groups/{groupId}/subscribers/remove`.
    RemoveSubscribers => RemoveSubscribers -> SubscriberChangeResponse {
        /// The public group.
        path group_id: GroupId,
        /// The numbers to remove.
        json request: SubscribersRequest,
    }
}
