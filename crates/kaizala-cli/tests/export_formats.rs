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

/// Stores text messages `(event id, received at in epoch ms)` and projects
/// them.
async fn messages_at(db: &str, messages: &[(&str, u64)]) {
    let sink = Sink::connect(db).await.unwrap();
    for (id, millis) in messages {
        let event = json!({"eventId": id, "eventType": "TextMessageCreated",
            "objectId": "g1", "objectType": "Group", "data": {"text": id}});
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(*millis);
        sink.event_store()
            .store(&IncomingEvent::new(serde_json::to_vec(&event).unwrap(), at).unwrap())
            .await
            .unwrap();
    }
    sink.project().await.unwrap();
    sink.close().await;
}

/// The event ids in an NDJSON file.
fn ids_in(file: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            row["event_id"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// The cursor `kaizala export` printed on standard error.
fn next_cursor(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|line| line.strip_prefix("next cursor: "))
        .unwrap_or_else(|| panic!("no next cursor in {stderr}"))
        .to_owned()
}

/// `--after` the printed cursor exports only the newer rows; `--since` a
/// local time of the sink's zone; `--cursor-file` keeps the cursor.
#[tokio::test]
async fn incremental_exports_resume_after_the_printed_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sink.db");
    let db = db.to_str().unwrap();
    // 2026-03-10T20:00:00Z is 2026-03-11 01:30 in Kolkata.
    let t = 1_773_172_800_000;
    messages_at(db, &[("m1", t - 60_000), ("m2", t)]).await;
    let first = dir.path().join("first.ndjson");
    let export_as = |format: &str, out: &std::path::Path, more: &[&str]| {
        let table = ["--table", "kz_messages", "--format", format];
        let mut args = vec!["export", "--db", db];
        args.extend_from_slice(&table);
        args.extend_from_slice(&["--out", out.to_str().unwrap()]);
        args.extend_from_slice(more);
        let out = kaizala(&args);
        let said = text(&out.stderr);
        assert!(out.status.success(), "{said}");
        said
    };
    let export = |out: &std::path::Path, more: &[&str]| export_as("ndjson", out, more);
    let said = export(&first, &[]);
    assert_eq!(ids_in(&first), ["m1", "m2"]);
    assert!(said.contains("--after"), "no hint: {said}");
    let cursor = next_cursor(&said);
    let first_cursor = cursor.clone();

    // m3 ties m2's time with a greater id; m4 is later.
    messages_at(db, &[("m3", t), ("m4", t + 1)]).await;
    let second = dir.path().join("second.ndjson");
    let said = export(&second, &["--after", &cursor]);
    assert_eq!(ids_in(&second), ["m3", "m4"]);
    let cursor = next_cursor(&said);
    let said = export(&second, &["--after", &cursor]);
    assert!(ids_in(&second).is_empty());
    assert!(said.contains("nothing new since the cursor"), "{said}");
    assert_eq!(next_cursor(&said), cursor);

    // A local time of the sink's zone, and the same instant in UTC.
    let sink = Sink::connect(db).await.unwrap();
    sink.set_time_zone("Asia/Kolkata").await.unwrap();
    sink.close().await;
    for since in ["2026-03-11 01:30", "2026-03-10T20:00:00Z"] {
        export(&second, &["--since", since]);
        assert_eq!(ids_in(&second), ["m2", "m3", "m4"], "--since {since}");
    }

    // A cursor file: from --since the first time, then after its cursor.
    let kept = dir.path().join("cursor");
    let kept_arg = kept.to_str().unwrap();
    export(
        &second,
        &["--cursor-file", kept_arg, "--since", "2026-03-11"],
    );
    assert_eq!(ids_in(&second), ["m1", "m2", "m3", "m4"]);
    assert!(std::fs::read_to_string(&kept).unwrap().starts_with("kz1."));
    messages_at(db, &[("m5", t + 2)]).await;
    export(
        &second,
        &["--cursor-file", kept_arg, "--since", "2026-03-11"],
    );
    assert_eq!(ids_in(&second), ["m5"]);

    // Parquet resumes alike: the rows after the first export, its cursor.
    let parquet = dir.path().join("new.parquet");
    let said = export_as("parquet", &parquet, &["--after", &first_cursor]);
    assert!(said.contains("3 rows of kz_messages"), "{said}");
    assert_eq!(
        next_cursor(&said),
        std::fs::read_to_string(&kept).unwrap().trim()
    );

    // --help names every incremental table.
    let help = text(&kaizala(&["export", "--help"]).stdout);
    let since = &help[help.find("--since <TIME>").unwrap()..help.find("--after <CURSOR>").unwrap()];
    for table in kaizala_sink::Table::incremental() {
        assert!(since.contains(table.name()), "--since's help omits {table}");
    }

    // Refusals: a table exported whole, a garbled cursor, an unreadable time.
    std::fs::write(&kept, "garbled").unwrap();
    for (more, expected) in [
        (
            ["--table", "kz_groups", "--cursor-file", kept_arg],
            "kz_messages",
        ),
        (
            ["--table", "kz_messages", "--cursor-file", kept_arg],
            kept_arg,
        ),
        (
            ["--table", "kz_groups", "--since", "2026-03-10"],
            "kz_messages",
        ),
        (["--table", "kz_messages", "--after", "kz1.???"], "cursor"),
        (
            ["--table", "kz_messages", "--since", "yesterday"],
            "yesterday",
        ),
    ] {
        let mut args = vec!["export", "--db", db];
        args.extend_from_slice(&more);
        let out = kaizala(&args);
        let said = text(&out.stderr);
        assert!(!out.status.success(), "{more:?}");
        assert!(said.contains(expected), "{more:?}: {said}");
    }
}
