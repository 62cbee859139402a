//! `kaizala export`: a table or view as CSV, JSON, NDJSON or CSV for Excel.

use std::io::Write;

use kaizala_sink::{Format, Sink, Table};

use super::ExportArgs;
use crate::error::{CliError, CliResult};
use crate::temporary::Temporary;

/// Writes the table to the file or standard output.
pub async fn run(args: ExportArgs) -> CliResult {
    let what = match (&args.table, &args.pivot) {
        (_, Some(action_id)) => What::Pivot(action_id.clone()),
        (Some(table), None) => What::Table(table.parse()?),
        (None, None) => return Err(CliError::new("name a --table or a --pivot ACTION_ID")),
    };
    let format: Format = if args.excel {
        Format::ExcelCsv
    } else {
        args.format.parse().map_err(|_| {
            CliError::new(format!("unknown format `{}`", args.format))
                .hint("use --format csv, json, ndjson or excel-csv")
        })?
    };
    let sink = Sink::open_read_only(&args.db.url()).await?;
    let rows = match &args.out {
        Some(path) => {
            let temporary = Temporary::create(path)?;
            let mut writer = std::io::BufWriter::new(&temporary.file);
            let rows = what.export(&sink, format, &mut writer).await?;
            writer
                .flush()
                .map_err(|err| CliError::new(format!("writing {}: {err}", path.display())))?;
            drop(writer);
            temporary.persist()?;
            rows
        }
        None => {
            let mut writer = std::io::BufWriter::new(std::io::stdout());
            let exported = what.export(&sink, format, &mut writer).await;
            let flushed = exported.is_ok().then(|| writer.flush());
            // A reader that stopped early (`| head`) is not an error.
            let closed = |err: &std::io::Error| err.kind() == std::io::ErrorKind::BrokenPipe;
            match (exported, flushed) {
                (Err(kaizala_sink::SinkError::Io(err)), _) if closed(&err) => return Ok(()),
                (_, Some(Err(err))) if closed(&err) => return Ok(()),
                (Err(err), _) => return Err(err.into()),
                (_, Some(Err(err))) => {
                    return Err(CliError::new(format!("writing the export: {err}")));
                }
                (Ok(rows), _) => rows,
            }
        }
    };
    sink.close().await;
    eprintln!("{rows} rows of {}", what.name());
    Ok(())
}

/// What is exported.
enum What {
    Table(Table),
    Pivot(String),
}

impl What {
    async fn export<W: Write + Send>(
        &self,
        sink: &Sink,
        format: Format,
        writer: W,
    ) -> Result<u64, kaizala_sink::SinkError> {
        match self {
            What::Table(table) => sink.export(*table, format, writer).await,
            What::Pivot(action_id) => sink.export_pivot(action_id, format, writer).await,
        }
    }

    fn name(&self) -> String {
        match self {
            What::Table(table) => table.name().to_owned(),
            What::Pivot(action_id) => format!("the pivot of action {action_id}"),
        }
    }
}
