//! `cargo xtask conformance`: runs schemathesis (a property-based API tester,
//! from PyPI) against the emulator with `docs/api/openapi.yaml`, failing on any
//! 5xx and on any answer the contract does not allow (status, content type,
//! headers, body schema).
//!
//! Steps: a Python virtual environment with a pinned schemathesis in
//! `target/conformance-venv` (made once, then reused); the emulator built and
//! started on a free loopback port with budgets that never throttle; an access
//! token and some data of every kind (a survey, a poll and a job with
//! responses, messages, pictures, reactions, a sub-group) made through the API
//! and the emulator's admin API, so that the fuzzer reaches real resources and
//! the schemas of full answers get checked; then one schemathesis run per host
//! of the contract (`x-kaizala-server`), each against its base URL. The
//! emulator is stopped whatever happens. Everything it writes is under
//! `target/conformance/`.

use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{cmd, python};

/// The schemathesis release the run is pinned to (it needs Python ≥ 3.11).
const SCHEMATHESIS_VERSION: &str = "4.32.5";
/// The oldest Python that release supports.
const MIN_PYTHON: (u32, u32) = (3, 11);

/// Test cases per operation and phase: the whole run takes about a minute.
const MAX_EXAMPLES: u32 = 50;

/// How often a parameter bound to a dictionary of real ids (below) takes one
/// of them; the rest of the time it is generated, which exercises the `404`
/// and `400` paths.
const REAL_ID_PROBABILITY: f64 = 0.8;

/// Seed of the emulator's ids, tokens and simulated answers. With
/// schemathesis's deterministic generation and one worker, a run sends the
/// same requests and gets the same answers every time (only timestamps vary).
const EMULATOR_RANDOM_SEED: &str = "20230731";

/// Calls per minute allowed to the connector and to the tenant: far more
/// than a run makes, so nothing is throttled (429 is tested elsewhere).
const UNTHROTTLED_BUDGET: &str = "1000000000";

/// The checks applied to every answer.
const CHECKS: &[&str] = &[
    // No 5xx, ever.
    "not_a_server_error",
    // The status is one the operation documents.
    "status_code_conformance",
    // The Content-Type is one the status documents.
    "content_type_conformance",
    // The body matches the status's schema.
    "response_schema_conformance",
    // Documented response headers are present and well-formed.
    "response_headers_conformance",
    // A request without a required header is refused.
    "missing_required_header",
    // A method the path does not have answers 405 …
    "unsupported_method",
    // … with an `Allow` header listing the ones it has.
    "allow_header_conformance",
    // A call without its credentials is refused.
    "ignored_auth",
    // A deleted resource is gone.
    "use_after_free",
];
// Not applied:
// - negative_data_rejection: the service read its input leniently (property
//   names in any letter case, `"true"` for true, the spellings listed under
//   `x-kaizala-also-accepts`) and the emulator does the same on purpose, so
//   schema-violating requests are often, rightly, accepted.
// - positive_data_acceptance: schemas cannot state the rules that make a
//   well-formed request fail (subscribers exist only in ConnectGroups, a
//   group's name must not be empty, a job response needs `isCompleted`, …),
//   so schema-valid requests are often, rightly, refused with 400.
// - ensure_resource_availability: it follows links that schemathesis infers
//   by name, and it took an action package `id` from a createAction request
//   for the `actionId` of the action created.
// - object_level_authorization: it needs two principals; the run has one.

/// Operations the run leaves out, with the reason (also in docs/emulator.md).
const EXCLUDED: &[(&str, &str)] = &[(
    "createWebhook",
    // The service (and the emulator) validates the callback URL before
    // subscribing: it POSTs a validation token to it and needs it echoed
    // within 5 s. The fuzzer's URLs have no receiver, and an emulator calling
    // whatever URL a fuzzer makes up would send traffic to arbitrary hosts.
    // Without webhooks, listWebhooks answers empty lists and updateWebhook /
    // deleteWebhook only their 400 / 404 paths.
    "its callback URL is validated with a live request: the fuzzer's URLs have no receiver, \
     and the emulator would call whatever host the fuzzer makes up",
)];

/// The Python virtual environment, relative to the workspace root.
const VENV: &str = "target/conformance-venv";
/// Where a run writes its configuration, reports and the emulator's log.
const WORK: &str = "target/conformance";

