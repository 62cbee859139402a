//! What a release changes: one version for every published crate.
//!
//! The plan bumps `[workspace.package] version` (which every published crate
//! inherits) and the versions of the inter-crate entries of
//! `[workspace.dependencies]`, moves the CHANGELOG's Unreleased section under
//! the new version, and orders the published crates so each comes after the
//! crates it depends on. It is computed before anything is touched, and
//! applied to a directory: the repository, or the rehearsal's copy of it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};
use toml_edit::{DocumentMut, Item};

pub(crate) const CHANGELOG: &str = "CHANGELOG.md";
const UNRELEASED: &str = "## [Unreleased]";

/// What a release changes, computed before anything is touched.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) from: String,
    pub(crate) to: String,
    /// Published crates in dependency order.
    pub(crate) crates: Vec<String>,
    /// `[workspace.dependencies]` entries whose version is bumped.
    pub(crate) dependency_entries: Vec<String>,
    pub(crate) date: String,
    cargo_toml: String,
    changelog: String,
}

fn is_version(text: &str) -> bool {
    let (core, pre) = text
        .split_once('-')
        .map_or((text, None), |(c, p)| (c, Some(p)));
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
        && pre.is_none_or(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        })
}

/// Computes the release of the workspace at `root` as `version` on `date`.
pub(crate) fn plan(root: &Path, version: &str, date: &str) -> Result<Plan> {
    ensure!(
        is_version(version),
        "{version} is not a semantic version (e.g. 0.2.0 or 1.0.0-rc.1)"
    );
    let manifest_path = root.join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let mut doc: DocumentMut = manifest.parse().context("parsing Cargo.toml")?;
    let from = doc["workspace"]["package"]["version"]
        .as_str()
        .context("Cargo.toml has no [workspace.package] version")?
        .to_owned();
    ensure!(from != version, "the workspace is already at {version}");

    let members = published_members(root)?;
    let order = dependency_order(&members)?;

    set_keeping_decor(&mut doc["workspace"]["package"]["version"], version)?;
    let mut dependency_entries = Vec::new();
    let deps = doc["workspace"]["dependencies"]
        .as_table_like_mut()
        .context("no [workspace.dependencies]")?;
    for (name, item) in deps.iter_mut() {
        if members.contains_key(name.get()) {
            let table = item
                .as_table_like_mut()
                .with_context(|| format!("{} must be a table", name.get()))?;
            let entry = table.get_mut("version").with_context(|| {
                format!(
                    "[workspace.dependencies] {} needs a version to be publishable",
                    name.get()
                )
            })?;
            set_keeping_decor(entry, version)?;
            dependency_entries.push(name.get().to_owned());
        }
    }

    let changelog_path = root.join(CHANGELOG);
    let changelog = std::fs::read_to_string(&changelog_path)
        .with_context(|| format!("reading {}", changelog_path.display()))?;
    let changelog = move_unreleased(&changelog, version, date)?;

    Ok(Plan {
        from,
        to: version.to_owned(),
        crates: order,
        dependency_entries,
        date: date.to_owned(),
        cargo_toml: doc.to_string(),
        changelog,
    })
}

/// Replaces a string value, keeping the whitespace and comments around it.
fn set_keeping_decor(item: &mut Item, new: &str) -> Result<()> {
    let old = item.as_value_mut().context("expected a version string")?;
    let decor = old.decor().clone();
    *old = new.into();
    *old.decor_mut() = decor;
    Ok(())
}

/// Writes the plan's edits.
pub(crate) fn apply(root: &Path, plan: &Plan) -> Result<()> {
    std::fs::write(root.join("Cargo.toml"), &plan.cargo_toml).context("writing Cargo.toml")?;
    std::fs::write(root.join(CHANGELOG), &plan.changelog).context("writing CHANGELOG.md")?;
    Ok(())
}

