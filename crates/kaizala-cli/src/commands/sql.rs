//! `kaizala sql`: SQL for the people who run the database.

use clap::{Args, Subcommand};
use kaizala_sink::Sink;

use super::DbArgs;
use crate::error::CliResult;

/// `kaizala sql …`.
#[derive(Debug, Subcommand)]
pub enum SqlCommand {
    /// Let a PostgreSQL role read every table and view of the sink, and
    /// write nothing: the connection to give Grafana, Power BI, Metabase or
    /// Superset. Run it with the URL the sink writes with (the tables'
    /// owner), so tables that later rebuilds make are readable too.
    GrantReadonly(GrantArgs),
    /// Set the time zone of the sink (an IANA name such as Asia/Kolkata;
    /// UTC until set): the daily views (kz_responses_daily,
    /// responses_per_day) count days in it, and `export --excel` and the
    /// dashboard show local times in it. Stored in the database, so every
    /// reader agrees.
    SetTimezone(TimezoneArgs),
}

/// `kaizala sql set-timezone`.
#[derive(Debug, Args)]
pub struct TimezoneArgs {
    /// The zone's IANA name (Asia/Kolkata, Europe/London, UTC…).
    pub zone: String,
    #[command(flatten)]
    pub db: DbArgs,
}

/// `kaizala sql grant-readonly`.
#[derive(Debug, Args)]
pub struct GrantArgs {
    /// The role (it must exist: `CREATE ROLE grafana LOGIN PASSWORD '…'`).
    pub role: String,
    #[command(flatten)]
    pub db: DbArgs,
    /// Print the statements instead of running them.
    #[arg(long)]
    pub print: bool,
}

/// Runs a `sql` command.
pub async fn run(command: SqlCommand) -> CliResult {
    match command {
        SqlCommand::GrantReadonly(args) => grant_readonly(args).await,
        SqlCommand::SetTimezone(args) => set_timezone(args).await,
    }
}

async fn set_timezone(args: TimezoneArgs) -> CliResult {
    let sink = Sink::connect(&args.db.url()).await?;
    let zone = sink.set_time_zone(&args.zone).await;
    sink.close().await;
    eprintln!("time zone: {}; days of the daily views are its days", zone?);
    Ok(())
}

async fn grant_readonly(args: GrantArgs) -> CliResult {
    let sink = Sink::open_read_only(&args.db.url()).await?;
    let statements = if args.print {
        sink.read_only_grants(&args.role).await?
    } else {
        sink.grant_read_only(&args.role).await?
    };
    sink.close().await;
    for statement in &statements {
        println!("{statement};");
    }
    if !args.print {
        eprintln!(
            "granted: {} may read every table and view of the sink, and write nothing",
            args.role
        );
    }
    Ok(())
}