pub(crate) fn run() -> Result<()> {
    let root = crate::workspace_root();
    let work = root.join(WORK);
    fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let spec_path = root.join("docs/api/openapi.yaml");
    let spec = Spec::load(&spec_path)?;
    let schemathesis = ensure_schemathesis(&root.join(VENV))?;
    let binary = build_emulator()?;

    let emulator = Emulator::start(&binary, &work)?;
    eprintln!(
        "emulator at {} (log: {})",
        emulator.origin,
        emulator.log.display()
    );
    let data = seed(&emulator).context("could not prepare the emulator's data")?;
    fs::write(work.join("hooks.py"), hooks_py(&spec.media_types))?;
    fs::write(work.join("schemathesis.toml"), config_toml(&work, &data))?;

    let mut outcomes = Vec::new();
    for host in Host::ALL {
        let operations = spec.operations_on(host);
        eprintln!(
            "\n== {} host: {} operations against {}",
            host.name(),
            operations.len(),
            host.base_url(&data)
        );
        for (id, reason) in EXCLUDED {
            if spec
                .operations
                .iter()
                .any(|op| op.host == host && op.id == *id)
            {
                eprintln!("   excluded: {id} ({reason})");
            }
        }
        if operations.is_empty() {
            continue;
        }
        let status = run_schemathesis(&schemathesis, &spec_path, &work, host, &operations, &data)?;
        outcomes.push((host, status));
    }
    drop(emulator);

    eprintln!();
    for (host, status) in &outcomes {
        let verdict = if status.success() { "passed" } else { "FAILED" };
        eprintln!("{} host: {verdict}", host.name());
    }
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|(_, status)| !status.success())
        .map(|(host, _)| host.name())
        .collect();
    if !failed.is_empty() {
        bail!(
            "schemathesis reported failures on the {} host{}: see the FAILURES section of each \
             run above (each with a curl command that reproduces it), the reports in {}/reports/<host>/ \
             (junit.xml, ndjson) and the emulator's log {}/emulator.log",
            failed.join(" and "),
            if failed.len() > 1 { "s" } else { "" },
            work.display(),
            work.display()
        );
    }
    eprintln!("conformance: no failures");
    Ok(())
}

fn is_excluded(operation_id: &str) -> bool {
    EXCLUDED.iter().any(|(id, _)| *id == operation_id)
}

// ---------------------------------------------------------------- the contract

/// A host of the contract (`x-kaizala-server`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Host {
    Endpoint,
    Api,
    OAuth,
}

impl Host {
    /// In run order: the endpoint host first, with the access token made
    /// before any run (the api host's run makes more tokens; none revokes it).
    const ALL: [Host; 3] = [Host::Endpoint, Host::Api, Host::OAuth];

    fn name(self) -> &'static str {
        match self {
            Host::Endpoint => "endpoint",
            Host::Api => "api",
            Host::OAuth => "oauth",
        }
    }

    fn parse(name: &str) -> Option<Host> {
        Host::ALL.into_iter().find(|host| host.name() == name)
    }

    /// The base URL the emulator serves the host's operations under.
    fn base_url(self, data: &Seeded) -> String {
        match self {
            Host::Endpoint => endpoint_root(&data.endpoint_url),
            Host::Api => format!("{}/v1", data.origin),
            Host::OAuth => format!("{}/api", data.origin),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct SpecOperation {
    id: String,
    host: Host,
}

/// What the run needs from the contract.
#[derive(Debug)]
struct Spec {
    operations: Vec<SpecOperation>,
    /// Content types uploadMedia accepts (`x-kaizala-media-types`).
    media_types: Vec<String>,
}

impl Spec {
    fn load(path: &Path) -> Result<Spec> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read the contract {}", path.display()))?;
        Spec::parse(&text).with_context(|| format!("invalid contract {}", path.display()))
    }

    fn parse(yaml: &str) -> Result<Spec> {
        let doc: Value = serde_norway::from_str(yaml).context("not valid YAML")?;
        let paths = doc["paths"].as_object().context("no `paths`")?;
        let mut operations = Vec::new();
        let mut media_types: Vec<String> = Vec::new();
        for item in paths.values() {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, op) in item {
                if ![
                    "get", "put", "post", "delete", "patch", "options", "head", "trace",
                ]
                .contains(&method.as_str())
                {
                    continue;
                }
                let id = op["operationId"]
                    .as_str()
                    .with_context(|| format!("an operation ({method}) has no operationId"))?;
                let server = op["x-kaizala-server"]
                    .as_str()
                    .with_context(|| format!("{id} has no x-kaizala-server"))?;
                let host = Host::parse(server)
                    .with_context(|| format!("{id}: unknown x-kaizala-server `{server}`"))?;
                operations.push(SpecOperation {
                    id: id.to_owned(),
                    host,
                });
                if let Some(types) = op["x-kaizala-media-types"].as_object() {
                    for media_type in types.values().filter_map(Value::as_str) {
                        if !media_types.iter().any(|known| known == media_type) {
                            media_types.push(media_type.to_owned());
                        }
                    }
                }
            }
        }
        for (id, _) in EXCLUDED {
            if !operations.iter().any(|op| op.id == *id) {
                bail!("the excluded operation {id} is not in the contract any more");
            }
        }
        Ok(Spec {
            operations,
            media_types,
        })
    }

    /// The operations run against `host`, exclusions left out.
    fn operations_on(&self, host: Host) -> Vec<&str> {
        self.operations
            .iter()
            .filter(|op| op.host == host && !is_excluded(&op.id))
            .map(|op| op.id.as_str())
            .collect()
    }
}

