//! Subscribers of managed public groups (`subscribers.md`): list (a read
//! done with `POST`, paginated by cursor), add, remove.

use std::collections::BTreeMap;

use crate::{Cursor, Flag, PhoneNumber, UserId};

wire_object! {
    /// `POST /groups/{groupId}/subscribers`: one page of subscribers.
    #[derive(Default)]
    pub struct ListSubscribersRequest {
        /// Where to continue, from the previous page's `cursor`.
        opt cursor: Cursor = "cursor",
        /// Page size, at most 50 (the default).
        opt count: u32 = "count",
    }
}

impl ListSubscribersRequest {
    /// The largest page the platform serves.
    pub const MAX_COUNT: u32 = 50;
}

wire_object! {
    /// The answer of `POST /groups/{groupId}/subscribers`.
    pub struct SubscriberList {
        /// This page.
        req subscribers: Vec<Subscriber> = "subscribers",
        /// Present only when another page follows.
        opt cursor: Cursor = "cursor",
    }
}

wire_object! {
    /// A subscriber of a public group.
    pub struct Subscriber {
        /// User id.
        opt id: UserId = "id",
        /// Phone number (as sent).
        opt mobile_number: String = "mobileNumber",
        /// Display name (often empty).
        opt name: String = "name",
        /// Profile picture URL (often empty).
        opt profile_pic: String = "profilePic",
        /// Whether the user has installed Kaizala.
        opt is_provisioned: Flag = "isProvisioned",
    }
}

wire_object! {
    /// `PUT /groups/{groupId}/subscribers/add` and `…/remove`.
    pub struct SubscribersRequest {
        /// Phone numbers to add or remove.
        req subscribers: Vec<PhoneNumber> = "subscribers",
    }
}

impl SubscribersRequest {
    /// A request naming `subscribers`.
    pub fn new(subscribers: impl IntoIterator<Item = PhoneNumber>) -> Self {
        SubscribersRequest {
            subscribers: subscribers.into_iter().collect(),
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// The answer of adding or removing subscribers: one outcome per number.
    pub struct SubscriberChangeResponse {
        /// Outcome keyed by phone number as sent.
        req result: BTreeMap<String, SubscriberOutcome> = "result",
    }
}

wire_object! {
    /// What happened to one number.
    #[derive(Default)]
    pub struct SubscriberOutcome {
        /// Set by `…/add`.
        opt is_added: Flag = "isAdded",
        /// Set by `…/remove`.
        opt is_removed: Flag = "isRemoved",
        /// Why it failed, when it did.
        opt reason: String = "reason",
    }
}
