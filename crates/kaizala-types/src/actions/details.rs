//! `GET /groups/{groupId}/actions/{actionId}[?getDetails=true]` (`actionDetails.md`).
//!
//! The document's table describes `{actionType, actionDetails, sender,
//! sentAt}` while its sample repeats the list response; both decode (the
//! sample's `actions` array stays in `extra`). With `getDetails=true` the
//! details carry the individual responses, in the same shape as the payload
//! of a response webhook event ([`ActionEventData`]).

use super::ActionType;
use crate::event::ActionEventData;
use crate::{ActionId, Flag, ReferenceId, Timestamp};

wire_object! {
    @manual_arb
    /// The answer of `GET /groups/{groupId}/actions/{actionId}`.
    pub struct ActionDetails {
        /// Id of the message that carried the action.
        opt reference_id: ReferenceId = "referenceId",
        /// Its type, which types `action_details`.
        opt action_type: ActionType = "actionType",
        /// Who sent it (phone number, as sent).
        opt sender: String = "sender",
        /// When it was sent (ISO 8601).
        opt sent_at: Timestamp = "sentAt",
        /// When it was sent (epoch seconds, older form).
        opt creation_time: Timestamp = "creationTime",
        /// Type-specific details.
        opt action_details: DetailsBody = "actionDetails" => action_type,
    }
}

impl ActionDetails {
    /// The details as the table describes them. `actionDetails.md`'s sample
    /// answers in the list shape (`{"actions": [{…, "actionBody": …}]}`); an
    /// answer in that shape is read from its first listed action. Any other
    /// answer is returned as it is.
    ///
    /// ```
    /// use kaizala_types::actions::{ActionDetails, ActionType, DetailsBody};
    ///
    /// let listed: ActionDetails = kaizala_types::from_str(
    ///     r#"{"actions": [{"referenceId": "r", "actionType": "Survey", "creationTime": 1480931759,
    ///         "actionBody": {"actionId": "a", "title": "Sample Survey", "responseCount": 1}}]}"#,
    /// )?;
    /// let details = listed.into_canonical();
    /// assert_eq!(details.action_type, Some(ActionType::Survey));
    /// let Some(DetailsBody::Survey(survey)) = details.action_details else { panic!() };
    /// assert_eq!(survey.response_count, Some(1));
    /// # Ok::<(), kaizala_types::DecodeError>(())
    /// ```
    pub fn into_canonical(self) -> ActionDetails {
        if self.action_type.is_some() || self.action_details.is_some() {
            return self;
        }
        let listed = self
            .extra
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("actions"))
            .and_then(|(_, value)| value.as_array()?.first()?.as_object().cloned());
        let Some(mut first) = listed else {
            return self;
        };
        if let Some(key) = first
            .keys()
            .find(|k| k.eq_ignore_ascii_case("actionBody"))
            .cloned()
            && let Some(body) = first.remove(&key)
        {
            first.insert("actionDetails".to_owned(), body);
        }
        crate::from_value(serde_json::Value::Object(first)).unwrap_or(self)
    }
}

tagged_enum! {
    /// The `actionDetails` of an action, by action type.
    pub enum DetailsBody by ActionType {
        /// `Job`.
        Job(JobDetails) = Some(ActionType::Job),
        /// `Survey`.
        Survey(SurveyDetails) = Some(ActionType::Survey),
        _ =>
        /// Any other action type (or none), kept verbatim.
        Other,
    }
}

wire_object! {
    /// A job's details.
    #[derive(Default)]
    pub struct JobDetails {
        /// The job's action id.
        opt action_id: ActionId = "actionId",
        /// What is to be done.
        opt title: String = "title",
        /// When it is due.
        opt due_date: Timestamp = "dueDate",
        /// Every assignee completed it.
        opt status: Flag = "status",
        /// Assignees who completed it.
        opt response_count: u64 = "responseCount",
        /// Number of assignees.
        opt assignee_count: u64 = "assigneeCount",
        /// The assignees' responses (`getDetails=true`).
        opt responses: Vec<ActionEventData> = "responses",
    }
}

wire_object! {
    /// A survey's details.
    #[derive(Default)]
    pub struct SurveyDetails {
        /// The survey's action id.
        opt action_id: ActionId = "actionId",
        /// The survey's name.
        opt title: String = "title",
        /// Number of responses.
        opt response_count: u64 = "responseCount",
        /// When it closes.
        opt expiry_date: Timestamp = "expiryDate",
        /// The responses (`getDetails=true`).
        opt responses: Vec<ActionEventData> = "responses",
    }
}

#[cfg(test)]
mod arb {
    use proptest::prelude::*;

    use super::*;
    use crate::arb::Arb;

    fn body_for(action_type: Option<&ActionType>) -> BoxedStrategy<DetailsBody> {
        match action_type {
            Some(ActionType::Job) => JobDetails::arb().prop_map(DetailsBody::Job).boxed(),
            Some(ActionType::Survey) => SurveyDetails::arb().prop_map(DetailsBody::Survey).boxed(),
            _ => <serde_json::Value as Arb>::arb()
                .prop_filter("not null", |v| !v.is_null())
                .prop_map(DetailsBody::Other)
                .boxed(),
        }
    }

    impl Arb for ActionDetails {
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
                        action_details,
                        reference_id,
                        sender,
                        sent_at,
                        creation_time,
                        extra,
                    )| {
                        ActionDetails {
                            reference_id,
                            action_type,
                            sender,
                            sent_at,
                            creation_time,
                            action_details,
                            extra,
                        }
                    },
                )
                .boxed()
        }
    }
}
