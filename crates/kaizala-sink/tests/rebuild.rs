//! Rebuild equals incremental, and readers never see a half-built table:
//!
//! - a mixed workload from the emulator through a real receiver (duplicate
//!   deliveries, re-answered responses, members joining and leaving, a
//!   sync before some pushes arrive and one after, events stored again and
//!   out of order by hand), projected incrementally in small batches and
//!   by a background projector, gives the tables a rebuild gives, row for
//!   row — whole or in part — and projecting a stretch of the log again
//!   changes nothing;
//! - while a rebuild runs, readers see the old tables or the new ones,
//!   whole, never an error.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use kaizala_emulator::RunningEmulator;
use kaizala_sink::{Sink, SyncOptions, Table};
use kaizala_types::actions::{
    AnnouncementBody, CustomActionBody, PollBody, QuestionSpec, QuestionType, SurveyBody,
};
use kaizala_webhook::store::Stored;
use serde_json::{Value, json};
use sqlx::Row;
use support::emulated::{self, Gate};
use support::{TestDb, assert_same_tables, incoming_at, rows, scalar, snapshot};

async fn simulate(emulator: &RunningEmulator, what: &str, body: Value) -> Value {
    emulator
        .simulate(what, &body)
        .await
        .unwrap_or_else(|err| panic!("simulate/{what}: {err}"))
}

/// `payload` as another event: `event_id`, the response `response_id`,
/// an update or not, its free-text answers replaced by `text` and its
/// hidden `ResponseTime` moved by `later_ms`.
fn response_variant(
    payload: &Value,
    event_id: &str,
    response_id: &str,
    update: bool,
    text: &str,
    later_ms: i64,
) -> Value {
    let mut event = payload.clone();
    event["eventId"] = json!(event_id);
    let data = &mut event["data"];
    data["responseId"] = json!(response_id);
    data["isUpdateResponse"] = json!(update);
    let questions = data["responseDetails"]["responseWithQuestions"]
        .as_array_mut()
        .expect("a response with questions");
    for question in questions {
        let title = question["title"].as_str().unwrap_or_default().to_owned();
        match question["type"].as_str() {
            Some("Text") => question["answer"] = json!(text),
            _ if title.eq_ignore_ascii_case("ResponseTime") => {
                if let Some(at) = question["answer"].as_i64() {
                    question["answer"] = json!(at + later_ms);
                }
            }
            _ => {}
        }
    }
    event
}

