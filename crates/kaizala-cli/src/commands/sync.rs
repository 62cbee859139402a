//! `kaizala sync`: the pull job.

use kaizala_sink::{Sink, SyncOptions, SyncPhase};
use kaizala_types::GroupId;

use super::SyncArgs;
use crate::error::CliResult;
use crate::progress;

/// Pulls what the connector can see into the database, with a progress bar.
pub async fn run(args: SyncArgs) -> CliResult {
    let client = args.connection.client()?;
    let sink = Sink::connect(&args.db.url()).await?;
    let options = SyncOptions {
        groups: (!args.groups.is_empty()).then(|| {
            args.groups
                .iter()
                .map(|g| GroupId::new(g.as_str()))
                .collect()
        }),
    };
    let bar = progress::bar(0, "listing groups");
    let report = sink
        .sync(&client, options, |step| {
            if step.groups_total > 0 {
                bar.set_length(step.groups_total as u64);
                bar.set_position(step.groups_done as u64);
            }
            let phase = match step.phase {
                SyncPhase::Groups => "listing groups",
                SyncPhase::Members => "members",
                SyncPhase::Subscribers => "subscribers",
                SyncPhase::Actions => "actions",
                SyncPhase::Responses => "responses",
                SyncPhase::Reactions => "reactions",
                _ => "finishing",
            };
            bar.set_message(format!("{phase} ({})", step.done));
        })
        .await;
    bar.finish_and_clear();
    let report = report?;
    sink.close().await;
    println!(
        "{} groups, {} members ({} gone), {} subscribers, {} actions ({} read in full, {} closed and skipped), \
         responses: {} new, {} updated, {} unchanged; {} reaction summaries",
        report.groups,
        report.members,
        report.members_removed,
        report.subscribers,
        report.actions,
        report.action_details,
        report.actions_skipped,
        report.responses_new,
        report.responses_updated,
        report.responses_unchanged,
        report.reactions
    );
    // What the connector may not read is not a failure of the sync, but
    // the user should know what is missing.
    for skipped in &report.skipped {
        eprintln!("skipped: {skipped}");
    }
    Ok(())
}
