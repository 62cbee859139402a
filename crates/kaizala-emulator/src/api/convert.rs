//! What the resource handlers share: the emulator's model seen through the
//! wire models (groups as [`GroupInfo`], members and groups as event
//! payloads, actions and their responses as [`ActionEventData`]), users
//! looked up or created by phone number, the group hierarchy, and the .NET
//! tick counts reaction cursors are made of.

use std::collections::{BTreeSet, VecDeque};

use kaizala_types::actions::{
    Answer, JobResponseDetail, QuestionAnswer, QuestionSpec, QuestionType, ResponseDetails,
    ResponseDetailsObject,
};
use kaizala_types::common::{MediaItem, MemberRole};
use kaizala_types::event::{ActionEventData, GroupEventData, MemberEventData};
use kaizala_types::groups::{GroupInfo, GroupType, SubGroup};
use kaizala_types::{Flag, PhoneNumber, Timestamp};
use serde_json::Value;

use crate::http::ApiError;
use crate::model::{AccessGrant, Action, ActionResponse, Group, MediaFile, Role, State, User};
use crate::shared::Shared;

/// .NET ticks (100 ns since 0001-01-01) at the Unix epoch.
pub const TICKS_AT_UNIX_EPOCH: i64 = 621_355_968_000_000_000;

/// .NET ticks per millisecond.
pub const TICKS_PER_MS: i64 = 10_000;

/// Epoch milliseconds as .NET ticks, the unit of reaction cursors.
pub fn ticks(epoch_ms: i64) -> i64 {
    epoch_ms
        .saturating_mul(TICKS_PER_MS)
        .saturating_add(TICKS_AT_UNIX_EPOCH)
}

/// .NET ticks as epoch milliseconds (rounded down).
pub fn millis_from_ticks(ticks: i64) -> i64 {
    ticks
        .saturating_sub(TICKS_AT_UNIX_EPOCH)
        .div_euclid(TICKS_PER_MS)
}

/// Epoch milliseconds as an ISO 8601 timestamp (`sentAt`, `dueDate`, …).
pub fn iso(epoch_ms: i64) -> Timestamp {
    Timestamp::iso8601_from_unix_millis(epoch_ms)
}

/// A number of hours as milliseconds (bounded, so absurd values cannot overflow).
pub fn hours_ms(hours: u64) -> i64 {
    // A century is more than any action stays open.
    const MAX_HOURS: u64 = 100 * 366 * 24;
    hours.min(MAX_HOURS) as i64 * 3_600_000
}

// ---------------------------------------------------------------- users

/// The user with `phone`, created (unprovisioned, as the platform added
/// numbers that had not installed Kaizala yet) if there is none.
pub fn user_for_phone(shared: &Shared, state: &mut State, phone: &PhoneNumber) -> String {
    if let Some(user) = state.user_by_phone(phone.as_str()) {
        return user.id.clone();
    }
    let id = shared.ids.guid();
    state.users.insert(
        id.clone(),
        User {
            id: id.clone(),
            tenant: None,
            phone: phone.as_str().to_owned(),
            name: String::new(),
            profile_pic: String::new(),
            provisioned: false,
            tenant_admin: false,
        },
    );
    id
}

/// A user's phone number (empty for an unknown id).
pub fn phone_of(state: &State, user_id: &str) -> String {
    state
        .users
        .get(user_id)
        .map(|u| u.phone.clone())
        .unwrap_or_default()
}

/// Whether the token's user is an administrator of `tenant`.
pub fn is_tenant_admin(state: &State, user_id: &str, tenant: &str) -> bool {
    state
        .users
        .get(user_id)
        .is_some_and(|u| u.tenant_admin && u.tenant.as_deref() == Some(tenant))
}

/// A model role on the wire.
pub fn wire_role(role: Role) -> MemberRole {
    match role {
        Role::Admin => MemberRole::Admin,
        Role::Member => MemberRole::Member,
    }
}

