//! `kaizala airbyte` (and `kaizala singer`'s bad input) against the emulator: PyAirbyte
//! reads every stream into its DuckDB cache, counts equal the platform's
//! data, an incremental read after more responses gives only the new and
//! updated rows, every message validates against the Airbyte protocol's
//! models; credentials revoked mid-read end it with an error and a state
//! that stays valid.
//!
//! PyAirbyte and the protocol models come from PyPI, in the Python
//! `KAIZALA_TEST_PYTHON_AIRBYTE` names (`cargo xtask test` makes it);
//! without it the PyPI parts are skipped, unless
//! `KAIZALA_TEST_REQUIRE_SERVICES=1`.

mod connectors_support;
mod ingest_support;

use connectors_support::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyairbyte_reads_every_stream_then_only_what_is_new() {
    let (platform, action) = Platform::surveyed(12, 3, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let config = platform.config(dir.path(), None);

    // The protocol itself: a first read of every stream, then one from its state.
    let catalog = write_catalog(dir.path());
    let first = airbyte(&["read", "--config", &config, "--catalog", &catalog]).await;
    assert!(first.status.success(), "{}", first.stderr);
    let before = platform.response_versions();
    assert_eq!(
        ids(&first.records("responses"), "response_id"),
        before.keys().cloned().collect()
    );
    assert_eq!(first.records("answers").len(), 12 * QUESTIONS);
    assert_eq!(first.records("actions").len(), 1);
    assert_eq!(first.records("groups").len(), platform.group_count().await);
    assert_eq!(
        first.records("members").len() + first.records("subscribers").len(),
        platform.member_count().await
    );
    let reactions = first.records("reactions");
    assert_eq!(reactions.len(), 1);
    assert_eq!(
        (
            reactions[0]["likes"].clone(),
            reactions[0]["comments"].clone()
        ),
        (json!(3), json!(2))
    );
    no_secret(&platform, &first.stdout);
    no_secret(&platform, &first.stderr);

    let state = dir.path().join("state.json");
    std::fs::write(&state, serde_json::to_vec(&first.last_states()).unwrap()).unwrap();

    let python = airbyte_python();
    let wrapper = executable(dir.path());
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    if let Some(python) = &python {
        validate(python, &first.stdout);
        for command in [
            vec!["spec"],
            vec!["check", "--config", &config],
            vec!["discover", "--config", &config],
        ] {
            let out = airbyte(&command).await;
            assert!(out.status.success(), "{}", out.stderr);
            validate(python, &out.stdout);
        }
        let counts = pyairbyte(python, &wrapper, &config, &cache);
        assert_eq!(counts["counts"]["responses"], json!(12), "{counts}");
        assert_eq!(
            counts["counts"]["answers"],
            json!(12 * QUESTIONS),
            "{counts}"
        );
        assert_eq!(counts["counts"]["actions"], json!(1), "{counts}");
        assert_eq!(
            counts["counts"]["groups"],
            json!(platform.group_count().await),
            "{counts}"
        );
    }

    // More responses, a few answered again, earlier ones changed, more likes.
    let changed = platform.more_responses(&action, 6).await;
    platform.react(&action, 1, 0).await;
    let after = platform.response_versions();

    // Only what is new or changed: the new and updated responses and their
    // answers, the action (its response count moved), the reaction counts.
    let second = read_from(&config, &catalog, &state).await;
    assert_eq!(ids(&second.records("responses"), "response_id"), changed);
    let answers = second.records("answers");
    assert_eq!(answers.len(), changed.len() * QUESTIONS);
    assert_eq!(ids(&answers, "response_id"), changed);
    assert_eq!(second.records("actions").len(), 1);
    let reactions = second.records("reactions");
    assert_eq!(reactions.len(), 1);
    assert_eq!(reactions[0]["likes"], json!(4));
    // Full-refresh streams come whole.
    assert_eq!(second.records("groups").len(), platform.group_count().await);
    // Nothing changed since: a third read from the second's state brings
    // no incremental row.
    let state2 = dir.path().join("state2.json");
    std::fs::write(&state2, serde_json::to_vec(&second.last_states()).unwrap()).unwrap();
    let third = read_from(&config, &catalog, &state2).await;
    for stream in ["actions", "responses", "answers", "reactions"] {
        assert!(
            third.records(stream).is_empty(),
            "{stream}: {}",
            third.stdout
        );
    }
    if let Some(python) = &python {
        validate(python, &second.stdout);
        // PyAirbyte keeps the state of its first read in its cache and reads
        // from it: the same records as the read above.
        let counts = pyairbyte(python, &wrapper, &config, &cache);
        assert_eq!(
            counts["processed"],
            json!(second.record_count()),
            "{counts}"
        );
        assert_eq!(
            counts["counts"]["responses"],
            json!(after.len()),
            "{counts}"
        );
        assert_eq!(
            counts["counts"]["answers"],
            json!(after.len() * QUESTIONS),
            "{counts}"
        );
    }
    platform.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_date_skips_actions_from_before_it() {
    let platform = Platform::start().await;
    let old = platform.survey().await;
    platform
        .emulator
        .advance(std::time::Duration::from_secs(2 * 86_400));
    let start = platform.emulator.clock().now_ms() - 86_400_000;
    let new = platform.survey().await;
    let dir = tempfile::tempdir().unwrap();
    let config = platform.config(dir.path(), None);
    let mut with_start: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    with_start["start_date"] = json!(
        jiff::Timestamp::from_millisecond(start)
            .unwrap()
            .to_string()
    );
    std::fs::write(&config, with_start.to_string()).unwrap();
    let catalog = write_catalog(dir.path());

    let run = airbyte(&["read", "--config", &config, "--catalog", &catalog]).await;
    assert!(run.status.success(), "{}", run.stderr);
    let actions = ids(&run.records("actions"), "action_id");
    assert_eq!(actions, [new].into_iter().collect(), "not {old}");
    platform.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_credentials_end_a_read_with_a_valid_state() {
    let platform = Platform::start().await;
    let action = platform.survey().await;
    // Enough answers that the read waits on its output after the first
    // group's first state, until the test has revoked the credentials.
    platform.respond(&action, 400, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let groups = platform.group_ids().await;
    assert!(groups.len() >= 2);
    let config = platform.config(dir.path(), Some(&groups));
    let catalog = write_catalog(dir.path());

    let revoked = airbyte_revoking(
        &["read", "--config", &config, "--catalog", &catalog],
        || platform.revoke(),
    )
    .await;
    assert!(
        !revoked.status.success(),
        "the read went on after the credentials were revoked"
    );
    let trace = revoked
        .messages()
        .into_iter()
        .find(|m| m["type"] == "TRACE" && m["trace"]["type"] == "ERROR");
    let trace = trace.unwrap_or_else(|| panic!("no TRACE ERROR:\n{}", revoked.stdout));
    assert_eq!(trace["trace"]["error"]["failure_type"], "config_error");
    assert_eq!(
        revoked.stderr.trim().lines().count(),
        1,
        "{}",
        revoked.stderr
    );
    // The first group was read in full, the state says so.
    let states = revoked.last_states();
    let responses = states
        .iter()
        .find(|s| s["stream"]["stream_descriptor"]["name"] == "responses")
        .unwrap();
    assert_eq!(
        responses["stream"]["stream_state"]["groups"][&groups[0]]
            .as_array()
            .map(Vec::len),
        Some(400),
        "{responses}"
    );
    assert_eq!(revoked.records("responses").len(), 400);

    // With the credentials back, a read from that state reads every group.
    platform.restore();
    let state = dir.path().join("state.json");
    std::fs::write(&state, serde_json::to_vec(&states).unwrap()).unwrap();
    let resumed = read_from(&config, &catalog, &state).await;
    let states = resumed.last_states();
    let actions = states
        .iter()
        .find(|s| s["stream"]["stream_descriptor"]["name"] == "actions")
        .unwrap();
    assert_eq!(
        actions["stream"]["stream_state"]["groups"][&groups[0]]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{actions}"
    );
    // The first group's rows came before the revocation: not again.
    assert!(
        resumed.records("responses").is_empty(),
        "{}",
        resumed.stdout
    );
    if let Some(python) = airbyte_python() {
        validate(&python, &revoked.stdout);
    }
    platform.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_get_one_line_and_a_trace() {
    let platform = Platform::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = platform.config(dir.path(), None);
    let catalog = write_catalog(dir.path());
    let bad = dir.path().join("bad.json");
    let bad_arg = bad.to_str().unwrap().to_owned();
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("{\"base_url\": 1}", vec!["check", "--config", &bad_arg]),
        ("not json", vec!["discover", "--config", &bad_arg]),
        (
            "{\"streams\": [{\"stream\": {\"name\": \"nope\"}, \"sync_mode\": \"incremental\"}]}",
            vec!["read", "--config", &config, "--catalog", &bad_arg],
        ),
        (
            "[{\"type\": \"STREAM\", \"stream\": {\"stream_descriptor\": {\"name\": \"responses\"}, \"stream_state\": {\"groups\": {\"g\": \"x\"}}}}]",
            vec![
                "read",
                "--config",
                &config,
                "--catalog",
                &catalog,
                "--state",
                &bad_arg,
            ],
        ),
    ];
    for (content, args) in cases {
        std::fs::write(&bad, content).unwrap();
        let out = airbyte(&args).await;
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(
            out.stderr.trim().lines().count(),
            1,
            "{args:?}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked") && !out.stderr.contains("internal error"));
        let messages = out.messages();
        assert!(
            messages
                .iter()
                .any(|m| m["type"] == "TRACE"
                    && m["trace"]["error"]["failure_type"] == "config_error"),
            "{args:?}: {}",
            out.stdout
        );
        let singer = singer(&["--config", &bad_arg]).await;
        assert!(!singer.status.success());
        assert_eq!(singer.stderr.trim().lines().count(), 1, "{}", singer.stderr);
    }
    platform.stop().await;
}

/// `kaizala airbyte read` from the state in `state`; it must succeed.
async fn read_from(config: &str, catalog: &str, state: &std::path::Path) -> Run {
    let state = state.to_str().unwrap();
    let run = airbyte(&[
        "read",
        "--config",
        config,
        "--catalog",
        catalog,
        "--state",
        state,
    ])
    .await;
    assert!(run.status.success(), "{}", run.stderr);
    run
}