// ---------------------------------------------------------------- python and schemathesis

/// Returns the schemathesis program of `venv`, creating the environment and
/// installing the pinned release unless it is there already.
fn ensure_schemathesis(venv: &Path) -> Result<PathBuf> {
    let requirement = format!("schemathesis=={SCHEMATHESIS_VERSION}");
    python::Venv {
        dir: venv.to_owned(),
        requirements: &[&requirement],
        min_python: MIN_PYTHON,
        purpose: "`cargo xtask conformance` (schemathesis)",
    }
    .ensure()?;
    Ok(python::program(venv, "schemathesis"))
}

/// The hooks file: schemathesis has no serializer of its own for the content
/// types of uploadMedia's file part; this one sends the generated value as the
/// file's bytes.
fn hooks_py(media_types: &[String]) -> String {
    let quoted: Vec<String> = media_types
        .iter()
        .map(|t| serde_json::to_string(t).expect("a string serializes"))
        .collect();
    format!(
        r#""""Written by `cargo xtask conformance`: sends uploadMedia's file part as raw bytes."""

import json

import schemathesis

MEDIA_TYPES = [{}]


@schemathesis.serializer(*MEDIA_TYPES)
def raw_file(ctx, value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value).encode()
"#,
        quoted.join(", ")
    )
}

/// A TOML string.
fn toml_str(text: &str) -> String {
    toml_edit::Value::from(text).to_string()
}

/// The schemathesis configuration: deterministic generation on one worker, no
/// state kept between runs, redirects not followed, and parameters bound to
/// the ids of real resources most of the time.
fn config_toml(work: &Path, data: &Seeded) -> String {
    let list = |values: &[String]| {
        let quoted: Vec<String> = values.iter().map(|v| toml_str(v)).collect();
        format!("[{}]", quoted.join(", "))
    };
    let mut out = String::new();
    out.push_str("# Written by `cargo xtask conformance` for one run; do not edit.\n");
    let _ = writeln!(
        out,
        "hooks = {}",
        toml_str(&work.join("hooks.py").to_string_lossy())
    );
    out.push_str("workers = 1\nmax-redirects = 0\nrequest-timeout = 30\n\n");
    out.push_str("[cache]\nenabled = false\n\n");
    // The credentials of the contract's security schemes: set on every call
    // that declares them, so `ignored_auth` probes each such operation without
    // them, and with made-up ones, expecting 401.
    let schemes = [
        ("accessToken", &data.access_token),
        ("applicationId", &data.application_id),
        ("applicationSecret", &data.application_secret),
        ("refreshToken", &data.refresh_token),
    ];
    for (scheme, value) in schemes {
        if !value.is_empty() {
            let _ = writeln!(
                out,
                "[auth.openapi.{scheme}]\napi_key = {}\n",
                toml_str(value)
            );
        }
    }
    let _ = writeln!(
        out,
        "[generation]\ndeterministic = true\nmax-examples = {MAX_EXAMPLES}\ndatabase = \"none\"\n"
    );
    let dictionaries: [(&str, &[String]); 9] = [
        ("groups", &data.groups),
        ("publicGroups", &data.public_groups),
        ("subGroups", &data.sub_groups),
        ("actions", &data.actions),
        ("references", &data.references),
        ("applicationIds", &data.application_ids),
        ("applicationSecrets", &data.application_secrets),
        ("phones", &data.phones),
        ("redirectUris", &data.redirect_uris),
    ];
    // A binding to a missing dictionary is an error: empty ones are left out
    // with their bindings.
    let known = |name: &str| {
        dictionaries
            .iter()
            .any(|(n, v)| *n == name && !v.is_empty())
    };
    for (name, values) in dictionaries {
        if !values.is_empty() {
            let _ = writeln!(out, "[dictionaries.{name}]\nvalues = {}\n", list(values));
        }
    }
    let bind = |dictionary: &str| {
        format!("{{ dictionary = \"{dictionary}\", probability = {REAL_ID_PROBABILITY} }}")
    };
    let bindings: [(&str, &str); 14] = [
        ("path.groupId", "groups"),
        ("path.subGroupId", "subGroups"),
        ("path.actionId", "actions"),
        ("path.referenceId", "references"),
        ("query.sourceGroupId", "groups"),
        ("query.objectId", "groups"),
        ("query.client_id", "applicationIds"),
        ("query.redirect_uri", "redirectUris"),
        ("body.applicationId", "applicationIds"),
        ("body.mobileNumber", "phones"),
        ("body.client_id", "applicationIds"),
        ("body.client_secret", "applicationSecrets"),
        ("body.referenceId", "references"),
        ("body.sourceGroupId", "groups"),
    ];
    out.push_str("[parameters]\n");
    for (parameter, dictionary) in bindings.into_iter().filter(|(_, d)| known(d)) {
        let _ = writeln!(out, "{} = {}", toml_str(parameter), bind(dictionary));
    }
    // Subscribers exist only in managed public groups (ConnectGroup).
    if known("publicGroups") {
        let _ = writeln!(
            out,
            "\n[[operations]]\ninclude-operation-id = [\"listSubscribers\", \"addSubscribers\", \"removeSubscribers\"]\nparameters = {{ \"path.groupId\" = {} }}",
            bind("publicGroups")
        );
    }
    out
}

