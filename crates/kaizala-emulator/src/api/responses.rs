//! Responses to actions (`action_responses.md`): survey and package
//! answers (checked question by question against the action's questions),
//! job completion (assignees only), poll votes and Let's Meet RSVPs (one
//! option, answered like a one-question survey). A `responseId` updates
//! the responder's earlier response.
//!
//! Each response is announced as `SurveyResponse`, `ActionResponse`
//! (packages), `JobResponse`, `PollResponse` or `LetsMeetResponse`.

use kaizala_types::actions::ActionType;
use kaizala_types::event::{EventData, EventType};
use kaizala_types::responses::{
    ActionResponseRequest, ActionResponseResponse, ResponseBody, SurveyResponseBody,
};

use super::Ctx;
use super::convert::{self, Kind};
use crate::events::Happening;
use crate::http::{ApiError, Reply};
use crate::model::{ActionResponse, State};

/// `POST /groups/{groupId}/actions/{actionId}/responses`: `{responseId}`.
pub fn post(ctx: &mut Ctx<'_>, state: &mut State) -> Result<Reply, ApiError> {
    let group = ctx.group(state, 0)?;
    let (group_id, tenant) = (group.id.clone(), group.tenant.clone());
    let action_id = ctx.call.param(1).to_owned();
    let action = state
        .actions
        .get(&action_id)
        .filter(|a| a.group_id == group_id)
        .ok_or_else(|| ApiError::not_found(format!("no action {action_id} in group {group_id}")))?;
    let request: ActionResponseRequest = ctx.call.json()?;
    let actor = ctx.actor(state)?;
    let kind = convert::kind_of(action);

    if let Some(asked) = &request.action_type {
        let own = action.action_type.as_deref().map(ActionType::from_wire);
        // Package instances are answered like surveys, with or without
        // `actionType: Survey`.
        let survey_like = kind == Kind::Package && *asked == ActionType::Survey;
        if own.as_ref() != Some(asked) && !survey_like {
            let own = own.map_or_else(
                || "an action package instance".to_owned(),
                |t| format!("a {t}"),
            );
            return Err(ApiError::bad_field(
                "actionType",
                format!("the action is {own}, not a {asked}"),
            ));
        }
    }
    if let Some(package) = &request.id
        && action.package_id.as_deref() != Some(package.as_str())
    {
        return Err(ApiError::bad_field(
            "id",
            format!("the action is not an instance of the package {package}"),
        ));
    }
    if matches!(kind, Kind::Survey | Kind::Poll | Kind::Package)
        && let Some(closed) = action.expiry_ms.filter(|at| *at <= ctx.now_ms)
    {
        return Err(ApiError::bad_request(format!(
            "the action closed at {}: it takes no more responses",
            convert::iso(closed).to_rfc3339()
        )));
    }

    let (body, event_type) = match kind {
        Kind::Job => {
            let ResponseBody::Job(job) = &request.action_body else {
                return Err(ApiError::bad_field(
                    "actionBody",
                    "a job response is {\"isCompleted\": true|false} with actionType Job",
                ));
            };
            let phone = convert::phone_of(state, &actor);
            if !convert::assignees_of(action).contains(&phone) {
                return Err(ApiError::forbidden(
                    "only the job's assignees respond to it",
                ));
            }
            (
                serde_json::to_value(job).unwrap_or_default(),
                EventType::JobResponse,
            )
        }
        Kind::Survey | Kind::Package | Kind::Poll | Kind::LetsMeet => {
            let answers: SurveyResponseBody = match &request.action_body {
                ResponseBody::Survey(body) => body.clone(),
                ResponseBody::Other(value) => {
                    kaizala_types::from_value(value.clone()).map_err(|err| {
                        let path = if err.path().is_empty() {
                            "actionBody".to_owned()
                        } else {
                            format!("actionBody.{}", err.path())
                        };
                        ApiError::bad_field(path, err.message())
                    })?
                }
                _ => {
                    return Err(ApiError::bad_field(
                        "actionBody",
                        "answer with {\"answers\": [...]}",
                    ));
                }
            };
            let questions = convert::questions_of(action);
            if answers.answers.len() > questions.len() {
                return Err(ApiError::bad_field(
                    format!("actionBody.answers[{}]", questions.len()),
                    format!("the action asks {} question(s)", questions.len()),
                ));
            }
            if matches!(kind, Kind::Poll | Kind::LetsMeet) && answers.answers.is_empty() {
                return Err(ApiError::bad_field(
                    "actionBody.answers",
                    "answer with one of the options",
                ));
            }
            for (i, (question, answer)) in questions.iter().zip(&answers.answers).enumerate() {
                let value = serde_json::to_value(answer).unwrap_or_default();
                convert::normalize_answer(state, question, &value).map_err(|why| {
                    ApiError::bad_field(
                        format!("actionBody.answers[{i}]"),
                        format!("{:?}: {why}", question.title),
                    )
                })?;
            }
            let event_type = match kind {
                Kind::Survey => EventType::SurveyResponse,
                Kind::Poll => EventType::PollResponse,
                Kind::LetsMeet => EventType::LetsMeetResponse,
                _ => EventType::ActionResponse,
            };
            (
                serde_json::to_value(&answers).unwrap_or_default(),
                event_type,
            )
        }
        Kind::Announcement | Kind::Media | Kind::Other => {
            return Err(ApiError::bad_request(format!(
                "{} posts take reactions, not responses",
                action.action_type.as_deref().unwrap_or("these")
            )));
        }
    };
    let accepts_many = convert::body_flag(&action.body, "acceptMultipleResponses");
    let earlier = match &request.response_id {
        Some(id) => Some(
            action
                .responses
                .iter()
                .position(|r| r.response_id == id.as_str() && r.responder == actor)
                .ok_or_else(|| {
                    ApiError::not_found(format!("no response {id} of yours to this action"))
                })?,
        ),
        None if !accepts_many && action.responses.iter().any(|r| r.responder == actor) => {
            return Err(ApiError::bad_request(
                "you already responded to this action, which takes one response per person: send that response's responseId to update it",
            ));
        }
        None => None,
    };

    let now = ctx.now_ms;
    let action = state.actions.get_mut(&action_id).expect("looked up above");
    let index = match earlier {
        Some(index) => {
            let response = &mut action.responses[index];
            response.body = body;
            response.updated_ms = now;
            response.updated = true;
            index
        }
        None => {
            action.responses.push(ActionResponse {
                response_id: ctx.shared.ids.guid(),
                responder: actor.clone(),
                body,
                created_ms: now,
                updated_ms: now,
                updated: false,
            });
            action.responses.len() - 1
        }
    };
    let action = &state.actions[&action_id];
    let response = &action.responses[index];
    let data = convert::response_event(state, action, response);
    ctx.happened(Happening {
        tenant,
        group_id,
        event_type,
        action_id: Some(action.id.clone()),
        package_id: action.package_id.clone(),
        from_user: (!convert::is_anonymous(action)).then(|| actor.clone()),
        data: EventData::Action(data),
    });
    Ok(Reply::ok(&ActionResponseResponse {
        response_id: response.response_id.as_str().into(),
        extra: Default::default(),
    }))
}
