//! An in-memory [`EventStore`] and [`EventQueue`], for tests and examples.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;

use super::{
    DeadLetter, EventQueue, EventStore, IncomingEvent, PendingEvent, QuarantinedBody, StoreError,
    Stored,
};

/// How long an event handed out by `due` stays claimed.
const CLAIM_LEASE: Duration = Duration::from_secs(600);

/// Where an event stands with its handler.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Handling {
    /// In the due queue.
    Waiting,
    /// Handed out by `due`, not reported on yet.
    Claimed,
    Handled,
    Dead,
}

#[derive(Debug)]
struct Record {
    /// The key it is stored under, shared with the queue.
    id: Arc<str>,
    event: IncomingEvent,
    /// Its place in the arrival order (ties in the due queue go by it).
    arrival: usize,
    attempts: u32,
    due_at: SystemTime,
    handling: Handling,
}

#[derive(Debug, Default)]
struct Inner {
    records: HashMap<Arc<str>, Record>,
    /// Ids in the order they were stored.
    order: Vec<Arc<str>>,
    /// `(due at, arrival number, id)` of waiting events.
    queue: BTreeSet<(SystemTime, usize, Arc<str>)>,
    quarantine: Vec<QuarantinedBody>,
    dead: Vec<DeadLetter>,
}

/// Events kept in memory: lost when the process ends, so only for tests,
/// examples and receivers whose handler makes the event durable elsewhere.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::SystemTime;
/// use kaizala_webhook::store::{EventStore, IncomingEvent, MemoryEventStore, Stored};
///
/// let store = MemoryEventStore::new();
/// let body = r#"{"eventId": "e1", "eventType": "MemberAdded"}"#;
/// let event = IncomingEvent::new(body, SystemTime::now()).unwrap();
/// assert_eq!(store.store(&event).await.unwrap(), Stored::New);
/// assert_eq!(store.store(&event).await.unwrap(), Stored::Duplicate);
/// assert_eq!(store.len(), 1);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryEventStore {
    inner: Mutex<Inner>,
}

impl MemoryEventStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many distinct events are stored.
    pub fn len(&self) -> usize {
        self.lock().order.len()
    }

    /// Whether no event is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stored events, in the order they were first received.
    pub fn events(&self) -> Vec<IncomingEvent> {
        let inner = self.lock();
        inner
            .order
            .iter()
            .map(|id| inner.records[id].event.clone())
            .collect()
    }

    /// The stored event with this id.
    pub fn get(&self, event_id: &str) -> Option<IncomingEvent> {
        self.lock().records.get(event_id).map(|r| r.event.clone())
    }

    /// The quarantined bodies, in the order they were received.
    pub fn quarantined(&self) -> Vec<QuarantinedBody> {
        self.lock().quarantine.clone()
    }

    /// How many events their handler has finished with.
    pub fn handled_count(&self) -> usize {
        self.lock()
            .records
            .values()
            .filter(|r| r.handling == Handling::Handled)
            .count()
    }
}

impl Inner {
    /// (Re)schedules an event: it becomes due at `due_at`.
    fn enqueue(&mut self, event_id: &str, due_at: SystemTime, handling: Handling) {
        self.dequeue(event_id);
        if let Some(record) = self.records.get_mut(event_id) {
            record.due_at = due_at;
            record.handling = handling;
            self.queue
                .insert((due_at, record.arrival, Arc::clone(&record.id)));
        }
    }

    /// Takes an event off the schedule.
    fn dequeue(&mut self, event_id: &str) {
        if let Some(record) = self.records.get(event_id) {
            let key = (record.due_at, record.arrival, Arc::clone(&record.id));
            self.queue.remove(&key);
        }
    }

    fn record(&mut self, event_id: &str) -> Result<&mut Record, StoreError> {
        self.records
            .get_mut(event_id)
            .ok_or_else(|| StoreError::new(format!("no stored event {event_id:?}")))
    }
}

#[async_trait]
impl EventStore for MemoryEventStore {
    async fn store(&self, event: &IncomingEvent) -> Result<Stored, StoreError> {
        let mut inner = self.lock();
        let id = event.event_id();
        if inner.records.contains_key(id) {
            return Ok(Stored::Duplicate);
        }
        let arrival = inner.order.len();
        let id: Arc<str> = Arc::from(id);
        inner.order.push(Arc::clone(&id));
        inner
            .queue
            .insert((event.received_at, arrival, Arc::clone(&id)));
        inner.records.insert(
            Arc::clone(&id),
            Record {
                id,
                event: event.clone(),
                arrival,
                attempts: 0,
                due_at: event.received_at,
                handling: Handling::Waiting,
            },
        );
        Ok(Stored::New)
    }

    async fn quarantine(&self, body: &QuarantinedBody) -> Result<(), StoreError> {
        self.lock().quarantine.push(body.clone());
        Ok(())
    }
}