/// The user's role in `group`: member role, or `Subscriber`.
pub fn role_in(group: &Group, user_id: &str) -> Option<MemberRole> {
    match group.members.get(user_id) {
        Some(role) => Some(wire_role(*role)),
        None if group.subscribers.contains(user_id) => Some(MemberRole::Subscriber),
        None => None,
    }
}

// ---------------------------------------------------------------- hierarchy

/// Every group below `id` (not `id` itself), nearest first.
pub fn descendants(state: &State, id: &str) -> Vec<String> {
    let mut seen = BTreeSet::from([id.to_owned()]);
    let mut order = Vec::new();
    let mut pending: VecDeque<String> = VecDeque::from([id.to_owned()]);
    while let Some(current) = pending.pop_front() {
        let Some(group) = state.groups.get(&current) else {
            continue;
        };
        for child in &group.children {
            if seen.insert(child.clone()) {
                order.push(child.clone());
                pending.push_back(child.clone());
            }
        }
    }
    order
}

/// A group as listed. `detail` adds the counts and flags of `showDetail`;
/// `caller` is the user the token acts as (for `callerRole`, `isEditable`).
pub fn group_info(
    state: &State,
    grant: &AccessGrant,
    caller: Option<&str>,
    group: &Group,
    detail: bool,
) -> GroupInfo {
    let mut info = GroupInfo {
        group_id: group.id.as_str().into(),
        group_name: Some(group.name.clone()),
        group_image_url: Some(group.image_url.clone()),
        has_sub_groups: None,
        has_parent_groups: None,
        caller_role: None,
        current_level_sub_group_count: None,
        current_level_parent_group_count: None,
        user_count: None,
        unique_user_count: None,
        current_level_user_count: None,
        current_level_un_provisioned_user_count: None,
        un_provisioned_user_count: None,
        is_mapped_to_tenant: None,
        group_type: None,
        is_duplicate: None,
        is_editable: None,
        is_details_readable: None,
        welcome_message: None,
        sub_groups: None,
        extra: Default::default(),
    };
    if !detail {
        return info;
    }
    let unprovisioned = |id: &String| state.users.get(id).is_some_and(|u| !u.provisioned);
    let hierarchy: Vec<&Group> = std::iter::once(group)
        .chain(
            descendants(state, &group.id)
                .iter()
                .filter_map(|id| state.groups.get(id)),
        )
        .collect();
    let everyone: BTreeSet<&String> = hierarchy.iter().flat_map(|g| g.members.keys()).collect();
    let caller_role = caller.and_then(|user| role_in(group, user));
    let editable = caller_role == Some(MemberRole::Admin)
        || matches!(&grant.principal, crate::model::Principal::Group(_))
        || caller.is_some_and(|user| is_tenant_admin(state, user, &group.tenant));
    info.has_sub_groups = Some(Flag::from(!group.children.is_empty()));
    info.has_parent_groups = Some(Flag::from(!group.parents.is_empty()));
    info.caller_role = caller_role;
    info.current_level_sub_group_count = Some(group.children.len() as u64);
    info.current_level_parent_group_count = Some(group.parents.len() as u64);
    info.user_count = Some(hierarchy.iter().map(|g| g.members.len() as u64).sum());
    info.unique_user_count = Some(everyone.len() as u64);
    info.current_level_user_count = Some(group.members.len() as u64);
    info.current_level_un_provisioned_user_count =
        Some(group.members.keys().filter(|id| unprovisioned(id)).count() as u64);
    info.un_provisioned_user_count =
        Some(everyone.iter().filter(|id| unprovisioned(id)).count() as u64);
    info.is_mapped_to_tenant = Some(Flag::TRUE);
    info.group_type = Some(GroupType::from_wire(&group.group_type));
    info.is_duplicate = Some(Flag::FALSE);
    info.is_editable = Some(Flag::from(editable));
    info.is_details_readable = Some(Flag::TRUE);
    info.welcome_message = Some(group.welcome_message.clone());
    info
}

