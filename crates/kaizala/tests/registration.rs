//! `kaizala::registration` against the emulator: a running receiver is
//! subscribed (the platform's validation request reaches it), updated,
//! deleted; a webhook the platform disabled after two days of failed
//! deliveries is re-activated; failures come back as typed errors.

#![cfg(all(feature = "client", feature = "webhook"))]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use kaizala::core::ErrorKind;
use kaizala::registration::{Subscription, WebhookChanges, WebhookRegistration};
use kaizala::types::event::{EventType, ObjectType};
use kaizala::webhook::store::{IncomingEvent, QuarantinedBody, StoreError, Stored};
use kaizala::webhook::{EventStore, MemoryEventStore, Receiver, ReceiverConfig, Server};
use kaizala::{Client, webhook};
use kaizala_emulator::model::DeliveryOutcome;
use kaizala_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use tokio::net::TcpListener;
use tokio::time::Instant;

const TOKEN: &str = "s3cret-callback";
const PATH: &str = "/kaizala/events";

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

fn config() -> ReceiverConfig {
    ReceiverConfig::new()
        .callback_token(TOKEN)
        .unwrap()
        .path(PATH)
}

async fn receiver<S: EventStore>(store: S) -> Receiver<S> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    webhook::serve(listener, config(), store)
}

/// Waits (up to 10 s) until `check` gives something.
async fn until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_running_receiver_is_registered_updated_and_deleted() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let group = emulator.credentials().unwrap().group_id;
    let client = client(&emulator);
    let receiver = receiver(MemoryEventStore::new()).await;

    // The platform validates the URL before subscribing it: the receiver
    // echoed the token, or there would be no webhook.
    let mut registration = WebhookRegistration::register(
        &client,
        &receiver,
        Subscription::group(group.as_str())
            .events([EventType::TextMessageCreated])
            .callback_token(TOKEN)
            .context("facade"),
    )
    .await
    .unwrap();
    assert_eq!(registration.callback_url(), receiver.url());
    assert!(registration.callback_url().ends_with(PATH));
    assert_eq!(
        registration.subscription().event_types,
        [EventType::TextMessageCreated]
    );

    let listed = client
        .webhooks()
        .list(ObjectType::Group, group.as_str())
        .await
        .unwrap();
    let webhook = listed
        .iter()
        .find(|w| &w.id == registration.id())
        .expect("the client lists the new webhook");
    assert_eq!(
        webhook.callback_url.as_deref(),
        Some(receiver.url().as_str())
    );
    assert_eq!(
        webhook.events.as_deref(),
        Some(&[EventType::TextMessageCreated][..])
    );
    assert_eq!(webhook.active.map(|a| a.get()), Some(true));
    assert_eq!(
        webhook.callback_token.as_ref().map(|t| t.expose()),
        Some(TOKEN)
    );
    assert!(registration.is_active().await.unwrap());

    // Found again by its URL, as a service restarting would.
    let found = WebhookRegistration::find(
        &client,
        ObjectType::Group,
        group.as_str(),
        registration.callback_url(),
    )
    .await
    .unwrap()
    .expect("found by URL");
    assert_eq!(found.id(), registration.id());
    assert_eq!(found.subscription().context.as_deref(), Some("facade"));
    assert_eq!(
        found.subscription().event_types,
        registration.subscription().event_types
    );
    assert_eq!(
        found
            .subscription()
            .callback_token
            .as_ref()
            .map(|t| t.expose()),
        Some(TOKEN)
    );

    // Events arrive, authenticated by the token.
    let team = client.group(group.as_str());
    team.messages().send("stock count done").await.unwrap();
    let event = until("the message", || receiver.store().events().pop())
        .await
        .decode()
        .unwrap();
    assert_eq!(event.event_type(), &EventType::TextMessageCreated);
    assert_eq!(event.context.as_deref(), Some("facade"));
    assert_eq!(
        event.text_message().and_then(|m| m.text.as_deref()),
        Some("stock count done")
    );
    assert_eq!(receiver.metrics().snapshot().auth_failed, 0);

    // Update: one more event type, a new context.
    registration
        .update(
            WebhookChanges::new()
                .events([EventType::TextMessageCreated, EventType::MemberAdded])
                .context("facade-2"),
        )
        .await
        .unwrap();
    assert_eq!(
        registration.subscription().event_types,
        [EventType::TextMessageCreated, EventType::MemberAdded]
    );
    assert_eq!(
        registration.subscription().context.as_deref(),
        Some("facade-2")
    );
    let now = registration.fetch().await.unwrap();
    assert_eq!(
        now.events.as_deref(),
        Some(&[EventType::TextMessageCreated, EventType::MemberAdded][..])
    );
    assert_eq!(now.callback_context.as_deref(), Some("facade-2"));

    let newcomer: kaizala::types::PhoneNumber = "+919652000099".parse().unwrap();
    team.members().add([newcomer.clone()]).await.unwrap();
    let joined = until("MemberAdded", || {
        receiver
            .store()
            .events()
            .into_iter()
            .find(|e| e.event_type() == &EventType::MemberAdded)
    })
    .await
    .decode()
    .unwrap();
    assert_eq!(joined.context.as_deref(), Some("facade-2"));
    assert_eq!(
        joined.member().and_then(|m| m.member.as_deref()),
        Some(newcomer.as_str())
    );

    // Delete: gone from the list, and nothing more is sent to it.
    let id = registration.id().clone();
    registration.delete().await.unwrap();
    let listed = client
        .webhooks()
        .list(ObjectType::Group, group.as_str())
        .await
        .unwrap();
    assert!(listed.iter().all(|w| w.id != id), "{listed:?}");
    assert!(
        WebhookRegistration::find(&client, ObjectType::Group, group.as_str(), &receiver.url())
            .await
            .unwrap()
            .is_none()
    );
    team.messages().send("anyone there?").await.unwrap();
    assert!(
        emulator.state(|s| s.deliveries.is_empty()),
        "no delivery queued for a deleted webhook"
    );

    receiver.shutdown().await;
    emulator.shutdown().await;
}

