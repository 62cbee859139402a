//! Pull sync against the emulator, and its agreement with the push path:
//! events delivered by the emulator's webhooks to a `kaizala_webhook`
//! receiver storing into the sink, then a sync — the `responses` and
//! `answers` tables are identical before and after. And the other way
//! round: a sync first, then the same events pushed.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kaizala_client::Client;
use kaizala_core::throttle::{Budget, ThrottleConfig};
use kaizala_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use kaizala_sink::{Sink, SyncOptions, SyncPhase, SyncProgress, Table};
use kaizala_types::actions::{
    CustomActionBody, JobBody, PollBody, QuestionSpec, QuestionType, SurveyBody,
};
use kaizala_types::event::{Event, EventType, ObjectType};
use kaizala_types::webhooks::CreateWebhookRequest;
use kaizala_webhook::store::Stored;
use kaizala_webhook::{Handlers, ReceiverConfig, Server};
use serde_json::{Map, Value, json};
use support::{databases, incoming, rows, scalar};
use tokio::net::TcpListener;
use tokio::time::Instant;

const TOKEN: &str = "sink-test-token";

fn throttle() -> ThrottleConfig {
    ThrottleConfig {
        connector: Budget::per_minute(100_000),
        tenant: Budget::per_minute(100_000),
    }
}

async fn emulator() -> RunningEmulator {
    Emulator::start(EmulatorConfig {
        random_seed: Some(42),
        throttle: throttle(),
        ..Default::default()
    })
    .await
    .unwrap()
}

fn client(emulator: &RunningEmulator) -> Client {
    let seeded = emulator.credentials().unwrap();
    Client::builder()
        .credentials(seeded.to_credentials())
        .base_url(&seeded.base_url)
        .throttle(throttle())
        .build()
        .unwrap()
}

async fn simulate(emulator: &RunningEmulator, what: &str, body: Value) -> Value {
    emulator
        .simulate(what, &body)
        .await
        .unwrap_or_else(|err| panic!("simulate/{what}: {err}"))
}

async fn subscribe(client: &Client, group: &str, url: String) -> String {
    let types = EventType::DOCUMENTED.into_iter().chain([
        EventType::PollCreated,
        EventType::PollResponse,
        EventType::LetsMeetCreated,
        EventType::LetsMeetResponse,
    ]);
    let mut request = CreateWebhookRequest::new(ObjectType::Group, group, types, url);
    request.callback_token = Some(TOKEN.into());
    client
        .webhooks()
        .create(request)
        .await
        .unwrap()
        .webhook_id
        .into_string()
}

/// Actions of every kind that takes responses, responded to by simulated
/// people (with re-answers); members join and leave, messages, reactions.
async fn activity(emulator: &RunningEmulator, client: &Client, group: &str) -> u64 {
    let team = client.group(group);
    let survey = team
        .actions()
        .create_survey(SurveyBody::new(
            "Store visit",
            vec![
                QuestionSpec::with_options(
                    "Retailer Outlet",
                    QuestionType::SingleOption,
                    ["ABC Traders", "BCD Distributors", "EFG wholesale"],
                ),
                QuestionSpec::with_options(
                    "Products stocked",
                    QuestionType::MultiOption,
                    ["Rice 1KG", "Rice 5KG", "Atta 10KG"],
                ),
                QuestionSpec::new("Rice 1KG", QuestionType::Numeric),
                QuestionSpec::new("Visit date", QuestionType::Date),
                QuestionSpec::new("Location", QuestionType::Location),
                QuestionSpec::new("Shelf photo", QuestionType::AttachmentList),
                QuestionSpec::new("Remarks", QuestionType::Text),
                QuestionSpec::new("Owner's mobile", QuestionType::Phone),
            ],
        ))
        .await
        .unwrap()
        .action_id
        .unwrap();
    // More surveys, without responses: the second sync does not list
    // them again.
    for title in ["Price check", "Competitor activity"] {
        // Distinct `sentAt` milliseconds: a listing resumes at the newest
        // one, inclusive, and would list actions sent within it again.
        tokio::time::sleep(Duration::from_millis(3)).await;
        let questions = vec![QuestionSpec::new("Notes", QuestionType::Text)];
        team.actions()
            .create_survey(SurveyBody::new(title, questions))
            .await
            .unwrap();
    }
    let poll = team
        .actions()
        .create_poll(PollBody::new("Lunch at 1?", ["Yes", "No", "Later"]))
        .await
        .unwrap()
        .action_id
        .unwrap();
    let admin: kaizala_types::PhoneNumber = "+919910870005".parse().unwrap();
    let job = team
        .actions()
        .create_job(JobBody::new("Count stock", [admin]))
        .await
        .unwrap()
        .action_id
        .unwrap();
    let order_form = team
        .actions()
        .create_custom(
            "com.example.OrderForm",
            CustomActionBody {
                title: Some("Order".into()),
                questions: Some(vec![QuestionSpec::new("Cartons", QuestionType::Numeric)]),
                ..CustomActionBody::default()
            },
        )
        .await
        .unwrap()
        .action_id
        .unwrap();
    let mut responses = 0;
    for (action, count, update) in [
        (&survey, 30, 0.3),
        (&poll, 8, 0.0),
        (&job, 1, 0.0),
        (&order_form, 3, 0.5),
    ] {
        let summary = simulate(
            emulator,
            "responses",
            json!({"groupId": group, "actionId": action, "count": count, "updateFraction": update}),
        )
        .await;
        responses += summary["responses"].as_u64().unwrap();
    }
    simulate(
        emulator,
        "members",
        json!({"groupId": group, "join": 3, "leave": 1}),
    )
    .await;
    simulate(emulator, "messages", json!({"groupId": group, "count": 4})).await;
    simulate(
        emulator,
        "reactions",
        json!({"groupId": group, "referenceId": survey, "likes": 5, "comments": 2}),
    )
    .await;
    responses
}

