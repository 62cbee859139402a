//! `kaizala project`: the projector alone.

use std::time::Duration;

use kaizala_sink::Sink;

use super::{ProjectArgs, interrupted};
use crate::error::CliResult;
use crate::progress;

/// Catches up with a progress bar, then follows the log until Ctrl-C (or
/// stops, with `--once`).
pub async fn run(args: ProjectArgs) -> CliResult {
    let sink = Sink::open_existing(&args.db.url()).await?;
    let projector = match args.batch {
        Some(batch) => sink.projector().with_batch(batch),
        None => sink.projector(),
    };
    let status = sink.status().await?;
    let bar = progress::bar(status.lag_entries, "projecting");
    let catching_up = {
        let projector = projector.clone();
        tokio::spawn(async move { projector.catch_up().await })
    };
    let base = projector.stats().entries;
    while !catching_up.is_finished() {
        bar.set_position(projector.stats().entries - base);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bar.finish_and_clear();
    let report = catching_up
        .await
        .map_err(|err| crate::error::CliError::new(format!("the projector stopped: {err}")))??;
    if report.projected_elsewhere {
        eprintln!("{report}");
    } else {
        eprintln!("caught up: {report}");
    }
    if !args.once {
        let handle = projector.spawn();
        eprintln!("following the log into {}; Ctrl-C stops", sink.database());
        interrupted().await;
        let stats = handle.stats();
        handle.shutdown().await;
        eprintln!("in all: {stats}");
    }
    sink.close().await;
    Ok(())
}
