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

fn demo(db: &std::path::Path) -> (String, String) {
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
