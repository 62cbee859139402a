//! Actions (`actions*.md`, `actionDetails.md`, `media.md`): post
//! announcements, jobs, polls, Let's Meet requests, surveys, media files
//! and action package instances; list them by type; get one, with its
//! responses on request.
//!
//! Each post is announced with its event: `Announcement`, `JobCreated`,
//! `PollCreated`, `LetsMeetCreated`, `SurveyCreated`, `AttachmentCreated`
//! (media) or `ActionCreated` (packages).

use std::collections::BTreeSet;

use kaizala_types::actions::{
    ActionBody, ActionDetails, ActionList, ActionSummary, ActionType, CreateActionRequest,
    CreateActionResponse, DetailsBody, ImageSummary, JobDetails, JobSummary, LetsMeetBody,
    LetsMeetSummary, PollBody, PollSummary, QuestionSpec, QuestionType, SummaryBody, SurveyDetails,
    SurveySummary,
};
use kaizala_types::event::{
    AnnouncementData, AttachmentData, EventData, EventType, JobCreatedData,
};
use kaizala_types::media::{MediaKind, format_for_content_type};
use kaizala_types::{Flag, Timestamp};
use serde_json::{Value, json};

use super::Ctx;
use super::convert::{self, Kind};
use crate::events::Happening;
use crate::http::{ApiError, Reply};
use crate::model::{Action, MediaFile, State};

/// Hours a job or survey stays open without `dueDate`.
pub const DEFAULT_DUE_HOURS: u64 = 24;
/// Hours a poll stays open without `expiryInHours`.
pub const DEFAULT_POLL_HOURS: u64 = 720;
/// Minutes a meeting lasts without `duration`.
pub const DEFAULT_MEETING_MINUTES: u64 = 30;
/// Actions per page without `count`.
pub const DEFAULT_PAGE: usize = 30;

