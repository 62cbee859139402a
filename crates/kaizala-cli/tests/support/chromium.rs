//! Headless Chromium for end-to-end tests, driven by its command-line
//! flags: find the browser (`docs/testing.md`), load a page and dump its
//! DOM or take a screenshot, and read what the browser logged.
//!
//! Chromium's log (`--enable-logging=stderr --v=0`) prints every console
//! message — `console.log` and `console.error` alike, uncaught errors,
//! rejected promises, Content-Security-Policy violations — as one
//! `INFO:CONSOLE:LINE] "message", source: URL (LINE)` line, whatever its
//! level (`INFO:CONSOLE(LINE)` in older versions). It does not print
//! resources that failed to load: the page records those itself.

#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const CHROMIUM_VAR: &str = "KAIZALA_TEST_CHROMIUM";
pub const REQUIRE_VAR: &str = "KAIZALA_TEST_REQUIRE_SERVICES";

/// How long one run of the browser may take, virtual time included.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The browser, or `None` when the test should be skipped (and a panic
/// when it must not be: `KAIZALA_TEST_REQUIRE_SERVICES=1`).
pub fn chromium() -> Option<Chromium> {
    match std::env::var(CHROMIUM_VAR) {
        Ok(path) if !path.trim().is_empty() => Some(Chromium {
            binary: PathBuf::from(path),
            work: tempfile::tempdir().unwrap(),
        }),
        _ if std::env::var(REQUIRE_VAR).as_deref() == Ok("1") => {
            panic!("{CHROMIUM_VAR} is not set, and {REQUIRE_VAR}=1")
        }
        _ => {
            eprintln!(
                "skipped: needs Chromium (set {CHROMIUM_VAR} or run through cargo xtask test)"
            );
            None
        }
    }
}

/// A headless Chromium; every run gets a fresh profile.
pub struct Chromium {
    binary: PathBuf,
    work: tempfile::TempDir,
}

/// What one run of the browser printed on stderr.
#[derive(Debug, Clone)]
pub struct BrowserLog {
    pub text: String,
}

impl Chromium {
    /// Loads `url`, lets `budget` of virtual time pass (timers fire, fetches
    /// complete), and returns the DOM then, serialised, with the log.
    pub fn dump_dom(&self, url: &str, budget: Duration) -> (String, BrowserLog) {
        let (stdout, log) = self.run(&["--dump-dom".to_owned()], url, budget);
        (String::from_utf8(stdout).expect("the DOM is UTF-8"), log)
    }

    /// Loads `url` in a `width`×`height` window, lets `budget` of virtual
    /// time pass, and saves a PNG of the viewport to `path`.
    pub fn screenshot(
        &self,
        url: &str,
        path: &Path,
        (width, height): (u32, u32),
        budget: Duration,
    ) -> BrowserLog {
        let _ = std::fs::remove_file(path);
        let flags = [
            format!("--screenshot={}", path.display()),
            format!("--window-size={width},{height}"),
        ];
        let (_, log) = self.run(&flags, url, budget);
        assert!(
            path.exists(),
            "Chromium saved no screenshot at {}; its log:\n{}",
            path.display(),
            log.text
        );
        log
    }

    fn run(&self, flags: &[String], url: &str, budget: Duration) -> (Vec<u8>, BrowserLog) {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        let dir = self.work.path().join(format!("run-{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        let stdout_path = dir.join("stdout");
        let stderr_path = dir.join("stderr");
        let mut child = Command::new(&self.binary)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--no-first-run",
                "--no-default-browser-check",
                "--mute-audio",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .arg(format!("--virtual-time-budget={}", budget.as_millis()))
            .args(flags)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout_path).unwrap())
            .stderr(File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        let deadline = Instant::now() + RUN_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                panic!("Chromium did not finish in {RUN_TIMEOUT:?}; its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let log = BrowserLog {
            text: String::from_utf8_lossy(&std::fs::read(&stderr_path).unwrap()).into_owned(),
        };
        assert!(
            status.success(),
            "Chromium failed ({status}); its log:\n{}",
            log.text
        );
        (std::fs::read(&stdout_path).unwrap(), log)
    }
}

impl BrowserLog {
    /// The console messages, as `"message", source: URL (LINE)`.
    pub fn console(&self) -> Vec<String> {
        self.text
            .lines()
            .filter_map(|line| {
                let at = line.find(":CONSOLE")?;
                let rest = &line[at..];
                Some(rest[rest.find("] ").map_or(0, |i| i + 2)..].to_owned())
            })
            .collect()
    }
}
