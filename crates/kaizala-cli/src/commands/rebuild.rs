//! `kaizala rebuild`: typed tables re-derived from the logs.

use kaizala_sink::{Sink, Table};

use super::RebuildArgs;
use crate::error::CliResult;
use crate::progress;

/// Rebuilds with a progress bar; readers see the old tables until the new
/// ones are swapped in.
pub async fn run(args: RebuildArgs) -> CliResult {
    let tables = args
        .tables
        .iter()
        .map(|t| t.parse::<Table>())
        .collect::<Result<Vec<_>, _>>()?;
    let sink = Sink::open_existing(&args.db.url()).await?;
    let bar = progress::bar(0, "rebuilding");
    let report = sink
        .rebuild(&tables, |p| {
            bar.set_length(p.total.max(p.done));
            bar.set_position(p.done);
            if p.swapping {
                bar.set_message("swapping in");
            }
        })
        .await;
    bar.finish_and_clear();
    let report = report?;
    sink.close().await;
    println!("{report}");
    Ok(())
}
