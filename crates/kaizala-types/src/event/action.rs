//! The action events: `ActionCreated`, `SurveyCreated`, `ActionResponse`,
//! `SurveyResponse`, `JobResponse`, and the undocumented `PollCreated`,
//! `PollResponse`, `LetsMeetCreated`, `LetsMeetResponse` seen in real traffic.

use crate::actions::{QuestionAnswer, ResponseDetails};
use crate::{ActionId, ActionPackageId, Flag, GroupId, ResponseId, UserId};

wire_object! {
    /// Payload of the action events: an action was created or responded to.
    /// `EventSchema.md` documents one shape for creations and responses;
    /// every property may be absent.
    #[derive(Default)]
    pub struct ActionEventData {
        /// The action instance.
        opt action_id: ActionId = "actionId",
        /// The custom action package (real traffic).
        opt action_package_id: ActionPackageId = "actionPackageId",
        /// The custom action package, again (real traffic sent both).
        opt package_id: ActionPackageId = "packageId",
        /// The group the event is reported in: with a parent-group subscription,
        /// the parent (see `source_group_id`).
        opt group_id: GroupId = "groupId",
        /// The group the action was sent in, for parent-group subscriptions.
        opt source_group_id: GroupId = "sourceGroupId",
        /// Title of the action.
        opt title: String = "title",
        /// The response (response events).
        opt response_id: ResponseId = "responseId",
        /// Whether this updates an earlier response (same `response_id`).
        opt is_update_response: Flag = "isUpdateResponse",
        /// Responder's phone number (as sent).
        opt responder: String = "responder",
        /// Responder's user id (real traffic).
        opt responder_id: UserId = "responderId",
        /// Responder's name.
        opt responder_name: String = "responderName",
        /// Responder's picture URL.
        opt responder_profile_pic: String = "responderProfilePic",
        /// Creator's user id (real traffic).
        opt creator_id: UserId = "creatorId",
        /// Whether the response is anonymous.
        opt is_anonymous: Flag = "isAnonymous",
        /// The action's questions (creation events).
        opt questions: Vec<QuestionAnswer> = "questions",
        /// The answers (survey/custom) or the assignee's update (job).
        opt response_details: ResponseDetails = "responseDetails",
    }
}

impl ActionEventData {
    /// The answered questions of a response (empty when there are none).
    pub fn questions(&self) -> &[QuestionAnswer] {
        self.response_details
            .as_ref()
            .map(ResponseDetails::questions)
            .unwrap_or_default()
    }
}