/// Runs schemathesis on `host`'s operations; its exit status tells whether it
/// found failures.
fn run_schemathesis(
    program: &Path,
    spec: &Path,
    work: &Path,
    host: Host,
    operations: &[&str],
    data: &Seeded,
) -> Result<ExitStatus> {
    let reports = work.join("reports").join(host.name());
    // Reports of an earlier run would be mistaken for this one's.
    let _ = fs::remove_dir_all(&reports);
    let mut command = Command::new(program);
    command
        .arg("--config-file")
        .arg(work.join("schemathesis.toml"))
        .arg("run")
        .arg(spec)
        .arg("--url")
        .arg(host.base_url(data))
        .arg("--checks")
        .arg(CHECKS.join(","))
        .arg("--report")
        .arg("junit,ndjson")
        .arg("--report-dir")
        .arg(&reports);
    for operation in operations {
        command.arg("--include-operation-id").arg(operation);
    }
    // Its scratch files (.hypothesis/, .schemathesis/) go there, not into the
    // workspace.
    command.current_dir(work);
    eprintln!(
        "$ schemathesis --config-file {} run {} --url {} --checks … {} operation(s)",
        work.join("schemathesis.toml").display(),
        spec.display(),
        host.base_url(data),
        operations.len()
    );
    command
        .status()
        .with_context(|| format!("could not start {}", program.display()))
}

// ---------------------------------------------------------------- the emulator

/// Builds the emulator binary and returns its path.
fn build_emulator() -> Result<PathBuf> {
    cmd::run(&mut cmd::cargo([
        "build",
        "-p",
        "kaizala-emulator",
        "--bin",
        "kaizala-emulator",
        "--locked",
    ]))?;
    let metadata = cmd::output(&mut cmd::cargo([
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
    ]))?;
    let metadata: Value = serde_json::from_str(&metadata).context("cargo metadata's answer")?;
    let target = metadata["target_directory"]
        .as_str()
        .context("cargo metadata names no target directory")?;
    let name = if cfg!(windows) {
        "kaizala-emulator.exe"
    } else {
        "kaizala-emulator"
    };
    Ok(Path::new(target).join("debug").join(name))
}

/// What `--credentials-out` writes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    /// The API root, `{origin}/v1`.
    base_url: String,
    application_id: String,
    application_secret: String,
    refresh_token: String,
    group_id: String,
    public_group_id: String,
}

fn parse_credentials(text: &str) -> Result<Credentials> {
    serde_json::from_str(text).context("not the credentials JSON")
}

/// The emulator's origin from the API root it reports (`http://h:p/v1`).
fn origin_of(api_root: &str) -> String {
    let root = api_root.trim_end_matches('/');
    root.strip_suffix("/v1").unwrap_or(root).to_owned()
}

/// The endpoint host's base URL from a token answer's `endpointUrl` (with or
/// without its trailing slash).
fn endpoint_root(endpoint_url: &str) -> String {
    format!("{}/v1", endpoint_url.trim_end_matches('/'))
}

/// A running emulator, stopped when dropped.
struct Emulator {
    child: Child,
    origin: String,
    credentials: Credentials,
    credentials_file: PathBuf,
    log: PathBuf,
}

