//! `kaizala bi`: files that connect BI tools to the sink's views.

mod grafana;
mod panels;

use clap::Subcommand;

use crate::error::CliResult;

/// `kaizala bi …`.
#[derive(Debug, Subcommand)]
pub enum BiCommand {
    /// Write Grafana provisioning files for a sink on PostgreSQL: the data
    /// source (the read-only role, TLS as the URL says) and dashboards over
    /// the kz_* views — responses per day per survey, answer distribution
    /// per question, members joining and leaving, the latest messages.
    /// The password is never written: Grafana reads it from the variable
    /// KAIZALA_GRAFANA_PASSWORD in its own environment.
    Grafana(grafana::GrafanaArgs),
}

/// Runs a `bi` command.
pub async fn run(command: BiCommand) -> CliResult {
    match command {
        BiCommand::Grafana(args) => grafana::run(args).await,
    }
}
