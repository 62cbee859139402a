//! The simulation API (`/admin/simulate/…`) over HTTP: 10,000 survey
//! responses from 10,000 people in a few seconds, answers that fit their
//! questions, re-answers, reproducible runs, members joining and leaving,
//! polls, jobs, custom actions, reactions, and the webhook deliveries the
//! events queue.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kaizala_emulator::model::{Action, Role, Webhook};
use kaizala_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use kaizala_types::actions::{Answer, QuestionSpec, QuestionType, SurveyBody};
use kaizala_types::event::{Event, EventData};
use serde_json::{Value, json};

const SURVEY: &str = "survey-store-visit";

async fn start() -> RunningEmulator {
    Emulator::start(EmulatorConfig {
        random_seed: Some(7),
        ..Default::default()
    })
    .await
    .unwrap()
}

/// `method /admin/{path}` with a JSON body: the status and the JSON answer.
async fn admin(emulator: &RunningEmulator, method: &str, path: &str, body: Value) -> (u16, Value) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::builder()
        .method(method)
        .uri(format!("{}/admin/{path}", emulator.base_url()))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(&body).unwrap())))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn simulate(emulator: &RunningEmulator, what: &str, body: Value) -> Value {
    let (status, answer) = admin(emulator, "POST", &format!("simulate/{what}"), body).await;
    assert_eq!(status, 200, "{what}: {answer}");
    answer
}

fn field_team(emulator: &RunningEmulator) -> String {
    emulator.credentials().unwrap().group_id
}

fn questions() -> Vec<QuestionSpec> {
    vec![
        QuestionSpec::with_options(
            "Retailer Outlet",
            QuestionType::SingleOption,
            ["ABC Traders", "BCD Distributors", "EFG wholesale"],
        ),
        QuestionSpec::with_options(
            "Products stocked",
            QuestionType::MultiOption,
            [
                "Rice 1KG",
                "Rice 5KG",
                "Mixed Fruit Juice 250ml",
                "Atta 10KG",
            ],
        ),
        QuestionSpec::new("Rice 1KG", QuestionType::Numeric),
        QuestionSpec::new("Visit date", QuestionType::Date),
        QuestionSpec::new("Location", QuestionType::Location),
        QuestionSpec::new("Shelf photo", QuestionType::AttachmentList),
        QuestionSpec::new("Remarks", QuestionType::Text),
        QuestionSpec::new("Owner's mobile", QuestionType::Phone),
        QuestionSpec::new("Next visit", QuestionType::DateTime),
    ]
}

/// Puts an action in the state the way the API records one.
fn insert_action(
    emulator: &RunningEmulator,
    id: &str,
    group: &str,
    action_type: Option<&str>,
    package: Option<&str>,
    body: Value,
) {
    let now = emulator.clock().now_ms();
    emulator.shared().store.write(|state| {
        let sender = state.groups[group]
            .members
            .iter()
            .find(|(_, r)| **r == Role::Admin)
            .unwrap()
            .0
            .clone();
        state.actions.insert(
            id.to_owned(),
            Action {
                id: id.to_owned(),
                reference_id: format!("ref-{id}"),
                group_id: group.to_owned(),
                action_type: action_type.map(str::to_owned),
                package_id: package.map(str::to_owned),
                body,
                sender,
                sent_ms: now,
                expiry_ms: Some(now + 86_400_000),
                responses: Vec::new(),
            },
        );
    });
}

fn insert_survey(emulator: &RunningEmulator, group: &str) {
    let body = serde_json::to_value(SurveyBody::new("Store visit", questions())).unwrap();
    insert_action(emulator, SURVEY, group, Some("Survey"), None, body);
}

