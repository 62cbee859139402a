//! `GET /groups/{groupId}/actions?actionType=…` (`actions_get.md`).

use super::{ActionType, PollChoice};
use crate::common::Place;
use crate::{ActionId, Flag, Numeric, ReferenceId, Timestamp};

wire_object! {
    /// The answer of `GET /groups/{groupId}/actions`.
    pub struct ActionList {
        /// This page of actions.
        req actions: Vec<ActionSummary> = "actions",
        /// More remain: ask again with `fromDate` after the last one.
        opt has_more: Flag = "hasMore",
    }
}

wire_object! {
    @manual_arb
    /// An action as listed.
    pub struct ActionSummary {
        /// Id of the message that carried it.
        opt reference_id: ReferenceId = "referenceId",
        /// Its type, which types `action_body`.
        opt action_type: ActionType = "actionType",
        /// Who sent it (phone number, as sent).
        opt sender: String = "sender",
        /// When it was sent (the table says `sentAt`, ISO 8601).
        opt sent_at: Timestamp = "sentAt",
        /// When it was sent (older samples say `creationTime`, epoch seconds).
        opt creation_time: Timestamp = "creationTime",
        /// Type-specific content.
        opt action_body: SummaryBody = "actionBody" => action_type,
    }
}

impl ActionSummary {
    /// When it was sent, whichever property carried it.
    pub fn sent(&self) -> Option<&Timestamp> {
        self.sent_at.as_ref().or(self.creation_time.as_ref())
    }
}

tagged_enum! {
    /// The `actionBody` of a listed action, by action type.
    pub enum SummaryBody by ActionType {
        /// `Image`, `Album`.
        Image(ImageSummary) = Some(ActionType::Image | ActionType::Album),
        /// `ShareLocation`, `PhotoWithLocation`.
        Location(LocationSummary) = Some(ActionType::ShareLocation | ActionType::PhotoWithLocation),
        /// `Job`.
        Job(JobSummary) = Some(ActionType::Job),
        /// `Poll`.
        Poll(PollSummary) = Some(ActionType::Poll),
        /// `LetsMeet`.
        LetsMeet(LetsMeetSummary) = Some(ActionType::LetsMeet),
        /// `Survey`.
        Survey(SurveySummary) = Some(ActionType::Survey),
        _ =>
        /// Any other action type (or none), kept verbatim.
        Other,
    }
}

wire_object! {
    /// A picture as listed.
    #[derive(Default)]
    pub struct ImageSummary {
        /// Where the picture is (documented as `imageURL`).
        opt image_url: String = "imageUrl",
        /// The text sent with the picture.
        opt caption: String = "caption",
    }
}

wire_object! {
    /// A shared location, or a photo with its location.
    #[derive(Default)]
    pub struct LocationSummary {
        /// The photo (PhotoWithLocation).
        opt image_url: String = "imageUrl",
        /// Latitude in degrees.
        opt latitude: Numeric = "latitude",
        /// Longitude in degrees.
        opt longitude: Numeric = "longitude",
    }
}

wire_object! {
    /// A job as listed.
    #[derive(Default)]
    pub struct JobSummary {
        /// The job's action id.
        opt action_id: ActionId = "actionId",
        /// What is to be done.
        opt title: String = "title",
        /// Number of assignees.
        opt assignee_count: u64 = "assigneeCount",
        /// Assignees who completed it.
        opt response_count: u64 = "responseCount",
        /// Every assignee completed it.
        opt is_completed: Flag = "isCompleted",
        /// When it is due.
        opt due_date: Timestamp = "dueDate",
    }
}

wire_object! {
    /// A poll as listed.
    #[derive(Default)]
    pub struct PollSummary {
        /// The poll's action id.
        opt action_id: ActionId = "actionId",
        /// The question asked.
        opt question: String = "question",
        /// Only the sender sees the summary.
        opt is_sender_only: Flag = "isSenderOnly",
        /// When it closes.
        opt expiry_date: Timestamp = "expiryDate",
        /// The choices, with the URLs of their pictures.
        opt choices: Vec<PollChoice> = "choices",
    }
}

wire_object! {
    /// A meeting request as listed.
    #[derive(Default)]
    pub struct LetsMeetSummary {
        /// The meeting's action id.
        opt action_id: ActionId = "actionId",
        /// What the meeting is about.
        opt title: String = "title",
        /// When it starts.
        opt starting_time: Timestamp = "startingTime",
        /// What is to be discussed.
        opt agenda: String = "agenda",
        /// Minutes.
        opt duration: u64 = "duration" | "durationInMins",
        /// Only the sender sees the summary.
        opt is_sender_only: Flag = "isSenderOnly",
        /// Where.
        opt place: Place = "place",
    }
}

wire_object! {
    /// A survey as listed.
    #[derive(Default)]
    pub struct SurveySummary {
        /// The survey's action id.
        opt action_id: ActionId = "actionId",
        /// The survey's name.
        opt title: String = "title",
        /// Number of responses.
        opt response_count: u64 = "responseCount",
        /// When it closes.
        opt expiry_date: Timestamp = "expiryDate",
    }
}

#[cfg(test)]
mod arb {
    use proptest::prelude::*;

    use super::*;
    use crate::arb::Arb;

    fn body_for(action_type: Option<&ActionType>) -> BoxedStrategy<SummaryBody> {
        match action_type {
            Some(ActionType::Image | ActionType::Album) => {
                ImageSummary::arb().prop_map(SummaryBody::Image).boxed()
            }
            Some(ActionType::ShareLocation | ActionType::PhotoWithLocation) => {
                LocationSummary::arb()
                    .prop_map(SummaryBody::Location)
                    .boxed()
            }
            Some(ActionType::Job) => JobSummary::arb().prop_map(SummaryBody::Job).boxed(),
            Some(ActionType::Poll) => PollSummary::arb().prop_map(SummaryBody::Poll).boxed(),
            Some(ActionType::LetsMeet) => LetsMeetSummary::arb()
                .prop_map(SummaryBody::LetsMeet)
                .boxed(),
            Some(ActionType::Survey) => SurveySummary::arb().prop_map(SummaryBody::Survey).boxed(),
            _ => <serde_json::Value as Arb>::arb()
                .prop_filter("not null", |v| !v.is_null())
                .prop_map(SummaryBody::Other)
                .boxed(),
        }
    }

    impl Arb for ActionSummary {
        fn arb() -> BoxedStrategy<Self> {
            proptest::option::of(ActionType::arb())
                .prop_flat_map(|action_type| {
                    let body = proptest::option::of(body_for(action_type.as_ref()));
                    (
                        Just(action_type),
                        body,
                        proptest::option::of(ReferenceId::arb()),
                        proptest::option::of(String::arb()),
                        proptest::option::of(Timestamp::arb()),
                        proptest::option::of(Timestamp::arb()),
                        crate::arb::extra(),
                    )
                })
                .prop_map(
                    |(
                        action_type,
                        action_body,
                        reference_id,
                        sender,
                        sent_at,
                        creation_time,
                        extra,
                    )| {
                        ActionSummary {
                            reference_id,
                            action_type,
                            sender,
                            sent_at,
                            creation_time,
                            action_body,
                            extra,
                        }
                    },
                )
                .boxed()
        }
    }
}