/// Published workspace crates (under `crates/`) and the workspace crates each depends on.
fn published_members(root: &Path) -> Result<BTreeMap<String, Vec<String>>> {
    let mut manifests: Vec<(String, DocumentMut)> = Vec::new();
    let dir = root.join("crates");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        let manifest = path.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)?;
        let doc: DocumentMut = text
            .parse()
            .with_context(|| format!("parsing {}", manifest.display()))?;
        let name = doc["package"]["name"]
            .as_str()
            .with_context(|| format!("{} has no name", manifest.display()))?
            .to_owned();
        if doc["package"].get("publish").and_then(Item::as_bool) == Some(false) {
            continue;
        }
        let inherits = doc["package"]["version"]
            .as_table_like()
            .and_then(|t| t.get("workspace"))
            .and_then(Item::as_bool);
        ensure!(
            inherits == Some(true),
            "{name} must inherit the workspace version (version.workspace = true)"
        );
        manifests.push((name, doc));
    }
    let names: Vec<String> = manifests.iter().map(|(n, _)| n.clone()).collect();
    let mut out = BTreeMap::new();
    for (name, doc) in &manifests {
        let deps = ["dependencies", "build-dependencies"]
            .iter()
            .filter_map(|section| doc.get(section).and_then(Item::as_table_like))
            .flat_map(|table| table.iter().map(|(k, _)| k.to_owned()).collect::<Vec<_>>())
            .filter(|dep| names.contains(dep))
            .collect();
        out.insert(name.clone(), deps);
    }
    Ok(out)
}

/// Crates ordered so each comes after the crates it depends on.
fn dependency_order(members: &BTreeMap<String, Vec<String>>) -> Result<Vec<String>> {
    let mut order: Vec<String> = Vec::new();
    while order.len() < members.len() {
        let ready = members
            .iter()
            .find(|(name, deps)| !order.contains(name) && deps.iter().all(|d| order.contains(d)))
            .map(|(name, _)| name.clone());
        match ready {
            Some(name) => order.push(name),
            None => bail!("the workspace crates depend on each other in a cycle"),
        }
    }
    Ok(order)
}

/// Moves the Unreleased section's entries under `## [version] - date`,
/// leaving an empty Unreleased section on top.
pub(crate) fn move_unreleased(changelog: &str, version: &str, date: &str) -> Result<String> {
    let start = changelog
        .find(UNRELEASED)
        .with_context(|| format!("{CHANGELOG} has no `{UNRELEASED}` section"))?;
    let body_start = start
        + changelog[start..]
            .find('\n')
            .map_or(changelog.len() - start, |i| i + 1);
    let body_end = changelog[body_start..]
        .find("\n## ")
        .map_or(changelog.len(), |i| body_start + i + 1);
    let body = changelog[body_start..body_end].trim();
    ensure!(
        !body.is_empty(),
        "{CHANGELOG} has nothing under `{UNRELEASED}`: describe the release first"
    );
    ensure!(
        !changelog.contains(&format!("## [{version}]")),
        "{CHANGELOG} already has a section for {version}"
    );
    let mut out = format!(
        "{}{UNRELEASED}\n\n## [{version}] - {date}\n\n{body}\n",
        &changelog[..start]
    );
    let rest = &changelog[body_end..];
    if !rest.is_empty() {
        out.push('\n');
        out.push_str(rest);
    }
    Ok(out)
}

/// Today's UTC date as `YYYY-MM-DD`.
pub(crate) fn today() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let rfc3339 =
        kaizala_types::Timestamp::from_unix_millis(i64::try_from(millis).unwrap_or(i64::MAX))
            .to_rfc3339();
    rfc3339[..10].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tempdir::TempDir;

    const ROOT: &str = r#"[workspace]
members = ["crates/*"]

[workspace.package]
version = "0.1.0" # kept comment
edition = "2024"

