//! `POST /admin/simulate/responses {groupId, actionId, count,
//! updateFraction?, users?}`: virtual users respond to an action already in
//! the state — a survey (`SurveyResponse`), a custom action package
//! instance (`ActionResponse`), a poll (`PollResponse`), a Let's Meet
//! (`LetsMeetResponse`) — or a job's assignees mark it done
//! (`JobResponse`). Responses are recorded in the action as the API records
//! them, and the events carry the data `EventSchema.md` shows.
//!
//! Who responds: group members who have not responded yet (anyone, when the
//! action takes several responses per person), then, when they are too few,
//! new virtual users who join the group first (`MemberAdded`) — so `count`
//! responses come from `count` distinct people, unless `users` caps them
//! (then people respond several times, which only actions that take
//! several responses per person allow). A fraction (`updateFraction`,
//! default 0.05) of the new responses is then re-answered: same
//! `responseId`, some answers changed, `isUpdateResponse: true`.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use kaizala_types::actions::{
    ActionType, Answer, CustomActionBody, JobBody, JobResponseDetail, LetsMeetBody, PollBody,
    QuestionType, ResponseDetails, ResponseDetailsObject, SurveyBody,
};
use kaizala_types::event::{ActionEventData, EventData, EventType};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::{Map, Value, json};

use super::answers::{Asked, response_time};
use super::random;
use super::request::Body;
use super::users::People;
use super::{Produced, finish};
use crate::events::Happening;
use crate::http::{ApiError, Reply};
use crate::model::{Action, ActionResponse, State, User};
use crate::shared::Shared;

/// The share of new responses re-answered when the request does not say.
const DEFAULT_UPDATE_FRACTION: f64 = 0.05;

/// What responding to an action looks like.
#[derive(Debug)]
struct Form {
    /// The event each response makes.
    event_type: EventType,
    /// The action's title (a poll's question), as events carry it.
    title: Option<String>,
    /// Closes at this time (surveys, polls, packages; jobs and meetings
    /// take responses late).
    closes: bool,
    /// The action package, for custom actions.
    package_id: Option<String>,
    /// What is asked.
    questions: Vec<Asked>,
    /// One person may respond more than once.
    multiple: bool,
    /// Responses hide who gave them.
    anonymous: bool,
    /// Responses carry the app's hidden `ResponseTime` question.
    response_time: bool,
}

/// A request, checked.
#[derive(Debug)]
struct Ask {
    group_id: String,
    action_id: String,
    count: usize,
    update_fraction: f64,
    users: Option<usize>,
}

/// What the call did, for the summary.
#[derive(Debug, Default)]
struct Done {
    event_type: String,
    responses: Vec<String>,
    updates: usize,
    responders: usize,
    created_users: Vec<String>,
    assignees_left: Option<usize>,
}

/// Runs the simulation.
pub fn simulate(shared: &Shared, body: &Bytes) -> Result<Reply, ApiError> {
    let body = Body::parse(
        body,
        &["groupId", "actionId", "count", "updateFraction", "users"],
    )?;
    let ask = Ask {
        group_id: body.required_string("groupId")?,
        action_id: body.required_string("actionId")?,
        count: body.positive_count("count")? as usize,
        update_fraction: body
            .fraction("updateFraction")?
            .unwrap_or(DEFAULT_UPDATE_FRACTION),
        users: match body.count("users")? {
            Some(0) => return Err(ApiError::bad_field("users", "must be at least 1")),
            users => users.map(|u| u as usize),
        },
    };
    let mut rng = random::for_call(shared);
    let now = shared.now_ms();
    let mut produced = Produced::default();
    let done = shared
        .store
        .write(|state| respond(state, &mut rng, &shared.base_url, now, &ask, &mut produced))?;

    let mut summary = Map::new();
    summary.insert("groupId".into(), json!(ask.group_id));
    summary.insert("actionId".into(), json!(ask.action_id));
    summary.insert("eventType".into(), json!(done.event_type));
    summary.insert("responses".into(), json!(done.responses.len()));
    summary.insert("updates".into(), json!(done.updates));
    summary.insert("responders".into(), json!(done.responders));
    if let Some(left) = done.assignees_left {
        summary.insert("assigneesLeft".into(), json!(left));
    }
    summary.insert("responseIds".into(), json!(done.responses));
    summary.insert("userIds".into(), json!(done.created_users));
    Ok(finish(shared, produced, summary))
}

