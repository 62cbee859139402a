//! `kaizala demo --no-serve`, the README's first command, end to end: the
//! real binary runs the emulator, registers the receiver, has the survey
//! answered, waits for every event and prints the summary; the database it
//! leaves holds exactly the simulated responses and their answers, each
//! event once.

use std::process::{Command, Stdio};

use kaizala_sink::{Sink, Table};

const KAIZALA: &str = env!("CARGO_BIN_EXE_kaizala");
const RESPONSES: u64 = 150;
/// The survey's five questions and the app's hidden `ResponseTime`.
const ANSWERS_PER_RESPONSE: u64 = 6;

fn demo(db: impl AsRef<std::ffi::OsStr>) -> (String, String) {
    let output = Command::new(KAIZALA)
        .args(["demo", "--no-serve", "--messages", "12", "--responses"])
        .arg(RESPONSES.to_string())
        .arg("--db")
        .arg(db)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert!(
        output.status.success(),
        "kaizala demo failed ({}):\n{stdout}{stderr}",
        output.status
    );
    (stdout, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_stores_exactly_what_was_simulated() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    // Twice on one file: the second run starts from an empty database.
    for _ in 0..2 {
        let (stdout, _) = demo(&db);
        assert!(
            stdout.contains(&format!(
                "responses: {RESPONSES} stored for {RESPONSES} simulated; answers: {} ({ANSWERS_PER_RESPONSE} per response)",
                RESPONSES * ANSWERS_PER_RESPONSE
            )),
            "{stdout}"
        );
        assert!(
            stdout.contains("Store visit — "),
            "no answer distribution:\n{stdout}"
        );

        let sink = Sink::connect(db.to_str().unwrap()).await.unwrap();
        let counts = sink.counts().await.unwrap();
        assert_eq!(counts.get(Table::Responses), RESPONSES);
        assert_eq!(counts.get(Table::Answers), RESPONSES * ANSWERS_PER_RESPONSE);
        assert_eq!(counts.get(Table::Messages), 12);
        assert_eq!(counts.get(Table::Quarantine), 0);
        let first_line = stdout.lines().find(|l| l.contains(" events, ")).unwrap();
        let events: u64 = first_line
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(counts.get(Table::Events), events, "{first_line}");
        let distinct: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT event_id) FROM events")
            .fetch_one(sink.pool())
            .await
            .unwrap();
        assert_eq!(distinct as u64, events);
        sink.close().await;
    }
}

/// Each `kz_*` view over a raw table, and the rows it must hold: one per
/// row of the table (names are joined in, never filtered by).
const VIEWS_OVER_TABLES: [(&str, &str); 10] = [
    ("kz_groups", "SELECT COUNT(*) FROM groups"),
    ("kz_members", "SELECT COUNT(*) FROM members"),
    ("kz_member_changes", "SELECT COUNT(*) FROM member_changes"),
    ("kz_messages", "SELECT COUNT(*) FROM messages"),
    ("kz_attachments", "SELECT COUNT(*) FROM attachments"),
    ("kz_actions", "SELECT COUNT(*) FROM actions"),
    ("kz_responses", "SELECT COUNT(*) FROM responses"),
    ("kz_answers", "SELECT COUNT(*) FROM answers"),
    ("kz_reactions", "SELECT COUNT(*) FROM reactions"),
    ("kz_events", "SELECT COUNT(*) FROM event_index"),
];

/// After the demo (which runs on SQLite), every `kz_*` view holds as many
/// rows as the table under it, and the daily view as many responses. (On
/// both backends, kaizala-sink's `tests/rebuild.rs` checks every view's
/// columns and counts after its mixed workload.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_demo_the_views_agree_with_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.db");
    demo(&path);
    let sink = Sink::connect(path.to_str().unwrap()).await.unwrap();
    let count = |sql: String| {
        let pool = sink.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>(&sql)
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }
    };
    for (view, table) in VIEWS_OVER_TABLES {
        let rows = count(format!("SELECT COUNT(*) FROM {view}")).await;
        assert_eq!(rows, count(table.to_owned()).await, "{view}");
        // What the demo's push-only traffic fills (no group events).
        let filled = ["kz_messages", "kz_responses", "kz_answers", "kz_events"];
        assert!(rows > 0 || !filled.contains(&view), "{view} is empty");
    }
    let daily = count("SELECT CAST(SUM(responses) AS BIGINT) FROM kz_responses_daily".into());
    assert_eq!(daily.await, RESPONSES as i64);
    sink.close().await;
}