/// A store that refuses events while `failing`: the receiver answers 503.
#[derive(Debug, Default)]
struct FlakyStore {
    events: MemoryEventStore,
    failing: AtomicBool,
}

#[async_trait]
impl EventStore for FlakyStore {
    async fn store(&self, event: &IncomingEvent) -> Result<Stored, StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::new("the disk is full"));
        }
        self.events.store(event).await
    }

    async fn quarantine(&self, body: &QuarantinedBody) -> Result<(), StoreError> {
        self.events.quarantine(body).await
    }
}

#[tokio::test]
async fn a_webhook_the_platform_disabled_is_reactivated() {
    // The virtual clock stands still; the test moves it through the
    // two-day retry schedule.
    let emulator = Emulator::start(EmulatorConfig {
        time_scale: 0.0,
        ..Default::default()
    })
    .await
    .unwrap();
    let group = emulator.credentials().unwrap().group_id;
    let client = client(&emulator);
    let store = Arc::new(FlakyStore::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver =
        Server::with_shared_store(config(), Arc::clone(&store)).serve_without_handlers(listener);
    let registration = WebhookRegistration::register(
        &client,
        &receiver,
        Subscription::group(group.as_str())
            .events([EventType::TextMessageCreated])
            .callback_token(TOKEN),
    )
    .await
    .unwrap();

    // The store fails: every delivery is answered 503.
    store.failing.store(true, Ordering::SeqCst);
    let team = client.group(group.as_str());
    team.messages().send("are you there?").await.unwrap();
    // An attempt is logged, and its retry scheduled, once its answer is in:
    // only then may the clock move on.
    let webhook_id = registration.id().as_str().to_owned();
    let logged = || emulator.state(|s| s.delivery_log.get(&webhook_id).map_or(0, |log| log.len()));
    until("the first attempt", || (logged() == 1).then_some(())).await;
    for (retry, wait) in kaizala_emulator::delivery::RETRY_DELAYS_MS
        .iter()
        .enumerate()
    {
        emulator.advance(Duration::from_millis(*wait as u64));
        let expected = retry + 2;
        until(&format!("attempt {expected}"), || {
            (logged() == expected).then_some(())
        })
        .await;
    }
    assert_eq!(receiver.metrics().snapshot().received, 7);
    let deadline = Instant::now() + Duration::from_secs(10);
    while registration.is_active().await.unwrap() {
        assert!(Instant::now() < deadline, "never disabled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = emulator.state(|s| s.delivery_log[registration.id().as_str()].clone());
    assert_eq!(log.len(), 7, "the first attempt and six retries");
    assert!(
        log.iter().all(|a| matches!(
            a.outcome,
            DeliveryOutcome::Failed {
                status: Some(503),
                ..
            }
        )),
        "{log:?}"
    );
    assert!(store.events.is_empty());

    // Disabled: a new event is not even queued.
    store.failing.store(false, Ordering::SeqCst);
    team.messages().send("while disabled").await.unwrap();
    assert!(emulator.state(|s| s.deliveries.is_empty()));

    registration.reactivate().await.unwrap();
    assert!(registration.is_active().await.unwrap());
    team.messages().send("back again").await.unwrap();
    let event = until("the message after re-activation", || {
        store.events.events().pop()
    })
    .await
    .decode()
    .unwrap();
    assert_eq!(
        event.text_message().and_then(|m| m.text.as_deref()),
        Some("back again"),
        "events from while it was disabled are not delivered"
    );
    assert_eq!(store.events.len(), 1);

    registration.delete().await.unwrap();
    receiver.shutdown().await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn failures_are_typed_errors() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let group = emulator.credentials().unwrap().group_id;
    let client = client(&emulator);
    let subscription = || {
        Subscription::group(group.as_str())
            .events([EventType::SurveyResponse])
            .callback_token(TOKEN)
    };

    // No event types: refused before any call.
    let err = WebhookRegistration::register_url(
        &client,
        "http://127.0.0.1:9/",
        Subscription::group(group.as_str()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err}");

    // Nothing listens at the URL: the validation fails, 400.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/kaizala", closed.local_addr().unwrap());
    drop(closed);
    let err = WebhookRegistration::register_url(&client, url, subscription())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(err.to_string().contains("validation"), "{err}");

    // A receiver, but not at that path: it answers the validation 404.
    let receiver = receiver(MemoryEventStore::new()).await;
    let err = WebhookRegistration::register_url(
        &client,
        format!("{}/elsewhere", receiver.url()),
        subscription(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(err.to_string().contains("HTTP 404"), "{err}");

    // Deleted behind the handle's back: NotFound.
    let mut registration = WebhookRegistration::register(&client, &receiver, subscription())
        .await
        .unwrap();
    let other = WebhookRegistration::list(&client, ObjectType::Group, group.as_str())
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id() == registration.id())
        .unwrap();
    other.delete().await.unwrap();
    let not_found = |err: kaizala::core::Error| {
        assert!(matches!(err.kind(), ErrorKind::NotFound { .. }), "{err:?}");
    };
    not_found(registration.fetch().await.unwrap_err());
    not_found(registration.reactivate().await.unwrap_err());
    not_found(
        registration
            .update(WebhookChanges::new().context("late"))
            .await
            .unwrap_err(),
    );
    assert!(
        registration.subscription().context.is_none(),
        "a failed update changes nothing"
    );
    let err = registration
        .update(WebhookChanges::new().events([]))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err}");
    not_found(registration.delete().await.unwrap_err());

    receiver.shutdown().await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_token_the_receiver_refuses_is_not_registered() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let group = emulator.credentials().unwrap().group_id;
    let client = client(&emulator);
    let receiver = receiver(webhook::MemoryEventStore::new()).await;
    for subscription in [
        Subscription::group(group.as_str())
            .events([EventType::TextMessageCreated])
            .callback_token("not-the-receivers"),
        Subscription::group(group.as_str()).events([EventType::TextMessageCreated]),
    ] {
        let err = WebhookRegistration::register(&client, &receiver, subscription)
            .await
            .unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err}");
    }
    let listed = WebhookRegistration::list(&client, ObjectType::Group, group.as_str())
        .await
        .unwrap();
    assert!(listed.is_empty(), "nothing was registered");
    receiver.shutdown().await;
    emulator.shutdown().await;
}
