//! `POST /groups/{groupId}/actions` (`actions_post.md`, `media.md`).

use super::{ActionType, Property, QuestionSpec};
use crate::common::Place;
use crate::media::{MediaKind, MediaResource};
use crate::{ActionId, ActionPackageId, Flag, PhoneNumber, ReferenceId, Timestamp};

wire_object! {
    @manual_arb
    /// `POST /groups/{groupId}/actions`: posts an action. Either
    /// `action_type` names a built-in action, or `id` names an action package
    /// (a custom action) and the body carries its properties.
    ///
    /// ```
    /// use kaizala_types::actions::{CreateActionRequest, QuestionSpec, QuestionType, SurveyBody};
    ///
    /// let survey = SurveyBody::new(
    ///     "Store visit",
    ///     vec![
    ///         QuestionSpec::new("Outlet name", QuestionType::Text),
    ///         QuestionSpec::with_options("Stock level", QuestionType::SingleOption, ["Low", "OK", "High"]),
    ///     ],
    /// );
    /// let request = CreateActionRequest::survey(survey);
    /// let json = kaizala_types::to_string(&request);
    /// assert!(json.starts_with(r#"{"actionType":"Survey","actionBody":{"title":"Store visit","questions":["#));
    /// ```
    pub struct CreateActionRequest {
        /// The action package id, for custom actions.
        opt id: ActionPackageId = "id",
        /// The built-in action type (the Swagger example spells the key
        /// `actiontype`; any case is accepted).
        opt action_type: ActionType = "actionType",
        /// What to post, typed by `action_type`.
        req action_body: ActionBody = "actionBody" => action_type,
        /// Public groups: send only to these subscribers.
        opt subscribers: Vec<PhoneNumber> = "subscribers",
        /// Public groups: send to every subscriber.
        opt send_to_all_subscribers: Flag = "sendToAllSubscribers",
    }
}

impl CreateActionRequest {
    fn built_in(action_type: ActionType, action_body: ActionBody) -> Self {
        CreateActionRequest {
            id: None,
            action_type: Some(action_type),
            action_body,
            subscribers: None,
            send_to_all_subscribers: None,
            extra: crate::Extra::new(),
        }
    }

    /// Posts an announcement.
    pub fn announcement(body: AnnouncementBody) -> Self {
        Self::built_in(ActionType::Announcement, ActionBody::Announcement(body))
    }

    /// Posts a job.
    pub fn job(body: JobBody) -> Self {
        Self::built_in(ActionType::Job, ActionBody::Job(body))
    }

    /// Posts a poll.
    pub fn poll(body: PollBody) -> Self {
        Self::built_in(ActionType::Poll, ActionBody::Poll(body))
    }

    /// Posts a meeting request.
    pub fn lets_meet(body: LetsMeetBody) -> Self {
        Self::built_in(ActionType::LetsMeet, ActionBody::LetsMeet(body))
    }

    /// Posts a survey.
    pub fn survey(body: SurveyBody) -> Self {
        Self::built_in(ActionType::Survey, ActionBody::Survey(body))
    }

    /// Posts an uploaded file as `kind` of media (an image may also be
    /// posted as an `Album` by setting `action_type` afterwards).
    pub fn media(kind: MediaKind, body: MediaBody) -> Self {
        Self::built_in(kind.action_type(), ActionBody::Media(body))
    }

    /// Posts an instance of the custom action package `id`.
    pub fn custom(id: impl Into<ActionPackageId>, body: CustomActionBody) -> Self {
        CreateActionRequest {
            id: Some(id.into()),
            action_type: None,
            action_body: ActionBody::Custom(body),
            subscribers: None,
            send_to_all_subscribers: None,
            extra: crate::Extra::new(),
        }
    }
}

tagged_enum! {
    /// The `actionBody` of [`CreateActionRequest`], by action type.
    pub enum ActionBody by ActionType {
        /// `Announcement`.
        Announcement(AnnouncementBody) = Some(ActionType::Announcement),
        /// `Job`.
        Job(JobBody) = Some(ActionType::Job),
        /// `Poll`.
        Poll(PollBody) = Some(ActionType::Poll),
        /// `LetsMeet`.
        LetsMeet(LetsMeetBody) = Some(ActionType::LetsMeet),
        /// `Survey`.
        Survey(SurveyBody) = Some(ActionType::Survey),
        /// `Image`, `Album`, `Audio`, `Document`, `Video`.
        Media(MediaBody) = Some(ActionType::Image | ActionType::Album | ActionType::Audio | ActionType::Document | ActionType::Video),
        /// No action type: an action package instance (`id` set).
        Custom(CustomActionBody) = None,
        _ =>
        /// An action type this version does not know, kept verbatim.
        Other,
    }
}

