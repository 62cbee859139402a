//! For `connectors.rs`: an emulator with a survey and simulated
//! responses, `kaizala airbyte` / `kaizala singer` as child processes, and
//! the PyPI clients (PyAirbyte, the protocol's models) in their Python.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;

use kaizala_client::Client;
use kaizala_core::session::Credentials;
use kaizala_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use kaizala_types::Secret;
use kaizala_types::actions::{QuestionSpec, QuestionType, SurveyBody};
use serde_json::{Value, json};

pub const KAIZALA: &str = env!("CARGO_BIN_EXE_kaizala");
/// The Python with `airbyte` and `airbyte-protocol-models-pdv2`.
pub const AIRBYTE_PYTHON_VAR: &str = "KAIZALA_TEST_PYTHON_AIRBYTE";
/// The Python with `target-jsonl`.
pub const SINGER_PYTHON_VAR: &str = "KAIZALA_TEST_PYTHON_SINGER";
/// The Python with MeltanoLabs' `target-postgres`.
pub const SINGER_PG_PYTHON_VAR: &str = "KAIZALA_TEST_PYTHON_SINGER_PG";
const REQUIRE_VAR: &str = "KAIZALA_TEST_REQUIRE_SERVICES";
/// Questions of the test survey (answers per response).
pub const QUESTIONS: usize = 3;
/// Every stream.
pub const STREAMS: [&str; 8] = [
    "groups",
    "sub_groups",
    "members",
    "subscribers",
    "actions",
    "responses",
    "answers",
    "reactions",
];

/// Revoked tokens (refresh or access), kept to give back.
type Tokens = BTreeMap<Secret, Value>;

/// The emulator, and a client of its seeded connector.
pub struct Platform {
    pub emulator: RunningEmulator,
    pub client: Client,
    pub group: String,
    saved: Mutex<Option<(Tokens, Tokens)>>,
}

impl Platform {
    pub async fn start() -> Platform {
        let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
        let c = emulator.credentials().unwrap();
        let client = Client::builder()
            .credentials(Credentials::new(
                c.application_id.as_str(),
                c.application_secret.as_str(),
                c.refresh_token.as_str(),
            ))
            .base_url(&c.base_url)
            .build()
            .unwrap();
        Platform {
            group: c.group_id.clone(),
            emulator,
            client,
            saved: Mutex::new(None),
        }
    }

    /// An emulator with a survey, `responses` responses to it, and `likes`
    /// and `comments` on it; the survey's id.
    pub async fn surveyed(responses: u64, likes: u64, comments: u64) -> (Platform, String) {
        let platform = Platform::start().await;
        let action = platform.survey().await;
        platform.respond(&action, responses, 0.0).await;
        platform.react(&action, likes, comments).await;
        (platform, action)
    }

    /// Posts a survey to the group; its id.
    pub async fn survey(&self) -> String {
        let body = SurveyBody::new(
            "Store visit",
            vec![
                QuestionSpec::with_options("Shelf", QuestionType::SingleOption, ["Full", "Empty"]),
                QuestionSpec::new("Cartons", QuestionType::Numeric),
                QuestionSpec::new("Remarks", QuestionType::Text),
            ],
        );
        let posted = self
            .client
            .group(self.group.as_str())
            .actions()
            .create_survey(body)
            .await
            .unwrap();
        posted.action_id.unwrap().to_string()
    }

    /// `count` simulated responses, `updates` of them changing earlier ones.
    pub async fn respond(&self, action: &str, count: u64, updates: f64) {
        self.emulator
            .simulate(
                "responses",
                &json!({"groupId": self.group, "actionId": action, "count": count,
                        "updateFraction": updates}),
            )
            .await
            .unwrap();
    }

    pub async fn react(&self, action: &str, likes: u64, comments: u64) {
        let reference = self
            .emulator
            .state(|s| s.actions[action].reference_id.clone());
        self.emulator
            .simulate(
                "reactions",
                &json!({"groupId": self.group, "referenceId": reference,
                        "likes": likes, "comments": comments}),
            )
            .await
            .unwrap();
    }

    /// Changes the last answer (the survey's text question) of the first
    /// `count` responses to `action`, as their responders would by
    /// answering again: same id, new content. Their ids.
    pub fn update_responses(&self, action: &str, count: usize) -> Vec<String> {
        let now = self.emulator.clock().now_ms();
        self.emulator.shared().store.write(|s| {
            let responses = &mut s.actions.get_mut(action).unwrap().responses;
            responses
                .iter_mut()
                .take(count)
                .map(|r| {
                    let answers = r.body["answers"].as_array_mut().unwrap();
                    *answers.last_mut().unwrap() = json!(format!("second thoughts at {now}"));
                    r.updated_ms = now;
                    r.updated = true;
                    r.response_id.clone()
                })
                .collect()
        })
    }

