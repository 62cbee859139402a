//! `kaizala export`: a table, view or survey pivot as CSV, JSON, NDJSON,
//! CSV for Excel, or Parquet (the `parquet` feature, [`crate::parquet`]).

use std::io::Write;

use kaizala_sink::{Cursor, Exported, Format, Sink, Start, Table};

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
    let start = start(&sink, &args, &what).await?;
    let exported = match &args.out {
        Some(path) => {
            let temporary = Temporary::create(path)?;
            let mut writer = std::io::BufWriter::new(&temporary.file);
            let exported = what.export(&sink, &start, format, &mut writer).await?;
            writer
                .flush()
                .map_err(|err| CliError::new(format!("writing {}: {err}", path.display())))?;
            drop(writer);
            temporary.persist()?;
            exported
        }
        None => {
            let mut writer = std::io::BufWriter::new(std::io::stdout());
            let exported = what.export(&sink, &start, format, &mut writer).await;
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
                (Ok(exported), _) => exported,
            }
        }
    };
    sink.close().await;
    eprintln!("{} rows of {}", exported.rows, what.name());
    if let What::Table(table) = &what {
        report_cursor(&args, table, &start, &exported)?;
    }
    Ok(())
}

/// Where the export starts: after `--after`'s cursor, or the one in
/// `--cursor-file`, or from `--since`, or from the start.
async fn start(sink: &Sink, args: &ExportArgs, what: &What) -> CliResult<Start> {
    if let Some(text) = &args.after {
        return Ok(Start::After(text.parse::<Cursor>()?));
    }
    if let (Some(path), What::Table(table)) = (&args.cursor_file, what) {
        if !table.is_incremental() {
            let incremental: Vec<&str> = Table::incremental().map(Table::name).collect();
            return Err(CliError::new(format!(
                "{table} is exported whole, so it has no cursor to keep in {}",
                path.display()
            ))
            .hint(format!(
                "--cursor-file works with {}",
                incremental.join(", ")
            )));
        }
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let cursor = text.parse::<Cursor>().map_err(|err| {
                    CliError::new(format!("{}: {err}", path.display()))
                        .hint("remove the file to export from --since (or everything) again")
                })?;
                return Ok(Start::After(cursor));
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(CliError::new(format!("reading {}: {err}", path.display())));
            }
        }
    }
    match &args.since {
        Some(text) => Ok(Start::since_text(text, &sink.time_zone().await?)?),
        None => Ok(Start::All),
    }
}

/// Prints where the next export resumes (and keeps it in `--cursor-file`).
fn report_cursor(args: &ExportArgs, table: &Table, start: &Start, exported: &Done) -> CliResult {
    let Some(cursor) = &exported.cursor else {
        if !matches!(start, Start::All) {
            eprintln!("nothing new since that time (so no cursor yet)");
        }
        return Ok(());
    };
    if exported.rows == 0 {
        eprintln!("nothing new since the cursor");
    }
    eprintln!("next cursor: {cursor}");
    match &args.cursor_file {
        Some(path) => {
            let temporary = Temporary::create(path)?;
            writeln!(&temporary.file, "{cursor}")
                .map_err(|err| CliError::new(format!("writing {}: {err}", path.display())))?;
            temporary.persist()?;
        }
        None if args.after.is_none() => eprintln!(
            "hint: export only newer rows next time with `kaizala export --table {table} --after {cursor}`, or keep it in a file with --cursor-file FILE"
        ),
        None => {}
    }
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

/// What an export did: how many rows, and where the next one resumes (an
/// incremental table's).
struct Done {
    rows: u64,
    cursor: Option<Cursor>,
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
        start: &Start,
        format: Output,
        writer: W,
    ) -> Result<Done, kaizala_sink::SinkError> {
        let table = |exported: Exported| Done {
            rows: exported.rows,
            cursor: exported.cursor,
        };
        let whole = |rows| Done { rows, cursor: None };
        match (self, format) {
            (What::Table(name), Output::Text(format)) => sink
                .export_from(*name, start, format, writer)
                .await
                .map(table),
            (What::Pivot(action_id), Output::Text(format)) => sink
                .export_pivot(action_id, format, writer)
                .await
                .map(whole),
            #[cfg(feature = "parquet")]
            (_, Output::Parquet) => {
                let mut rows = crate::parquet::ParquetRows::new(writer);
                let exported = match self {
                    What::Table(name) => {
                        table(sink.export_rows_from(*name, start, &mut rows).await?)
                    }
                    What::Pivot(action_id) => {
                        whole(sink.export_pivot_rows(action_id, &mut rows).await?)
                    }
                };
                rows.finish()?;
                Ok(exported)
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
