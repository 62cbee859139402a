//! Runs `examples/echo_receiver.rs` as a real process: builds it with the
//! cargo running this test (a no-op when `cargo test` already built it),
//! posts to it over TCP, stops it with Ctrl-C (SIGINT), and reads what it
//! printed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kaizala_types::event::Event;

const TOKEN: &str = "echo-test-token";
const EVENT: &[u8] = include_bytes!("../../kaizala-types/benches/data/survey_response_2k.json");
/// Authentic, but cut off in the middle: not JSON.
const MALFORMED: &[u8] = b"{\"eventId\": \"e1\", \"eventType\": \"Text\xffMessageCreated\", \"da";

/// Builds the example and returns its executable, as cargo reports it.
fn build_example() -> PathBuf {
    let mut command = Command::new(env!("CARGO"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--quiet",
            "-p",
            "kaizala-webhook",
            "--example",
            "echo_receiver",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit());
    // What cargo set for this test describes this test, not the build: left
    // in, build scripts that watch it (ring's) would see it changed and
    // rebuild half the tree, here and again in the next `cargo test`.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
            || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"].contains(&&*name)
        {
            command.env_remove(&*name);
        }
    }
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command.output().expect("cargo runs");
    assert!(output.status.success(), "cargo build --example failed");
    String::from_utf8(output.stdout)
        .expect("cargo prints UTF-8")
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == "echo_receiver"
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the example's executable")
}

/// The child, killed if the test fails before it exits.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request on a fresh connection; the status code and body.
fn request(addr: &str, head: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the example");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "{head}\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("an answer");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn post(addr: &str, token: &str, body: &[u8]) -> u16 {
    let head = format!(
        "POST /hooks HTTP/1.1\r\nkz-callback-token: {token}\r\ncontent-type: application/json"
    );
    request(addr, &head, body).0
}

/// Asks the example to stop the way Ctrl-C does.
fn interrupt(child: &mut Child) {
    #[cfg(unix)]
    {
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
    #[cfg(not(unix))]
    child.kill().expect("the example stops");
}

#[test]
fn prints_each_new_event_once_and_each_quarantined_body() {
    let executable = build_example();
    let mut child = Running(
        Command::new(&executable)
            .args(["--listen", "127.0.0.1:0", "--token", TOKEN])
            .args(["--path", "/hooks"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", executable.display())),
    );

    // Standard error, line by line, from a thread: the address comes first.
    let stderr = child.0.stderr.take().unwrap();
    let (lines, logged) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    let addr = loop {
        let line = logged
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the example never said where it listens: {log:?}"));
        if let Some(url) = line.strip_prefix("echo_receiver: listening on http://") {
            break url.strip_suffix("/hooks").expect("the path").to_owned();
        }
        log.push(line);
    };

    let (status, echoed) = request(&addr, "GET /hooks?validationToken=v%2B1 HTTP/1.1", b"");
    assert_eq!((status, echoed.as_str()), (200, "v+1"));
    assert_eq!(post(&addr, TOKEN, EVENT), 200);
    assert_eq!(
        post(&addr, TOKEN, EVENT),
        200,
        "a duplicate is acknowledged"
    );
    assert_eq!(
        post(&addr, TOKEN, MALFORMED),
        200,
        "quarantined, acknowledged"
    );
    assert_eq!(post(&addr, "wrong", EVENT), 401);

    interrupt(&mut child.0);
    let mut stdout = String::new();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.0.wait().unwrap();
    let log: Vec<String> = log.into_iter().chain(logged.try_iter()).collect();
    if cfg!(unix) {
        assert!(status.success(), "{status}; stderr: {log:#?}");
        assert!(
            log.iter()
                .any(|l| l == "echo_receiver: stopped (1 events, 1 quarantined)"),
            "{log:#?}"
        );
    }

    let printed: Vec<&str> = stdout.lines().collect();
    let canonical = Event::from_slice(EVENT).unwrap().to_vec();
    let quarantined = serde_json::json!({ "quarantined": STANDARD.encode(MALFORMED) });
    assert_eq!(printed.len(), 2, "{stdout}");
    assert_eq!(printed[0].as_bytes(), canonical.as_slice());
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(printed[1]).unwrap(),
        quarantined
    );
    assert!(
        log.iter()
            .any(|l| l.trim_start().starts_with("WARN ") && l.contains("quarantined")),
        "the receiver's warning is logged: {log:#?}"
    );
}
