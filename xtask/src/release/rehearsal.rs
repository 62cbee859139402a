//! `cargo xtask release <version> --dry-run`: the release rehearsed end to
//! end, without touching the repository.
//!
//! Under `target/release-rehearsal/run-<time>/` it copies the workspace's
//! files, applies the release there, packages every published crate,
//! unpacks each package and runs its tests against the other packages,
//! publishes the packages into a registry made for the run, and builds and
//! runs three consumer projects that take the released crates from that
//! registry. All its builds share `target/release-rehearsal/build`, so a
//! second rehearsal rebuilds only the crates of this workspace.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};

use super::consumers::{self, Project};
use super::gates;
use super::index;
use super::plan::{self, Plan};
use super::registry::Registry;
use crate::cmd;

/// One unpacked package of the release.
struct Unpacked {
    name: String,
    crate_file: PathBuf,
    dir: PathBuf,
}

pub(crate) fn run(root: &Path, plan: &Plan) -> Result<()> {
    let started = Instant::now();
    let repository_before = repository_state(root)?;
    let base = root.join("target").join("release-rehearsal");
    let run_dir = fresh_run_dir(&base)?;
    let build = base.join("build");
    let mut stages = Stages::new(6 + plan.crates.len() + consumers::COUNT);

    stages.run("advisories of every dependency (cargo deny)", || {
        report(gates::advisories(root)?);
        Ok(())
    })?;
    stages.run(
        "semver against the previous release (cargo semver-checks)",
        || {
            report(gates::semver(root, &plan.crates)?);
            Ok(())
        },
    )?;

    let workspace = run_dir.join("workspace");
    stages.run("copy the workspace and apply the release there", || {
        copy_workspace(root, &workspace)?;
        plan::apply(&workspace, plan)
    })?;
    let unpacked = stages.run("package every published crate, and unpack each", || {
        package(&workspace, plan, &run_dir.join("target").join("package"))
    })?;
    for package in &unpacked {
        stages.run(
            &format!("cargo test in the unpacked {} package", package.name),
            || {
                cmd::run(&mut cargo_in(&package.dir, &build, ["test"]))?;
                // An unused patch is only a warning: make sure no crate of
                // ours came from crates.io instead of its unpacked package.
                ours_from(&package.dir, None).map(drop)
            },
        )?;
    }
    let registry = stages.run("publish the packages into a local registry", || {
        publish(&run_dir.join("registry"), &unpacked, plan)
    })?;
    let event = std::fs::read_to_string(root.join(consumers::EVENT_FIXTURE))
        .with_context(|| format!("reading {}", consumers::EVENT_FIXTURE))?;
    let consumers_dir = run_dir.join("consumers");
    write(
        &consumers_dir.join(".cargo").join("config.toml"),
        &consumers::cargo_config(&registry.index_url()),
    )?;
    for project in consumers::projects(consumers::Ours::Registry(&plan.to), &event) {
        stages.run(
            &format!(
                "build and run the {} consumer from the registry",
                project.name
            ),
            || consume(&consumers_dir, &build, &project, &registry),
        )?;
    }
    stages.run("check that the repository is unchanged", || {
        let after = repository_state(root)?;
        ensure!(
            after == repository_before,
            "the rehearsal changed the repository (`git status` and `git diff HEAD` differ from before it); `git status` is now\n{}",
            super::git_status(root)?
        );
        Ok(())
    })?;

    println!(
        "\nready to publish {} (rehearsed in {}; its files are in {}). Order:",
        plan.to,
        minutes(started.elapsed().as_secs_f64()),
        run_dir.display()
    );
    for name in &plan.crates {
        println!("  {name}");
    }
    println!("Run `cargo xtask release {}` to publish.", plan.to);
    Ok(())
}

/// Says what a gate did.
pub(super) fn report(outcome: gates::Outcome) {
    match outcome {
        gates::Outcome::Passed => eprintln!("  passed"),
        gates::Outcome::Skipped(why) => eprintln!("  skipped: {why}"),
    }
}

/// What `git status` and `git diff HEAD` say: equal before and after a
/// rehearsal when it changed nothing git sees.
fn repository_state(root: &Path) -> Result<String> {
    let diff = cmd::output(
        Command::new("git")
            .args(["diff", "HEAD", "--no-ext-diff", "--binary"])
            .current_dir(root),
    )?;
    Ok(super::git_status(root)? + &diff)
}

/// Numbered stages with their durations, on standard error.
struct Stages {
    done: usize,
    total: usize,
}

