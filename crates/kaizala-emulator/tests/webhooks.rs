//! Webhooks against a real local receiver: the validation handshake and its
//! five seconds, the delivered envelope, duplicates, the retry schedule on
//! the virtual clock, auto-disable and re-activation, and pending retries
//! surviving a restart.

mod support;

use std::time::Duration;

use kaizala_client::Client;
use kaizala_emulator::events::Happening;
use kaizala_emulator::model::DeliveryOutcome;
use kaizala_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use kaizala_types::event::{EventData, EventType, ObjectType, TextMessageData};
use kaizala_types::webhooks::CreateWebhookRequest;
use support::receiver::{Receiver, Script};

fn client(emulator: &RunningEmulator) -> Client {
    let seeded = emulator.credentials().unwrap();
    Client::builder()
        .credentials(seeded.to_credentials())
        .base_url(&seeded.base_url)
        .build()
        .unwrap()
}

fn subscription(group: &str, url: &str) -> CreateWebhookRequest {
    let mut request = CreateWebhookRequest::new(
        ObjectType::Group,
        group,
        [EventType::TextMessageCreated],
        url,
    );
    request.callback_token = Some("s3cret-callback".into());
    request.callback_context = Some("store-visits".into());
    request
}

/// Something happens in `group`: a member sends `text`.
fn message(emulator: &RunningEmulator, group: &str, text: &str) {
    let (tenant, member) = emulator.state(|s| {
        let g = &s.groups[group];
        (g.tenant.clone(), g.members.keys().next().cloned())
    });
    kaizala_emulator::delivery::publish(
        emulator.shared(),
        vec![Happening {
            tenant,
            group_id: group.to_owned(),
            event_type: EventType::TextMessageCreated,
            action_id: None,
            package_id: None,
            from_user: member,
            data: EventData::TextMessage(TextMessageData {
                text: Some(text.to_owned()),
                extra: Default::default(),
            }),
        }],
    );
}

#[tokio::test]
async fn validation_must_answer_within_five_seconds_with_the_token() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let group = emulator.credentials().unwrap().group_id;
    let client = client(&emulator);

    let slow_but_in_time = Receiver::start(Script {
        validation_delay: Duration::from_millis(4900),
        ..Script::default()
    })
    .await;
    let created = client
        .webhooks()
        .create(subscription(&group, &slow_but_in_time.url()))
        .await;
    assert!(created.is_ok(), "4.9 s is within the limit: {created:?}");

    let too_slow = Receiver::start(Script {
        validation_delay: Duration::from_millis(5100),
        ..Script::default()
    })
    .await;
    let err = client
        .webhooks()
        .create(subscription(&group, &too_slow.url()))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(
        err.to_string()
            .contains("did not answer the validation request within 5 s"),
        "{err}"
    );

    let wrong_echo = Receiver::start(Script {
        echo: false,
        ..Script::default()
    })
    .await;
    let err = client
        .webhooks()
        .create(subscription(&group, &wrong_echo.url()))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("without echoing the validation token"),
        "{err}"
    );

    assert_eq!(
        emulator.state(|s| s.webhooks.len()),
        1,
        "failed validations create nothing"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn events_arrive_with_the_documented_envelope_token_and_context() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let group = emulator.credentials().unwrap().group_id;
    let receiver = Receiver::start(Script::default()).await;
    let created = client(&emulator)
        .webhooks()
        .create(subscription(&group, &receiver.url()))
        .await
        .unwrap();

    message(&emulator, &group, "stock count done");
    let received = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(received[0].headers["kz-callback-token"], "s3cret-callback");
    assert!(
        received[0].headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let event = &receiver.events()[0];
    assert_eq!(event.event_type(), &EventType::TextMessageCreated);
    assert_eq!(event.object_id.as_ref().unwrap().as_str(), group);
    assert_eq!(event.object_type, Some(ObjectType::Group));
    assert_eq!(event.context.as_deref(), Some("store-visits"));
    assert_eq!(
        event.text_message().and_then(|m| m.text.as_deref()),
        Some("stock count done")
    );
    assert!(
        event
            .from_user
            .as_deref()
            .is_some_and(|p| p.starts_with('+'))
    );
    assert!(event.from_user_name.is_some());

    let log = emulator.state(|s| s.delivery_log[created.webhook_id.as_str()].clone());
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].outcome, DeliveryOutcome::Delivered { status: 200 });

    // Events of other types or other groups do not reach this subscription.
    let other = emulator.credentials().unwrap().public_group_id;
    message(&emulator, &other, "not for you");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn at_least_once_means_some_events_come_twice_with_one_event_id() {
    let emulator = Emulator::start(EmulatorConfig {
        duplicate_rate: 1.0,
        ..Default::default()
    })
    .await
    .unwrap();
    let group = emulator.credentials().unwrap().group_id;
    let receiver = Receiver::start(Script::default()).await;
    client(&emulator)
        .webhooks()
        .create(subscription(&group, &receiver.url()))
        .await
        .unwrap();
    for i in 0..3 {
        message(&emulator, &group, &format!("message {i}"));
    }
    receiver.wait_for(6, Duration::from_secs(5)).await;
    let mut ids: Vec<String> = receiver
        .events()
        .iter()
        .map(|e| e.event_id().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "six deliveries of three events");
    emulator.shutdown().await;
}