/// Waits until the emulator has nothing pending and the sink holds every
/// event the webhook delivered.
async fn settled(emulator: &RunningEmulator, webhook: &str, sink: &Sink) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (pending, delivered) = emulator.state(|s| {
            let ids: BTreeSet<String> = s
                .delivery_log
                .get(webhook)
                .map(|log| log.iter().map(|a| a.event_id.clone()).collect())
                .unwrap_or_default();
            (s.deliveries.len(), ids.len() as i64)
        });
        let stored = scalar(sink, "SELECT COUNT(*) FROM events").await;
        if pending == 0 && delivered > 0 && stored == delivered {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries did not settle: {pending} pending, {delivered} delivered, {stored} stored"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

type Snapshot = (Vec<Map<String, Value>>, Vec<Map<String, Value>>);

/// The responses and answers, once the projection caught up.
async fn snapshot(sink: &Sink) -> Snapshot {
    sink.project().await.unwrap();
    (
        rows(sink, "SELECT * FROM responses ORDER BY response_id").await,
        rows(
            sink,
            "SELECT * FROM answers ORDER BY response_id, question_index",
        )
        .await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_after_push_changes_no_response() {
    for db in databases().await {
        let emulator = emulator().await;
        let group = emulator.credentials().unwrap().group_id;
        let client = client(&emulator);
        let sink = db.connect().await;

        let config = ReceiverConfig::new().callback_token(TOKEN).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let handled = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&handled);
        let handlers = Handlers::new().on_any(move |_event: Arc<Event>| {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
        });
        let receiver = Server::new(config, sink.event_store())
            .handlers(handlers)
            .serve(listener);
        let webhook = subscribe(&client, &group, receiver.url()).await;

        let responses = activity(&emulator, &client, &group).await;
        settled(&emulator, &webhook, &sink).await;
        let pushed = snapshot(&sink).await;
        assert_eq!(pushed.0.len() as u64, responses, "{}", db.kind);
        let updated = pushed.0.iter().filter(|r| r["is_update"] == 1).count();
        assert!(updated >= 5, "{}: re-answers arrived: {updated}", db.kind);
        assert!(pushed.1.len() > 200);

        let mut seen = Vec::new();
        let report = sink
            .sync(&client, SyncOptions::default(), |p: &SyncProgress| {
                seen.push(p.clone())
            })
            .await
            .unwrap();
        let pulled = snapshot(&sink).await;
        assert_eq!(
            pulled.0, pushed.0,
            "{}: responses changed by the sync",
            db.kind
        );
        assert_eq!(
            pulled.1, pushed.1,
            "{}: answers changed by the sync",
            db.kind
        );
        assert_eq!(report.responses_new, 0, "{}: {report:?}", db.kind);
        assert_eq!(report.responses_updated, 0, "{}: {report:?}", db.kind);
        assert_eq!(
            report.responses_unchanged, responses,
            "{}: {report:?}",
            db.kind
        );
        assert!(report.skipped.is_empty(), "{report:?}");

        // The sync filled what events do not carry.
        assert_eq!(report.groups, 3, "{report:?}");
        assert!(report.subscribers >= 3, "{report:?}");
        let members = emulator.state(|s| s.groups[&group].members.len()) as i64;
        assert_eq!(
            scalar(
                &sink,
                &format!(
                    "SELECT COUNT(*) FROM members WHERE group_id = '{group}' \
                     AND role <> 'Subscriber'"
                )
            )
            .await,
            members,
            "{}",
            db.kind
        );
        let survey = rows(&sink, "SELECT * FROM actions WHERE title = 'Store visit'").await;
        assert_eq!(survey.len(), 1);
        assert_eq!(survey[0]["response_count"], 30);
        assert!(survey[0]["reference_id"].is_string());
        let reactions = rows(&sink, "SELECT * FROM reactions WHERE likes > 0").await;
        assert_eq!(reactions.len(), 1, "{}", db.kind);
        assert_eq!(reactions[0]["likes"], 5);
        assert_eq!(reactions[0]["comments"], 2);
        assert!(scalar(&sink, "SELECT COUNT(*) FROM sync_state").await >= 5);
        assert!(
            scalar(
                &sink,
                "SELECT COUNT(*) FROM actions WHERE action_type = 'Custom'"
            )
            .await
                == 1
        );
        assert!(seen.iter().any(|p| p.phase == SyncPhase::Responses));
        let last = seen.last().unwrap();
        assert_eq!(last.phase, SyncPhase::Done);
        assert_eq!((last.groups_done, last.groups_total), (3, 3));

        // Again: incremental, still nothing to change.
        let again = sink
            .sync(&client, SyncOptions::default(), |_: &SyncProgress| {})
            .await
            .unwrap();
        // Each list resumes at its newest action (listed again, changing
        // nothing): four kinds with actions, against six actions at first.
        assert_eq!(report.actions, 6, "{report:?}");
        assert_eq!(again.actions, 4, "{again:?}");
        assert_eq!(again.responses_new + again.responses_updated, 0);
        assert_eq!(snapshot(&sink).await, pushed);
        let counts = sink.counts().await.unwrap();
        assert_eq!(counts.get(Table::Responses), responses);

        // The receiver's processor ran the handler on every event from the
        // sink's queue, and took each off it.
        let events = scalar(&sink, "SELECT COUNT(*) FROM events").await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while handled.load(Ordering::Relaxed) as i64 != events
            || scalar(&sink, "SELECT COUNT(*) FROM handler_queue").await > 0
        {
            assert!(
                Instant::now() < deadline,
                "{}: events left unhandled: {} of {events} handled",
                db.kind,
                handled.load(Ordering::Relaxed)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        receiver.shutdown().await;
        emulator.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_after_sync_changes_no_response() {
    for db in databases().await {
        let emulator = emulator().await;
        let group = emulator.credentials().unwrap().group_id;
        let client = client(&emulator);
        let sink = db.connect().await;

        // A webhook whose receiver is gone: its events wait in the
        // emulator, to be stored by hand after the sync.
        let config = ReceiverConfig::new().callback_token(TOKEN).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Server::new(config, kaizala_webhook::MemoryEventStore::new())
            .serve_without_handlers(listener);
        subscribe(&client, &group, receiver.url()).await;
        receiver.shutdown().await;

        let responses = activity(&emulator, &client, &group).await;
        let report = sink
            .sync(
                &client,
                SyncOptions {
                    groups: Some(vec![group.as_str().into()]),
                },
                |_: &SyncProgress| {},
            )
            .await
            .unwrap();
        assert_eq!(report.groups, 1);
        // Without events nothing names the custom package: its action is
        // not listed, nor its responses.
        let pulled = snapshot(&sink).await;
        assert_eq!(pulled.0.len() as u64, responses - 3, "{}", db.kind);

        // Every event the webhook should have delivered, once the first
        // attempt failed.
        let deadline = Instant::now() + Duration::from_secs(30);
        let payloads: Vec<Value> = loop {
            let (waiting, payloads) = emulator.state(|s| {
                (
                    s.deliveries.iter().any(|d| d.attempts == 0 || d.in_flight),
                    s.deliveries
                        .iter()
                        .map(|d| d.payload.clone())
                        .collect::<Vec<_>>(),
                )
            });
            if !waiting {
                break payloads;
            }
            assert!(Instant::now() < deadline, "deliveries never failed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let store = sink.event_store();
        let events: Vec<_> = payloads.iter().map(incoming).collect();
        let stored = store.store_batch(&events).await.unwrap();
        assert!(stored.iter().all(|s| *s == Stored::New));

        let pushed = snapshot(&sink).await;
        assert_eq!(pushed.0.len() as u64, responses, "{}", db.kind);
        // The responses the sync had are as they were: pushing them again
        // (original and re-answer alike) changed none.
        let before: BTreeSet<String> = pulled
            .0
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect();
        let after: BTreeSet<String> = pushed
            .0
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect();
        assert!(
            before.is_subset(&after),
            "{}: a pulled response changed",
            db.kind
        );
        let pulled_answers: BTreeSet<String> = pulled
            .1
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect();
        let pushed_answers: BTreeSet<String> = pushed
            .1
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect();
        assert!(pulled_answers.is_subset(&pushed_answers), "{}", db.kind);

        // Now the package is known: a sync lists it and changes nothing.
        let report = sink
            .sync(
                &client,
                SyncOptions {
                    groups: Some(vec![group.as_str().into()]),
                },
                |_: &SyncProgress| {},
            )
            .await
            .unwrap();
        assert_eq!(
            report.responses_new + report.responses_updated,
            0,
            "{report:?}"
        );
        assert_eq!(snapshot(&sink).await, pushed);
        emulator.shutdown().await;
    }
}
