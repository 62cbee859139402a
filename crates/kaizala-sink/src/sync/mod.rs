//! Pull sync: what the webhooks did not (or could not) deliver, read
//! through the API with [`kaizala_client::Client`] into the pull log, and
//! projected into the same tables as the events.
//!
//! Per group: the group itself and its sub-groups, its members, its
//! subscribers (managed public groups), its actions (listed incrementally
//! by `fromDate` from the cursor kept in `sync_state`), each action's
//! details with its responses, and its reaction counts. Every document
//! the API answered goes into `pull_log` with what was asked and when
//! (a cursor moves in the same transaction as the documents it covers);
//! the projector derives the rows with the keys and rules of the webhook
//! path — a response pulled after it was pushed changes nothing, a changed
//! one replaces the stored one and its answers — so push and pull agree,
//! and both can be rebuilt. A sync catches the projection up before it
//! reads the tables (which actions to read in full) and when it ends, so
//! the tables hold what it pulled when it returns. It can be repeated or
//! interrupted at any point.

mod actions;
mod groups;
mod members;
mod reactions;
mod responses;
mod state;

use kaizala_client::Client;
use kaizala_types::GroupId;
use serde::Serialize;

use crate::db::{Db, now_millis};
use crate::error::SinkError;
use crate::log;
use crate::normalise::pulled::Document;
use crate::project::{ProjectionReport, Projector};

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
    /// The step the sync is at.
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
    /// Reaction summaries read.
    pub reactions: u64,
    /// Sub-groups listed.
    pub sub_groups: u64,
    /// Documents appended to the pull log.
    pub documents: u64,
    /// Whether another process projected what this sync pulled (the
    /// response and member counts above are then what this one projected
    /// itself, if anything).
    pub projected_elsewhere: bool,
    /// Steps skipped because the API refused them (403/404), with why.
    pub skipped: Vec<String>,
}

impl SyncReport {
    fn add(&mut self, projected: &ProjectionReport) {
        self.responses_new += projected.responses_new;
        self.responses_updated += projected.responses_updated;
        self.responses_unchanged += projected.responses_unchanged;
        self.members_removed += projected.members_removed;
        self.projected_elsewhere |= projected.projected_elsewhere;
    }
}

/// A cursor to move with the documents it covers.
pub(crate) struct Cursor {
    pub key: String,
    pub at: i64,
}

/// A sync in progress: the database, the client, the callback, the tally.
pub(crate) struct Run<'a, F> {
    pub db: &'a Db,
    pub client: &'a Client,
    pub projector: &'a Projector,
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

    /// Appends documents to the pull log, and moves `cursors`, in one
    /// transaction.
    async fn append(
        &mut self,
        documents: Vec<Document>,
        cursors: Vec<Cursor>,
    ) -> Result<(), SinkError> {
        if documents.is_empty() && cursors.is_empty() {
            return Ok(());
        }
        let db = self.db;
        let n = documents.len() as u64;
        let now = now_millis();
        let _turn = db.log_turns.background().await;
        let mut tx = db
            .log_pool
            .begin_with(db.backend.begin_write())
            .await
            .map_err(|e| db.log_error("starting a sync transaction", e))?;
        log::append_documents(&mut tx, documents, now)
            .await
            .map_err(|e| db.log_error("appending to the pull log", e))?;
        for cursor in cursors {
            state::set(&mut tx, &cursor.key, cursor.at, now)
                .await
                .map_err(|e| db.log_error("saving a sync cursor", e))?;
        }
        tx.commit()
            .await
            .map_err(|e| db.log_error("committing pulled documents", e))?;
        self.report.documents += n;
        Ok(())
    }

    /// Projects what was logged so far (by this sync and anyone else).
    async fn project(&mut self) -> Result<(), SinkError> {
        let projected = self.projector.catch_up().await?;
        self.report.add(&projected);
        Ok(())
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
    projector: &Projector,
    client: &Client,
    options: SyncOptions,
    progress: F,
) -> Result<SyncReport, SinkError> {
    let mut run = Run {
        db,
        client,
        projector,
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
    // What events told of (custom action packages) is in the tables.
    run.project().await?;
    let targets = groups::sync_groups(&mut run, options.groups.as_deref()).await?;
    run.at.groups_total = targets.len();
    for target in &targets {
        run.at.group_id = Some(target.id.clone());
        if target.has_sub_groups {
            groups::sync_sub_groups(&mut run, &target.id).await?;
        }
        members::sync_members(&mut run, &target.id).await?;
        if target.public {
            members::sync_subscribers(&mut run, &target.id).await?;
        }
        actions::sync_actions(&mut run, &target.id).await?;
        // The actions just listed decide which are read in full.
        run.project().await?;
        responses::sync_responses(&mut run, &target.id).await?;
        reactions::sync_reactions(&mut run, &target.id).await?;
        run.report.groups += 1;
        run.at.groups_done += 1;
    }
    run.project().await?;
    run.at.group_id = None;
    run.phase(SyncPhase::Done, None);
    Ok(run.report)
}
