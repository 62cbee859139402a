//! The commands that call the API — `token`, `webhook create|list|update|
//! delete`, `sync` — run as the real binary against the emulator, with the
//! credentials from a profile file (as `kaizala emulator --credentials-out`
//! writes it) and from the environment; then `export` reads back what
//! `sync` stored. No secret is ever printed.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use kaizala_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use kaizala_webhook::{MemoryEventStore, ReceiverConfig, serve};
use serde_json::Value;

const KAIZALA: &str = env!("CARGO_BIN_EXE_kaizala");
const CALLBACK_TOKEN: &str = "cli-test-callback-token-9f2";

/// Runs `kaizala args…` with `env`, off the async runtime; it must succeed.
async fn kaizala(args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let mut command = Command::new(KAIZALA);
    command
        .args(args)
        .stdin(Stdio::null())
        .env_remove("KAIZALA_PROFILE")
        .env_remove("KAIZALA_DB")
        .env_remove("KAIZALA_CALLBACK_TOKEN");
    for (name, value) in env {
        command.env(name, value);
    }
    let args = args.join(" ");
    let output: Output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "kaizala {args} failed ({}):\n{stdout}{stderr}",
        output.status
    );
    (stdout, stderr)
}

fn no_secret(emulator: &RunningEmulator, text: &str) {
    let credentials = emulator.credentials().unwrap();
    for secret in [
        credentials.application_secret.as_str(),
        credentials.refresh_token.as_str(),
        CALLBACK_TOKEN,
    ] {
        assert!(!text.contains(secret), "a secret was printed:\n{text}");
    }
}

fn write_profile(emulator: &RunningEmulator, path: &Path) {
    let credentials = emulator.credentials().unwrap();
    std::fs::write(path, serde_json::to_vec(&credentials).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_webhooks_sync_and_export_against_the_emulator() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let credentials = emulator.credentials().unwrap();
    let group = credentials.group_id.clone();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("creds.json");
    write_profile(&emulator, &profile);
    let profile = profile.to_str().unwrap();

    // token: from the profile, and from the environment.
    let (out, err) = kaizala(&["token", "--profile", profile], &[]).await;
    assert!(out.contains("scope "), "{out}");
    no_secret(&emulator, &(out + &err));
    let env = [
        (
            "KAIZALA_APPLICATION_ID",
            credentials.application_id.as_str(),
        ),
        (
            "KAIZALA_APPLICATION_SECRET",
            credentials.application_secret.as_str(),
        ),
        ("KAIZALA_REFRESH_TOKEN", credentials.refresh_token.as_str()),
        ("KAIZALA_BASE_URL", credentials.base_url.as_str()),
    ];
    let (out, err) = kaizala(&["token"], &env).await;
    assert!(out.contains("endpoint "), "{out}");
    no_secret(&emulator, &(out + &err));

    // webhook create (the receiver answers the validation), list, update, delete.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = ReceiverConfig::new()
        .callback_token(CALLBACK_TOKEN)
        .unwrap();
    let receiver = serve(listener, config, MemoryEventStore::new());
    let url = receiver.url();
    let secret = [("KAIZALA_CALLBACK_TOKEN", CALLBACK_TOKEN)];
    let (out, err) = kaizala(
        &[
            "webhook",
            "create",
            "--profile",
            profile,
            "--object-id",
            &group,
            "--url",
            &url,
            "--event-type",
            "TextMessageCreated",
        ],
        &secret,
    )
    .await;
    no_secret(&emulator, &(out.clone() + &err));
    let id = out.trim().to_owned();
    assert!(!id.is_empty() && !id.contains(char::is_whitespace), "{out}");

    let (out, _) = kaizala(
        &[
            "webhook",
            "list",
            "--profile",
            profile,
            "--object-id",
            &group,
        ],
        &[],
    )
    .await;
    let line = out
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("active") && line.contains("TextMessageCreated"),
        "{line}"
    );

    let (out, _) = kaizala(
        &[
            "webhook",
            "update",
            "--profile",
            profile,
            &id,
            "--event-type",
            "MemberAdded",
            "--event-type",
            "TextMessageCreated",
        ],
        &[],
    )
    .await;
    assert_eq!(out.trim(), format!("updated {id}"));
    let (out, _) = kaizala(
        &[
            "webhook",
            "list",
            "--profile",
            profile,
            "--object-id",
            &group,
        ],
        &[],
    )
    .await;
    let line = out.lines().find(|l| l.starts_with(&id)).unwrap();
    assert!(line.contains("MemberAdded"), "{line}");

    let (out, _) = kaizala(&["webhook", "delete", "--profile", profile, &id], &[]).await;
    assert_eq!(out.trim(), format!("deleted {id}"));
    let (out, err) = kaizala(
        &[
            "webhook",
            "list",
            "--profile",
            profile,
            "--object-id",
            &group,
        ],
        &[],
    )
    .await;
    assert!(!out.contains(&id), "{out}{err}");
    receiver.shutdown().await;

    // sync, then export what it stored.
    let db = dir.path().join("pulled.db");
    let db = db.to_str().unwrap();
    let (out, err) = kaizala(&["sync", "--profile", profile, "--db", db], &[]).await;
    no_secret(&emulator, &(out.clone() + &err));
    let groups: u64 = out.split_whitespace().next().unwrap().parse().unwrap();
    assert!(groups >= 1, "{out}");
    let (json, _) = kaizala(
        &[
            "export", "--db", db, "--table", "groups", "--format", "json",
        ],
        &[],
    )
    .await;
    let rows: Vec<Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(rows.len() as u64, groups, "{json}");
    assert!(
        rows.iter().any(|r| r["group_id"] == group.as_str()),
        "the seeded group is missing: {json}"
    );
    let (csv, _) = kaizala(&["export", "--db", db, "--table", "members"], &[]).await;
    assert!(csv.lines().count() > 1, "no members exported:\n{csv}");

    // A second sync finds everything as it was.
    let (again, _) = kaizala(&["sync", "--profile", profile, "--db", db], &[]).await;
    assert!(again.contains("responses: 0 new, 0 updated"), "{again}");
    emulator.shutdown().await;
}