fn respond(
    state: &mut State,
    rng: &mut StdRng,
    base_url: &str,
    now: i64,
    ask: &Ask,
    out: &mut Produced,
) -> Result<Done, ApiError> {
    let tenant = super::group(state, &ask.group_id)?.tenant.clone();
    out.listen(state, &tenant);
    let action = state
        .actions
        .get(&ask.action_id)
        .filter(|a| a.group_id == ask.group_id)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no action {} in the group {}",
                ask.action_id, ask.group_id
            ))
        })?;
    if action.package_id.is_none()
        && action.action_type.as_deref().map(ActionType::from_wire) == Some(ActionType::Job)
    {
        return job(state, rng, base_url, now, ask, &tenant, out);
    }
    let form = form_of(action)?;
    if let Some(expiry) = action.expiry_ms.filter(|e| form.closes && *e <= now) {
        return Err(ApiError::bad_field(
            "actionId",
            format!(
                "the action closed at {}: it takes no more responses",
                kaizala_types::Timestamp::from_unix_millis(expiry).to_rfc3339()
            ),
        ));
    }

    // Who responds.
    let already: HashSet<&str> = action
        .responses
        .iter()
        .map(|r| r.responder.as_str())
        .collect();
    let group = &state.groups[&ask.group_id];
    let mut responders: Vec<String> = group
        .members
        .keys()
        .filter(|m| {
            (form.multiple || !already.contains(m.as_str())) && state.users.contains_key(*m)
        })
        .cloned()
        .collect();
    let distinct = ask.count.min(ask.users.unwrap_or(ask.count));
    if !form.multiple && ask.count > distinct {
        return Err(ApiError::bad_field(
            "users",
            format!(
                "this action takes one response per person: {} responses need {} people, but users allows {distinct}",
                ask.count, ask.count
            ),
        ));
    }
    responders.shuffle(rng);
    responders.truncate(distinct);
    let mut people = People::of(state);
    let created = super::users::recruit(
        state,
        &mut people,
        rng,
        base_url,
        &ask.group_id,
        distinct - responders.len(),
        out,
    );
    responders.extend(created.iter().cloned());

    // Everyone once, then (several responses per person) again at random.
    let mut turns: Vec<usize> = (0..distinct).collect();
    turns.extend((distinct..ask.count).map(|_| rng.random_range(0..distinct)));
    turns.shuffle(rng);

    let State { users, actions, .. } = state;
    let action = actions.get_mut(&ask.action_id).expect("checked above");
    let first = action.responses.len();
    let mut given: Vec<Vec<Option<Answer>>> = Vec::with_capacity(ask.count);
    let mut ids = Vec::with_capacity(ask.count);
    for turn in turns {
        let who = &users[&responders[turn]];
        let answers: Vec<Option<Answer>> = form
            .questions
            .iter()
            .map(|q| q.answer(rng, who, now, base_url))
            .collect();
        let response_id = random::guid(rng);
        action.responses.push(ActionResponse {
            response_id: response_id.clone(),
            responder: who.id.clone(),
            body: stored(&answers),
            created_ms: now,
            updated_ms: now,
            updated: false,
        });
        if out.unheard {
            out.count(&form.event_type);
        } else {
            out.push(event(
                &form,
                &tenant,
                action,
                &response_id,
                who,
                &answers,
                false,
                now,
            ));
        }
        given.push(answers);
        ids.push(response_id);
    }

    // Second thoughts.
    let updates = ((ask.update_fraction * ask.count as f64).round() as usize).min(ask.count);
    for i in rand::seq::index::sample(rng, ask.count, updates) {
        let answers = &mut given[i];
        let changed = rng.random_range(0..form.questions.len());
        let responder = action.responses[first + i].responder.clone();
        let who = &users[&responder];
        for (j, question) in form.questions.iter().enumerate() {
            if j == changed || rng.random_bool(0.25) {
                answers[j] = question.answer(rng, who, now, base_url);
            }
        }
        let record = &mut action.responses[first + i];
        record.body = stored(answers);
        record.updated_ms = now;
        record.updated = true;
        let response_id = record.response_id.clone();
        if out.unheard {
            out.count(&form.event_type);
        } else {
            out.push(event(
                &form,
                &tenant,
                action,
                &response_id,
                who,
                answers,
                true,
                now,
            ));
        }
    }

    Ok(Done {
        event_type: form.event_type.to_string(),
        responses: ids,
        updates,
        responders: distinct,
        created_users: created,
        assignees_left: None,
    })
}