    /// After a first read: `count` new responses (half of them answered
    /// twice) and two earlier ones changed; the ids of every new or
    /// changed response.
    pub async fn more_responses(&self, action: &str, count: u64) -> BTreeSet<String> {
        let before = self.response_versions();
        self.advance();
        self.respond(action, count, 0.5).await;
        let updated = self.update_responses(action, 2);
        let changed: BTreeSet<String> = self
            .response_versions()
            .into_iter()
            .filter(|(id, at)| before.get(id) != Some(at))
            .map(|(id, _)| id)
            .collect();
        assert_eq!(changed.len(), count as usize + updated.len(), "{changed:?}");
        changed
    }

    /// Every response's id and when it last changed.
    pub fn response_versions(&self) -> BTreeMap<String, i64> {
        self.emulator.state(|s| {
            s.actions
                .values()
                .flat_map(|a| a.responses.iter())
                .map(|r| (r.response_id.clone(), r.updated_ms))
                .collect()
        })
    }

    pub async fn group_ids(&self) -> Vec<String> {
        let list = self.client.groups().list_detailed(true).await.unwrap();
        let mut ids: Vec<String> = list.groups.iter().map(|g| g.group_id.to_string()).collect();
        // The survey's group first.
        ids.sort_by_key(|id| *id != self.group);
        ids.dedup();
        ids
    }

    pub async fn group_count(&self) -> usize {
        self.group_ids().await.len()
    }

    /// Members and subscribers of every group, as the API lists them.
    pub async fn member_count(&self) -> usize {
        use futures_util::TryStreamExt;
        let mut n = 0;
        for id in self.group_ids().await {
            let group = self.client.group(id.as_str());
            n += group.members().list().await.map(|m| m.len()).unwrap_or(0);
            let subs: Vec<_> = group
                .subscribers()
                .list()
                .try_collect()
                .await
                .unwrap_or_default();
            n += subs.len();
        }
        n
    }

    /// Moves the virtual clock on, so what follows has later times.
    pub fn advance(&self) {
        self.emulator.advance(std::time::Duration::from_secs(5));
    }

    /// Revokes every token the platform issued.
    pub fn revoke(&self) {
        let saved = self.emulator.shared().store.write(|s| {
            let refresh = std::mem::take(&mut s.refresh_tokens);
            let access = std::mem::take(&mut s.access_tokens);
            (
                refresh
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::to_value(v).unwrap()))
                    .collect(),
                access
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::to_value(v).unwrap()))
                    .collect(),
            )
        });
        *self.saved.lock().unwrap() = Some(saved);
    }

    /// Gives the revoked tokens back.
    pub fn restore(&self) {
        let (refresh, access) = self.saved.lock().unwrap().take().unwrap();
        self.emulator.shared().store.write(|s| {
            for (k, v) in refresh {
                s.refresh_tokens
                    .insert(k, serde_json::from_value(v).unwrap());
            }
            for (k, v) in access {
                s.access_tokens
                    .insert(k, serde_json::from_value(v).unwrap());
            }
        });
    }

    /// The connector's config file in `dir`; its path.
    pub fn config(&self, dir: &Path, groups: Option<&[String]>) -> String {
        let c = self.emulator.credentials().unwrap();
        let mut config = json!({
            "base_url": c.base_url, "application_id": c.application_id,
            "application_secret": c.application_secret, "refresh_token": c.refresh_token,
        });
        if let Some(groups) = groups {
            config["group_ids"] = json!(groups);
        }
        let path = dir.join("config.json");
        std::fs::write(&path, config.to_string()).unwrap();
        path.to_str().unwrap().to_owned()
    }

    pub async fn stop(self) {
        self.emulator.shutdown().await;
    }
}

/// Fails if `text` shows one of the connector's secrets.
pub fn no_secret(platform: &Platform, text: &str) {
    let c = platform.emulator.credentials().unwrap();
    for secret in [c.application_secret.as_str(), c.refresh_token.as_str()] {
        assert!(!text.contains(secret), "a secret was printed");
    }
}

