//! `kaizala serve` (alias `kaizala dashboard`): the dashboard page and the
//! OData feed of a database, read-only.

use kaizala_sink::Sink;

use super::{ServeArgs, interrupted};
use crate::access::{Access, read_users};
use crate::dashboard::{self, Options};
use crate::error::{CliError, CliResult};
use crate::operations::Operations;

/// Serves the page, the feed and the operations routes until Ctrl-C.
pub async fn run(args: ServeArgs) -> CliResult {
    let access = access(&args)?;
    let sink = Sink::open_read_only(&args.db.url()).await?;
    let options = Options {
        access,
        page_size: args.page_size,
        scheme: if args.front.tls_cert.is_some() {
            "https"
        } else {
            "http"
        },
    };
    let operations = Operations::new(sink.clone(), args.front.ready_max_lag);
    let page = sink.clone();
    let fronts = args
        .front
        .serve(
            args.listen,
            "serve",
            dashboard::front_config(),
            operations,
            |operations, addr| operations.in_front_of(dashboard::service(page, addr, options)),
        )
        .await?;
    let url = fronts.main.url("/");
    eprintln!(
        "dashboard for {} at {url}, OData feed at {url}odata/ (metrics at {}); Ctrl-C stops",
        sink.database(),
        fronts.operations_url()
    );
    interrupted().await;
    fronts.shutdown().await;
    sink.close().await;
    Ok(())
}

/// Who may read: `--token` and `--users`; off loopback, one is required.
fn access(args: &ServeArgs) -> CliResult<Access> {
    let mut access = Access::open();
    if let Some(token) = &args.token {
        access = access.with_token(token)?;
    }
    if let Some(path) = &args.users {
        access = access.with_users(path, &read_users(path)?)?;
    }
    if access.is_open() && !args.listen.ip().is_loopback() {
        return Err(CliError::new(format!(
            "refusing to serve {} off loopback without a credential",
            args.listen
        ))
        .hint("give --token (or KAIZALA_SERVE_TOKEN) or --users FILE, or listen on 127.0.0.1"));
    }
    Ok(access)
}
