//! `kaizala export`'s formats and `--out`, the real binary on an SQLite
//! file: NDJSON is one object per line; `--excel` starts with a byte order
//! mark, keeps Devanagari text and shows formula-like cells as text; `--out`
//! replaces the file only once the export is complete, and a failed export
//! leaves the old file and no temporary one.

mod ingest_support;

use std::process::{Command, Stdio};
use std::time::SystemTime;

use ingest_support::{kaizala, text};
use kaizala_sink::Sink;
use kaizala_webhook::store::{EventStore, IncomingEvent};
use serde_json::json;

const TEXTS: [&str; 4] = [
    "नमस्ते, दुकान खुली है",
    "=HYPERLINK(\"http://x\")",
    "+91 99",
    "plain",
];

/// Stores a text message per item of `texts`, and projects them.
async fn messages<T: serde::Serialize>(db: &str, texts: impl IntoIterator<Item = T>) {
    let sink = Sink::connect(db).await.unwrap();
    for (i, text) in texts.into_iter().enumerate() {
        let event = json!({"eventId": format!("m{i}"), "eventType": "TextMessageCreated",
            "objectId": "g1", "objectType": "Group",
            "data": {"text": text, "senderName": "Asha Rao"}});
        let body = serde_json::to_vec(&event).unwrap();
        sink.event_store()
            .store(&IncomingEvent::new(body, SystemTime::now()).unwrap())
            .await
            .unwrap();
    }
    sink.project().await.unwrap();
    sink.close().await;
}

#[tokio::test]
async fn ndjson_excel_and_an_atomic_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sink.db");
    let db = db.to_str().unwrap();
    messages(db, TEXTS).await;

    let out = kaizala(&[
        "export",
        "--db",
        db,
        "--table",
        "kz_messages",
        "--format",
        "ndjson",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), TEXTS.len());
    let mut seen: Vec<&str> = lines.iter().map(|l| l["text"].as_str().unwrap()).collect();
    seen.sort_unstable();
    let mut expected = TEXTS.to_vec();
    expected.sort_unstable();
    assert_eq!(seen, expected);

    let out = kaizala(&["export", "--db", db, "--table", "kz_messages", "--excel"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        out.stdout.starts_with(b"\xEF\xBB\xBF"),
        "no byte order mark"
    );
    let csv = text(&out.stdout);
    assert!(csv.contains("नमस्ते, दुकान खुली है"), "{csv}");
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{csv}");
    assert!(csv.contains(",'+91 99,"), "{csv}");
    assert!(!csv.contains(",=HYPERLINK"), "{csv}");

    // --out: complete or untouched.
    let file = dir.path().join("messages.csv");
    std::fs::write(&file, "old").unwrap();
    let path = file.to_str().unwrap();
    let out = kaizala(&["export", "--db", db, "--table", "messages", "--out", path]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(written.lines().count(), TEXTS.len() + 1, "{written}");
    std::fs::write(&file, "old").unwrap();
    // A view whose tables are not built fails after the file was opened.
    let sink = Sink::connect(db).await.unwrap();
    sqlx::raw_sql("DROP VIEW kz_messages")
        .execute(sink.pool())
        .await
        .unwrap();
    sink.close().await;
    let out = kaizala(&[
        "export",
        "--db",
        db,
        "--table",
        "kz_messages",
        "--out",
        path,
    ]);
    assert!(!out.status.success(), "exported a dropped view");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "old");
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// `kaizala export … | head`: the reader closing the pipe early ends the
/// export quietly, with success, as `cat` would.
#[tokio::test]
async fn a_reader_that_stops_early_is_not_an_error() {
    use std::io::{BufRead, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sink.db");
    let db = db.to_str().unwrap();
    // Far more than a pipe holds (64 KiB), so the writer meets the close.
    messages(db, (0..400).map(|_| "x".repeat(2_000))).await;

    let mut child = Command::new(env!("CARGO_BIN_EXE_kaizala"))
        .args(["export", "--db", db, "--table", "kz_messages"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("event_id,"), "{first}");
    // The reader is gone.
    let out = child.wait_with_output().unwrap();
    let said = text(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(!said.contains("Broken pipe"), "{said}");
}