/// A sub-group as listed under its parent; with `deep`, its own sub-groups
/// nest under it in `subGroups` (kept in `extra`, as the wire model reads
/// deeper levels). `seen` guards against cycles.
pub fn sub_group(
    state: &State,
    group: &Group,
    deep: bool,
    seen: &mut BTreeSet<String>,
) -> SubGroup {
    let mut extra = kaizala_types::Extra::new();
    if deep {
        let mut nested = Vec::new();
        for child in group.children.iter().filter_map(|id| state.groups.get(id)) {
            if seen.insert(child.id.clone()) {
                nested.push(
                    serde_json::to_value(sub_group(state, child, true, seen)).unwrap_or_default(),
                );
            }
        }
        extra.insert("subGroups".to_owned(), Value::Array(nested));
    }
    SubGroup {
        group_id: group.id.as_str().into(),
        group_name: Some(group.name.clone()),
        group_image_url: Some(group.image_url.clone()),
        has_sub_groups: Some(Flag::from(!group.children.is_empty())),
        has_parent_groups: Some(Flag::from(!group.parents.is_empty())),
        is_mapped_to_tenant: Some(Flag::TRUE),
        group_type: Some(GroupType::from_wire(&group.group_type)),
        is_duplicate: None,
        welcome_message: Some(group.welcome_message.clone()),
        extra,
    }
}

/// The users a public-group send reaches: every subscriber
/// (`sendToAllSubscribers`, which takes a group admin), the listed ones, or
/// nobody in particular (the group itself). Both options are refused
/// outside managed public groups.
pub fn audience(
    state: &State,
    group: &Group,
    actor: &str,
    send_to_all: Option<Flag>,
    subscribers: Option<&[PhoneNumber]>,
) -> Result<Vec<String>, ApiError> {
    let all = send_to_all.is_some_and(Flag::get);
    let some = subscribers.filter(|s| !s.is_empty());
    if !group.is_public() {
        if all {
            return Err(ApiError::bad_field(
                "sendToAllSubscribers",
                "only a managed public group (ConnectGroup) has subscribers",
            ));
        }
        if some.is_some() {
            return Err(ApiError::bad_field(
                "subscribers",
                "only a managed public group (ConnectGroup) has subscribers",
            ));
        }
        return Ok(Vec::new());
    }
    if all && some.is_some() {
        return Err(ApiError::bad_field(
            "subscribers",
            "send to all subscribers or to listed ones, not both",
        ));
    }
    if all {
        if group.members.get(actor) != Some(&Role::Admin) {
            return Err(ApiError::forbidden(
                "sending to all subscribers takes an admin of the public group",
            ));
        }
        return Ok(group.subscribers.iter().cloned().collect());
    }
    let mut users = Vec::new();
    for (i, phone) in some.unwrap_or_default().iter().enumerate() {
        let user = state
            .user_by_phone(phone.as_str())
            .filter(|u| group.subscribers.contains(&u.id))
            .ok_or_else(|| {
                ApiError::bad_field(
                    format!("subscribers[{i}]"),
                    format!("{phone} is not a subscriber of this group"),
                )
            })?;
        users.push(user.id.clone());
    }
    Ok(users)
}

// ---------------------------------------------------------------- event payloads

/// `MemberAdded` / `MemberRemoved` data.
pub fn member_event(state: &State, user_id: &str, role: Role) -> MemberEventData {
    let user = state.users.get(user_id);
    MemberEventData {
        member: user.map(|u| u.phone.clone()),
        member_id: Some(user_id.into()),
        member_name: user.map(|u| u.name.clone()),
        member_profile_pic: user.map(|u| u.profile_pic.clone()),
        role: Some(wire_role(role)),
        extra: Default::default(),
    }
}

/// `GroupAdded` / `GroupRemoved` data.
pub fn group_event(group: &Group, parent_id: &str) -> GroupEventData {
    GroupEventData {
        group_id: Some(group.id.as_str().into()),
        group_name: Some(group.name.clone()),
        group_image_url: Some(group.image_url.clone()),
        parent_group_id: Some(parent_id.into()),
        extra: Default::default(),
    }
}

/// An uploaded file as events and answers link it.
pub fn media_item(media: &MediaFile) -> MediaItem {
    MediaItem {
        media_url: Some(media.url.clone()),
        media_file_name: Some(media.file_name.clone()),
        extra: Default::default(),
    }
}

