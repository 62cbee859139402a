//! Handlers run from the store after the acknowledgement: they never hold
//! up the 200, failures are retried on the configured backoff and then
//! dead-lettered, dead letters replay, panics are failures, and each event
//! goes to exactly one handler (typed, by type, fallback, or none).

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kaizala_types::event::{ActionEventData, Event, EventType, MemberEventData, TextMessageData};
use kaizala_webhook::{EventQueue, HandlerRetry, Handlers, ReceiverConfig, Typed};
use serde_json::json;
use support::{config, event, eventually, post_event, start_with_handlers, text_event, within};
use tokio::sync::Notify;

/// Tiny backoff: 10 ms, then 20 ms, three runs in all.
fn quick_retry() -> ReceiverConfig {
    config().handler_retry(HandlerRetry {
        base: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
        max_attempts: 3,
    })
}

/// Event ids (with a tag) that handlers saw, in order.
#[derive(Debug, Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(&self, entry: String) {
        self.0.lock().unwrap().push(entry);
    }

    fn sorted(&self) -> Vec<String> {
        let mut seen = self.0.lock().unwrap().clone();
        seen.sort();
        seen
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// A handler recording `tag:eventId`.
fn recorder(
    seen: &Seen,
    tag: &'static str,
) -> impl Fn(Arc<Event>) -> std::future::Ready<Result<(), kaizala_webhook::HandlerError>>
+ Send
+ Sync
+ 'static {
    let seen = seen.clone();
    move |event: Arc<Event>| {
        seen.push(format!("{tag}:{}", event.event_id()));
        std::future::ready(Ok(()))
    }
}

#[tokio::test]
async fn a_blocked_handler_does_not_delay_the_ack() {
    let release = Arc::new(Notify::new());
    let started = Arc::new(AtomicUsize::new(0));
    let handlers = Handlers::new().on_any({
        let release = Arc::clone(&release);
        let started = Arc::clone(&started);
        move |event: Arc<Event>| {
            let release = Arc::clone(&release);
            let started = Arc::clone(&started);
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                if event.event_id() == "e-block" {
                    release.notified().await;
                }
                Ok(())
            }
        }
    });
    let receiver = start_with_handlers(config(), handlers).await;
    let addr = receiver.local_addr();

    // Acknowledged although its handler cannot finish until released
    // (`post_event` fails the test if the answer takes 10 s).
    post_event(addr, &text_event("e-block", "x"))
        .await
        .assert_ack();
    eventually("the handler starts", || started.load(Ordering::SeqCst) == 1).await;
    assert_eq!(receiver.store().handled_count(), 0);
    // And later events are acknowledged as promptly while it is stuck.
    post_event(addr, &text_event("e-next", "y"))
        .await
        .assert_ack();
    assert_eq!(receiver.metrics().snapshot().acks(), 2);
    assert_eq!(receiver.store().len(), 2);

    release.notify_one();
    eventually("both are handled", || receiver.store().handled_count() == 2).await;
    assert_eq!(started.load(Ordering::SeqCst), 2);
    assert_eq!(receiver.metrics().snapshot().handler_failed, 0);
    receiver.shutdown().await;
}