#[tokio::test]
async fn ten_thousand_people_answer_a_survey_in_seconds() {
    let emulator = start().await;
    let group = field_team(&emulator);
    let members_before = emulator.state(|s| s.groups[&group].members.len());
    insert_survey(&emulator, &group);

    let started = Instant::now();
    let summary = simulate(
        &emulator,
        "responses",
        json!({"groupId": group, "actionId": SURVEY, "count": 10_000, "updateFraction": 0.1}),
    )
    .await;
    let elapsed = started.elapsed();
    eprintln!(
        "10,000 survey responses (and 1,000 updates, {} new members) in {elapsed:?}",
        summary["usersCreated"]
    );
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");

    assert_eq!(summary["responses"], 10_000);
    assert_eq!(summary["updates"], 1_000);
    assert_eq!(summary["responders"], 10_000);
    assert_eq!(summary["eventType"], "SurveyResponse");
    assert_eq!(summary["events"]["SurveyResponse"], 11_000);
    let created = 10_000 - members_before as u64;
    assert_eq!(summary["usersCreated"], created);
    assert_eq!(summary["events"]["MemberAdded"], created);
    assert_eq!(summary["responseIds"].as_array().unwrap().len(), 10_000);

    let specs = questions();
    emulator.state(|state| {
        assert_eq!(state.groups[&group].members.len(), 10_000);
        let action = &state.actions[SURVEY];
        assert_eq!(action.responses.len(), 10_000);
        let responders: HashSet<&str> = action
            .responses
            .iter()
            .map(|r| r.responder.as_str())
            .collect();
        assert_eq!(responders.len(), 10_000, "one response per person");
        let phones: HashSet<&str> = responders
            .iter()
            .map(|id| state.users[*id].phone.as_str())
            .collect();
        assert_eq!(phones.len(), 10_000, "everyone has a number of their own");
        assert!(
            phones.iter().all(|p| p.starts_with("+91") && p.len() == 13),
            "Indian mobile numbers"
        );
        assert_eq!(action.responses.iter().filter(|r| r.updated).count(), 1_000);

        let mut outlets: BTreeMap<String, u32> = BTreeMap::new();
        let mut unanswered = 0;
        for response in &action.responses {
            let answers = response.body["answers"].as_array().unwrap();
            assert_eq!(answers.len(), specs.len());
            for (spec, value) in specs.iter().zip(answers) {
                if value.is_null() {
                    unanswered += 1;
                    assert!(
                        matches!(
                            spec.question_type,
                            QuestionType::Text | QuestionType::AttachmentList
                        ),
                        "{}",
                        spec.title
                    );
                    continue;
                }
                let answer = Answer::from_value(Some(&spec.question_type), value.clone())
                    .unwrap_or_else(|e| panic!("{}: {value}: {e}", spec.title));
                if let Some(options) = &spec.options {
                    let titles: Vec<&str> = options.iter().map(|o| o.title.as_str()).collect();
                    let chosen = answer.as_options().unwrap();
                    assert!(!chosen.is_empty());
                    assert!(
                        chosen.iter().all(|c| titles.contains(&c.as_str())),
                        "{chosen:?}"
                    );
                    if spec.question_type == QuestionType::SingleOption {
                        assert_eq!(chosen.len(), 1);
                        *outlets.entry(chosen[0].clone()).or_default() += 1;
                    }
                }
                if spec.title == "Rice 1KG" {
                    let n = answer.as_f64().unwrap();
                    assert!((0.0..=24.0).contains(&n), "a plausible quantity: {n}");
                }
                if let Answer::Location(point) = &answer {
                    let (lat, lng) = (point.lt.as_f64(), point.lg.as_f64());
                    assert!(
                        (8.0..29.0).contains(&lat) && (72.0..92.0).contains(&lng),
                        "in India: {lat}, {lng}"
                    );
                }
            }
        }
        assert!(
            unanswered < 2_000,
            "few optional answers left out: {unanswered}"
        );
        let (least, most) = (
            outlets.values().min().unwrap(),
            outlets.values().max().unwrap(),
        );
        assert!(
            most > &(least + least / 2),
            "options are chosen unevenly: {outlets:?}"
        );
    });
    emulator.shutdown().await;
}

