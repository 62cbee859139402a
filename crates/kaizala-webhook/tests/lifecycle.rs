//! Starting and stopping: a graceful shutdown stops accepting at once,
//! answers the requests in flight (their events stored), closes idle
//! connections, gives up after its grace period, lets the handlers finish
//! the events in hand, and leaves unhandled events in the store for the
//! next receiver.

mod support;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kaizala_types::event::Event;
use kaizala_webhook::store::{IncomingEvent, QuarantinedBody, StoreError, Stored};
use kaizala_webhook::{EventStore, Handlers, MemoryEventStore, Server};
use support::{
    Conn, PATIENCE, TOKEN, config, eventually, get, post, post_event, roundtrip, start,
    start_with_handlers, start_with_store, text_event, within,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// A store whose writes wait until the test releases them.
#[derive(Debug, Default)]
struct GatedStore {
    inner: MemoryEventStore,
    /// Notified when a write starts waiting.
    entered: Notify,
    /// Lets one waiting write go on.
    release: Notify,
}

#[async_trait]
impl EventStore for GatedStore {
    async fn store(&self, event: &IncomingEvent) -> Result<Stored, StoreError> {
        self.entered.notify_one();
        self.release.notified().await;
        self.inner.store(event).await
    }

    async fn quarantine(&self, body: &QuarantinedBody) -> Result<(), StoreError> {
        self.inner.quarantine(body).await
    }
}

/// Waits until connecting to `addr` is refused: the listener is closed.
async fn until_refused(addr: SocketAddr) {
    within("the listener closes", async {
        loop {
            match TcpStream::connect(addr).await {
                Err(err) if err.kind() == ErrorKind::ConnectionRefused => return,
                // Still listening, or caught in the backlog as the
                // listener closed: try again.
                Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                Err(err) if err.kind() == ErrorKind::ConnectionReset => {}
                Err(err) => panic!("connecting: {err}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn shutdown_drains_a_request_in_flight() {
    let store = Arc::new(GatedStore::default());
    let receiver = start_with_store(config(), Arc::clone(&store)).await;
    let addr = receiver.local_addr();
    let body = text_event("e-in-flight", "finishing");

    let mut conn = Conn::open(addr).await;
    conn.send(&post(Some(TOKEN), &body)).await;
    let in_flight = tokio::spawn(async move { conn.response().await });
    within("the store write starts", store.entered.notified()).await;

    let shutdown = tokio::spawn(receiver.shutdown());
    // No new connections...
    until_refused(addr).await;
    // ...but the request in flight is still being answered.
    assert!(!in_flight.is_finished());
    assert!(!shutdown.is_finished(), "shutdown did not wait for it");
    assert!(store.inner.is_empty());

    store.release.notify_one();
    let reply = within("the in-flight answer", in_flight).await.unwrap();
    reply.assert_ack();
    // The connection is not kept alive past the shutdown.
    assert_eq!(reply.header("connection"), Some("close"));
    within("shutdown", shutdown).await.unwrap();

    let stored = store.inner.get("e-in-flight").expect("the event is stored");
    assert_eq!(stored.body, body);
    let err = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn shutdown_closes_idle_keep_alive_connections() {
    let receiver = start(config()).await;
    let addr = receiver.local_addr();
    // A connection kept alive after its request, idle.
    let mut conn = Conn::open(addr).await;
    conn.send(&get("/?validationToken=idle")).await;
    let reply = conn.response().await;
    reply.assert_text(200, "idle");
    assert_eq!(reply.header("connection"), None, "kept alive");

    // The grace period is 30 s: waiting for the idle connection would
    // show as a hang.
    within("shutdown", receiver.shutdown()).await;
    assert_eq!(within("close", conn.until_closed()).await.unwrap(), b"");
    let err = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn shutdown_gives_up_on_a_stuck_request_after_the_grace_period() {
    let grace = Duration::from_millis(200);
    let store = Arc::new(GatedStore::default());
    let receiver = start_with_store(config().shutdown_grace(grace), Arc::clone(&store)).await;
    let mut conn = Conn::open(receiver.local_addr()).await;
    conn.send(&post(Some(TOKEN), &text_event("e-stuck", "never stored")))
        .await;
    within("the store write starts", store.entered.notified()).await;

    let started = Instant::now();
    within("shutdown", receiver.shutdown()).await;
    let waited = started.elapsed();
    assert!(waited >= grace, "gave up after {waited:?}");
    assert!(waited < PATIENCE);
    // Never acknowledged.
    assert!(store.inner.is_empty());
}

#[tokio::test]
async fn shutdown_lets_the_handlers_finish_the_events_in_hand() {
    let release = Arc::new(Notify::new());
    let started = Arc::new(AtomicUsize::new(0));
    let handlers = Handlers::new().on_any({
        let release = Arc::clone(&release);
        let started = Arc::clone(&started);
        move |_event: Arc<Event>| {
            let release = Arc::clone(&release);
            started.fetch_add(1, Ordering::SeqCst);
            async move {
                release.notified().await;
                Ok(())
            }
        }
    });
    let receiver = start_with_handlers(config(), handlers).await;
    let addr = receiver.local_addr();
    let store = Arc::clone(receiver.store());
    post_event(addr, &text_event("e-in-hand", "x"))
        .await
        .assert_ack();
    eventually("the handler starts", || started.load(Ordering::SeqCst) == 1).await;

    let shutdown = tokio::spawn(receiver.shutdown());
    until_refused(addr).await;
    assert!(
        !shutdown.is_finished(),
        "shutdown did not wait for the handler"
    );
    assert_eq!(store.handled_count(), 0);

    release.notify_one();
    within("shutdown", shutdown).await.unwrap();
    assert_eq!(store.handled_count(), 1);
    assert_eq!(started.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn unhandled_events_wait_in_the_store_for_the_next_receiver() {
    let store = Arc::new(MemoryEventStore::new());

    // A receiver without handlers stores and acknowledges.
    let first = start_with_store(config(), Arc::clone(&store)).await;
    post_event(first.local_addr(), &text_event("e-1", "kept"))
        .await
        .assert_ack();
    post_event(first.local_addr(), &text_event("e-2", "kept"))
        .await
        .assert_ack();
    first.shutdown().await;
    assert_eq!(store.len(), 2);
    assert_eq!(store.handled_count(), 0);

    // The next one, with handlers, on the same store, handles them; and a
    // redelivery of one is still a duplicate.
    let handled = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let handlers = Handlers::new().on_any({
        let handled = Arc::clone(&handled);
        move |event: Arc<Event>| {
            handled.lock().unwrap().push(event.event_id().to_owned());
            async { Ok(()) }
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let second = Server::with_shared_store(config(), Arc::clone(&store))
        .handlers(handlers)
        .serve(listener);
    eventually("the stored events are handled", || {
        store.handled_count() == 2
    })
    .await;
    assert_eq!(*handled.lock().unwrap(), ["e-1", "e-2"]);
    post_event(second.local_addr(), &text_event("e-1", "again"))
        .await
        .assert_ack();
    assert_eq!(second.metrics().snapshot().duplicate, 1);
    assert_eq!(store.len(), 2);
    roundtrip(second.local_addr(), &get("/?validationToken=up"))
        .await
        .assert_text(200, "up");
    second.shutdown().await;
}

#[tokio::test]
async fn dropping_the_receiver_stops_it_too() {
    let store = Arc::new(MemoryEventStore::new());
    let handlers = Handlers::new().on_any(|_event: Arc<Event>| async { Ok(()) });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = Server::with_shared_store(config(), Arc::clone(&store))
        .handlers(handlers)
        .serve(listener);
    let addr = receiver.local_addr();
    post_event(addr, &text_event("e-1", "x")).await.assert_ack();
    eventually("handled", || store.handled_count() == 1).await;

    drop(receiver);
    until_refused(addr).await;
    // The accept loop and the handlers' processor end, and with them
    // their hold on the store (a processor that outlived its receiver
    // would keep polling the store for ever).
    eventually("the receiver's tasks end", || {
        Arc::strong_count(&store) == 1
    })
    .await;
}
