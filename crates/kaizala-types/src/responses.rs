//! Responses to actions (`action_responses.md`):
//! `POST /groups/{groupId}/actions/{actionId}/responses`. Sending a
//! `responseId` updates that earlier response instead of adding one.

use crate::actions::{ActionType, Answer};
use crate::common::Place;
use crate::{ActionPackageId, Flag, ResponseId};

wire_object! {
    @manual_arb
    /// `POST /groups/{groupId}/actions/{actionId}/responses`.
    ///
    /// ```
    /// use kaizala_types::actions::Answer;
    /// use kaizala_types::responses::{ActionResponseRequest, SurveyResponseBody};
    ///
    /// let body = SurveyResponseBody::new(vec![
    ///     Answer::Text("Response from API".into()),
    ///     Answer::Options(vec!["MOpt1".into(), "MOpt2".into()]),
    /// ]);
    /// let request = ActionResponseRequest::survey(body);
    /// assert_eq!(
    ///     kaizala_types::to_string(&request),
    ///     r#"{"actionType":"Survey","actionBody":{"answers":["Response from API",["MOpt1","MOpt2"]]}}"#
    /// );
    /// ```
    pub struct ActionResponseRequest {
        /// The action package id, for custom actions.
        opt id: ActionPackageId = "id",
        /// `Survey` or `Job`.
        opt action_type: ActionType = "actionType",
        /// Set to update an earlier response.
        opt response_id: ResponseId = "responseId",
        /// The response, typed by `action_type`.
        req action_body: ResponseBody = "actionBody" => action_type,
    }
}

impl ActionResponseRequest {
    /// A new response to a survey.
    pub fn survey(body: SurveyResponseBody) -> Self {
        ActionResponseRequest {
            id: None,
            action_type: Some(ActionType::Survey),
            response_id: None,
            action_body: ResponseBody::Survey(body),
            extra: crate::Extra::new(),
        }
    }

    /// Answers to an action of another type that answers like a survey: a
    /// poll (one answer, the chosen option) or a meeting request (the RSVP).
    pub fn answering(action_type: ActionType, body: SurveyResponseBody) -> Self {
        ActionResponseRequest {
            action_type: Some(action_type),
            ..ActionResponseRequest::survey(body)
        }
    }

    /// A job assignee's update.
    pub fn job(is_completed: bool) -> Self {
        ActionResponseRequest {
            id: None,
            action_type: Some(ActionType::Job),
            response_id: None,
            action_body: ResponseBody::Job(JobResponseBody {
                is_completed: is_completed.into(),
                extra: crate::Extra::new(),
            }),
            extra: crate::Extra::new(),
        }
    }

    /// A response to an instance of the custom action package `id`.
    pub fn custom(id: impl Into<ActionPackageId>, body: SurveyResponseBody) -> Self {
        ActionResponseRequest {
            id: Some(id.into()),
            action_type: None,
            response_id: None,
            action_body: ResponseBody::Survey(body),
            extra: crate::Extra::new(),
        }
    }

    /// Turns this into an update of the earlier response `response_id`.
    pub fn updating(mut self, response_id: impl Into<ResponseId>) -> Self {
        self.response_id = Some(response_id.into());
        self
    }
}

tagged_enum! {
    /// The `actionBody` of a response, by action type.
    pub enum ResponseBody by ActionType {
        /// `Job`.
        Job(JobResponseBody) = Some(ActionType::Job),
        /// `Survey`, `Poll`, `LetsMeet`, and custom actions (no action type,
        /// `id` set), which all answer with `answers`.
        Survey(SurveyResponseBody) = Some(ActionType::Survey | ActionType::Poll | ActionType::LetsMeet) | None,
        _ =>
        /// Any other action type, kept verbatim.
        Other,
    }
}

wire_object! {
    /// A job assignee's update.
    pub struct JobResponseBody {
        /// Marks the job done.
        req is_completed: Flag = "isCompleted",
    }
}

wire_object! {
    @manual_arb
    /// Answers to a survey or custom action.
    pub struct SurveyResponseBody {
        /// Names the response.
        opt response_name: String = "responseName",
        /// Where it was given.
        opt response_location: Place = "responseLocation",
        /// One answer per question, by position (the vendor's examples say
        /// `Answers`). Requests carry no question types, so each answer is
        /// read by its shape: string, array of strings, number,
        /// `{"lt", "lg", "n"}`, or a media resource string for Image questions.
        req answers: Vec<Answer> = "answers",
    }
}

impl SurveyResponseBody {
    /// A response with these answers.
    pub fn new(answers: Vec<Answer>) -> Self {
        SurveyResponseBody {
            response_name: None,
            response_location: None,
            answers,
            extra: crate::Extra::new(),
        }
    }
}

wire_object! {
    /// The answer of posting a response.
    pub struct ActionResponseResponse {
        /// The response's id (use it to update the response).
        req response_id: ResponseId = "responseId",
    }
}

#[cfg(test)]
mod arb {
    use proptest::prelude::*;

    use super::*;
    use crate::arb::Arb;

    impl Arb for SurveyResponseBody {
        fn arb() -> BoxedStrategy<Self> {
            (
                proptest::option::of(String::arb()),
                proptest::option::of(Place::arb()),
                prop::collection::vec(crate::actions::question_arb::inferred(), 0..4),
                crate::arb::extra(),
            )
                .prop_map(
                    |(response_name, response_location, answers, extra)| SurveyResponseBody {
                        response_name,
                        response_location,
                        answers,
                        extra,
                    },
                )
                .boxed()
        }
    }

    impl Arb for ActionResponseRequest {
        fn arb() -> BoxedStrategy<Self> {
            proptest::option::of(ActionType::arb())
                .prop_flat_map(|action_type| {
                    let body = match &action_type {
                        Some(ActionType::Job) => {
                            JobResponseBody::arb().prop_map(ResponseBody::Job).boxed()
                        }
                        Some(ActionType::Survey | ActionType::Poll | ActionType::LetsMeet)
                        | None => SurveyResponseBody::arb()
                            .prop_map(ResponseBody::Survey)
                            .boxed(),
                        Some(_) => <serde_json::Value as Arb>::arb()
                            .prop_filter("not null", |v| !v.is_null())
                            .prop_map(ResponseBody::Other)
                            .boxed(),
                    };
                    (
                        Just(action_type),
                        body,
                        proptest::option::of(ActionPackageId::arb()),
                        proptest::option::of(ResponseId::arb()),
                        crate::arb::extra(),
                    )
                })
                .prop_map(|(action_type, action_body, id, response_id, extra)| {
                    ActionResponseRequest {
                        id,
                        action_type,
                        response_id,
                        action_body,
                        extra,
                    }
                })
                .boxed()
        }
    }
}