#[async_trait]
impl EventQueue for MemoryEventStore {
    async fn due(&self, now: SystemTime, limit: usize) -> Result<Vec<PendingEvent>, StoreError> {
        let mut inner = self.lock();
        let due: Vec<Arc<str>> = inner
            .queue
            .iter()
            .take_while(|(at, _, _)| *at <= now)
            .take(limit)
            .map(|(_, _, id)| id.clone())
            .collect();
        let mut pending = Vec::with_capacity(due.len());
        for id in due {
            inner.enqueue(&id, now + CLAIM_LEASE, Handling::Claimed);
            let record = inner.record(&id)?;
            pending.push(PendingEvent {
                event_id: id.to_string(),
                body: Bytes::clone(&record.event.body),
                attempts: record.attempts,
            });
        }
        Ok(pending)
    }

    async fn next_retry(&self) -> Result<Option<SystemTime>, StoreError> {
        Ok(self.lock().queue.first().map(|(at, _, _)| *at))
    }

    async fn handled(&self, event_id: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.dequeue(event_id);
        inner.record(event_id)?.handling = Handling::Handled;
        Ok(())
    }

    async fn retry_later(
        &self,
        event_id: &str,
        attempts: u32,
        retry_at: SystemTime,
        _error: &str,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.record(event_id)?.attempts = attempts;
        inner.enqueue(event_id, retry_at, Handling::Waiting);
        Ok(())
    }

    async fn dead_letter(
        &self,
        event_id: &str,
        event_type: &str,
        attempts: u32,
        error: &str,
        at: SystemTime,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.dequeue(event_id);
        let record = inner.record(event_id)?;
        record.attempts = attempts;
        record.handling = Handling::Dead;
        inner.dead.push(DeadLetter {
            event_id: event_id.to_owned(),
            event_type: event_type.to_owned(),
            attempts,
            error: error.to_owned(),
            at,
        });
        Ok(())
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        Ok(self.lock().dead.clone())
    }

    async fn replay(&self, event_id: &str) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let Some(position) = inner.dead.iter().position(|d| d.event_id == event_id) else {
            return Ok(false);
        };
        inner.dead.remove(position);
        inner.record(event_id)?.attempts = 0;
        inner.enqueue(event_id, SystemTime::UNIX_EPOCH, Handling::Waiting);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(id: &str, at: SystemTime) -> IncomingEvent {
        let body = format!(r#"{{"eventId": "{id}", "eventType": "MemberAdded"}}"#);
        IncomingEvent::new(body, at).unwrap()
    }

    fn ids(pending: &[PendingEvent]) -> Vec<&str> {
        pending.iter().map(|p| p.event_id.as_str()).collect()
    }

    #[tokio::test]
    async fn claimed_events_come_back_only_after_their_lease() {
        let store = MemoryEventStore::new();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for (n, id) in ["a", "b", "c"].into_iter().enumerate() {
            store
                .store(&incoming(id, t0 + Duration::from_secs(n as u64)))
                .await
                .unwrap();
        }
        let now = t0 + Duration::from_secs(10);
        assert_eq!(ids(&store.due(now, 2).await.unwrap()), ["a", "b"]);
        assert_eq!(ids(&store.due(now, 5).await.unwrap()), ["c"]);
        assert!(store.due(now, 5).await.unwrap().is_empty(), "all claimed");

        store.handled("a").await.unwrap();
        store
            .retry_later("b", 1, now + Duration::from_secs(5), "boom")
            .await
            .unwrap();
        assert!(store.due(now, 5).await.unwrap().is_empty());
        let later = now + Duration::from_secs(5);
        let again = store.due(later, 5).await.unwrap();
        assert_eq!(ids(&again), ["b"]);
        assert_eq!(again[0].attempts, 1);

        // "c" was never reported on: its lease runs out.
        let after_lease = now + CLAIM_LEASE + Duration::from_secs(1);
        assert_eq!(ids(&store.due(after_lease, 5).await.unwrap()), ["c"]);
        assert_eq!(store.handled_count(), 1);
    }

    #[tokio::test]
    async fn dead_letters_are_listed_and_replayed() {
        let store = MemoryEventStore::new();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        store.store(&incoming("x", t0)).await.unwrap();
        assert_eq!(ids(&store.due(t0, 1).await.unwrap()), ["x"]);
        store
            .dead_letter("x", "MemberAdded", 8, "boom", t0)
            .await
            .unwrap();
        let dead = store.dead_letters().await.unwrap();
        assert_eq!(
            (dead.len(), dead[0].attempts, dead[0].error.as_str()),
            (1, 8, "boom")
        );
        assert!(
            store.due(t0 + CLAIM_LEASE * 2, 5).await.unwrap().is_empty(),
            "dead stays dead"
        );
        assert!(store.replay("x").await.unwrap());
        assert!(!store.replay("x").await.unwrap());
        let replayed = store.due(t0, 5).await.unwrap();
        assert_eq!((ids(&replayed), replayed[0].attempts), (vec!["x"], 0));
    }
}
