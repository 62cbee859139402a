//! SQLite's writers of one file in one process take turns here,
//! acknowledgements first.
//!
//! SQLite has one write lock per database file. When two connections of
//! one process want it at once, the loser waits in SQLite's busy handler,
//! which sleeps between tries (up to 100 ms at a time): a writer would wait
//! for far longer than the other's transaction takes. Here they queue on
//! one async lock instead, and background work only starts when no append
//! is waiting. An SQLite file has one `Turns` per file (`crate::log_file`):
//! the log file's appends ([`Turns::ack`]: acknowledgements) and pulled
//! documents ([`Turns::background`]), and the database file's projection
//! and rebuilds. PostgreSQL has no such lock, and takes no turns; nor does
//! SQLite in memory, whose one connection already makes its users take
//! turns (and whose projector holds it while it waits for a turn).

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Mutex, MutexGuard, Notify};

use crate::db::Backend;

/// The turns of one database's writers in this process.
#[derive(Debug)]
pub(crate) struct Turns {
    /// Whether writers take turns here at all.
    taken: bool,
    lock: Mutex<()>,
    acks_waiting: AtomicUsize,
    acks_done: Notify,
}

/// A turn: the database's write lock is this writer's until dropped.
pub(crate) struct Turn<'a> {
    _guard: Option<MutexGuard<'a, ()>>,
}

impl Turns {
    pub fn new(backend: Backend, memory: bool) -> Turns {
        Turns {
            taken: backend == Backend::Sqlite && !memory,
            lock: Mutex::new(()),
            acks_waiting: AtomicUsize::new(0),
            acks_done: Notify::new(),
        }
    }

    /// A turn for an append that acknowledgements wait on: ahead of any
    /// background work not yet started.
    pub async fn ack(&self) -> Turn<'_> {
        if !self.taken {
            return Turn { _guard: None };
        }
        self.acks_waiting.fetch_add(1, Ordering::AcqRel);
        let guard = self.lock.lock().await;
        if self.acks_waiting.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.acks_done.notify_waiters();
        }
        Turn {
            _guard: Some(guard),
        }
    }

    /// A turn for work nobody waits on: once no append is waiting.
    pub async fn background(&self) -> Turn<'_> {
        if !self.taken {
            return Turn { _guard: None };
        }
        loop {
            let done = self.acks_done.notified();
            if self.acks_waiting.load(Ordering::Acquire) > 0 {
                done.await;
                continue;
            }
            let guard = self.lock.lock().await;
            if self.acks_waiting.load(Ordering::Acquire) == 0 {
                return Turn {
                    _guard: Some(guard),
                };
            }
            // An append came while this one queued: let it go first.
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn appends_go_before_background_work() {
        let turns = Arc::new(Turns::new(Backend::Sqlite, false));
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let first = turns.ack().await;
        let background = {
            let (turns, order) = (Arc::clone(&turns), Arc::clone(&order));
            tokio::spawn(async move {
                let _turn = turns.background().await;
                order.lock().unwrap().push("background");
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let ack = {
            let (turns, order) = (Arc::clone(&turns), Arc::clone(&order));
            tokio::spawn(async move {
                let _turn = turns.ack().await;
                order.lock().unwrap().push("ack");
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        ack.await.unwrap();
        background.await.unwrap();
        assert_eq!(*order.lock().unwrap(), ["ack", "background"]);
    }

    #[tokio::test]
    async fn postgres_takes_no_turns() {
        let turns = Turns::new(Backend::Postgres, false);
        let _a = turns.ack().await;
        let _b = turns.background().await;
        let _c = turns.ack().await;
    }
}
