//! The receiver end to end against the emulator: subscribed through the
//! client (the platform's validation request reaches it), it receives every
//! documented event type — caused through the API and the emulator's
//! simulations — decoded typed, stored, and handed to the handlers; with
//! duplicate deliveries injected, it stores each event once and
//! acknowledges every copy.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use kaizala_client::Client;
use kaizala_emulator::model::{DeliveryAttempt, DeliveryOutcome};
use kaizala_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use kaizala_types::actions::{
    AnnouncementBody, CustomActionBody, JobBody, QuestionSpec, QuestionType, SurveyBody,
};
use kaizala_types::event::{Event, EventData, EventType, ObjectType};
use kaizala_types::subgroups::CreateSubGroupRequest;
use kaizala_types::webhooks::CreateWebhookRequest;
use kaizala_webhook::{Handlers, MemoryEventStore, Receiver, ReceiverConfig, Server};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::time::Instant;

const TOKEN: &str = "s3cret-callback";
const CONTEXT: &str = "end-to-end";

fn client(emulator: &RunningEmulator) -> Client {
    let seeded = emulator
        .credentials()
        .expect("the demo seed has a connector");
    Client::builder()
        .credentials(seeded.to_credentials())
        .base_url(&seeded.base_url)
        .build()
        .unwrap()
}

/// A receiver with the callback token, a memory store and a handler for
/// every event.
async fn receiver() -> Receiver<MemoryEventStore> {
    let config = ReceiverConfig::new()
        .callback_token(TOKEN)
        .unwrap()
        .path("/kaizala");
    let handlers = Handlers::new().on_any(|_event: Arc<Event>| async { Ok(()) });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Server::new(config, MemoryEventStore::new())
        .handlers(handlers)
        .serve(listener)
}

/// Subscribes the receiver to every documented event type of `group`.
async fn subscribe(client: &Client, group: &str, receiver: &Receiver<MemoryEventStore>) -> String {
    let mut request = CreateWebhookRequest::new(
        ObjectType::Group,
        group,
        EventType::DOCUMENTED,
        receiver.url(),
    );
    request.callback_token = Some(TOKEN.into());
    request.callback_context = Some(CONTEXT.into());
    let created = client.webhooks().create(request).await.unwrap();
    created.webhook_id.into_string()
}

/// Runs a simulation (as `POST /admin/simulate/{what}`); its summary.
async fn simulate(emulator: &RunningEmulator, what: &str, body: Value) -> Value {
    emulator
        .simulate(what, &body)
        .await
        .unwrap_or_else(|err| panic!("simulate/{what}: {err}"))
}

/// The events a simulation summary says it produced, per type.
fn produced(summary: &Value) -> BTreeMap<String, u64> {
    summary["events"]
        .as_object()
        .expect("a summary lists its events")
        .iter()
        .map(|(event_type, n)| (event_type.clone(), n.as_u64().unwrap()))
        .collect()
}

/// The webhook's delivery log, once nothing is pending any more and
/// `done` holds (waits up to 15 s; no fixed sleeps).
async fn settled(
    emulator: &RunningEmulator,
    webhook: &str,
    mut done: impl FnMut(&[DeliveryAttempt]) -> bool,
) -> Vec<DeliveryAttempt> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (pending, log) = emulator.state(|s| {
            (
                s.deliveries.len(),
                s.delivery_log
                    .get(webhook)
                    .map(|log| log.iter().cloned().collect::<Vec<_>>())
                    .unwrap_or_default(),
            )
        });
        if pending == 0 && done(&log) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries did not settle: {pending} pending, {} attempts logged",
            log.len()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn event_ids(log: &[DeliveryAttempt]) -> BTreeSet<String> {
    log.iter().map(|a| a.event_id.clone()).collect()
}