/// A configured catalog of every stream, incremental where it can be.
pub fn write_catalog(dir: &Path) -> String {
    let incremental = ["actions", "responses", "answers", "reactions"];
    let streams: Vec<Value> = STREAMS
        .iter()
        .map(|name| {
            let mode = if incremental.contains(name) { "incremental" } else { "full_refresh" };
            json!({"stream": {"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
                   "sync_mode": mode, "destination_sync_mode": "append"})
        })
        .collect();
    let path = dir.join("catalog.json");
    std::fs::write(&path, json!({"streams": streams}).to_string()).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `kaizala singer --discover`'s catalog with `unselected` streams
/// deselected, written in `dir`; its path.
pub async fn singer_catalog(config: &str, dir: &Path, unselected: &[&str]) -> String {
    let discovered = singer(&["--config", config, "--discover"]).await;
    assert!(discovered.status.success(), "{}", discovered.stderr);
    let mut catalog: Value = serde_json::from_str(&discovered.stdout).unwrap();
    for stream in catalog["streams"].as_array_mut().unwrap() {
        let name = stream["tap_stream_id"].as_str().unwrap().to_owned();
        for entry in stream["metadata"].as_array_mut().unwrap() {
            if entry["breadcrumb"] == json!([]) {
                entry["metadata"]["selected"] = json!(!unselected.contains(&name.as_str()));
            }
        }
    }
    let path = dir.join("singer-catalog.json");
    std::fs::write(&path, catalog.to_string()).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Ids under `key` of `records`.
pub fn ids(records: &[Value], key: &str) -> BTreeSet<String> {
    records
        .iter()
        .map(|r| r[key].as_str().unwrap().to_owned())
        .collect()
}

/// What a run printed.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Every stdout line as JSON.
    pub fn messages(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// The records of `stream` (Airbyte or Singer).
    pub fn records(&self, stream: &str) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|m| m["type"] == "RECORD")
            .filter_map(|m| {
                if m["record"]["stream"] == stream {
                    Some(m["record"]["data"].clone())
                } else if m["stream"] == stream {
                    Some(m["record"].clone())
                } else {
                    None
                }
            })
            .collect()
    }

    /// How many RECORD messages it printed.
    pub fn record_count(&self) -> usize {
        self.messages()
            .iter()
            .filter(|m| m["type"] == "RECORD")
            .count()
    }

    /// The last Airbyte STATE of each stream, as Airbyte passes them back.
    pub fn last_states(&self) -> Vec<Value> {
        let mut last = BTreeMap::new();
        for m in self.messages().into_iter().filter(|m| m["type"] == "STATE") {
            let name = m["state"]["stream"]["stream_descriptor"]["name"].to_string();
            last.insert(name, m["state"].clone());
        }
        last.into_values().collect()
    }
}

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(KAIZALA);
    command
        .args(args)
        .stdin(Stdio::null())
        .env_remove("KAIZALA_PROFILE");
    command
}

async fn run(mut command: Command) -> Run {
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    Run {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `kaizala airbyte args…`.
pub async fn airbyte(args: &[&str]) -> Run {
    let mut all = vec!["airbyte"];
    all.extend_from_slice(args);
    run(command(&all)).await
}

/// `kaizala singer args…`.
pub async fn singer(args: &[&str]) -> Run {
    let mut all = vec!["singer"];
    all.extend_from_slice(args);
    run(command(&all)).await
}

/// `kaizala airbyte args…`, calling `revoke` once the first STATE is out
/// (the read is then held by its full output pipe).
pub async fn airbyte_revoking(args: &[&str], revoke: impl FnOnce()) -> Run {
    let mut all = vec!["airbyte"];
    all.extend_from_slice(args);
    let mut child = command(&all)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    loop {
        let mut line = String::new();
        let n = tokio::task::block_in_place(|| stdout.read_line(&mut line)).unwrap();
        text.push_str(&line);
        if n == 0 || line.contains("\"type\":\"STATE\"") {
            break;
        }
    }
    revoke();
    tokio::task::block_in_place(|| stdout.read_to_string(&mut text)).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = tokio::task::block_in_place(|| child.wait()).unwrap();
    Run {
        status,
        stdout: text,
        stderr,
    }
}

/// The Python with PyAirbyte, or `None` when those parts are skipped.
pub fn airbyte_python() -> Option<PathBuf> {
    python(AIRBYTE_PYTHON_VAR, "PyAirbyte")
}

/// The Python `var` names, or `None` (saying so) when the test is skipped.
pub fn python(var: &str, what: &str) -> Option<PathBuf> {
    match std::env::var(var) {
        Ok(path) if !path.trim().is_empty() => Some(PathBuf::from(path)),
        _ if std::env::var(REQUIRE_VAR).as_deref() == Ok("1") => {
            panic!("{var} is not set, and {REQUIRE_VAR}=1")
        }
        _ => {
            eprintln!(
                "skipped: {what} needs a Python with it installed (set {var} or run through \
                 cargo xtask test)"
            );
            None
        }
    }
}

/// A Singer target from PyPI, as `python -c main --config config`, fed
/// `input` (a tap's output): the state it printed last.
pub fn singer_target(python: &Path, main: &str, config: &Path, input: &str) -> Value {
    let out = crate::ingest_support::output_with_input(
        Command::new(python)
            .args(["-c", main, "--config"])
            .arg(config),
        input.as_bytes(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{main} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout
        .lines()
        .last()
        .unwrap_or_else(|| panic!("{main} printed no state"));
    serde_json::from_str(last).unwrap()
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/connectors")
        .join(name)
}

/// Every line of `stdout` parses as an Airbyte protocol message.
pub fn validate(python: &Path, stdout: &str) {
    use std::io::Write;
    let mut child = Command::new(python)
        .arg(script("validate.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdout.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checked: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_eq!(checked, stdout.lines().count());
}

/// A file PyAirbyte runs as the connector: `kaizala airbyte "$@"`.
pub fn executable(dir: &Path) -> String {
    let path = dir.join("source-kaizala");
    std::fs::write(
        &path,
        format!("#!/bin/sh\nexec '{KAIZALA}' airbyte \"$@\"\n"),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path.to_str().unwrap().to_owned()
}

/// A PyAirbyte read into the DuckDB cache in `cache`: row counts per
/// stream, and records processed.
pub fn pyairbyte(python: &Path, executable: &str, config: &str, cache: &Path) -> Value {
    let out = Command::new(python)
        .arg(script("pyairbyte.py"))
        .args([executable, config, cache.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "PyAirbyte failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}