wire_object! {
    /// What an announcement posts: a message, with an optional title and
    /// pictures.
    pub struct AnnouncementBody {
        /// The heading above the message, if any.
        opt title: String = "title",
        /// Text (documented as `Message`).
        req message: String = "message",
        /// Pictures, uploaded through `/media` first (documented as
        /// `MediaResources`).
        opt media_resources: Vec<MediaResource> = "mediaResources",
    }
}

impl AnnouncementBody {
    /// An announcement with a title.
    pub fn new(title: impl Into<String>, message: impl Into<String>) -> Self {
        AnnouncementBody {
            title: Some(title.into()),
            message: message.into(),
            media_resources: None,
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// What a job posts: a task for the assigned members, due after some
    /// hours (24 by default).
    pub struct JobBody {
        /// What is to be done.
        req title: String = "title",
        /// The phone numbers of the members it is assigned to.
        req assigned_to: Vec<PhoneNumber> = "assignedTo",
        /// Hours until the job is due (default 24).
        opt due_date: u64 = "dueDate",
    }
}

impl JobBody {
    /// A job for `assigned_to`.
    pub fn new(
        title: impl Into<String>,
        assigned_to: impl IntoIterator<Item = PhoneNumber>,
    ) -> Self {
        JobBody {
            title: title.into(),
            assigned_to: assigned_to.into_iter().collect(),
            due_date: None,
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// A poll choice.
    pub struct PollChoice {
        /// The choice's text.
        req title: String = "title",
        /// A picture: a media resource when posting, a URL when listed.
        opt image: String = "image",
    }
}

impl PollChoice {
    /// A choice without picture.
    pub fn new(title: impl Into<String>) -> Self {
        PollChoice {
            title: title.into(),
            image: None,
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// A quick poll.
    pub struct PollBody {
        /// The question the members answer by picking a choice.
        req question: String = "question",
        /// The choices (documented as `Choices`).
        req choices: Vec<PollChoice> = "choices",
        /// Hours until the poll closes (default 720).
        opt expiry_in_hours: u64 = "expiryInHours",
    }
}

impl PollBody {
    /// A poll whose choices are text only, closing after the default 720 hours.
    pub fn new<T: Into<String>>(
        question: impl Into<String>,
        choices: impl IntoIterator<Item = T>,
    ) -> Self {
        PollBody {
            question: question.into(),
            choices: choices.into_iter().map(PollChoice::new).collect(),
            expiry_in_hours: None,
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// A meeting request.
    pub struct LetsMeetBody {
        /// What the meeting is about.
        req title: String = "title",
        /// When it starts.
        req starting_time: Timestamp = "startingTime",
        /// Minutes (default 30). The table says `DurationInMins`, the
        /// sample and the list response say `duration`; both accepted.
        opt duration: u64 = "duration" | "durationInMins",
        /// Where.
        opt place: Place = "place",
        /// What is to be discussed.
        opt agenda: String = "agenda",
        /// Only the sender sees the summary.
        opt is_sender_only: Flag = "isSenderOnly",
    }
}

impl LetsMeetBody {
    /// A meeting starting at `starting_time`.
    pub fn new(title: impl Into<String>, starting_time: Timestamp) -> Self {
        LetsMeetBody {
            title: title.into(),
            starting_time,
            duration: None,
            place: None,
            agenda: None,
            is_sender_only: None,
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// What a survey posts: its questions, and how responses are taken and
    /// shown.
    pub struct SurveyBody {
        /// The survey's name, as members see it.
        req title: String = "title",
        /// Hours until the survey closes (default 24).
        opt due_date: u64 = "dueDate",
        /// Responses are anonymous.
        opt is_anonymous: Flag = "isAnonymous",
        /// Only the sender sees the summary.
        opt is_sender_only: Flag = "isSenderOnly",
        /// A member may respond more than once.
        opt accept_multiple_responses: Flag = "acceptMultipleResponses",
        /// The questions, in the order they are asked.
        req questions: Vec<QuestionSpec> = "questions",
        /// Properties (action package instances only).
        opt properties: Vec<Property> = "properties",
    }
}

impl SurveyBody {
    /// A survey with every option left to the platform's defaults.
    pub fn new(title: impl Into<String>, questions: Vec<QuestionSpec>) -> Self {
        SurveyBody {
            title: title.into(),
            due_date: None,
            is_anonymous: None,
            is_sender_only: None,
            accept_multiple_responses: None,
            questions,
            properties: None,
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// An uploaded file posted as an Image, Album, Audio, Document or Video.
    pub struct MediaBody {
        /// What `/media` returned.
        req media_resource: MediaResource = "mediaResource",
        /// Shown with the file.
        opt caption: String = "caption",
    }
}

impl MediaBody {
    /// A post of an uploaded file; which kind of media it is goes in the
    /// request ([`CreateActionRequest::media`]).
    pub fn new(media_resource: MediaResource) -> Self {
        MediaBody {
            media_resource,
            caption: None,
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// The body of an action package instance: the package decides what it
    /// reads; these are the documented fields, the rest stays in `extra`.
    #[derive(Default)]
    pub struct CustomActionBody {
        /// Overrides the package's title.
        opt title: String = "title",
        /// Hours the instance stays open.
        opt validity: u64 = "validity",
        /// Hours until it is due.
        opt due_date: u64 = "dueDate",
        /// The package's properties.
        opt properties: Vec<Property> = "properties",
        /// Questions, for packages built like surveys.
        opt questions: Vec<QuestionSpec> = "questions",
    }
}

wire_object! {
    /// The answer of `POST /groups/{groupId}/actions`.
    pub struct CreateActionResponse {
        /// Id of the posted message.
        req reference_id: ReferenceId = "referenceId",
        /// Id of the action instance (not sent for media posts).
        opt action_id: ActionId = "actionId",
    }
}

#[cfg(test)]
mod arb {
    use proptest::prelude::*;

    use super::*;
    use crate::arb::Arb;

    pub(crate) fn body_for(action_type: Option<&ActionType>) -> BoxedStrategy<ActionBody> {
        match action_type {
            Some(ActionType::Announcement) => AnnouncementBody::arb()
                .prop_map(ActionBody::Announcement)
                .boxed(),
            Some(ActionType::Job) => JobBody::arb().prop_map(ActionBody::Job).boxed(),
            Some(ActionType::Poll) => PollBody::arb().prop_map(ActionBody::Poll).boxed(),
            Some(ActionType::LetsMeet) => {
                LetsMeetBody::arb().prop_map(ActionBody::LetsMeet).boxed()
            }
            Some(ActionType::Survey) => SurveyBody::arb().prop_map(ActionBody::Survey).boxed(),
            Some(t) if t.is_media() => MediaBody::arb().prop_map(ActionBody::Media).boxed(),
            None => CustomActionBody::arb().prop_map(ActionBody::Custom).boxed(),
            Some(_) => <serde_json::Value as Arb>::arb()
                .prop_filter("not null", |v| !v.is_null())
                .prop_map(ActionBody::Other)
                .boxed(),
        }
    }

    impl Arb for CreateActionRequest {
        fn arb() -> BoxedStrategy<Self> {
            proptest::option::of(ActionType::arb())
                .prop_flat_map(|action_type| {
                    let body = body_for(action_type.as_ref());
                    (
                        Just(action_type),
                        body,
                        proptest::option::of(ActionPackageId::arb()),
                        proptest::option::of(Vec::<PhoneNumber>::arb()),
                        proptest::option::of(Flag::arb()),
                        crate::arb::extra(),
                    )
                })
                .prop_map(
                    |(
                        action_type,
                        action_body,
                        id,
                        subscribers,
                        send_to_all_subscribers,
                        extra,
                    )| {
                        CreateActionRequest {
                            id,
                            action_type,
                            action_body,
                            subscribers,
                            send_to_all_subscribers,
                            extra,
                        }
                    },
                )
                .boxed()
        }
    }
}
