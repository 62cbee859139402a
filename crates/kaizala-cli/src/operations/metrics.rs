//! `/metrics`: everything a running command counts, in the Prometheus
//! text format.

use kaizala_sink::{Lag, ProjectorStats, StoreStats};
use kaizala_webhook::exposition::{Exposition, Kind};

/// The projector's counters since the process started.
pub fn projector(out: &mut Exposition, stats: &ProjectorStats) {
    out.single(
        "kaizala_projector_batches_total",
        Kind::Counter,
        "Batches the projector committed.",
        stats.batches,
    )
    .single(
        "kaizala_projector_entries_total",
        Kind::Counter,
        "Log entries projected.",
        stats.entries,
    )
    .single(
        "kaizala_projector_errors_total",
        Kind::Counter,
        "Log entries that became projection errors.",
        stats.errors,
    )
    .single(
        "kaizala_projector_watermark",
        Kind::Gauge,
        "The last log position projected.",
        stats.watermark,
    )
    .single(
        "kaizala_projector_last_batch_lag_seconds",
        Kind::Gauge,
        "How long the last entry of the last batch waited in the log.",
        stats.last_lag_ms as f64 / 1000.0,
    );
}

/// The event store's counters since the process started: how the
/// acknowledged events were committed, and how often appends waited for
/// the projector.
pub fn store(out: &mut Exposition, stats: &StoreStats) {
    out.single(
        "kaizala_store_commits_total",
        Kind::Counter,
        "Transactions that appended events to the log (group commit: each takes up to 256 of the events queued when it begins).",
        stats.batches,
    )
    .single(
        "kaizala_store_failed_commits_total",
        Kind::Counter,
        "Append transactions that failed (each of their events got a 503).",
        stats.failed_batches,
    )
    .single(
        "kaizala_store_events_total",
        Kind::Counter,
        "Events in committed appends, new and duplicate.",
        stats.events,
    )
    .single(
        "kaizala_store_largest_commit_events",
        Kind::Gauge,
        "The most events one append transaction committed.",
        stats.largest_batch,
    )
    .single(
        "kaizala_store_projection_waits_total",
        Kind::Counter,
        "Appends that waited for the projector running in this process, which had fallen a few batches behind.",
        stats.projection_waits,
    );
}

/// Whether the database answered, and the projection lag it reported.
pub fn database(out: &mut Exposition, lag: Option<Lag>) {
    out.single(
        "kaizala_database_up",
        Kind::Gauge,
        "Whether the database answered the last scrape's query in time.",
        u8::from(lag.is_some()),
    );
    if let Some(lag) = lag {
        out.single(
            "kaizala_projection_lag_entries",
            Kind::Gauge,
            "Log entries not projected yet.",
            lag.entries,
        )
        .single(
            "kaizala_projection_lag_seconds",
            Kind::Gauge,
            "How long the oldest entry not projected yet has waited.",
            lag.seconds,
        );
    }
}
