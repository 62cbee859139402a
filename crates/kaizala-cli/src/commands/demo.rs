//! `kaizala demo`: the whole pipeline on this machine — the emulated
//! platform pushes webhook events into SQLite through the receiver, and the
//! dashboard shows them.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use clap::Args;
use kaizala::registration::{Subscription, WebhookRegistration};
use kaizala_client::Client;
use kaizala_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use kaizala_sink::{Sink, Table};
use kaizala_types::actions::{QuestionSpec, QuestionType, SurveyBody};
use kaizala_types::event::EventType;
use kaizala_types::groups::CreateGroupRequest;
use kaizala_webhook::{ReceiverConfig, Server};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::{bind, interrupted};
use crate::error::{CliError, CliResult};
use crate::progress;

/// `kaizala demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The SQLite file to fill (recreated: the demo starts from an empty
    /// database).
    #[arg(long, default_value = "kaizala-demo.db", value_name = "PATH")]
    pub db: String,
    /// Survey responses the simulated users give.
    #[arg(long, default_value_t = 1000)]
    pub responses: u64,
    /// Text messages the simulated users send.
    #[arg(long, default_value_t = 40)]
    pub messages: u64,
    /// Exit after the summary instead of serving the dashboard.
    #[arg(long)]
    pub no_serve: bool,
    /// Where to serve the dashboard.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// How long to wait for the events, in seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

/// The survey the demo posts: what a field team reports from store visits.
const SURVEY_TITLE: &str = "Store visit";

fn survey() -> SurveyBody {
    SurveyBody::new(
        SURVEY_TITLE,
        vec![
            QuestionSpec::with_options(
                "Retailer outlet",
                QuestionType::SingleOption,
                [
                    "ABC Traders",
                    "BCD Distributors",
                    "EFG Wholesale",
                    "Sharma Kirana",
                ],
            ),
            QuestionSpec::with_options(
                "Shelf condition",
                QuestionType::SingleOption,
                ["Well stocked", "Partly stocked", "Empty"],
            ),
            QuestionSpec::with_options(
                "Products on display",
                QuestionType::MultiOption,
                ["Rice 1KG", "Rice 5KG", "Fruit juice 250ml", "Biscuits"],
            ),
            QuestionSpec::new("Rice 1KG cartons", QuestionType::Numeric),
            QuestionSpec::new("Remarks", QuestionType::Text),
        ],
    )
}

/// Runs the demo.
pub async fn run(args: DemoArgs) -> CliResult {
    let started = Instant::now();
    if args.responses == 0 {
        return Err(CliError::new("--responses must be at least 1"));
    }
    let db = prepare_database(&args.db)?;

    // The platform, the database and the receiver, all on this machine.
    let emulator = Emulator::start(EmulatorConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        // At-least-once delivery, as the platform did: a few events arrive
        // twice and must be stored once.
        duplicate_rate: 0.02,
        ..EmulatorConfig::default()
    })
    .await
    .map_err(|err| CliError::new(format!("cannot start the emulator: {err}")))?;
    let sink = Sink::connect(&db).await?;
    let token = callback_token();
    let config = ReceiverConfig::new()
        .callback_token(token.as_str())
        .map_err(|err| CliError::new(err.to_string()))?
        .path("/kaizala/events");
    let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let receiver = Server::new(config, sink.event_store()).serve(listener);
    // The typed tables follow the event log, as under `kaizala ingest`.
    let projector = sink.projector().spawn();
    eprintln!(
        "emulator at {}, receiver at {}, database {}",
        emulator.base_url(),
        receiver.url(),
        sink.database()
    );

    // A connector creates a group, subscribes the receiver (the platform
    // checks the URL first), and posts a survey.
    let client = client(&emulator)?;
    let group = client
        .groups()
        .create(CreateGroupRequest::new(
            "Field Team North",
            "Store visits and stock reports",
        ))
        .await?
        .group_id;
    let webhook = WebhookRegistration::register(
        &client,
        &receiver,
        Subscription::group(group.clone())
            .events(EventType::DOCUMENTED)
            .callback_token(token.as_str())
            .context("kaizala-demo"),
    )
    .await?;
    let posted = client
        .group(group.clone())
        .actions()
        .create_survey(survey())
        .await?;
    let action_id = posted
        .action_id
        .ok_or_else(|| CliError::new("the platform did not say which action it created"))?
        .to_string();
    eprintln!(
        "group {group}, webhook {}, survey {action_id}",
        webhook.id()
    );

    // Simulated people answer, talk, come and go.
    let mut expected: u64 = 1; // SurveyCreated
    let steps = [
        // Leavers are picked among the members before the call: join first.
        ("members", json!({"groupId": group.to_string(), "join": 25})),
        ("members", json!({"groupId": group.to_string(), "leave": 3})),
        (
            "responses",
            json!({"groupId": group.to_string(), "actionId": action_id, "count": args.responses, "updateFraction": 0.05}),
        ),
        (
            "messages",
            json!({"groupId": group.to_string(), "count": args.messages}),
        ),
        (
            "attachments",
            json!({"groupId": group.to_string(), "count": 5}),
        ),
    ];
    for (what, body) in steps {
        let summary = emulator
            .simulate(what, &body)
            .await
            .map_err(|err| CliError::new(format!("simulating {what}: {err}")))?;
        expected += produced(&summary);
    }

    // Every event the platform sends is stored exactly once, and projected.
    wait_for_events(&sink, expected, Duration::from_secs(args.timeout)).await?;
    sink.project().await?;
    let summary = sink.summary().await?;
    let counts = sink.counts().await?;
    let questions_per_response = survey().questions.len() as u64 + 1; // + the hidden ResponseTime
    println!("\n{summary}");
    println!(
        "responses: {} stored for {} simulated; answers: {} ({} per response)",
        counts.get(Table::Responses),
        args.responses,
        counts.get(Table::Answers),
        questions_per_response
    );
    let metrics = receiver.metrics().snapshot();
    println!(
        "receiver: {} callbacks, {} stored, {} duplicates acknowledged and dropped, {} quarantined",
        metrics.received, metrics.stored, metrics.duplicate, metrics.quarantined
    );
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
    if counts.get(Table::Responses) != args.responses
        || counts.get(Table::Answers) != args.responses * questions_per_response
    {
        return Err(CliError::new(
            "the database does not hold exactly the simulated responses (see above)",
        ));
    }

    if !args.no_serve {
        let listener = bind(args.listen).await?;
        let dashboard = crate::dashboard::serve(listener, sink.clone());
        println!(
            "\ndashboard at {} — Ctrl-C stops (explore the data with `kaizala export --db {} --table responses`)",
            dashboard.url(),
            args.db
        );
        interrupted().await;
        dashboard.shutdown().await;
    }
    receiver.shutdown().await;
    projector.shutdown().await;
    emulator.shutdown().await;
    sink.close().await;
    Ok(())
}