#[tokio::test]
async fn a_failing_handler_is_retried_then_dead_lettered_and_replays() {
    let runs = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let failing = Arc::new(AtomicBool::new(true));
    let handlers = Handlers::new().on(EventType::TextMessageCreated, {
        let runs = Arc::clone(&runs);
        let failing = Arc::clone(&failing);
        move |_event: Arc<Event>| {
            runs.lock().unwrap().push(Instant::now());
            let failing = failing.load(Ordering::SeqCst);
            async move {
                if failing {
                    Err("downstream unavailable".into())
                } else {
                    Ok(())
                }
            }
        }
    });
    let receiver = start_with_handlers(quick_retry(), handlers).await;
    post_event(receiver.local_addr(), &text_event("e-fail", "x"))
        .await
        .assert_ack();

    eventually("dead-lettered", || {
        receiver.metrics().snapshot().dead_lettered == 1
    })
    .await;
    let dead = receiver.store().dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event_id, "e-fail");
    assert_eq!(dead[0].event_type, "TextMessageCreated");
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(dead[0].error, "downstream unavailable");
    let metrics = receiver.metrics().snapshot();
    assert_eq!((metrics.handler_failed, metrics.dead_lettered), (3, 1));
    assert_eq!(receiver.store().handled_count(), 0);
    {
        // Three runs, the retries no sooner than the backoff says.
        let runs = runs.lock().unwrap();
        assert_eq!(runs.len(), 3);
        let first_wait = runs[1] - runs[0];
        let second_wait = runs[2] - runs[1];
        assert!(first_wait >= Duration::from_millis(10), "{first_wait:?}");
        assert!(second_wait >= Duration::from_millis(20), "{second_wait:?}");
    }

    // Fixed downstream; replay.
    failing.store(false, Ordering::SeqCst);
    assert!(receiver.store().replay("e-fail").await.unwrap());
    assert!(receiver.store().dead_letters().await.unwrap().is_empty());
    eventually("handled after the replay", || {
        receiver.store().handled_count() == 1
    })
    .await;
    assert_eq!(runs.lock().unwrap().len(), 4);
    let metrics = receiver.metrics().snapshot();
    assert_eq!((metrics.handler_failed, metrics.dead_lettered), (3, 1));
    // Nothing left to replay.
    assert!(!receiver.store().replay("e-fail").await.unwrap());
    assert!(!receiver.store().replay("e-never-seen").await.unwrap());
    receiver.shutdown().await;
}

#[tokio::test]
async fn a_panicking_handler_is_a_failing_handler() {
    let seen = Seen::default();
    let handlers = Handlers::new()
        .on(EventType::MemberAdded, |_event: Arc<Event>| async move {
            if true {
                panic!("boom");
            }
            Ok(())
        })
        .on_any(recorder(&seen, "any"));
    let receiver = start_with_handlers(quick_retry(), handlers).await;
    let addr = receiver.local_addr();
    post_event(addr, &event("e-panic", "MemberAdded", json!({})))
        .await
        .assert_ack();

    eventually("dead-lettered", || {
        receiver.metrics().snapshot().dead_lettered == 1
    })
    .await;
    let dead = receiver.store().dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event_id, "e-panic");
    assert_eq!(dead[0].event_type, "MemberAdded");
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(dead[0].error, "handler panicked: boom");
    assert_eq!(receiver.metrics().snapshot().handler_failed, 3);

    // The processor survived: other events are still handled.
    post_event(addr, &text_event("e-after", "x"))
        .await
        .assert_ack();
    eventually("the next event is handled", || seen.len() == 1).await;
    assert_eq!(seen.sorted(), ["any:e-after"]);
    assert_eq!(receiver.store().handled_count(), 1);
    receiver.shutdown().await;
}

#[tokio::test]
async fn typed_handlers_get_their_payload() {
    let seen = Seen::default();
    let handlers = Handlers::new()
        .on_payload({
            let seen = seen.clone();
            move |message: Typed<TextMessageData>| {
                seen.push(format!(
                    "text:{}:{:?}",
                    message.event().event_id(),
                    message.data().text
                ));
                async { Ok(()) }
            }
        })
        .on_payload({
            let seen = seen.clone();
            move |member: Typed<MemberEventData>| {
                seen.push(format!(
                    "member:{}:{}:{:?}",
                    member.event().event_id(),
                    member.event().event_type(),
                    member.data().member_name
                ));
                async { Ok(()) }
            }
        })
        .on_payload({
            let seen = seen.clone();
            move |action: Typed<ActionEventData>| {
                seen.push(format!(
                    "action:{}:{}:{:?}",
                    action.event().event_id(),
                    action.event().event_type(),
                    action.data().title
                ));
                async { Ok(()) }
            }
        });
    let receiver = start_with_handlers(config(), handlers).await;
    let addr = receiver.local_addr();
    for body in [
        text_event("e-text", "hello"),
        event("e-added", "MemberAdded", json!({"memberName": "Ada"})),
        event("e-removed", "MemberRemoved", json!({"memberName": "Bob"})),
        event("e-poll", "PollCreated", json!({"title": "Lunch?"})),
        // The type carries a text payload, but there is none: nothing for
        // the typed handler to do.
        br#"{"eventId": "e-no-data", "eventType": "TextMessageCreated"}"#.to_vec(),
    ] {
        post_event(addr, &body).await.assert_ack();
    }
    eventually("all are handled", || receiver.store().handled_count() == 5).await;
    assert_eq!(
        seen.sorted(),
        [
            "action:e-poll:PollCreated:Some(\"Lunch?\")",
            "member:e-added:MemberAdded:Some(\"Ada\")",
            "member:e-removed:MemberRemoved:Some(\"Bob\")",
            "text:e-text:Some(\"hello\")",
        ]
    );
    assert_eq!(receiver.metrics().snapshot().handler_failed, 0);
    receiver.shutdown().await;
}

