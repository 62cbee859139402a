//! `kaizala export`: a table or view as CSV or JSON.

use std::io::Write;

use kaizala_sink::{Format, Sink, Table};

use super::ExportArgs;
use crate::error::{CliError, CliResult};

/// Writes the table to the file or standard output.
pub async fn run(args: ExportArgs) -> CliResult {
    let table: Table = args.table.parse()?;
    let format: Format = args.format.parse().map_err(|_| {
        CliError::new(format!("unknown format `{}`", args.format))
            .hint("use --format csv or --format json")
    })?;
    let sink = Sink::open_read_only(&args.db.url()).await?;
    let rows = match &args.out {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|err| {
                let error = CliError::new(format!("cannot create {}: {err}", path.display()));
                match path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty() && !p.exists())
                {
                    Some(dir) => {
                        error.hint(format!("the directory {} does not exist", dir.display()))
                    }
                    None => error,
                }
            })?;
            let mut writer = std::io::BufWriter::new(file);
            let rows = sink.export(table, format, &mut writer).await?;
            writer
                .flush()
                .map_err(|err| CliError::new(format!("writing {}: {err}", path.display())))?;
            rows
        }
        None => {
            let mut writer = std::io::BufWriter::new(std::io::stdout());
            let rows = sink.export(table, format, &mut writer).await?;
            writer
                .flush()
                .map_err(|err| CliError::new(format!("writing the export: {err}")))?;
            rows
        }
    };
    sink.close().await;
    eprintln!("{rows} rows of {}", table.name());
    Ok(())
}