async fn mixed_workload(db: TestDb) {
    let kind = db.kind;
    let emulator = emulated::emulator(7, 0.3).await;
    let group = emulator.credentials().unwrap().group_id;
    let client = emulated::client(&emulator);
    let sink = db.connect().await;
    let gate = Gate::new(&sink);
    let (receiver, webhook) = emulated::receiver(&client, &group, &gate).await;
    let team = client.group(group.as_str());
    let small_batches = sink.projector().with_batch(7);

    // 1. Actions, members, answers (some re-answered), an announcement:
    //    pushed, projected a few entries at a time.
    let survey = team
        .actions()
        .create_survey(SurveyBody::new(
            "Store visit",
            vec![
                QuestionSpec::with_options(
                    "Retailer outlet",
                    QuestionType::SingleOption,
                    ["ABC Traders", "BCD Distributors", "EFG Wholesale"],
                ),
                QuestionSpec::with_options(
                    "Products stocked",
                    QuestionType::MultiOption,
                    ["Rice 1KG", "Rice 5KG", "Atta 10KG"],
                ),
                QuestionSpec::new("Cartons", QuestionType::Numeric),
                QuestionSpec::new("Location", QuestionType::Location),
                QuestionSpec::new("Remarks", QuestionType::Text),
            ],
        ))
        .await
        .unwrap()
        .action_id
        .unwrap();
    let poll = team
        .actions()
        .create_poll(PollBody::new("Lunch at 1?", ["Yes", "No", "Later"]))
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
    team.actions()
        .create_announcement(AnnouncementBody::new("Holiday", "Closed on Friday"))
        .await
        .unwrap();
    simulate(&emulator, "members", json!({"groupId": group, "join": 6})).await;
    simulate(
        &emulator,
        "responses",
        json!({"groupId": group, "actionId": survey, "count": 15, "updateFraction": 0.4}),
    )
    .await;
    emulated::settled(&emulator, &webhook, &sink).await;
    let report = small_batches.catch_up().await.unwrap();
    assert!(report.batches > 3, "{kind}: {report:?}");

    // 2. More happens while the receiver refuses everything; a sync
    //    pulls it before the pushes arrive.
    gate.set_open(false);
    simulate(
        &emulator,
        "responses",
        json!({"groupId": group, "actionId": survey, "count": 10, "updateFraction": 0.5}),
    )
    .await;
    simulate(
        &emulator,
        "responses",
        json!({"groupId": group, "actionId": poll, "count": 6}),
    )
    .await;
    simulate(
        &emulator,
        "responses",
        json!({"groupId": group, "actionId": order_form, "count": 4, "updateFraction": 0.5}),
    )
    .await;
    simulate(&emulator, "members", json!({"groupId": group, "leave": 2})).await;
    simulate(&emulator, "messages", json!({"groupId": group, "count": 3})).await;
    team.actions()
        .create_announcement(AnnouncementBody::new("Stock count", "Count shelves Monday"))
        .await
        .unwrap();
    emulated::all_refused(&emulator).await;
    assert!(gate.refused() > 0);
    sink.sync(&client, SyncOptions::default(), |_| {})
        .await
        .unwrap();
    let first_sync_head = scalar(&sink, "SELECT MAX(position) FROM pull_log").await;

    // 3. The pushes arrive (the platform retries), projected in the
    //    background.
    let background = sink.projector().with_batch(11).spawn();
    gate.set_open(true);
    emulator.advance(Duration::from_secs(150));
    emulated::settled(&emulator, &webhook, &sink).await;

    // 4. By hand: an update stored before its original, and events
    //    stored a second time, newest first.
    let payloads: Vec<Value> = rows(
        &sink,
        "SELECT payload FROM events WHERE event_type = 'SurveyResponse' ORDER BY position",
    )
    .await
    .iter()
    .map(|r| serde_json::from_str(r["payload"].as_str().unwrap()).unwrap())
    .collect();
    let store = sink.event_store();
    let now = SystemTime::now();
    let update = response_variant(&payloads[0], "hand-2", "hand-r", true, "second", 60_000);
    let original = response_variant(&payloads[0], "hand-1", "hand-r", false, "first", 0);
    for event in [&update, &original] {
        let stored = store.store_batch(&[incoming_at(event, now)]).await.unwrap();
        assert_eq!(stored, vec![Stored::New]);
    }
    let again: Vec<_> = rows(&sink, "SELECT payload FROM events ORDER BY position DESC")
        .await
        .iter()
        .take(40)
        .map(|r| {
            let payload: Value = serde_json::from_str(r["payload"].as_str().unwrap()).unwrap();
            incoming_at(&payload, now)
        })
        .collect();
    let stored = store.store_batch(&again).await.unwrap();
    assert!(stored.iter().all(|s| *s == Stored::Duplicate), "{kind}");

    // 5. Members come and go, answers change, while the background
    //    projector runs; a sync after the pushes.
    simulate(
        &emulator,
        "members",
        json!({"groupId": group, "join": 2, "leave": 1}),
    )
    .await;
    simulate(
        &emulator,
        "responses",
        json!({"groupId": group, "actionId": survey, "count": 5, "updateFraction": 0.6}),
    )
    .await;
    emulated::settled(&emulator, &webhook, &sink).await;
    sink.sync(&client, SyncOptions::default(), |_| {})
        .await
        .unwrap();
    background.shutdown().await;
    sink.project().await.unwrap();

    // The workload was what it says.
    let metrics = receiver.metrics().snapshot();
    assert!(metrics.duplicate > 0, "{kind}: duplicate deliveries");
    assert!(
        scalar(&sink, "SELECT COUNT(*) FROM responses WHERE is_update = 1").await >= 5,
        "{kind}: re-answers"
    );
    assert!(
        scalar(
            &sink,
            "SELECT COUNT(*) FROM member_changes WHERE change_type = 'removed'"
        )
        .await
            >= 3,
        "{kind}: members left"
    );
    assert!(
        scalar(
            &sink,
            &format!("SELECT COUNT(*) FROM events WHERE position > {first_sync_head}")
        )
        .await
            > 20,
        "{kind}: pushes arrived after the first sync"
    );
    let hand = rows(
        &sink,
        "SELECT r.is_update, a.text_value FROM responses AS r JOIN answers AS a \
         ON a.response_id = r.response_id \
         WHERE r.response_id = 'hand-r' AND a.question_type = 'Text'",
    )
    .await;
    assert_eq!(hand.len(), 1, "{kind}: {hand:?}");
    assert_eq!(hand[0]["is_update"], 1, "{kind}: the update stays");
    assert_eq!(hand[0]["text_value"], "second", "{kind}");
    let status = sink.status().await.unwrap();
    assert!(status.is_caught_up(), "{kind}: {status}");
    assert_eq!(status.projection_errors, 0, "{kind}: {status}");
    let announcements = rows(
        &sink,
        "SELECT action_id, event_id FROM actions WHERE action_type = 'Announcement'",
    )
    .await;
    // One pushed before the first sync, one after it: each joined with its
    // pulled self, keyed by its action id.
    assert_eq!(announcements.len(), 2, "{kind}: {announcements:?}");
    for row in &announcements {
        assert!(row["event_id"].is_string(), "{kind}: {row:?}");
        assert_ne!(row["action_id"], row["event_id"], "{kind}: {row:?}");
    }

    // Incremental against rebuilt: every projected table, row for row.
    let incremental = snapshot(&sink).await;
    let rebuilt = sink.rebuild(&[], |_| {}).await.unwrap();
    assert_eq!(rebuilt.errors, 0, "{kind}: {rebuilt:?}");
    assert_same_tables(
        &format!("{kind}: incremental against rebuilt"),
        &incremental,
        &snapshot(&sink).await,
    );

    // Rebuilding answers rebuilds responses with them; same rows.
    let partial = sink.rebuild(&[Table::Answers], |_| {}).await.unwrap();
    assert_eq!(partial.tables, vec!["answers", "responses"], "{kind}");
    assert_same_tables(
        &format!("{kind}: incremental against answers rebuilt"),
        &incremental,
        &snapshot(&sink).await,
    );

    // Projecting entries again changes nothing: from the middle of
    // the log, and from its start.
    let head = scalar(
        &sink,
        "SELECT value FROM sink_state WHERE name = 'watermark'",
    )
    .await;
    for back_to in [first_sync_head, 0] {
        sqlx::query("UPDATE sink_state SET value = $1 WHERE name = 'watermark'")
            .bind(back_to)
            .execute(sink.pool())
            .await
            .unwrap();
        let again = sink.projector().with_batch(13).catch_up().await.unwrap();
        assert!(again.entries > 0, "{kind}: {again:?}");
        assert_eq!(again.watermark, head, "{kind}");
        assert_same_tables(
            &format!("{kind}: projected again from position {back_to}"),
            &incremental,
            &snapshot(&sink).await,
        );
    }

    // The dashboard contract over what the workload left.
    let wrong = support::check_stable_views(&sink).await;
    assert!(
        wrong.is_empty(),
        "{kind}: the kz_* views:\n{}",
        wrong.join("\n")
    );
    let named = scalar(
        &sink,
        "SELECT COUNT(*) FROM kz_responses WHERE group_name IS NOT NULL AND action_title IS NOT NULL",
    )
    .await;
    assert!(
        named > 0,
        "{kind}: no response has its group's name and action's title joined in"
    );

    receiver.shutdown().await;
    emulator.shutdown().await;
    sink.close().await;
}

