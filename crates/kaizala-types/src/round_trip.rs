//! The round-trip property for every model: an arbitrary value, encoded and
//! decoded through the crate's entry point, is the same value.

use proptest::prelude::*;

use crate::arb::Arb;
use crate::{
    actions, auth, common, event, groups, media, members, messages, reactions, responses, scope,
};
use crate::{subgroups, subscribers, webhooks};

fn round_trips<T>(value: &T) -> Result<(), TestCaseError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = crate::to_vec(value);
    let back: T = crate::from_slice(&json).map_err(|e| {
        TestCaseError::fail(format!("{e}\nJSON: {}", String::from_utf8_lossy(&json)))
    })?;
    prop_assert_eq!(&back, value, "JSON: {}", String::from_utf8_lossy(&json));
    Ok(())
}

macro_rules! round_trip_tests {
    ($($name:ident: $ty:ty,)*) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
            $(
                #[test]
                fn $name(value in <$ty as Arb>::arb()) {
                    round_trips(&value)?;
                }
            )*
        }
    };
}

round_trip_tests! {
    flag: crate::Flag,
    timestamp: crate::Timestamp,
    numeric: crate::Numeric,
    cursor: crate::Cursor,
    secret: crate::Secret,
    phone_number: crate::PhoneNumber,
    scope_set: scope::ScopeSet,
    scope_value: scope::Scope,
    group_id: crate::GroupId,
    event_id: crate::EventId,
    generate_pin_request: auth::GeneratePinRequest,
    generate_pin_response: auth::GeneratePinResponse,
    login_with_pin_request: auth::LoginWithPinRequest,
    login_with_pin_response: auth::LoginWithPinResponse,
    access_token_response: auth::AccessTokenResponse,
    oauth_token_request: auth::OAuthTokenRequest,
    oauth_authorize_query: auth::OAuthAuthorizeQuery,
    result_response: common::ResultResponse,
    media_item: common::MediaItem,
    place: common::Place,
    error_body: common::ErrorBody,
    member_role: common::MemberRole,
    create_group_request: groups::CreateGroupRequest,
    create_group_response: groups::CreateGroupResponse,
    group_list: groups::GroupList,
    group_info: groups::GroupInfo,
    sub_group: groups::SubGroup,
    group_type: groups::GroupType,
    sub_group_list: subgroups::SubGroupList,
    create_sub_group_request: subgroups::CreateSubGroupRequest,
    create_sub_group_response: subgroups::CreateSubGroupResponse,
    add_sub_groups_request: subgroups::AddSubGroupsRequest,
    member_list: members::MemberList,
    member: members::Member,
    add_members_request: members::AddMembersRequest,
    list_subscribers_request: subscribers::ListSubscribersRequest,
    subscriber_list: subscribers::SubscriberList,
    subscriber: subscribers::Subscriber,
    subscribers_request: subscribers::SubscribersRequest,
    subscriber_change_response: subscribers::SubscriberChangeResponse,
    subscriber_outcome: subscribers::SubscriberOutcome,
    send_message_request: messages::SendMessageRequest,
    send_message_response: messages::SendMessageResponse,
    media_upload_response: media::MediaUploadResponse,
    action_type: actions::ActionType,
    create_action_request: actions::CreateActionRequest,
    announcement_body: actions::AnnouncementBody,
    job_body: actions::JobBody,
    poll_body: actions::PollBody,
    poll_choice: actions::PollChoice,
    lets_meet_body: actions::LetsMeetBody,
    survey_body: actions::SurveyBody,
    media_body: actions::MediaBody,
    custom_action_body: actions::CustomActionBody,
    create_action_response: actions::CreateActionResponse,
    action_list: actions::ActionList,
    action_summary: actions::ActionSummary,
    image_summary: actions::ImageSummary,
    location_summary: actions::LocationSummary,
    job_summary: actions::JobSummary,
    poll_summary: actions::PollSummary,
    lets_meet_summary: actions::LetsMeetSummary,
    survey_summary: actions::SurveySummary,
    action_details: actions::ActionDetails,
    job_details: actions::JobDetails,
    survey_details: actions::SurveyDetails,
    property: actions::Property,
    property_type: actions::PropertyType,
    question_spec: actions::QuestionSpec,
    question_option: actions::QuestionOption,
    question_type: actions::QuestionType,
    question_answer: actions::QuestionAnswer,
    answer: actions::Answer,
    geo_point: actions::GeoPoint,
    phone_answer: actions::PhoneAnswer,
    response_details: actions::ResponseDetails,
    response_details_object: actions::ResponseDetailsObject,
    job_response_detail: actions::JobResponseDetail,
    action_response_request: responses::ActionResponseRequest,
    job_response_body: responses::JobResponseBody,
    survey_response_body: responses::SurveyResponseBody,
    action_response_response: responses::ActionResponseResponse,
    reaction_type: reactions::ReactionType,
    post_reaction_request: reactions::PostReactionRequest,
    post_reaction_response: reactions::PostReactionResponse,
    reaction_summary_response: reactions::ReactionSummaryResponse,
    reaction_summary: reactions::ReactionSummary,
    reaction_counts: reactions::ReactionCounts,
    reaction_details_response: reactions::ReactionDetailsResponse,
    reaction_detail: reactions::ReactionDetail,
    create_webhook_request: webhooks::CreateWebhookRequest,
    create_webhook_response: webhooks::CreateWebhookResponse,
    webhook_list: webhooks::WebhookList,
    webhook: webhooks::Webhook,
    update_webhook_request: webhooks::UpdateWebhookRequest,
    event: event::Event,
    event_type: event::EventType,
    object_type: event::ObjectType,
    text_message_data: event::TextMessageData,
    attachment_data: event::AttachmentData,
    announcement_data: event::AnnouncementData,
    job_created_data: event::JobCreatedData,
    action_event_data: event::ActionEventData,
    member_event_data: event::MemberEventData,
    group_event_data: event::GroupEventData,
}

/// The property must be able to fail: a model that dropped data would be
/// caught.
#[test]
fn the_property_notices_loss() {
    let mut request = messages::SendMessageRequest::new("hi");
    request.extra.insert("x_kept".into(), serde_json::json!(1));
    assert!(round_trips(&request).is_ok());
    // A value whose encoding does not decode back to it (an `Other` holding a
    // documented spelling) is reported.
    let sneaky = event::EventType::Other("SurveyResponse".into());
    assert!(round_trips(&sneaky).is_err());
}
