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
    /// Keep the survey pivot of an action (what `export --pivot` writes:
    /// one row per response, one column per question) as a view, for a
    /// BI tool to read like a table. Its columns are typed as the kz_*
    /// views' (PostgreSQL timestamptz, double precision, text). Rebuilds
    /// make it again; run it again to pick up questions added since.
    Pivot(PivotArgs),
}

/// `kaizala sql pivot`.
#[derive(Debug, Args)]
pub struct PivotArgs {
    /// The action (survey) whose responses it shows.
    pub action_id: String,
    /// The view's name (lower-case letters, digits and _); by default
    /// `pivot_` and the action's title made safe.
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
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
        SqlCommand::Pivot(args) => pivot(args).await,
    }
}

async fn pivot(args: PivotArgs) -> CliResult {
    let sink = Sink::connect(&args.db.url()).await?;
    let made = sink
        .keep_pivot_view(&args.action_id, args.name.as_deref())
        .await;
    sink.close().await;
    let view = made?;
    println!("{view}");
    eprintln!(
        "view {view}: one row per response to {}, one column per question \
         (`SELECT * FROM {view}`)",
        args.action_id
    );
    Ok(())
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