#[tokio::test]
async fn failures_are_retried_six_times_over_two_days_then_the_webhook_is_disabled_until_reactivated()
 {
    // The clock stands still; the test moves it.
    let emulator = Emulator::start(EmulatorConfig {
        time_scale: 0.0,
        ..Default::default()
    })
    .await
    .unwrap();
    let group = emulator.credentials().unwrap().group_id;
    let receiver = Receiver::start(Script {
        always: Some(503),
        ..Script::default()
    })
    .await;
    let client = client(&emulator);
    let webhook = client
        .webhooks()
        .create(subscription(&group, &receiver.url()))
        .await
        .unwrap()
        .webhook_id;

    message(&emulator, &group, "are you there?");
    receiver.wait_for(1, Duration::from_secs(5)).await;
    let waits = kaizala_emulator::delivery::RETRY_DELAYS_MS;
    for (retry, wait) in waits.iter().enumerate() {
        // Just short of the wait: nothing happens.
        emulator.advance(Duration::from_millis(*wait as u64 - 1000));
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            receiver.received().len(),
            retry + 1,
            "retry {} came early",
            retry + 1
        );
        emulator.advance(Duration::from_millis(1000));
        receiver.wait_for(retry + 2, Duration::from_secs(5)).await;
    }
    // Seven failed attempts: disabled, nothing pending.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (active, pending, log) = emulator.state(|s| {
        (
            s.webhooks[webhook.as_str()].active,
            s.deliveries.len(),
            s.delivery_log[webhook.as_str()].clone(),
        )
    });
    assert!(!active);
    assert_eq!(pending, 0);
    assert_eq!(log.len(), 7);
    let gaps: Vec<i64> = log
        .iter()
        .zip(log.iter().skip(1))
        .map(|(a, b)| b.at_ms - a.at_ms)
        .collect();
    assert_eq!(gaps, waits.to_vec(), "the schedule, on the virtual clock");
    assert!(log.iter().all(|a| matches!(
        a.outcome,
        DeliveryOutcome::Failed {
            status: Some(503),
            ..
        }
    )));
    let listed = client
        .webhooks()
        .list(ObjectType::Group, group.as_str())
        .await
        .unwrap();
    assert_eq!(
        listed[0].active.map(|f| f.get()),
        Some(false),
        "the list shows it disabled"
    );

    // Disabled: new events are not delivered.
    receiver.script.lock().unwrap().always = None;
    message(&emulator, &group, "while disabled");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 7);

    // `PUT {"Active": "true"}` brings it back.
    client.webhooks().reactivate(webhook.clone()).await.unwrap();
    message(&emulator, &group, "back again");
    receiver.wait_for(8, Duration::from_secs(5)).await;
    assert_eq!(
        receiver
            .events()
            .last()
            .unwrap()
            .text_message()
            .unwrap()
            .text
            .as_deref(),
        Some("back again")
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_whole_schedule_runs_in_seconds_at_a_high_time_scale() {
    let emulator = Emulator::start(EmulatorConfig {
        time_scale: 200_000.0,
        ..Default::default()
    })
    .await
    .unwrap();
    let group = emulator.credentials().unwrap().group_id;
    let receiver = Receiver::start(Script {
        always: Some(500),
        ..Script::default()
    })
    .await;
    let webhook = client(&emulator)
        .webhooks()
        .create(subscription(&group, &receiver.url()))
        .await
        .unwrap()
        .webhook_id;
    message(&emulator, &group, "ping");
    // 45 h 20 min of retries is under a second at this scale.
    receiver.wait_for(7, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!emulator.state(|s| s.webhooks[webhook.as_str()].active));
    emulator.shutdown().await;
}

#[tokio::test]
async fn redirects_and_refused_connections_count_as_failures() {
    let emulator = Emulator::start(EmulatorConfig {
        time_scale: 0.0,
        ..Default::default()
    })
    .await
    .unwrap();
    let group = emulator.credentials().unwrap().group_id;
    let receiver = Receiver::start(Script {
        statuses: [302].into(),
        ..Script::default()
    })
    .await;
    let client = client(&emulator);
    let webhook = client
        .webhooks()
        .create(subscription(&group, &receiver.url()))
        .await
        .unwrap()
        .webhook_id;
    message(&emulator, &group, "one");
    receiver.wait_for(1, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let log = emulator.state(|s| s.delivery_log[webhook.as_str()].clone());
    assert!(
        matches!(
            log[0].outcome,
            DeliveryOutcome::Failed {
                status: Some(302),
                ..
            }
        ),
        "{:?}",
        log[0]
    );
    assert_eq!(emulator.state(|s| s.deliveries.len()), 1, "due again later");

    // The receiver goes away: connection refused.
    let url = receiver.url();
    drop(receiver);
    tokio::time::sleep(Duration::from_millis(50)).await;
    emulator.advance(Duration::from_millis(
        kaizala_emulator::delivery::RETRY_DELAYS_MS[0] as u64,
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let log = emulator.state(|s| s.delivery_log[webhook.as_str()].clone());
        if log.len() == 2 {
            assert!(
                matches!(
                    &log[1].outcome,
                    DeliveryOutcome::Failed { status: None, .. }
                ),
                "{:?} ({url})",
                log[1]
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no second attempt");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn pending_retries_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("kaizala-emulator-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    let config = || EmulatorConfig {
        time_scale: 0.0,
        state_file: Some(state.clone()),
        ..Default::default()
    };

    let receiver = Receiver::start(Script {
        statuses: [500].into(),
        ..Script::default()
    })
    .await;
    let emulator = Emulator::start(config()).await.unwrap();
    let group = emulator.credentials().unwrap().group_id;
    client(&emulator)
        .webhooks()
        .create(subscription(&group, &receiver.url()))
        .await
        .unwrap();
    message(&emulator, &group, "survive me");
    receiver.wait_for(1, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let first_event = receiver.events()[0].event_id().to_owned();
    emulator.shutdown().await;

    // A new process (here: a new emulator on the same file) picks it up.
    let emulator = Emulator::start(config()).await.unwrap();
    assert_eq!(emulator.state(|s| s.deliveries.len()), 1);
    assert_eq!(
        emulator.credentials().unwrap().group_id,
        group,
        "the same platform came back"
    );
    emulator.advance(Duration::from_millis(
        kaizala_emulator::delivery::RETRY_DELAYS_MS[0] as u64,
    ));
    receiver.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(
        receiver.events()[1].event_id(),
        first_event,
        "the retry carries the same event"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(emulator.state(|s| s.deliveries.len()), 0);
    emulator.shutdown().await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// Every documented event type (and the four seen in real traffic) is
/// delivered when the corresponding thing happens through the API, with
/// data typed as the documentation describes.
#[tokio::test]
async fn every_event_type_is_delivered_when_it_happens() {
    use kaizala_types::actions::{ActionType, Answer};
    use kaizala_types::actions::{
        AnnouncementBody, CustomActionBody, JobBody, LetsMeetBody, PollBody, QuestionSpec,
        QuestionType, SurveyBody,
    };
    use kaizala_types::media::MediaKind;
    use kaizala_types::responses::{ActionResponseRequest, SurveyResponseBody};

    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let seeded = emulator.credentials().unwrap();
    let group = seeded.group_id.clone();
    let client = client(&emulator);
    let receiver = Receiver::start(Script::default()).await;
    let all: Vec<EventType> = EventType::KNOWN.to_vec();
    let mut request = CreateWebhookRequest::new(
        ObjectType::Group,
        group.as_str(),
        all.clone(),
        receiver.url(),
    );
    request.callback_context = Some("all-events".into());
    client.webhooks().create(request).await.unwrap();
    let team = client.group(group.as_str());
    let admin: kaizala_types::PhoneNumber = "+919910870005".parse().unwrap();

    team.messages().send("hello team").await.unwrap();
    let picture = client
        .media()
        .upload_bytes("shelf.jpg", vec![0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])
        .await
        .unwrap();
    team.actions()
        .post_media(
            MediaKind::Image,
            picture.media_resource,
            Some("the shelf".into()),
        )
        .await
        .unwrap();
    team.actions()
        .create_announcement(AnnouncementBody::new("Holiday", "Closed on Friday"))
        .await
        .unwrap();
    let job = team
        .actions()
        .create_job(JobBody::new("Count stock", [admin.clone()]))
        .await
        .unwrap();
    team.actions()
        .respond(
            job.action_id.clone().unwrap(),
            ActionResponseRequest::job(true),
        )
        .await
        .unwrap();
    let survey = team
        .actions()
        .create_survey(SurveyBody::new(
            "Visit",
            vec![QuestionSpec::new("Outlet", QuestionType::Text)],
        ))
        .await
        .unwrap();
    let answer = ActionResponseRequest::survey(SurveyResponseBody::new(vec![Answer::Text(
        "ABC Traders".into(),
    )]));
    team.actions()
        .respond(survey.action_id.clone().unwrap(), answer)
        .await
        .unwrap();
    let custom = CustomActionBody {
        questions: Some(vec![QuestionSpec::new("Order", QuestionType::Text)]),
        ..CustomActionBody::default()
    };
    let package = team
        .actions()
        .create_custom("com.example.OrderForm", custom)
        .await
        .unwrap();
    let order = ActionResponseRequest::custom(
        "com.example.OrderForm",
        SurveyResponseBody::new(vec![Answer::Text("2 crates".into())]),
    );
    team.actions()
        .respond(package.action_id.clone().unwrap(), order)
        .await
        .unwrap();
    let poll = team
        .actions()
        .create_poll(PollBody::new("Lunch?", ["Yes", "No"]))
        .await
        .unwrap();
    let vote = ActionResponseRequest::answering(
        ActionType::Poll,
        SurveyResponseBody::new(vec![Answer::Options(vec!["Yes".into()])]),
    );
    team.actions()
        .respond(poll.action_id.clone().unwrap(), vote)
        .await
        .unwrap();
    let meeting = team
        .actions()
        .create_lets_meet(LetsMeetBody::new(
            "Review",
            kaizala_types::Timestamp::iso8601_from_unix_millis(
                emulator.clock().now_ms() + 86_400_000,
            ),
        ))
        .await
        .unwrap();
    let rsvp = ActionResponseRequest::answering(
        ActionType::LetsMeet,
        SurveyResponseBody::new(vec![Answer::Options(vec!["Yes".into()])]),
    );
    team.actions()
        .respond(meeting.action_id.clone().unwrap(), rsvp)
        .await
        .unwrap();
    let newcomer: kaizala_types::PhoneNumber = "+919652000099".parse().unwrap();
    team.members().add([newcomer.clone()]).await.unwrap();
    let member_id = team
        .members()
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.mobile_number.as_deref() == Some(newcomer.as_str()))
        .unwrap()
        .id;
    team.members().remove(member_id).await.unwrap();
    let sub = team
        .sub_groups()
        .create(kaizala_types::subgroups::CreateSubGroupRequest::new(
            "North",
        ))
        .await
        .unwrap();
    team.sub_groups()
        .remove(sub.group_id.clone())
        .await
        .unwrap();
    let other = emulator.state(|s| {
        s.groups
            .values()
            .find(|g| g.name == "Store Managers")
            .unwrap()
            .id
            .clone()
    });
    team.sub_groups()
        .add([other.as_str().into()])
        .await
        .unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let missing = loop {
        let seen: Vec<EventType> = receiver
            .events()
            .iter()
            .map(|e| e.event_type().clone())
            .collect();
        let missing: Vec<&EventType> = all.iter().filter(|t| !seen.contains(t)).collect();
        if missing.is_empty() || tokio::time::Instant::now() > deadline {
            break missing.into_iter().cloned().collect::<Vec<_>>();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(missing.is_empty(), "never delivered: {missing:?}");
    for event in receiver.events() {
        assert_eq!(event.context.as_deref(), Some("all-events"));
        let data = event
            .data()
            .unwrap_or_else(|| panic!("{} has data", event.event_type()));
        assert!(
            data.fits(event.event_type()),
            "{} carries {data:?}",
            event.event_type()
        );
        match event.event_type() {
            EventType::TextMessageCreated => assert_eq!(
                event.text_message().unwrap().text.as_deref(),
                Some("hello team")
            ),
            EventType::SurveyResponse => {
                let answers = event.action().unwrap().questions();
                assert_eq!(
                    answers[0].answer.as_ref().and_then(|a| a.as_text()),
                    Some("ABC Traders")
                );
            }
            EventType::MemberAdded
                if event.member().unwrap().member.as_deref() == Some(newcomer.as_str()) => {}
            EventType::AttachmentCreated => assert_eq!(
                event.attachment().unwrap().caption.as_deref(),
                Some("the shelf")
            ),
            _ => {}
        }
    }
    emulator.shutdown().await;
}
