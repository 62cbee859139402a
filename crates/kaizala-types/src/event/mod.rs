//! Webhook events (`EventSchema.md`, `webHooks.md`): the body of every
//! callback POST the platform makes to a subscribed URL.
//!
//! [`Event`] is the entry point; its `data` is typed by its `eventType`
//! ([`EventData`]), and events of types this version does not know are kept
//! whole ([`EventType::Other`], [`EventData::Unknown`]).

mod action;
mod announcement;
mod attachment;
mod group;
mod head;
mod job_created;
mod member;
mod text_message;

pub use action::ActionEventData;
pub use announcement::AnnouncementData;
pub use attachment::AttachmentData;
pub use group::GroupEventData;
pub use head::EventHead;
pub use job_created::JobCreatedData;
pub use member::MemberEventData;
pub use text_message::TextMessageData;

use crate::{DecodeError, EventId, Flag, GroupId, ObjectId, UserId};

wire_enum! {
    /// The type of a webhook event. `Display` gives the wire name.
    pub enum EventType {
        /// A custom action (or survey) was created.
        ActionCreated = "ActionCreated",
        /// A custom action was responded to.
        ActionResponse = "ActionResponse",
        /// A survey was created.
        SurveyCreated = "SurveyCreated",
        /// A job was created.
        JobCreated = "JobCreated",
        /// A survey was responded to.
        SurveyResponse = "SurveyResponse",
        /// A job assignee responded.
        JobResponse = "JobResponse",
        /// A text message was sent.
        TextMessageCreated = "TextMessageCreated",
        /// An attachment was sent.
        AttachmentCreated = "AttachmentCreated",
        /// An announcement was posted.
        Announcement = "Announcement",
        /// A member joined.
        MemberAdded = "MemberAdded",
        /// A member left or was removed.
        MemberRemoved = "MemberRemoved",
        /// A sub-group was added.
        GroupAdded = "GroupAdded",
        /// A sub-group was removed.
        GroupRemoved = "GroupRemoved",
        /// A poll was created (seen in real subscriptions, undocumented).
        PollCreated = "PollCreated",
        /// A poll was answered (seen in real subscriptions, undocumented).
        PollResponse = "PollResponse",
        /// A meeting request was created (seen in real subscriptions, undocumented).
        LetsMeetCreated = "LetsMeetCreated",
        /// A meeting request was answered (seen in real subscriptions, undocumented).
        LetsMeetResponse = "LetsMeetResponse",
    }
}

impl EventType {
    /// The 13 event types `webHooks.md` lists as subscribable.
    pub const DOCUMENTED: [EventType; 13] = [
        EventType::ActionCreated,
        EventType::ActionResponse,
        EventType::SurveyCreated,
        EventType::JobCreated,
        EventType::SurveyResponse,
        EventType::JobResponse,
        EventType::TextMessageCreated,
        EventType::AttachmentCreated,
        EventType::Announcement,
        EventType::MemberAdded,
        EventType::MemberRemoved,
        EventType::GroupAdded,
        EventType::GroupRemoved,
    ];
}

wire_enum! {
    /// What a webhook is attached to.
    pub enum ObjectType {
        /// A conversation group (and its sub-groups).
        Group = "Group",
        /// One action instance.
        Action = "Action",
        /// Every instance of an action package.
        ActionPackage = "ActionPackage",
    }
}

tagged_enum! {
    /// The typed `data` of an event, chosen by its `eventType`.
    pub enum EventData by EventType {
        /// `TextMessageCreated`.
        TextMessage(TextMessageData) = Some(EventType::TextMessageCreated),
        /// `AttachmentCreated`.
        Attachment(AttachmentData) = Some(EventType::AttachmentCreated),
        /// `Announcement`.
        Announcement(AnnouncementData) = Some(EventType::Announcement),
        /// `JobCreated`.
        JobCreated(JobCreatedData) = Some(EventType::JobCreated),
        /// `ActionCreated`, `SurveyCreated`, `ActionResponse`,
        /// `SurveyResponse`, `JobResponse`, `PollCreated`, `PollResponse`,
        /// `LetsMeetCreated`, `LetsMeetResponse`.
        Action(ActionEventData) = Some(
            EventType::ActionCreated
                | EventType::SurveyCreated
                | EventType::ActionResponse
                | EventType::SurveyResponse
                | EventType::JobResponse
                | EventType::PollCreated
                | EventType::PollResponse
                | EventType::LetsMeetCreated
                | EventType::LetsMeetResponse
        ),
        /// `MemberAdded`, `MemberRemoved`.
        Member(MemberEventData) = Some(EventType::MemberAdded | EventType::MemberRemoved),
        /// `GroupAdded`, `GroupRemoved`.
        Group(GroupEventData) = Some(EventType::GroupAdded | EventType::GroupRemoved),
        _ =>
        /// An event type this version does not know: `data` kept verbatim.
        Unknown,
    }
}