/// `POST /groups/{groupId}/actions`: `{referenceId, actionId}` (no
/// `actionId` for media posts, as `media.md` shows).
pub fn create(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let group = ctx.group(state, 0)?;
    let (group_id, tenant) = (group.id.clone(), group.tenant.clone());
    let request: CreateActionRequest = ctx.call.json()?;
    let actor = ctx.actor(state)?;
    convert::audience(
        state,
        group,
        &actor,
        request.send_to_all_subscribers,
        request.subscribers.as_deref(),
    )?;
    let package_id = request
        .id
        .as_ref()
        .map(|id| id.as_str().trim().to_owned())
        .filter(|id| !id.is_empty());
    if request.action_type.is_none() && package_id.is_none() {
        return Err(ApiError::bad_field(
            "actionType",
            "name the action type (actionType) or the action package (id)",
        ));
    }
    let now = ctx.now_ms;
    let mut expiry_ms = None;
    let mut files: Vec<MediaFile> = Vec::new();
    match &request.action_body {
        ActionBody::Announcement(body) => {
            if body.message.trim().is_empty() {
                return Err(ApiError::bad_field(
                    "actionBody.message",
                    "the announcement has no message",
                ));
            }
            for (i, resource) in body.media_resources.iter().flatten().enumerate() {
                files.push(media(
                    state,
                    resource.as_str(),
                    &format!("actionBody.mediaResources[{i}]"),
                )?);
            }
        }
        ActionBody::Job(body) => {
            required_text(&body.title, "actionBody.title")?;
            if body.assigned_to.is_empty() {
                return Err(ApiError::bad_field(
                    "actionBody.assignedTo",
                    "assign the job to at least one person",
                ));
            }
            for phone in &body.assigned_to {
                convert::user_for_phone(ctx.shared, state, phone);
            }
            expiry_ms = Some(now + hours(body.due_date, DEFAULT_DUE_HOURS, "actionBody.dueDate")?);
        }
        ActionBody::Poll(body) => {
            required_text(&body.question, "actionBody.question")?;
            if body.choices.len() < 2 {
                return Err(ApiError::bad_field(
                    "actionBody.choices",
                    "a poll needs at least two choices",
                ));
            }
            let mut titles = BTreeSet::new();
            for (i, choice) in body.choices.iter().enumerate() {
                required_text(&choice.title, &format!("actionBody.choices[{i}].title"))?;
                if !titles.insert(choice.title.as_str()) {
                    return Err(ApiError::bad_field(
                        format!("actionBody.choices[{i}].title"),
                        "two choices have this title",
                    ));
                }
                if let Some(image) = choice.image.as_deref().filter(|i| !i.is_empty()) {
                    media(state, image, &format!("actionBody.choices[{i}].image"))?;
                }
            }
            expiry_ms = Some(
                now + hours(
                    body.expiry_in_hours,
                    DEFAULT_POLL_HOURS,
                    "actionBody.expiryInHours",
                )?,
            );
        }
        ActionBody::LetsMeet(body) => {
            required_text(&body.title, "actionBody.title")?;
            let minutes = body
                .duration
                .unwrap_or(DEFAULT_MEETING_MINUTES)
                .min(100 * 366 * 24 * 60);
            expiry_ms = Some(
                body.starting_time
                    .unix_millis()
                    .saturating_add(minutes as i64 * 60_000),
            );
        }
        ActionBody::Survey(body) => {
            required_text(&body.title, "actionBody.title")?;
            check_questions(&body.questions, true)?;
            expiry_ms = Some(now + hours(body.due_date, DEFAULT_DUE_HOURS, "actionBody.dueDate")?);
        }
        ActionBody::Media(body) => {
            let file = media(
                state,
                body.media_resource.as_str(),
                "actionBody.mediaResource",
            )?;
            let posted = request.action_type.clone().unwrap_or(ActionType::Image);
            let kind = format_for_content_type(&file.content_type).map(|f| f.kind);
            let fits = match kind {
                Some(MediaKind::Image) => matches!(posted, ActionType::Image | ActionType::Album),
                Some(kind) => kind.action_type() == posted,
                None => false,
            };
            if !fits {
                let what = kind.map_or_else(
                    || file.content_type.clone(),
                    |k| k.action_type().to_string(),
                );
                return Err(ApiError::bad_field(
                    "actionBody.mediaResource",
                    format!(
                        "{} is {what} media: post it with actionType {what}",
                        file.file_name
                    ),
                ));
            }
            files.push(file);
        }
        ActionBody::Custom(body) => {
            if let Some(questions) = &body.questions {
                check_questions(questions, false)?;
            }
            if let Some(hours_open) = body.due_date.or(body.validity) {
                expiry_ms =
                    Some(now + hours(Some(hours_open), DEFAULT_DUE_HOURS, "actionBody.dueDate")?);
            }
        }
        _ => {
            let named = request
                .action_type
                .as_ref()
                .map_or_else(String::new, ToString::to_string);
            return Err(ApiError::bad_field(
                "actionType",
                format!(
                    "{named} actions cannot be posted: use Announcement, Job, Poll, LetsMeet, Survey, Image, Album, Audio, Document or Video, or an action package id"
                ),
            ));
        }
    }

    let action = Action {
        id: ctx.shared.ids.guid(),
        reference_id: ctx.shared.ids.guid(),
        group_id: group_id.clone(),
        action_type: request.action_type.as_ref().map(|t| t.as_str().to_owned()),
        package_id,
        body: serde_json::to_value(&request.action_body).unwrap_or_default(),
        sender: actor.clone(),
        sent_ms: now,
        expiry_ms,
        responses: Vec::new(),
    };
    let kind = convert::kind_of(&action);
    let (event_type, data) = match kind {
        Kind::Announcement => (
            EventType::Announcement,
            EventData::Announcement(AnnouncementData {
                title: convert::body_text(&action.body, "title"),
                text: convert::body_text(&action.body, "message"),
                media: (!files.is_empty()).then(|| files.iter().map(convert::media_item).collect()),
                extra: Default::default(),
            }),
        ),
        Kind::Job => (
            EventType::JobCreated,
            EventData::JobCreated(JobCreatedData {
                action_id: Some(action.id.as_str().into()),
                group_id: Some(group_id.as_str().into()),
                title: convert::title_of(&action),
                text: None,
                due_date: action.expiry_ms.map(convert::iso),
                assigned_to: Some(convert::assignees_of(&action)),
                extra: Default::default(),
            }),
        ),
        Kind::Media => (
            EventType::AttachmentCreated,
            EventData::Attachment(AttachmentData {
                media: Some(files.iter().map(convert::media_item).collect()),
                action_type: request.action_type.clone(),
                caption: convert::body_text(&action.body, "caption"),
                extra: Default::default(),
            }),
        ),
        Kind::Poll => (
            EventType::PollCreated,
            EventData::Action(convert::created_event(&action)),
        ),
        Kind::LetsMeet => (
            EventType::LetsMeetCreated,
            EventData::Action(convert::created_event(&action)),
        ),
        Kind::Survey => (
            EventType::SurveyCreated,
            EventData::Action(convert::created_event(&action)),
        ),
        Kind::Package | Kind::Other => (
            EventType::ActionCreated,
            EventData::Action(convert::created_event(&action)),
        ),
    };
    let answer = CreateActionResponse {
        reference_id: action.reference_id.as_str().into(),
        action_id: (kind != Kind::Media).then(|| action.id.as_str().into()),
        extra: Default::default(),
    };
    ctx.happened(Happening {
        tenant,
        group_id,
        event_type,
        action_id: Some(action.id.clone()),
        package_id: action.package_id.clone(),
        from_user: Some(actor),
        data,
    });
    state.actions.insert(action.id.clone(), action);
    Ok(Reply::ok(&answer))
}