impl Emulator {
    fn start(binary: &Path, work: &Path) -> Result<Emulator> {
        let port = free_port()?;
        let credentials_file =
            std::env::temp_dir().join(format!("kaizala-conformance-{}.json", std::process::id()));
        let _ = fs::remove_file(&credentials_file);
        let log = work.join("emulator.log");
        let out =
            fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(binary)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--credentials-out")
            .arg(&credentials_file)
            .args(["--seed", "demo"])
            .args(["--random-seed", EMULATOR_RANDOM_SEED])
            .args(["--connector-budget", UNTHROTTLED_BUDGET])
            .args(["--tenant-budget", UNTHROTTLED_BUDGET])
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("could not start {}", binary.display()))?;
        let mut starting = Starting {
            child: Some(child),
            credentials_file: credentials_file.clone(),
        };
        let credentials = starting.wait_for_credentials(&log)?;
        let origin = origin_of(&credentials.base_url);
        let child = starting.child.take().expect("still running");
        let emulator = Emulator {
            child,
            origin,
            credentials,
            credentials_file,
            log,
        };
        emulator.wait_until_answering()?;
        Ok(emulator)
    }

    /// Polls until the API answers (the credentials are written just after it
    /// starts listening).
    fn wait_until_answering(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match request("GET", &format!("{}/v1/accessToken", self.origin), &[], None) {
                Ok(_) => return Ok(()),
                Err(err) if Instant::now() > deadline => {
                    return Err(err).context(format!(
                        "the emulator does not answer (log: {})",
                        self.log.display()
                    ));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_file(&self.credentials_file);
    }
}

/// An emulator process that has not written its credentials yet; killed if
/// dropped before.
struct Starting {
    child: Option<Child>,
    credentials_file: PathBuf,
}

impl Starting {
    fn wait_for_credentials(&mut self, log: &Path) -> Result<Credentials> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "the emulator exited ({status}) before it was ready:\n{}",
                    fs::read_to_string(log).unwrap_or_default()
                );
            }
            // The file may be half written: read it again until it parses.
            if let Ok(text) = fs::read_to_string(&self.credentials_file)
                && let Ok(credentials) = parse_credentials(&text)
            {
                return Ok(credentials);
            }
            if Instant::now() > deadline {
                bail!(
                    "the emulator wrote no credentials to {} within 60 s (log: {})",
                    self.credentials_file.display(),
                    log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
            let _ = fs::remove_file(&self.credentials_file);
        }
    }
}

/// A loopback port nothing listens on (at the moment of asking).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

// ---------------------------------------------------------------- the data

/// The access token, and the ids the fuzzer's parameters are bound to.
#[derive(Debug, Default)]
struct Seeded {
    origin: String,
    access_token: String,
    endpoint_url: String,
    groups: Vec<String>,
    public_groups: Vec<String>,
    sub_groups: Vec<String>,
    actions: Vec<String>,
    references: Vec<String>,
    application_id: String,
    application_secret: String,
    refresh_token: String,
    application_ids: Vec<String>,
    application_secrets: Vec<String>,
    phones: Vec<String>,
    redirect_uris: Vec<String>,
}