/// A boolean property of an action body, in any letter case, `true` or `"true"`.
fn flag(body: &Value, name: &str) -> Option<bool> {
    let value = body
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))?
        .1;
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn decode<T: serde::de::DeserializeOwned>(action: &Action, what: &str) -> Result<T, ApiError> {
    kaizala_types::from_value(action.body.clone()).map_err(|e| {
        ApiError::bad_field(
            "actionId",
            format!("the action's body is not a {what}: {e}"),
        )
    })
}

/// What responding to `action` looks like (jobs aside).
fn form_of(action: &Action) -> Result<Form, ApiError> {
    if let Some(package) = &action.package_id {
        let body: CustomActionBody = decode(action, "custom action body")?;
        let questions: Vec<Asked> = body
            .questions
            .iter()
            .flatten()
            .map(Asked::from_spec)
            .collect();
        if questions.is_empty() {
            return Err(ApiError::bad_field(
                "actionId",
                "the custom action has no questions to answer",
            ));
        }
        return Ok(Form {
            event_type: EventType::ActionResponse,
            title: body.title.clone(),
            closes: true,
            package_id: Some(package.clone()),
            questions,
            // Order forms and the like: people submit again and again.
            multiple: flag(&action.body, "acceptMultipleResponses").unwrap_or(true),
            anonymous: flag(&action.body, "isAnonymous").unwrap_or(false),
            response_time: true,
        });
    }
    let action_type = ActionType::from_wire(action.action_type.as_deref().unwrap_or_default());
    let single = |event_type: EventType, title: String, question: String, options: Vec<String>| {
        let closes = event_type == EventType::PollResponse;
        Form {
            event_type,
            title: Some(title),
            closes,
            package_id: None,
            questions: vec![Asked::new(
                question,
                QuestionType::SingleOption,
                options,
                false,
            )],
            multiple: false,
            anonymous: false,
            response_time: false,
        }
    };
    match action_type {
        ActionType::Survey => {
            let body: SurveyBody = decode(action, "survey")?;
            if body.questions.is_empty() {
                return Err(ApiError::bad_field(
                    "actionId",
                    "the survey has no questions to answer",
                ));
            }
            Ok(Form {
                event_type: EventType::SurveyResponse,
                title: Some(body.title.clone()),
                closes: true,
                package_id: None,
                questions: body.questions.iter().map(Asked::from_spec).collect(),
                multiple: body.accept_multiple_responses.is_some_and(|f| f.get()),
                anonymous: body.is_anonymous.is_some_and(|f| f.get()),
                response_time: true,
            })
        }
        ActionType::Poll => {
            let body: PollBody = decode(action, "poll")?;
            if body.choices.is_empty() {
                return Err(ApiError::bad_field("actionId", "the poll has no choices"));
            }
            Ok(single(
                EventType::PollResponse,
                body.question.clone(),
                body.question,
                body.choices.into_iter().map(|c| c.title).collect(),
            ))
        }
        ActionType::LetsMeet => {
            let body: LetsMeetBody = decode(action, "Let's Meet")?;
            let options = ["Yes", "No", "Maybe"].map(String::from).to_vec();
            Ok(single(
                EventType::LetsMeetResponse,
                body.title,
                "Are you attending?".into(),
                options,
            ))
        }
        ActionType::Other(ref name) if name.is_empty() => Err(ApiError::bad_field(
            "actionId",
            "the action has neither an action type nor a package",
        )),
        other => Err(ApiError::bad_field(
            "actionId",
            format!("a {other} takes no responses"),
        )),
    }
}

/// A response as the action keeps it: its `actionBody`, one answer per
/// question (`null` when left out).
fn stored(answers: &[Option<Answer>]) -> Value {
    let answers: Vec<Value> = answers
        .iter()
        .map(|a| {
            a.as_ref()
                .map_or(Value::Null, |a| serde_json::to_value(a).unwrap_or_default())
        })
        .collect();
    json!({"answers": answers})
}