fn required_text(text: &str, field: &str) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        Err(ApiError::bad_field(field, "must not be empty"))
    } else {
        Ok(())
    }
}

fn hours(value: Option<u64>, default: u64, field: &str) -> Result<i64, ApiError> {
    match value.unwrap_or(default) {
        0 => Err(ApiError::bad_field(field, "at least one hour")),
        hours => Ok(convert::hours_ms(hours)),
    }
}

/// An uploaded file, named by its `mediaResource`.
fn media(state: &State, resource: &str, field: &str) -> Result<MediaFile, ApiError> {
    state.media.get(resource).cloned().ok_or_else(|| {
        ApiError::bad_field(
            field,
            "not a media resource returned by /media: upload the file first",
        )
    })
}

/// Survey questions: titled, of a documented type, options for the
/// option types (distinct, titled).
fn check_questions(questions: &[QuestionSpec], required: bool) -> Result<(), ApiError> {
    if required && questions.is_empty() {
        return Err(ApiError::bad_field(
            "actionBody.questions",
            "a survey asks at least one question",
        ));
    }
    for (i, question) in questions.iter().enumerate() {
        let at = format!("actionBody.questions[{i}]");
        required_text(&question.title, &format!("{at}.title"))?;
        if !question.question_type.is_known() {
            return Err(ApiError::bad_field(
                format!("{at}.type"),
                format!("{} is not a question type", question.question_type),
            ));
        }
        if matches!(
            question.question_type,
            QuestionType::SingleOption | QuestionType::MultiOption
        ) {
            let options = question.options.as_deref().unwrap_or_default();
            if options.is_empty() {
                return Err(ApiError::bad_field(
                    format!("{at}.options"),
                    "an option question needs options",
                ));
            }
            let mut titles = BTreeSet::new();
            for (j, option) in options.iter().enumerate() {
                required_text(&option.title, &format!("{at}.options[{j}].title"))?;
                if !titles.insert(option.title.as_str()) {
                    return Err(ApiError::bad_field(
                        format!("{at}.options[{j}].title"),
                        "two options have this title",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// `GET /groups/{groupId}/actions?actionType=…[&fromDate=…][&count=…]`:
/// the group's actions of one type (or action package id) sent at or after
/// `fromDate` (epoch milliseconds; values below 10^11 are seconds), oldest
/// first, `count` (default 30) at a time, `hasMore` when more follow.
pub fn list(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let group_id = ctx.group(state, 0)?.id.clone();
    let wanted = ctx.call.required_query("actionType")?.trim().to_owned();
    let from_ms = match ctx
        .call
        .query("fromDate")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => i64::MIN,
        Some(value) => {
            let n: i64 = value.parse().map_err(|_| {
                ApiError::bad_field(
                    "fromDate",
                    format!("{value:?} is not an epoch time in milliseconds"),
                )
            })?;
            if n.unsigned_abs() < 100_000_000_000 {
                n.saturating_mul(1000)
            } else {
                n
            }
        }
    };
    let count = match ctx
        .call
        .query("count")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => DEFAULT_PAGE,
        Some(value) => match value.parse::<usize>() {
            Ok(0) | Err(_) => {
                return Err(ApiError::bad_field(
                    "count",
                    format!("{value:?} is not a positive number"),
                ));
            }
            Ok(n) => n,
        },
    };
    let wanted_type = ActionType::from_wire(&wanted);
    let mut matching: Vec<&Action> = state
        .actions
        .values()
        .filter(|a| a.group_id == group_id && a.sent_ms >= from_ms)
        .filter(|a| match &wanted_type {
            ActionType::Other(package) => a.package_id.as_deref() == Some(package.as_str()),
            known => a
                .action_type
                .as_deref()
                .is_some_and(|t| ActionType::from_wire(t) == *known),
        })
        .collect();
    matching.sort_by(|a, b| (a.sent_ms, &a.reference_id).cmp(&(b.sent_ms, &b.reference_id)));
    let has_more = matching.len() > count;
    let actions = matching
        .into_iter()
        .take(count)
        .map(|a| summary(state, a))
        .collect();
    Ok(Reply::ok(&ActionList {
        actions,
        has_more: Some(Flag::from(has_more)),
        extra: Default::default(),
    }))
}

/// `GET /groups/{groupId}/actions/{actionId}[?getDetails=true]`:
/// `{actionType, actionDetails, sender, sentAt, referenceId}`; with
/// `getDetails`, the details list the responses as response events carry
/// them (`docs/api/decisions.md`, entry 43).
pub fn get(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let group_id = ctx.group(state, 0)?.id.clone();
    let with_responses = ctx.call.flag("getDetails")?;
    let id = ctx.call.param(1);
    let action = state
        .actions
        .get(id)
        .filter(|a| a.group_id == group_id)
        .ok_or_else(|| ApiError::not_found(format!("no action {id} in group {group_id}")))?;
    let responses = with_responses.then(|| {
        action
            .responses
            .iter()
            .map(|r| convert::response_event(state, action, r))
            .collect::<Vec<_>>()
    });
    let details = match convert::kind_of(action) {
        Kind::Job => {
            let assignees = convert::assignees_of(action);
            let done = convert::completed_by(state, action);
            let completed = assignees.iter().filter(|a| done.contains(*a)).count() as u64;
            DetailsBody::Job(JobDetails {
                action_id: Some(action.id.as_str().into()),
                title: convert::title_of(action),
                due_date: action.expiry_ms.map(convert::iso),
                status: Some(Flag::from(
                    !assignees.is_empty() && completed == assignees.len() as u64,
                )),
                response_count: Some(completed),
                assignee_count: Some(assignees.len() as u64),
                responses,
                extra: Default::default(),
            })
        }
        Kind::Survey => DetailsBody::Survey(SurveyDetails {
            action_id: Some(action.id.as_str().into()),
            title: convert::title_of(action),
            response_count: Some(responder_count(action)),
            expiry_date: action.expiry_ms.map(convert::iso),
            responses,
            extra: Default::default(),
        }),
        _ => {
            let mut details = serde_json::to_value(summary_body(state, action)).unwrap_or_default();
            if let (Some(responses), Some(object)) = (responses, details.as_object_mut()) {
                object.insert(
                    "responses".to_owned(),
                    serde_json::to_value(responses).unwrap_or_default(),
                );
            }
            DetailsBody::Other(details)
        }
    };
    Ok(Reply::ok(&ActionDetails {
        reference_id: Some(action.reference_id.as_str().into()),
        action_type: action.action_type.as_deref().map(ActionType::from_wire),
        sender: Some(convert::phone_of(state, &action.sender)),
        sent_at: Some(convert::iso(action.sent_ms)),
        creation_time: None,
        action_details: Some(details),
        extra: Default::default(),
    }))
}

/// How many people responded.
fn responder_count(action: &Action) -> u64 {
    action
        .responses
        .iter()
        .map(|r| r.responder.as_str())
        .collect::<BTreeSet<_>>()
        .len() as u64
}

/// An action as listed: both `sentAt` (ISO 8601) and `creationTime`
/// (epoch seconds), as the documentation's samples carry one or the other.
fn summary(state: &State, action: &Action) -> ActionSummary {
    ActionSummary {
        reference_id: Some(action.reference_id.as_str().into()),
        action_type: action.action_type.as_deref().map(ActionType::from_wire),
        sender: Some(convert::phone_of(state, &action.sender)),
        sent_at: Some(convert::iso(action.sent_ms)),
        creation_time: Some(Timestamp::from_unix_seconds(
            action.sent_ms.div_euclid(1000),
        )),
        action_body: Some(summary_body(state, action)),
        extra: Default::default(),
    }
}

/// The type-specific part of a listed action, in the shapes of
/// `actions_get.md`; media links point at the uploaded files.
fn summary_body(state: &State, action: &Action) -> SummaryBody {
    let file = convert::body_text(&action.body, "mediaResource").and_then(|r| state.media.get(&r));
    match convert::kind_of(action) {
        Kind::Survey => SummaryBody::Survey(SurveySummary {
            action_id: Some(action.id.as_str().into()),
            title: convert::title_of(action),
            response_count: Some(responder_count(action)),
            expiry_date: action.expiry_ms.map(convert::iso),
            extra: Default::default(),
        }),
        Kind::Job => {
            let assignees = convert::assignees_of(action);
            let done = convert::completed_by(state, action);
            let completed = assignees.iter().filter(|a| done.contains(*a)).count();
            SummaryBody::Job(JobSummary {
                action_id: Some(action.id.as_str().into()),
                title: convert::title_of(action),
                assignee_count: Some(assignees.len() as u64),
                response_count: Some(completed as u64),
                is_completed: Some(Flag::from(
                    !assignees.is_empty() && completed == assignees.len(),
                )),
                due_date: action.expiry_ms.map(convert::iso),
                extra: Default::default(),
            })
        }
        Kind::Poll => {
            let body: Option<PollBody> = kaizala_types::from_value(action.body.clone()).ok();
            let choices = body.as_ref().map(|b| {
                b.choices
                    .iter()
                    .cloned()
                    .map(|mut choice| {
                        choice.image = choice
                            .image
                            .map(|image| state.media.get(&image).map_or(image, |f| f.url.clone()));
                        choice
                    })
                    .collect()
            });
            SummaryBody::Poll(PollSummary {
                action_id: Some(action.id.as_str().into()),
                question: convert::title_of(action),
                is_sender_only: Some(Flag::from(convert::body_flag(&action.body, "isSenderOnly"))),
                expiry_date: action.expiry_ms.map(convert::iso),
                choices,
                extra: Default::default(),
            })
        }
        Kind::LetsMeet => {
            let body: Option<LetsMeetBody> = kaizala_types::from_value(action.body.clone()).ok();
            SummaryBody::LetsMeet(LetsMeetSummary {
                action_id: Some(action.id.as_str().into()),
                title: convert::title_of(action),
                starting_time: body.as_ref().map(|b| b.starting_time.clone()),
                agenda: body.as_ref().and_then(|b| b.agenda.clone()),
                duration: Some(
                    body.as_ref()
                        .and_then(|b| b.duration)
                        .unwrap_or(DEFAULT_MEETING_MINUTES),
                ),
                is_sender_only: Some(Flag::from(convert::body_flag(&action.body, "isSenderOnly"))),
                place: body.and_then(|b| b.place),
                extra: Default::default(),
            })
        }
        Kind::Media if matches!(action.action_type.as_deref(), Some("Image" | "Album")) => {
            SummaryBody::Image(ImageSummary {
                image_url: file.map(|f| f.url.clone()),
                caption: convert::body_text(&action.body, "caption"),
                extra: Default::default(),
            })
        }
        Kind::Media => SummaryBody::Other(compact(json!({
            "mediaUrl": file.map(|f| f.url.clone()),
            "mediaFileName": file.map(|f| f.file_name.clone()),
            "caption": convert::body_text(&action.body, "caption"),
        }))),
        Kind::Announcement => {
            let media: Vec<Value> = convert::field(&action.body, "mediaResources")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| state.media.get(r.as_str()?))
                .map(|f| serde_json::to_value(convert::media_item(f)).unwrap_or_default())
                .collect();
            SummaryBody::Other(compact(json!({
                "actionId": action.id,
                "title": convert::title_of(action),
                "message": convert::body_text(&action.body, "message"),
                "media": media,
            })))
        }
        Kind::Package => SummaryBody::Other(compact(json!({
            "actionId": action.id,
            "packageId": action.package_id,
            "title": convert::title_of(action),
            "responseCount": responder_count(action),
            "expiryDate": action.expiry_ms.map(convert::iso),
        }))),
        // Types the API does not post (a seed's or a simulation's
        // ShareLocation, say): their body as stored, with the action id.
        Kind::Other => {
            let mut body = action.body.clone();
            if let Some(object) = body.as_object_mut() {
                object.insert("actionId".to_owned(), Value::String(action.id.clone()));
            }
            SummaryBody::Other(body)
        }
    }
}

/// Drops the properties that have no value.
fn compact(mut value: Value) -> Value {
    if let Some(object) = value.as_object_mut() {
        object.retain(|_, v| !v.is_null());
    }
    value
}
