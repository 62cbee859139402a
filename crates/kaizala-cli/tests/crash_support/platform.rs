//! The platform's side of a crash: the emulator delivers a paced stream
//! of simulated activity to `kaizala ingest`, which is killed (`kill -9`)
//! mid-stream. Every event the emulator's delivery log shows acknowledged
//! must then be in `events`; the receiver is restarted on the same port
//! and database once deliveries have failed against the dead one, and
//! once the emulator has nothing pending (its retry schedule, two minutes
//! growing fourfold over two days, passes in seconds at a time scale of
//! 10,000; a tenth of the deliveries are sent twice) each event it
//! generated is stored exactly once, responses and answers are exactly
//! those of the survey, and the tables equal a rebuild. The campaign
//! (`crash.rs`) posts its own events to aim its kills; this is the same
//! property with the payloads and the retries of the platform itself.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kaizala_client::Client;
use kaizala_emulator::model::DeliveryOutcome;
use kaizala_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use kaizala_types::actions::{QuestionSpec, QuestionType, SurveyBody};
use kaizala_types::event::{EventType, ObjectType};
use kaizala_types::webhooks::CreateWebhookRequest;
use serde_json::{Value, json};

use super::snapshot;
use crate::ingest_support::{
    self, Ingest, Kaizala, Summary, TestDb, free_port, http_client, scalar, simulate, strings,
};

/// Rounds of simulated activity, and the pause between two.
const ROUNDS: usize = 40;
const PACE: Duration = Duration::from_millis(30);
/// Kill the receiver once this many events are acknowledged.
const KILL_AFTER_ACKS: usize = 200;
/// Everything after the start, per backend.
const DEADLINE: Duration = Duration::from_secs(50);

/// The survey the simulated people answer.
fn survey() -> SurveyBody {
    let mut survey = SurveyBody::new(
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
                ["Rice", "Atta", "Oil"],
            ),
            QuestionSpec::new("Rice 1KG", QuestionType::Numeric),
            QuestionSpec::new("Location", QuestionType::Location),
            QuestionSpec::new("Remarks", QuestionType::Text),
        ],
    );
    // Hours: ten years of virtual time, so the survey stays open however
    // fast the clock runs.
    survey.due_date = Some(24 * 365 * 10);
    survey
}

/// What the emulator's state and delivery log showed, accumulated: the log
/// keeps the last 1,000 attempts only, so it is read often.
#[derive(Debug, Default)]
struct Tracker {
    webhook: String,
    /// Every event id seen pending or in the log.
    generated: BTreeSet<String>,
    /// Events some delivery of which was answered 2xx.
    acked: BTreeSet<String>,
    /// Attempts seen: failed ones, acknowledged retries (attempt 2 or
    /// later), acknowledged duplicates.
    failures: usize,
    retry_acks: usize,
    duplicate_acks: usize,
    /// The highest attempt number that failed.
    worst_failure: u32,
    /// The newest attempt processed (event id, duplicate, attempt number).
    last: Option<(String, bool, u32)>,
    /// Deliveries waiting for their (next) attempt.
    pending: usize,
}

impl Tracker {
    fn poll(&mut self, emulator: &RunningEmulator) {
        let webhook = self.webhook.clone();
        let new = emulator.state(|s| {
            self.pending = 0;
            for d in s.deliveries.iter().filter(|d| d.webhook_id == webhook) {
                self.pending += 1;
                if !self.generated.contains(&d.event_id) {
                    self.generated.insert(d.event_id.clone());
                }
            }
            // Attempts are appended: take those after the last one seen.
            let mut new = Vec::new();
            for a in s.delivery_log.get(&webhook).into_iter().flatten().rev() {
                let key = (a.event_id.as_str(), a.duplicate, a.attempt);
                if self
                    .last
                    .as_ref()
                    .is_some_and(|(e, d, n)| (e.as_str(), *d, *n) == key)
                {
                    break;
                }
                new.push(a.clone());
            }
            new
        });
        for a in new.into_iter().rev() {
            self.generated.insert(a.event_id.clone());
            match a.outcome {
                DeliveryOutcome::Delivered { .. } => {
                    if a.duplicate {
                        self.duplicate_acks += 1;
                    }
                    if a.attempt > 1 {
                        self.retry_acks += 1;
                    }
                    self.acked.insert(a.event_id.clone());
                }
                DeliveryOutcome::Failed { .. } => {
                    self.failures += 1;
                    self.worst_failure = self.worst_failure.max(a.attempt);
                }
            }
            self.last = Some((a.event_id, a.duplicate, a.attempt));
        }
    }

