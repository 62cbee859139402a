//! The release's checks that need the network: the RustSec advisories of
//! every dependency (`cargo deny check advisories`), and semver against the
//! previous release on crates.io (`cargo semver-checks`). Each runs when
//! what it needs can be reached and otherwise is skipped, saying why; a
//! finding fails the release.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::{cmd, tools};

/// Where cargo-deny fetches the advisories from.
const ADVISORY_DB: &str = "https://github.com/rustsec/advisory-db";
/// How long a reachability probe may take.
const PROBE: Duration = Duration::from_secs(20);

/// What a gate did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Passed,
    Skipped(String),
}

/// `cargo deny check advisories`, when the database can be fetched.
pub(crate) fn advisories(root: &Path) -> Result<Outcome> {
    let mut probe = Command::new("git");
    probe
        .args(["ls-remote", "--heads", ADVISORY_DB])
        .env("GIT_TERMINAL_PROMPT", "0");
    if !succeeds_within(&mut probe, PROBE) {
        return Ok(Outcome::Skipped(format!(
            "the RustSec advisory database ({ADVISORY_DB}) cannot be reached from here"
        )));
    }
    let mut deny = tools::CARGO_DENY.command()?;
    deny.current_dir(root)
        .args(["--locked", "check", "advisories"]);
    cmd::run(&mut deny)?;
    Ok(Outcome::Passed)
}

/// `cargo semver-checks` of each crate against its latest version on
/// crates.io, when there is one.
pub(crate) fn semver(root: &Path, crates: &[String]) -> Result<Outcome> {
    let mut checked = 0;
    for name in crates {
        let Some(previous) = published_version(name) else {
            continue;
        };
        let mut check = tools::CARGO_SEMVER_CHECKS.command()?;
        check.current_dir(root).args([
            "check-release",
            "--package",
            name,
            "--baseline-version",
            &previous,
        ]);
        cmd::run(&mut check)?;
        checked += 1;
    }
    Ok(if checked == 0 {
        Outcome::Skipped("no crate has an earlier release on crates.io".to_owned())
    } else {
        Outcome::Passed
    })
}

/// The newest version of `name` on crates.io (`cargo info`, run outside the
/// workspace so it does not describe the workspace's own package); `None`
/// when it was never published or crates.io cannot be reached.
fn published_version(name: &str) -> Option<String> {
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["info", name, "--registry", "crates-io", "--quiet"])
        .current_dir(std::env::temp_dir())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    version_of(&String::from_utf8_lossy(&output.stdout))
}

/// The `version: X` line of `cargo info`'s output.
fn version_of(info: &str) -> Option<String> {
    info.lines()
        .find_map(|line| line.strip_prefix("version:"))
        .map(|version| version.trim().to_owned())
        .filter(|version| !version.is_empty())
}

/// Whether `command` exits successfully within `limit` (killed after it).
fn succeeds_within(command: &mut Command, limit: Duration) -> bool {
    let Ok(mut child) = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(100)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_read_from_cargo_info() {
        let info = "serde #serde #no_std\nA generic serialization framework\nversion: 1.0.229\nlicense: MIT OR Apache-2.0\n";
        assert_eq!(version_of(info).as_deref(), Some("1.0.229"));
        assert_eq!(version_of("serde\nlicense: MIT\n"), None);
    }

    #[test]
    fn a_probe_that_hangs_is_cut_short() {
        let started = Instant::now();
        let mut sleep = Command::new("sleep");
        sleep.arg("30");
        assert!(!succeeds_within(&mut sleep, Duration::from_millis(300)));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(succeeds_within(&mut Command::new("true"), PROBE));
        assert!(!succeeds_within(&mut Command::new("false"), PROBE));
    }
}
