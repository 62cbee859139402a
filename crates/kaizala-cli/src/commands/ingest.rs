//! `kaizala ingest`: the webhook receiver into the event log, and the
//! projector into the typed tables.

use std::sync::Arc;

use hyper_util::service::TowerToHyperService;
use kaizala_sink::Sink;
use kaizala_webhook::{ReceiverConfig, TokenConfigError, WebhookService};

use super::{IngestArgs, interrupted};
use crate::error::{CliError, CliResult};
use crate::log::{report, warn};
use crate::operations::{self, Operations};

/// Receives callbacks until Ctrl-C; every acknowledged event is committed
/// to the event log, and projected in the background.
pub async fn run(args: IngestArgs) -> CliResult {
    let config = receiver_config(&args)?;
    let sink = Sink::connect(&args.db.url()).await?;
    let store = sink.event_store();
    let receiver = WebhookService::new(config, store.clone());
    let mut operations = Operations::new(sink.clone(), args.front.ready_max_lag)
        .receiver(Arc::clone(receiver.metrics()))
        .store(store);
    let mut projector = None;
    if !args.no_project {
        let projecting = sink.projector();
        projector = Some(projecting.spawn());
        operations = operations.projector(projecting);
    }
    let front = receiver.config().front_config();
    let webhook = TowerToHyperService::new(receiver.clone());
    let fronts = args
        .front
        .serve(args.listen, "ingest", front, operations, |operations, _| {
            operations.in_front_of(webhook)
        })
        .await?;
    report(format_args!(
        "receiving Kaizala webhook events at {} into {}{}; /healthz, /readyz, /metrics at {}; \
         Ctrl-C stops",
        fronts.main.url(receiver.config().path_str()),
        sink.database(),
        if projector.is_some() {
            ", projecting them in the background"
        } else {
            " (not projecting: --no-project)"
        },
        fronts.operations_url().trim_end_matches("/metrics"),
    ));
    interrupted().await;
    report("stopping: finishing requests in flight…");
    fronts.shutdown().await;
    let metrics = receiver.metrics().snapshot();
    if let Some(projector) = projector {
        let stats = projector.stats();
        projector.shutdown().await;
        report(stats);
    }
    sink.close().await;
    report(format_args!(
        "{} received, {} stored, {} duplicates, {} quarantined, {} refused",
        metrics.received,
        metrics.stored,
        metrics.duplicate,
        metrics.quarantined,
        metrics.auth_failed
    ));
    Ok(())
}

/// The receiver's settings from the arguments: the callback token, or the
/// current and the next one while it is being rotated.
fn receiver_config(args: &IngestArgs) -> CliResult<ReceiverConfig> {
    if operations::PATHS.contains(&args.path.as_str()) {
        return Err(CliError::new(format!(
            "--path {}: taken by the operations routes ({})",
            args.path,
            operations::PATHS.join(", ")
        )));
    }
    let config = ReceiverConfig::new()
        .path(args.path.as_str())
        .body_limit(args.body_limit);
    let token_error = |err: TokenConfigError| CliError::new(format!("--callback-token: {err}"));
    match args.callback_token.as_slice() {
        [] => {
            warn(
                "no --callback-token: callbacks from anyone are accepted; set the webhook's \
                 callBackToken for anything reachable from outside",
            );
            Ok(config)
        }
        [token] => config.callback_token(token.clone()).map_err(token_error),
        [token, next] => config
            .callback_token(token.clone())
            .and_then(|config| config.next_callback_token(next.clone()))
            .map_err(token_error),
        more => Err(CliError::new(format!(
            "--callback-token given {} times: at most two, the current and the next token \
             while rotating",
            more.len()
        ))),
    }
}