/// A response event as the platform sends it (with the fields real traffic
/// carried), the `n`th of a survey's.
fn synthetic_response(n: usize) -> Value {
    let outlets = ["ABC Traders", "BCD Distributors", "EFG Wholesale"];
    let products = ["Rice 1KG", "Rice 5KG", "Atta 10KG"];
    json!({
        "eventId": format!("load-{n:05}"),
        "eventType": "SurveyResponse",
        "objectId": "g-load",
        "objectType": "Group",
        "fromUser": format!("+9190000{:05}", n % 300),
        "fromUserId": format!("u-{}", n % 300),
        "fromUserName": format!("Responder {}", n % 300),
        "data": {
            "actionId": format!("a-{}", n % 4),
            "groupId": "g-load",
            "responseId": format!("r-{n:05}"),
            "responder": format!("+9190000{:05}", n % 300),
            "responderName": format!("Responder {}", n % 300),
            "responseDetails": {"responseWithQuestions": [
                {"title": "Retailer outlet", "type": "SingleOption",
                 "options": outlets.iter().map(|o| json!({"title": o})).collect::<Vec<_>>(),
                 "answer": [outlets[n % 3]]},
                {"title": "Products stocked", "type": "MultiOption",
                 "options": products.iter().map(|o| json!({"title": o})).collect::<Vec<_>>(),
                 "answer": [products[n % 3], products[(n + 1) % 3]]},
                {"title": "Cartons", "type": "Numeric", "answer": n % 17},
                {"title": "Remarks", "type": "Text", "answer": format!("visit {n}")}
            ]}
        }
    })
}