#[tokio::test]
async fn a_handler_for_the_type_beats_the_fallback() {
    let seen = Seen::default();
    // The fallback registered first: order of registration does not matter.
    let handlers = Handlers::new()
        .on_any(recorder(&seen, "any"))
        .on(EventType::MemberAdded, recorder(&seen, "on"))
        .on_payload({
            let seen = seen.clone();
            move |message: Typed<TextMessageData>| {
                seen.push(format!("typed:{}", message.event().event_id()));
                async { Ok(()) }
            }
        });
    let receiver = start_with_handlers(config(), handlers).await;
    let addr = receiver.local_addr();
    for body in [
        event("e-member", "MemberAdded", json!({})),
        text_event("e-text", "x"),
        event("e-removed", "MemberRemoved", json!({})),
        event("e-sticker", "StickerSent", json!({"id": 1})),
    ] {
        post_event(addr, &body).await.assert_ack();
    }
    eventually("all are handled", || receiver.store().handled_count() == 4).await;
    // Exactly one handler per event.
    assert_eq!(
        seen.sorted(),
        [
            "any:e-removed",
            "any:e-sticker",
            "on:e-member",
            "typed:e-text"
        ]
    );
    receiver.shutdown().await;
}

#[tokio::test]
async fn events_without_a_handler_are_marked_handled() {
    let seen = Seen::default();
    let handlers = Handlers::new().on(EventType::MemberAdded, recorder(&seen, "on"));
    let receiver = start_with_handlers(quick_retry(), handlers).await;
    let addr = receiver.local_addr();
    post_event(addr, &text_event("e-text", "x"))
        .await
        .assert_ack();
    post_event(addr, &event("e-sticker", "StickerSent", json!({})))
        .await
        .assert_ack();
    eventually("both are handled", || receiver.store().handled_count() == 2).await;
    assert_eq!(seen.len(), 0);
    assert!(receiver.store().dead_letters().await.unwrap().is_empty());
    let metrics = receiver.metrics().snapshot();
    assert_eq!((metrics.handler_failed, metrics.dead_lettered), (0, 0));

    post_event(addr, &event("e-member", "MemberAdded", json!({})))
        .await
        .assert_ack();
    eventually("the member event is handled", || {
        receiver.store().handled_count() == 3
    })
    .await;
    assert_eq!(seen.sorted(), ["on:e-member"]);
    receiver.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_runs_its_handler_once() {
    let seen = Seen::default();
    let handlers = Handlers::new().on_any(recorder(&seen, "any"));
    let receiver = start_with_handlers(config(), handlers).await;
    let addr = receiver.local_addr();
    for _ in 0..3 {
        post_event(addr, &text_event("e-once", "x"))
            .await
            .assert_ack();
    }
    // A marker event after the duplicates: once it is handled, so is
    // everything before it.
    post_event(addr, &text_event("e-marker", "x"))
        .await
        .assert_ack();
    eventually("the marker is handled", || {
        receiver.store().handled_count() == 2
    })
    .await;
    within("shutdown", receiver.shutdown()).await;
    assert_eq!(seen.sorted(), ["any:e-marker", "any:e-once"]);
}

#[tokio::test]
async fn a_stuck_handler_holds_one_slot_not_the_queue() {
    let release = Arc::new(Notify::new());
    let handlers = Handlers::new().on_any({
        let release = Arc::clone(&release);
        move |event: Arc<Event>| {
            let release = Arc::clone(&release);
            async move {
                if event.event_id() == "e-stuck" {
                    release.notified().await;
                }
                Ok(())
            }
        }
    });
    let receiver = start_with_handlers(config().handler_concurrency(2), handlers).await;
    let addr = receiver.local_addr();
    post_event(addr, &text_event("e-stuck", "x"))
        .await
        .assert_ack();
    for n in 0..5 {
        post_event(addr, &text_event(&format!("e-{n}"), "y"))
            .await
            .assert_ack();
    }
    // With two slots and one stuck, the other five go through the other.
    eventually("the others are handled", || {
        receiver.store().handled_count() == 5
    })
    .await;
    release.notify_one();
    eventually("all are handled", || receiver.store().handled_count() == 6).await;
    receiver.shutdown().await;
}

#[tokio::test]
async fn dead_letters_list_and_replay_through_the_service() {
    let failing = Arc::new(AtomicBool::new(true));
    let handlers = Handlers::new().on_any({
        let failing = Arc::clone(&failing);
        move |_event: Arc<Event>| {
            let failing = failing.load(Ordering::SeqCst);
            async move {
                if failing {
                    Err("not yet".into())
                } else {
                    Ok(())
                }
            }
        }
    });
    let config = quick_retry().handler_retry(HandlerRetry {
        max_attempts: 1,
        ..HandlerRetry::default()
    });
    let receiver = start_with_handlers(config, handlers).await;
    post_event(receiver.local_addr(), &text_event("e-1", "x"))
        .await
        .assert_ack();
    eventually("dead-lettered", || {
        receiver.metrics().snapshot().dead_lettered == 1
    })
    .await;
    assert_eq!(receiver.service().dead_letters().await.unwrap().len(), 1);
    failing.store(false, Ordering::SeqCst);
    assert!(receiver.service().replay("e-1").await.unwrap());
    eventually("handled", || receiver.store().handled_count() == 1).await;
    assert!(receiver.service().dead_letters().await.unwrap().is_empty());
    assert!(!receiver.service().replay("e-1").await.unwrap());
    receiver.shutdown().await;
}

/// Only the head is read before the ack: an event whose payload does not
/// fit its type's model is stored and acknowledged, and the processor,
/// which cannot give its handler a typed event, dead-letters it at once
/// (no retry can change a decode) with the JSON path at fault.
#[tokio::test]
async fn an_event_whose_payload_does_not_decode_is_dead_lettered_at_once() {
    let seen = Seen::default();
    let handlers = Handlers::new().on_any(recorder(&seen, "any"));
    let receiver = start_with_handlers(quick_retry(), handlers).await;
    let addr = receiver.local_addr();
    post_event(
        addr,
        &event("e-misfit", "TextMessageCreated", json!({"text": 5})),
    )
    .await
    .assert_ack();
    post_event(addr, &text_event("e-fine", "x"))
        .await
        .assert_ack();
    eventually("the misfit is dead-lettered", || {
        receiver.metrics().snapshot().dead_lettered == 1
    })
    .await;
    let dead = receiver.store().dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].event_id.as_str(), dead[0].attempts),
        ("e-misfit", 1)
    );
    assert!(dead[0].error.contains("data.text"), "{}", dead[0].error);
    eventually("the other event is handled", || seen.len() == 1).await;
    assert_eq!(seen.sorted(), ["any:e-fine"]);
    assert_eq!(receiver.metrics().snapshot().handler_failed, 0);
    receiver.shutdown().await;
}
