//! `kaizala serve` (alias `kaizala dashboard`): the dashboard page and the
//! OData feed of a database, read-only.

use kaizala_sink::Sink;

use super::{ServeArgs, bind, interrupted};
use crate::access::{Access, read_users};
use crate::dashboard::Options;
use crate::error::{CliError, CliResult};

/// Serves until Ctrl-C.
pub async fn run(args: ServeArgs) -> CliResult {
    let access = access(&args)?;
    let sink = Sink::open_read_only(&args.db.url()).await?;
    let listener = bind(args.listen).await?;
    let options = Options {
        access,
        page_size: args.page_size,
        ..Options::default()
    };
    let server = crate::dashboard::serve_with(listener, sink.clone(), options);
    let url = server.url();
    eprintln!(
        "dashboard for {} at {url}, OData feed at {url}odata/; Ctrl-C stops",
        sink.database(),
    );
    interrupted().await;
    server.shutdown().await;
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