wire_object! {
    @manual_arb
    /// A webhook callback body.
    ///
    /// ```
    /// use kaizala_types::event::{Event, EventData, EventType};
    ///
    /// let event = Event::from_slice(br#"{"eventId": "e1", "eventType": "TextMessageCreated",
    ///     "objectId": "g1", "objectType": "Group", "data": {"text": "hello"}}"#)?;
    /// assert_eq!(event.event_id(), "e1");
    /// assert_eq!(event.event_type().to_string(), "TextMessageCreated");
    /// assert_eq!(event.text_message().and_then(|m| m.text.as_deref()), Some("hello"));
    ///
    /// // Unknown event types are kept, typed as unknown.
    /// let event = Event::from_slice(br#"{"eventId": "e2", "eventType": "StickerSent", "data": {"id": 7}}"#)?;
    /// assert_eq!(event.event_type().to_string(), "StickerSent");
    /// assert!(matches!(event.data(), Some(EventData::Unknown(_))));
    /// # Ok::<(), kaizala_types::DecodeError>(())
    /// ```
    pub struct Event {
        /// What the subscription watches (group id, action id or package id).
        opt object_id: ObjectId = "objectId",
        /// The kind of `object_id`.
        opt object_type: ObjectType = "objectType",
        /// The event type, which types `data`.
        req event_type: EventType = "eventType",
        /// The event's id; duplicate deliveries of one event share it.
        req event_id: EventId = "eventId",
        /// The event's payload (absent for some types).
        opt data: EventData = "data" => event_type,
        /// The subscription's `callBackContext`.
        opt context: String = "context",
        /// Sender's phone number (as sent; often masked).
        opt from_user: String = "fromUser",
        /// Sender's user id.
        opt from_user_id: UserId = "fromUserId",
        /// Sender's name.
        opt from_user_name: String = "fromUserName",
        /// Sender's picture URL.
        opt from_user_profile_pic: String = "fromUserProfilePic",
        /// The webhook that delivered it (real traffic).
        opt subscription_id: String = "subscriptionId",
        /// The group (real traffic).
        opt group_id: GroupId = "groupId",
        /// The group the event happened in, for parent-group subscriptions
        /// (real traffic).
        opt source_group_id: GroupId = "sourceGroupId",
        /// Whether a bot sent it (real traffic; spelled `isBotfromUser`).
        opt is_bot_from_user: Flag = "isBotfromUser",
    }
}

impl Event {
    /// A new event. `data`, when given, must be the payload `event_type`
    /// carries (see [`EventData`]); `None` is returned otherwise.
    pub fn new(
        event_id: impl Into<EventId>,
        event_type: EventType,
        data: Option<EventData>,
    ) -> Option<Self> {
        if let Some(data) = &data
            && !data.fits(&event_type)
        {
            return None;
        }
        Some(Event {
            object_id: None,
            object_type: None,
            event_type,
            event_id: event_id.into(),
            data,
            context: None,
            from_user: None,
            from_user_id: None,
            from_user_name: None,
            from_user_profile_pic: None,
            subscription_id: None,
            group_id: None,
            source_group_id: None,
            is_bot_from_user: None,
            extra: crate::Extra::new(),
        })
    }

    /// Decodes a callback body.
    pub fn from_slice(body: &[u8]) -> Result<Self, DecodeError> {
        crate::from_slice(body)
    }

    /// Decodes a callback body held as a string.
    pub fn from_json_str(body: &str) -> Result<Self, DecodeError> {
        crate::from_str(body)
    }

    /// The canonical JSON encoding: the same JSON as received, with property
    /// names in their documented spelling.
    pub fn to_vec(&self) -> Vec<u8> {
        crate::to_vec(self)
    }

    /// The event's id (dedupe on it: delivery is at least once).
    pub fn event_id(&self) -> &str {
        self.event_id.as_str()
    }

    /// The event's type; `to_string()` gives the wire name.
    pub fn event_type(&self) -> &EventType {
        &self.event_type
    }

    /// The typed payload, chosen by the event type; `None` when the body has
    /// no `data`.
    pub fn data(&self) -> Option<&EventData> {
        self.data.as_ref()
    }

    /// The payload of a `TextMessageCreated` event.
    pub fn text_message(&self) -> Option<&TextMessageData> {
        match &self.data {
            Some(EventData::TextMessage(data)) => Some(data),
            _ => None,
        }
    }

    /// The payload of an `AttachmentCreated` event.
    pub fn attachment(&self) -> Option<&AttachmentData> {
        match &self.data {
            Some(EventData::Attachment(data)) => Some(data),
            _ => None,
        }
    }

    /// The payload of an `Announcement` event.
    pub fn announcement(&self) -> Option<&AnnouncementData> {
        match &self.data {
            Some(EventData::Announcement(data)) => Some(data),
            _ => None,
        }
    }

