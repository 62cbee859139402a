//! Runs the handlers on stored events, off the request path.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::FutureExt;
use kaizala_core::webhook::{HandlerRetry, NextStep};
use kaizala_types::event::Event;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::handler::Handlers;
use crate::metrics::{Counter, Metrics};
use crate::store::{EventQueue, PendingEvent, StoreError};

/// How often the processor looks at the store when nothing wakes it (a
/// safety net; new events and retry times wake it directly).
const IDLE_POLL: Duration = Duration::from_secs(1);

pub(crate) struct Processor<Q> {
    pub(crate) queue: Q,
    pub(crate) handlers: Handlers,
    pub(crate) retry: HandlerRetry,
    pub(crate) concurrency: usize,
    pub(crate) grace: Duration,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) wake: Arc<Notify>,
}

impl<Q: EventQueue> Processor<Q> {
    /// Works until `stop` turns true (or its sender is dropped), then waits
    /// up to the grace period for the handlers running.
    ///
    /// Events flow through continuously: as soon as one handler finishes,
    /// the next due event starts, so one slow handler takes one slot, not
    /// the whole queue.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        let this = Arc::new(self);
        let mut running = JoinSet::new();
        loop {
            if *stop.borrow() {
                break;
            }
            let free = this.concurrency.saturating_sub(running.len());
            if free > 0 {
                match this.queue.due(SystemTime::now(), free).await {
                    Ok(batch) => {
                        for pending in batch {
                            let this = Arc::clone(&this);
                            running.spawn(async move { this.handle(pending).await });
                        }
                    }
                    Err(err) => tracing::error!(error = %err, "event handlers: store unavailable"),
                }
            }
            let idle = if running.len() >= this.concurrency {
                IDLE_POLL
            } else {
                match this.queue.next_retry().await {
                    Ok(Some(at)) => at
                        .duration_since(SystemTime::now())
                        .unwrap_or_default()
                        .min(IDLE_POLL),
                    _ => IDLE_POLL,
                }
            };
            tokio::select! {
                Some(finished) = running.join_next(), if !running.is_empty() => {
                    report(finished);
                }
                _ = this.wake.notified() => {}
                _ = tokio::time::sleep(idle) => {}
                // A dropped `Receiver`/`HandlerTask` closes the channel
                // without setting it: stop too, rather than spin on a
                // `changed()` that is ready for ever.
                changed = stop.changed() => if changed.is_err() {
                    break;
                }
            }
        }
        let drained = tokio::time::timeout(this.grace, async {
            while let Some(finished) = running.join_next().await {
                report(finished);
            }
        })
        .await;
        if drained.is_err() {
            // The events stay claimed in the store and fall due again when
            // their lease ends.
            tracing::warn!(
                handlers = running.len(),
                grace = ?this.grace,
                "event handlers still running after the grace period; abandoned"
            );
            running.abort_all();
        }
    }

    async fn handle(&self, pending: PendingEvent) -> Result<(), StoreError> {
        let attempts = pending.attempts + 1;
        let event = match Event::from_slice(&pending.body) {
            Ok(event) => Arc::new(event),
            Err(err) => {
                // The receiver checked only the head before the ack: a
                // payload that does not fit its type's model shows here.
                // Decoding is deterministic, so no retry mends it: dead-letter
                // it at once (kept, listed, replayable).
                let error = format!("the stored body is not a typed event: {err}");
                return self.give_up(&pending.event_id, "", attempts, &error).await;
            }
        };
        let Some(handler) = self.handlers.for_type(event.event_type()) else {
            return self.queue.handled(&pending.event_id).await;
        };
        let outcome = AssertUnwindSafe(handler.handle(Arc::clone(&event)))
            .catch_unwind()
            .await;
        let error = match outcome {
            Ok(Ok(())) => return self.queue.handled(&pending.event_id).await,
            Ok(Err(err)) => err.to_string(),
            Err(panic) => panic_message(panic.as_ref()),
        };
        self.metrics.count(Counter::HandlerFailed);
        tracing::warn!(
            event_id = %pending.event_id,
            event_type = %event.event_type(),
            attempts,
            error = %error,
            "event handler failed"
        );
        match self.retry.after_failure(attempts) {
            NextStep::RetryAfter(delay) => {
                self.queue
                    .retry_later(
                        &pending.event_id,
                        attempts,
                        SystemTime::now() + delay,
                        &error,
                    )
                    .await
            }
            NextStep::DeadLetter => {
                let event_type = event.event_type().to_string();
                self.give_up(&pending.event_id, &event_type, attempts, &error)
                    .await
            }
        }
    }

    async fn give_up(
        &self,
        event_id: &str,
        event_type: &str,
        attempts: u32,
        error: &str,
    ) -> Result<(), StoreError> {
        self.metrics.count(Counter::DeadLettered);
        tracing::error!(event_id, event_type, attempts, error, "event dead-lettered");
        self.queue
            .dead_letter(event_id, event_type, attempts, error, SystemTime::now())
            .await
    }
}

fn report(finished: Result<Result<(), StoreError>, tokio::task::JoinError>) {
    match finished {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            tracing::error!(error = %err, "event handlers: could not record a handler's outcome");
        }
        Err(err) if err.is_panic() => {
            tracing::error!("event handlers: bookkeeping panicked");
        }
        Err(_) => {}
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    format!("handler panicked: {message}")
}