    /// Polls every 5 ms until `done` holds (failing after `timeout`).
    async fn until(
        &mut self,
        emulator: &RunningEmulator,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&Tracker) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        loop {
            self.poll(emulator);
            if done(self) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {} generated, {} acknowledged, {} pending, {} failed attempts",
                self.generated.len(),
                self.acked.len(),
                self.pending,
                self.failures
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// What the simulations said they did.
#[derive(Debug, Default)]
struct Produced {
    events: BTreeMap<String, u64>,
    response_ids: BTreeSet<String>,
}

impl Produced {
    fn add(&mut self, summary: &Value) {
        for (event_type, n) in summary["events"].as_object().unwrap() {
            *self.events.entry(event_type.clone()).or_default() += n.as_u64().unwrap();
        }
        for id in summary["responseIds"].as_array().into_iter().flatten() {
            self.response_ids.insert(id.as_str().unwrap().to_owned());
        }
    }

    fn total(&self) -> u64 {
        self.events.values().sum()
    }

    fn of(&self, event_type: &str) -> i64 {
        self.events.get(event_type).copied().unwrap_or(0) as i64
    }
}

pub async fn crash_and_recover(db: TestDb) {
    let started = Instant::now();
    let kind = db.kind;
    let emulator = Emulator::start(EmulatorConfig {
        time_scale: 10_000.0,
        duplicate_rate: 0.1,
        random_seed: Some(20261123),
        ..Default::default()
    })
    .await
    .unwrap();
    let seeded = emulator.credentials().unwrap();
    let group = seeded.group_id.clone();
    let client = Client::builder()
        .credentials(seeded.to_credentials())
        .base_url(&seeded.base_url)
        .build()
        .unwrap();

    // The receiver first: the platform validates the URL before it
    // subscribes it.
    let port = free_port();
    let ingest = Ingest::start(&db.url, port, db.dir.path(), "ingest-1").await;
    let survey_id = client
        .group(group.as_str())
        .actions()
        .create_survey(survey())
        .await
        .unwrap()
        .action_id
        .unwrap()
        .to_string();
    let mut request = CreateWebhookRequest::new(
        ObjectType::Group,
        group.as_str(),
        EventType::DOCUMENTED,
        ingest.url(),
    );
    request.callback_token = Some(ingest_support::TOKEN.into());
    let webhook = client
        .webhooks()
        .create(request)
        .await
        .unwrap()
        .webhook_id
        .into_string();

    // The stream: a paced round of activity after another.
    let base = emulator.base_url().to_owned();
    let generator = tokio::spawn(async move {
        let http = http_client();
        let mut produced = Produced::default();
        for round in 0..ROUNDS {
            let calls = [
                (
                    "responses",
                    json!({"groupId": group, "actionId": survey_id, "count": 12, "updateFraction": 0.1}),
                ),
                ("messages", json!({"groupId": group, "count": 6})),
                ("attachments", json!({"groupId": group, "count": 2})),
                (
                    "members",
                    json!({"groupId": group, "join": 2, "leave": usize::from(round % 2 == 1)}),
                ),
            ];
            for (what, body) in calls {
                produced.add(&simulate(&http, &base, what, &body).await);
            }
            tokio::time::sleep(PACE).await;
        }
        produced
    });

    let mut tracker = Tracker {
        webhook: webhook.clone(),
        ..Tracker::default()
    };
    tracker
        .until(&emulator, "the first acknowledgements", DEADLINE, |t| {
            t.acked.len() >= KILL_AFTER_ACKS
        })
        .await;

    // kill -9, mid-stream.
    let killed_at = Instant::now();
    let generating = !generator.is_finished();
    let log = ingest.kill();
    tracker.poll(&emulator);
    let acked_before_kill = tracker.acked.clone();
    let failures_at_kill = tracker.failures;
    eprintln!(
        "{kind}: killed after {:.1?} with {} of {} events acknowledged (generator {})",
        started.elapsed(),
        acked_before_kill.len(),
        tracker.generated.len(),
        if generating { "running" } else { "done" }
    );

    // Before anything can redeliver: what was acknowledged is stored.
    {
        let sink = db.connect().await;
        let stored: BTreeSet<String> = strings(&sink, "SELECT event_id FROM events")
            .await
            .into_iter()
            .collect();
        let lost: Vec<_> = acked_before_kill.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "{kind}: {} acknowledged events are not in the database after kill -9: {lost:?}\n{log}",
            lost.len()
        );
        sink.close().await;
    }

    // Let the platform meet the dead receiver until some delivery has
    // failed four times (its retries 2 min, 8 min and 32 min of virtual
    // time after the first attempt), then restart on the same port and
    // database. The kill can land between two rounds with nothing
    // pending, so at least one failed attempt is waited for: the
    // generator is still running and its next round meets the dead port.
    assert!(
        generating,
        "{kind}: the stream ended before the kill; raise ROUNDS"
    );
    tracker
        .until(
            &emulator,
            "failed deliveries",
            Duration::from_secs(10),
            |t| t.failures > failures_at_kill && (t.worst_failure >= 4 || t.pending == 0),
        )
        .await;
    let ingest = Ingest::start(&db.url, port, db.dir.path(), "ingest-2").await;
    eprintln!(
        "{kind}: restarted {:.1?} after the kill, {} failed attempts meanwhile (up to attempt {})",
        killed_at.elapsed(),
        tracker.failures - failures_at_kill,
        tracker.worst_failure
    );

    // Everything generated, and nothing pending any more.
    let remaining = DEADLINE.saturating_sub(started.elapsed());
    tracker
        .until(&emulator, "the stream to end", remaining, |_| {
            generator.is_finished()
        })
        .await;
    let produced = generator.await.unwrap();
    let remaining = DEADLINE.saturating_sub(started.elapsed());
    tracker
        .until(&emulator, "every delivery to settle", remaining, |t| {
            t.pending == 0 && t.generated.len() as u64 == produced.total()
        })
        .await;
    eprintln!(
        "{kind}: settled after {:.1?}: {} events ({:?}), {} failed attempts, {} retries and {} duplicates acknowledged",
        started.elapsed(),
        produced.total(),
        produced.events,
        tracker.failures,
        tracker.retry_acks,
        tracker.duplicate_acks
    );
    assert!(
        tracker.failures > failures_at_kill && tracker.retry_acks > 0,
        "{kind}: no delivery met the dead receiver and was retried"
    );
    assert!(tracker.duplicate_acks > 0, "{kind}: no duplicate delivered");
    assert_eq!(
        tracker.acked, tracker.generated,
        "{kind}: every event acknowledged in the end"
    );
    assert!(
        emulator.state(|s| s.webhooks[&webhook].active),
        "{kind}: the webhook was disabled"
    );

    let summary = Summary::parse(&ingest.terminate().await);
    assert_eq!(summary.refused, 0, "{kind}: {summary:?}");
    assert_eq!(summary.quarantined, 0, "{kind}: {summary:?}");

    let sink = db.connect().await;
    let ids: Vec<String> = strings(&sink, "SELECT event_id FROM events ORDER BY position").await;
    let stored: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(ids.len(), stored.len(), "{kind}: an event stored twice");
    assert_eq!(
        ids.len() as u64,
        produced.total(),
        "{kind}: events stored vs generated"
    );
    assert_eq!(
        stored, tracker.generated,
        "{kind}: events stored vs generated"
    );
    assert!(acked_before_kill.is_subset(&stored));

    // The typed tables, once projected: each event's rows once.
    sink.project().await.unwrap();
    for (event_type, n) in &produced.events {
        let sql = format!("SELECT COUNT(*) FROM events WHERE event_type = '{event_type}'");
        assert_eq!(scalar(&sink, &sql).await, *n as i64, "{kind}: {event_type}");
    }
    assert_eq!(
        scalar(&sink, "SELECT COUNT(*) FROM messages").await,
        produced.of("TextMessageCreated"),
        "{kind}: messages"
    );
    assert_eq!(
        scalar(&sink, "SELECT COUNT(DISTINCT event_id) FROM attachments").await,
        produced.of("AttachmentCreated"),
        "{kind}: attachments"
    );
    assert_eq!(
        scalar(&sink, "SELECT COUNT(*) FROM member_changes").await,
        produced.of("MemberAdded") + produced.of("MemberRemoved"),
        "{kind}: member changes"
    );
    let responses: BTreeSet<String> = strings(&sink, "SELECT response_id FROM responses")
        .await
        .into_iter()
        .collect();
    assert_eq!(responses, produced.response_ids, "{kind}: responses");
    assert_eq!(
        scalar(&sink, "SELECT COUNT(*) FROM responses").await as usize,
        produced.response_ids.len()
    );

    // Answers: one per question (and the hidden ResponseTime) per
    // response, none orphaned; updated responses stored as updated.
    let per_response = survey().questions.len() as i64 + 1;
    assert_eq!(
        scalar(&sink, "SELECT COUNT(*) FROM answers").await,
        per_response * responses.len() as i64,
        "{kind}: answers"
    );
    assert_eq!(
        scalar(
            &sink,
            &format!(
                "SELECT COUNT(*) FROM (SELECT response_id FROM answers GROUP BY response_id \
                 HAVING COUNT(*) <> {per_response}) AS t"
            )
        )
        .await,
        0,
        "{kind}: a response without all its answers"
    );
    assert_eq!(
        scalar(
            &sink,
            "SELECT COUNT(*) FROM answers a WHERE NOT EXISTS \
             (SELECT 1 FROM responses r WHERE r.response_id = a.response_id)"
        )
        .await,
        0,
        "{kind}: orphaned answers"
    );
    let updated_in_emulator: BTreeSet<String> = emulator.state(|s| {
        s.actions
            .values()
            .flat_map(|a| &a.responses)
            .filter(|r| r.updated)
            .map(|r| r.response_id.clone())
            .collect()
    });
    let updated_in_db: BTreeSet<String> = strings(
        &sink,
        "SELECT response_id FROM responses WHERE is_update = 1",
    )
    .await
    .into_iter()
    .collect();
    assert!(!updated_in_emulator.is_empty());
    assert_eq!(
        updated_in_db, updated_in_emulator,
        "{kind}: the updated responses"
    );
    // And the tables are what a rebuild makes of the log.
    let before = snapshot::snapshot(&sink).await;
    let (exit, output) = Kaizala::spawn(&["rebuild", "--db", &db.url], db.dir.path(), "rebuild")
        .wait(Duration::from_secs(120))
        .await;
    assert!(exit.success(), "{kind}: kaizala rebuild: {exit}\n{output}");
    let after = snapshot::snapshot(&sink).await;
    if let Some(diff) = snapshot::diff(&before, &after, ("projected", "rebuilt")) {
        panic!("{kind}: the projected tables differ from a rebuild:\n{diff}");
    }
    sink.close().await;
    eprintln!("{kind}: passed in {:.1?}", started.elapsed());
    emulator.shutdown().await;
}