/// The SQLite file the demo fills, emptied first; its URL.
fn prepare_database(db: &str) -> CliResult<String> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        return Err(CliError::new("the demo runs on SQLite only")
            .hint("give --db a file path; use `kaizala ingest --db postgres://…` for PostgreSQL"));
    }
    let path = Path::new(db.strip_prefix("sqlite://").unwrap_or(db));
    for (i, file) in kaizala_sink::sqlite_files(path).into_iter().enumerate() {
        match std::fs::remove_file(&file) {
            Ok(()) if i == 0 => {
                eprintln!("replacing {} (the demo starts empty)", file.display());
            }
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                let file = file.display();
                return Err(CliError::new(format!("cannot replace {file}: {err}")));
            }
        }
    }
    Ok(path.display().to_string())
}

fn callback_token() -> String {
    let mut rng = StdRng::from_os_rng();
    (0..32)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)]))
        .collect()
}

fn client(emulator: &RunningEmulator) -> CliResult<Client> {
    let seeded = emulator
        .credentials()
        .ok_or_else(|| CliError::new("the emulator's demo seed has no connector"))?;
    Ok(Client::builder()
        .credentials(seeded.to_credentials())
        .base_url(&seeded.base_url)
        .build()?)
}

/// The events a simulation summary says it produced.
fn produced(summary: &Value) -> u64 {
    summary["events"]
        .as_object()
        .map_or(0, |events| events.values().filter_map(Value::as_u64).sum())
}

/// Waits until the `events` table holds `expected` rows.
async fn wait_for_events(sink: &Sink, expected: u64, timeout: Duration) -> CliResult {
    let bar = progress::bar(expected, "events stored");
    let deadline = Instant::now() + timeout;
    loop {
        let stored = sink.counts().await?.get(Table::Events);
        bar.set_position(stored.min(expected));
        if stored >= expected {
            bar.finish_and_clear();
            eprintln!("{stored} events stored");
            return Ok(());
        }
        if Instant::now() > deadline {
            bar.abandon();
            return Err(CliError::new(format!(
                "only {stored} of {expected} events arrived within {} s",
                timeout.as_secs()
            ))
            .hint("raise --timeout, or run with -v to see what the receiver does"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_counts_every_event_type() {
        let summary = json!({"events": {"MemberAdded": 2, "SurveyResponse": 10}, "responses": 8});
        assert_eq!(produced(&summary), 12);
        assert_eq!(produced(&json!({})), 0);
    }

    #[test]
    fn the_demo_database_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("demo.db");
        for suffix in ["", "-wal", "-shm", "-log", "-log-wal", "-log-shm"] {
            std::fs::write(format!("{}{suffix}", db.display()), "old").unwrap();
        }
        let url = prepare_database(&format!("sqlite://{}", db.display())).unwrap();
        assert_eq!(url, db.display().to_string());
        for suffix in ["", "-wal", "-shm", "-log", "-log-wal", "-log-shm"] {
            assert!(!Path::new(&format!("{}{suffix}", db.display())).exists());
        }
        assert!(prepare_database("postgres://x@localhost/db").is_err());
    }
}