/// A stored response without what follows the clock (which starts at the
/// wall-clock time: dates, and picture file names, named by the time taken)
/// or the emulator's address.
fn timeless(body: &Value) -> Value {
    let mut body = body.clone();
    for (spec, answer) in questions()
        .iter()
        .zip(body["answers"].as_array_mut().unwrap())
    {
        match spec.question_type {
            QuestionType::Date | QuestionType::DateTime => *answer = Value::Null,
            QuestionType::AttachmentList => {
                for item in answer.as_array_mut().into_iter().flatten() {
                    let item = item.as_object_mut().unwrap();
                    item.remove("mediaFileName");
                    // `{emulator}/media/{resource}/{file name}`: the
                    // emulator's port differs from run to run.
                    let url = item["mediaUrl"].as_str().unwrap();
                    let resource = url
                        .split("/media/")
                        .nth(1)
                        .unwrap()
                        .split('/')
                        .next()
                        .unwrap();
                    item["mediaUrl"] = json!(resource);
                }
            }
            _ => {}
        }
    }
    body
}

#[tokio::test]
async fn a_fixed_seed_reproduces_the_answers() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let emulator = start().await;
        let group = field_team(&emulator);
        insert_survey(&emulator, &group);
        simulate(
            &emulator,
            "responses",
            json!({"groupId": group, "actionId": SURVEY, "count": 300, "updateFraction": 0.2}),
        )
        .await;
        simulate(
            &emulator,
            "messages",
            json!({"groupId": group, "count": 20}),
        )
        .await;
        runs.push(emulator.state(|s| {
            let responses: Vec<(String, String, String, String, bool, Value)> = s.actions[SURVEY]
                .responses
                .iter()
                .map(|r| {
                    let who = &s.users[&r.responder];
                    (
                        r.response_id.clone(),
                        who.id.clone(),
                        who.name.clone(),
                        who.phone.clone(),
                        r.updated,
                        timeless(&r.body),
                    )
                })
                .collect();
            let texts: Vec<String> = s.messages.iter().map(|m| m.text.clone()).collect();
            (responses, texts)
        }));
        emulator.shutdown().await;
    }
    assert_eq!(runs[0].0.len(), 300);
    for (a, b) in runs[0].0.iter().zip(&runs[1].0) {
        assert_eq!(a, b, "the same response");
    }
    assert_eq!(
        runs[0], runs[1],
        "same seed, same calls: same people, same answers, same messages"
    );
}

#[tokio::test]
async fn members_join_and_leave() {
    let emulator = start().await;
    let group = field_team(&emulator);
    let before = emulator.state(|s| s.groups[&group].members.clone());
    assert_eq!(before.len(), 5);

    let summary = simulate(
        &emulator,
        "members",
        json!({"groupId": group, "join": 3, "leave": 2}),
    )
    .await;
    assert_eq!(summary["events"]["MemberAdded"], 3);
    assert_eq!(summary["events"]["MemberRemoved"], 2);
    assert_eq!(summary["members"], 6);
    let joined: Vec<String> = serde_json::from_value(summary["joined"].clone()).unwrap();
    let left: Vec<String> = serde_json::from_value(summary["left"].clone()).unwrap();
    emulator.state(|s| {
        let members = &s.groups[&group].members;
        assert_eq!(members.len(), 6);
        assert!(
            joined
                .iter()
                .all(|id| members.get(id) == Some(&Role::Member) && s.users.contains_key(id))
        );
        assert!(
            left.iter()
                .all(|id| !members.contains_key(id) && before.get(id) == Some(&Role::Member))
        );
        assert!(
            members.values().any(|r| *r == Role::Admin),
            "administrators stay"
        );
    });

    let (status, error) = admin(
        &emulator,
        "POST",
        "simulate/members",
        json!({"groupId": group, "leave": 100}),
    )
    .await;
    assert_eq!(
        (status, error["field"].as_str()),
        (400, Some("leave")),
        "{error}"
    );
    let (status, _) = admin(
        &emulator,
        "POST",
        "simulate/members",
        json!({"groupId": "nope", "join": 1}),
    )
    .await;
    assert_eq!(status, 404);
    emulator.shutdown().await;
}