/// Gets an access token, then gives the demo group actions of several kinds
/// with responses, messages, pictures, reactions and a sub-group.
fn seed(emulator: &Emulator) -> Result<Seeded> {
    let creds = &emulator.credentials;
    let origin = &emulator.origin;
    let token = call(
        "GET",
        &format!("{origin}/v1/accessToken"),
        &[
            ("applicationId", &creds.application_id),
            ("applicationSecret", &creds.application_secret),
            ("refreshToken", &creds.refresh_token),
        ],
        None,
    )?;
    let access_token = string_at(&token, "accessToken")?;
    let endpoint_url = string_at(&token, "endpointUrl")?;
    let api = endpoint_root(&endpoint_url);
    let group = &creds.group_id;
    let auth = [("accessToken", access_token.as_str())];
    let post = |path: &str, body: Value| call("POST", &format!("{api}{path}"), &auth, Some(&body));
    let admin = |what: &str, body: Value| {
        call(
            "POST",
            &format!("{origin}/admin/simulate/{what}"),
            &[],
            Some(&body),
        )
    };

    let mut data = Seeded {
        origin: origin.clone(),
        access_token: access_token.clone(),
        endpoint_url: endpoint_url.clone(),
        public_groups: vec![creds.public_group_id.clone()],
        application_id: creds.application_id.clone(),
        application_secret: creds.application_secret.clone(),
        refresh_token: creds.refresh_token.clone(),
        application_ids: vec![creds.application_id.clone()],
        application_secrets: vec![creds.application_secret.clone()],
        redirect_uris: vec!["http://127.0.0.1/kaizala-conformance/callback".to_owned()],
        ..Seeded::default()
    };

    let members = call("GET", &format!("{api}/groups/{group}/members"), &auth, None)?;
    // People who use the app: generatePin needs a registered number, a job
    // assignees who can respond.
    for member in members["members"].as_array().into_iter().flatten() {
        if member["isProvisioned"] == Value::Bool(true)
            && let Some(phone) = member["mobileNumber"].as_str()
        {
            data.phones.push(phone.to_owned());
        }
    }
    let job_assignees: Vec<&str> = data.phones.iter().map(String::as_str).take(3).collect();

    let survey = post(
        &format!("/groups/{group}/actions"),
        json!({
            "actionType": "Survey",
            "actionBody": {
                "title": "Store visit",
                "dueDate": 240,
                "acceptMultipleResponses": true,
                "questions": [
                    {"title": "Retailer Outlet", "type": "SingleOption",
                     "options": [{"title": "ABC Traders"}, {"title": "EFG wholesale"}]},
                    {"title": "Stock on shelf", "type": "MultiOption",
                     "options": [{"title": "Rice"}, {"title": "Dal"}, {"title": "Oil"}]},
                    {"title": "Rice 1KG", "type": "Numeric"},
                    {"title": "Remarks", "type": "Text"},
                    {"title": "Location", "type": "Location"},
                    {"title": "Next visit", "type": "Date"},
                    {"title": "Visited at", "type": "DateTime"},
                    {"title": "Shelf photo", "type": "Image"},
                    {"title": "Contact", "type": "Phone"}
                ]
            }
        }),
    )?;
    let poll = post(
        &format!("/groups/{group}/actions"),
        json!({
            "actionType": "Poll",
            "actionBody": {
                "question": "Where shall we meet?",
                "choices": [{"title": "Office"}, {"title": "Warehouse"}, {"title": "Online"}],
                "expiryInHours": 240
            }
        }),
    )?;
    let job = post(
        &format!("/groups/{group}/actions"),
        json!({
            "actionType": "Job",
            "actionBody": {"title": "Stock audit", "assignedTo": job_assignees, "dueDate": 240}
        }),
    )?;
    let sub_group = post(
        &format!("/groups/{group}/subGroups"),
        json!({"groupName": "Conformance sub-group", "members": job_assignees}),
    )?;
    let sub_group = string_at(&sub_group, "groupId")?;

    // A job takes one response per assignee; the others, many.
    for (action, count) in [(&survey, 12), (&poll, 12), (&job, 1)] {
        let action_id = string_at(action, "actionId")?;
        admin(
            "responses",
            json!({"groupId": group, "actionId": action_id, "count": count}),
        )?;
        data.actions.push(action_id);
        data.references.push(string_at(action, "referenceId")?);
    }
    let survey_reference = string_at(&survey, "referenceId")?;
    admin(
        "reactions",
        json!({"groupId": group, "referenceId": survey_reference, "likes": 4, "comments": 3}),
    )?;
    for what in ["messages", "attachments"] {
        let answer = admin(what, json!({"groupId": group, "count": 2}))?;
        for reference in answer["referenceIds"].as_array().into_iter().flatten() {
            data.references
                .extend(reference.as_str().map(str::to_owned));
        }
    }
    data.groups = vec![
        group.clone(),
        sub_group.clone(),
        creds.public_group_id.clone(),
    ];
    data.sub_groups = vec![sub_group];
    Ok(data)
}

fn string_at(value: &Value, key: &str) -> Result<String> {
    value[key]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no string `{key}` in {value}"))
}

/// A JSON call that must succeed (2xx).
fn call(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&Value>) -> Result<Value> {
    let body = body.map(|b| serde_json::to_vec(b).expect("JSON serializes"));
    let response = request(method, url, headers, body.as_deref())?;
    let text = String::from_utf8_lossy(&response.body);
    if !(200..300).contains(&response.status) {
        bail!("{method} {url} answered {}: {text}", response.status);
    }
    serde_json::from_str(&text).with_context(|| format!("{method} {url} answered non-JSON: {text}"))
}

// ---------------------------------------------------------------- plain HTTP/1.1

/// `http://host[:port]/path?query`, split.
#[derive(Debug, PartialEq, Eq)]
struct HttpUrl {
    host: String,
    port: u16,
    /// The path and query, starting with `/`.
    target: String,
}

fn parse_http_url(url: &str) -> Result<HttpUrl> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("{url} is not an http:// URL"))?;
    let (authority, target) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (
            host,
            port.parse().with_context(|| format!("bad port in {url}"))?,
        ),
        _ => (authority, 80),
    };
    if host.is_empty() {
        bail!("no host in {url}");
    }
    Ok(HttpUrl {
        host: host.to_owned(),
        port,
        target: target.to_owned(),
    })
}