/// Text that `COPY`'s text format escapes or could misread.
const AWKWARD: [&str; 10] = [
    "tab\there",
    "line\nbreak",
    "back\\slash",
    "\\N",
    "",
    "cr\rhere",
    "quote \" and ' ",
    "nul\u{0}byte",
    "ünïcødé 🚀",
    "  spaced  ",
];

/// Awkward text and numbers in answers and the event index, in batches
/// large enough that the PostgreSQL projector sends them by `COPY`: they
/// read back as a rebuild's `INSERT`s store them, and as sent.
async fn awkward_values(db: TestDb) {
    const EVENTS: usize = 100;
    let kind = db.kind;
    let sink = db.connect().await;
    let numbers = [0.1, -2.5, 1e300, 123_456_789.125, 5e-324, 0.0];
    let now = SystemTime::now();
    let events: Vec<_> = (0..EVENTS)
        .map(|n| {
            let mut json = synthetic_response(n);
            let awkward = AWKWARD[n % AWKWARD.len()];
            json["fromUserId"] = json!(format!("u-{n}-{awkward}"));
            let questions = &mut json["data"]["responseDetails"]["responseWithQuestions"];
            questions[2]["answer"] = json!(numbers[n % numbers.len()]);
            questions[3]["answer"] = json!(awkward);
            incoming_at(&json, now)
        })
        .collect();
    sink.event_store().store_batch(&events).await.unwrap();
    let projected = sink.project().await.unwrap();
    assert_eq!(
        (projected.entries, projected.errors),
        (EVENTS as u64, 0),
        "{kind}"
    );
    let incremental = snapshot(&sink).await;

    // As sent.
    let answers = rows(
        &sink,
        "SELECT text_value, number_value FROM answers \
         WHERE response_id = 'r-00007' ORDER BY question_index",
    )
    .await;
    let indexed = rows(
        &sink,
        "SELECT from_user_id FROM event_index WHERE event_id = 'load-00007'",
    )
    .await;
    // PostgreSQL text cannot hold NUL: both backends store U+FFFD.
    let awkward = AWKWARD[7].replace('\0', "\u{fffd}");
    assert_eq!(answers.len(), 4, "{kind}: {answers:?}");
    assert_eq!(answers[3]["text_value"], json!(awkward), "{kind}");
    assert_eq!(answers[2]["number_value"], json!(numbers[1]), "{kind}");
    assert_eq!(
        indexed[0]["from_user_id"],
        json!(format!("u-7-{awkward}")),
        "{kind}"
    );

    let rebuilt = sink.rebuild(&[], |_| {}).await.unwrap();
    assert_eq!(rebuilt.errors, 0, "{kind}: {rebuilt:?}");
    assert_same_tables(
        &format!("{kind}: awkward values projected against rebuilt"),
        &incremental,
        &snapshot(&sink).await,
    );
    sink.close().await;
}

/// What a reader saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    responses: i64,
    answers: i64,
    distribution: i64,
}

async fn look(sink: &Sink) -> Result<Seen, String> {
    // One statement, so both counts come from one snapshot.
    let counts =
        sqlx::query("SELECT (SELECT COUNT(*) FROM responses), (SELECT COUNT(*) FROM answers)")
            .fetch_one(sink.pool())
            .await
            .map_err(|e| e.to_string())?;
    let distribution =
        sqlx::query("SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM answer_distribution")
            .fetch_one(sink.pool())
            .await
            .map_err(|e| e.to_string())?;
    Ok(Seen {
        responses: counts.try_get(0).map_err(|e| e.to_string())?,
        answers: counts.try_get(1).map_err(|e| e.to_string())?,
        distribution: distribution.try_get(0).map_err(|e| e.to_string())?,
    })
}

