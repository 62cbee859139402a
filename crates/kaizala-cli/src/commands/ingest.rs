//! `kaizala ingest`: the webhook receiver into the event log, and the
//! projector into the typed tables.

use kaizala_sink::Sink;
use kaizala_webhook::{ReceiverConfig, Server};

use super::{IngestArgs, bind, interrupted};
use crate::error::{CliError, CliResult};

/// Receives callbacks until Ctrl-C; every acknowledged event is committed
/// to the event log, and projected in the background.
pub async fn run(args: IngestArgs) -> CliResult {
    let sink = Sink::connect(&args.db.url()).await?;
    let mut config = ReceiverConfig::new()
        .path(args.path.as_str())
        .body_limit(args.body_limit);
    match &args.callback_token {
        Some(token) => {
            config = config
                .callback_token(token.as_str())
                .map_err(|err| CliError::new(format!("--callback-token: {err}")))?;
        }
        None => eprintln!(
            "warning: no --callback-token: callbacks from anyone are accepted; set the \
             webhook's callBackToken for anything reachable from outside"
        ),
    }
    let listener = bind(args.listen).await?;
    let receiver = Server::new(config, sink.event_store()).serve(listener);
    let projector = (!args.no_project).then(|| sink.projector().spawn());
    eprintln!(
        "receiving Kaizala webhook events at {} into {}{}; Ctrl-C stops",
        receiver.url(),
        sink.database(),
        if projector.is_some() {
            ", projecting them in the background"
        } else {
            " (not projecting: --no-project)"
        }
    );
    interrupted().await;
    eprintln!("stopping: finishing requests in flight…");
    let metrics = receiver.metrics().snapshot();
    receiver.shutdown().await;
    if let Some(projector) = projector {
        let stats = projector.stats();
        projector.shutdown().await;
        eprintln!(
            "projected {} log entries in {} batches ({} projection errors)",
            stats.entries, stats.batches, stats.errors
        );
    }
    sink.close().await;
    eprintln!(
        "{} received, {} stored, {} duplicates, {} quarantined, {} refused",
        metrics.received,
        metrics.stored,
        metrics.duplicate,
        metrics.quarantined,
        metrics.auth_failed
    );
    Ok(())
}