#[derive(Debug)]
struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// One request on a fresh connection (`Connection: close`).
fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<HttpResponse> {
    let parsed = parse_http_url(url)?;
    let address = (parsed.host.as_str(), parsed.port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {}", parsed.host))?
        .next()
        .with_context(|| format!("{} has no address", parsed.host))?;
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))
        .with_context(|| format!("cannot connect to {url}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\nAccept: application/json\r\n",
        parsed.target, parsed.host, parsed.port
    );
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    if let Some(body) = body {
        let _ = write!(
            head,
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if let Some(body) = body {
        stream.write_all(body)?;
    }
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .with_context(|| format!("reading the answer of {method} {url}"))?;
    parse_response(&raw).with_context(|| format!("the answer of {method} {url}"))
}

/// Parses an HTTP/1.1 answer read to the end of the connection: status line,
/// headers, and a body delimited by `Content-Length`, chunked, or the end.
fn parse_response(raw: &[u8]) -> Result<HttpResponse> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("the answer has no end of headers")?;
    let head = std::str::from_utf8(&raw[..end]).context("the answer's head is not UTF-8")?;
    let rest = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        bail!("not an HTTP/1.x status line: {status_line:?}");
    }
    let status = parts
        .next()
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("no status code in {status_line:?}"))?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .with_context(|| format!("malformed header line {line:?}"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut response = HttpResponse {
        status,
        headers,
        body: Vec::new(),
    };
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    response.body = if chunked {
        dechunk(rest)?
    } else if let Some(length) = response.header("content-length") {
        let length: usize = length.parse().context("bad Content-Length")?;
        if rest.len() < length {
            bail!("the body ended after {} of {length} bytes", rest.len());
        }
        rest[..length].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(response)
}

/// Decodes a chunked body.
fn dechunk(mut data: &[u8]) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("a chunk size line has no end")?;
        let size_line = std::str::from_utf8(&data[..line_end]).context("chunk size")?;
        let size_hex = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .with_context(|| format!("bad chunk size {size_hex:?}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if data.len() < size + 2 {
            bail!("a chunk is cut short");
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_credentials_the_emulator_writes() {
        let text = r#"{
  "baseUrl": "http://127.0.0.1:8080/v1",
  "applicationId": "demo-connector",
  "applicationSecret": "kz-secret-4a81",
  "refreshToken": "kz-rt-af28",
  "groupId": "5fb76f77-513e-26cf-15c5-6a8717de7cd8",
  "publicGroupId": "c9791430-5c69-c707-7a94-c145002ecd36"
}"#;
        let creds = parse_credentials(text).unwrap();
        assert_eq!(creds.application_id, "demo-connector");
        assert_eq!(creds.application_secret, "kz-secret-4a81");
        assert_eq!(creds.refresh_token, "kz-rt-af28");
        assert_eq!(creds.group_id, "5fb76f77-513e-26cf-15c5-6a8717de7cd8");
        assert_eq!(
            creds.public_group_id,
            "c9791430-5c69-c707-7a94-c145002ecd36"
        );
        assert_eq!(origin_of(&creds.base_url), "http://127.0.0.1:8080");
        // Half written, as it may be while the emulator writes it.
        assert!(parse_credentials(&text[..40]).is_err());
    }

    #[test]
    fn derives_the_base_urls() {
        assert_eq!(
            origin_of("http://127.0.0.1:8080/v1/"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(origin_of("http://proxy.test"), "http://proxy.test");
        assert_eq!(
            endpoint_root("http://127.0.0.1:8080/t/contoso/"),
            "http://127.0.0.1:8080/t/contoso/v1"
        );
        assert_eq!(
            endpoint_root("https://kms.kaiza.la"),
            "https://kms.kaiza.la/v1"
        );
    }

    #[test]
    fn splits_http_urls() {
        assert_eq!(
            parse_http_url("http://127.0.0.1:8080/v1/accessToken?x=1").unwrap(),
            HttpUrl {
                host: "127.0.0.1".into(),
                port: 8080,
                target: "/v1/accessToken?x=1".into()
            }
        );
        assert_eq!(
            parse_http_url("http://localhost").unwrap(),
            HttpUrl {
                host: "localhost".into(),
                port: 80,
                target: "/".into()
            }
        );
        assert!(parse_http_url("https://127.0.0.1/").is_err());
        assert!(parse_http_url("http://127.0.0.1:x/").is_err());
        assert!(parse_http_url("http://:80/").is_err());
    }

    #[test]
    fn parses_an_answer_with_content_length() {
        let raw = b"HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n\
x-ratelimit-limit: 1000000\r\ncontent-length: 55\r\n\r\n\
{\"accessToken\":\"kz-at-1\",\"endpointUrl\":\"http://h/t/c/\"}";
        let response = parse_response(raw).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(
            response.header("Content-Type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(response.header("X-RateLimit-Limit"), Some("1000000"));
        let token: Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(string_at(&token, "accessToken").unwrap(), "kz-at-1");
        assert_eq!(
            endpoint_root(&string_at(&token, "endpointUrl").unwrap()),
            "http://h/t/c/v1"
        );
        assert!(string_at(&token, "refreshToken").is_err());
    }

    #[test]
    fn parses_chunked_and_unframed_answers() {
        let raw = b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n\
4\r\n{\"a\"\r\n5;ext=1\r\n:true\r\n1\r\n}\r\n0\r\n\r\n";
        let response = parse_response(raw).unwrap();
        assert_eq!(response.status, 401);
        assert_eq!(response.body, b"{\"a\":true}");

        let raw = b"HTTP/1.0 204 No Content\r\nServer: x\r\n\r\nrest";
        let response = parse_response(raw).unwrap();
        assert_eq!(response.status, 204);
        assert_eq!(response.body, b"rest");
    }

    #[test]
    fn refuses_broken_answers() {
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 OK\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nbroken\r\n\r\n").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
    }

    #[test]
    fn reads_versions() {
        use crate::python::version;
        assert_eq!(version("Python 3.11.7\n"), Some((3, 11)));
        assert_eq!(version("Python 3.13.0rc1"), Some((3, 13)));
        assert_eq!(version("Python 2.7.18"), Some((2, 7)));
        assert_eq!(version("command not found"), None);
        assert!(version("Python 3.10.2").unwrap() < MIN_PYTHON);
    }

    #[test]
    fn reads_the_contract() {
        let spec = Spec::load(&crate::workspace_root().join("docs/api/openapi.yaml")).unwrap();
        assert_eq!(spec.operations.len(), 32);
        let ran: usize = Host::ALL.iter().map(|h| spec.operations_on(*h).len()).sum();
        assert_eq!(ran, spec.operations.len() - EXCLUDED.len());
        assert!(spec.operations_on(Host::Api).contains(&"getAccessToken"));
        assert!(spec.operations_on(Host::OAuth).contains(&"oauthToken"));
        assert!(spec.operations_on(Host::Endpoint).contains(&"uploadMedia"));
        assert!(
            !spec
                .operations_on(Host::Endpoint)
                .contains(&"createWebhook")
        );
        assert!(spec.media_types.iter().any(|t| t == "image/jpeg"));
        assert!(spec.media_types.iter().any(|t| t == "video/3gpp"));
    }

    #[test]
    fn refuses_a_contract_without_the_excluded_operation() {
        let yaml = "paths:\n  /a:\n    get:\n      operationId: a\n      x-kaizala-server: api\n";
        let err = Spec::parse(yaml).unwrap_err();
        assert!(format!("{err:#}").contains("createWebhook"), "{err:#}");
        let yaml = "paths:\n  /a:\n    get:\n      operationId: a\n      x-kaizala-server: moon\n";
        assert!(Spec::parse(yaml).is_err());
    }

    #[test]
    fn writes_a_valid_configuration() {
        let data = Seeded {
            groups: vec!["g-1".into(), "g\"2".into()],
            public_groups: vec!["p-1".into()],
            actions: vec!["a-1".into()],
            ..Seeded::default()
        };
        let text = config_toml(Path::new("/tmp/work dir"), &data);
        let doc: toml_edit::DocumentMut = text.parse().unwrap();
        assert_eq!(doc["hooks"].as_str(), Some("/tmp/work dir/hooks.py"));
        assert_eq!(doc["workers"].as_integer(), Some(1));
        assert_eq!(doc["generation"]["deterministic"].as_bool(), Some(true));
        let groups = doc["dictionaries"]["groups"]["values"].as_array().unwrap();
        assert_eq!(groups.get(1).and_then(|v| v.as_str()), Some("g\"2"));
        // Empty dictionaries are left out.
        assert!(doc["dictionaries"].get("phones").is_none());
        let group_id = doc["parameters"]["path.groupId"].as_inline_table().unwrap();
        assert_eq!(
            group_id.get("dictionary").and_then(|v| v.as_str()),
            Some("groups")
        );
        let operations = doc["operations"].as_array_of_tables().unwrap();
        assert_eq!(operations.len(), 1);
    }

    #[test]
    fn writes_hooks_for_every_media_type() {
        let hooks = hooks_py(&["image/jpeg".to_owned(), "video/3gpp".to_owned()]);
        assert!(
            hooks.contains(r#"MEDIA_TYPES = ["image/jpeg", "video/3gpp"]"#),
            "{hooks}"
        );
        assert!(hooks.contains("@schemathesis.serializer(*MEDIA_TYPES)"));
    }
}
