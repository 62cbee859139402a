//! `kaizala bi`: files that connect BI tools to the sink's views.

mod grafana;
mod panels;

use clap::Subcommand;

use crate::error::CliResult;

/// `kaizala bi …`.
#[derive(Debug, Subcommand)]
pub enum BiCommand {
    /// Write Grafana provisioning files: a PostgreSQL data source and
    /// dashboards over the kz_* views.
    ///
    /// The data source connects as the read-only role, with TLS as the URL
    /// says; the dashboards show responses per day per survey, the answer
    /// distribution per question, members joining and leaving, and the
    /// latest messages. The password is never written: the data source says
    /// `$KAIZALA_GRAFANA_PASSWORD`, which Grafana reads from its own
    /// environment when it starts. Nothing connects to the database.
    Grafana(grafana::GrafanaArgs),
}

/// Runs a `bi` command.
pub async fn run(command: BiCommand) -> CliResult {
    match command {
        BiCommand::Grafana(args) => grafana::run(args).await,
    }
}
