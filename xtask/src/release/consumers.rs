//! The projects a rehearsal builds outside the workspace, each depending on
//! the released crates from the rehearsal's registry the way a user would:
//! by version, never by path. `cargo xtask budgets` builds two of them
//! against the workspace's crates by path, to time clean builds.

use std::path::Path;

use super::registry;

/// Where a consumer takes our crates from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ours<'a> {
    /// The rehearsal's registry, at exactly this version.
    Registry(&'a str),
    /// The workspace at this root, by path.
    Workspace(&'a Path),
}

impl Ours<'_> {
    /// The dependency line of our crate `name` with `extra` keys.
    fn dependency(&self, name: &str, extra: &str) -> String {
        match self {
            Ours::Registry(version) => format!(
                "{name} = {{ version = \"={version}\", registry = \"{}\"{extra} }}\n",
                registry::NAME
            ),
            Ours::Workspace(root) => format!(
                "{name} = {{ path = \"{}\"{extra} }}\n",
                root.join("crates").join(name).display()
            ),
        }
    }
}

/// A consumer project: its directory name, its files, and the crates its
/// dependency tree must not hold.
#[derive(Debug)]
pub(crate) struct Project {
    pub(crate) name: &'static str,
    pub(crate) files: Vec<(&'static str, String)>,
    pub(crate) forbidden: &'static [&'static str],
}

/// The fixture a consumer of `kaizala-types` alone decodes.
pub(crate) const EVENT_FIXTURE: &str =
    "crates/kaizala-types/tests/fixtures/Event--eventschema-surveyresponse-actionresponse.json";

/// How many projects [`projects`] makes.
pub(crate) const COUNT: usize = 3;

/// The consumers' cargo configuration: where the `rehearsal` registry is.
pub(crate) fn cargo_config(index_url: &str) -> String {
    format!(
        "# Written by `cargo xtask release --dry-run`.\n[registries.{}]\nindex = \"{index_url}\"\n",
        registry::NAME
    )
}

/// The three consumers of `version`: `kaizala-types` alone (decoding
/// `event`, a callback body), the facade with only `webhook`, and the full
/// facade with every feature (the emulator and the sink too).
pub(crate) fn projects(from: Ours<'_>, event: &str) -> Vec<Project> {
    let ours = |name: &str, extra: &str| from.dependency(name, extra);
    let tokio =
        |features: &str| format!("tokio = {{ version = \"1\", features = [{features}] }}\n");
    vec![
        Project {
            name: "types-only",
            files: vec![
                (
                    "Cargo.toml",
                    manifest("types-only", &ours("kaizala-types", "")),
                ),
                (
                    "src/main.rs",
                    include_str!("consumers/types_only.rs").to_owned(),
                ),
                ("src/event.json", event.to_owned()),
            ],
            forbidden: &["tokio", "hyper"],
        },
        Project {
            name: "webhook-only",
            files: vec![
                (
                    "Cargo.toml",
                    manifest(
                        "webhook-only",
                        &(ours(
                            "kaizala",
                            ", default-features = false, features = [\"webhook\"]",
                        ) + &tokio("\"rt\", \"macros\", \"net\"")),
                    ),
                ),
                (
                    "src/main.rs",
                    include_str!("consumers/webhook_only.rs").to_owned(),
                ),
            ],
            forbidden: &[],
        },
        Project {
            name: "full-facade",
            files: vec![
                (
                    "Cargo.toml",
                    manifest(
                        "full-facade",
                        &(ours("kaizala", ", features = [\"emulator\", \"sink\"]")
                            + &tokio("\"rt-multi-thread\", \"macros\"")),
                    ),
                ),
                (
                    "src/main.rs",
                    include_str!("consumers/full_facade.rs").to_owned(),
                ),
            ],
            forbidden: &[],
        },
    ]
}

fn manifest(name: &str, dependencies: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         # A workspace of its own: the rehearsal runs under the repository's\n\
         # target directory, inside the repository's workspace.\n[workspace]\n\n\
         [dependencies]\n{dependencies}"
    )
}

