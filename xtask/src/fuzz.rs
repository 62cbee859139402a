//! `cargo xtask fuzz [TARGET] [--seconds N]`: a coverage-guided campaign
//! (libFuzzer through cargo-fuzz) on each target in `fuzz/`, or on the one
//! named.
//!
//! cargo-fuzz is installed, pinned, into `target/tools` when missing. The
//! targets build with `--sanitizer none`: the address sanitizer needs a
//! nightly compiler, and the machine has only its stable one; the code
//! fuzzed has no `unsafe`, so panics and failed assertions are what is
//! looked for. The corpus grows in `target/fuzz-corpus/TARGET` from the
//! seeds in `fuzz/seeds/TARGET` and, for the JSON parsers, the
//! documentation's samples; a failing input is written to
//! `target/fuzz-artifacts/TARGET/` and the command fails naming it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::{cmd, tools, workspace_root};

/// The targets of `fuzz/Cargo.toml`, one per parser of outside input.
const TARGETS: &[&str] = &[
    "event",
    "event_head",
    "validation_query",
    "responses",
    "emulator_requests",
    "odata_filter",
];
/// The documentation's samples (requests, responses, events): the seeds of
/// the targets that read JSON.
const FIXTURES: &str = "crates/kaizala-types/tests/fixtures";
/// A campaign's default length, per target.
const DEFAULT_SECONDS: u64 = 600;
/// What CI runs: long enough to reach past the seeds, short enough to
/// cost little beside the build.
pub(crate) const SMOKE_SECONDS: u64 = 20;
/// Longer inputs only slow the search: a real `$filter` is far shorter.
const MAX_LEN: usize = 512;

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut chosen: Vec<&str> = Vec::new();
    let mut seconds = DEFAULT_SECONDS;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = args.next().context("--seconds needs a number")?;
                seconds = value
                    .parse()
                    .with_context(|| format!("--seconds: '{value}' is not a whole number"))?;
            }
            name => match TARGETS.iter().find(|t| **t == name) {
                Some(found) => chosen.push(found),
                None => bail!("no fuzz target `{name}` (there is: {})", TARGETS.join(", ")),
            },
        }
    }
    if chosen.is_empty() {
        chosen = TARGETS.to_vec();
    }
    chosen
        .into_iter()
        .try_for_each(|target| campaign(target, seconds))
}

/// Every target for [`SMOKE_SECONDS`] each (the CI step).
pub(crate) fn smoke() -> Result<()> {
    TARGETS
        .iter()
        .try_for_each(|target| campaign(target, SMOKE_SECONDS))
}

fn campaign(target: &str, seconds: u64) -> Result<()> {
    let root = workspace_root();
    let corpus = root.join("target/fuzz-corpus").join(target);
    let artifacts = root.join("target/fuzz-artifacts").join(target);
    for dir in [&corpus, &artifacts] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut run = tools::CARGO_FUZZ.command()?;
    run.args(["run", "--sanitizer", "none", "--fuzz-dir", "fuzz"])
        .arg("--target-dir")
        .arg(root.join("target/fuzz"))
        .arg(target)
        .arg(&corpus)
        .args(seeds(&root, target)?)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-max_len={MAX_LEN}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()));
    cmd::run(&mut run).with_context(|| {
        format!(
            "fuzz target `{target}` found a failing input: see {}",
            artifacts.display()
        )
    })
}

/// The seed directories of `target`: its own in `fuzz/seeds/`, and for the
/// JSON parsers the documentation's samples — as they are for the event
/// parsers, and behind a status byte (200) and an empty `Retry-After` line
/// for the response parsers (written to `target/fuzz-seeds/`).
fn seeds(root: &Path, target: &str) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = vec![root.join("fuzz/seeds").join(target)];
    let fixtures = root.join(FIXTURES);
    match target {
        "event" | "event_head" => dirs.push(fixtures),
        "responses" => {
            let dir = root.join("target/fuzz-seeds").join(target);
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            for entry in std::fs::read_dir(&fixtures)
                .with_context(|| format!("reading {}", fixtures.display()))?
            {
                let path = entry?.path();
                if path.extension().is_some_and(|ext| ext == "json") {
                    let mut seed = vec![0, b'\n'];
                    seed.extend(std::fs::read(&path)?);
                    let name = path.file_name().expect("a file has a name");
                    std::fs::write(dir.join(name), seed)?;
                }
            }
            dirs.push(dir);
        }
        _ => {}
    }
    Ok(dirs.into_iter().filter(|dir| dir.is_dir()).collect())
}