async fn readers_during_rebuilds(db: TestDb) {
    const EVENTS: usize = 3_000;
    let kind = db.kind;
    let sink = db.connect().await;
    let store = sink.event_store();
    let now = SystemTime::now();
    let events: Vec<_> = (0..EVENTS)
        .map(|n| incoming_at(&synthetic_response(n), now))
        .collect();
    for chunk in events.chunks(256) {
        store.store_batch(chunk).await.unwrap();
    }
    sink.project().await.unwrap();
    let before = look(&sink).await.unwrap();
    assert_eq!(before.responses, EVENTS as i64, "{kind}");
    assert_eq!(before.answers, 4 * EVENTS as i64, "{kind}");
    assert!(before.distribution > 0, "{kind}");

    // Readers keep looking while the tables are rebuilt, whole and
    // then in part; the log does not change, so neither may what they
    // see.
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (sink, stop, reads) = (sink.clone(), stop.clone(), reads.clone());
            tokio::spawn(async move {
                let mut wrong = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    match look(&sink).await {
                        Ok(seen) if seen == before => {}
                        other => wrong.push(format!("{other:?}")),
                    }
                    reads.fetch_add(1, Ordering::SeqCst);
                }
                wrong
            })
        })
        .collect();
    // The readers are reading before the rebuild starts.
    support::eventually("readers start", Duration::from_secs(10), || async {
        match reads.load(Ordering::SeqCst) {
            0 => Err("no read yet".to_owned()),
            _ => Ok(()),
        }
    })
    .await;
    let started = reads.load(Ordering::SeqCst);
    let full = sink.rebuild(&[], |_| {}).await.unwrap();
    assert_eq!(full.entries, EVENTS as u64, "{kind}: {full:?}");
    let during_full = reads.load(Ordering::SeqCst) - started;
    let partial = sink.rebuild(&[Table::Responses], |_| {}).await.unwrap();
    assert_eq!(partial.tables, vec!["answers", "responses"], "{kind}");
    stop.store(true, Ordering::SeqCst);
    eprintln!(
        "{kind}: {during_full} reads during the full rebuild ({:.2} s), {} in all",
        full.seconds,
        reads.load(Ordering::SeqCst)
    );
    let mut wrong = Vec::new();
    for reader in readers {
        wrong.extend(reader.await.unwrap());
    }
    assert!(
        wrong.is_empty(),
        "{kind}: readers saw {} wrong answers of {} reads (expected {before:?}), e.g. {:?}",
        wrong.len(),
        reads.load(Ordering::SeqCst),
        &wrong[..wrong.len().min(5)]
    );
    assert!(
        during_full >= 10,
        "{kind}: the readers barely ran during the rebuild ({during_full} reads)"
    );

    // Nothing of the rebuilds is left beside the tables, and every
    // table is current.
    let leftover_sql = match sink.backend() {
        kaizala_sink::Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%\\_\\_new%' ESCAPE '\\'"
        }
        _ => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name LIKE '%\\_\\_new%'"
        }
    };
    assert_eq!(scalar(&sink, leftover_sql).await, 0, "{kind}: tables left");
    let status = sink.status().await.unwrap();
    assert!(
        status.tables.iter().all(|t| t.state == "current"),
        "{kind}: {status}"
    );
    assert!(status.is_caught_up(), "{kind}: {status}");
    assert_eq!(look(&sink).await.unwrap(), before, "{kind}");
    sink.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_workload_projects_incrementally_as_a_rebuild_does_on_sqlite() {
    mixed_workload(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_workload_projects_incrementally_as_a_rebuild_does_on_postgres() {
    if let Some(db) = TestDb::postgres().await {
        mixed_workload(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_see_whole_tables_while_a_rebuild_runs_on_sqlite() {
    readers_during_rebuilds(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_see_whole_tables_while_a_rebuild_runs_on_postgres() {
    if let Some(db) = TestDb::postgres().await {
        readers_during_rebuilds(db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awkward_values_project_as_a_rebuild_stores_them_on_sqlite() {
    awkward_values(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awkward_values_project_as_a_rebuild_stores_them_on_postgres() {
    if let Some(db) = TestDb::postgres().await {
        awkward_values(db).await;
    }
}
