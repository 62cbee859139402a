//! `kaizala ingest`'s production options: two callback tokens at once (a
//! rotation needs no restart), `--log-format json`, and no ANSI colours
//! when standard error is not a terminal.
//!
//! The real binary runs as a child process on an SQLite file, its standard
//! error going to a file (not a terminal).

mod ingest_support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use ingest_support::events::sample_event;
use ingest_support::{
    Ingest, Summary, TOKEN, TestDb, free_port, http_client, post_event_with, scalar,
};
use serde_json::Value;

/// The token the webhook is being rotated to.
const NEXT: &str = "next-callback-token-rotated-3f9a";

/// Starts `kaizala ingest` with both tokens and `extra`; POSTs an event
/// with each token (both stored), one with a wrong token (refused), and a
/// body that is no event (quarantined, which logs a warning); stops it.
/// Its standard error.
async fn rotate(label: &str, extra: &[&str]) -> String {
    let db = TestDb::sqlite();
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut args = vec!["--callback-token", NEXT];
    args.extend_from_slice(extra);
    let ingest = Ingest::spawn_with(&db.url, addr, db.dir.path(), label, &args);
    ingest.wait_ready().await;
    let client = http_client();
    let url = ingest.url();
    for (i, token) in [TOKEN, NEXT].into_iter().enumerate() {
        let event = sample_event(label, i as u64, None);
        let status = post_event_with(&client, &url, event.body, token).await;
        assert_eq!(status, Ok(200), "token {i}:\n{}", ingest.stderr());
    }
    let event = sample_event(label, 2, None);
    let status = post_event_with(&client, &url, event.body, "a-third-token").await;
    assert_eq!(status, Ok(401), "a wrong token:\n{}", ingest.stderr());
    let junk = Bytes::from_static(b"not an event");
    let status = post_event_with(&client, &url, junk, NEXT).await;
    assert!(
        matches!(status, Ok(200..=299)),
        "{status:?}:\n{}",
        ingest.stderr()
    );
    let stderr = tokio::time::timeout(Duration::from_secs(60), ingest.terminate())
        .await
        .expect("kaizala ingest stops");
    let sink = db.connect().await;
    assert_eq!(scalar(&sink, "SELECT COUNT(*) FROM events").await, 2);
    sink.close().await;
    assert!(
        !stderr.contains(TOKEN) && !stderr.contains(NEXT),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "ANSI escape in:\n{stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tokens_accepted_at_once_with_json_lines_on_stderr() {
    let stderr = rotate("json", &["--log-format", "json", "-v"]).await;
    let lines: Vec<Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let message = |line: &Value| line["fields"]["message"].as_str().map(str::to_owned);
    assert!(
        lines.iter().all(|l| l["level"].is_string()),
        "no level in:\n{stderr}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "WARN" && message(l).is_some_and(|m| m.contains("quarantined"))),
        "no quarantine warning in:\n{stderr}"
    );
    let summary = lines
        .iter()
        .filter_map(message)
        .find(|m| m.ends_with(" refused"))
        .unwrap_or_else(|| panic!("no summary in:\n{stderr}"));
    let summary = Summary::parse(&summary);
    assert_eq!(
        (summary.stored, summary.quarantined, summary.refused),
        (2, 1, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tokens_accepted_at_once_in_text_without_colours() {
    let stderr = rotate("text", &[]).await;
    assert!(stderr.contains("quarantined"), "{stderr}");
    let summary = Summary::parse(&stderr);
    assert_eq!(
        (summary.stored, summary.quarantined, summary.refused),
        (2, 1, 1)
    );
}