impl Stages {
    fn new(total: usize) -> Stages {
        Stages { done: 0, total }
    }

    fn run<T>(&mut self, what: &str, stage: impl FnOnce() -> Result<T>) -> Result<T> {
        self.done += 1;
        let (done, total) = (self.done, self.total);
        eprintln!("rehearsal [{done}/{total}] {what}");
        let started = Instant::now();
        let out = stage().with_context(|| format!("rehearsal stage {done}/{total} ({what})"))?;
        eprintln!(
            "rehearsal [{done}/{total}] done in {}",
            minutes(started.elapsed().as_secs_f64())
        );
        Ok(out)
    }
}

fn minutes(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else {
        let whole = seconds.round() as u64;
        format!("{} min {:02} s", whole / 60, whole % 60)
    }
}

/// A new directory for this run, named by its start time so that cargo's
/// caches, which are keyed by a registry's URL, never serve an earlier
/// run's packages. Earlier runs are removed; the shared build stays.
fn fresh_run_dir(base: &Path) -> Result<PathBuf> {
    if let Ok(entries) = std::fs::read_dir(base) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with("run-") {
                std::fs::remove_dir_all(entry.path())
                    .with_context(|| format!("removing {}", entry.path().display()))?;
            }
        }
    }
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let dir = base.join(format!("run-{stamp}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// A cargo command in `dir`, building in `target`: a rehearsal never builds
/// in the workspace's target directory, whatever `CARGO_TARGET_DIR` says.
fn cargo_in<I, S>(dir: &Path, target: &Path, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = cmd::cargo(args);
    command.current_dir(dir).env("CARGO_TARGET_DIR", target);
    command
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Copies the files git knows of (tracked, or new and not ignored), as they
/// are in the work tree, to `to`.
fn copy_workspace(root: &Path, to: &Path) -> Result<()> {
    let listing = cmd::output(
        Command::new("git")
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .current_dir(root),
    )?;
    for file in listing.split('\0').filter(|f| !f.is_empty()) {
        let from = root.join(file);
        // A tracked file deleted in the work tree is not part of the release.
        if !from.is_file() {
            continue;
        }
        let dest = to.join(file);
        std::fs::create_dir_all(dest.parent().context("a file has a directory")?)?;
        std::fs::copy(&from, &dest).with_context(|| format!("copying {file}"))?;
    }
    Ok(())
}

/// Packages the published crates of `workspace` and unpacks each into
/// `unpack_dir`, with a cargo configuration there that patches every
/// package's dependencies on the others to the unpacked ones.
fn package(workspace: &Path, plan: &Plan, unpack_dir: &Path) -> Result<Vec<Unpacked>> {
    let target = workspace.join("target");
    // No verification build: the next stage builds and tests every package
    // against the packages of the others, which is more than it checks.
    let mut package = cargo_in(
        workspace,
        &target,
        ["package", "--no-verify", "--allow-dirty"],
    );
    for name in &plan.crates {
        package.args(["-p", name]);
    }
    cmd::run(&mut package)?;
    // A directory named `target/package` ends cargo's search for an
    // enclosing workspace, as in cargo's own verification: the packages are
    // tested as themselves, not as members of the repository's workspace.
    ensure!(unpack_dir.ends_with("target/package"));
    std::fs::create_dir_all(unpack_dir)?;
    let mut patches =
        String::from("# Written by `cargo xtask release --dry-run`.\n[patch.crates-io]\n");
    let mut unpacked = Vec::new();
    for name in &plan.crates {
        let stem = format!("{name}-{}", plan.to);
        let crate_file = target.join("package").join(format!("{stem}.crate"));
        // `-m`: the files get the time of unpacking, not the package's.
        // Packages of the same version look alike to cargo from one run to
        // the next (same files, same times, same path relative to their
        // root), so it would reuse the last run's test binaries, which have
        // that run's directory compiled in (`env!("CARGO_MANIFEST_DIR")`).
        cmd::output(
            Command::new("tar")
                .arg("-xzmf")
                .arg(&crate_file)
                .arg("-C")
                .arg(unpack_dir),
        )?;
        let dir = unpack_dir.join(&stem);
        ensure!(
            dir.join("Cargo.toml").is_file(),
            "{} did not unpack into {stem}/",
            crate_file.display()
        );
        patches.push_str(&format!("{name} = {{ path = \"{stem}\" }}\n"));
        unpacked.push(Unpacked {
            name: name.clone(),
            crate_file,
            dir,
        });
    }
    write(&unpack_dir.join(".cargo").join("config.toml"), &patches)?;
    Ok(unpacked)
}

/// Fills a registry in `dir` with the packages, in order, each with the
/// index entry made from its packaged manifest.
fn publish(dir: &Path, unpacked: &[Unpacked], plan: &Plan) -> Result<Registry> {
    let registry = Registry::create(dir)?;
    for package in unpacked {
        let metadata = cmd::output(
            cmd::cargo(["metadata", "--no-deps", "--format-version", "1"])
                .current_dir(&package.dir),
        )?;
        let described = index::package_of(&metadata)?;
        ensure!(
            (described.name.as_str(), described.version.as_str())
                == (package.name.as_str(), plan.to.as_str()),
            "{} describes {} {}",
            package.dir.display(),
            described.name,
            described.version
        );
        let bytes = std::fs::read(&package.crate_file)?;
        let entry = index::entry(&described, &bytes, &plan.crates)?;
        registry.publish(&entry, &package.name, &plan.to, &package.crate_file)?;
        eprintln!(
            "  published {} {} into {}",
            package.name,
            plan.to,
            registry.index_url()
        );
    }
    Ok(registry)
}

/// Writes `project` under `dir`, runs it, and checks that cargo took every
/// crate of ours from the registry and that no forbidden crate came along.
fn consume(dir: &Path, build: &Path, project: &Project, registry: &Registry) -> Result<()> {
    let project_dir = dir.join(project.name);
    for (path, text) in &project.files {
        write(&project_dir.join(path), text)?;
    }
    cmd::run(&mut cargo_in(&project_dir, build, ["run"]))?;

    let source = format!("registry+{}", registry.index_url());
    let ours = ours_from(&project_dir, Some(&source))
        .with_context(|| format!("the {} consumer", project.name))?;
    ensure!(
        !ours.is_empty(),
        "the {} consumer uses none of our crates",
        project.name
    );
    eprintln!(
        "  {} took {} from the registry",
        project.name,
        ours.join(", ")
    );

    if !project.forbidden.is_empty() {
        let tree = cmd::output(&mut cargo_in(
            &project_dir,
            build,
            ["tree", "--prefix", "none", "--edges", "normal,build"],
        ))?;
        let found = consumers::forbidden_in(&tree, project.forbidden);
        if !found.is_empty() {
            bail!(
                "the {} consumer's dependencies hold {}",
                project.name,
                found.join(", ")
            );
        }
        eprintln!(
            "  cargo tree of {}: no {}",
            project.name,
            project.forbidden.join(", no ")
        );
    }
    Ok(())
}

/// The crates of ours in the `Cargo.lock` of the project in `dir`, after
/// checking that each came from `source` (`None`: a path, as a patch
/// makes it).
fn ours_from(dir: &Path, source: Option<&str>) -> Result<Vec<String>> {
    let lock = std::fs::read_to_string(dir.join("Cargo.lock"))
        .with_context(|| format!("reading {}/Cargo.lock", dir.display()))?;
    let lock: toml_edit::DocumentMut = lock.parse().context("parsing a Cargo.lock")?;
    let mut ours = Vec::new();
    for package in lock["package"].as_array_of_tables().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default();
        if !name.starts_with("kaizala") {
            continue;
        }
        let from = package.get("source").and_then(|s| s.as_str());
        ensure!(
            from == source,
            "{name} came from {} rather than {}",
            from.unwrap_or("a path"),
            source.unwrap_or("its unpacked package")
        );
        ours.push(name.to_owned());
    }
    Ok(ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_crates_must_come_from_where_they_were_put() {
        let dir = crate::tempdir::TempDir::new("rehearsal-lock");
        std::fs::write(
            dir.path().join("Cargo.lock"),
            "version = 4\n\n[[package]]\nname = \"consumer\"\nversion = \"0.0.0\"\n\n\
             [[package]]\nname = \"kaizala-types\"\nversion = \"0.1.1\"\nsource = \"registry+file:///r/index\"\n\n\
             [[package]]\nname = \"serde\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
        )
        .unwrap();
        assert_eq!(
            ours_from(dir.path(), Some("registry+file:///r/index")).unwrap(),
            ["kaizala-types"]
        );
        let err = ours_from(dir.path(), None).unwrap_err().to_string();
        assert!(
            err.contains(
                "kaizala-types came from registry+file:///r/index rather than its unpacked package"
            ),
            "{err}"
        );
    }

    #[test]
    fn durations_read_as_seconds_then_minutes() {
        assert_eq!(minutes(4.26), "4.3 s");
        assert_eq!(minutes(605.0), "10 min 05 s");
    }
}