/// The crates of a `cargo tree --prefix none` listing that `forbidden` names.
pub(crate) fn forbidden_in<'a>(tree: &'a str, forbidden: &[&str]) -> Vec<&'a str> {
    tree.lines()
        .filter(|line| {
            let name = line.split_whitespace().next().unwrap_or("");
            forbidden.contains(&name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_of(project: &Project) -> toml_edit::DocumentMut {
        let (_, text) = project
            .files
            .iter()
            .find(|(path, _)| *path == "Cargo.toml")
            .unwrap();
        text.parse().unwrap()
    }

    #[test]
    fn every_consumer_takes_our_crates_from_the_registry_by_exact_version() {
        let projects = projects(Ours::Registry("0.1.1"), "{}");
        assert_eq!(projects.len(), COUNT);
        assert_eq!(
            projects.iter().map(|p| p.name).collect::<Vec<_>>(),
            ["types-only", "webhook-only", "full-facade"]
        );
        let mut ours_seen = Vec::new();
        for project in &projects {
            let manifest = manifest_of(project);
            assert!(manifest.get("workspace").is_some(), "{}", project.name);
            for (name, dep) in manifest["dependencies"].as_table().unwrap() {
                assert!(dep.get("path").is_none(), "{name} by path");
                if name.starts_with("kaizala") {
                    assert_eq!(dep["version"].as_str(), Some("=0.1.1"), "{name}");
                    assert_eq!(dep["registry"].as_str(), Some("rehearsal"), "{name}");
                    ours_seen.push(format!("{}:{name}", project.name));
                }
            }
        }
        assert_eq!(
            ours_seen,
            [
                "types-only:kaizala-types",
                "webhook-only:kaizala",
                "full-facade:kaizala",
            ]
        );
    }

    #[test]
    fn the_types_consumer_has_only_the_types_and_the_event() {
        let projects = projects(Ours::Registry("0.1.1"), r#"{"eventId": "e1"}"#);
        let types = &projects[0];
        let manifest = manifest_of(types);
        assert_eq!(manifest["dependencies"].as_table().unwrap().len(), 1);
        assert!(
            types
                .files
                .contains(&("src/event.json", r#"{"eventId": "e1"}"#.to_owned()))
        );
        assert_eq!(types.forbidden, ["tokio", "hyper"]);
    }

    #[test]
    fn the_webhook_consumer_turns_the_default_features_off() {
        let manifest = manifest_of(&projects(Ours::Registry("0.1.1"), "{}")[1]);
        let facade = &manifest["dependencies"]["kaizala"];
        assert_eq!(facade["default-features"].as_bool(), Some(false));
        let features: Vec<_> = facade["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        assert_eq!(features, ["webhook"]);
    }

    #[test]
    fn the_config_names_the_registry() {
        let config: toml_edit::DocumentMut = cargo_config("file:///tmp/index").parse().unwrap();
        assert_eq!(
            config["registries"]["rehearsal"]["index"].as_str(),
            Some("file:///tmp/index")
        );
    }

    #[test]
    fn forbidden_crates_are_found_by_name() {
        let tree = "types-only v0.0.0 (/x)\nkaizala-types v0.1.1\ntokio-util v0.7.0\nhyper v1.7.0\nserde v1.0.0\n";
        assert_eq!(forbidden_in(tree, &["tokio", "hyper"]), ["hyper v1.7.0"]);
        assert!(forbidden_in(tree, &[]).is_empty());
    }

    #[test]
    fn the_workspace_form_takes_our_crates_by_path() {
        let root = Path::new("/repo");
        let projects = projects(Ours::Workspace(root), "{}");
        let manifest = manifest_of(&projects[1]);
        let kaizala = &manifest["dependencies"]["kaizala"];
        assert_eq!(kaizala["path"].as_str(), Some("/repo/crates/kaizala"));
        assert!(kaizala.get("registry").is_none());
        assert_eq!(kaizala["default-features"].as_bool(), Some(false));
    }
}