// ---------------------------------------------------------------- actions

/// What an action is, for the rules that differ by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An announcement.
    Announcement,
    /// A job.
    Job,
    /// A quick poll.
    Poll,
    /// A meeting request.
    LetsMeet,
    /// A survey.
    Survey,
    /// A media post (`Image`, `Album`, `Audio`, `Document`, `Video`).
    Media,
    /// An action package instance.
    Package,
    /// Any other type (`ShareLocation`, `PhotoWithLocation`, …: not
    /// posted through the API, but a seed or a simulation may hold them).
    Other,
}

/// The kind of a stored action (package instances whatever their type).
pub fn kind_of(action: &Action) -> Kind {
    if action.package_id.is_some() {
        return Kind::Package;
    }
    match action
        .action_type
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("announcement") => Kind::Announcement,
        Some("job") => Kind::Job,
        Some("poll") => Kind::Poll,
        Some("letsmeet") => Kind::LetsMeet,
        Some("survey") => Kind::Survey,
        Some("image" | "album" | "audio" | "document" | "video") => Kind::Media,
        _ => Kind::Other,
    }
}

/// A property of a stored body, matched in any letter case.
pub fn field<'v>(body: &'v Value, name: &str) -> Option<&'v Value> {
    let object = body.as_object()?;
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// A boolean property of a stored body (`true` or `"true"`).
pub fn body_flag(body: &Value, name: &str) -> bool {
    match field(body, name) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// A text property of a stored body.
pub fn body_text(body: &Value, name: &str) -> Option<String> {
    field(body, name).and_then(Value::as_str).map(str::to_owned)
}

/// The action's title: its `title`, or a poll's question.
pub fn title_of(action: &Action) -> Option<String> {
    match kind_of(action) {
        Kind::Poll => body_text(&action.body, "question"),
        Kind::Media => body_text(&action.body, "caption"),
        _ => body_text(&action.body, "title"),
    }
}

/// The one question a Let's Meet request asks.
pub const RSVP_QUESTION: &str = "Are you attending?";

/// The answers a Let's Meet request takes.
pub const RSVP_OPTIONS: [&str; 3] = ["Yes", "No", "Maybe"];

/// The questions a response answers, by position: a survey's or a
/// package's questions, a poll's question with its choices, a Let's Meet
/// request's RSVP; none for other kinds.
pub fn questions_of(action: &Action) -> Vec<QuestionSpec> {
    match kind_of(action) {
        Kind::Survey | Kind::Package => field(&action.body, "questions")
            .and_then(|q| kaizala_types::from_value::<Vec<QuestionSpec>>(q.clone()).ok())
            .unwrap_or_default(),
        Kind::Poll => {
            let choices: Vec<String> = field(&action.body, "choices")
                .and_then(Value::as_array)
                .map(|choices| {
                    choices
                        .iter()
                        .filter_map(|c| body_text(c, "title"))
                        .collect()
                })
                .unwrap_or_default();
            vec![QuestionSpec::with_options(
                body_text(&action.body, "question").unwrap_or_default(),
                QuestionType::SingleOption,
                choices,
            )]
        }
        Kind::LetsMeet => vec![QuestionSpec::with_options(
            RSVP_QUESTION,
            QuestionType::SingleOption,
            RSVP_OPTIONS,
        )],
        _ => Vec::new(),
    }
}

/// The phone numbers a job is assigned to.
pub fn assignees_of(action: &Action) -> Vec<String> {
    field(&action.body, "assignedTo")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The assignees (phone numbers) whose latest response marks the job done.
pub fn completed_by(state: &State, action: &Action) -> BTreeSet<String> {
    let mut latest: std::collections::BTreeMap<&str, bool> = Default::default();
    for response in &action.responses {
        latest.insert(
            &response.responder,
            body_flag(&response.body, "isCompleted"),
        );
    }
    latest
        .into_iter()
        .filter(|(_, done)| *done)
        .map(|(user, _)| phone_of(state, user))
        .collect()
}

/// Reads an answer for `question` and puts it in the form events carry:
/// options as arrays of titles (which must be the question's options),
/// media resources as attachment links (which must have been uploaded),
/// dates in epoch milliseconds. The error says what is wrong with it.
pub fn normalize_answer(
    state: &State,
    question: &QuestionSpec,
    value: &Value,
) -> Result<Answer, String> {
    let question_type = &question.question_type;
    let answer = match (question_type, value) {
        (QuestionType::Image | QuestionType::AttachmentList, Value::String(_)) => {
            Answer::Attachments(vec![uploaded(state, value)?])
        }
        (QuestionType::Image | QuestionType::AttachmentList, Value::Array(items))
            if items.iter().all(Value::is_string) =>
        {
            Answer::Attachments(
                items
                    .iter()
                    .map(|item| uploaded(state, item))
                    .collect::<Result<_, _>>()?,
            )
        }
        _ => Answer::from_value(Some(question_type), value.clone())?,
    };
    let options: Vec<&str> = question
        .options
        .iter()
        .flatten()
        .map(|o| o.title.as_str())
        .collect();
    match (question_type, answer) {
        (QuestionType::SingleOption | QuestionType::MultiOption, Answer::Text(choice)) => {
            check_options(&options, std::slice::from_ref(&choice))?;
            Ok(Answer::Options(vec![choice]))
        }
        (QuestionType::SingleOption, Answer::Options(chosen)) if chosen.len() != 1 => Err(format!(
            "a SingleOption answer is exactly one option, not {}",
            chosen.len()
        )),
        (QuestionType::SingleOption | QuestionType::MultiOption, Answer::Options(chosen)) => {
            check_options(&options, &chosen)?;
            Ok(Answer::Options(chosen))
        }
        (QuestionType::Date | QuestionType::DateTime, Answer::DateTime(at)) => Ok(
            Answer::DateTime(Timestamp::from_unix_millis(at.unix_millis())),
        ),
        (_, answer) => Ok(answer),
    }
}

fn check_options(options: &[&str], chosen: &[String]) -> Result<(), String> {
    match chosen.iter().find(|c| !options.contains(&c.as_str())) {
        Some(bad) => Err(format!(
            "{bad:?} is not one of the options ({})",
            options.join(", ")
        )),
        None => Ok(()),
    }
}

fn uploaded(state: &State, value: &Value) -> Result<MediaItem, String> {
    let resource = value.as_str().unwrap_or_default();
    state
        .media
        .get(resource)
        .map(media_item)
        .ok_or_else(|| "not a media resource returned by /media".to_owned())
}

/// The action's questions as creation events list them (no answers).
pub fn question_list(questions: &[QuestionSpec]) -> Vec<QuestionAnswer> {
    questions
        .iter()
        .map(|q| QuestionAnswer {
            title: Some(q.title.clone()),
            question_type: Some(q.question_type.clone()),
            options: Some(q.options.clone().unwrap_or_default()),
            answer: None,
            is_invisible: q.is_invisible,
            extra: Default::default(),
        })
        .collect()
}

/// The answered questions of a response (`responseWithQuestions`).
pub fn answered_questions(
    state: &State,
    action: &Action,
    response: &ActionResponse,
) -> Vec<QuestionAnswer> {
    let answers: &[Value] = field(&response.body, "answers")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    questions_of(action)
        .iter()
        .enumerate()
        .map(|(i, q)| QuestionAnswer {
            title: Some(q.title.clone()),
            question_type: Some(q.question_type.clone()),
            options: Some(q.options.clone().unwrap_or_default()),
            answer: answers
                .get(i)
                .and_then(|a| normalize_answer(state, q, a).ok()),
            is_invisible: q.is_invisible,
            extra: Default::default(),
        })
        .collect()
}

/// The payload of an action's creation event (`SurveyCreated`,
/// `ActionCreated`, `PollCreated`, `LetsMeetCreated`).
pub fn created_event(action: &Action) -> ActionEventData {
    let questions = questions_of(action);
    let package = action.package_id.as_deref().map(Into::into);
    ActionEventData {
        action_id: Some(action.id.as_str().into()),
        action_package_id: package.clone(),
        package_id: package,
        group_id: Some(action.group_id.as_str().into()),
        title: title_of(action),
        creator_id: Some(action.sender.as_str().into()),
        is_anonymous: matches!(kind_of(action), Kind::Survey | Kind::Package)
            .then(|| Flag::from(body_flag(&action.body, "isAnonymous"))),
        questions: (!questions.is_empty()).then(|| question_list(&questions)),
        ..Default::default()
    }
}

/// Whether responses to the action hide who gave them.
pub fn is_anonymous(action: &Action) -> bool {
    body_flag(&action.body, "isAnonymous")
}

/// A response as response events carry it (and `getDetails` lists it):
/// who answered (unless the survey is anonymous), whether it updates an
/// earlier answer, and the answers with their questions — or, for a job,
/// the assignee's update.
pub fn response_event(
    state: &State,
    action: &Action,
    response: &ActionResponse,
) -> ActionEventData {
    let anonymous = is_anonymous(action);
    let user = state.users.get(&response.responder);
    let package = action.package_id.as_deref().map(Into::into);
    let details = if kind_of(action) == Kind::Job {
        ResponseDetailsObject {
            response_with_questions: None,
            response: Some(JobResponseDetail {
                assignee: user.map(|u| u.phone.clone()),
                assignee_id: Some(response.responder.as_str().into()),
                assignee_name: user.map(|u| u.name.clone()),
                assignee_profile_pic: user.map(|u| u.profile_pic.clone()),
                is_completed: Some(Flag::from(body_flag(&response.body, "isCompleted"))),
                extra: Default::default(),
            }),
            extra: Default::default(),
        }
    } else {
        ResponseDetailsObject {
            response_with_questions: Some(answered_questions(state, action, response)),
            response: None,
            extra: Default::default(),
        }
    };
    let mut data = ActionEventData {
        action_id: Some(action.id.as_str().into()),
        action_package_id: package.clone(),
        package_id: package,
        group_id: Some(action.group_id.as_str().into()),
        title: title_of(action),
        response_id: Some(response.response_id.as_str().into()),
        is_update_response: Some(Flag::from(response.updated)),
        is_anonymous: Some(Flag::from(anonymous)),
        response_details: Some(ResponseDetails::Object(details)),
        ..Default::default()
    };
    if !anonymous {
        data.responder = user.map(|u| u.phone.clone());
        data.responder_id = Some(response.responder.as_str().into());
        data.responder_name = user.map(|u| u.name.clone());
        data.responder_profile_pic = user.map(|u| u.profile_pic.clone());
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_dotnet_ticks() {
        // reactions.md's sample cursor.
        let ms = millis_from_ticks(636_674_054_802_000_000);
        assert_eq!(ms, 1_531_808_680_200);
        assert_eq!(ticks(ms), 636_674_054_802_000_000);
        assert_eq!(ticks(0), TICKS_AT_UNIX_EPOCH);
    }

    #[test]
    fn answers_take_the_form_events_carry() {
        let state = State::default();
        let single = QuestionSpec::with_options("Pick", QuestionType::SingleOption, ["A", "B"]);
        let answer = normalize_answer(&state, &single, &serde_json::json!("A")).unwrap();
        assert_eq!(answer, Answer::Options(vec!["A".into()]));
        assert!(normalize_answer(&state, &single, &serde_json::json!(["A", "B"])).is_err());
        assert!(
            normalize_answer(&state, &single, &serde_json::json!("C"))
                .unwrap_err()
                .contains("not one of")
        );
        let date = QuestionSpec::new("When", QuestionType::DateTime);
        let answer = normalize_answer(&state, &date, &serde_json::json!(1_500_377_471)).unwrap();
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            serde_json::json!(1_500_377_471_000_i64)
        );
        let text = QuestionSpec::new("Say", QuestionType::Text);
        assert!(normalize_answer(&state, &text, &serde_json::json!(12)).is_err());
        let image = QuestionSpec::new("Photo", QuestionType::Image);
        assert!(normalize_answer(&state, &image, &serde_json::json!("nope")).is_err());
    }
}