#[tokio::test]
async fn bad_requests_name_the_field() {
    let emulator = start().await;
    let group = field_team(&emulator);
    insert_survey(&emulator, &group);
    let (status, index) = admin(&emulator, "GET", "simulate", Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(index["endpoints"].as_array().unwrap().len(), 5);

    for (what, body, field) in [
        ("messages", json!({"groupId": group}), "count"),
        (
            "messages",
            json!({"groupId": group, "count": "ten"}),
            "count",
        ),
        ("messages", json!({"count": 1}), "groupId"),
        (
            "messages",
            json!({"groupId": group, "count": 1, "colour": "red"}),
            "colour",
        ),
        (
            "attachments",
            json!({"groupId": group, "count": 0}),
            "count",
        ),
        (
            "responses",
            json!({"groupId": group, "actionId": SURVEY, "count": 5, "updateFraction": 1.5}),
            "updateFraction",
        ),
        (
            "responses",
            json!({"groupId": group, "actionId": SURVEY, "count": 50, "users": 10}),
            "users",
        ),
        (
            "reactions",
            json!({"groupId": group, "referenceId": format!("ref-{SURVEY}")}),
            "likes",
        ),
    ] {
        let (status, error) =
            admin(&emulator, "POST", &format!("simulate/{what}"), body.clone()).await;
        assert_eq!(status, 400, "{what} {body}: {error}");
        assert_eq!(error["field"], field, "{what} {body}: {error}");
    }
    for (what, body) in [
        (
            "responses",
            json!({"groupId": group, "actionId": "no-such-action", "count": 1}),
        ),
        (
            "responses",
            json!({"groupId": "no-such-group", "actionId": SURVEY, "count": 1}),
        ),
        (
            "reactions",
            json!({"groupId": group, "referenceId": "nothing", "likes": 1}),
        ),
        ("messages", json!({"groupId": "no-such-group", "count": 1})),
    ] {
        let (status, error) =
            admin(&emulator, "POST", &format!("simulate/{what}"), body.clone()).await;
        assert_eq!(status, 404, "{what} {body}: {error}");
    }
    let (status, _) = admin(&emulator, "GET", "simulate/messages", Value::Null).await;
    assert_eq!(status, 405);
    emulator.shutdown().await;
}

#[tokio::test]
async fn polls_jobs_custom_actions_and_reactions() {
    let emulator = start().await;
    let group = field_team(&emulator);

    insert_action(
        &emulator,
        "poll-1",
        &group,
        Some("Poll"),
        None,
        json!({"question": "Best time for the weekly call?", "choices": [{"title": "Monday 10 am"}, {"title": "Friday 4 pm"}]}),
    );
    let summary = simulate(
        &emulator,
        "responses",
        json!({"groupId": group, "actionId": "poll-1", "count": 40, "updateFraction": 0}),
    )
    .await;
    assert_eq!(summary["events"]["PollResponse"], 40);
    assert_eq!(summary["events"]["MemberAdded"], 35);
    emulator.state(|s| {
        for response in &s.actions["poll-1"].responses {
            let choice = &response.body["answers"][0];
            assert!(
                choice == &json!(["Monday 10 am"]) || choice == &json!(["Friday 4 pm"]),
                "{choice}"
            );
        }
    });

    let assignees = emulator.state(|s| {
        let mut phones: Vec<String> = s.groups[&group]
            .members
            .keys()
            .take(2)
            .map(|id| s.users[id].phone.clone())
            .collect();
        phones.push("+919800000042".into());
        phones
    });
    insert_action(
        &emulator,
        "job-1",
        &group,
        Some("Job"),
        None,
        json!({"title": "Restock the shelf", "assignedTo": assignees}),
    );
    let summary = simulate(
        &emulator,
        "responses",
        json!({"groupId": group, "actionId": "job-1", "count": 2}),
    )
    .await;
    assert_eq!(
        (
            summary["events"]["JobResponse"].clone(),
            summary["assigneesLeft"].clone()
        ),
        (json!(2), json!(1))
    );
    let summary = simulate(
        &emulator,
        "responses",
        json!({"groupId": group, "actionId": "job-1", "count": 5}),
    )
    .await;
    assert_eq!(
        (
            summary["responses"].clone(),
            summary["assigneesLeft"].clone()
        ),
        (json!(1), json!(0))
    );
    let (status, error) = admin(
        &emulator,
        "POST",
        "simulate/responses",
        json!({"groupId": group, "actionId": "job-1", "count": 1}),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    emulator.state(|s| {
        let job = &s.actions["job-1"];
        assert_eq!(job.responses.len(), 3);
        assert!(
            job.responses
                .iter()
                .all(|r| r.body == json!({"isCompleted": true}))
        );
    });

    let order_form = json!({"title": "Order form", "questions": [
        {"title": "Retailer Outlet", "type": "SingleOption", "options": [{"title": "ABC Traders"}, {"title": "BCD Distributors"}]},
        {"title": "Rice 5KG", "type": "Numeric"}
    ]});
    insert_action(
        &emulator,
        "order-1",
        &group,
        None,
        Some("com.contoso.OrderForm"),
        order_form,
    );
    let summary = simulate(
        &emulator,
        "responses",
        json!({"groupId": group, "actionId": "order-1", "count": 50, "users": 10}),
    )
    .await;
    assert_eq!(
        summary["events"]["ActionResponse"].as_u64().unwrap(),
        50 + 3,
        "5% of 50 re-answered"
    );
    assert_eq!(summary["responders"], 10);
    emulator.state(|s| {
        let people: HashSet<&str> = s.actions["order-1"]
            .responses
            .iter()
            .map(|r| r.responder.as_str())
            .collect();
        assert_eq!(people.len(), 10, "several orders each from ten people");
    });

    let summary = simulate(
        &emulator,
        "reactions",
        json!({"groupId": group, "referenceId": "ref-poll-1", "likes": 30, "comments": 7}),
    )
    .await;
    assert_eq!(summary["reactionIds"].as_array().unwrap().len(), 37);
    emulator.state(|s| {
        let on_poll: Vec<_> = s
            .reactions
            .values()
            .filter(|r| r.reference_id == "ref-poll-1")
            .collect();
        let likers: HashSet<&str> = on_poll
            .iter()
            .filter(|r| r.reaction_type == "Like")
            .map(|r| r.user_id.as_str())
            .collect();
        assert_eq!(likers.len(), 30, "one like per person");
        assert_eq!(
            on_poll
                .iter()
                .filter(|r| r.reaction_type == "Comment" && r.comment.is_some())
                .count(),
            7
        );
    });
    emulator.shutdown().await;
}

#[tokio::test]
async fn subscribed_webhooks_queue_the_events() {
    let emulator = start().await;
    let group = field_team(&emulator);
    let now = emulator.clock().now_ms();
    let tenant = emulator.state(|s| s.groups[&group].tenant.clone());
    let events = [
        "TextMessageCreated",
        "AttachmentCreated",
        "SurveyResponse",
        "MemberAdded",
        "MemberRemoved",
    ];
    emulator.shared().store.write(|s| {
        s.webhooks.insert(
            "hook-1".into(),
            Webhook {
                id: "hook-1".into(),
                tenant,
                app_id: "demo-connector".into(),
                object_id: group.clone(),
                object_type: "Group".into(),
                events: events.iter().map(|e| e.to_string()).collect(),
                // Nothing listens there: deliveries stay queued for their retries.
                callback_url: "http://127.0.0.1:9/kaizala".into(),
                callback_token: Some("secret".into()),
                callback_context: Some("dashboard".into()),
                validity_ms: now + 365 * 86_400_000,
                active: true,
                created_ms: now,
            },
        )
    });
    insert_survey(&emulator, &group);

    simulate(&emulator, "messages", json!({"groupId": group, "count": 4})).await;
    simulate(
        &emulator,
        "attachments",
        json!({"groupId": group, "count": 3, "caption": "Shelf"}),
    )
    .await;
    simulate(
        &emulator,
        "responses",
        json!({"groupId": group, "actionId": SURVEY, "count": 8, "updateFraction": 0.25}),
    )
    .await;
    simulate(
        &emulator,
        "members",
        json!({"groupId": group, "join": 2, "leave": 1}),
    )
    .await;

    let deliveries = emulator.state(|s| s.deliveries.clone());
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for delivery in &deliveries {
        assert_eq!(delivery.webhook_id, "hook-1");
        let event = Event::from_slice(&serde_json::to_vec(&delivery.payload).unwrap()).unwrap();
        assert_eq!(event.event_type().to_string(), delivery.event_type);
        assert_eq!(
            event.object_id.as_ref().map(|o| o.as_str()),
            Some(group.as_str())
        );
        assert_eq!(event.context.as_deref(), Some("dashboard"));
        *counts.entry(delivery.event_type.clone()).or_default() += 1;
        match event.data().unwrap() {
            EventData::TextMessage(m) => assert!(!m.text.as_deref().unwrap().is_empty()),
            EventData::Attachment(a) => {
                assert_eq!(a.caption.as_deref(), Some("Shelf"));
                let media = a.media.as_ref().unwrap();
                assert!(
                    media[0]
                        .media_file_name
                        .as_deref()
                        .unwrap()
                        .ends_with(".jpg")
                );
                assert!(event.from_user.as_deref().unwrap().starts_with('+'));
            }
            EventData::Action(r) => {
                assert_eq!(r.action_id.as_ref().unwrap().as_str(), SURVEY);
                assert_eq!(r.title.as_deref(), Some("Store visit"));
                assert!(r.responder.as_deref().unwrap().starts_with("+91"));
                assert!(
                    r.responder_name.is_some()
                        && r.responder_id.is_some()
                        && r.responder_profile_pic.is_some()
                );
                assert_eq!(r.is_anonymous.map(|f| f.get()), Some(false));
                let answered = r.questions();
                assert_eq!(
                    answered.len(),
                    questions().len() + 1,
                    "with the hidden ResponseTime"
                );
                let last = answered.last().unwrap();
                assert_eq!(
                    (last.title.as_deref(), last.is_invisible.map(|f| f.get())),
                    (Some("ResponseTime"), Some(true))
                );
                assert_eq!(
                    event.from_user_id.as_ref().map(|u| u.as_str()),
                    r.responder_id.as_ref().map(|u| u.as_str())
                );
            }
            EventData::Member(m) => {
                assert!(m.member.as_deref().unwrap().starts_with("+91"));
                assert!(m.member_name.is_some());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let updates = deliveries
        .iter()
        .filter(|d| d.payload["data"]["isUpdateResponse"] == json!(true))
        .count();
    assert_eq!(updates, 2, "a quarter of 8 re-answered");
    // The group had 5 members: 3 more joined to answer, 2 joined, 1 left.
    let expected: BTreeMap<String, u32> = [
        ("AttachmentCreated", 3),
        ("MemberAdded", 3 + 2),
        ("MemberRemoved", 1),
        ("SurveyResponse", 8 + 2),
        ("TextMessageCreated", 4),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(counts, expected);
    emulator.shutdown().await;
}
