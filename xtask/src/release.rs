//! `cargo xtask release <version> [--dry-run] [--allow-dirty]`: one version
//! for every published crate.
//!
//! With `--dry-run` it rehearses the release in a copy of the workspace
//! (see [`rehearsal`]) and changes nothing in the repository. Without it, it
//! bumps the versions, verifies with `cargo package` that each crate builds
//! from its package, commits and tags the release, and publishes the crates
//! to crates.io in dependency order, stopping at the first failure.

pub(crate) mod consumers;
mod gates;
mod index;
mod plan;
mod publish;
mod registry;
mod rehearsal;

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};

use crate::cmd;
use plan::{CHANGELOG, Plan};

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut version = None;
    let (mut dry_run, mut allow_dirty) = (false, false);
    for arg in args {
        match arg.as_str() {
            "--dry-run" => dry_run = true,
            "--allow-dirty" => allow_dirty = true,
            flag if flag.starts_with('-') => bail!("unknown flag {flag}"),
            v if version.is_none() => version = Some(v.to_owned()),
            extra => bail!("unexpected argument {extra}"),
        }
    }
    let version =
        version.context("usage: cargo xtask release <version> [--dry-run] [--allow-dirty]")?;
    let root = crate::workspace_root();
    let plan = plan::plan(&root, &version, &plan::today())?;
    describe(&plan);
    if dry_run {
        return rehearsal::run(&root, &plan);
    }
    if !allow_dirty {
        ensure!(
            git_status(&root)?.trim().is_empty(),
            "the work tree has uncommitted changes (commit them, or pass --allow-dirty)"
        );
    }
    // Before anything changes: a known advisory or a semver break stops
    // the release here.
    eprintln!("advisories of every dependency (cargo deny):");
    rehearsal::report(gates::advisories(&root)?);
    eprintln!("semver against the previous release (cargo semver-checks):");
    rehearsal::report(gates::semver(&root, &plan.crates)?);
    plan::apply(&root, &plan)?;
    verify(&root, &plan)
        .context("packaging failed; the version edits are left in place for you to inspect")?;
    commit_and_tag(&root, &plan)?;
    publish::in_order(&plan.crates, |name| {
        let mut publish = cmd::cargo(["publish", "-p", name]);
        if allow_dirty {
            publish.arg("--allow-dirty");
        }
        cmd::run(&mut publish)
    })?;
    println!(
        "\nreleased {}: every crate is on crates.io. Push the commit and the tag v{}.",
        plan.to, plan.to
    );
    Ok(())
}

fn describe(plan: &Plan) {
    println!("release {} -> {} ({})", plan.from, plan.to, plan.date);
    println!(
        "  Cargo.toml: [workspace.package] version = \"{}\"",
        plan.to
    );
    for entry in &plan.dependency_entries {
        println!(
            "  Cargo.toml: [workspace.dependencies] {entry} version = \"{}\"",
            plan.to
        );
    }
    println!("  {CHANGELOG}: Unreleased -> [{}] - {}", plan.to, plan.date);
    println!("  publish, in order: {}", plan.crates.join(", "));
}

pub(crate) fn git_status(root: &Path) -> Result<String> {
    cmd::output(
        Command::new("git")
            .args(["status", "--porcelain", "--untracked-files=all"])
            .current_dir(root),
    )
}

/// `cargo package` of every published crate, each built from its package
/// against the packages of the others.
fn verify(root: &Path, plan: &Plan) -> Result<()> {
    // Cargo verifies each package against the others through a temporary
    // registry under the target directory, and caches what it unpacks from
    // it by that registry's path: a second release attempt of the same
    // version would build against the first attempt's sources. A target
    // directory of its own per attempt keeps every verification honest.
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let target = root
        .join("target")
        .join("release-check")
        .join(format!("{}-{started}", plan.to));
    let mut package = cmd::cargo(["package", "--allow-dirty", "--target-dir"]);
    package.arg(&target);
    for name in &plan.crates {
        package.args(["-p", name]);
    }
    let packaged = cmd::run(&mut package);
    let _ = std::fs::remove_dir_all(&target);
    packaged
}

/// Commits the version edits and tags them, so what is published is a
/// commit (cargo records it in each package's `.cargo_vcs_info.json`).
fn commit_and_tag(root: &Path, plan: &Plan) -> Result<()> {
    let git = |args: &[&str]| {
        cmd::run(Command::new("git").args(args).current_dir(root))
            .with_context(|| format!("the release is verified but not committed; {CHANGELOG}, Cargo.toml and Cargo.lock hold its edits"))
    };
    let message = format!("Release {}", plan.to);
    git(&[
        "commit",
        "-m",
        &message,
        "--",
        "Cargo.toml",
        "Cargo.lock",
        CHANGELOG,
    ])?;
    git(&["tag", "-a", &format!("v{}", plan.to), "-m", &message])
}