[workspace.dependencies]
kaizala-types = { path = "crates/kaizala-types", version = "0.1.0" }
kaizala-core = { path = "crates/kaizala-core", version = "0.1.0" }
serde = "1"
"#;

    fn member(root: &Path, name: &str, extra: &str) {
        let dir = root.join("crates").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion.workspace = true\n{extra}"),
        )
        .unwrap();
    }

    fn workspace() -> TempDir {
        let dir = TempDir::new("release");
        std::fs::write(dir.path().join("Cargo.toml"), ROOT).unwrap();
        std::fs::write(
            dir.path().join(CHANGELOG),
            "# Changelog\n\n## [Unreleased]\n\n### Added\n- Wire models.\n\n## [0.1.0] - 2026-01-01\n\n- First.\n",
        )
        .unwrap();
        member(
            dir.path(),
            "kaizala-core",
            "\n[dependencies]\nkaizala-types.workspace = true\nhttp = \"1\"\n",
        );
        member(
            dir.path(),
            "kaizala-types",
            "\n[dependencies]\nserde = \"1\"\n",
        );
        member(dir.path(), "xtask-like", "publish = false\n");
        dir
    }

    #[test]
    fn plans_a_coherent_bump_in_dependency_order() {
        let dir = workspace();
        let plan = plan(dir.path(), "0.2.0", "2026-11-23").unwrap();
        assert_eq!(plan.crates, ["kaizala-types", "kaizala-core"]);
        assert_eq!(plan.dependency_entries, ["kaizala-types", "kaizala-core"]);
        assert!(
            plan.cargo_toml
                .contains("version = \"0.2.0\" # kept comment"),
            "{}",
            plan.cargo_toml
        );
        assert!(
            plan.cargo_toml
                .contains(r#"kaizala-core = { path = "crates/kaizala-core", version = "0.2.0" }"#)
        );
        assert!(plan.cargo_toml.contains("serde = \"1\""));
        assert_eq!(
            plan.changelog,
            "# Changelog\n\n## [Unreleased]\n\n## [0.2.0] - 2026-11-23\n\n### Added\n- Wire models.\n\n## [0.1.0] - 2026-01-01\n\n- First.\n"
        );
    }

    #[test]
    fn planning_changes_nothing_until_applied() {
        let dir = workspace();
        let plan = plan(dir.path(), "0.2.0", "2026-11-23").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap(),
            ROOT
        );
        apply(dir.path(), &plan).unwrap();
        let manifest = std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("version = \"0.2.0\""));
        assert!(!manifest.contains("0.1.0"), "{manifest}");
    }

    #[test]
    fn refuses_bad_input() {
        let dir = workspace();
        for (version, message) in [
            ("0.2", "not a semantic version"),
            ("v0.2.0", "not a semantic version"),
            ("0.02.0", "not a semantic version"),
            ("0.1.0", "already at 0.1.0"),
        ] {
            let err = plan(dir.path(), version, "2026-11-23").unwrap_err();
            assert!(err.to_string().contains(message), "{version}: {err}");
        }
        assert!(plan(dir.path(), "1.0.0-rc.1", "2026-11-23").is_ok());

        std::fs::write(
            dir.path().join(CHANGELOG),
            "# Changelog\n\n## [Unreleased]\n\n## [0.1.0]\n",
        )
        .unwrap();
        let err = plan(dir.path(), "0.2.0", "2026-11-23").unwrap_err();
        assert!(err.to_string().contains("nothing under"), "{err}");

        member(dir.path(), "kaizala-own-version", "");
        std::fs::write(
            dir.path().join("crates/kaizala-own-version/Cargo.toml"),
            "[package]\nname = \"kaizala-own-version\"\nversion = \"9.9.9\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join(CHANGELOG), "## [Unreleased]\n- x\n").unwrap();
        let err = plan(dir.path(), "0.2.0", "2026-11-23").unwrap_err();
        assert!(
            err.to_string()
                .contains("must inherit the workspace version"),
            "{err}"
        );
    }

    #[test]
    fn latest_section_last_in_the_file() {
        let moved = move_unreleased(
            "# Changelog\n\n## [Unreleased]\n\n- First.\n",
            "0.1.0",
            "2026-11-23",
        )
        .unwrap();
        assert_eq!(
            moved,
            "# Changelog\n\n## [Unreleased]\n\n## [0.1.0] - 2026-11-23\n\n- First.\n"
        );
    }

    #[test]
    fn today_is_a_date() {
        let today = today();
        assert_eq!(today.len(), 10);
        assert!(today.as_str() > "2026-01-01", "{today}");
    }
}
