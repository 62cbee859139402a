//! `kaizala export`: a table, view or survey pivot as CSV, JSON, NDJSON,
//! CSV for Excel, or Parquet (the `parquet` feature, [`crate::parquet`]).

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
    let format = if args.excel {
        Output::Text(Format::ExcelCsv)
    } else {
        Output::parse(&args.format)?
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

/// The format written.
#[derive(Debug, Clone, Copy)]
enum Output {
    /// One of the sink's text formats.
    Text(Format),
    /// Parquet, typed columns.
    #[cfg(feature = "parquet")]
    Parquet,
}

impl Output {
    fn parse(name: &str) -> CliResult<Output> {
        if name.trim().eq_ignore_ascii_case("parquet") {
            #[cfg(feature = "parquet")]
            return Ok(Output::Parquet);
            #[cfg(not(feature = "parquet"))]
            return Err(CliError::new(
                "this kaizala was built without the `parquet` feature, so it cannot write Parquet",
            )
            .hint("build it with `--features parquet` (on by default), or use --format csv"));
        }
        name.parse().map(Output::Text).map_err(|_| {
            CliError::new(format!("unknown format `{name}`"))
                .hint("use --format csv, json, ndjson, excel-csv or parquet")
        })
    }
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
        format: Output,
        writer: W,
    ) -> Result<u64, kaizala_sink::SinkError> {
        match (self, format) {
            (What::Table(table), Output::Text(format)) => sink.export(*table, format, writer).await,
            (What::Pivot(action_id), Output::Text(format)) => {
                sink.export_pivot(action_id, format, writer).await
            }
            #[cfg(feature = "parquet")]
            (_, Output::Parquet) => {
                let mut rows = crate::parquet::ParquetRows::new(writer);
                let count = match self {
                    What::Table(table) => sink.export_rows(*table, &mut rows).await?,
                    What::Pivot(action_id) => sink.export_pivot_rows(action_id, &mut rows).await?,
                };
                rows.finish()?;
                Ok(count)
            }
        }
    }

    fn name(&self) -> String {
        match self {
            What::Table(table) => table.name().to_owned(),
            What::Pivot(action_id) => format!("the pivot of action {action_id}"),
        }
    }
}