#[tokio::test]
async fn every_documented_event_type_arrives_typed_and_is_stored_and_handled() {
    let emulator = Emulator::start(EmulatorConfig {
        random_seed: Some(2024),
        ..Default::default()
    })
    .await
    .unwrap();
    let group = emulator.credentials().unwrap().group_id;
    let client = client(&emulator);
    let receiver = receiver().await;
    let webhook = subscribe(&client, &group, &receiver).await;
    let team = client.group(group.as_str());

    // Through the API: the "created" events and the group hierarchy.
    team.actions()
        .create_announcement(AnnouncementBody::new("Holiday", "Closed on Friday"))
        .await
        .unwrap();
    let admin: kaizala_types::PhoneNumber = "+919910870005".parse().unwrap();
    let job = team
        .actions()
        .create_job(JobBody::new("Count stock", [admin]))
        .await
        .unwrap()
        .action_id
        .unwrap();
    let survey = team
        .actions()
        .create_survey(SurveyBody::new(
            "Store visit",
            vec![
                QuestionSpec::new("Outlet name", QuestionType::Text),
                QuestionSpec::with_options(
                    "Shelf stocked?",
                    QuestionType::SingleOption,
                    ["Yes", "No"],
                ),
                QuestionSpec::new("Rice 1KG", QuestionType::Numeric),
            ],
        ))
        .await
        .unwrap()
        .action_id
        .unwrap();
    let order_form = team
        .actions()
        .create_custom(
            "com.example.OrderForm",
            CustomActionBody {
                questions: Some(vec![QuestionSpec::new("Cartons", QuestionType::Numeric)]),
                ..CustomActionBody::default()
            },
        )
        .await
        .unwrap()
        .action_id
        .unwrap();
    let sub_group = team
        .sub_groups()
        .create(CreateSubGroupRequest::new("North beat"))
        .await
        .unwrap()
        .group_id;
    team.sub_groups().remove(sub_group.clone()).await.unwrap();

    // Through the emulator's simulations: people chat, post pictures,
    // respond, join and leave.
    let mut simulated = BTreeMap::<String, u64>::new();
    for (what, body) in [
        ("messages", json!({"groupId": group, "count": 3})),
        ("attachments", json!({"groupId": group, "count": 2})),
        (
            "responses",
            json!({"groupId": group, "actionId": survey, "count": 4}),
        ),
        (
            "responses",
            json!({"groupId": group, "actionId": job, "count": 1}),
        ),
        (
            "responses",
            json!({"groupId": group, "actionId": order_form, "count": 2}),
        ),
        ("members", json!({"groupId": group, "join": 2, "leave": 1})),
    ] {
        for (event_type, n) in produced(&simulate(&emulator, what, body).await) {
            *simulated.entry(event_type).or_default() += n;
        }
    }

    // Wait until every documented type is in the store and nothing is
    // pending.
    let store = receiver.store();
    let seen = || -> BTreeSet<EventType> {
        store
            .events()
            .iter()
            .map(|e| e.event_type().clone())
            .collect()
    };
    let log = settled(&emulator, &webhook, |log| {
        let seen = seen();
        EventType::DOCUMENTED.iter().all(|t| seen.contains(t))
            && store.len() == event_ids(log).len()
    })
    .await;

    let seen = seen();
    let missing: Vec<_> = EventType::DOCUMENTED
        .iter()
        .filter(|t| !seen.contains(t))
        .collect();
    assert!(missing.is_empty(), "never received: {missing:?}");
    assert!(
        log.iter()
            .all(|a| matches!(a.outcome, DeliveryOutcome::Delivered { status: 200 })),
        "every delivery acknowledged: {log:?}"
    );
    for (event_type, n) in &simulated {
        let stored = store
            .events()
            .iter()
            .filter(|e| e.event_type().as_str() == event_type)
            .count() as u64;
        assert!(stored >= *n, "{event_type}: {n} simulated, {stored} stored");
    }

    let metrics = receiver.metrics().snapshot();
    assert_eq!(metrics.stored, store.len() as u64);
    assert_eq!(metrics.received, log.len() as u64);
    assert_eq!(
        (metrics.auth_failed, metrics.quarantined, metrics.duplicate),
        (0, 0, 0)
    );

    for stored in store.events() {
        let event = stored.decode().expect("the emulator's events decode");
        let event_type = event.event_type();
        assert!(
            EventType::DOCUMENTED.contains(event_type),
            "subscribed to the documented types only, got {event_type}"
        );
        assert_eq!(event.context.as_deref(), Some(CONTEXT));
        assert_eq!(event.object_type, Some(ObjectType::Group));
        assert_eq!(
            event.object_id.as_ref().map(|id| id.as_str()),
            Some(group.as_str())
        );
        let data = event
            .data()
            .unwrap_or_else(|| panic!("{event_type} without data"));
        assert!(
            !matches!(data, EventData::Unknown(_)) && data.fits(event_type),
            "{event_type} decoded as {data:?}"
        );
        // The head read before the ack agrees with the full decode.
        assert_eq!(
            (stored.event_id(), stored.event_type()),
            (event.event_id(), event.event_type())
        );

        let action_id = || {
            event
                .action()
                .and_then(|a| a.action_id.as_ref())
                .map(|id| id.as_str().to_owned())
        };
        match event_type {
            EventType::TextMessageCreated => assert!(
                event
                    .text_message()
                    .and_then(|m| m.text.as_deref())
                    .is_some_and(|t| !t.is_empty())
            ),
            EventType::AttachmentCreated => assert!(
                event
                    .attachment()
                    .and_then(|a| a.media.as_ref())
                    .is_some_and(|m| !m.is_empty())
            ),
            EventType::Announcement => assert_eq!(
                event.announcement().and_then(|a| a.title.as_deref()),
                Some("Holiday")
            ),
            EventType::JobCreated => assert_eq!(
                event
                    .job_created()
                    .and_then(|j| j.action_id.as_ref())
                    .map(|id| id.as_str()),
                Some(job.as_str())
            ),
            EventType::JobResponse => assert_eq!(action_id().as_deref(), Some(job.as_str())),
            EventType::SurveyCreated => {
                assert_eq!(action_id().as_deref(), Some(survey.as_str()));
            }
            EventType::SurveyResponse => {
                assert_eq!(action_id().as_deref(), Some(survey.as_str()));
                assert!(!event.action().unwrap().questions().is_empty());
            }
            EventType::ActionCreated | EventType::ActionResponse => {
                assert_eq!(action_id().as_deref(), Some(order_form.as_str()));
            }
            EventType::MemberAdded | EventType::MemberRemoved => {
                assert!(event.member().unwrap().member_id.is_some());
            }
            EventType::GroupAdded | EventType::GroupRemoved => assert_eq!(
                event
                    .group()
                    .and_then(|g| g.group_id.as_ref())
                    .map(|id| id.as_str()),
                Some(sub_group.as_str())
            ),
            other => panic!("unexpected {other}"),
        }
    }

    // The handlers ran on every stored event, after the acks.
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.handled_count() < store.len() {
        assert!(
            Instant::now() < deadline,
            "handled {} of {}",
            store.handled_count(),
            store.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    receiver.shutdown().await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn duplicate_deliveries_are_acknowledged_and_stored_once() {
    let emulator = Emulator::start(EmulatorConfig {
        duplicate_rate: 0.5,
        random_seed: Some(7),
        ..Default::default()
    })
    .await
    .unwrap();
    let group = emulator.credentials().unwrap().group_id;
    let client = client(&emulator);
    let receiver = receiver().await;
    let webhook = subscribe(&client, &group, &receiver).await;

    let mut events = 0;
    for (what, body) in [
        ("messages", json!({"groupId": group, "count": 40})),
        ("attachments", json!({"groupId": group, "count": 5})),
        ("members", json!({"groupId": group, "join": 10, "leave": 3})),
    ] {
        events += produced(&simulate(&emulator, what, body).await)
            .values()
            .sum::<u64>();
    }
    assert_eq!(events, 58);

    let store = receiver.store();
    let log = settled(&emulator, &webhook, |log| {
        event_ids(log).len() as u64 == events && store.len() as u64 == events
    })
    .await;

    // The platform's side: every copy acknowledged, some events sent twice.
    assert!(
        log.iter()
            .all(|a| matches!(a.outcome, DeliveryOutcome::Delivered { status: 200 })),
        "{log:?}"
    );
    let duplicates = log.iter().filter(|a| a.duplicate).count() as u64;
    assert!(duplicates > 0, "no duplicates were injected");
    let ids = event_ids(&log);
    assert_eq!(log.len() as u64, events + duplicates);

    // The receiver's side: each event stored once, every copy counted.
    let stored: Vec<String> = store
        .events()
        .iter()
        .map(|e| e.event_id().to_owned())
        .collect();
    assert_eq!(stored.len(), ids.len());
    assert_eq!(stored.iter().cloned().collect::<BTreeSet<_>>(), ids);
    let metrics = receiver.metrics().snapshot();
    assert_eq!(metrics.stored, events);
    assert_eq!(metrics.duplicate, duplicates);
    assert!(metrics.duplicate > 0);
    assert_eq!(metrics.received, events + duplicates);
    assert_eq!(metrics.acks(), events + duplicates);

    receiver.shutdown().await;
    emulator.shutdown().await;
}
