//! `kaizala status`: the logs, the projection, its errors, the schema.

use kaizala_sink::Sink;

use super::StatusArgs;
use crate::error::{CliError, CliResult};

/// Prints the status as text or JSON.
pub async fn run(args: StatusArgs) -> CliResult {
    let sink = Sink::open_read_only(&args.db.url()).await?;
    let status = sink.status().await?;
    sink.close().await;
    if args.json {
        let json = serde_json::to_string_pretty(&status)
            .map_err(|err| CliError::new(format!("encoding the status: {err}")))?;
        println!("{json}");
    } else {
        print!("{status}");
    }
    Ok(())
}
