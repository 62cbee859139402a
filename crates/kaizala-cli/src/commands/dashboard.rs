//! `kaizala dashboard`: the dashboard page for a database.

use kaizala_sink::Sink;

use super::{DashboardArgs, interrupted};
use crate::dashboard;
use crate::error::CliResult;
use crate::operations::Operations;

/// Serves the page (and the operations routes) until Ctrl-C.
pub async fn run(args: DashboardArgs) -> CliResult {
    let sink = Sink::open_read_only(&args.db.url()).await?;
    let operations = Operations::new(sink.clone(), args.front.ready_max_lag);
    let page = sink.clone();
    let fronts = args
        .front
        .serve(
            args.listen,
            "dashboard",
            dashboard::front_config(),
            operations,
            |operations, addr| operations.in_front_of(dashboard::service(page, addr)),
        )
        .await?;
    eprintln!(
        "dashboard for {} at {} (metrics at {}); Ctrl-C stops",
        sink.database(),
        fronts.main.url("/"),
        fronts.operations_url()
    );
    interrupted().await;
    fronts.shutdown().await;
    sink.close().await;
    Ok(())
}
