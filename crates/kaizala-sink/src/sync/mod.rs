//! Pull sync: what the webhooks did not (or could not) deliver, read
//! through the API with [`kaizala_client::Client`] and upserted into the
//! same tables.
//!
//! Per group: the group itself (and its sub-groups), its members, its
//! subscribers (managed public groups), its actions (listed incrementally
//! by `fromDate` from the cursor kept in `sync_state`), each action's
//! details with its responses (upserted with the keys and rules of the
//! webhook path: a response pulled after it was pushed changes nothing, a
//! changed one replaces the stored one and its answers), and its reaction
//! counts. Every write is an idempotent upsert, so a sync can be repeated
//! or interrupted at any point.

mod actions;
mod groups;
mod members;
mod reactions;
mod responses;
mod state;

use kaizala_client::Client;
use kaizala_types::GroupId;
use serde::Serialize;

use crate::db::Db;
use crate::error::SinkError;
use crate::normalise::Rows;
use crate::write::{self, Applied};

/// What to sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncOptions {
    /// These groups only; every group the token reaches when `None`.
    pub groups: Option<Vec<GroupId>>,
}

/// The step a sync is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum SyncPhase {
    /// Listing groups.
    Groups,
    /// Listing a group's members.
    Members,
    /// Listing a public group's subscribers.
    Subscribers,
    /// Listing a group's actions.
    Actions,
    /// Reading actions' details and responses.
    Responses,
    /// Reading reaction counts.
    Reactions,
    /// Finished.
    Done,
}

/// Where a sync is: reported to the progress callback of
/// [`Sink::sync`](crate::Sink::sync) after every step, so a caller can draw
/// a progress bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SyncProgress {
    /// The step.
    pub phase: SyncPhase,
    /// The group being synced.
    pub group_id: Option<GroupId>,
    /// Groups finished so far.
    pub groups_done: usize,
    /// Groups to sync (0 until they are listed).
    pub groups_total: usize,
    /// Items done in this step (members, actions, responses, …).
    pub done: u64,
    /// Items this step has, when known in advance.
    pub total: Option<u64>,
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SyncReport {
    /// Groups synced.
    pub groups: u64,
    /// Members listed.
    pub members: u64,
    /// Members no longer listed, removed from `members`.
    pub members_removed: u64,
    /// Subscribers listed.
    pub subscribers: u64,
    /// Actions listed (new since the stored cursors, and the last one again).
    pub actions: u64,
    /// Actions whose details (and responses) were read.
    pub action_details: u64,
    /// Actions not read again: closed before the last sync read them.
    pub actions_skipped: u64,
    /// Responses stored for the first time.
    pub responses_new: u64,
    /// Stored responses replaced by a changed version.
    pub responses_updated: u64,
    /// Responses already stored as they are.
    pub responses_unchanged: u64,
    /// Reaction summaries stored.
    pub reactions: u64,
    /// Steps skipped because the API refused them (403/404), with why.
    pub skipped: Vec<String>,
}

impl SyncReport {
    fn add(&mut self, applied: Applied) {
        self.responses_new += applied.responses_new;
        self.responses_updated += applied.responses_updated;
        self.responses_unchanged += applied.responses_unchanged;
    }
}

/// A sync in progress: the database, the client, the callback, the tally.
pub(crate) struct Run<'a, F> {
    pub db: &'a Db,
    pub client: &'a Client,
    pub progress: F,
    pub report: SyncReport,
    pub at: SyncProgress,
}

impl<F: FnMut(&SyncProgress)> Run<'_, F> {
    /// Enters a step.
    fn phase(&mut self, phase: SyncPhase, total: Option<u64>) {
        self.at.phase = phase;
        self.at.done = 0;
        self.at.total = total;
        (self.progress)(&self.at);
    }

    /// Reports `n` more items done.
    fn advance(&mut self, n: u64) {
        self.at.done += n;
        (self.progress)(&self.at);
    }

    /// Writes rows in one transaction.
    async fn apply(&mut self, rows: Rows) -> Result<Applied, SinkError> {
        if rows.is_empty() {
            return Ok(Applied::default());
        }
        let db = self.db;
        let mut tx = db
            .pool
            .begin_with(db.backend.begin_write())
            .await
            .map_err(|e| db.error("starting a sync transaction", e))?;
        let applied = write::apply(&mut tx, rows)
            .await
            .map_err(|e| db.error("writing synced rows", e))?;
        tx.commit()
            .await
            .map_err(|e| db.error("committing synced rows", e))?;
        Ok(applied)
    }

    /// Whether an API error only skips this step (403, 404); records it.
    fn skippable(&mut self, what: &str, err: &kaizala_client::Error) -> bool {
        use kaizala_client::ErrorKind;
        if matches!(
            err.kind(),
            ErrorKind::Forbidden { .. } | ErrorKind::NotFound { .. }
        ) {
            tracing::warn!(error = %err, "sync: skipping {what}");
            self.report.skipped.push(format!("{what}: {err}"));
            true
        } else {
            false
        }
    }
}

fn api_error(what: impl Into<String>, source: kaizala_client::Error) -> SinkError {
    SinkError::Api {
        what: what.into(),
        source,
    }
}

pub(crate) async fn run<F: FnMut(&SyncProgress) + Send>(
    db: &Db,
    client: &Client,
    options: SyncOptions,
    progress: F,
) -> Result<SyncReport, SinkError> {
    let mut run = Run {
        db,
        client,
        progress,
        report: SyncReport::default(),
        at: SyncProgress {
            phase: SyncPhase::Groups,
            group_id: None,
            groups_done: 0,
            groups_total: 0,
            done: 0,
            total: None,
        },
    };
    let targets = groups::sync_groups(&mut run, options.groups.as_deref()).await?;
    run.at.groups_total = targets.len();
    for target in &targets {
        run.at.group_id = Some(target.id.clone());
        members::sync_members(&mut run, &target.id).await?;
        if target.public {
            members::sync_subscribers(&mut run, &target.id).await?;
        }
        actions::sync_actions(&mut run, &target.id).await?;
        responses::sync_responses(&mut run, &target.id).await?;
        reactions::sync_reactions(&mut run, &target.id).await?;
        run.report.groups += 1;
        run.at.groups_done += 1;
    }
    run.at.group_id = None;
    run.phase(SyncPhase::Done, None);
    Ok(run.report)
}