    /// The payload of a `JobCreated` event.
    pub fn job_created(&self) -> Option<&JobCreatedData> {
        match &self.data {
            Some(EventData::JobCreated(data)) => Some(data),
            _ => None,
        }
    }

    /// The payload of an action event (created or responded to).
    pub fn action(&self) -> Option<&ActionEventData> {
        match &self.data {
            Some(EventData::Action(data)) => Some(data),
            _ => None,
        }
    }

    /// The payload of a `MemberAdded`/`MemberRemoved` event.
    pub fn member(&self) -> Option<&MemberEventData> {
        match &self.data {
            Some(EventData::Member(data)) => Some(data),
            _ => None,
        }
    }

    /// The payload of a `GroupAdded`/`GroupRemoved` event.
    pub fn group(&self) -> Option<&GroupEventData> {
        match &self.data {
            Some(EventData::Group(data)) => Some(data),
            _ => None,
        }
    }
}

impl EventData {
    /// Whether this is the payload `event_type` carries.
    pub fn fits(&self, event_type: &EventType) -> bool {
        use EventType as T;
        match self {
            EventData::TextMessage(_) => *event_type == T::TextMessageCreated,
            EventData::Attachment(_) => *event_type == T::AttachmentCreated,
            EventData::Announcement(_) => *event_type == T::Announcement,
            EventData::JobCreated(_) => *event_type == T::JobCreated,
            EventData::Action(_) => matches!(
                event_type,
                T::ActionCreated
                    | T::SurveyCreated
                    | T::ActionResponse
                    | T::SurveyResponse
                    | T::JobResponse
                    | T::PollCreated
                    | T::PollResponse
                    | T::LetsMeetCreated
                    | T::LetsMeetResponse
            ),
            EventData::Member(_) => matches!(event_type, T::MemberAdded | T::MemberRemoved),
            EventData::Group(_) => matches!(event_type, T::GroupAdded | T::GroupRemoved),
            EventData::Unknown(_) => !event_type.is_known(),
        }
    }
}

#[cfg(test)]
pub(crate) mod arb {
    use proptest::prelude::*;

    use super::*;
    use crate::arb::Arb;

    pub(crate) fn data_for(event_type: &EventType) -> BoxedStrategy<EventData> {
        use EventType as T;
        match event_type {
            T::TextMessageCreated => TextMessageData::arb()
                .prop_map(EventData::TextMessage)
                .boxed(),
            T::AttachmentCreated => AttachmentData::arb()
                .prop_map(EventData::Attachment)
                .boxed(),
            T::Announcement => AnnouncementData::arb()
                .prop_map(EventData::Announcement)
                .boxed(),
            T::JobCreated => JobCreatedData::arb()
                .prop_map(EventData::JobCreated)
                .boxed(),
            T::MemberAdded | T::MemberRemoved => {
                MemberEventData::arb().prop_map(EventData::Member).boxed()
            }
            T::GroupAdded | T::GroupRemoved => {
                GroupEventData::arb().prop_map(EventData::Group).boxed()
            }
            t if t.is_known() => ActionEventData::arb().prop_map(EventData::Action).boxed(),
            _ => <serde_json::Value as Arb>::arb()
                .prop_filter("not null", |v| !v.is_null())
                .prop_map(EventData::Unknown)
                .boxed(),
        }
    }

    impl Arb for Event {
        fn arb() -> BoxedStrategy<Self> {
            let envelope = (
                proptest::option::of(ObjectId::arb()),
                proptest::option::of(ObjectType::arb()),
                proptest::option::of(String::arb()),
                proptest::option::of(String::arb()),
                proptest::option::of(UserId::arb()),
                proptest::option::of(String::arb()),
                proptest::option::of(String::arb()),
                proptest::option::of(String::arb()),
                proptest::option::of(GroupId::arb()),
                proptest::option::of(GroupId::arb()),
                proptest::option::of(Flag::arb()),
            );
            (
                EventType::arb(),
                EventId::arb(),
                envelope,
                crate::arb::extra(),
            )
                .prop_flat_map(|(event_type, event_id, envelope, extra)| {
                    let data = proptest::option::of(data_for(&event_type));
                    (Just((event_type, event_id, envelope, extra)), data)
                })
                .prop_map(|((event_type, event_id, envelope, extra), data)| {
                    let (
                        object_id,
                        object_type,
                        context,
                        from_user,
                        from_user_id,
                        from_user_name,
                        from_user_profile_pic,
                        subscription_id,
                        group_id,
                        source_group_id,
                        is_bot_from_user,
                    ) = envelope;
                    Event {
                        object_id,
                        object_type,
                        event_type,
                        event_id,
                        data,
                        context,
                        from_user,
                        from_user_id,
                        from_user_name,
                        from_user_profile_pic,
                        subscription_id,
                        group_id,
                        source_group_id,
                        is_bot_from_user,
                        extra,
                    }
                })
                .boxed()
        }
    }
}