#[allow(clippy::too_many_arguments)]
fn event(
    form: &Form,
    tenant: &str,
    action: &Action,
    response_id: &str,
    who: &User,
    answers: &[Option<Answer>],
    update: bool,
    now: i64,
) -> Happening {
    let mut questions: Vec<_> = form
        .questions
        .iter()
        .zip(answers)
        .map(|(q, a)| q.answered(a.clone()))
        .collect();
    if form.response_time {
        questions.push(response_time(now));
    }
    let shown = !form.anonymous;
    let data = ActionEventData {
        action_id: Some(action.id.as_str().into()),
        action_package_id: form.package_id.as_deref().map(Into::into),
        package_id: form.package_id.as_deref().map(Into::into),
        group_id: Some(action.group_id.as_str().into()),
        title: form.title.clone(),
        response_id: Some(response_id.into()),
        is_update_response: Some(update.into()),
        responder: shown.then(|| who.phone.clone()),
        responder_id: shown.then(|| who.id.as_str().into()),
        responder_name: shown.then(|| who.name.clone()),
        responder_profile_pic: shown.then(|| who.profile_pic.clone()),
        is_anonymous: Some(form.anonymous.into()),
        response_details: Some(ResponseDetails::Object(ResponseDetailsObject {
            response_with_questions: Some(questions),
            ..Default::default()
        })),
        ..Default::default()
    };
    Happening {
        tenant: tenant.to_owned(),
        group_id: action.group_id.clone(),
        event_type: form.event_type.clone(),
        action_id: Some(action.id.clone()),
        package_id: form.package_id.clone(),
        from_user: shown.then(|| who.id.clone()),
        data: EventData::Action(data),
    }
}

/// A job: assignees who have not responded yet mark it done.
fn job(
    state: &mut State,
    rng: &mut StdRng,
    base_url: &str,
    now: i64,
    ask: &Ask,
    tenant: &str,
    out: &mut Produced,
) -> Result<Done, ApiError> {
    let body: JobBody = decode(&state.actions[&ask.action_id], "job")?;
    let by_phone: HashMap<String, String> = state
        .users
        .values()
        .map(|u| (u.phone.clone(), u.id.clone()))
        .collect();
    let mut people = People::of(state);
    let mut created = Vec::new();
    let mut assignees: Vec<String> = Vec::new();
    for phone in &body.assigned_to {
        let id = match by_phone.get(phone.as_str()) {
            Some(id) => id.clone(),
            None => {
                // Assigned by number before they joined Kaizala.
                let id = people.create_with_phone(state, rng, base_url, phone.as_str().to_owned());
                created.push(id.clone());
                id
            }
        };
        if !assignees.contains(&id) {
            assignees.push(id);
        }
    }
    out.created_users += created.len() as u64;
    let action = &state.actions[&ask.action_id];
    let responded: HashSet<&str> = action
        .responses
        .iter()
        .map(|r| r.responder.as_str())
        .collect();
    let mut pending: Vec<String> = assignees
        .into_iter()
        .filter(|a| !responded.contains(a.as_str()))
        .collect();
    if pending.is_empty() {
        return Err(ApiError::bad_field(
            "actionId",
            "every assignee of the job has already responded",
        ));
    }
    pending.shuffle(rng);
    let n = ask.count.min(pending.len());
    let left = pending.len() - n;
    pending.truncate(n);

    let State { users, actions, .. } = state;
    let action = actions.get_mut(&ask.action_id).expect("checked above");
    let mut ids = Vec::with_capacity(n);
    for assignee in &pending {
        let who = &users[assignee];
        let response_id = random::guid(rng);
        action.responses.push(ActionResponse {
            response_id: response_id.clone(),
            responder: who.id.clone(),
            body: json!({"isCompleted": true}),
            created_ms: now,
            updated_ms: now,
            updated: false,
        });
        let detail = JobResponseDetail {
            assignee: Some(who.phone.clone()),
            assignee_id: Some(who.id.as_str().into()),
            assignee_name: Some(who.name.clone()),
            assignee_profile_pic: Some(who.profile_pic.clone()),
            is_completed: Some(true.into()),
            ..Default::default()
        };
        let data = ActionEventData {
            action_id: Some(action.id.as_str().into()),
            group_id: Some(action.group_id.as_str().into()),
            title: Some(body.title.clone()),
            response_id: Some(response_id.as_str().into()),
            is_update_response: Some(false.into()),
            response_details: Some(ResponseDetails::Object(ResponseDetailsObject {
                response: Some(detail),
                ..Default::default()
            })),
            ..Default::default()
        };
        out.push(Happening {
            tenant: tenant.to_owned(),
            group_id: action.group_id.clone(),
            event_type: EventType::JobResponse,
            action_id: Some(action.id.clone()),
            package_id: None,
            from_user: Some(who.id.clone()),
            data: EventData::Action(data),
        });
        ids.push(response_id);
    }
    Ok(Done {
        event_type: EventType::JobResponse.to_string(),
        responses: ids,
        updates: 0,
        responders: n,
        created_users: created,
        assignees_left: Some(left),
    })
}
