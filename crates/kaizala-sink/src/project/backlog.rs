//! Acknowledgements slow down when the projection falls behind.
//!
//! The event store appends and the projector derives on the same CPUs. An
//! append costs a fraction of what projecting the entry costs, so under a
//! load the machine cannot project, acknowledgements would run ahead
//! without bound and the tables would grow ever staler — the projection's
//! lag is what a dashboard user sees. So while this process's projector
//! is running, the event store lets the backlog (entries it appended minus
//! the projector's watermark) reach a few batches, and then waits for the
//! next batch to commit before it appends more: the platform's retries and
//! in-flight limits hold the rest, as a log-structured store stalls writes
//! while compaction catches up (RocksDB's write stalls). The most
//! acknowledgements per second are then the most the machine can also
//! project.
//!
//! It never blocks ingestion: an append waits for one batch at most
//! [`MAX_WAIT`], and a projector that committed nothing in that time (a
//! stopped database, a long rebuild) no longer holds appends back until it
//! commits again. Without a running projector in this process (`kaizala
//! ingest --no-project`, a standby replica) nothing waits.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// The longest an append waits for the projector's next batch.
pub(crate) const MAX_WAIT: Duration = Duration::from_millis(250);

/// The backlog between this process's appends and its projector.
#[derive(Debug, Default)]
pub(crate) struct Backlog {
    /// The last position this process appended.
    appended: AtomicI64,
    /// The watermark this process's projector last committed.
    projected: AtomicI64,
    /// Entries the backlog may hold before appends wait; 0 while no
    /// projector of this process is running.
    limit: AtomicI64,
    /// The projector let the last wait run out: appends go on unchecked
    /// until its next batch.
    stalled: AtomicBool,
    progressed: Notify,
}

impl Backlog {
    /// A projector of this process starts (`Some(limit)`, with the
    /// watermark it starts from) or stops (`None`).
    pub fn projecting(&self, limit: Option<(i64, i64)>) {
        match limit {
            Some((limit, watermark)) => {
                self.projected.fetch_max(watermark, Ordering::AcqRel);
                self.limit.store(limit.max(1), Ordering::Release);
            }
            None => self.limit.store(0, Ordering::Release),
        }
        self.stalled.store(false, Ordering::Release);
        self.progressed.notify_waiters();
    }

    /// The event store appended up to `position`.
    pub fn appended(&self, position: i64) {
        self.appended.fetch_max(position, Ordering::AcqRel);
    }

    /// The projector committed a batch up to `watermark`.
    pub fn projected(&self, watermark: i64) {
        self.projected.fetch_max(watermark, Ordering::AcqRel);
        self.stalled.store(false, Ordering::Release);
        self.progressed.notify_waiters();
    }

    /// Whether an append would now have to wait.
    fn full(&self) -> bool {
        let limit = self.limit.load(Ordering::Acquire);
        limit > 0
            && !self.stalled.load(Ordering::Acquire)
            && self.appended.load(Ordering::Acquire) - self.projected.load(Ordering::Acquire)
                > limit
    }

    /// Waits until an append may go (see the module docs); whether it had
    /// to wait.
    pub async fn room(&self) -> bool {
        if !self.full() {
            return false;
        }
        let deadline = tokio::time::Instant::now() + MAX_WAIT;
        loop {
            let progressed = self.progressed.notified();
            if !self.full() {
                return true;
            }
            if tokio::time::timeout_at(deadline, progressed).await.is_err() {
                self.stalled.store(true, Ordering::Release);
                return true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn appends_wait_only_for_a_running_projector_that_is_behind() {
        let backlog = Backlog::default();
        backlog.appended(10_000);
        // No projector: nothing waits.
        assert!(!backlog.room().await);
        backlog.projecting(Some((100, 9_950)));
        assert!(!backlog.room().await, "within the limit");
        backlog.appended(10_200);
        assert!(backlog.full());
        // A batch committed meanwhile lets the append go.
        let waiting = async { backlog.room().await };
        let projecting = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            backlog.projected(10_150);
        };
        let (waited, ()) = tokio::join!(waiting, projecting);
        assert!(waited);
        assert!(!backlog.full());
    }

    #[tokio::test(start_paused = true)]
    async fn a_projector_that_commits_nothing_holds_appends_back_once() {
        let backlog = Backlog::default();
        backlog.projecting(Some((100, 0)));
        backlog.appended(1_000);
        let started = tokio::time::Instant::now();
        assert!(backlog.room().await);
        assert_eq!(started.elapsed(), MAX_WAIT);
        // Stalled: the next appends go at once, until it commits again.
        assert!(!backlog.room().await);
        backlog.projected(500);
        assert!(backlog.full());
        backlog.projecting(None);
        assert!(!backlog.room().await, "stopped");
    }
}
