//! `kaizala dashboard`: the dashboard page for a database.

use kaizala_sink::Sink;

use super::{DashboardArgs, bind, interrupted};
use crate::error::CliResult;

/// Serves the page until Ctrl-C.
pub async fn run(args: DashboardArgs) -> CliResult {
    let sink = Sink::open_read_only(&args.db.url()).await?;
    let listener = bind(args.listen).await?;
    let server = crate::dashboard::serve(listener, sink.clone());
    eprintln!(
        "dashboard for {} at {}; Ctrl-C stops",
        sink.database(),
        server.url()
    );
    interrupted().await;
    server.shutdown().await;
    sink.close().await;
    Ok(())
}
